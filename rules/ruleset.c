/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset: reads the rule files, every key of every section kind described once in a table
 * (name, type, field, default, range and the standard that sets the range).
 *
 * inifile reads the lines; here a [section] header is split into its kind and rule name and a
 * new rule, holding the built-in defaults, is appended for it; each key goes through one setter
 * per type. The built-in defaults are text in the same tables and go through the same setters,
 * so a default is always a value a file could hold. Checks that involve more than one key (the
 * whole verification delay, a bound that depends on the dependency, pas with a dependency) run
 * when the section ends, since keys may come in any order; they are reported at the line of the
 * key that set the value, or at the header when the value is a default.
 *
 * A file with errors leaves the ruleset as it was before the file: its rules are dropped, and
 * nothing half-read can reach the engine. The file names the rules point to are owned by the
 * ruleset, kept in a private part allocated around the public struct.
 */
#include "ruleset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inifile.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Rule files are a few kilobytes; the cap keeps a wrong file from being read whole. */
#define RULES_FILE_MAX (1024 * 1024)
#define RULES_SUFFIX   ".rules"
#define ID_MAX         (RULESET_NAME_MAX - 1)
#define ID_CHARS       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define ZONE_CHARS     "abcdefghijklmnopqrstuvwxyz0123456789._-"
#define WHY_MAX        512

/* Floors as the registry counts them: 1, 2, ... above ground, -1, -2, ... below. */
#define FLOOR_MIN (-20)
#define FLOOR_MAX 200

/* Where the bounds come from; quoted in messages, so each says the rule in a few words. */
#define SRC_VERIFY_TOTAL   "NFPA 72 / UL 864: the whole verification delay is at most 60 s"
#define SRC_VERIFY_CONFIRM "NFPA 72: the confirmation window of alarm verification is at most 120 s"
#define SRC_TYPE_A         "EN 54-2 7.12.1: cancelled within 30 min"
#define SRC_TYPE_B         "EN 54-2: cancelled automatically after at least 5 min"
#define SRC_TYPE_C         "EN 54-2 7.11: outputs are delayed at most 10 min"
#define SRC_WINDOW         "firegate's bound: a held signal is kept at most 30 min, as EN 54-2 type A"
#define SRC_PAS_ACK        "NFPA 72: a positive alarm sequence is acknowledged within 15 s"
#define SRC_PAS_INVEST     "NFPA 72: investigation under a positive alarm sequence is at most 180 s"
#define SRC_OUTPUT         "EN 54-2 7.11: delays to outputs are at most 10 min"
#define SRC_FIXED                                                                                  \
        "EN 54-5: static response temperatures of classes A1 to G lie from 54 to 160 °C; the "    \
        "detector's class narrows this"
#define SRC_ROR_RATE                                                                               \
        "EN 54-5: R classes must respond from a cold start at 10 K/min, the slowest test rate "    \
        "is 1 K/min"
#define SRC_ROR_RISE                                                                               \
        "EN 54-5: under 10 K a fast rise alarms before A1's lower limit (0:20 at 30 K/min), over " \
        "55 K a rise at 10 K/min misses A2-G's upper limit (5:30)"
#define SRC_HEAT_CONFIRM                                                                           \
        "firegate's bound: heat is never verified (NFPA 72); a lone hot sample waits at most "     \
        "60 s"
#define SRC_SILENT                                                                                 \
        "from 10 s, the shortest report period the registry accepts, to 25 h, Zigbee2MQTT's "      \
        "timeout for battery devices; EN 54-25 asks for 300 s"
#define SRC_OFFLINE     "EN 54-25: a loss of transmission is shown within 100 s of its detection"
#define SRC_TEST_MAX    "firegate's bound: a test press hides smoke no longer than NFPA 72's 60 s"
#define SRC_REESTABLISH "vendors' figure (secondary): re-established within 20 s of a reset"

enum key_type {
        KEY_SECONDS,   /* long, in ms; whole seconds from min to max in the file */
        KEY_NUMBER,    /* double from min to max; NaN when left out and without a default */
        KEY_INTEGER,   /* int from min to max */
        KEY_BOOL,      /* bool: yes/no, true/false, on/off, 1/0 */
        KEY_ENUM,      /* an enum, int-sized, one of names[] (its value is the index) */
        KEY_KINDS,     /* struct ruleset_match: kinds */
        KEY_ZONES,     /* struct ruleset_match: zones */
        KEY_DETECTORS, /* struct ruleset_match: detectors */
        KEY_FOLLOWS,   /* struct ruleset_output: follows */
};

/* For [smoke] keys: the dependencies whose sequence uses the key, or pas = yes. */
#define DEP_BIT(d) (1u << (d))
#define PAS_BIT    (1u << 16)

struct rule_key {
        const char *name;
        enum key_type type;
        size_t offset;             /* of the field; of the struct ruleset_match for match keys */
        const char *default_value; /* as written in a file; NULL: none (NaN, empty, required) */
        double min, max;           /* range of seconds, numbers, integers */
        const char *source;        /* where the range comes from, quoted when a value is out */
        const char *const *names;  /* KEY_ENUM */
        size_t n_names;
        unsigned applies; /* [smoke]: DEP_BIT()s and PAS_BIT of the sequences that use the key;
                             0 for keys that always apply */
        const char *help;
};

static const char *const dependency_names[] = {
        [RULESET_DEP_NONE] = "none",     [RULESET_DEP_VERIFICATION] = "verification",
        [RULESET_DEP_TYPE_A] = "type-a", [RULESET_DEP_TYPE_B] = "type-b",
        [RULESET_DEP_TYPE_C] = "type-c",
};
static const char *const scope_names[] = {
        [RULESET_SCOPE_UNIT] = "unit",
        [RULESET_SCOPE_ZONE] = "zone",
        [RULESET_SCOPE_FLOOR] = "floor",
        [RULESET_SCOPE_BUILDING] = "building",
};
static const char *const ror_names[] = {
        [RULESET_ROR_BY_CLASS] = "auto",
        [RULESET_ROR_OFF] = "no",
        [RULESET_ROR_ON] = "yes",
};
/* Indexed by the bit's position in enum ruleset_kind_bit. */
static const char *const kind_names[] = {"smoke", "heat", "multi", "call_point"};

_Static_assert(sizeof(enum ruleset_dependency) == sizeof(int), "KEY_ENUM writes an int");
_Static_assert(sizeof(enum ruleset_scope) == sizeof(int), "KEY_ENUM writes an int");
_Static_assert(sizeof(enum ruleset_ror) == sizeof(int), "KEY_ENUM writes an int");
_Static_assert(RULESET_KIND_CALL_POINT == 1u << (ARRAY_SIZE(kind_names) - 1), "kind_names");

#define ENUM(table) .names = table, .n_names = ARRAY_SIZE(table)

/* The three match keys, first in every section kind that has them. Unformatted: clang-format
 * cannot indent a list of initializers inside a macro. */
