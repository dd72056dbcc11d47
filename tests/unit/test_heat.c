/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_heat: heat detectors alarm within EN 54-5's response-time limits for every class, from
 * the typical application temperature and (R classes) from a cold start, at regular and
 * irregular report intervals; S classes never alarm by rate; one wild sample, absurd values,
 * samples out of order and floods of reports neither raise nor hide an alarm; a lone sample
 * over the threshold alarms when nothing contradicts it within confirm_ms.
 *
 * The simulated sensor reading is the air temperature itself (no thermal lag model), reported
 * at each report time; the verdict is taken after each report, so an alarm is seen at a report
 * time. Set HEAT_PRINT_TIMES=1 to print the measured first-alarm times.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heat.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MS(min, s)    ((int64_t)((min)*60 + (s)) * 1000)
#define NO_ALARM      INT64_MAX
#define NO_WILD       INT64_MIN

static const enum heat_class all_classes[] = {
        HEAT_CLASS_A1, HEAT_CLASS_A2, HEAT_CLASS_B, HEAT_CLASS_C,
        HEAT_CLASS_D,  HEAT_CLASS_E,  HEAT_CLASS_F, HEAT_CLASS_G,
};

/* EN 54-5 response-time limits from the typical application temperature (DOMAIN.md). */
struct limits {
        double k_per_min;
        int64_t lower_ms, upper_ms;
};

static const struct limits limits_a2_to_g[] = {
        {1.0, MS(29, 0), MS(46, 0)}, {3.0, MS(7, 13), MS(16, 0)}, {5.0, MS(4, 9), MS(10, 0)},
        {10.0, MS(2, 0), MS(5, 30)}, {20.0, MS(1, 0), MS(3, 13)}, {30.0, MS(0, 40), MS(2, 25)},
};

static const struct limits limits_a1[] = {
        {1.0, MS(29, 0), MS(40, 20)}, {3.0, MS(7, 13), MS(13, 40)}, {5.0, MS(4, 9), MS(8, 20)},
        {10.0, MS(1, 0), MS(4, 20)},  {20.0, MS(0, 30), MS(2, 20)}, {30.0, MS(0, 20), MS(1, 40)},
};

static const struct limits *limits_of(enum heat_class cls)
{
        return cls == HEAT_CLASS_A1 ? limits_a1 : limits_a2_to_g;
}

/* How often the detector reports: each interval is interval_ms plus or minus up to jitter_ms. */
struct cadence {
        const char *name;
        int64_t interval_ms, jitter_ms;
};

static const struct cadence every_10s = {"10 s", 10000, 0};
static const struct cadence every_7s_jitter = {"7+-3 s", 7000, 3000};
static const struct cadence every_1s = {"1 s", 1000, 0};
static const struct cadence *const cadences[] = {&every_10s, &every_7s_jitter};

/* Before the air starts rising at time 0, the detector has reported the steady start
 * temperature for this long (as in EN 54-5, where it is stabilised first), or not at all. */
static const int64_t settles_ms[] = {MS(5, 0), 0};

struct run {
        enum heat_class cls;
        char suffix;
        const struct ruleset_heat *rule; /* NULL: the built-in defaults */
        double start_c, k_per_min;
        double cap_c; /* the air stops rising here */
        int64_t settle_ms, stop_ms;
        const struct cadence *cadence;
        int64_t wild_at_ms; /* the first report at or after this time reads wild_c instead */
        double wild_c;
};

struct result {
        int64_t alarm_ms; /* the first alarm, NO_ALARM if none */
        enum heat_verdict verdict;
        char cause[128];
        int64_t max_interval_ms;
        double max_rise_k, max_slope_k_per_min;
        bool wild_sent;
};

static void class_name(enum heat_class cls, char suffix, char *buf, size_t len)
{
        const struct heat_class_info *ci = heat_class_info(cls);
        int n;

        assert_non_null(ci);
        n = snprintf(buf, len, "%s%.1s", ci->name, &suffix);
        assert_true(n > 0 && (size_t)n < len);
}

static void params_for(enum heat_class cls, char suffix, const struct ruleset_heat *rule,
                       struct heat_params *p)
{
        char why[160];

        assert_int_equal(heat_params_resolve(rule, cls, suffix, p, why, sizeof(why)), 0);
}

/* xorshift32: a fixed sequence of jitter for each run, no shared state. */
static int64_t jitter(uint32_t *x, int64_t max_ms)
{
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        return max_ms == 0 ? 0 : (int64_t)(*x % (uint32_t)(2 * max_ms + 1)) - max_ms;
}

static bool is_alarm(enum heat_verdict v)
{
        return v == HEAT_ALARM_FIXED || v == HEAT_ALARM_ROR;
}

static void simulate(const struct run *r, struct result *res)
{
        struct heat_track track;
        struct heat_params p;
        struct heat_eval e;
        char name[8];
        uint32_t rng = 0x9e3779b9u ^ (uint32_t)(r->k_per_min * 1000.0) ^ (uint32_t)r->cls;
        int64_t t = -r->settle_ms, prev = t, step;
        double c;

        class_name(r->cls, r->suffix, name, sizeof(name));
        params_for(r->cls, r->suffix, r->rule, &p);
        heat_track_init(&track);
        memset(res, 0, sizeof(*res));
        res->alarm_ms = NO_ALARM;
        res->max_rise_k = -HUGE_VAL;
        res->max_slope_k_per_min = -HUGE_VAL;
        while (t <= r->stop_ms) {
                c = fmin(r->start_c + r->k_per_min * (double)(t > 0 ? t : 0) / 60000.0, r->cap_c);
                if (!res->wild_sent && t >= r->wild_at_ms) {
                        c = r->wild_c;
                        res->wild_sent = true;
                }
                assert_int_equal(heat_track_add(&track, t, c), HEAT_SAMPLE_OK);
                heat_evaluate(&track, &p, name, t, &e);
                if (t - prev > res->max_interval_ms)
                        res->max_interval_ms = t - prev;
                if (e.rise_k > res->max_rise_k)
                        res->max_rise_k = e.rise_k;
                if (e.slope_k_per_min > res->max_slope_k_per_min)
                        res->max_slope_k_per_min = e.slope_k_per_min;
                if (is_alarm(e.verdict)) {
                        res->alarm_ms = t;
                        res->verdict = e.verdict;
                        memcpy(res->cause, e.cause, sizeof(res->cause));
                        return;
                }
                prev = t;
                step = r->cadence->interval_ms + jitter(&rng, r->cadence->jitter_ms);
                t += step;
        }
}

