/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine: the alarm rules engine. Readings and commands go in with their time; decisions come
 * out through a callback; engine_next_deadline() tells the event loop when to call
 * engine_tick() next. Pure C: no I/O, no clock of its own, no allocation after engine_new(),
 * nothing that blocks. The same engine runs in the daemon (monotonic milliseconds) and in
 * `firegate replay` (virtual milliseconds from the start of a file).
 *
 * Life safety first: an alarm from an unknown or unverified detector or unit is still an
 * alarm, marked as such; a fault never masks a later fire alarm; when the rules leave a doubt
 * (a coincidence rule with no second detector, smoke that outlasts a test press, a lone hot
 * sample nobody contradicts) the engine raises the alarm and says why.
 *
 * Time must not go backwards: a reading or command older than the engine's clock is taken at
 * the engine's clock. Before a reading or command at time T is applied, every deadline up to
 * and including T fires.
 */
#ifndef FIREGATE_ENGINE_H
#define FIREGATE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "ruleset.h"

typedef int64_t engine_time;
#define ENGINE_NEVER INT64_MAX

struct engine;

/* --- what the engine reads from the registry, once at start --- */

enum engine_detector_kind {
        ENGINE_SMOKE,
        ENGINE_HEAT,
        ENGINE_MULTI, /* smoke and heat in one head: the heat channel is never delayed */
        ENGINE_CALL_POINT,
};

struct engine_detector_info {
        const char *id;
        enum engine_detector_kind kind;
        const char *heat_class; /* EN 54-5 class, e.g. "A1R"; required for heat, optional for
                                   multi (then A1R, the most sensitive) */
        const char *unit;       /* NULL in common areas */
        int floor;
        const char *zone;    /* installer zone id or NULL */
        int report_period_s; /* 0 when the detector declares none */
        bool verified;       /* its registry record is signed and verified */
        bool wired;          /* on a GPIO line: silent only by choice, supervised by wiring */
};

struct engine_unit_info {
        const char *id;
        int floor;
        bool verified;
        /* Verified, active residents with each rescue-relevant flag. */
        unsigned residents, bedridden, mobility_impaired, elderly, infant, needs_oxygen;
};

/* --- what comes out --- */

enum engine_decision_kind {
        ENGINE_ALARM,
        ENGINE_PRE_ALARM,
        ENGINE_FAULT,
        ENGINE_RESTORE, /* a fault cleared, or a pre-alarm that ended without an alarm */
        ENGINE_TEST,    /* a test press or a walk-test signal; cause says which */
        ENGINE_ACKNOWLEDGED,
        ENGINE_SILENCED,
        ENGINE_RESET,
        ENGINE_OUTPUT_ON,
        ENGINE_OUTPUT_OFF,
        ENGINE_DISABLED,
        ENGINE_ENABLED,
};

enum engine_fault {
        ENGINE_FAULT_NONE,
        ENGINE_FAULT_SILENT,  /* not heard for longer than its supervision period */
        ENGINE_FAULT_OFFLINE, /* its bridge says it is offline */
        ENGINE_FAULT_BATTERY_LOW,
        ENGINE_FAULT_TAMPER,
        ENGINE_FAULT_DEVICE,       /* the device or its wiring reports a fault */
        ENGINE_FAULT_INVALID_DATA, /* persistent messages that make no sense */
        ENGINE_FAULT_COUNT,
};

/* Flags of a decision. */
enum {
        ENGINE_FLAG_PRIORITY_RESCUE = 1u << 0,      /* a verified bedridden or mobility-impaired
                                                       resident lives in the unit */
        ENGINE_FLAG_UNVERIFIED = 1u << 1,           /* the detector's or unit's record is not
                                                       verified */
        ENGINE_FLAG_UNKNOWN_DETECTOR = 1u << 2,     /* not in the registry at all */
        ENGINE_FLAG_UNKNOWN_UNIT = 1u << 3,         /* names a unit the registry lacks */
        ENGINE_FLAG_VERIFICATION_SKIPPED = 1u << 4, /* priority rescue: no verification delay */
        ENGINE_FLAG_UNCONFIRMED = 1u << 5,          /* type C: confirming outputs still wait */
        ENGINE_FLAG_REESTABLISHED = 1u << 6,        /* the cause persisted through a reset */
        ENGINE_FLAG_FAIL_SAFE = 1u << 7,            /* raised because the rules left a doubt */
        ENGINE_FLAG_CONFIRMED = 1u << 8,            /* a dependency was satisfied */
};

/* A command's decision names the zone it was given, or for a detector its detector and zone. */
struct engine_decision {
        enum engine_decision_kind kind;
        engine_time time;
        engine_time first_detection; /* start of the episode (alarms and pre-alarms) */
        const char *detector;        /* NULL for zone-wide decisions */
        const char *unit;            /* NULL when none */
        int floor;
        bool has_floor;
        const char *zone;  /* "building", "floor:N", "unit:ID" or "zone:ID" */
        const char *cause; /* for people */
        const char *rule;  /* the rule section that decided, or "built-in" */
        enum engine_fault fault;
        const char *output; /* ENGINE_OUTPUT_* */
        const char *who;    /* commands: who acted */
        unsigned flags;
};

/* Called for every decision, in order. Strings are valid only during the call. Must not call
 * back into the engine. */
typedef void (*engine_decision_fn)(void *ctx, const struct engine_decision *d);

struct engine_setup {
        const struct engine_detector_info *detectors;
        size_t n_detectors;
        const struct engine_unit_info *units;
        size_t n_units;
        const char *const *zones; /* installer zone ids */
        size_t n_zones;
        const struct ruleset *rules; /* NULL: the built-in defaults */
        size_t spare_detectors;      /* slots for detectors not in the registry; 0: 64 */
        engine_time start;           /* the clock at start; supervision counts from here */
        engine_decision_fn emit;
        void *emit_ctx;
};

