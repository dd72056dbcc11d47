/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_rules: rule files (rules/ruleset.h) as an installer may write them, then the engine
 * they drive. One input is up to three rule files, `FILE NUL FILE NUL FILE` (the last runs to
 * the end of the input), loaded one after the other into one fresh ruleset as the daemon loads
 * a rules directory; a file that fails must add nothing. Whatever loaded then goes to a fresh
 * engine over the replay building (tests/replay/building.json), which runs a short night:
 * smoke, heat, a call point, a dying battery, a bridge gone offline, the desk's commands.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz_support.h"
#include "ruleset.h"

#define FILES_MAX 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t rule_count(const struct ruleset *rs)
{
        return rs->n_smoke + rs->n_heat + rs->n_supervision + rs->n_outputs;
}

/* Every rule's match against a few detectors, as the engine asks it. */
static void match_all(const struct ruleset *rs)
{
        static const struct {
                unsigned kind;
                const char *zone, *id;
                bool in_unit;
        } dets[] = {
                {RULESET_KIND_SMOKE, NULL, "smoke-101-hall", true},
                {RULESET_KIND_HEAT, "car-park-b1", "heat-carpark-b1", false},
                {RULESET_KIND_MULTI, "stair-a", "multi-201-living", true},
                {RULESET_KIND_CALL_POINT, "stair-a", "callpoint-stair-1", false},
        };

        for (size_t i = 0; i < sizeof(dets) / sizeof(dets[0]); i++) {
                for (size_t r = 0; r < rs->n_smoke; r++)
                        ruleset_match(&rs->smoke[r].match, dets[i].kind, dets[i].zone,
                                      dets[i].in_unit, dets[i].id);
                for (size_t r = 0; r < rs->n_heat; r++)
                        ruleset_match(&rs->heat[r].match, dets[i].kind, dets[i].zone,
                                      dets[i].in_unit, dets[i].id);
                for (size_t r = 0; r < rs->n_supervision; r++)
                        ruleset_match(&rs->supervision[r].match, dets[i].kind, dets[i].zone,
                                      dets[i].in_unit, dets[i].id);
        }
        for (size_t r = 0; r < rs->n_smoke; r++)
                fuzz_check(ruleset_dependency_name(rs->smoke[r].dependency) != NULL,
                           "a loaded dependency has a name");
}

static void reading(struct engine *e, const char *id, enum engine_reading_kind kind, double value,
                    engine_time t)
{
        long i = engine_detector_find(e, id);
        const struct engine_reading r = {
                .detector = i >= 0 ? (size_t)i : engine_detector_unknown(e, id),
                .kind = kind,
                .value = value,
                .time = t,
        };

        engine_reading(e, &r);
}

static void command(struct engine *e, enum engine_command_kind kind, const char *target,
                    engine_time t)
{
        const struct engine_command c = {.kind = kind, .target = target, .who = "desk", .time = t};
        int r = engine_command(e, &c);

        fuzz_check(r == 0 || r == -EALREADY || r == -ENOENT || r == -EINVAL,
                   "engine_command: an errno it documents");
}

/* A night in the replay building, in seconds. */
static void run_night(struct engine *e)
{
        const engine_time s = 1000;

        reading(e, "smoke-101-hall", ENGINE_READING_SMOKE, 1, 10 * s);
        reading(e, "smoke-101-bed", ENGINE_READING_SMOKE, 1, 12 * s);
        reading(e, "smoke-101-hall", ENGINE_READING_SMOKE, 0, 15 * s);
        reading(e, "smoke-101-hall", ENGINE_READING_SMOKE, 1, 40 * s);
        reading(e, "smoke-102-hall", ENGINE_READING_TEST, 1, 41 * s);
        reading(e, "smoke-102-hall", ENGINE_READING_SMOKE, 1, 41 * s);
        reading(e, "heat-101-kitchen", ENGINE_READING_TEMPERATURE, 25, 50 * s);
        reading(e, "heat-101-kitchen", ENGINE_READING_TEMPERATURE, 45, 110 * s);
        reading(e, "heat-101-kitchen", ENGINE_READING_TEMPERATURE, 70, 170 * s);
        reading(e, "multi-201-living", ENGINE_READING_SMOKE, 1, 180 * s);
        reading(e, "smoke-stair-1", ENGINE_READING_SMOKE, 1, 200 * s);
        command(e, ENGINE_CMD_ACKNOWLEDGE, "building", 230 * s);
        command(e, ENGINE_CMD_SILENCE, "floor:1", 240 * s);
        reading(e, "callpoint-stair-1", ENGINE_READING_CALL_POINT, 1, 250 * s);
        reading(e, "heat-carpark-b1", ENGINE_READING_BATTERY, 9, 300 * s);
        reading(e, "smoke-301-hall", ENGINE_READING_AVAILABILITY, 0, 310 * s);
        reading(e, "smoke-301-hall", ENGINE_READING_INVALID, 0, 311 * s);
        reading(e, "not-in-the-registry", ENGINE_READING_SMOKE, 1, 320 * s);
        command(e, ENGINE_CMD_RESET, "unit:900000000101", 600 * s);
        command(e, ENGINE_CMD_RESET, "building", 700 * s);
        command(e, ENGINE_CMD_DISABLE, "smoke-stair-1", 710 * s);
        command(e, ENGINE_CMD_TEST_START, "zone:stair-a", 720 * s);
        reading(e, "smoke-stair-1", ENGINE_READING_SMOKE, 1, 730 * s);
        command(e, ENGINE_CMD_TEST_END, "zone:stair-a", 800 * s);
        command(e, ENGINE_CMD_ENABLE, "smoke-stair-1", 810 * s);
        engine_tick(e, 4 * 3600 * s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ruleset *rs = ruleset_new();
        struct diag *d = diag_new();
        struct engine *e = NULL;
        size_t pos = 0;

        if (!rs || !d)
                abort();
        for (unsigned f = 0; f < FILES_MAX && pos <= size; f++) {
                const uint8_t *end =
                        f + 1 < FILES_MAX ? memchr(data + pos, '\0', size - pos) : NULL;
                size_t len = end ? (size_t)(end - (data + pos)) : size - pos;
                size_t before = rule_count(rs), errors = diag_count(d);
                int r = ruleset_load_file(rs, fuzz_file_put(f, data + pos, len), d);

                fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM || r == -EFBIG,
                           "ruleset_load_file: an errno it documents");
                fuzz_check(r == 0 || rule_count(rs) == before, "a file that fails adds nothing");
                fuzz_check(r != -EINVAL || diag_count(d) > errors, "a refusal says why");
                pos += len + 1;
                if (!end)
                        break;
        }
        diag_print(d, fuzz_devnull(), NULL);
        match_all(rs);
        if (fuzz_engine_new(rs, d, &e) == 0)
                run_night(e);
        engine_free(e);
        ruleset_free(rs);
        diag_free(d);
        return 0;
}
