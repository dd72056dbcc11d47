/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_replay: the replay reader (gateway/replay.h) on any file, driving the engine as
 * `firegate replay` does (gateway/cli_replay.c): each line parsed, a reading, command or tick
 * applied to a fresh engine over the replay building with the shipped rules, every decision
 * formatted as a JSON line, and the clock run to the last line's time at the end. A file of
 * readings is what an installer or an investigator hands the gateway, and the same readings
 * come from the building's broker.
 *
 * Input: the file, lines split at '\n'; each line is copied into a buffer of exactly its size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz_support.h"
#include "replay.h"

#define LINES_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As cli_replay.c's target_known(): engine_command() would move the clock for an unknown
 * target before it finds out. */
static bool target_known(const struct engine *e, const char *target)
{
        enum engine_state st;

        return engine_zone_state(e, target, &st) == 0 || engine_detector_find(e, target) >= 0;
}

static void check_event(const struct replay_event *ev, engine_time last_t)
{
        fuzz_check(ev->kind == REPLAY_SKIP || (ev->t >= 0 && ev->t <= REPLAY_T_MAX),
                   "a line's time within 0 .. REPLAY_T_MAX");
        fuzz_check(ev->kind == REPLAY_SKIP || ev->t >= last_t, "the clock never goes back");
        fuzz_check(memchr(ev->detector, '\0', sizeof(ev->detector)) &&
                           memchr(ev->target, '\0', sizeof(ev->target)) &&
                           memchr(ev->who, '\0', sizeof(ev->who)),
                   "the event's strings are NUL-terminated");
        if (ev->kind == REPLAY_READING)
                fuzz_check(replay_reading_name(ev->reading) != NULL, "a reading kind it names");
        if (ev->kind == REPLAY_COMMAND)
                fuzz_check(replay_command_name(ev->command) != NULL, "a command it names");
}

static void apply(struct engine *e, const struct replay_event *ev, engine_time *last_t)
{
        struct engine_reading r;
        long idx;

        switch (ev->kind) {
        case REPLAY_SKIP:
                return;
        case REPLAY_READING:
                idx = engine_detector_find(e, ev->detector);
                r = (struct engine_reading){
                        .detector =
                                idx >= 0 ? (size_t)idx : engine_detector_unknown(e, ev->detector),
                        .kind = ev->reading,
                        .value = ev->value,
                        .flags = ev->flags,
                        .time = ev->t,
                };
                engine_reading(e, &r);
                break;
        case REPLAY_COMMAND: {
                const char *target = ev->target[0] ? ev->target : "building";
                const struct engine_command c = {
                        .kind = ev->command,
                        .target = target,
                        .who = ev->who[0] ? ev->who : NULL,
                        .time = ev->t,
                };

                if (!target_known(e, target) || engine_command(e, &c) == -ENOENT)
                        return;
                break;
        }
        case REPLAY_TICK:
                engine_tick(e, ev->t);
                break;
        }
        *last_t = ev->t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct diag *d = diag_new();
        struct engine *e = NULL;
        engine_time last_t = -1;
        size_t pos = 0;

        if (!d || fuzz_engine_new(fuzz_shipped_rules(), d, &e) < 0)
                abort();
        for (unsigned n = 0; n < LINES_MAX && pos < size; n++) {
                const uint8_t *nl = memchr(data + pos, '\n', size - pos);
                size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
                char *line = malloc(len ? len : 1), why[REPLAY_WHY_MAX];
                struct replay_event ev;
                int r;

                if (!line)
                        abort();
                memcpy(line, data + pos, len);
                memset(&ev, 0x5a, sizeof(ev));
                r = replay_parse_line(line, len, last_t, &ev, why, sizeof(why));
                fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM,
                           "replay_parse_line: an errno it documents");
                if (r == -EINVAL)
                        fuzz_check(memchr(why, '\0', sizeof(why)) && why[0],
                                   "a refused line has a reason");
                if (r == 0) {
                        check_event(&ev, last_t);
                        apply(e, &ev, &last_t);
                }
                free(line);
                pos += len + 1;
        }
        if (last_t >= 0)
                engine_tick(e, last_t);
        engine_free(e);
        diag_free(d);
        return 0;
}