/* clang-format off */
#define MATCH_KEYS(rule_type)                                                                      \
        {                                                                                          \
                .name = "kinds",                                                                   \
                .type = KEY_KINDS,                                                                 \
                .offset = offsetof(rule_type, match),                                              \
                .help = "Detector kinds the rule applies to: smoke heat multi call_point.",        \
        },                                                                                         \
        {                                                                                          \
                .name = "zones",                                                                   \
                .type = KEY_ZONES,                                                                 \
                .offset = offsetof(rule_type, match),                                              \
                .help = "Installer zone ids, or unit (detectors in a unit), common (the others).", \
        },                                                                                         \
        {                                                                                          \
                .name = "detectors",                                                               \
                .type = KEY_DETECTORS,                                                             \
                .offset = offsetof(rule_type, match),                                              \
                .help = "Detector ids.",                                                           \
        }
/* clang-format on */

enum smoke_key {
        SMOKE_KINDS,
        SMOKE_ZONES,
        SMOKE_DETECTORS,
        SMOKE_DEPENDENCY,
        SMOKE_RETARD,
        SMOKE_RESET,
        SMOKE_CONFIRM,
        SMOKE_WINDOW,
        SMOKE_SCOPE,
        SMOKE_PAS,
        SMOKE_PAS_ACK,
        SMOKE_PAS_INVESTIGATE,
        SMOKE_VULNERABLE_SKIP,
};

static const struct rule_key smoke_keys[] = {
        MATCH_KEYS(struct ruleset_smoke),
        [SMOKE_DEPENDENCY] =
                {
                        .name = "dependency",
                        .type = KEY_ENUM,
                        .offset = offsetof(struct ruleset_smoke, dependency),
                        .default_value = "none",
                        ENUM(dependency_names),
                        .help = "How a signal becomes an alarm: none, verification (NFPA 72), "
                                "type-a, type-b, type-c (EN 54-2 7.12).",
                },
        [SMOKE_RETARD] =
                {
                        .name = "retard_s",
                        .type = KEY_SECONDS,
                        .offset = offsetof(struct ruleset_smoke, retard_ms),
                        .default_value = "20",
                        .max = 60,
                        .source = SRC_VERIFY_TOTAL,
                        .applies = DEP_BIT(RULESET_DEP_VERIFICATION),
                        .help = "Verification: the first signal is held this long.",
                },
        [SMOKE_RESET] =
                {
                        .name = "reset_s",
                        .type = KEY_SECONDS,
                        .offset = offsetof(struct ruleset_smoke, reset_ms),
                        .default_value = "5",
                        .max = 60,
                        .source = SRC_VERIFY_TOTAL,
                        .applies = DEP_BIT(RULESET_DEP_VERIFICATION) | DEP_BIT(RULESET_DEP_TYPE_A),
                        .help = "Verification and type A: the detector's reset.",
                },
        [SMOKE_CONFIRM] =
                {
                        .name = "confirm_s",
                        .type = KEY_SECONDS,
                        .offset = offsetof(struct ruleset_smoke, confirm_ms),
                        /* type-a's default, 1800, is set when the section ends */
                        .default_value = "120",
                        .max = 1800,
                        .source = SRC_TYPE_A,
                        .applies = DEP_BIT(RULESET_DEP_VERIFICATION) | DEP_BIT(RULESET_DEP_TYPE_A),
                        .help = "Verification: the confirmation window (default 120); type A: "
                                "the held state is cancelled after this (default 1800).",
                },
        [SMOKE_WINDOW] =
                {
                        .name = "window_s",
                        .type = KEY_SECONDS,
                        .offset = offsetof(struct ruleset_smoke, window_ms),
                        .default_value = "300",
                        .min = 1,
                        .max = 1800,
                        .source = SRC_WINDOW,
                        .applies = DEP_BIT(RULESET_DEP_TYPE_B) | DEP_BIT(RULESET_DEP_TYPE_C),
                        .help = "Type B: a second detector within this window; type C: confirming "
                                "outputs wait this long.",
                },
        [SMOKE_SCOPE] =
                {
                        .name = "confirm_scope",
                        .type = KEY_ENUM,
                        .offset = offsetof(struct ruleset_smoke, scope),
                        .default_value = "unit",
                        ENUM(scope_names),
                        .applies = DEP_BIT(RULESET_DEP_TYPE_A) | DEP_BIT(RULESET_DEP_TYPE_B) |
                                   DEP_BIT(RULESET_DEP_TYPE_C) | PAS_BIT,
                        .help = "Where a confirming second detector must be: unit, zone, floor "
                                "or building.",
                },
        [SMOKE_PAS] =
                {
                        .name = "pas",
                        .type = KEY_BOOL,
                        .offset = offsetof(struct ruleset_smoke, pas),
                        .default_value = "no",
                        .help = "Positive alarm sequence (NFPA 72), for zones with a staffed "
                                "desk.",
                },
        [SMOKE_PAS_ACK] =
                {
                        .name = "pas_ack_s",
                        .type = KEY_SECONDS,
                        .offset = offsetof(struct ruleset_smoke, pas_ack_ms),
                        .default_value = "15",
                        .max = 15,
                        .source = SRC_PAS_ACK,
                        .applies = PAS_BIT,
                        .help = "Time to acknowledge at the desk before a general alarm.",
                },
        [SMOKE_PAS_INVESTIGATE] =
                {
                        .name = "pas_investigate_s",
                        .type = KEY_SECONDS,
                        .offset = offsetof(struct ruleset_smoke, pas_investigate_ms),
                        .default_value = "180",
                        .max = 180,
                        .source = SRC_PAS_INVEST,
                        .applies = PAS_BIT,
                        .help = "Time to investigate after acknowledging, then a general alarm.",
                },
        [SMOKE_VULNERABLE_SKIP] =
                {
                        .name = "priority_rescue_skips_delay",
                        .type = KEY_BOOL,
                        .offset = offsetof(struct ruleset_smoke, vulnerable_skip),
                        .default_value = "yes",
                        .help = "A unit with a verified bedridden or mobility-impaired resident "
                                "alarms at once, marked priority rescue.",
                },
};