static struct run ramp(enum heat_class cls, char suffix, double start_c, double k_per_min,
                       int64_t settle_ms, const struct cadence *cad, int64_t stop_ms)
{
        struct run r = {
                .cls = cls,
                .suffix = suffix,
                .start_c = start_c,
                .k_per_min = k_per_min,
                .cap_c = HUGE_VAL,
                .settle_ms = settle_ms,
                .stop_ms = stop_ms,
                .cadence = cad,
                .wild_at_ms = NO_WILD,
        };
        return r;
}

static bool print_times(void)
{
        const char *v = getenv("HEAT_PRINT_TIMES");

        return v && *v && strcmp(v, "0") != 0;
}

static void print_time(const char *label, int64_t ms, enum heat_verdict v)
{
        if (ms == NO_ALARM)
                printf(" %s   none  ", label);
        else
                printf(" %s %2d:%02d%s%c", label, (int)(ms / 60000), (int)(ms / 1000 % 60),
                       ms % 1000 ? "+" : " ", v == HEAT_ALARM_ROR ? 'r' : 'f');
}

static void test_response_times_from_typical_temperature_meet_en54_5_limits(void **state)
{
        static const char suffixes[] = {'\0', 'R', 'S'};
        const struct heat_class_info *ci;
        const struct limits *lim;
        struct result res;
        struct run r;
        char name[8];
        unsigned failures = 0;
        size_t c, s, k, cad, st;

        (void)state;
        for (c = 0; c < ARRAY_SIZE(all_classes); c++) {
                ci = heat_class_info(all_classes[c]);
                lim = limits_of(all_classes[c]);
                for (s = 0; s < ARRAY_SIZE(suffixes); s++) {
                        class_name(all_classes[c], suffixes[s], name, sizeof(name));
                        for (cad = 0; cad < ARRAY_SIZE(cadences); cad++) {
                                for (st = 0; st < ARRAY_SIZE(settles_ms); st++) {
                                        if (print_times())
                                                printf("%-3s %-6s %s", name, cadences[cad]->name,
                                                       settles_ms[st] ? "settled" : "fresh  ");
                                        for (k = 0; k < ARRAY_SIZE(limits_a1); k++) {
                                                r = ramp(all_classes[c], suffixes[s], ci->typical_c,
                                                         lim[k].k_per_min, settles_ms[st],
                                                         cadences[cad], lim[k].upper_ms + MS(5, 0));
                                                simulate(&r, &res);
                                                if (print_times())
                                                        print_time("", res.alarm_ms, res.verdict);
                                                /* Strict limits, no allowance for the report
                                                 * interval: the first alarm is up to two
                                                 * intervals after the air crosses a threshold
                                                 * (the median needs a second sample), and
                                                 * every combination still meets the upper
                                                 * limit with that delay included. */
                                                if (res.alarm_ms >= lim[k].lower_ms &&
                                                    res.alarm_ms <= lim[k].upper_ms)
                                                        continue;
                                                print_message("%s at %.0f K/min every %s (%s): "
                                                              "first alarm %lld ms outside "
                                                              "%lld..%lld ms\n",
                                                              name, lim[k].k_per_min,
                                                              cadences[cad]->name,
                                                              settles_ms[st] ? "settled" : "fresh",
                                                              (long long)res.alarm_ms,
                                                              (long long)lim[k].lower_ms,
                                                              (long long)lim[k].upper_ms);
                                                failures++;
                                        }
                                        if (print_times())
                                                printf("\n");
                                }
                        }
                }
        }
        assert_int_equal(failures, 0);
}

/* From 5 °C at 10 K/min the air reaches A1's 54 °C only at 4:54, after A1's 4:20 upper
 * limit: an R detector meets the limits from a cold start by rate of rise alone. */
static void test_r_classes_from_cold_start_alarm_by_rate_of_rise_within_upper_limit(void **state)
{
        static const size_t rates[] = {3, 4, 5}; /* 10, 20, 30 K/min in the limit tables */
        const struct limits *lim;
        struct result res;
        struct run r;
        size_t c, k, cad, st;

        (void)state;
        for (c = 0; c < ARRAY_SIZE(all_classes); c++) {
                lim = limits_of(all_classes[c]);
                if (print_times())
                        printf("%sR cold start:", heat_class_info(all_classes[c])->name);
                for (k = 0; k < ARRAY_SIZE(rates); k++) {
                        for (cad = 0; cad < ARRAY_SIZE(cadences); cad++) {
                                for (st = 0; st < ARRAY_SIZE(settles_ms); st++) {
                                        r = ramp(all_classes[c], 'R', 5.0, lim[rates[k]].k_per_min,
                                                 settles_ms[st], cadences[cad],
                                                 lim[rates[k]].upper_ms);
                                        simulate(&r, &res);
                                        if (print_times())
                                                print_time("", res.alarm_ms, res.verdict);
                                        assert_true(res.alarm_ms <= lim[rates[k]].upper_ms);
                                        assert_int_equal(res.verdict, HEAT_ALARM_ROR);
                                }
                        }
                }
                if (print_times())
                        printf("\n");
        }
}

/* A detector reporting every second fills its track every 2 s (HEAT_COALESCE_MS); the track
 * must still reach back far enough to measure a 20 K rise. */