/* Builds the engine's tables. Nothing about one detector's record stops the engine: a heat
 * detector without a valid class is judged as class A1R, a rule's fixed_c outside the class's
 * range gives way to the class's own figure, an unknown zone or an impossible floor leaves the
 * detector in the zones it can be placed in; each is added to @d as a line starting "warning:"
 * and 0 is returned. Returns -EINVAL only for two detectors with one id, or an output that
 * follows a zone the building lacks (see @d), and -ENOMEM. */
int engine_new(const struct engine_setup *setup, struct diag *d, struct engine **out);

/* Frees @e; NULL is a no-op. */
void engine_free(struct engine *e);

/* --- what goes in --- */

enum engine_reading_kind {
        ENGINE_READING_SMOKE,        /* 1 smoke, 0 clear */
        ENGINE_READING_HEAT_ALARM,   /* the device's own heat alarm output: 1 or 0 */
        ENGINE_READING_TEMPERATURE,  /* °C */
        ENGINE_READING_CALL_POINT,   /* 1 operated, 0 restored */
        ENGINE_READING_TEST,         /* the test button: 1 pressed, 0 released */
        ENGINE_READING_AVAILABILITY, /* 1 online, 0 offline (said by the bridge) */
        ENGINE_READING_BATTERY,      /* percent */
        ENGINE_READING_BATTERY_LOW,  /* 1 low, 0 ok */
        ENGINE_READING_TAMPER,       /* 1 tampered, 0 ok */
        ENGINE_READING_DEVICE_FAULT, /* 1 fault, 0 ok */
        ENGINE_READING_INVALID,      /* a message from this detector that could not be understood */
        ENGINE_READING_HEARTBEAT,    /* heard from, nothing else said */
};

/* The value was reported while the device said it was being tested (a Heiman-type detector's
 * test button sends smoke together with test). */
#define ENGINE_READING_FLAG_TEST 1u

struct engine_reading {
        size_t detector; /* from engine_detector_find() or engine_detector_unknown() */
        enum engine_reading_kind kind;
        double value;
        unsigned flags;
        engine_time time;
};

/* Index of the registry detector @id, or -ENOENT. */
long engine_detector_find(const struct engine *e, const char *id);

/* Index of a slot for a detector the registry does not have, named @name (its source address):
 * the same name gives the same slot. When the spare slots are used up, every further unknown
 * detector shares one last slot, so its alarms are still raised. */
size_t engine_detector_unknown(struct engine *e, const char *name);

/* Applies one reading. */
void engine_reading(struct engine *e, const struct engine_reading *r);

enum engine_command_kind {
        ENGINE_CMD_ACKNOWLEDGE,
        ENGINE_CMD_SILENCE,
        ENGINE_CMD_RESET,
        ENGINE_CMD_DISABLE,
        ENGINE_CMD_ENABLE,
        ENGINE_CMD_TEST_START, /* walk test: signals become test decisions, outputs stay off */
        ENGINE_CMD_TEST_END,
};

struct engine_command {
        enum engine_command_kind kind;
        const char *target; /* "building" (or NULL), "floor:N", "unit:ID", "zone:ID", or for
                               disable, enable and test a detector id */
        const char *who;
        engine_time time;
};

/* Applies a command. Returns 0, or -ENOENT for a target the engine does not know (nothing is
 * done then). */
int engine_command(struct engine *e, const struct engine_command *c);

/* Puts detector @i back into the alarm it was in before a restart (the store kept it open):
 * latched since @first, acknowledged and silenced as recorded. No alarm decision is made (the
 * alarm is not new), but outputs are re-evaluated, so a sounder that should sound does. Returns
 * 0, or -ENOENT for an index out of range. */
int engine_restore_alarm(struct engine *e, size_t i, engine_time first, bool acked, bool silenced);

/* Fires every deadline up to and including @now. */
void engine_tick(struct engine *e, engine_time now);

/* The earliest pending deadline, or ENGINE_NEVER. */
engine_time engine_next_deadline(struct engine *e);

/* --- queries --- */

enum engine_state {
        ENGINE_STATE_NORMAL,
        ENGINE_STATE_PRE_ALARM,
        ENGINE_STATE_ALARM,
        ENGINE_STATE_ACKNOWLEDGED,
        ENGINE_STATE_SILENCED,
        ENGINE_STATE_FAULT,
        ENGINE_STATE_DISABLED,
        ENGINE_STATE_TEST,
};

const char *engine_state_name(enum engine_state s);
const char *engine_decision_name(enum engine_decision_kind k);
const char *engine_fault_name(enum engine_fault f);

size_t engine_detector_count(const struct engine *e);
const char *engine_detector_id(const struct engine *e, size_t i);
enum engine_state engine_detector_state(const struct engine *e, size_t i);

/* Whether detector @i's declared report period lets the gateway see a lost detector within
 * EN 54-25's 300 s. Detectors that declare none are supervised at the rule's silent_s; a wired
 * detector declaring none is not silent-supervised and meets it by its wiring. */
bool engine_detector_meets_en54_25(const struct engine *e, size_t i);

/* How long detector @i may stay silent before it is a fault, in ms (0: not silent-supervised). */
long long engine_detector_supervision_ms(const struct engine *e, size_t i);

/* The state of zone @zone ("building", "floor:N", "unit:ID", "zone:ID"), or -ENOENT. */
int engine_zone_state(const struct engine *e, const char *zone, enum engine_state *out);

/* Whether output @name is on; -ENOENT for an unknown output. */
int engine_output_state(const struct engine *e, const char *name, bool *on);

#endif
