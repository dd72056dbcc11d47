/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * command: commands from the city platform, `<prefix>cmd/<account>/<verb>` (docs/uplink.md).
 * The account is a topic level because the platform's broker vouches for it (its ACL lets each
 * account write only under its own name); the payload is checked here: a request id, a fresh
 * time, a target. Every command that arrives is recorded in the store, acted on or not.
 */
#ifndef FIREGATE_COMMAND_H
#define FIREGATE_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define COMMAND_PAYLOAD_MAX 4096

struct command {
        char account[65];
        char verb[16]; /* "acknowledge", "silence", "reset" (from ack, silence, reset), "query" */
        char request_id[65]; /* "" when the payload has no valid one */
        char target[129];
        char operator_name[129]; /* "" when none */
        int64_t sent_at;         /* the platform's "at", 0 when none */
        bool false_alarm;        /* reset: the manager says it was a false alarm */
        /* query: the filters, as given (compact JSON; "{}" when none), and the page wanted */
        char filters[1024];
        long page, page_size;
};

#define COMMAND_PAGE_SIZE_MAX 100

/* Parses a message on @topic (which must start with @prefix) made of @len bytes of @payload,
 * received at @now_ms. Fills @c with as much as it understood, for the record. Returns 0 for a
 * well-formed, fresh command; -ENOENT for a topic that is no command (ignored); -EINVAL with
 * the reason in @why for one that is refused. Freshness: |now - at| <= @max_age_ms. */
int command_parse(const char *prefix, const char *topic, const void *payload, size_t len,
                  int64_t now_ms, int64_t max_age_ms, struct command *c, char *why, size_t why_len);

/* Records @c, received at @at, with its @result ("ok", "refused", "error"), @reason and the
 * incident it acted on (0: none). Returns 0 or a negative errno (said). */
int command_record(struct store *s, const struct command *c, int64_t at, const char *result,
                   const char *reason, long long incident);

/* The answer given to an earlier command of @account with @request_id that was acted on.
 * Returns 0 with the answer copied, -ENOENT when there is none, or a negative errno. */
int command_previous(struct store *s, const char *account, const char *request_id, char *reason,
                     size_t reason_len, long long *incident);

#endif
