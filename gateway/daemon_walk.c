/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The installer's walk test (docs/walk-test.md): the rules engine's test mode on a target for a
 * bounded time. While it runs, a signal from a detector in the target is a test decision (kept
 * in the engine's events, never an incident, never a fire alert upstream) and sounds nothing;
 * the platform is told by the retained status. The daemon remembers which detectors were heard
 * and when, for the report; the test ends by itself at its time, or with `walk-test stop`, and
 * a detector still signalling then alarms for real (engine.md). A restart ends it too: the
 * engine starts with every detector live, which is the safe side.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "log.h"
#include "message.h"
#include "wallclock.h"

#define WALK_SECONDS_MIN 5
#define WALK_SECONDS_MAX (4 * 3600)

struct walk {
        bool active;
        char target[128];
        char who[256];
        int64_t since, until; /* UTC ms */
        int64_t ended;        /* UTC ms, 0 while running */
        bool *in_scope;       /* by engine index */
        int64_t *seen;        /* by engine index: UTC ms of the first test signal, 0: never */
        size_t n;
        sd_event_source *timer;
};

static void publish_status(struct daemon *d)
{
        struct walk *w = d->walk;
        char *status;

        if (!d->uplink)
                return;
        status = message_status_walk(d->config->gateway_id, true, wallclock_ms(), d->serving_since,
                                     w && w->active ? w->target : NULL, w ? w->since : 0,
                                     w ? w->until : 0);
        if (!status || uplink_set_status(d->uplink, status) < 0)
                log_error("walk test: the platform cannot be told (out of memory)");
        free(status);
}

static int end_test(struct daemon *d, const char *who)
{
        struct walk *w = d->walk;
        struct engine_command cmd = {
                .kind = ENGINE_CMD_TEST_END,
                .target = w->target,
                .who = who,
                .time = daemon_engine_now(d),
        };
        size_t seen = 0, total = 0;
        int r;

        r = engine_command(d->engine, &cmd);
        daemon_arm_deadline(d);
        w->active = false;
        w->ended = wallclock_ms();
        w->timer = sd_event_source_disable_unref(w->timer);
        for (size_t i = 0; i < w->n; i++) {
                total += w->in_scope[i];
                seen += w->in_scope[i] && w->seen[i];
        }
        log_notice("walk test of %s ended by %s: %zu of %zu detectors heard", w->target, who, seen,
                   total);
        publish_status(d);
        return r == -EALREADY ? 0 : r;
}

static int on_walk_end(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        end_test(userdata, "the walk test's timer");
        return 0;
}

/* Takes the engine out of test mode again after a start that could not be completed. */
static void undo_start(struct daemon *d, struct engine_command *cmd)
{
        cmd->kind = ENGINE_CMD_TEST_END;
        engine_command(d->engine, cmd);
        daemon_arm_deadline(d);
}

static int start(struct daemon *d, const char *target, long seconds, const char *who, char *reply,
                 size_t size)
{
        size_t n = engine_detector_count(d->engine), in_scope_n = 0;
        struct engine_command cmd = {
                .kind = ENGINE_CMD_TEST_START,
                .target = target,
                .who = who,
                .time = daemon_engine_now(d),
        };
        bool *in_scope = NULL;
        int64_t *seen = NULL;
        struct walk *w;
        uint64_t now;
        int r;

        if (seconds < WALK_SECONDS_MIN || seconds > WALK_SECONDS_MAX) {
                snprintf(reply, size, "a walk test lasts %d s to %d h", WALK_SECONDS_MIN,
                         WALK_SECONDS_MAX / 3600);
                return -EINVAL;
        }
        if (d->walk && d->walk->active) {
                snprintf(reply, size, "a walk test of %s runs already; stop it first",
                         d->walk->target);
                return -EBUSY;
        }
        if (strlen(target) >= sizeof(d->walk->target)) {
                snprintf(reply, size, "the target is too long");
                return -EINVAL;
        }
        /* The last test's report stays until this one has started. */
        w = d->walk ? d->walk : calloc(1, sizeof(*w));
        in_scope = calloc(n ? n : 1, sizeof(*in_scope));
        seen = calloc(n ? n : 1, sizeof(*seen));
        d->walk = w;
        if (!w || !in_scope || !seen) {
                snprintf(reply, size, "out of memory");
                r = -ENOMEM;
                goto out;
        }
        /* In scope: what the command puts in test mode. A detector already in test (its test
         * button held) is counted only if the command is what put it there. */
        for (size_t i = 0; i < n; i++)
                in_scope[i] = engine_detector_state(d->engine, i) != ENGINE_STATE_TEST;
        r = engine_command(d->engine, &cmd);
        daemon_arm_deadline(d);
        if (r == -ENOENT) {
                snprintf(reply, size,
                         "%.100s is not a zone or detector of this building (building, floor:N, "
                         "unit:ID, zone:ID, or a detector id)",
                         target);
                goto out;
        }
        if (r < 0 && r != -EALREADY) {
                snprintf(reply, size, "%s", strerror(-r));
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                in_scope[i] =
                        in_scope[i] && engine_detector_state(d->engine, i) == ENGINE_STATE_TEST;
                in_scope_n += in_scope[i];
        }
        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        r = sd_event_add_time(d->event, &w->timer, CLOCK_MONOTONIC,
                              now + (uint64_t)seconds * 1000000, 100000, on_walk_end, d);
        if (r < 0) {
                /* A test that cannot end by itself is not started. */
                undo_start(d, &cmd);
                snprintf(reply, size, "no timer for the test's end: %s", strerror(-r));
                goto out;
        }
        snprintf(w->target, sizeof(w->target), "%s", target);
        snprintf(w->who, sizeof(w->who), "%s", who);
        w->since = wallclock_ms();
        w->until = w->since + seconds * 1000LL;
        w->ended = 0;
        free(w->in_scope);
        free(w->seen);
        w->in_scope = in_scope;
        w->seen = seen;
        w->n = n;
        in_scope = NULL;
        seen = NULL;
        w->active = true;
        log_notice("walk test of %s started by %s for %ld s: %zu detectors in test mode", target,
                   who, seconds, in_scope_n);
        publish_status(d);
        snprintf(reply, size, "walk test of %s for %ld s: %zu detectors in test mode", target,
                 seconds, in_scope_n);
        r = 0;
out:
        free(in_scope);
        free(seen);
        return r;
}

void daemon_walk_decision(struct daemon *d, const struct engine_decision *dec)
{
        struct walk *w = d->walk;
        long i;

        if (!w || !w->active || dec->kind != ENGINE_TEST || !dec->detector)
                return;
        i = engine_detector_find(d->engine, dec->detector);
        if (i < 0 || (size_t)i >= w->n || !w->in_scope[i] || w->seen[i])
                return;
        /* The start and end of the test are decisions of the same kind, not signals. */
        if (dec->cause && strncmp(dec->cause, "walk test", 9) == 0 && !strchr(dec->cause, ':'))
                return;
        w->seen[i] = wallclock_ms();
        log_notice("walk test: %s heard (%s)", dec->detector, dec->cause ? dec->cause : "test");
}

static void report(struct daemon *d, FILE *reply)
{
        static const char *const kind_names[] = {
                [ENGINE_SMOKE] = "smoke",
                [ENGINE_HEAT] = "heat",
                [ENGINE_MULTI] = "multi",
                [ENGINE_CALL_POINT] = "call_point",
        };
        struct walk *w = d->walk;
        json_t *root = json_object(), *list = json_array();
        size_t seen = 0, total = 0;

        if (!root || !list) {
                fputs("error out of memory", reply);
                goto out;
        }
        if (w && !w->since)
                w = NULL; /* the first start was refused: there is no report */
        json_object_set_new(root, "active", json_boolean(w && w->active));
        if (w) {
                json_object_set_new(root, "target", json_string(w->target));
                json_object_set_new(root, "started_by", json_string(w->who));
                json_object_set_new(root, "since", json_integer(w->since));
                json_object_set_new(root, "until", json_integer(w->until));
                json_object_set_new(root, "ended", w->ended ? json_integer(w->ended) : json_null());
                for (size_t i = 0; i < w->n; i++) {
                        const struct engine_detector_info *info;

                        if (!w->in_scope[i])
                                continue;
                        info = i < d->view->n_detectors ? &d->view->detectors[i] : NULL;
                        total++;
                        seen += w->seen[i] != 0;
                        json_array_append_new(
                                list,
                                json_pack("{s:s, s:s?, s:s?, s:i, s:s?, s:o}", "id",
                                          engine_detector_id(d->engine, i), "kind",
                                          info ? kind_names[info->kind] : NULL, "unit",
                                          info ? info->unit : NULL, "floor", info ? info->floor : 0,
                                          "zone", info ? info->zone : NULL, "seen_at",
                                          w->seen[i] ? json_integer(w->seen[i]) : json_null()));
                }
        }
        json_object_set_new(root, "in_test", json_integer((json_int_t)total));
        json_object_set_new(root, "seen", json_integer((json_int_t)seen));
        json_object_set_new(root, "never_seen", json_integer((json_int_t)(total - seen)));
        json_object_set(root, "detectors", list);
        fputs("ok walk-test\n", reply);
        if (json_dumpf(root, reply, JSON_COMPACT) < 0)
                fputs("\nerror cannot write the report", reply);
out:
        json_decref(list);
        json_decref(root);
}

void daemon_walk_control(struct daemon *d, const char *args, const char *who, FILE *reply)
{
        char action[8] = "", target[160] = "", text[320];
        long seconds = 30 * 60;
        int n = sscanf(args, "%7s %159s %ld", action, target, &seconds);
        int r;

        if (n >= 1 && strcmp(action, "status") == 0) {
                report(d, reply);
                return;
        }
        if (n >= 1 && strcmp(action, "stop") == 0) {
                if (!d->walk || !d->walk->active) {
                        fputs("refused no walk test runs", reply);
                        return;
                }
                r = end_test(d, who);
                if (r == 0)
                        fprintf(reply, "ok walk test of %s ended", d->walk->target);
                else
                        fprintf(reply, "error walk test of %s: %s", d->walk->target, strerror(-r));
                return;
        }
        if (n < 2 || strcmp(action, "start") != 0) {
                fputs("refused walk-test start TARGET [SECONDS] | status | stop", reply);
                return;
        }
        r = start(d, target, seconds, who, text, sizeof(text));
        fprintf(reply, "%s %s", r == 0 ? "ok" : r == -ENOMEM ? "error" : "refused", text);
}

void daemon_walk_abandon(struct daemon *d, const char *why)
{
        struct walk *w = d->walk;

        if (!w || !w->active)
                return;
        w->active = false;
        w->ended = wallclock_ms();
        w->timer = sd_event_source_disable_unref(w->timer);
        log_warning("walk test of %s ended by %s: every detector is live again", w->target, why);
        publish_status(d);
}

void daemon_walk_free(struct daemon *d)
{
        struct walk *w = d->walk;

        if (!w)
                return;
        sd_event_source_disable_unref(w->timer);
        free(w->in_scope);
        free(w->seen);
        free(w);
        d->walk = NULL;
}