static void test_fast_reporting_r_detector_still_alarms_by_rate_of_rise(void **state)
{
        static const size_t rates[] = {3, 4, 5};
        const struct limits *lim = limits_a2_to_g;
        struct result res;
        struct run r;
        size_t k;

        (void)state;
        for (k = 0; k < ARRAY_SIZE(rates); k++) {
                r = ramp(HEAT_CLASS_B, 'R', 5.0, lim[rates[k]].k_per_min, MS(10, 0), &every_1s,
                         lim[rates[k]].upper_ms);
                simulate(&r, &res);
                assert_int_equal(res.verdict, HEAT_ALARM_ROR);
                assert_true(res.alarm_ms >= lim[rates[k]].lower_ms);
                assert_true(res.alarm_ms <= lim[rates[k]].upper_ms);
        }
}

static void test_fast_reporter_track_reaches_five_minutes_back_at_2_s_spacing(void **state)
{
        const struct heat_sample *a, *b;
        struct heat_track t;
        int64_t ms;
        size_t i;

        (void)state;
        heat_track_init(&t);
        for (ms = 0; ms <= MS(20, 0); ms += 1000)
                assert_int_equal(heat_track_add(&t, ms, 25.0 + (double)(ms % 7000) / 1000.0),
                                 HEAT_SAMPLE_OK);
        assert_int_equal(t.count, HEAT_SAMPLES);
        a = &t.s[t.head];
        b = &t.s[(t.head + t.count - 1) % HEAT_SAMPLES];
        assert_true(b->t_ms - a->t_ms >= MS(5, 0));
        /* The newest three stay as reported, the 2 s coalescing kept: the newest keeps the time
         * it was first stored at and the value last reported. */
        assert_int_equal(b->t_ms, MS(20, 0));
        assert_int_equal(t.s[(t.head + t.count - 2) % HEAT_SAMPLES].t_ms, MS(20, 0) - 2000);
        assert_int_equal(t.s[(t.head + t.count - 3) % HEAT_SAMPLES].t_ms, MS(20, 0) - 4000);
        for (i = 1; i < t.count; i++) {
                a = &t.s[(t.head + i - 1) % HEAT_SAMPLES];
                b = &t.s[(t.head + i) % HEAT_SAMPLES];
                assert_true(b->t_ms - a->t_ms >= HEAT_COALESCE_MS);
        }
        assert_int_equal(heat_track_add(&t, MS(20, 1), 30.0), HEAT_SAMPLE_OK);
        assert_int_equal(b->t_ms, MS(20, 0));
        assert_true(b->c == 30.0);
}

static void test_s_classes_never_alarm_below_min_static_even_at_30_k_per_min(void **state)
{
        /* A rule asking for rate of rise with hair-trigger figures changes nothing for S. */
        const struct ruleset_heat eager = {.fixed_c = (double)NAN,
                                           .ror = RULESET_ROR_ON,
                                           .ror_k_per_min = 0.5,
                                           .ror_min_rise_k = 0.0,
                                           .confirm_ms = 0};
        const struct ruleset_heat *rules[] = {NULL, &eager};
        static const bool from_cold[] = {true, false}; /* 5 °C, or the typical temperature */
        const struct heat_class_info *ci;
        struct result res;
        struct run r;
        size_t c, k, cad, st, ru;

        (void)state;
        for (c = 0; c < ARRAY_SIZE(all_classes); c++) {
                ci = heat_class_info(all_classes[c]);
                for (k = 0; k < ARRAY_SIZE(limits_a1); k++) {
                        for (cad = 0; cad < ARRAY_SIZE(cadences); cad++) {
                                for (st = 0; st < ARRAY_SIZE(from_cold); st++) {
                                        for (ru = 0; ru < ARRAY_SIZE(rules); ru++) {
                                                r = ramp(all_classes[c], 'S',
                                                         from_cold[st] ? 5.0 : ci->typical_c,
                                                         limits_a1[k].k_per_min, MS(5, 0),
                                                         cadences[cad], MS(200, 0));
                                                r.rule = rules[ru];
                                                r.cap_c = ci->min_static_c - 0.1;
                                                simulate(&r, &res);
                                                assert_int_equal(res.alarm_ms, NO_ALARM);
                                        }
                                }
                        }
                }
        }
}

static void test_s_classes_alarm_by_fixed_threshold_above_min_static(void **state)
{
        const struct heat_class_info *ci;
        struct result res;
        struct run r;
        size_t c, k;
        int64_t crossing_ms;

        (void)state;
        for (c = 0; c < ARRAY_SIZE(all_classes); c++) {
                ci = heat_class_info(all_classes[c]);
                for (k = 0; k < ARRAY_SIZE(limits_a1); k++) {
                        r = ramp(all_classes[c], 'S', 5.0, limits_a1[k].k_per_min, MS(5, 0),
                                 &every_10s, MS(200, 0));
                        simulate(&r, &res);
                        assert_int_equal(res.verdict, HEAT_ALARM_FIXED);
                        /* The second report at or over the minimum static temperature. */
                        crossing_ms = (int64_t)ceil((ci->min_static_c - 5.0) * 60000.0 /
                                                    limits_a1[k].k_per_min / 10000.0) *
                                      10000;
                        assert_int_equal(res.alarm_ms, crossing_ms + 10000);
                        assert_non_null(strstr(res.cause, "S fixed)"));
                }
        }
}

static void test_one_wild_high_sample_in_steady_air_never_alarms(void **state)
{
        static const double wild[] = {150.0, 90.0, 54.0};
        static const enum heat_class classes[] = {HEAT_CLASS_A1, HEAT_CLASS_A2, HEAT_CLASS_B};
        static const char suffixes[] = {'\0', 'R'};
        struct result res;
        struct run r;
        size_t w, c, s, cad;

        (void)state;
        for (w = 0; w < ARRAY_SIZE(wild); w++) {
                for (c = 0; c < ARRAY_SIZE(classes); c++) {
                        for (s = 0; s < ARRAY_SIZE(suffixes); s++) {
                                for (cad = 0; cad < ARRAY_SIZE(cadences); cad++) {
                                        r = ramp(classes[c], suffixes[s], 25.0, 0.0, MS(5, 0),
                                                 cadences[cad], MS(20, 0));
                                        r.wild_at_ms = MS(3, 0);
                                        r.wild_c = wild[w];
                                        simulate(&r, &res);
                                        assert_true(res.wild_sent);
                                        assert_int_equal(res.alarm_ms, NO_ALARM);
                                }
                        }
                }
        }
}

