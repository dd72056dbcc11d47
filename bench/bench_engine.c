/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_engine: what the rules engine costs per reading. A synthetic building of D detectors
 * (half smoke, half heat of class A1R, two per unit, with the shipped rule files or the built-in
 * defaults) reports telemetry round-robin, each detector once a minute of virtual time:
 * temperatures with noise, battery levels, heartbeats. Two workloads:
 *   telemetry  the steady state of a quiet building (the daemon's usual load);
 *   alarms     every reading changes something: smoke on and off across the building with resets,
 *              so every reading yields decisions.
 * Prints one markdown table row per workload. With --readings N --quiet it only runs N telemetry
 * readings, for callgrind to count instructions (bench/bench_engine.py does that).
 *
 * Usage: bench_engine [--detectors D] [--readings N] [--rules DIR] [--quiet]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "diag.h"
#include "engine.h"
#include "ruleset.h"

struct counter {
        unsigned long decisions;
};

static void count(void *ctx, const struct engine_decision *d)
{
        (void)d;
        ((struct counter *)ctx)->decisions++;
}

/* A small deterministic generator: the same run gives the same readings. */
static unsigned long next_rand(unsigned long *s)
{
        *s = *s * 6364136223846793005UL + 1442695040888963407UL;
        return *s >> 33;
}

struct building {
        struct engine_detector_info *dets;
        struct engine_unit_info *units;
        char (*det_ids)[24];
        char (*unit_ids)[24];
        size_t n_dets, n_units;
};

static int make_building(struct building *b, size_t n_dets)
{
        b->n_dets = n_dets;
        b->n_units = (n_dets + 1) / 2;
        b->dets = calloc(n_dets, sizeof(*b->dets));
        b->units = calloc(b->n_units, sizeof(*b->units));
        b->det_ids = calloc(n_dets, sizeof(*b->det_ids));
        b->unit_ids = calloc(b->n_units, sizeof(*b->unit_ids));
        if (!b->dets || !b->units || !b->det_ids || !b->unit_ids)
                return -ENOMEM;
        for (size_t u = 0; u < b->n_units; u++) {
                snprintf(b->unit_ids[u], sizeof(b->unit_ids[u]), "%012zu", 100000000000 + u);
                b->units[u] = (struct engine_unit_info){.id = b->unit_ids[u],
                                                        .floor = (int)(u / 20) + 1,
                                                        .verified = true,
                                                        .residents = 2};
        }
        for (size_t i = 0; i < n_dets; i++) {
                size_t u = i / 2;

                snprintf(b->det_ids[i], sizeof(b->det_ids[i]), "d%05zu", i);
                b->dets[i] = (struct engine_detector_info){
                        .id = b->det_ids[i],
                        .kind = i % 2 ? ENGINE_HEAT : ENGINE_SMOKE,
                        .heat_class = i % 2 ? "A1R" : NULL,
                        .unit = b->unit_ids[u],
                        .floor = b->units[u].floor,
                        .report_period_s = 60,
                        .verified = true,
                };
        }
        return 0;
}

static void free_building(struct building *b)
{
        free(b->dets);
        free(b->units);
        free(b->det_ids);
        free(b->unit_ids);
}

/* One telemetry reading for detector @i at @t: what a quiet building sends. */
static struct engine_reading telemetry(size_t i, engine_time t, unsigned long *seed)
{
        struct engine_reading r = {.detector = i, .time = t};
        unsigned long x = next_rand(seed);

        if (i % 2) {
                r.kind = ENGINE_READING_TEMPERATURE;
                r.value = 22.0 + (double)(x % 300) / 100.0;
        } else if (x % 10 == 0) {
                r.kind = ENGINE_READING_BATTERY;
                r.value = 80.0 + (double)(x % 20);
        } else {
                r.kind = ENGINE_READING_SMOKE;
                r.value = 0;
        }
        return r;
}

static int run(const struct building *b, const struct ruleset *rs, unsigned long readings,
               bool alarms, bool quiet)
{
        struct counter c = {0};
        struct engine_setup s = {
                .detectors = b->dets,
                .n_detectors = b->n_dets,
                .units = b->units,
                .n_units = b->n_units,
                .rules = rs,
                .emit = count,
                .emit_ctx = &c,
        };
        struct diag *d = diag_new();
        struct engine *e = NULL;
        unsigned long seed = 42;
        /* Spread each detector's report evenly over a minute. */
        engine_time step = (engine_time)(60000 / b->n_dets) + 1;
        double t0, t1;
        int r;

        r = engine_new(&s, d, &e);
        if (r < 0) {
                diag_print(d, stderr, "bench_engine: ");
                diag_free(d);
                return r;
        }
        t0 = bc_now_us() / 1e6;
        for (unsigned long n = 0; n < readings; n++) {
                size_t i = (size_t)(n % b->n_dets);
                engine_time t = (engine_time)n * step;
                struct engine_reading rd = telemetry(i, t, &seed);

                if (alarms) {
                        /* Smoke on, then off, then a reset of the building every few readings: each
                         * reading changes a detector's fire state. */
                        rd.kind = ENGINE_READING_SMOKE;
                        rd.detector = (size_t)(n % b->n_dets) & ~(size_t)1;
                        rd.value = (n / b->n_dets) % 2 == 0;
                        if (n % 64 == 63) {
                                struct engine_command cmd = {.kind = ENGINE_CMD_RESET,
                                                             .target = "building",
                                                             .who = "bench",
                                                             .time = t};

                                engine_command(e, &cmd);
                                continue;
                        }
                }
                engine_reading(e, &rd);
        }
        engine_tick(e, (engine_time)readings * step);
        t1 = bc_now_us() / 1e6;
        if (!quiet)
                printf("| %s | %zu | %lu | %lu | %.0f | %.0f | %.0f |\n",
                       alarms ? "alarms" : "telemetry", b->n_dets, readings, c.decisions,
                       (double)readings / (t1 - t0), (double)c.decisions / (t1 - t0),
                       (t1 - t0) * 1e9 / (double)readings);
        engine_free(e);
        diag_free(d);
        return 0;
}

int main(int argc, char **argv)
{
        struct building b = {0};
        struct ruleset *rs = NULL;
        struct diag *d = diag_new();
        unsigned long readings = 2000000;
        size_t dets = 1000;
        const char *rules = NULL;
        bool quiet = false;
        int ret = 1;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--detectors") == 0 && i + 1 < argc)
                        dets = strtoul(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--readings") == 0 && i + 1 < argc)
                        readings = strtoul(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
                        rules = argv[++i];
                else if (strcmp(argv[i], "--quiet") == 0)
                        quiet = true;
                else {
                        fprintf(stderr, "usage: bench_engine [--detectors D] [--readings N] "
                                        "[--rules DIR] [--quiet]\n");
                        return 2;
                }
        }
        if (dets < 2 || dets > 100000) {
                fprintf(stderr, "bench_engine: --detectors must be from 2 to 100000\n");
                return 2;
        }
        if (make_building(&b, dets) < 0)
                goto out;
        if (rules) {
                rs = ruleset_new();
                if (!rs || ruleset_load_dir(rs, rules, d) < 0) {
                        diag_print(d, stderr, "bench_engine: ");
                        goto out;
                }
        }
        if (!quiet) {
                printf("\nRules engine, %s, virtual time (1 report per detector per minute)\n\n",
                       rules ? rules : "built-in rules");
                printf("| workload | detectors | readings | decisions | readings/s | decisions/s "
                       "| ns/reading |\n|---|---:|---:|---:|---:|---:|---:|\n");
        }
        if (run(&b, rs, readings, false, quiet) < 0)
                goto out;
        if (!quiet && run(&b, rs, readings / 4, true, quiet) < 0)
                goto out;
        ret = 0;
out:
        ruleset_free(rs);
        diag_free(d);
        free_building(&b);
        return ret;
}