static const struct rule_key heat_keys[] = {
        MATCH_KEYS(struct ruleset_heat),
        {
                .name = "fixed_c",
                .type = KEY_NUMBER,
                .offset = offsetof(struct ruleset_heat, fixed_c),
                .min = 54,
                .max = 160,
                .source = SRC_FIXED,
                .help = "Fixed threshold; default the class's minimum static response "
                        "temperature.",
        },
        {
                .name = "ror",
                .type = KEY_ENUM,
                .offset = offsetof(struct ruleset_heat, ror),
                .default_value = "auto",
                ENUM(ror_names),
                .help = "Rate of rise: auto (by class), yes, no; never for S classes.",
        },
        {
                .name = "ror_k_per_min",
                .type = KEY_NUMBER,
                .offset = offsetof(struct ruleset_heat, ror_k_per_min),
                .default_value = "8",
                .min = 1,
                .max = 10,
                .source = SRC_ROR_RATE,
                .help = "Rate of rise that alarms, in K/min.",
        },
        {
                .name = "ror_min_rise_k",
                .type = KEY_NUMBER,
                .offset = offsetof(struct ruleset_heat, ror_min_rise_k),
                .min = 10,
                .max = 55,
                .source = SRC_ROR_RISE,
                .help = "Rise needed before rate of rise alarms; default 10 K for A1, 20 K "
                        "otherwise.",
        },
        {
                .name = "confirm_s",
                .type = KEY_SECONDS,
                .offset = offsetof(struct ruleset_heat, confirm_ms),
                .default_value = "30",
                .max = 60,
                .source = SRC_HEAT_CONFIRM,
                .help = "A lone sample over the threshold waits this long for the next one.",
        },
};

static const struct rule_key supervision_keys[] = {
        MATCH_KEYS(struct ruleset_supervision),
        {
                .name = "silent_s",
                .type = KEY_SECONDS,
                .offset = offsetof(struct ruleset_supervision, silent_default_ms),
                .default_value = "300",
                .min = 10,
                .max = 90000,
                .source = SRC_SILENT,
                .help = "Silence that is a fault for detectors that declare no report period.",
        },
        {
                .name = "silent_factor",
                .type = KEY_NUMBER,
                .offset = offsetof(struct ruleset_supervision, silent_factor),
                .default_value = "2.5",
                .min = 1,
                .max = 10,
                .help = "Declared report periods without a message that make a silent fault.",
        },
        {
                .name = "offline_s",
                .type = KEY_SECONDS,
                .offset = offsetof(struct ruleset_supervision, offline_ms),
                .default_value = "0",
                .max = 100,
                .source = SRC_OFFLINE,
                .help = "How long a bridge's offline state lasts before it is a fault.",
        },
        {
                .name = "battery_low_pct",
                .type = KEY_INTEGER,
                .offset = offsetof(struct ruleset_supervision, battery_low_pct),
                .default_value = "15",
                .min = 1,
                .max = 99,
                .help = "Battery level, in percent, at or below which it is a fault.",
        },
        {
                .name = "invalid_count",
                .type = KEY_INTEGER,
                .offset = offsetof(struct ruleset_supervision, invalid_count),
                .default_value = "3",
                .min = 1,
                .max = 100,
                .help = "Invalid messages in a row that make an invalid-data fault.",
        },
        {
                .name = "test_max_s",
                .type = KEY_SECONDS,
                .offset = offsetof(struct ruleset_supervision, test_max_ms),
                .default_value = "30",
                .max = 60,
                .source = SRC_TEST_MAX,
                .help = "Smoke that outlasts a test press by this long is taken as fire.",
        },
};

enum output_key { OUTPUT_FOLLOWS };

static const struct rule_key output_keys[] = {
        [OUTPUT_FOLLOWS] =
                {
                        .name = "follows",
                        .type = KEY_FOLLOWS,
                        .offset = offsetof(struct ruleset_output, follows),
                        .help = "What drives the output: building, floor:N, unit:ID, zone:ID or "
                                "each-unit.",
                },
        {
                .name = "delay_s",
                .type = KEY_SECONDS,
                .offset = offsetof(struct ruleset_output, delay_ms),
                .default_value = "0",
                .max = 600,
                .source = SRC_OUTPUT,
                .help = "Delay before the output switches on; a call point never waits.",
        },
        {
                .name = "silenceable",
                .type = KEY_BOOL,
                .offset = offsetof(struct ruleset_output, silenceable),
                .default_value = "yes",
                .help = "Off at silence, on again at a new alarm.",
        },
        {
                .name = "confirm",
                .type = KEY_BOOL,
                .offset = offsetof(struct ruleset_output, confirm),
                .default_value = "no",
                .help = "Waits for a type-c confirmation.",
        },
};

static const struct rule_key building_keys[] = {
        {
                .name = "reestablish_s",
                .type = KEY_SECONDS,
                .offset = offsetof(struct ruleset_building, reestablish_ms),
                .default_value = "10",
                .max = 20,
                .source = SRC_REESTABLISH,
                .help = "After a reset, a detector still in alarm alarms again this long after.",
        },
};

/* Bounds that depend on the dependency, beyond each key's own range. */
static const struct dependency_limit {
        enum ruleset_dependency dependency;
        enum smoke_key key;
        long min_s, max_s;
        const char *source;
} smoke_limits[] = {
        {RULESET_DEP_VERIFICATION, SMOKE_CONFIRM, 0, 120, SRC_VERIFY_CONFIRM},
        {RULESET_DEP_TYPE_B, SMOKE_WINDOW, 300, 1800, SRC_TYPE_B},
        {RULESET_DEP_TYPE_C, SMOKE_WINDOW, 1, 600, SRC_TYPE_C},
};

#define TYPE_A_CONFIRM_DEFAULT_MS (1800L * 1000)
#define VERIFY_TOTAL_MAX_MS       (60L * 1000)

enum section_kind {
        SECTION_SMOKE,
        SECTION_HEAT,
        SECTION_SUPERVISION,
        SECTION_OUTPUT,
        SECTION_BUILDING,
};

struct rules_parse;

struct section_desc {
        const char *name;
        bool named; /* [kind NAME]; else [kind] alone */
        const struct rule_key *keys;
        size_t n_keys;
        unsigned kinds;  /* detector kinds its match may select */
        size_t size;     /* of one rule */
        size_t name_off; /* of the rule's name, file and line, for named sections */
        size_t file_off;
        size_t line_off;
        void (*finish)(struct rules_parse *p); /* checks across keys; may be NULL */
};

static void smoke_finish(struct rules_parse *p);
static void output_finish(struct rules_parse *p);

#define NAMED(type)                                                                                \
        .named = true, .size = sizeof(type), .name_off = offsetof(type, name),                     \
        .file_off = offsetof(type, file), .line_off = offsetof(type, line)

static const struct section_desc sections[] = {
        [SECTION_SMOKE] = {.name = "smoke",
                           .keys = smoke_keys,
                           .n_keys = ARRAY_SIZE(smoke_keys),
                           .kinds = RULESET_KIND_SMOKE | RULESET_KIND_MULTI,
                           .finish = smoke_finish,
                           NAMED(struct ruleset_smoke)},
        [SECTION_HEAT] = {.name = "heat",
                          .keys = heat_keys,
                          .n_keys = ARRAY_SIZE(heat_keys),
                          .kinds = RULESET_KIND_HEAT | RULESET_KIND_MULTI,
                          NAMED(struct ruleset_heat)},
        [SECTION_SUPERVISION] = {.name = "supervision",
                                 .keys = supervision_keys,
                                 .n_keys = ARRAY_SIZE(supervision_keys),
                                 .kinds = RULESET_KIND_SMOKE | RULESET_KIND_HEAT |
                                          RULESET_KIND_MULTI | RULESET_KIND_CALL_POINT,
                                 NAMED(struct ruleset_supervision)},
        [SECTION_OUTPUT] = {.name = "output",
                            .keys = output_keys,
                            .n_keys = ARRAY_SIZE(output_keys),
                            .finish = output_finish,
                            NAMED(struct ruleset_output)},
        [SECTION_BUILDING] = {.name = "building",
                              .keys = building_keys,
                              .n_keys = ARRAY_SIZE(building_keys),
                              .size = sizeof(struct ruleset_building)},
};