static void test_wild_high_sample_is_pending_then_contradicted_by_the_next(void **state)
{
        struct heat_track t;
        struct heat_params p;
        struct heat_eval e;
        int64_t ms;

        (void)state;
        params_for(HEAT_CLASS_A1, '\0', NULL, &p);
        heat_track_init(&t);
        for (ms = 0; ms <= MS(2, 0); ms += 10000)
                assert_int_equal(heat_track_add(&t, ms, 25.0), HEAT_SAMPLE_OK);
        assert_int_equal(heat_track_add(&t, MS(2, 10), 150.0), HEAT_SAMPLE_OK);
        heat_evaluate(&t, &p, "A1", MS(2, 10), &e);
        assert_int_equal(e.verdict, HEAT_PENDING);
        assert_int_equal(e.deadline_ms, MS(2, 40));
        assert_true(e.temperature_c == 25.0);
        assert_int_equal(heat_track_add(&t, MS(2, 20), 25.0), HEAT_SAMPLE_OK);
        heat_evaluate(&t, &p, "A1", MS(10, 0), &e);
        assert_int_equal(e.verdict, HEAT_NORMAL);
        assert_int_equal(e.deadline_ms, INT64_MAX);
}

/* A brief fast rise (15 K/min for 60 s, then steady) makes a slope over ror_k_per_min but
 * only 15 K of rise; one wild low sample before it must not turn that into a 40 K rise. */
static void test_one_wild_low_sample_does_not_fake_a_rate_of_rise_alarm(void **state)
{
        static const double wild[] = {0.0, -30.0};
        struct result clean, res;
        struct run r;
        int64_t at;
        size_t w, cad;

        (void)state;
        for (cad = 0; cad < ARRAY_SIZE(cadences); cad++) {
                r = ramp(HEAT_CLASS_A2, 'R', 25.0, 15.0, MS(5, 0), cadences[cad], MS(10, 0));
                r.cap_c = 40.0;
                simulate(&r, &clean);
                assert_int_equal(clean.alarm_ms, NO_ALARM);
                /* Proves the setup: the slope alone would alarm, the rise is what holds. */
                assert_true(clean.max_slope_k_per_min >= 8.0);
                assert_true(clean.max_rise_k < 20.0);
                for (w = 0; w < ARRAY_SIZE(wild); w++) {
                        for (at = -MS(2, 0); at <= MS(3, 0); at += 5000) {
                                r.wild_at_ms = at;
                                r.wild_c = wild[w];
                                simulate(&r, &res);
                                assert_int_equal(res.alarm_ms, NO_ALARM);
                                assert_true(res.max_rise_k <= clean.max_rise_k + 1e-9);
                        }
                }
        }
}

static void test_one_wild_low_sample_does_not_block_a_genuine_rate_of_rise(void **state)
{
        static const double wild[] = {0.0, -30.0};
        const struct limits *lim = &limits_a2_to_g[4]; /* 20 K/min */
        struct result clean, res;
        struct run r;
        int64_t at;
        size_t w, cad;

        (void)state;
        for (cad = 0; cad < ARRAY_SIZE(cadences); cad++) {
                r = ramp(HEAT_CLASS_A2, 'R', 5.0, lim->k_per_min, MS(5, 0), cadences[cad],
                         lim->upper_ms);
                simulate(&r, &clean);
                assert_int_equal(clean.verdict, HEAT_ALARM_ROR);
                for (w = 0; w < ARRAY_SIZE(wild); w++) {
                        for (at = -MS(1, 0); at <= clean.alarm_ms; at += 3000) {
                                r.wild_at_ms = at;
                                r.wild_c = wild[w];
                                simulate(&r, &res);
                                assert_int_equal(res.verdict, HEAT_ALARM_ROR);
                                /* The median of three may hold the alarm back by one report
                                 * when the wild sample is among the last three. */
                                assert_true(res.alarm_ms <= clean.alarm_ms + res.max_interval_ms);
                                assert_true(res.alarm_ms >= lim->lower_ms);
                                assert_true(res.alarm_ms <= lim->upper_ms);
                        }
                }
        }
}

struct lone_case {
        const char *what;
        int64_t history_ms; /* steady 25 °C reports every 10 s before, 0: none */
        double celsius;
        int64_t confirm_ms;
};

