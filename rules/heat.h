/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heat: turns the temperatures one heat detector reports into a verdict, by its EN 54-5 class:
 * a fixed threshold (the class's minimum static response temperature unless a rule says
 * otherwise) and, where the class allows it, rate of rise.
 *
 * Reports come at irregular intervals and a sensor can send one wild value, so nothing here
 * trusts a single sample: the fixed threshold uses the median of the last three samples (one
 * lone sample over the threshold is "pending" until the next sample confirms or contradicts it,
 * and alarms if none comes within confirm_ms: fail safe), and the rate is a Theil-Sen estimate
 * (the median of pairwise slopes), which one outlier cannot move. S classes never alarm by rate.
 *
 * Pure computation on a fixed-size track: no allocation, no I/O, the time passed in.
 */
#ifndef FIREGATE_HEAT_H
#define FIREGATE_HEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"

/* EN 54-5 classes. */
enum heat_class {
        HEAT_CLASS_A1,
        HEAT_CLASS_A2,
        HEAT_CLASS_B,
        HEAT_CLASS_C,
        HEAT_CLASS_D,
        HEAT_CLASS_E,
        HEAT_CLASS_F,
        HEAT_CLASS_G,
};

/* Temperatures of a class in °C (EN 54-5 table 1, in DOMAIN.md). */
struct heat_class_info {
        const char *name;
        double typical_c, max_application_c, min_static_c, max_static_c;
};

/* Parses "A1", "A2R", "BS", ... into the class and its suffix ('\0', 'S' or 'R'). Returns 0 or
 * -EINVAL. */
int heat_class_parse(const char *s, enum heat_class *cls, char *suffix);

const struct heat_class_info *heat_class_info(enum heat_class cls);

/* Temperatures outside this range, and NaN or infinities, are absurd: they never count towards
 * an alarm and are reported so that the engine can count invalid data. */
#define HEAT_MIN_PLAUSIBLE_C (-40.0)
#define HEAT_MAX_PLAUSIBLE_C 200.0

/* Samples kept per detector; a sample closer than HEAT_COALESCE_MS to the newest one replaces
 * the newest one's value (keeping its time, so a detector reporting faster still adds a sample
 * every HEAT_COALESCE_MS), so a flood of reports cannot push the history out of the track. While
 * a full track spans less than five minutes it thins its densest stretch rather than dropping
 * its oldest sample, so that a rise can still be measured for a fast-reporting detector. */
#define HEAT_SAMPLES     32
#define HEAT_COALESCE_MS 2000

struct heat_sample {
        int64_t t_ms;
        double c;
};

/* One detector's recent temperatures. Plain data so the engine can keep one per detector in a
 * table allocated at start; use only through the functions below. */
struct heat_track {
        struct heat_sample s[HEAT_SAMPLES];
        size_t head, count;
};

void heat_track_init(struct heat_track *t);

enum heat_sample_result {
        HEAT_SAMPLE_OK,
        HEAT_SAMPLE_ABSURD,       /* not stored: NaN, infinite, or outside the plausible range */
        HEAT_SAMPLE_OUT_OF_ORDER, /* not stored: older than the newest sample */
};

/* Adds a sample taken at @t_ms. */
enum heat_sample_result heat_track_add(struct heat_track *t, int64_t t_ms, double celsius);

/* Resolved parameters for one detector: its class with the rule's overrides. */
struct heat_params {
        double fixed_c;
        bool ror;
        double ror_k_per_min;
        double ror_min_rise_k;
        int64_t confirm_ms;
};

/* Resolves @rule (NULL: the built-in defaults) for a detector of class @cls with @suffix. A
 * fixed_c outside the class's static response range, a ror_k_per_min not above 0, a negative
 * ror_min_rise_k or confirm_ms are refused: returns -ERANGE and writes why into @why (may be
 * NULL); an unknown class or suffix gives -EINVAL. NaN in ror_k_per_min or ror_min_rise_k means
 * the default. Returns 0 otherwise; @out is written only then. */
int heat_params_resolve(const struct ruleset_heat *rule, enum heat_class cls, char suffix,
                        struct heat_params *out, char *why, size_t why_len);

enum heat_verdict {
        HEAT_NORMAL,
        HEAT_PENDING, /* the newest sample is over the threshold and not yet confirmed */
        HEAT_ALARM_FIXED,
        HEAT_ALARM_ROR,
};

struct heat_eval {
        enum heat_verdict verdict;
        double temperature_c;   /* the robust current temperature (median of the last three) */
        double slope_k_per_min; /* NaN when there are too few samples to say */
        double rise_k;          /* rise over the recent history, for rate of rise; NaN below
                                   three samples */
        int64_t deadline_ms;    /* HEAT_PENDING: when the lone sample alarms if uncontradicted;
                                   INT64_MAX otherwise */
        char cause[128];        /* for people: "57.5 °C >= 54.0 °C (A1 fixed)", "12.0 K/min >=
                                   8.0 K/min, rise 21.0 K >= 10.0 K (A1R rate of rise)" */
};

/* Evaluates @t at time @now_ms (not earlier than the newest sample). @class_name ("A1R") is
 * named in the cause; an S class name also rules out rate of rise, whatever @p says. */
void heat_evaluate(const struct heat_track *t, const struct heat_params *p, const char *class_name,
                   int64_t now_ms, struct heat_eval *out);

#endif