#define RULES_KEYS_MAX 16
_Static_assert(ARRAY_SIZE(smoke_keys) <= RULES_KEYS_MAX &&
                       ARRAY_SIZE(heat_keys) <= RULES_KEYS_MAX &&
                       ARRAY_SIZE(supervision_keys) <= RULES_KEYS_MAX &&
                       ARRAY_SIZE(output_keys) <= RULES_KEYS_MAX,
               "set_line[] holds every key of a section");

/* The public struct and what it owns besides: the names of the files read. */
struct ruleset_priv {
        struct ruleset rs;
        char **files;
        size_t n_files;
        const char *building_file; /* where [building] was read; NULL when it was not */
        unsigned building_line;
};

/* What a file with errors is rolled back to. */
struct ruleset_mark {
        size_t n_smoke, n_heat, n_supervision, n_outputs;
        struct ruleset_building building;
        const char *building_file;
        unsigned building_line;
};

/* The state of one ruleset_load_file(). */
struct rules_parse {
        struct ruleset_priv *priv;
        struct diag *d;
        const char *path;                   /* the ruleset's copy of the file name */
        const struct section_desc *section; /* of the rule being read; NULL when none */
        void *rule;
        char label[RULESET_NAME_MAX + 16]; /* "[smoke units]", for messages */
        unsigned section_line;
        unsigned set_line[RULES_KEYS_MAX]; /* where each key of the section was set; 0: not */
        bool refused[RULES_KEYS_MAX];      /* its value was refused, and reported there */
};

static struct ruleset_priv *priv_of(struct ruleset *rs)
{
        return (struct ruleset_priv *)((char *)rs - offsetof(struct ruleset_priv, rs));
}

static void *field_of(void *rule, const struct rule_key *k)
{
        return (char *)rule + k->offset;
}

/* The @i-th rule of @kind, for named kinds. */
static const void *rule_at(const struct ruleset *rs, enum section_kind kind, size_t i)
{
        switch (kind) {
        case SECTION_SMOKE:
                return &rs->smoke[i];
        case SECTION_HEAT:
                return &rs->heat[i];
        case SECTION_SUPERVISION:
                return &rs->supervision[i];
        case SECTION_OUTPUT:
                return &rs->outputs[i];
        case SECTION_BUILDING:
                return &rs->building;
        }
        return NULL;
}

static size_t rule_count(const struct ruleset *rs, enum section_kind kind)
{
        switch (kind) {
        case SECTION_SMOKE:
                return rs->n_smoke;
        case SECTION_HEAT:
                return rs->n_heat;
        case SECTION_SUPERVISION:
                return rs->n_supervision;
        case SECTION_OUTPUT:
                return rs->n_outputs;
        case SECTION_BUILDING:
                return 1;
        }
        return 0;
}

/* Grows *@array of *@count elements of @size by one zeroed element; returns it, or NULL when
 * out of memory (the array is then unchanged). */
static void *grow(void *array, size_t count, size_t size, void **out)
{
        char *mem = realloc(array, (count + 1) * size);

        if (!mem)
                return NULL;
        *out = mem;
        memset(mem + count * size, 0, size);
        return mem + count * size;
}

static void *rule_append(struct ruleset *rs, enum section_kind kind)
{
        void *mem = NULL, *rule;

        switch (kind) {
        case SECTION_SMOKE:
                rule = grow(rs->smoke, rs->n_smoke, sizeof(*rs->smoke), &mem);
                if (rule) {
                        rs->smoke = mem;
                        rs->n_smoke++;
                }
                return rule;
        case SECTION_HEAT:
                rule = grow(rs->heat, rs->n_heat, sizeof(*rs->heat), &mem);
                if (rule) {
                        rs->heat = mem;
                        rs->n_heat++;
                }
                return rule;
        case SECTION_SUPERVISION:
                rule = grow(rs->supervision, rs->n_supervision, sizeof(*rs->supervision), &mem);
                if (rule) {
                        rs->supervision = mem;
                        rs->n_supervision++;
                }
                return rule;
        case SECTION_OUTPUT:
                rule = grow(rs->outputs, rs->n_outputs, sizeof(*rs->outputs), &mem);
                if (rule) {
                        rs->outputs = mem;
                        rs->n_outputs++;
                }
                return rule;
        case SECTION_BUILDING:
                return &rs->building;
        }
        return NULL;
}

static bool is_id(const char *s, const char *chars)
{
        size_t len = strlen(s);

        return len >= 1 && len <= ID_MAX && s[strspn(s, chars)] == '\0';
}

static bool is_zone_id(const char *s)
{
        return is_id(s, ZONE_CHARS) && !strchr("._-", s[0]);
}

/* The text after optional sign is all digits. */
static bool is_integer_text(const char *s)
{
        if (*s == '+' || *s == '-')
                s++;
        return *s && s[strspn(s, "0123456789")] == '\0';
}

/* Appends @s to the string in @buf (@len bytes), cutting it at the end of @buf. */
static void append(char *buf, size_t len, const char *s)
{
        size_t used = strnlen(buf, len), n = strlen(s);

        if (used + 1 >= len)
                return;
        if (n > len - used - 1)
                n = len - used - 1;
        memcpy(buf + used, s, n);
        buf[used + n] = '\0';
}

/* Copies the @n bytes at @s into @buf (@len bytes) as a string, cutting it to fit. */
static void copy_text(char *buf, size_t len, const char *s, size_t n)
{
        buf[0] = '\0';
        if (n > len - 1)
                n = len - 1;
        memcpy(buf, s, n);
        buf[n] = '\0';
}

