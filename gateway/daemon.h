/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon: `firegate run`. One sd-event loop owns the store, the rules engine, the building
 * broker's client and the bridge decoders; the engine's next deadline sets one timer; signals
 * are loop events. Readings from the broker become engine readings; decisions are logged with
 * journald priorities (and, as the gateway grows, recorded and sent on).
 */
#ifndef FIREGATE_DAEMON_H
#define FIREGATE_DAEMON_H

#include "config.h"
#include "store.h"

/* Runs until SIGTERM or SIGINT. @store stays the caller's. Returns 0 on a clean stop or a
 * negative errno (said in the log) when the daemon could not start or its loop failed. */
int daemon_run(const struct config *config, struct store *store, const char *authority_key_id);

#endif
