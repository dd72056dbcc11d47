/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * message: the JSON the gateway sends to the city platform (docs/uplink.md; the schemas are in
 * schema/uplink/). Alerts are filled in from the store inside the transaction that records the
 * decision, so an alert says what the incident log says: the building and unit as the registry
 * holds them, the incident's detectors, and the unit's verified occupancy as counts and
 * registry references, never an identity number, name or phone.
 */
#ifndef FIREGATE_MESSAGE_H
#define FIREGATE_MESSAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "store.h"

#define MESSAGE_VERSION 1

/* The alert event a decision is sent as ("fire_alarm", "pre_alarm", "fault", "restore",
 * "acknowledge", "silence", "reset"), or NULL for a decision that is not sent (outputs, tests,
 * disabling). */
const char *message_alert_event(enum engine_decision_kind k);

/* The alert for decision @d as it touched @incident (0: none), made at @at (UTC ms). *@out is
 * a new object without "id" and "seq" (the outbox adds them). Returns 0 or a negative errno
 * (the store has said the SQLite error). */
int message_alert(struct store *s, const char *gateway, const struct engine_decision *d,
                  long long incident, int64_t at, json_t **out);

/* What the statistics say that the store does not know. */
struct message_stats_in {
        long interval_s;
        long long uptime_s;
        unsigned long by_state[ENGINE_STATE_TEST + 1]; /* detectors by enum engine_state */
        unsigned long received, malformed, oversize, unknown_topic, unknown_device;
        long long outbox_pending, outbox_coalesced;
        bool broker_connected;
        const char *chain_head; /* NULL until the evidence chain exists */
};

/* The statistics message; open incidents, faults by kind and battery lows come from the store.
 * Returns 0 or a negative errno. */
int message_stats(struct store *s, const char *gateway, const struct message_stats_in *in,
                  int64_t at, json_t **out);

/* The retained status ("online" or "offline"), the heartbeat and a command's response, as
 * compact JSON text the caller frees; NULL when out of memory. */
char *message_status(const char *gateway, bool online, int64_t at);

/* The "online" status while a walk test runs on @walk_target (NULL: none) from @walk_since
 * until @walk_until: the platform knows that signals there are tests, not fires. @since is when
 * the gateway started serving. */
char *message_status_walk(const char *gateway, bool online, int64_t at, int64_t since,
                          const char *walk_target, int64_t walk_since, int64_t walk_until);
char *message_heartbeat(const char *gateway, int64_t at, long long uptime_s,
                        long long outbox_pending, long long alarms_open);
json_t *message_response(const char *gateway, const char *request_id, const char *result,
                         const char *reason, long long incident, int64_t at);

#endif