static void key_expected(const struct section_desc *s, const struct rule_key *k, char *buf,
                         size_t len)
{
        switch (k->type) {
        case KEY_SECONDS:
                snprintf(buf, len, "whole seconds from %.15g to %.15g", k->min, k->max);
                return;
        case KEY_NUMBER:
                snprintf(buf, len, "a number from %.15g to %.15g", k->min, k->max);
                return;
        case KEY_INTEGER:
                snprintf(buf, len, "an integer from %.15g to %.15g", k->min, k->max);
                return;
        case KEY_BOOL:
                snprintf(buf, len, "yes or no (or true/false, on/off, 1/0)");
                return;
        case KEY_ENUM:
                buf[0] = '\0';
                for (size_t i = 0; i < k->n_names; i++) {
                        append(buf, len, i == 0 ? "one of " : ", ");
                        append(buf, len, k->names[i]);
                }
                return;
        case KEY_KINDS:
                buf[0] = '\0';
                for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++) {
                        if (s->kinds & (1u << i)) {
                                append(buf, len, buf[0] ? ", " : "any of ");
                                append(buf, len, kind_names[i]);
                        }
                }
                append(buf, len, " (separated by spaces)");
                return;
        case KEY_ZONES:
                snprintf(buf, len,
                         "up to %d zone ids ([a-z0-9][a-z0-9._-]{0,63}) or the words unit and "
                         "common, separated by spaces",
                         RULESET_MATCH_MAX);
                return;
        case KEY_DETECTORS:
                snprintf(buf, len,
                         "up to %d detector ids (1 to %d of A-Z a-z 0-9 . _ -), separated by "
                         "spaces",
                         RULESET_MATCH_MAX, ID_MAX);
                return;
        case KEY_FOLLOWS:
                snprintf(buf, len,
                         "building, floor:N (%d to %d, not 0), unit:ID, zone:ID or each-unit",
                         FLOOR_MIN, FLOOR_MAX);
                return;
        }
}

static int invalid(const struct rule_key *k, const char *value, const char *expected, char *why,
                   size_t len)
{
        snprintf(why, len, "invalid %s '%s': expected %s", k->name, value, expected);
        return -EINVAL;
}

static int out_of_range(const struct rule_key *k, const char *value, const char *expected,
                        char *why, size_t len)
{
        snprintf(why, len, "%s %s is out of range: expected %s%s%s%s", k->name, value, expected,
                 k->source ? " (" : "", k->source ? k->source : "", k->source ? ")" : "");
        return -EINVAL;
}

/* Whole numbers: an optional sign and digits, so "1e3", "0x10" and "2.5" are refused. */
static int parse_whole(const struct rule_key *k, const char *value, const char *expected, long *out,
                       char *why, size_t len)
{
        char *end;
        long n;

        if (!is_integer_text(value))
                return invalid(k, value, expected, why, len);
        errno = 0;
        n = strtol(value, &end, 10);
        if (errno == ERANGE || n < k->min || n > k->max)
                return out_of_range(k, value, expected, why, len);
        *out = n;
        return 0;
}

/* Decimal numbers only: strtod() would also take "nan", "inf" and hexadecimal. */
static int parse_number(const struct rule_key *k, const char *value, const char *expected,
                        double *out, char *why, size_t len)
{
        char *end;
        double x;

        if (value[strspn(value, "0123456789+-.eE")] != '\0' || !strpbrk(value, "0123456789"))
                return invalid(k, value, expected, why, len);
        errno = 0;
        x = strtod(value, &end);
        if (*end != '\0')
                return invalid(k, value, expected, why, len);
        if (errno == ERANGE || !(x >= k->min && x <= k->max))
                return out_of_range(k, value, expected, why, len);
        *out = x;
        return 0;
}