static void test_lone_sample_over_threshold_alarms_exactly_at_confirm_deadline(void **state)
{
        static const struct lone_case cases[] = {
                {"after steady history", MS(5, 0), 60.0, 30000},
                {"exactly at the threshold", MS(5, 0), 54.0, 30000},
                {"as the very first sample", 0, 60.0, 30000},
                {"as the second sample", 10000, 60.0, 30000},
                {"with a longer confirm time", MS(5, 0), 120.0, 45000},
                {"with no confirm time", MS(5, 0), 60.0, 0},
        };
        struct ruleset_heat rule = {.fixed_c = (double)NAN,
                                    .ror = RULESET_ROR_BY_CLASS,
                                    .ror_k_per_min = 8.0,
                                    .ror_min_rise_k = (double)NAN};
        struct heat_track t;
        struct heat_params p;
        struct heat_eval e;
        int64_t ms, at;
        size_t i;
        char expect[64];

        (void)state;
        for (i = 0; i < ARRAY_SIZE(cases); i++) {
                print_message("lone sample %s\n", cases[i].what);
                rule.confirm_ms = (long)cases[i].confirm_ms;
                params_for(HEAT_CLASS_A1, '\0', &rule, &p);
                heat_track_init(&t);
                for (ms = 0; ms < cases[i].history_ms; ms += 10000)
                        assert_int_equal(heat_track_add(&t, ms, 25.0), HEAT_SAMPLE_OK);
                at = cases[i].history_ms + 123;
                assert_int_equal(heat_track_add(&t, at, cases[i].celsius), HEAT_SAMPLE_OK);
                if (cases[i].confirm_ms > 0) {
                        heat_evaluate(&t, &p, "A1", at, &e);
                        assert_int_equal(e.verdict, HEAT_PENDING);
                        assert_int_equal(e.deadline_ms, at + cases[i].confirm_ms);
                        heat_evaluate(&t, &p, "A1", at + cases[i].confirm_ms - 1, &e);
                        assert_int_equal(e.verdict, HEAT_PENDING);
                }
                heat_evaluate(&t, &p, "A1", at + cases[i].confirm_ms, &e);
                assert_int_equal(e.verdict, HEAT_ALARM_FIXED);
                assert_int_equal(e.deadline_ms, INT64_MAX);
                assert_int_equal(snprintf(expect, sizeof(expect), "not contradicted within %g s",
                                          (double)cases[i].confirm_ms / 1000.0) > 0,
                                 1);
                assert_non_null(strstr(e.cause, expect));
        }
}

/* A detector reporting the same high value every second: each report within HEAT_COALESCE_MS
 * updates the newest sample, which must not push the deadline (or the median) away forever. */
static void test_fast_repeated_high_reports_alarm_instead_of_pending_forever(void **state)
{
        struct heat_track t;
        struct heat_params p;
        struct heat_eval e;
        int64_t ms;

        (void)state;
        params_for(HEAT_CLASS_A2, '\0', NULL, &p);
        heat_track_init(&t);
        for (ms = 0; ms < MS(5, 0); ms += 1000)
                heat_track_add(&t, ms, 25.0);
        for (ms = MS(5, 0); ms < MS(5, 10); ms += 500) {
                assert_int_equal(heat_track_add(&t, ms, 70.0), HEAT_SAMPLE_OK);
                heat_evaluate(&t, &p, "A2", ms, &e);
                if (e.verdict == HEAT_ALARM_FIXED)
                        break;
        }
        assert_int_equal(e.verdict, HEAT_ALARM_FIXED);
        assert_true(ms <= MS(5, 4));
}

static void test_fixed_alarm_wins_over_rate_of_rise_which_wins_over_pending(void **state)
{
        /* A1R from 20 °C at 30 K/min, a report every 10 s: 5 K apart. */
        static const double c[] = {20.0, 20.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0};
        struct heat_track t;
        struct heat_params p;
        struct heat_eval e;
        size_t i;

        (void)state;
        params_for(HEAT_CLASS_A1, 'R', NULL, &p);
        heat_track_init(&t);
        for (i = 0; i < ARRAY_SIZE(c); i++)
                assert_int_equal(heat_track_add(&t, (int64_t)i * 10000, c[i]), HEAT_SAMPLE_OK);
        /* Newest 55 °C over 54 °C, median 50 °C not: pending, but the rise alarms first. */
        heat_evaluate(&t, &p, "A1R", 90000, &e);
        assert_int_equal(e.verdict, HEAT_ALARM_ROR);
        assert_int_equal(e.deadline_ms, INT64_MAX);
        assert_true(fabs(e.slope_k_per_min - 30.0) < 1e-9);
        assert_true(fabs(e.rise_k - 30.0) < 1e-9);
        assert_string_equal(e.cause, "30.0 K/min >= 8.0 K/min, rise 30.0 K >= 10.0 K "
                                     "(A1R rate of rise)");
        /* Median 55 °C: both hold, the fixed threshold is the verdict. */
        assert_int_equal(heat_track_add(&t, 100000, 60.0), HEAT_SAMPLE_OK);
        heat_evaluate(&t, &p, "A1R", 100000, &e);
        assert_int_equal(e.verdict, HEAT_ALARM_FIXED);
        assert_string_equal(e.cause, "55.0 °C >= 54.0 °C (A1R fixed)");
}

static void test_fixed_cause_names_values_class_and_rule(void **state)
{
        struct heat_track t;
        struct heat_params p;
        struct heat_eval e;

        (void)state;
        params_for(HEAT_CLASS_A1, '\0', NULL, &p);
        heat_track_init(&t);
        heat_track_add(&t, 0, 57.5);
        heat_track_add(&t, 10000, 57.5);
        heat_track_add(&t, 20000, 58.0);
        heat_evaluate(&t, &p, "A1", 20000, &e);
        assert_int_equal(e.verdict, HEAT_ALARM_FIXED);
        assert_string_equal(e.cause, "57.5 °C >= 54.0 °C (A1 fixed)");
}

static void test_absurd_values_are_refused_and_never_alarm(void **state)
{
        static const double absurd[] = {(double)NAN, 250.0,  -60.0, HUGE_VAL,
                                        -HUGE_VAL,   200.01, -40.01};
        struct heat_track t;
        struct heat_params p;
        struct heat_eval e;
        size_t i;
        int64_t ms = 0;

        (void)state;
        params_for(HEAT_CLASS_A2, 'R', NULL, &p);
        heat_track_init(&t);
        assert_int_equal(heat_track_add(&t, ms, 25.0), HEAT_SAMPLE_OK);
        for (i = 0; i < 3 * ARRAY_SIZE(absurd); i++) {
                ms += 10000;
                assert_int_equal(heat_track_add(&t, ms, absurd[i % ARRAY_SIZE(absurd)]),
                                 HEAT_SAMPLE_ABSURD);
                heat_evaluate(&t, &p, "A2R", ms, &e);
                assert_int_equal(e.verdict, HEAT_NORMAL);
        }
        assert_int_equal(t.count, 1);
        heat_evaluate(&t, &p, "A2R", ms + MS(60, 0), &e);
        assert_int_equal(e.verdict, HEAT_NORMAL);
        /* The plausible range's own ends are kept. */
        assert_int_equal(heat_track_add(&t, ms + 10000, -40.0), HEAT_SAMPLE_OK);
        assert_int_equal(heat_track_add(&t, ms + 20000, 200.0), HEAT_SAMPLE_OK);
        assert_int_equal(t.count, 3);
}

