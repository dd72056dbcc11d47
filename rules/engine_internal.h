/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine_internal: the engine's tables, shared by its files (engine.c: setup, lookup, time and
 * dispatch; fire.c: how signals become alarms; supervision.c: faults; outputs.c: outputs and
 * zone states). Not part of the engine's contract; nothing outside rules/engine*.c and
 * rules/fire.c, supervision.c, outputs.c includes it.
 *
 * Invariants: every table is allocated in engine_new() and never resized; d->deadline is the
 * earliest of a detector's own deadlines and is kept current by engine_schedule(); a detector
 * in FIRE_ALARM stays there until a reset (EN 54-2: the fire alarm condition latches).
 */
#ifndef FIREGATE_ENGINE_INTERNAL_H
#define FIREGATE_ENGINE_INTERNAL_H

#include "engine.h"
#include "heat.h"

#define ENGINE_ID_MAX        65
#define ENGINE_READING_KINDS (ENGINE_READING_HEARTBEAT + 1)
/* Times are clamped below this, so adding any rule's delay can never overflow. */
#define ENGINE_TIME_MAX (INT64_MAX / 4)
#define ENGINE_ZONE_MAX 80
#define DET_ZONES_MAX   4

enum fire_state {
        FIRE_NORMAL,
        FIRE_HELD, /* a pre-alarm: a dependency or a positive alarm sequence holds the signal */
        FIRE_ALARM,
};

enum fire_stage {
        STAGE_IDLE,
        STAGE_VERIFY_RETARD,   /* verification or type A: waiting out retard and reset */
        STAGE_VERIFY_CONFIRM,  /* waiting for the same detector to signal again */
        STAGE_COINCIDENCE,     /* type B: waiting for a second detector */
        STAGE_PAS_ACK,         /* positive alarm sequence: waiting for the desk */
        STAGE_PAS_INVESTIGATE, /* acknowledged: the desk investigates */
};

struct engine_unit {
        char id[ENGINE_ID_MAX];
        int floor;
        bool verified;
        bool priority_rescue;
};

struct engine_det {
        char id[ENGINE_ID_MAX];
        enum engine_detector_kind kind;
        bool unknown;  /* a spare slot: not in the registry */
        bool shared;   /* the last spare slot, shared by every unknown detector past the others */
        bool verified; /* its record, and its unit's, are verified */
        bool unknown_unit;
        char unit_id[ENGINE_ID_MAX]; /* empty when none */
        long unit;                   /* index into units, -1 when none or unknown */
        bool has_floor;
        int floor;
        long izone; /* installer zone index, -1 when none */
        size_t zones[DET_ZONES_MAX];
        size_t n_zones;
        char zone_name[ENGINE_ZONE_MAX]; /* the most specific zone, for decisions */

        /* rules */
        const struct ruleset_smoke *smoke;
        const struct ruleset_supervision *sup;
        const char *heat_rule_name;
        bool has_heat;
        char heat_class[4];
        struct heat_params hp;
        engine_time silent_ms;
        bool en54_25_ok;

        /* last known inputs */
        bool smoke_in, heat_in, call_in;
        bool heat_hot; /* the temperatures say alarm */
        bool test_smoke;
        engine_time test_smoke_since;
        bool test_button;

        /* fire state */
        enum fire_state fire;
        enum fire_stage stage;
        engine_time first, stage_deadline, alarm_time;
        bool acked, silenced, confirmed, call_point_alarm;
        engine_time confirm_deadline; /* type C: when waiting outputs stop waiting */
        engine_time reestablish_at;
        engine_time heat_pending_at;
        struct heat_track heat;

        /* supervision */
        engine_time last_heard, offline_since;
        bool offline;
        unsigned faults;                                 /* 1 << enum engine_fault */
        unsigned char invalid_run[ENGINE_READING_KINDS]; /* invalid readings in a row, per kind */
        unsigned invalid_kinds;                          /* kinds whose run reached invalid_count */
        bool battery_pct_low, battery_flag_low;

        bool disabled, walk_test;
        engine_time deadline;
        size_t heap_pos; /* position in engine.heap, or ENGINE_NOT_QUEUED */
};

#define ENGINE_NOT_QUEUED ((size_t)-1)

struct engine_zone {
        char name[ENGINE_ZONE_MAX];
};

struct engine_output {
        const struct ruleset_output *rule;
        size_t zone;
        bool on;
        engine_time pending; /* when a delayed output turns on, or ENGINE_NEVER */
};

struct engine_id_index {
        const char *id; /* points into dets[idx], which never moves */
        size_t idx;
};

struct engine {
        struct engine_det *dets;
        size_t n_registry, n_dets, n_spare_used; /* spares follow the registry detectors */
        struct engine_id_index *by_id;           /* registry detectors sorted by id */
        struct engine_unit *units;
        size_t n_units;
        struct engine_zone *zones;
        size_t n_zones;
        /* zone index ranges: building is 0, then floors, units, installer zones */
        size_t floor_base, unit_base, izone_base;
        int min_floor, max_floor;
        struct engine_output *outputs;
        size_t n_outputs;

        struct ruleset_smoke default_smoke;
        struct ruleset_heat default_heat;
        struct ruleset_supervision default_sup;
        engine_time reestablish_ms;

        engine_time now;
        size_t *heap; /* detectors with a deadline, a binary min-heap on it */
        size_t n_heap;
        engine_time outputs_deadline;

        engine_decision_fn emit_fn;
        void *emit_ctx;
        char cause[256];
};

/* engine.c */
void engine_schedule(struct engine *e, struct engine_det *d);
void engine_emit_det(struct engine *e, enum engine_decision_kind kind, struct engine_det *d,
                     const char *rule, unsigned flags, enum engine_fault fault);
void engine_emit_zone(struct engine *e, enum engine_decision_kind kind, const char *zone,
                      const char *cause, const char *who, const char *output);
bool engine_det_in_zone(const struct engine_det *d, size_t zone);
bool engine_same_scope(const struct engine_det *a, const struct engine_det *b,
                       enum ruleset_scope scope);
long engine_zone_find(const struct engine *e, const char *name);

/* fire.c */
void fire_reading(struct engine *e, struct engine_det *d, const struct engine_reading *r);
void fire_deadline(struct engine *e, struct engine_det *d);
engine_time fire_next_deadline(const struct engine *e, const struct engine_det *d);
void fire_acknowledge(struct engine *e, struct engine_det *d, bool *any);
void fire_silence(struct engine *e, struct engine_det *d, bool *any);
void fire_reset(struct engine *e, struct engine_det *d, bool *any);
void fire_enable(struct engine *e, struct engine_det *d);
void fire_disable(struct engine *e, struct engine_det *d);

/* supervision.c */
void supervision_reading(struct engine *e, struct engine_det *d, const struct engine_reading *r);
void supervision_deadline(struct engine *e, struct engine_det *d);
engine_time supervision_next_deadline(const struct engine_det *d);

/* outputs.c */
void outputs_update(struct engine *e);
enum engine_state engine_det_state(const struct engine_det *d);

#endif
