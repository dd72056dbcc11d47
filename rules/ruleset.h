/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset: the alarm rules an installer can read and change, loaded from rule files in the
 * config's INI format (docs/rules.md). Each section is one rule:
 *
 *   [smoke NAME]        how smoke (and a multi-sensor's smoke channel) becomes an alarm:
 *                       dependency none | verification (NFPA 72) | type-a | type-b | type-c
 *                       (EN 54-2 7.12), or a positive alarm sequence (NFPA 72)
 *   [heat NAME]         fixed threshold and rate of rise by EN 54-5 class
 *   [supervision NAME]  silent detectors, offline, battery, tamper, test presses, invalid data
 *   [output NAME]       a sounder, bell, door release or ventilation stop and the zone it follows
 *   [building]          building-wide settings (one section, optional)
 *
 * A rule applies to the detectors its match keys select (all of them when none is given); for
 * each detector the first matching [smoke], [heat] and [supervision] rule in file order is used,
 * and a detector no rule matches gets the built-in defaults, which are the standards' defaults.
 * Manual call points have no rule: they always alarm at once.
 *
 * Times are given in the files in seconds and kept here in milliseconds.
 */
#ifndef FIREGATE_RULESET_H
#define FIREGATE_RULESET_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define RULESET_NAME_MAX  65 /* a rule name, zone or detector id: 64 characters and the NUL */
#define RULESET_MATCH_MAX 16 /* zones or detectors one rule may list */

/* Detector kinds a rule can match, as bits. */
enum ruleset_kind_bit {
        RULESET_KIND_SMOKE = 1u << 0,
        RULESET_KIND_HEAT = 1u << 1,
        RULESET_KIND_MULTI = 1u << 2,
        RULESET_KIND_CALL_POINT = 1u << 3,
};

/* Which detectors a rule applies to. An empty list matches everything; lists combine with AND.
 *   kinds     = smoke multi            (any of these kinds)
 *   zones     = stair-a car-park-b1    (installer zone ids), or the words `unit` (any detector
 *                                      in a unit) and `common` (any detector not in a unit)
 *   detectors = D-1 D-2                (detector ids) */
struct ruleset_match {
        unsigned kinds; /* enum ruleset_kind_bit; 0 = any */
        size_t n_zones;
        char zones[RULESET_MATCH_MAX][RULESET_NAME_MAX];
        size_t n_detectors;
        char detectors[RULESET_MATCH_MAX][RULESET_NAME_MAX];
};

enum ruleset_dependency {
        RULESET_DEP_NONE,         /* alarm on the first signal */
        RULESET_DEP_VERIFICATION, /* NFPA 72 alarm verification: retard, reset, confirmation */
        RULESET_DEP_TYPE_A,       /* EN 54-2 7.12.1 type A: same detector after a reset, or another
                                     detector in the zone */
        RULESET_DEP_TYPE_B,       /* EN 54-2 type B: a second detector within the window */
        RULESET_DEP_TYPE_C,       /* EN 54-2 type C: alarm at once, confirming outputs wait */
};

/* Which zone a confirming second detector must share with the first (type A, B, C and PAS). */
enum ruleset_scope {
        RULESET_SCOPE_UNIT,     /* the same unit; a detector outside units uses its zone, then
                                   its floor */
        RULESET_SCOPE_ZONE,     /* the same installer zone, else the same floor */
        RULESET_SCOPE_FLOOR,    /* the same floor */
        RULESET_SCOPE_BUILDING, /* anywhere in the building */
};

struct ruleset_smoke {
        char name[RULESET_NAME_MAX];
        struct ruleset_match match;
        enum ruleset_dependency dependency; /* dependency = */
        long retard_ms;                     /* retard_s = (verification; default 20) */
        long reset_ms;   /* reset_s = (verification, type-a; default 5): the detector's reset */
        long confirm_ms; /* confirm_s = (verification default 120, type-a default 1800: the held
                            state is cancelled after this) */
        long window_ms;  /* window_s = (type-b, type-c; default 300, type-b at least 300) */
        enum ruleset_scope scope; /* confirm_scope = unit | zone | floor | building */
        bool pas;                 /* pas = yes: positive alarm sequence (NFPA 72) */
        long pas_ack_ms;          /* pas_ack_s = (default 15, at most 15) */
        long pas_investigate_ms;  /* pas_investigate_s = (default 180, at most 180) */
        bool vulnerable_skip;     /* priority_rescue_skips_delay = yes (default): a unit with a
                                     verified bedridden or mobility-impaired resident alarms at
                                     once and is marked priority rescue */
        const char *file;         /* where the section was read, for messages */
        unsigned line;
};

/* Rate of rise is enabled by class: never for S classes, for R classes always, and for plain
 * classes as `ror` says (default yes). */
enum ruleset_ror {
        RULESET_ROR_BY_CLASS, /* the default described above */
        RULESET_ROR_OFF,
        RULESET_ROR_ON, /* still never for S classes */
};

struct ruleset_heat {
        char name[RULESET_NAME_MAX];
        struct ruleset_match match;
        double fixed_c;        /* fixed_c = ; NaN: the class's minimum static response
                                  temperature; must lie within the class's static range */
        enum ruleset_ror ror;  /* ror = auto | yes | no */
        double ror_k_per_min;  /* ror_k_per_min = (default 8) */
        double ror_min_rise_k; /* ror_min_rise_k = (default 10 for A1, 20 for other classes
                                  when NaN); keeps a fast rise from alarming before EN 54-5's
                                  lower response-time limits */
        long confirm_ms;       /* confirm_s = (default 30): a single sample over the threshold
                                  waits this long for the next one; uncontradicted, it alarms */
        const char *file;
        unsigned line;
};

struct ruleset_supervision {
        char name[RULESET_NAME_MAX];
        struct ruleset_match match;
        long silent_default_ms; /* silent_s = (default 300, EN 54-25) for detectors that declare
                                   no report period */
        double silent_factor;   /* silent_factor = (default 2.5): silent fault after this many
                                   declared report periods without a message */
        long offline_ms;        /* offline_s = (default 0): a bridge's offline state lasting this
                                   long is a fault */
        int battery_low_pct;    /* battery_low_pct = (default 15) */
        int invalid_count;      /* invalid_count = (default 3): this many invalid messages in a
                                   row make an invalid-data fault */
        long test_max_ms;       /* test_max_s = (default 30): smoke that outlasts a test press by
                                   this long is taken as fire */
        const char *file;
        unsigned line;
};

/* follows = each-unit: one output per unit, each following its own unit (in-unit sirens). */
#define RULESET_EACH_UNIT "each-unit"

/* What drives an output (a sounder line, a bell, a door release). */
struct ruleset_output {
        char name[RULESET_NAME_MAX];
        char follows[RULESET_NAME_MAX + 8]; /* follows = building | floor:N | unit:ID | zone:ID
                                               | each-unit (required) */
        long delay_ms;    /* delay_s = (default 0, at most 600: EN 54-2 7.11); a call point never
                             waits for it */
        bool silenceable; /* silenceable = yes (default): off at silence, on again at a new alarm */
        bool confirm;     /* confirm = no (default): with yes, waits for a type-c confirmation */
        const char *file;
        unsigned line;
};

struct ruleset_building {
        long reestablish_ms; /* reestablish_s = (default 10): after a reset, a detector still in
                                alarm gives a new alarm this long after the reset (EN 54-2;
                                vendors: within 20 s) */
};

struct ruleset {
        struct ruleset_building building;
        struct ruleset_smoke *smoke;
        size_t n_smoke;
        struct ruleset_heat *heat;
        size_t n_heat;
        struct ruleset_supervision *supervision;
        size_t n_supervision;
        struct ruleset_output *outputs;
        size_t n_outputs;
};

/* A ruleset holding no rules: every detector gets the built-in defaults. NULL when out of
 * memory. Only this makes a ruleset: it owns more than the struct shows (the file names the
 * rules point to). */
struct ruleset *ruleset_new(void);

/* Adds the rules of @path (one file) to @rs. Every problem is added to @d as "path:line:
 * message" and parsing goes on; returns 0, -EINVAL when the file had errors, or the negative
 * errno of reading it (also added to @d). A file that fails adds nothing to @rs. */
int ruleset_load_file(struct ruleset *rs, const char *path, struct diag *d);

/* Loads every "*.rules" file of @dir (hidden files aside) in byte order of their names, all
 * of them even after an error. Returns as ruleset_load_file(), the first error; a directory
 * that cannot be read is an error, added to @d. */
int ruleset_load_dir(struct ruleset *rs, const char *dir, struct diag *d);

/* Frees @rs; NULL is a no-op. */
void ruleset_free(struct ruleset *rs);

/* The built-in defaults of each rule kind (what a detector no rule matches gets). */
void ruleset_smoke_defaults(struct ruleset_smoke *r);
void ruleset_heat_defaults(struct ruleset_heat *r);
void ruleset_supervision_defaults(struct ruleset_supervision *r);

/* Whether @m selects a detector of kind bit @kind in installer zone @zone (may be NULL), in a
 * unit or not, with id @detector. */
bool ruleset_match(const struct ruleset_match *m, unsigned kind, const char *zone, bool in_unit,
                   const char *detector);

/* The names used in files and messages. */
const char *ruleset_dependency_name(enum ruleset_dependency d);

#endif