static void add_steady(struct heat_track *t, int64_t from_ms, int64_t to_ms, double c)
{
        int64_t ms;

        for (ms = from_ms; ms < to_ms; ms += 10000)
                assert_int_equal(heat_track_add(t, ms, c), HEAT_SAMPLE_OK);
}

/* Only a plausible, newer sample can contradict a lone sample over the threshold. */
static void test_absurd_or_late_reports_do_not_contradict_a_lone_high_sample(void **state)
{
        struct heat_track t;
        struct heat_params p;
        struct heat_eval e;

        (void)state;
        params_for(HEAT_CLASS_A2, '\0', NULL, &p);
        heat_track_init(&t);
        add_steady(&t, 0, MS(2, 0), 25.0);
        assert_int_equal(heat_track_add(&t, MS(2, 0), 75.0), HEAT_SAMPLE_OK);
        assert_int_equal(heat_track_add(&t, MS(2, 10), (double)NAN), HEAT_SAMPLE_ABSURD);
        assert_int_equal(heat_track_add(&t, MS(2, 20), -60.0), HEAT_SAMPLE_ABSURD);
        assert_int_equal(heat_track_add(&t, MS(1, 55), 25.0), HEAT_SAMPLE_OUT_OF_ORDER);
        heat_evaluate(&t, &p, "A2", MS(2, 29), &e);
        assert_int_equal(e.verdict, HEAT_PENDING);
        heat_evaluate(&t, &p, "A2", MS(2, 30), &e);
        assert_int_equal(e.verdict, HEAT_ALARM_FIXED);
}

static void test_out_of_order_sample_is_refused(void **state)
{
        struct heat_track t;
        struct heat_params p;
        struct heat_eval e;

        (void)state;
        params_for(HEAT_CLASS_A2, '\0', NULL, &p);
        heat_track_init(&t);
        assert_int_equal(heat_track_add(&t, 10000, 25.0), HEAT_SAMPLE_OK);
        assert_int_equal(heat_track_add(&t, 20000, 25.0), HEAT_SAMPLE_OK);
        assert_int_equal(heat_track_add(&t, 19999, 99.0), HEAT_SAMPLE_OUT_OF_ORDER);
        assert_int_equal(heat_track_add(&t, -5000, 99.0), HEAT_SAMPLE_OUT_OF_ORDER);
        assert_int_equal(t.count, 2);
        heat_evaluate(&t, &p, "A2", MS(60, 0), &e);
        assert_int_equal(e.verdict, HEAT_NORMAL);
        assert_true(e.temperature_c == 25.0);
}

static void test_flood_of_identical_readings_neither_alarms_nor_evicts_history(void **state)
{
        static const int64_t flood_spacing_ms[] = {3, 0}; /* 1000 over 3 s; 1000 at once */
        struct heat_track flooded, quiet;
        struct heat_params p;
        struct heat_eval ef, eq;
        int64_t ms, oldest;
        size_t f, i;
        double c;

        (void)state;
        params_for(HEAT_CLASS_A2, 'R', NULL, &p);
        for (f = 0; f < ARRAY_SIZE(flood_spacing_ms); f++) {
                heat_track_init(&flooded);
                heat_track_init(&quiet);
                add_steady(&flooded, -MS(5, 0), 0, 25.0);
                add_steady(&quiet, -MS(5, 0), 0, 25.0);
                oldest = flooded.s[flooded.head].t_ms;
                for (i = 0; i < 1000; i++) {
                        ms = (int64_t)i * flood_spacing_ms[f];
                        assert_int_equal(heat_track_add(&flooded, ms, 25.0), HEAT_SAMPLE_OK);
                        heat_evaluate(&flooded, &p, "A2R", ms, &ef);
                        assert_int_equal(ef.verdict, HEAT_NORMAL);
                        assert_false(isnan(ef.slope_k_per_min));
                        assert_true(ef.slope_k_per_min == 0.0);
                }
                assert_true(flooded.count <= 32);
                assert_int_equal(flooded.s[flooded.head].t_ms, oldest);
                /* Then a genuine 10 K/min rise: measured as without the flood. */
                for (ms = 10000; ms <= MS(5, 30); ms += 10000) {
                        c = 25.0 + 10.0 * (double)ms / 60000.0;
                        heat_track_add(&flooded, ms, c);
                        heat_track_add(&quiet, ms, c);
                        heat_evaluate(&flooded, &p, "A2R", ms, &ef);
                        heat_evaluate(&quiet, &p, "A2R", ms, &eq);
                        assert_true(fabs(ef.rise_k - eq.rise_k) < 1e-9);
                        /* The flood's two extra flat samples weigh on the slope only while
                         * they are inside the two-minute window. */
                        if (ms > MS(2, 3))
                                assert_true(fabs(ef.slope_k_per_min - eq.slope_k_per_min) < 1e-9);
                        assert_int_equal(ef.verdict, eq.verdict);
                        if (is_alarm(eq.verdict))
                                break;
                }
                assert_int_equal(ef.verdict, HEAT_ALARM_ROR);
                assert_true(ms >= MS(2, 0) && ms <= MS(5, 30));
        }
}

