/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_unstored: decisions the store could not take (a full or failing disk). The engine has
 * already acted on them and the journal has them; they are kept here, in order, and written to
 * the incident log at their own times once the store takes writes again, so that a fire raised
 * while the disk was full is in the evidence, not only in the journal. Later decisions wait
 * behind them: the log never holds a restore before the fault it restores.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "log.h"

/* A full disk is usually freed by hand: minutes. Trying every 10 s costs one failed write. */
#define RETRY_US (10 * 1000000ULL)
/* Beyond this the oldest are let go (the journal keeps them): a disk that stays full must not
 * take the gateway's memory with it. A burst of 10 alarms makes about 100 decisions. */
#define UNSTORED_MAX 4096

struct unstored_decision {
        struct engine_decision dec; /* its strings point into owned */
        char *owned[7];
        int64_t wall_ms;
};

static void clear(struct unstored_decision *u)
{
        for (size_t i = 0; i < sizeof(u->owned) / sizeof(u->owned[0]); i++)
                free(u->owned[i]);
}

static int copy(struct unstored_decision *u, const struct engine_decision *dec, int64_t wall_ms)
{
        const char **fields[] = {&u->dec.detector, &u->dec.unit,   &u->dec.zone, &u->dec.cause,
                                 &u->dec.rule,     &u->dec.output, &u->dec.who};

        u->dec = *dec;
        u->wall_ms = wall_ms;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                u->owned[i] = *fields[i] ? strdup(*fields[i]) : NULL;
                if (*fields[i] && !u->owned[i]) {
                        while (i-- > 0)
                                free(u->owned[i]);
                        return -ENOMEM;
                }
                *fields[i] = u->owned[i];
        }
        return 0;
}

static void drop_first(struct daemon *d, size_t n)
{
        if (!n)
                return;
        for (size_t i = 0; i < n; i++)
                clear(&d->unstored[i]);
        memmove(d->unstored, d->unstored + n, (d->n_unstored - n) * sizeof(d->unstored[0]));
        d->n_unstored -= n;
}

static void arm(struct daemon *d, sd_event_source *s)
{
        uint64_t now;

        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(s, now + RETRY_US);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        (void)usec;
        if (daemon_unstored_flush(d) < 0)
                arm(d, s);
        return 0;
}

int daemon_unstored_keep(struct daemon *d, const struct engine_decision *dec, int64_t wall_ms)
{
        int r;

        if (!d->unstored_retry) {
                r = sd_event_add_time(d->event, &d->unstored_retry, CLOCK_MONOTONIC, UINT64_MAX,
                                      1000000, on_retry, d);
                if (r < 0)
                        return log_error_errno(r, "cannot keep a decision for the store");
                sd_event_source_set_enabled(d->unstored_retry, SD_EVENT_OFF);
        }
        if (d->n_unstored == UNSTORED_MAX) {
                log_error("%d decisions wait for the store: the oldest (%s at %lld) is let go, "
                          "the journal has it",
                          UNSTORED_MAX, engine_decision_name(d->unstored[0].dec.kind),
                          (long long)d->unstored[0].wall_ms);
                drop_first(d, 1);
        }
        if (d->n_unstored == d->cap_unstored) {
                size_t cap = d->cap_unstored ? 2 * d->cap_unstored : 16;
                struct unstored_decision *v = realloc(d->unstored, cap * sizeof(*v));

                if (!v)
                        return log_error_errno(-ENOMEM, "cannot keep a decision for the store");
                d->unstored = v;
                d->cap_unstored = cap;
        }
        r = copy(&d->unstored[d->n_unstored], dec, wall_ms);
        if (r < 0)
                return log_error_errno(r, "cannot keep a decision for the store");
        d->n_unstored++;
        if (sd_event_source_get_enabled(d->unstored_retry, NULL) <= 0)
                arm(d, d->unstored_retry);
        return 0;
}

int daemon_unstored_flush(struct daemon *d)
{
        size_t done = 0;
        int r = 0;

        if (!d->n_unstored)
                return 0;
        while (done < d->n_unstored &&
               (r = daemon_record(d, &d->unstored[done].dec, d->unstored[done].wall_ms)) == 0)
                done++;
        if (done)
                log_notice("%zu decisions the store refused earlier are now in the incident log, "
                           "at their own times; %zu still wait",
                           done, d->n_unstored - done);
        drop_first(d, done);
        if (!d->n_unstored)
                sd_event_source_set_enabled(d->unstored_retry, SD_EVENT_OFF);
        return r;
}

size_t daemon_unstored_count(const struct daemon *d)
{
        return d->n_unstored;
}

void daemon_unstored_free(struct daemon *d)
{
        if (d->n_unstored)
                log_error("stopping with %zu decisions the store never took; the journal has "
                          "them",
                          d->n_unstored);
        drop_first(d, d->n_unstored);
        free(d->unstored);
        d->unstored = NULL;
        d->cap_unstored = 0;
        d->unstored_retry = sd_event_source_disable_unref(d->unstored_retry);
}
