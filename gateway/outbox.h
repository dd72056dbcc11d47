/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * outbox: what the gateway must tell the city platform, kept in the store until the platform's
 * broker acknowledged it (schema/003_uplink.sql, docs/uplink.md).
 *
 * Two halves. outbox_add() writes a message inside the caller's transaction, so an alert exists
 * exactly when the incident change it reports does. The sender (struct outbox) lives on the
 * daemon's loop: it publishes pending rows through the uplink, fire first, each class in
 * sequence order, at most the uplink's in-flight window at a time; marks them delivered when
 * their PUBACK arrives (many in one transaction, so a burst of acks is one commit); and after a
 * reconnect or a restart starts again from the oldest undelivered row.
 */
#ifndef FIREGATE_OUTBOX_H
#define FIREGATE_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "store.h"
#include "uplink.h"

enum outbox_kind {
        OUTBOX_ALERT,
        OUTBOX_STATS,
        OUTBOX_RESPONSE,
};

/* Sending classes: lower goes first. */
enum outbox_priority {
        OUTBOX_PRIORITY_FIRE = 0,  /* fire alarms and pre-alarms */
        OUTBOX_PRIORITY_OTHER = 1, /* other alerts, responses to commands */
        OUTBOX_PRIORITY_STATS = 2,
};

/* Adds @msg (a JSON object; its "id" and "seq" are set here) as a message on @topic (below
 * firegate/v1/<gateway id>/), made at @now_ms, about @incident (0: none). Call inside a
 * transaction. *@seq (may be NULL) gets its sequence number. Returns 0 or a negative errno (the
 * store has said the SQLite error). */
int outbox_add(struct store *s, enum outbox_kind kind, enum outbox_priority priority,
               const char *topic, json_t *msg, long long incident, int64_t now_ms, long long *seq);

/* Messages not yet delivered, and statistics dropped by coalescing so far. */
int outbox_depth(struct store *s, long long *pending, long long *coalesced);

/* When more than @max messages are pending, drops every pending statistics message (the next
 * one carries the state) and adds their number to the coalesced count; also removes delivered
 * statistics older than a day. Call inside a transaction, before adding statistics. *@dropped
 * (may be NULL) gets how many were dropped now. Returns 0 or a negative errno. */
int outbox_coalesce(struct store *s, long long max, int64_t now_ms, long long *dropped);

struct outbox;

/* The sender, publishing under @prefix ("firegate/v1/<gateway id>/") through @uplink (NULL: no
 * uplink; messages wait). Returns 0 or -ENOMEM. */
int outbox_new(sd_event *event, struct store *s, struct uplink *uplink, const char *prefix,
               struct outbox **out);

/* Frees @o; NULL is a no-op. Undelivered messages stay in the store. */
void outbox_free(struct outbox *o);

/* Publishes what is pending, as far as the window allows. Call after committing new messages;
 * it runs by itself after connections and acknowledgements. */
void outbox_pump(struct outbox *o);

/* The uplink came up or went down: in-flight messages are forgotten on either, and sent again
 * from the oldest pending row. */
void outbox_connection(struct outbox *o, bool up);

/* The broker acknowledged the message with sequence number @seq. */
void outbox_delivered(struct outbox *o, uint64_t seq);

/* Sends @msg (a JSON object) on @topic below the prefix without a row in the store, at QoS 1,
 * with a fresh "id", "seq": null and "stored": false, before any pending row. It is kept in
 * memory until the broker acknowledges it, and published again after each reconnect. With
 * @spill, it is stored instead (outbox_add, same id, numbered) when the connection is lost
 * before its acknowledgement; a store that cannot take it then leaves it held. Without @spill
 * (an alert the store refused) it stays held until acknowledged. What is held is lost with the
 * process. At most 256 are held: an alert then pushes out the oldest held statistics.
 * Returns 0, -ENOTCONN without an uplink, -ENOBUFS when full, -EINVAL for a topic over 63
 * bytes, or -ENOMEM. */
int outbox_hold(struct outbox *o, enum outbox_kind kind, enum outbox_priority priority,
                const char *topic, json_t *msg, bool spill);

/* How many messages are held (outbox_hold). */
size_t outbox_held(const struct outbox *o);

/* Delivered messages not yet committed as such, and messages in flight. */
size_t outbox_inflight(const struct outbox *o);

#endif
