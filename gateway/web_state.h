/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * web_state: the desk page's picture of the building (docs/desk.md, "The state"), put together
 * from the store (registry, open incidents, outbox) and the daemon's own status answer (detector
 * states, broker and uplink connections). Occupants are counts only: names and identity numbers
 * never leave the store for the page.
 */
#ifndef FIREGATE_WEB_STATE_H
#define FIREGATE_WEB_STATE_H

#include <jansson.h>

#include "store.h"

/* Builds the state from @s and @status, the JSON document of the daemon's "status all" answer,
 * or NULL when the daemon did not answer (detector states are then "unknown"). Returns 0 and a
 * new object in *@out, or -ENOMEM, or the store's error (said). */
int web_state_build(struct store *s, const json_t *status, json_t **out);

#endif