static int parse_bool(const char *value, bool *out)
{
        static const char *const yes[] = {"yes", "true", "on", "1"};
        static const char *const no[] = {"no", "false", "off", "0"};

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                if (strcasecmp(value, yes[i]) == 0) {
                        *out = true;
                        return 0;
                }
                if (strcasecmp(value, no[i]) == 0) {
                        *out = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Splits @value at spaces and tabs into @words (each at most @size - 1 characters; longer ones
 * are cut to size and then fail their check). Returns the number of words, which may exceed
 * @max, in which case only @max were stored. */
static size_t split_words(const char *value, char (*words)[RULESET_NAME_MAX], size_t max)
{
        size_t n = 0;

        for (const char *s = value + strspn(value, " \t"); *s; s += strspn(s, " \t")) {
                size_t len = strcspn(s, " \t");

                if (n < max) {
                        size_t keep = len < RULESET_NAME_MAX - 1 ? len : RULESET_NAME_MAX - 1;

                        memcpy(words[n], s, keep);
                        words[n][keep] = '\0';
                        /* Marks a word that did not fit, so that its check fails. */
                        if (keep < len)
                                words[n][0] = '\0';
                }
                n++;
                s += len;
        }
        return n;
}

/* The word of @words[i] as the file had it, for messages about words too long to store. */
static const char *shown_word(const char *word)
{
        return word[0] ? word : "(too long)";
}

static int set_list(const struct section_desc *s, const struct rule_key *k, struct ruleset_match *m,
                    const char *value, const char *expected, char *why, size_t len)
{
        char words[RULESET_MATCH_MAX][RULESET_NAME_MAX];
        size_t n = split_words(value, words, RULESET_MATCH_MAX);
        unsigned kinds = 0;

        if (n > RULESET_MATCH_MAX) {
                snprintf(why, len, "%s lists %zu entries: at most %d", k->name, n,
                         RULESET_MATCH_MAX);
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                const char *w = words[i];

                for (size_t j = 0; j < i; j++) {
                        if (w[0] && strcmp(w, words[j]) == 0) {
                                snprintf(why, len, "%s lists '%s' twice", k->name, w);
                                return -EINVAL;
                        }
                }
                if (k->type == KEY_KINDS) {
                        size_t b = 0;

                        while (b < ARRAY_SIZE(kind_names) && strcasecmp(w, kind_names[b]) != 0)
                                b++;
                        if (b == ARRAY_SIZE(kind_names))
                                return invalid(k, shown_word(w), expected, why, len);
                        if (!(s->kinds & (1u << b))) {
                                /* A [smoke] rule must not reach a call point or a heat detector:
                                 * dependency never delays them (EN 54-2 7.12, NFPA 72). */
                                snprintf(why, len,
                                         "kinds: a [%s] rule does not apply to %s detectors: "
                                         "expected %s",
                                         s->name, w, expected);
                                return -EINVAL;
                        }
                        kinds |= 1u << b;
                } else if (k->type == KEY_ZONES) {
                        if (strcmp(w, "unit") != 0 && strcmp(w, "common") != 0 && !is_zone_id(w))
                                return invalid(k, shown_word(w), expected, why, len);
                } else if (!is_id(w, ID_CHARS)) {
                        return invalid(k, shown_word(w), expected, why, len);
                }
        }
        if (k->type == KEY_KINDS) {
                m->kinds = kinds;
        } else if (k->type == KEY_ZONES) {
                memcpy(m->zones, words, n * sizeof(words[0]));
                m->n_zones = n;
        } else {
                memcpy(m->detectors, words, n * sizeof(words[0]));
                m->n_detectors = n;
        }
        return 0;
}

static int set_follows(const struct rule_key *k, char *field, size_t size, const char *value,
                       const char *expected, char *why, size_t len)
{
        const char *colon = strchr(value, ':'), *id = colon ? colon + 1 : "";
        size_t kind_len = colon ? (size_t)(colon - value) : strlen(value);
        bool ok;

        if (strcmp(value, "building") == 0 || strcmp(value, RULESET_EACH_UNIT) == 0) {
                ok = true;
        } else if (kind_len == 5 && strncmp(value, "floor", 5) == 0) {
                long floor = 0;

                if (is_integer_text(id) && strlen(id) < 6)
                        floor = strtol(id, NULL, 10);
                ok = floor != 0 && floor >= FLOOR_MIN && floor <= FLOOR_MAX;
        } else if (kind_len == 4 && strncmp(value, "zone", 4) == 0) {
                ok = is_zone_id(id);
        } else if (kind_len == 4 && strncmp(value, "unit", 4) == 0) {
                /* A unit's address id is opaque, checked against the config's pattern when the
                 * registry is imported; here only that it is one printable word. */
                size_t id_len = strlen(id);

                ok = id_len >= 1 && id_len <= ID_MAX;
                for (size_t i = 0; ok && i < id_len; i++)
                        ok = isgraph((unsigned char)id[i]);
        } else {
                ok = false;
        }
        if (!ok)
                return invalid(k, value, expected, why, len);
        snprintf(field, size, "%s", value);
        return 0;
}

/* Sets the field of @k in @rule from @value, text as in the file. Returns 0 or -EINVAL with
 * the reason in @why. */
static int key_set(const struct section_desc *s, const struct rule_key *k, void *rule,
                   const char *value, char *why, size_t len)
{
        void *field = field_of(rule, k);
        char expected[256];
        long n;
        int r;

        key_expected(s, k, expected, sizeof(expected));
        if (!*value) {
                snprintf(why, len, "empty value for %s: expected %s", k->name, expected);
                return -EINVAL;
        }
        switch (k->type) {
        case KEY_SECONDS:
                r = parse_whole(k, value, expected, &n, why, len);
                if (r == 0)
                        *(long *)field = n * 1000;
                return r;
        case KEY_NUMBER:
                return parse_number(k, value, expected, field, why, len);
        case KEY_INTEGER:
                r = parse_whole(k, value, expected, &n, why, len);
                if (r == 0)
                        *(int *)field = (int)n;
                return r;
        case KEY_BOOL:
                if (parse_bool(value, field) < 0)
                        return invalid(k, value, expected, why, len);
                return 0;
        case KEY_ENUM:
                for (size_t i = 0; i < k->n_names; i++) {
                        if (strcasecmp(value, k->names[i]) == 0) {
                                *(int *)field = (int)i;
                                return 0;
                        }
                }
                return invalid(k, value, expected, why, len);
        case KEY_KINDS:
        case KEY_ZONES:
        case KEY_DETECTORS:
                return set_list(s, k, field, value, expected, why, len);
        case KEY_FOLLOWS:
                return set_follows(k, field, sizeof(((struct ruleset_output *)0)->follows), value,
                                   expected, why, len);
        }
        return -EINVAL;
}

/* Fills @rule with the defaults of the table; a number without one is NaN. */
static void rule_defaults(const struct section_desc *s, void *rule)
{
        char why[WHY_MAX];

        memset(rule, 0, s->size);
        for (size_t i = 0; i < s->n_keys; i++) {
                const struct rule_key *k = &s->keys[i];

                if (k->default_value)
                        (void)key_set(s, k, rule, k->default_value, why, sizeof(why));
                else if (k->type == KEY_NUMBER)
                        *(double *)field_of(rule, k) = NAN;
        }
}

void ruleset_smoke_defaults(struct ruleset_smoke *r)
{
        rule_defaults(&sections[SECTION_SMOKE], r);
}

void ruleset_heat_defaults(struct ruleset_heat *r)
{
        rule_defaults(&sections[SECTION_HEAT], r);
}

void ruleset_supervision_defaults(struct ruleset_supervision *r)
{
        rule_defaults(&sections[SECTION_SUPERVISION], r);
}

const char *ruleset_dependency_name(enum ruleset_dependency d)
{
        return (size_t)d < ARRAY_SIZE(dependency_names) ? dependency_names[d] : "unknown";
}

static bool zone_matches(const char *entry, const char *zone, bool in_unit)
{
        if (strcmp(entry, "unit") == 0)
                return in_unit;
        if (strcmp(entry, "common") == 0)
                return !in_unit;
        return zone && strcmp(entry, zone) == 0;
}

bool ruleset_match(const struct ruleset_match *m, unsigned kind, const char *zone, bool in_unit,
                   const char *detector)
{
        bool found;

        if (m->kinds && !(m->kinds & kind))
                return false;
        found = m->n_zones == 0;
        for (size_t i = 0; i < m->n_zones && !found; i++)
                found = zone_matches(m->zones[i], zone, in_unit);
        if (!found)
                return false;
        found = m->n_detectors == 0;
        for (size_t i = 0; i < m->n_detectors && !found; i++)
                found = detector && strcmp(m->detectors[i], detector) == 0;
        return found;
}

struct ruleset *ruleset_new(void)
{
        struct ruleset_priv *priv = calloc(1, sizeof(*priv));

        if (!priv)
                return NULL;
        rule_defaults(&sections[SECTION_BUILDING], &priv->rs.building);
        return &priv->rs;
}

void ruleset_free(struct ruleset *rs)
{
        struct ruleset_priv *priv;

        if (!rs)
                return;
        priv = priv_of(rs);
        free(rs->smoke);
        free(rs->heat);
        free(rs->supervision);
        free(rs->outputs);
        for (size_t i = 0; i < priv->n_files; i++)
                free(priv->files[i]);
        free(priv->files);
        free(priv);
}

/* The line to blame for the value of @key: where it was set, else the section's header. */
static unsigned line_of(const struct rules_parse *p, size_t key)
{
        return p->set_line[key] ? p->set_line[key] : p->section_line;
}

/* "verification, type-a, pas = yes": the sequences that use a [smoke] key. */
static void applies_list(unsigned applies, char *buf, size_t len)
{
        buf[0] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(dependency_names); i++) {
                if (applies & DEP_BIT(i)) {
                        append(buf, len, buf[0] ? ", " : "");
                        append(buf, len, dependency_names[i]);
                }
        }
        if (applies & PAS_BIT) {
                append(buf, len, buf[0] ? ", " : "");
                append(buf, len, "pas = yes");
        }
}

/* Whether [smoke] key @i was set although the rule's sequence never reads it. */
static bool smoke_key_unused(const struct rules_parse *p, const struct ruleset_smoke *r, size_t i)
{
        unsigned applies = smoke_keys[i].applies;

        return p->set_line[i] && !p->refused[i] && applies && !(applies & DEP_BIT(r->dependency)) &&
               !((applies & PAS_BIT) && r->pas);
}

/* Checks across the keys of a [smoke] section, and sets the defaults that depend on the
 * dependency. */
static void smoke_finish(struct rules_parse *p)
{
        struct ruleset_smoke *r = p->rule;
        const char *dep = ruleset_dependency_name(r->dependency);
        bool told[ARRAY_SIZE(smoke_keys)] = {false};
        char list[128];

        /* A key the sequence never reads misleads whoever reads the file: it looks like a delay
         * or a bound that is not there. Reported in line order. */
        for (;;) {
                size_t next = SIZE_MAX;

                for (size_t i = 0; i < ARRAY_SIZE(smoke_keys); i++)
                        if (!told[i] && smoke_key_unused(p, r, i) &&
                            (next == SIZE_MAX || p->set_line[i] < p->set_line[next]))
                                next = i;
                if (next == SIZE_MAX)
                        break;
                told[next] = true;
                applies_list(smoke_keys[next].applies, list, sizeof(list));
                diag_add(p->d, p->path, p->set_line[next],
                         "%s has no effect in %s with dependency = %s%s; it is used with %s",
                         smoke_keys[next].name, p->label, dep, r->pas ? " and pas = yes" : "",
                         list);
        }
        if (r->dependency == RULESET_DEP_TYPE_A && !p->set_line[SMOKE_CONFIRM])
                r->confirm_ms = TYPE_A_CONFIRM_DEFAULT_MS;
        if (r->dependency == RULESET_DEP_VERIFICATION &&
            r->retard_ms + r->reset_ms > VERIFY_TOTAL_MAX_MS) {
                unsigned a = line_of(p, SMOKE_RETARD), b = line_of(p, SMOKE_RESET);

                diag_add(p->d, p->path, a > b ? a : b,
                         "retard_s + reset_s is %ld s in %s: at most %ld s with dependency = "
                         "verification (%s)",
                         (r->retard_ms + r->reset_ms) / 1000, p->label, VERIFY_TOTAL_MAX_MS / 1000,
                         SRC_VERIFY_TOTAL);
        }
        for (size_t i = 0; i < ARRAY_SIZE(smoke_limits); i++) {
                const struct dependency_limit *l = &smoke_limits[i];
                long s = *(const long *)field_of(r, &smoke_keys[l->key]) / 1000;

                if (l->dependency != r->dependency || (s >= l->min_s && s <= l->max_s))
                        continue;
                diag_add(p->d, p->path, line_of(p, l->key),
                         "%s %ld is out of range with dependency = %s: expected whole seconds "
                         "from %ld to %ld (%s)",
                         smoke_keys[l->key].name, s, dep, l->min_s, l->max_s, l->source);
        }
        /* PAS is a delay of its own, acknowledged by a person; stacking a dependency on it would
         * let the two delays add up past what NFPA 72 allows. */
        if (r->pas && r->dependency != RULESET_DEP_NONE) {
                unsigned a = line_of(p, SMOKE_PAS), b = line_of(p, SMOKE_DEPENDENCY);

                diag_add(p->d, p->path, a > b ? a : b,
                         "pas = yes needs dependency = none in %s, not %s: a positive alarm "
                         "sequence is a delay of its own (NFPA 72)",
                         p->label, dep);
        }
}

static void output_finish(struct rules_parse *p)
{
        const struct ruleset_output *r = p->rule;

        /* A follows that was refused has had its message. */
        if (!r->follows[0] && !p->set_line[OUTPUT_FOLLOWS])
                diag_add(p->d, p->path, p->section_line,
                         "%s needs follows = building | floor:N | unit:ID | zone:ID | each-unit",
                         p->label);
}

/* Ends the section being read: the checks across its keys. */
static void section_end(struct rules_parse *p)
{
        if (p->section && p->section->finish)
                p->section->finish(p);
        p->section = NULL;
        p->rule = NULL;
}

static const struct section_desc *section_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
                if (strcmp(sections[i].name, name) == 0)
                        return &sections[i];
        return NULL;
}