static void test_params_defaults_follow_class_and_suffix(void **state)
{
        static const char suffixes[] = {'\0', 'R', 'S'};
        const struct heat_class_info *ci;
        struct heat_params p;
        size_t c, s;

        (void)state;
        for (c = 0; c < ARRAY_SIZE(all_classes); c++) {
                ci = heat_class_info(all_classes[c]);
                for (s = 0; s < ARRAY_SIZE(suffixes); s++) {
                        params_for(all_classes[c], suffixes[s], NULL, &p);
                        assert_true(p.fixed_c == ci->min_static_c);
                        assert_int_equal(p.ror, suffixes[s] != 'S');
                        assert_true(p.ror_k_per_min == 8.0);
                        assert_true(p.ror_min_rise_k ==
                                    (all_classes[c] == HEAT_CLASS_A1 ? 10.0 : 20.0));
                        assert_int_equal(p.confirm_ms, 30000);
                }
        }
}

struct fixed_case {
        enum heat_class cls;
        double fixed_c;
        int expect;
};

static void test_params_fixed_override_inside_class_range_accepted_outside_refused(void **state)
{
        static const struct fixed_case cases[] = {
                {HEAT_CLASS_A1, 54.0, 0},           {HEAT_CLASS_A1, 60.0, 0},
                {HEAT_CLASS_A1, 65.0, 0},           {HEAT_CLASS_A1, 53.9, -ERANGE},
                {HEAT_CLASS_A1, 65.1, -ERANGE},     {HEAT_CLASS_A2, 70.0, 0},
                {HEAT_CLASS_A2, 70.5, -ERANGE},     {HEAT_CLASS_B, 69.0, 0},
                {HEAT_CLASS_B, 54.0, -ERANGE},      {HEAT_CLASS_G, 160.0, 0},
                {HEAT_CLASS_G, 161.0, -ERANGE},     {HEAT_CLASS_C, HUGE_VAL, -ERANGE},
                {HEAT_CLASS_D, -HUGE_VAL, -ERANGE},
        };
        struct ruleset_heat rule = {.ror = RULESET_ROR_BY_CLASS,
                                    .ror_k_per_min = 8.0,
                                    .ror_min_rise_k = (double)NAN,
                                    .confirm_ms = 30000};
        struct heat_params p;
        char why[160];
        size_t i;

        (void)state;
        for (i = 0; i < ARRAY_SIZE(cases); i++) {
                rule.fixed_c = cases[i].fixed_c;
                memset(&p, 0, sizeof(p));
                why[0] = 'x';
                assert_int_equal(
                        heat_params_resolve(&rule, cases[i].cls, 'R', &p, why, sizeof(why)),
                        cases[i].expect);
                if (cases[i].expect == 0) {
                        assert_true(p.fixed_c == cases[i].fixed_c);
                        assert_string_equal(why, "");
                } else {
                        assert_non_null(strstr(why, "fixed_c"));
                        assert_non_null(strstr(why, heat_class_info(cases[i].cls)->name));
                        assert_non_null(strstr(why, "static response range"));
                }
        }
        /* The reason is optional. */
        rule.fixed_c = 10.0;
        assert_int_equal(heat_params_resolve(&rule, HEAT_CLASS_A1, '\0', &p, NULL, 0), -ERANGE);
}

struct ror_case {
        char suffix;
        enum ruleset_ror ror;
        bool expect;
};

static void test_params_rule_cannot_give_s_rate_of_rise_nor_take_it_from_r(void **state)
{
        static const struct ror_case cases[] = {
                {'\0', RULESET_ROR_BY_CLASS, true}, {'\0', RULESET_ROR_ON, true},
                {'\0', RULESET_ROR_OFF, false},     {'R', RULESET_ROR_BY_CLASS, true},
                {'R', RULESET_ROR_ON, true},        {'R', RULESET_ROR_OFF, true},
                {'S', RULESET_ROR_BY_CLASS, false}, {'S', RULESET_ROR_ON, false},
                {'S', RULESET_ROR_OFF, false},
        };
        struct ruleset_heat rule = {.fixed_c = (double)NAN,
                                    .ror_k_per_min = 12.0,
                                    .ror_min_rise_k = 15.0,
                                    .confirm_ms = 20000};
        struct heat_params p;
        size_t i;

        (void)state;
        for (i = 0; i < ARRAY_SIZE(cases); i++) {
                rule.ror = cases[i].ror;
                params_for(HEAT_CLASS_B, cases[i].suffix, &rule, &p);
                assert_int_equal(p.ror, cases[i].expect);
                assert_true(p.ror_k_per_min == 12.0);
                assert_true(p.ror_min_rise_k == 15.0);
                assert_int_equal(p.confirm_ms, 20000);
                assert_true(p.fixed_c == 69.0);
        }
}

static void test_params_refuse_nonsense_rates_and_unknown_suffix(void **state)
{
        const struct ruleset_heat good = {.fixed_c = (double)NAN,
                                          .ror = RULESET_ROR_BY_CLASS,
                                          .ror_k_per_min = 8.0,
                                          .ror_min_rise_k = (double)NAN,
                                          .confirm_ms = 30000};
        struct ruleset_heat rule;
        struct heat_params p;
        char why[160];

        (void)state;
        rule = good;
        rule.ror_k_per_min = 0.0;
        assert_int_equal(heat_params_resolve(&rule, HEAT_CLASS_A1, '\0', &p, why, sizeof(why)),
                         -ERANGE);
        assert_non_null(strstr(why, "ror_k_per_min"));
        rule = good;
        rule.ror_min_rise_k = -1.0;
        assert_int_equal(heat_params_resolve(&rule, HEAT_CLASS_A1, '\0', &p, why, sizeof(why)),
                         -ERANGE);
        assert_non_null(strstr(why, "ror_min_rise_k"));
        rule = good;
        rule.confirm_ms = -1;
        assert_int_equal(heat_params_resolve(&rule, HEAT_CLASS_A1, '\0', &p, why, sizeof(why)),
                         -ERANGE);
        assert_int_equal(heat_params_resolve(&good, HEAT_CLASS_A1, 'X', &p, why, sizeof(why)),
                         -EINVAL);
        assert_int_equal(heat_params_resolve(NULL, (enum heat_class)8, '\0', &p, why, sizeof(why)),
                         -EINVAL);
}

