/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heat: the verdict on one heat detector's temperatures by its EN 54-5 class (heat.h has the
 * contract). Invariants of a track: samples are in time order, any two stored samples are at
 * least HEAT_COALESCE_MS apart (so no slope divides by zero), and the newest three are never
 * thinned out (the fixed threshold's median needs them). Nothing trusts one sample: the fixed
 * threshold takes the median of the last three, rate of rise a Theil-Sen slope and a rise
 * measured on median-filtered values; where that waits for a second sample it waits at most
 * confirm_ms, then alarms (fail safe).
 */
#include "heat.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* EN 54-5 table 1 (DOMAIN.md): typical, maximum application, minimum and maximum static
 * response temperature. */
static const struct heat_class_info classes[] = {
        [HEAT_CLASS_A1] = {"A1", 25.0, 50.0, 54.0, 65.0},
        [HEAT_CLASS_A2] = {"A2", 25.0, 50.0, 54.0, 70.0},
        [HEAT_CLASS_B] = {"B", 40.0, 65.0, 69.0, 85.0},
        [HEAT_CLASS_C] = {"C", 55.0, 80.0, 84.0, 100.0},
        [HEAT_CLASS_D] = {"D", 70.0, 95.0, 99.0, 115.0},
        [HEAT_CLASS_E] = {"E", 85.0, 110.0, 114.0, 130.0},
        [HEAT_CLASS_F] = {"F", 100.0, 125.0, 129.0, 145.0},
        [HEAT_CLASS_G] = {"G", 115.0, 140.0, 144.0, 160.0},
};

#define DEFAULT_ROR_K_PER_MIN 8.0
#define DEFAULT_MIN_RISE_A1_K 10.0
#define DEFAULT_MIN_RISE_K    20.0
#define DEFAULT_CONFIRM_MS    30000

/* Rate of rise looks at the samples of the last two minutes and needs at least three of them
 * spanning 20 s, so that two close samples cannot make a slope on their own. */
#define ROR_WINDOW_MS   120000
#define ROR_MIN_SAMPLES 3
#define ROR_MIN_SPAN_MS 20000

/* How far back the track tries to reach. The rise must be measurable over the time a rise of
 * ror_min_rise_k takes at ror_k_per_min (20 K at 8 K/min: 150 s), and 32 samples of a detector
 * reporting every 2 s would only span 62 s: so while the track spans less than this, a full
 * track thins its densest stretch instead of dropping its oldest sample. */
#define HISTORY_MS 300000

/* Slope and rise are computed in floating point: a rise of exactly 20 K that comes out as
 * 19.999999999 must still count as 20 K. */
#define COMPUTED_EPSILON 1e-9

#define PAIRS_MAX (HEAT_SAMPLES * (HEAT_SAMPLES - 1) / 2)

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Messages are for people: a truncated one still starts with what matters. */
static void say(char *buf, size_t len, const char *fmt, ...)
{
        va_list ap;

        if (!buf || len == 0)
                return;
        va_start(ap, fmt);
        (void)vsnprintf(buf, len, fmt, ap);
        va_end(ap);
}

int heat_class_parse(const char *s, enum heat_class *cls, char *suffix)
{
        size_t i, n;

        if (!s || !cls || !suffix)
                return -EINVAL;
        for (i = 0; i < ARRAY_SIZE(classes); i++) {
                n = strlen(classes[i].name);
                if (strncmp(s, classes[i].name, n) != 0)
                        continue;
                if (s[n] == '\0' || ((s[n] == 'S' || s[n] == 'R') && s[n + 1] == '\0')) {
                        *cls = (enum heat_class)i;
                        *suffix = s[n];
                        return 0;
                }
        }
        return -EINVAL;
}

const struct heat_class_info *heat_class_info(enum heat_class cls)
{
        if ((size_t)cls >= ARRAY_SIZE(classes))
                return NULL;
        return &classes[cls];
}

int heat_params_resolve(const struct ruleset_heat *rule, enum heat_class cls, char suffix,
                        struct heat_params *out, char *why, size_t why_len)
{
        const struct heat_class_info *ci = heat_class_info(cls);
        struct heat_params p;

        say(why, why_len, "%s", "");
        if (!ci) {
                say(why, why_len, "unknown heat detector class %d", (int)cls);
                return -EINVAL;
        }
        if (suffix != '\0' && suffix != 'S' && suffix != 'R') {
                say(why, why_len, "class %s: unknown suffix '%c' (S or R)", ci->name, suffix);
                return -EINVAL;
        }
        p.fixed_c = ci->min_static_c;
        p.ror = suffix != 'S';
        p.ror_k_per_min = DEFAULT_ROR_K_PER_MIN;
        p.ror_min_rise_k = cls == HEAT_CLASS_A1 ? DEFAULT_MIN_RISE_A1_K : DEFAULT_MIN_RISE_K;
        p.confirm_ms = DEFAULT_CONFIRM_MS;
        if (rule) {
                if (!isnan(rule->fixed_c)) {
                        if (!(rule->fixed_c >= ci->min_static_c &&
                              rule->fixed_c <= ci->max_static_c)) {
                                say(why, why_len,
                                    "fixed_c %.1f °C is outside class %s%.1s's static response "
                                    "range %.1f-%.1f °C",
                                    rule->fixed_c, ci->name, &suffix, ci->min_static_c,
                                    ci->max_static_c);
                                return -ERANGE;
                        }
                        p.fixed_c = rule->fixed_c;
                }
                /* EN 54-5: an S detector must never respond below its minimum static
                 * temperature, and an R detector meets the rate-of-rise limits only with rate
                 * of rise: so the rule chooses only for plain classes. */
                switch (rule->ror) {
                case RULESET_ROR_BY_CLASS:
                        break;
                case RULESET_ROR_OFF:
                        p.ror = suffix == 'R';
                        break;
                case RULESET_ROR_ON:
                        p.ror = suffix != 'S';
                        break;
                }
                if (!isnan(rule->ror_k_per_min)) {
                        if (!(isfinite(rule->ror_k_per_min) && rule->ror_k_per_min > 0.0)) {
                                say(why, why_len, "ror_k_per_min %.1f K/min must be above 0",
                                    rule->ror_k_per_min);
                                return -ERANGE;
                        }
                        p.ror_k_per_min = rule->ror_k_per_min;
                }
                if (!isnan(rule->ror_min_rise_k)) {
                        if (!(isfinite(rule->ror_min_rise_k) && rule->ror_min_rise_k >= 0.0)) {
                                say(why, why_len, "ror_min_rise_k %.1f K must not be negative",
                                    rule->ror_min_rise_k);
                                return -ERANGE;
                        }
                        p.ror_min_rise_k = rule->ror_min_rise_k;
                }
                if (rule->confirm_ms < 0) {
                        say(why, why_len, "confirm time %ld ms must not be negative",
                            rule->confirm_ms);
                        return -ERANGE;
                }
                p.confirm_ms = rule->confirm_ms;
        }
        *out = p;
        return 0;
}

void heat_track_init(struct heat_track *t)
{
        memset(t, 0, sizeof(*t));
}

/* Logical sample @i, 0 the oldest. */
static size_t slot(const struct heat_track *t, size_t i)
{
        return (t->head + i) % HEAT_SAMPLES;
}

static const struct heat_sample *sample_at(const struct heat_track *t, size_t i)
{
        return &t->s[slot(t, i)];
}

/* A track written by something other than these functions may be out of range: never index
 * past the array for it. */
static size_t track_count(const struct heat_track *t)
{
        return t->count < HEAT_SAMPLES ? t->count : HEAT_SAMPLES;
}

/* Milliseconds from @a to @b, @b not earlier; exact even where b - a would overflow. */
static uint64_t elapsed_ms(int64_t a, int64_t b)
{
        return (uint64_t)b - (uint64_t)a;
}

static void remove_sample(struct heat_track *t, size_t victim)
{
        size_t i;

        if (victim == 0) {
                t->head = (t->head + 1) % HEAT_SAMPLES;
        } else {
                for (i = victim; i + 1 < t->count; i++)
                        t->s[slot(t, i)] = t->s[slot(t, i + 1)];
        }
        t->count--;
}

/* Frees one slot of a full track for a sample at @t_ms. */
static void make_room(struct heat_track *t, int64_t t_ms)
{
        size_t i, victim = 0;
        uint64_t gap, best = UINT64_MAX;

        if (elapsed_ms(sample_at(t, 1)->t_ms, t_ms) < HISTORY_MS) {
                /* Drop the sample whose neighbours are closest together, keeping the oldest
                 * (the start of the history) and the newest two (with the new sample they are
                 * the three the fixed threshold's median needs); ties go to the older. */
                for (i = 1; i + 2 < t->count; i++) {
                        gap = elapsed_ms(sample_at(t, i - 1)->t_ms, sample_at(t, i + 1)->t_ms);
                        if (gap < best) {
                                best = gap;
                                victim = i;
                        }
                }
        }
        remove_sample(t, victim);
}

enum heat_sample_result heat_track_add(struct heat_track *t, int64_t t_ms, double celsius)
{
        struct heat_sample *newest;

        if (!isfinite(celsius) || celsius < HEAT_MIN_PLAUSIBLE_C || celsius > HEAT_MAX_PLAUSIBLE_C)
                return HEAT_SAMPLE_ABSURD;
        if (t->head >= HEAT_SAMPLES || t->count > HEAT_SAMPLES)
                heat_track_init(t);
        if (t->count > 0) {
                newest = &t->s[slot(t, t->count - 1)];
                if (t_ms < newest->t_ms)
                        return HEAT_SAMPLE_OUT_OF_ORDER;
                /* The newest keeps its time, so that a detector reporting faster than this
                 * still adds a sample every HEAT_COALESCE_MS instead of moving one forever. */
                if (elapsed_ms(newest->t_ms, t_ms) < HEAT_COALESCE_MS) {
                        newest->c = celsius;
                        return HEAT_SAMPLE_OK;
                }
        }
        if (t->count == HEAT_SAMPLES)
                make_room(t, t_ms);
        t->s[slot(t, t->count)] = (struct heat_sample){.t_ms = t_ms, .c = celsius};
        t->count++;
        return HEAT_SAMPLE_OK;
}

static double median3(double a, double b, double c)
{
        return fmax(fmin(a, b), fmin(fmax(a, b), c));
}

/* The k-th smallest of @v (reordering it), by quickselect: glibc's qsort allocates for arrays
 * over a kilobyte, and the engine must not allocate per reading. */
static double select_kth(double *v, size_t n, size_t k)
{
        size_t lo = 0, hi = n - 1;

        while (lo < hi) {
                double pivot = v[lo + (hi - lo) / 2];
                size_t i = lo, j = hi;

                while (i <= j) {
                        while (v[i] < pivot)
                                i++;
                        while (v[j] > pivot)
                                j--;
                        if (i <= j) {
                                double t = v[i];

                                v[i] = v[j];
                                v[j] = t;
                                i++;
                                if (j == 0)
                                        break;
                                j--;
                        }
                }
                if (k <= j)
                        hi = j;
                else if (k >= i)
                        lo = i;
                else
                        return v[k];
        }
        return v[k];
}

static double median(double *v, size_t n)
{
        double hi = select_kth(v, n, n / 2);

        return n % 2 ? hi : (select_kth(v, n, n / 2 - 1) + hi) / 2.0;
}

/* The median of the last three samples; of two, the lower (both must be over a threshold);
 * of one, the sample itself, which a caller must not take as confirmed. */
static double robust_now(const struct heat_track *t, size_t n)
{
        if (n == 0)
                return (double)NAN;
        if (n == 1)
                return sample_at(t, 0)->c;
        if (n == 2)
                return fmin(sample_at(t, 0)->c, sample_at(t, 1)->c);
        return median3(sample_at(t, n - 3)->c, sample_at(t, n - 2)->c, sample_at(t, n - 1)->c);
}

/* Theil-Sen slope in K/min over the rate-of-rise window, NaN with too few samples. */
static double slope_k_per_min(const struct heat_track *t, size_t n)
{
        double slopes[PAIRS_MAX];
        const struct heat_sample *a, *b;
        int64_t newest_ms;
        size_t first, i, j, m = 0;

        if (n == 0)
                return (double)NAN;
        newest_ms = sample_at(t, n - 1)->t_ms;
        first = n - 1;
        while (first > 0 && elapsed_ms(sample_at(t, first - 1)->t_ms, newest_ms) <= ROR_WINDOW_MS)
                first--;
        if (n - first < ROR_MIN_SAMPLES ||
            elapsed_ms(sample_at(t, first)->t_ms, newest_ms) < ROR_MIN_SPAN_MS)
                return (double)NAN;
        for (i = first; i < n; i++) {
                a = sample_at(t, i);
                for (j = i + 1; j < n; j++) {
                        b = sample_at(t, j);
                        if (b->t_ms > a->t_ms)
                                slopes[m++] = (b->c - a->c) * 60000.0 / (double)(b->t_ms - a->t_ms);
                }
        }
        return m > 0 ? median(slopes, m) : (double)NAN;
}

/* The robust current temperature less the lowest median-filtered temperature of the track, so
 * that neither a wild high nor a wild low sample can make a rise. NaN below three samples. */
static double rise_k(const struct heat_track *t, size_t n, double now_c)
{
        double lowest = HUGE_VAL;
        size_t i;

        if (n < 3)
                return (double)NAN;
        for (i = 2; i < n; i++)
                lowest = fmin(lowest, median3(sample_at(t, i - 2)->c, sample_at(t, i - 1)->c,
                                              sample_at(t, i)->c));
        return now_c - lowest;
}

/* Whether @class_name names an S class: those never alarm by rate, even with parameters that
 * say otherwise. */
static bool is_s_class(const char *class_name)
{
        enum heat_class cls;
        char suffix;

        return heat_class_parse(class_name, &cls, &suffix) == 0 && suffix == 'S';
}

void heat_evaluate(const struct heat_track *t, const struct heat_params *p, const char *class_name,
                   int64_t now_ms, struct heat_eval *out)
{
        size_t n = track_count(t);
        const struct heat_sample *newest;
        const char *name = class_name ? class_name : "heat";
        bool fixed, lone, ror;
        int64_t confirm_ms = p->confirm_ms > 0 ? p->confirm_ms : 0;
        double confirm_s = (double)confirm_ms / 1000.0;

        out->verdict = HEAT_NORMAL;
        out->temperature_c = robust_now(t, n);
        out->slope_k_per_min = slope_k_per_min(t, n);
        out->rise_k = rise_k(t, n, out->temperature_c);
        out->deadline_ms = INT64_MAX;
        if (n == 0) {
                say(out->cause, sizeof(out->cause), "no valid temperature yet (%s)", name);
                return;
        }
        newest = sample_at(t, n - 1);
        fixed = n >= 2 && out->temperature_c >= p->fixed_c;
        lone = !fixed && newest->c >= p->fixed_c;
        ror = p->ror && !is_s_class(class_name) &&
              out->slope_k_per_min >= p->ror_k_per_min - COMPUTED_EPSILON &&
              out->rise_k >= p->ror_min_rise_k - COMPUTED_EPSILON;
        if (lone)
                out->deadline_ms = newest->t_ms > INT64_MAX - confirm_ms
                                           ? INT64_MAX
                                           : newest->t_ms + confirm_ms;

        if (fixed) {
                out->verdict = HEAT_ALARM_FIXED;
                say(out->cause, sizeof(out->cause), "%.1f °C >= %.1f °C (%s fixed)",
                    out->temperature_c, p->fixed_c, name);
        } else if (lone && now_ms >= out->deadline_ms) {
                out->verdict = HEAT_ALARM_FIXED;
                say(out->cause, sizeof(out->cause),
                    "lone sample %.1f °C >= %.1f °C not contradicted within %g s (%s fixed)",
                    newest->c, p->fixed_c, confirm_s, name);
        } else if (ror) {
                out->verdict = HEAT_ALARM_ROR;
                say(out->cause, sizeof(out->cause),
                    "%.1f K/min >= %.1f K/min, rise %.1f K >= %.1f K (%s rate of rise)",
                    out->slope_k_per_min, p->ror_k_per_min, out->rise_k, p->ror_min_rise_k, name);
        } else if (lone) {
                out->verdict = HEAT_PENDING;
                say(out->cause, sizeof(out->cause),
                    "lone sample %.1f °C >= %.1f °C, waiting up to %g s for the next (%s fixed)",
                    newest->c, p->fixed_c, confirm_s, name);
        } else {
                say(out->cause, sizeof(out->cause), "%.1f °C < %.1f °C (%s)", out->temperature_c,
                    p->fixed_c, name);
        }
        if (out->verdict != HEAT_PENDING)
                out->deadline_ms = INT64_MAX;
}