static void report_unknown_section(struct rules_parse *p, const char *kind, const char *name,
                                   unsigned line)
{
        for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
                if (inifile_similar(kind, sections[i].name)) {
                        diag_add(p->d, p->path, line,
                                 "unknown section [%s%s%s]; did you mean [%s%s%s]?", kind,
                                 *name ? " " : "", name, sections[i].name, *name ? " " : "", name);
                        return;
                }
        }
        diag_add(p->d, p->path, line,
                 "unknown section [%s%s%s]: expected [smoke NAME], [heat NAME], "
                 "[supervision NAME], [output NAME] or [building]",
                 kind, *name ? " " : "", name);
}

/* Whether a rule of kind @s named @name was read before; reports it. */
static bool duplicate_rule(struct rules_parse *p, const struct section_desc *s, const char *name,
                           unsigned line)
{
        enum section_kind kind = (enum section_kind)(s - sections);
        const struct ruleset *rs = &p->priv->rs;

        if (!s->named) {
                if (!p->priv->building_file)
                        return false;
                diag_add(p->d, p->path, line, "duplicate section [%s]: first at %s:%u", s->name,
                         p->priv->building_file, p->priv->building_line);
                return true;
        }
        for (size_t i = 0; i < rule_count(rs, kind); i++) {
                const char *rule = rule_at(rs, kind, i);

                if (strcmp(rule + s->name_off, name) != 0)
                        continue;
                diag_add(p->d, p->path, line, "duplicate rule [%s %s]: first defined at %s:%u",
                         s->name, name, *(const char *const *)(rule + s->file_off),
                         *(const unsigned *)(rule + s->line_off));
                return true;
        }
        return false;
}

static int rules_section_ok(void *user, const char *header, unsigned line)
{
        struct rules_parse *p = user;
        char kind[INIFILE_LINE_MAX + 1], name[INIFILE_LINE_MAX + 1];
        const struct section_desc *s;
        size_t n;
        void *rule;

        section_end(p);
        header += strspn(header, " \t");
        n = strcspn(header, " \t");
        copy_text(kind, sizeof(kind), header, n);
        header += n;
        header += strspn(header, " \t");
        n = strlen(header);
        while (n && isspace((unsigned char)header[n - 1]))
                n--;
        copy_text(name, sizeof(name), header, n);

        s = section_find(kind);
        if (!s) {
                report_unknown_section(p, kind, name, line);
                return -EINVAL;
        }
        if (s->named && !*name) {
                diag_add(p->d, p->path, line, "[%s] needs a name: [%s NAME]", kind, kind);
                return -EINVAL;
        }
        if (!s->named && *name) {
                diag_add(p->d, p->path, line, "[%s] takes no name: [%s %s]", kind, kind, name);
                return -EINVAL;
        }
        if (s->named && !is_id(name, ID_CHARS)) {
                diag_add(p->d, p->path, line,
                         "invalid rule name '%s' in [%s %s]: expected 1 to %d of the characters "
                         "A-Z a-z 0-9 . _ -",
                         name, kind, name, ID_MAX);
                return -EINVAL;
        }
        /* A duplicate is still read, so that the errors in its keys show as well; the file
         * fails anyway. */
        (void)duplicate_rule(p, s, name, line);
        rule = rule_append(&p->priv->rs, (enum section_kind)(s - sections));
        if (!rule)
                return -ENOMEM;
        rule_defaults(s, rule);
        if (s->named) {
                copy_text((char *)rule + s->name_off, RULESET_NAME_MAX, name, strlen(name));
                *(const char **)((char *)rule + s->file_off) = p->path;
                *(unsigned *)((char *)rule + s->line_off) = line;
        } else {
                p->priv->building_file = p->path;
                p->priv->building_line = line;
        }
        copy_text(p->label, sizeof(p->label), "[", 1);
        append(p->label, sizeof(p->label), kind);
        append(p->label, sizeof(p->label), *name ? " " : "");
        append(p->label, sizeof(p->label), name);
        append(p->label, sizeof(p->label), "]");
        p->section = s;
        p->rule = rule;
        p->section_line = line;
        memset(p->set_line, 0, sizeof(p->set_line));
        memset(p->refused, 0, sizeof(p->refused));
        return 0;
}