static void test_class_parse_accepts_every_class_with_every_suffix(void **state)
{
        static const char *const suffixes[] = {"", "S", "R"};
        const struct heat_class_info *ci;
        enum heat_class cls;
        char name[8], suffix;
        size_t c, s;
        int n;

        (void)state;
        for (c = 0; c < ARRAY_SIZE(all_classes); c++) {
                ci = heat_class_info(all_classes[c]);
                for (s = 0; s < ARRAY_SIZE(suffixes); s++) {
                        n = snprintf(name, sizeof(name), "%s%s", ci->name, suffixes[s]);
                        assert_true(n > 0 && (size_t)n < sizeof(name));
                        cls = (enum heat_class)99;
                        suffix = '?';
                        assert_int_equal(heat_class_parse(name, &cls, &suffix), 0);
                        assert_int_equal(cls, all_classes[c]);
                        assert_int_equal(suffix, suffixes[s][0]);
                }
        }
}

static void test_class_parse_refuses_unknown_names(void **state)
{
        static const char *const bad[] = {"H",    "A3",  "A1X", "",   "a1", "A",   "b",
                                          "A1SR", "BRS", " B",  "B ", "AS", "A12", "GG"};
        enum heat_class cls;
        char suffix;
        size_t i;

        (void)state;
        for (i = 0; i < ARRAY_SIZE(bad); i++) {
                print_message("refusing \"%s\"\n", bad[i]);
                assert_int_equal(heat_class_parse(bad[i], &cls, &suffix), -EINVAL);
        }
        assert_int_equal(heat_class_parse(NULL, &cls, &suffix), -EINVAL);
}

static void test_class_table_is_en54_5_table_1(void **state)
{
        static const struct heat_class_info expect[] = {
                {"A1", 25, 50, 54, 65},    {"A2", 25, 50, 54, 70},    {"B", 40, 65, 69, 85},
                {"C", 55, 80, 84, 100},    {"D", 70, 95, 99, 115},    {"E", 85, 110, 114, 130},
                {"F", 100, 125, 129, 145}, {"G", 115, 140, 144, 160},
        };
        const struct heat_class_info *ci;
        size_t c;

        (void)state;
        for (c = 0; c < ARRAY_SIZE(all_classes); c++) {
                ci = heat_class_info(all_classes[c]);
                assert_non_null(ci);
                assert_string_equal(ci->name, expect[c].name);
                assert_true(ci->typical_c == expect[c].typical_c);
                assert_true(ci->max_application_c == expect[c].max_application_c);
                assert_true(ci->min_static_c == expect[c].min_static_c);
                assert_true(ci->max_static_c == expect[c].max_static_c);
        }
        assert_null(heat_class_info((enum heat_class)8));
}

static void test_empty_track_is_normal_with_no_figures(void **state)
{
        struct heat_track t;
        struct heat_params p;
        struct heat_eval e;

        (void)state;
        params_for(HEAT_CLASS_A1, 'R', NULL, &p);
        heat_track_init(&t);
        heat_evaluate(&t, &p, "A1R", MS(60, 0), &e);
        assert_int_equal(e.verdict, HEAT_NORMAL);
        assert_true(isnan(e.temperature_c));
        assert_true(isnan(e.slope_k_per_min));
        assert_true(isnan(e.rise_k));
        assert_int_equal(e.deadline_ms, INT64_MAX);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_response_times_from_typical_temperature_meet_en54_5_limits),
                cmocka_unit_test(
                        test_r_classes_from_cold_start_alarm_by_rate_of_rise_within_upper_limit),
                cmocka_unit_test(test_fast_reporting_r_detector_still_alarms_by_rate_of_rise),
                cmocka_unit_test(test_fast_reporter_track_reaches_five_minutes_back_at_2_s_spacing),
                cmocka_unit_test(test_s_classes_never_alarm_below_min_static_even_at_30_k_per_min),
                cmocka_unit_test(test_s_classes_alarm_by_fixed_threshold_above_min_static),
                cmocka_unit_test(test_one_wild_high_sample_in_steady_air_never_alarms),
                cmocka_unit_test(test_wild_high_sample_is_pending_then_contradicted_by_the_next),
                cmocka_unit_test(test_one_wild_low_sample_does_not_fake_a_rate_of_rise_alarm),
                cmocka_unit_test(test_one_wild_low_sample_does_not_block_a_genuine_rate_of_rise),
                cmocka_unit_test(
                        test_lone_sample_over_threshold_alarms_exactly_at_confirm_deadline),
                cmocka_unit_test(test_fast_repeated_high_reports_alarm_instead_of_pending_forever),
                cmocka_unit_test(test_fixed_alarm_wins_over_rate_of_rise_which_wins_over_pending),
                cmocka_unit_test(test_fixed_cause_names_values_class_and_rule),
                cmocka_unit_test(test_absurd_values_are_refused_and_never_alarm),
                cmocka_unit_test(test_absurd_or_late_reports_do_not_contradict_a_lone_high_sample),
                cmocka_unit_test(test_out_of_order_sample_is_refused),
                cmocka_unit_test(
                        test_flood_of_identical_readings_neither_alarms_nor_evicts_history),
                cmocka_unit_test(test_params_defaults_follow_class_and_suffix),
                cmocka_unit_test(
                        test_params_fixed_override_inside_class_range_accepted_outside_refused),
                cmocka_unit_test(test_params_rule_cannot_give_s_rate_of_rise_nor_take_it_from_r),
                cmocka_unit_test(test_params_refuse_nonsense_rates_and_unknown_suffix),
                cmocka_unit_test(test_class_parse_accepts_every_class_with_every_suffix),
                cmocka_unit_test(test_class_parse_refuses_unknown_names),
                cmocka_unit_test(test_class_table_is_en54_5_table_1),
                cmocka_unit_test(test_empty_track_is_normal_with_no_figures),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