static void report_unknown_key(struct rules_parse *p, const char *name, unsigned line)
{
        const struct section_desc *s = p->section;

        for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
                for (size_t j = 0; j < sections[i].n_keys; j++) {
                        if (strcmp(sections[i].keys[j].name, name) != 0)
                                continue;
                        diag_add(p->d, p->path, line,
                                 "unknown key '%s' in %s; it belongs in [%s%s]", name, p->label,
                                 sections[i].name, sections[i].named ? " NAME" : "");
                        return;
                }
        }
        for (size_t i = 0; i < s->n_keys; i++) {
                if (inifile_similar(name, s->keys[i].name)) {
                        diag_add(p->d, p->path, line, "unknown key '%s' in %s; did you mean '%s'?",
                                 name, p->label, s->keys[i].name);
                        return;
                }
        }
        diag_add(p->d, p->path, line, "unknown key '%s' in %s", name, p->label);
}

static int rules_key(void *user, const char *section, const char *name, const char *value,
                     unsigned line)
{
        struct rules_parse *p = user;
        const struct section_desc *s = p->section;
        char why[WHY_MAX];
        size_t i;

        if (!*section || !s) {
                diag_add(p->d, p->path, line, "key '%s' comes before any [section]", name);
                return -EINVAL;
        }
        for (i = 0; i < s->n_keys && strcmp(s->keys[i].name, name) != 0; i++)
                ;
        if (i == s->n_keys) {
                report_unknown_key(p, name, line);
                return -EINVAL;
        }
        if (p->set_line[i]) {
                diag_add(p->d, p->path, line, "duplicate key '%s' in %s: first set at line %u",
                         name, p->label, p->set_line[i]);
                return -EINVAL;
        }
        p->set_line[i] = line;
        if (key_set(s, &s->keys[i], p->rule, value, why, sizeof(why)) < 0) {
                p->refused[i] = true;
                diag_add(p->d, p->path, line, "%s", why);
                return -EINVAL;
        }
        return 0;
}

static void ruleset_mark(const struct ruleset_priv *priv, struct ruleset_mark *m)
{
        m->n_smoke = priv->rs.n_smoke;
        m->n_heat = priv->rs.n_heat;
        m->n_supervision = priv->rs.n_supervision;
        m->n_outputs = priv->rs.n_outputs;
        m->building = priv->rs.building;
        m->building_file = priv->building_file;
        m->building_line = priv->building_line;
}

static void ruleset_rollback(struct ruleset_priv *priv, const struct ruleset_mark *m)
{
        priv->rs.n_smoke = m->n_smoke;
        priv->rs.n_heat = m->n_heat;
        priv->rs.n_supervision = m->n_supervision;
        priv->rs.n_outputs = m->n_outputs;
        priv->rs.building = m->building;
        priv->building_file = m->building_file;
        priv->building_line = m->building_line;
}

/* Keeps a copy of @path for the rules read from it; NULL when out of memory. */
static const char *ruleset_keep_path(struct ruleset_priv *priv, const char *path)
{
        char **files = realloc(priv->files, (priv->n_files + 1) * sizeof(*files));

        if (!files)
                return NULL;
        priv->files = files;
        files[priv->n_files] = strdup(path);
        if (!files[priv->n_files])
                return NULL;
        return files[priv->n_files++];
}

int ruleset_load_file(struct ruleset *rs, const char *path, struct diag *d)
{
        static const struct inifile_ops ops = {
                .section_ok = rules_section_ok,
                .key = rules_key,
        };
        struct rules_parse p = {.priv = priv_of(rs), .d = d};
        size_t errors = diag_count(d);
        struct ruleset_mark mark;
        int r;

        ruleset_mark(p.priv, &mark);
        p.path = ruleset_keep_path(p.priv, path);
        if (!p.path)
                return -ENOMEM;
        r = inifile_parse(path, RULES_FILE_MAX, &ops, &p, d);
        if (r == 0 || r == -EINVAL)
                section_end(&p);
        if (r == 0 && diag_count(d) > errors)
                r = -EINVAL;
        if (r < 0)
                ruleset_rollback(p.priv, &mark);
        return r;
}

static int rules_file_filter(const struct dirent *e)
{
        size_t len = strlen(e->d_name), suffix = sizeof(RULES_SUFFIX) - 1;

        /* Hidden files are an editor's or a package manager's, never the installer's rules. */
        return e->d_name[0] != '.' && len > suffix &&
               strcmp(e->d_name + len - suffix, RULES_SUFFIX) == 0;
}

/* Byte order, not the locale's: the order the files are read in must not change with LANG. */
static int rules_file_order(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

/* Loads @name of @dir. Returns as ruleset_load_file(). */
static int ruleset_load_entry(struct ruleset *rs, const char *dir, const char *name, struct diag *d)
{
        size_t len = strlen(dir);
        char *path;
        int r;

        if (asprintf(&path, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", name) < 0)
                return -ENOMEM;
        r = ruleset_load_file(rs, path, d);
        free(path);
        return r;
}

int ruleset_load_dir(struct ruleset *rs, const char *dir, struct diag *d)
{
        struct dirent **entries = NULL;
        int n, r = 0;

        n = scandir(dir, &entries, rules_file_filter, rules_file_order);
        if (n < 0) {
                r = -errno;
                diag_add(d, dir, 0, "cannot read the rules directory: %s", strerror(-r));
                return r;
        }
        /* Every file is read, so that the errors of all of them show at once; the first error
         * is returned, unless memory runs out, which ends the load. */
        for (int i = 0; i < n; i++) {
                if (r != -ENOMEM) {
                        int q = ruleset_load_entry(rs, dir, entries[i]->d_name, d);

                        if (q < 0 && (r == 0 || q == -ENOMEM))
                                r = q;
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}
