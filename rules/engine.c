/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine: setup of the tables, the clock, and dispatch of readings and commands to fire.c,
 * supervision.c and outputs.c.
 *
 * Every allocation happens in engine_new(). The clock only moves forward: a reading stamped
 * before the engine's clock is applied at the clock, and every deadline up to a reading's time
 * fires before the reading, so the order of events is the order a person would reconstruct.
 * Deadlines due at the same moment fire in registry order, so a replay gives the same decisions
 * in the same order every time.
 */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define DEFAULT_SPARES 64

static const char *const state_names[] = {
        [ENGINE_STATE_NORMAL] = "normal",     [ENGINE_STATE_PRE_ALARM] = "pre-alarm",
        [ENGINE_STATE_ALARM] = "alarm",       [ENGINE_STATE_ACKNOWLEDGED] = "acknowledged",
        [ENGINE_STATE_SILENCED] = "silenced", [ENGINE_STATE_FAULT] = "fault",
        [ENGINE_STATE_DISABLED] = "disabled", [ENGINE_STATE_TEST] = "test",
};

const char *engine_state_name(enum engine_state s)
{
        return (size_t)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

const char *engine_decision_name(enum engine_decision_kind k)
{
        switch (k) {
        case ENGINE_ALARM:
                return "alarm";
        case ENGINE_PRE_ALARM:
                return "pre-alarm";
        case ENGINE_FAULT:
                return "fault";
        case ENGINE_RESTORE:
                return "restore";
        case ENGINE_TEST:
                return "test";
        case ENGINE_ACKNOWLEDGED:
                return "acknowledged";
        case ENGINE_SILENCED:
                return "silenced";
        case ENGINE_RESET:
                return "reset";
        case ENGINE_OUTPUT_ON:
                return "output-on";
        case ENGINE_OUTPUT_OFF:
                return "output-off";
        case ENGINE_DISABLED:
                return "disabled";
        case ENGINE_ENABLED:
                return "enabled";
        }
        return "?";
}

const char *engine_fault_name(enum engine_fault f)
{
        switch (f) {
        case ENGINE_FAULT_NONE:
                return "none";
        case ENGINE_FAULT_SILENT:
                return "silent";
        case ENGINE_FAULT_OFFLINE:
                return "offline";
        case ENGINE_FAULT_BATTERY_LOW:
                return "battery_low";
        case ENGINE_FAULT_TAMPER:
                return "tamper";
        case ENGINE_FAULT_DEVICE:
                return "device";
        case ENGINE_FAULT_INVALID_DATA:
                return "invalid_data";
        case ENGINE_FAULT_COUNT:
                break;
        }
        return "?";
}

/* --- setup --- */

/* The registry's own range of floors (schema and bundle). A floor beyond it cannot be a real
 * floor, and must not make a table of millions of floor zones. */
#define ENGINE_FLOOR_MIN (-20)
#define ENGINE_FLOOR_MAX 200

static bool floor_ok(int floor)
{
        return floor >= ENGINE_FLOOR_MIN && floor <= ENGINE_FLOOR_MAX;
}

static int cmp_unit(const void *a, const void *b)
{
        return strcmp(((const struct engine_unit *)a)->id, ((const struct engine_unit *)b)->id);
}

static long unit_find(const struct engine *e, const char *id)
{
        struct engine_unit key;
        const struct engine_unit *u;

        if (!id || strlen(id) >= sizeof(key.id))
                return -1;
        snprintf(key.id, sizeof(key.id), "%s", id);
        u = bsearch(&key, e->units, e->n_units, sizeof(*e->units), cmp_unit);
        return u ? u - e->units : -1;
}

static enum ruleset_kind_bit kind_bit(enum engine_detector_kind k)
{
        switch (k) {
        case ENGINE_SMOKE:
                return RULESET_KIND_SMOKE;
        case ENGINE_HEAT:
                return RULESET_KIND_HEAT;
        case ENGINE_MULTI:
                return RULESET_KIND_MULTI;
        case ENGINE_CALL_POINT:
                return RULESET_KIND_CALL_POINT;
        }
        return RULESET_KIND_SMOKE;
}

static const char *izone_name(const struct engine *e, const struct engine_det *d)
{
        return d->izone >= 0 ? e->zones[e->izone_base + (size_t)d->izone].name + 5 : NULL;
}

/* Picks the first matching rule of each kind, or the engine's defaults. */
static void pick_rules(struct engine *e, struct engine_det *d, const struct ruleset *rs,
                       const struct ruleset_heat **heat)
{
        unsigned bit = kind_bit(d->kind);
        const char *zone = izone_name(e, d);
        bool in_unit = d->unit_id[0] != '\0';

        d->smoke = &e->default_smoke;
        d->sup = &e->default_sup;
        *heat = NULL;
        /* A smoke rule holds smoke only; heat detectors and call points never wait. */
        for (size_t i = 0;
             rs && (d->kind == ENGINE_SMOKE || d->kind == ENGINE_MULTI) && i < rs->n_smoke; i++)
                if (ruleset_match(&rs->smoke[i].match, bit, zone, in_unit, d->id)) {
                        d->smoke = &rs->smoke[i];
                        break;
                }
        for (size_t i = 0; rs && i < rs->n_heat; i++)
                if (ruleset_match(&rs->heat[i].match, bit, zone, in_unit, d->id)) {
                        *heat = &rs->heat[i];
                        break;
                }
        for (size_t i = 0; rs && i < rs->n_supervision; i++)
                if (ruleset_match(&rs->supervision[i].match, bit, zone, in_unit, d->id)) {
                        d->sup = &rs->supervision[i];
                        break;
                }
}

static int setup_heat(struct engine *e, struct engine_det *d, const char *cls_text,
                      const struct ruleset_heat *rule, struct diag *diag)
{
        enum heat_class cls;
        char suffix, why[160];

        d->heat_rule_name = rule ? rule->name : "built-in";
        if (d->kind == ENGINE_SMOKE || d->kind == ENGINE_CALL_POINT)
                return 0;
        /* A multi-sensor without a declared class is held to the most sensitive one. */
        if (!cls_text && d->kind == ENGINE_MULTI)
                cls_text = "A1R";
        /* Nothing about a detector's record may stop it from raising an alarm: without a valid
         * class it is judged as the most sensitive one, and said so. */
        if (!cls_text || heat_class_parse(cls_text, &cls, &suffix) < 0) {
                diag_add(diag, d->id, 0,
                         "warning: no valid EN 54-5 class ('%s'); judged as class A1R, the most "
                         "sensitive",
                         cls_text ? cls_text : "none");
                cls_text = "A1R";
                cls = HEAT_CLASS_A1;
                suffix = 'R';
        }
        if (heat_params_resolve(rule, cls, suffix, &d->hp, why, sizeof(why)) < 0) {
                diag_add(diag, rule ? rule->file : d->id, rule ? rule->line : 0,
                         "warning: %s (detector %s): the class's own figures apply instead", why,
                         d->id);
                d->heat_rule_name = "built-in";
                if (heat_params_resolve(NULL, cls, suffix, &d->hp, why, sizeof(why)) < 0)
                        return -EINVAL;
        }
        snprintf(d->heat_class, sizeof(d->heat_class), "%s", cls_text);
        d->has_heat = true;
        (void)e;
        return 0;
}

static void det_base(struct engine *e, struct engine_det *d)
{
        d->unit = -1;
        d->izone = -1;
        d->fire = FIRE_NORMAL;
        d->stage = STAGE_IDLE;
        d->first = d->stage_deadline = d->alarm_time = ENGINE_NEVER;
        d->reestablish_at = d->heat_pending_at = d->confirm_deadline = ENGINE_NEVER;
        d->deadline = ENGINE_NEVER;
        d->heap_pos = ENGINE_NOT_QUEUED;
        d->last_heard = e->now;
        d->smoke = &e->default_smoke;
        d->sup = &e->default_sup;
        d->heat_rule_name = "built-in";
        d->confirmed = true;
        heat_track_init(&d->heat);
}

static void det_zone_name(struct engine *e, struct engine_det *d)
{
        if (d->unit_id[0])
                snprintf(d->zone_name, sizeof(d->zone_name), "unit:%s", d->unit_id);
        else if (d->izone >= 0)
                snprintf(d->zone_name, sizeof(d->zone_name), "%s",
                         e->zones[e->izone_base + (size_t)d->izone].name);
        else if (d->has_floor)
                snprintf(d->zone_name, sizeof(d->zone_name), "floor:%d", d->floor);
        else
                snprintf(d->zone_name, sizeof(d->zone_name), "building");
}

static int setup_det(struct engine *e, struct engine_det *d, const struct engine_detector_info *in,
                     const struct engine_setup *s, struct diag *diag)
{
        const struct ruleset_heat *heat_rule;
        int r = 0;

        det_base(e, d);
        if (!in->id || !*in->id || strlen(in->id) >= sizeof(d->id)) {
                diag_add(diag, NULL, 0, "a detector id must be 1 to %zu characters",
                         sizeof(d->id) - 1);
                return -EINVAL;
        }
        snprintf(d->id, sizeof(d->id), "%s", in->id);
        d->kind = in->kind;
        d->verified = in->verified;
        d->has_floor = true;
        d->floor = in->floor;
        if (in->unit) {
                snprintf(d->unit_id, sizeof(d->unit_id), "%s", in->unit);
                d->unit = unit_find(e, in->unit);
                d->unknown_unit = d->unit < 0;
                if (d->unit >= 0 && !e->units[d->unit].verified)
                        d->verified = false;
        }
        for (size_t z = 0; in->zone && z < s->n_zones; z++)
                if (strcmp(s->zones[z], in->zone) == 0)
                        d->izone = (long)z;
        if (in->zone && d->izone < 0)
                diag_add(diag, d->id, 0,
                         "warning: names the zone '%s', which the registry lacks; it belongs to "
                         "its floor and the building only",
                         in->zone);
        d->zones[d->n_zones++] = 0;
        if (floor_ok(d->floor))
                d->zones[d->n_zones++] = e->floor_base + (size_t)(d->floor - e->min_floor);
        else
                diag_add(diag, d->id, 0,
                         "warning: floor %d is outside %d..%d; it belongs to the building zone "
                         "only",
                         d->floor, ENGINE_FLOOR_MIN, ENGINE_FLOOR_MAX);
        if (d->unit >= 0)
                d->zones[d->n_zones++] = e->unit_base + (size_t)d->unit;
        if (d->izone >= 0)
                d->zones[d->n_zones++] = e->izone_base + (size_t)d->izone;
        det_zone_name(e, d);
        pick_rules(e, d, s->rules, &heat_rule);
        if (setup_heat(e, d, in->heat_class, heat_rule, diag) < 0)
                r = -EINVAL;
        d->silent_ms =
                in->report_period_s > 0
                        ? (engine_time)llround(in->report_period_s * 1000.0 * d->sup->silent_factor)
                        : d->sup->silent_default_ms;
        /* EN 54-25: a lost radio component is detected within 300 s. */
        d->en54_25_ok = in->wired || d->silent_ms <= 300000;
        return r;
}

static void widen_floors(struct engine *e, int floor)
{
        if (!floor_ok(floor))
                return;
        if (floor < e->min_floor)
                e->min_floor = floor;
        if (floor > e->max_floor)
                e->max_floor = floor;
}

static int setup_zones(struct engine *e, const struct engine_setup *s)
{
        size_t z = 0;

        e->min_floor = 1;
        e->max_floor = 1;
        for (size_t i = 0; i < s->n_detectors; i++)
                widen_floors(e, s->detectors[i].floor);
        for (size_t i = 0; i < s->n_units; i++)
                widen_floors(e, s->units[i].floor);
        e->floor_base = 1;
        e->unit_base = e->floor_base + (size_t)(e->max_floor - e->min_floor + 1);
        e->izone_base = e->unit_base + s->n_units;
        e->n_zones = e->izone_base + s->n_zones;
        e->zones = calloc(e->n_zones, sizeof(*e->zones));
        if (!e->zones)
                return -ENOMEM;
        snprintf(e->zones[z++].name, ENGINE_ZONE_MAX, "building");
        for (int f = e->min_floor; f <= e->max_floor; f++)
                snprintf(e->zones[z++].name, ENGINE_ZONE_MAX, "floor:%d", f);
        for (size_t i = 0; i < s->n_units; i++)
                snprintf(e->zones[z++].name, ENGINE_ZONE_MAX, "unit:%s", e->units[i].id);
        for (size_t i = 0; i < s->n_zones; i++)
                snprintf(e->zones[z++].name, ENGINE_ZONE_MAX, "zone:%.64s", s->zones[i]);
        return 0;
}

static int setup_units(struct engine *e, const struct engine_setup *s, struct diag *diag)
{
        e->n_units = s->n_units;
        e->units = calloc(s->n_units + 1, sizeof(*e->units));
        if (!e->units)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_units; i++) {
                const struct engine_unit_info *u = &s->units[i];

                if (!u->id || strlen(u->id) >= sizeof(e->units[i].id)) {
                        diag_add(diag, NULL, 0, "unit %zu has no usable id", i);
                        return -EINVAL;
                }
                snprintf(e->units[i].id, sizeof(e->units[i].id), "%s", u->id);
                e->units[i].floor = u->floor;
                e->units[i].verified = u->verified;
                /* Only verified residents count: a priority that skips verification must rest
                 * on signed data. */
                e->units[i].priority_rescue = u->bedridden > 0 || u->mobility_impaired > 0;
        }
        qsort(e->units, e->n_units, sizeof(*e->units), cmp_unit);
        for (size_t i = 1; i < e->n_units; i++)
                if (strcmp(e->units[i - 1].id, e->units[i].id) == 0) {
                        diag_add(diag, NULL, 0, "unit %s is listed twice", e->units[i].id);
                        return -EINVAL;
                }
        return 0;
}

static int cmp_by_id(const void *a, const void *b)
{
        return strcmp(((const struct engine_id_index *)a)->id,
                      ((const struct engine_id_index *)b)->id);
}

/* An output that follows each-unit is one output per unit, all of one rule: the sirens inside
 * the apartments, each sounding for its own unit's alarm. */
static int setup_outputs(struct engine *e, const struct ruleset *rs, struct diag *diag)
{
        size_t n = 0;
        int r = 0;

        for (size_t i = 0; rs && i < rs->n_outputs; i++)
                n += strcmp(rs->outputs[i].follows, RULESET_EACH_UNIT) == 0 ? e->n_units : 1;
        e->outputs = calloc(n + 1, sizeof(*e->outputs));
        if (!e->outputs)
                return -ENOMEM;
        for (size_t i = 0; rs && i < rs->n_outputs; i++) {
                const struct ruleset_output *rule = &rs->outputs[i];
                long z;

                if (strcmp(rule->follows, RULESET_EACH_UNIT) == 0) {
                        for (size_t u = 0; u < e->n_units; u++)
                                e->outputs[e->n_outputs++] = (struct engine_output){
                                        .rule = rule,
                                        .zone = e->unit_base + u,
                                        .pending = ENGINE_NEVER,
                                };
                        continue;
                }
                z = engine_zone_find(e, rule->follows);
                if (z < 0) {
                        diag_add(diag, rule->file, rule->line,
                                 "output %s follows '%s', which is not a zone of this building",
                                 rule->name, rule->follows);
                        r = -EINVAL;
                        continue;
                }
                e->outputs[e->n_outputs++] = (struct engine_output){
                        .rule = rule,
                        .zone = (size_t)z,
                        .pending = ENGINE_NEVER,
                };
        }
        return r;
}

static int setup_dets(struct engine *e, const struct engine_setup *s, struct diag *diag)
{
        int r = 0;

        for (size_t i = 0; i < s->n_detectors; i++)
                if (setup_det(e, &e->dets[i], &s->detectors[i], s, diag) < 0)
                        r = -EINVAL;
        for (size_t i = 0; i < e->n_registry; i++)
                e->by_id[i] = (struct engine_id_index){e->dets[i].id, i};
        qsort(e->by_id, e->n_registry, sizeof(*e->by_id), cmp_by_id);
        for (size_t i = 1; i < e->n_registry; i++)
                if (strcmp(e->by_id[i - 1].id, e->by_id[i].id) == 0) {
                        diag_add(diag, e->by_id[i].id, 0, "detector listed twice");
                        r = -EINVAL;
                }
        for (size_t i = e->n_registry; i < e->n_dets; i++) {
                struct engine_det *d = &e->dets[i];
                char why[160];

                det_base(e, d);
                d->unknown = true;
                d->has_floor = false;
                d->zones[d->n_zones++] = 0;
                snprintf(d->zone_name, ENGINE_ZONE_MAX, "building");
                /* Nothing is known of it, so its temperatures are judged by the most sensitive
                 * class: an unknown detector must not be less able to raise an alarm. */
                if (heat_params_resolve(NULL, HEAT_CLASS_A1, 'R', &d->hp, why, sizeof(why)) == 0) {
                        d->has_heat = true;
                        snprintf(d->heat_class, sizeof(d->heat_class), "A1R");
                }
        }
        return r;
}

int engine_new(const struct engine_setup *s, struct diag *diag, struct engine **out)
{
        struct engine *e;
        size_t spares = s->spare_detectors ? s->spare_detectors : DEFAULT_SPARES;
        int r;

        *out = NULL;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->now = s->start;
        e->emit_fn = s->emit;
        e->emit_ctx = s->emit_ctx;
        e->outputs_deadline = ENGINE_NEVER;
        ruleset_smoke_defaults(&e->default_smoke);
        snprintf(e->default_smoke.name, sizeof(e->default_smoke.name), "built-in");
        ruleset_heat_defaults(&e->default_heat);
        ruleset_supervision_defaults(&e->default_sup);
        snprintf(e->default_sup.name, sizeof(e->default_sup.name), "built-in");
        e->reestablish_ms = s->rules ? s->rules->building.reestablish_ms : 10000;
        e->n_registry = s->n_detectors;
        e->n_dets = s->n_detectors + spares;
        e->dets = calloc(e->n_dets, sizeof(*e->dets));
        e->by_id = calloc(e->n_registry + 1, sizeof(*e->by_id));
        e->heap = calloc(e->n_dets + 1, sizeof(*e->heap));
        if (!e->dets || !e->by_id || !e->heap) {
                r = -ENOMEM;
                goto out_free;
        }
        r = setup_units(e, s, diag);
        if (r == 0)
                r = setup_zones(e, s);
        if (r == 0)
                r = setup_dets(e, s, diag);
        if (r == 0)
                r = setup_outputs(e, s->rules, diag);
        if (r < 0)
                goto out_free;
        for (size_t i = 0; i < e->n_dets; i++)
                engine_schedule(e, &e->dets[i]);
        *out = e;
        return 0;

out_free:
        engine_free(e);
        return r;
}

void engine_free(struct engine *e)
{
        if (!e)
                return;
        free(e->dets);
        free(e->by_id);
        free(e->heap);
        free(e->units);
        free(e->zones);
        free(e->outputs);
        free(e);
}

/* --- lookup --- */

long engine_detector_find(const struct engine *e, const char *id)
{
        size_t lo = 0, hi = e->n_registry;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(e->by_id[mid].id, id);

                if (c == 0)
                        return (long)e->by_id[mid].idx;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -ENOENT;
}

size_t engine_detector_unknown(struct engine *e, const char *name)
{
        size_t spares = e->n_dets - e->n_registry;

        for (size_t i = 0; i < e->n_spare_used; i++)
                if (strncmp(e->dets[e->n_registry + i].id, name, ENGINE_ID_MAX - 1) == 0)
                        return e->n_registry + i;
        /* The last spare is shared by everything past the others: its alarms still count. */
        if (e->n_spare_used + 1 >= spares) {
                struct engine_det *last = &e->dets[e->n_dets - 1];

                if (e->n_spare_used < spares) {
                        snprintf(last->id, sizeof(last->id), "unknown-detectors");
                        last->shared = true;
                        e->n_spare_used = spares;
                }
                return e->n_dets - 1;
        }
        snprintf(e->dets[e->n_registry + e->n_spare_used].id, ENGINE_ID_MAX, "%s", name);
        return e->n_registry + e->n_spare_used++;
}

long engine_zone_find(const struct engine *e, const char *name)
{
        if (!name || strcmp(name, "building") == 0)
                return 0;
        for (size_t z = 0; z < e->n_zones; z++)
                if (strcmp(e->zones[z].name, name) == 0)
                        return (long)z;
        return -ENOENT;
}

bool engine_det_in_zone(const struct engine_det *d, size_t zone)
{
        for (size_t i = 0; i < d->n_zones; i++)
                if (d->zones[i] == zone)
                        return true;
        return false;
}

/* Whether @b is in @a's confirmation scope (ruleset.h: enum ruleset_scope). */
static bool same_scope(const struct engine_det *a, const struct engine_det *b,
                       enum ruleset_scope scope)
{
        switch (scope) {
        case RULESET_SCOPE_BUILDING:
                return true;
        case RULESET_SCOPE_UNIT:
                if (a->unit_id[0])
                        return strcmp(a->unit_id, b->unit_id) == 0;
                /* A common-area detector: its installer zone, else its floor. */
                if (a->izone >= 0)
                        return a->izone == b->izone;
                return a->has_floor && b->has_floor && a->floor == b->floor;
        case RULESET_SCOPE_ZONE:
                if (a->izone >= 0)
                        return a->izone == b->izone;
                return a->has_floor && b->has_floor && a->floor == b->floor;
        case RULESET_SCOPE_FLOOR:
                return a->has_floor && b->has_floor && a->floor == b->floor;
        }
        return true;
}

bool engine_same_scope(const struct engine_det *a, const struct engine_det *b,
                       enum ruleset_scope scope)
{
        return same_scope(a, b, scope);
}

/* --- decisions --- */

static unsigned det_flags(const struct engine *e, const struct engine_det *d)
{
        unsigned f = 0;

        if (d->unknown)
                f |= ENGINE_FLAG_UNKNOWN_DETECTOR | ENGINE_FLAG_UNVERIFIED;
        else if (!d->verified)
                f |= ENGINE_FLAG_UNVERIFIED;
        if (d->unknown_unit)
                f |= ENGINE_FLAG_UNKNOWN_UNIT | ENGINE_FLAG_UNVERIFIED;
        if (d->unit >= 0 && e->units[d->unit].priority_rescue)
                f |= ENGINE_FLAG_PRIORITY_RESCUE;
        return f;
}

void engine_emit_det(struct engine *e, enum engine_decision_kind kind, struct engine_det *d,
                     const char *rule, unsigned flags, enum engine_fault fault)
{
        struct engine_decision dec = {
                .kind = kind,
                .time = e->now,
                .first_detection = d->first,
                .detector = d->id,
                .unit = d->unit_id[0] ? d->unit_id : NULL,
                .floor = d->floor,
                .has_floor = d->has_floor,
                .zone = d->zone_name,
                .cause = e->cause,
                .rule = rule ? rule : "built-in",
                .fault = fault,
                .flags = flags | det_flags(e, d),
        };

        if (kind != ENGINE_ALARM && kind != ENGINE_PRE_ALARM)
                dec.flags &= ~ENGINE_FLAG_PRIORITY_RESCUE;
        if (e->emit_fn)
                e->emit_fn(e->emit_ctx, &dec);
}

void engine_emit_zone(struct engine *e, enum engine_decision_kind kind, const char *zone,
                      const char *cause, const char *who, const char *output)
{
        struct engine_decision dec = {
                .kind = kind,
                .time = e->now,
                .first_detection = ENGINE_NEVER,
                .zone = zone,
                .cause = cause,
                .rule = "built-in",
                .output = output,
                .who = who,
        };

        if (e->emit_fn)
                e->emit_fn(e->emit_ctx, &dec);
}

/* --- time --- */

/* The deadlines live in a binary min-heap of detector indices, so that a reading, which moves
 * its detector's supervision deadline, costs O(log n) however large the building. */
static engine_time heap_key(const struct engine *e, size_t pos)
{
        return e->dets[e->heap[pos]].deadline;
}

static void heap_swap(struct engine *e, size_t a, size_t b)
{
        size_t t = e->heap[a];

        e->heap[a] = e->heap[b];
        e->heap[b] = t;
        e->dets[e->heap[a]].heap_pos = a;
        e->dets[e->heap[b]].heap_pos = b;
}

/* Earlier deadline first; on a tie, the detector listed first. */
static bool heap_less(const struct engine *e, size_t a, size_t b)
{
        engine_time ka = heap_key(e, a), kb = heap_key(e, b);

        return ka < kb || (ka == kb && e->heap[a] < e->heap[b]);
}

static void heap_up(struct engine *e, size_t pos)
{
        while (pos > 0 && heap_less(e, pos, (pos - 1) / 2)) {
                heap_swap(e, pos, (pos - 1) / 2);
                pos = (pos - 1) / 2;
        }
}

static void heap_down(struct engine *e, size_t pos)
{
        for (;;) {
                size_t l = 2 * pos + 1, r = l + 1, m = pos;

                if (l < e->n_heap && heap_less(e, l, m))
                        m = l;
                if (r < e->n_heap && heap_less(e, r, m))
                        m = r;
                if (m == pos)
                        return;
                heap_swap(e, pos, m);
                pos = m;
        }
}

static void heap_remove(struct engine *e, struct engine_det *d)
{
        size_t pos = d->heap_pos, last = e->n_heap - 1;

        d->heap_pos = ENGINE_NOT_QUEUED;
        if (pos != last) {
                e->heap[pos] = e->heap[last];
                e->dets[e->heap[pos]].heap_pos = pos;
        }
        e->n_heap--;
        if (pos < e->n_heap) {
                heap_up(e, pos);
                heap_down(e, pos);
        }
}

static void heap_set(struct engine *e, struct engine_det *d, engine_time deadline)
{
        d->deadline = deadline;
        if (deadline == ENGINE_NEVER) {
                if (d->heap_pos != ENGINE_NOT_QUEUED)
                        heap_remove(e, d);
                return;
        }
        if (d->heap_pos == ENGINE_NOT_QUEUED) {
                d->heap_pos = e->n_heap;
                e->heap[e->n_heap++] = (size_t)(d - e->dets);
        }
        heap_up(e, d->heap_pos);
        heap_down(e, d->heap_pos);
}

void engine_schedule(struct engine *e, struct engine_det *d)
{
        engine_time f = fire_next_deadline(e, d), s = supervision_next_deadline(d);

        heap_set(e, d, f < s ? f : s);
}

engine_time engine_next_deadline(struct engine *e)
{
        engine_time t = e->n_heap ? heap_key(e, 0) : ENGINE_NEVER;

        return t < e->outputs_deadline ? t : e->outputs_deadline;
}

static engine_time clamp_time(engine_time t)
{
        return t < 0 ? 0 : (t > ENGINE_TIME_MAX ? ENGINE_TIME_MAX : t);
}

void engine_tick(struct engine *e, engine_time now)
{
        engine_time next;

        now = clamp_time(now);
        while ((next = engine_next_deadline(e)) <= now && next != ENGINE_NEVER) {
                if (next > e->now)
                        e->now = next;
                if (e->outputs_deadline <= next) {
                        outputs_update(e);
                        continue;
                }
                struct engine_det *d = &e->dets[e->heap[0]];

                fire_deadline(e, d);
                supervision_deadline(e, d);
                engine_schedule(e, d);
                /* Never loop on a deadline that nothing cleared: push it past the clock. */
                if (d->deadline <= e->now)
                        heap_set(e, d, e->now + 1);
        }
        if (now > e->now)
                e->now = now;
}

/* --- input --- */

/* Moves the clock to just before @t. A reading or command at T is applied before the deadlines
 * due at T: a window that ends at T still includes T (smoke again at the last moment of a
 * confirmation window confirms; a heartbeat at the supervision deadline is in time). */
static engine_time advance_to(struct engine *e, engine_time t)
{
        t = clamp_time(t);
        if (t > e->now)
                engine_tick(e, t - 1);
        if (t > e->now)
                e->now = t;
        return e->now;
}

void engine_reading(struct engine *e, const struct engine_reading *r)
{
        struct engine_det *d;
        engine_time t;

        if (r->detector >= e->n_dets)
                return;
        t = advance_to(e, r->time);
        d = &e->dets[r->detector];
        supervision_reading(e, d, r);
        fire_reading(e, d, r);
        engine_schedule(e, d);
        engine_tick(e, t);
}

/* Applies @fn to every detector of @target, which is a zone name or a detector id. */
/* Resolves a command's target: a zone (index into zones), or else a registry detector. */
static int resolve_target(const struct engine *e, const char *target, long *zone, long *det)
{
        *zone = engine_zone_find(e, target);
        *det = *zone < 0 && target ? engine_detector_find(e, target) : -ENOENT;
        return *zone < 0 && *det < 0 ? -ENOENT : 0;
}

/* Applies @fn to every detector of the zone @z, or to the detector @det. */
static void for_target(struct engine *e, long z, long det,
                       void (*fn)(struct engine *, struct engine_det *, bool *), bool *any)
{
        for (size_t i = 0; i < e->n_dets; i++) {
                struct engine_det *d = &e->dets[i];

                if (det >= 0 ? (long)i != det : !engine_det_in_zone(d, (size_t)z))
                        continue;
                fn(e, d, any);
                engine_schedule(e, d);
        }
}

static void do_disable(struct engine *e, struct engine_det *d, bool *any)
{
        if (d->disabled)
                return;
        d->disabled = true;
        *any = true;
        fire_disable(e, d);
}

static void do_enable(struct engine *e, struct engine_det *d, bool *any)
{
        if (!d->disabled)
                return;
        d->disabled = false;
        *any = true;
        fire_enable(e, d);
}

static void do_test_start(struct engine *e, struct engine_det *d, bool *any)
{
        (void)e;
        if (!d->walk_test)
                *any = true;
        d->walk_test = true;
}

static void do_test_end(struct engine *e, struct engine_det *d, bool *any)
{
        if (!d->walk_test)
                return;
        *any = true;
        d->walk_test = false;
        /* What is still signalling after the test is real. */
        fire_enable(e, d);
}

int engine_command(struct engine *e, const struct engine_command *c)
{
        static const struct {
                void (*fn)(struct engine *, struct engine_det *, bool *);
                enum engine_decision_kind decision;
                const char *done;
        } cmds[] = {
                [ENGINE_CMD_ACKNOWLEDGE] = {fire_acknowledge, ENGINE_ACKNOWLEDGED, "acknowledged"},
                [ENGINE_CMD_SILENCE] = {fire_silence, ENGINE_SILENCED, "silenced"},
                [ENGINE_CMD_RESET] = {fire_reset, ENGINE_RESET, "reset"},
                [ENGINE_CMD_DISABLE] = {do_disable, ENGINE_DISABLED, "disabled"},
                [ENGINE_CMD_ENABLE] = {do_enable, ENGINE_ENABLED, "enabled"},
                [ENGINE_CMD_TEST_START] = {do_test_start, ENGINE_TEST, "walk test started"},
                [ENGINE_CMD_TEST_END] = {do_test_end, ENGINE_TEST, "walk test ended"},
        };
        const char *target = c->target && *c->target ? c->target : "building";
        bool any = false;
        long z, det;
        engine_time t;
        int r;

        if ((size_t)c->kind >= sizeof(cmds) / sizeof(cmds[0]))
                return -EINVAL;
        /* An unknown target changes nothing, not even the clock. */
        r = resolve_target(e, target, &z, &det);
        if (r < 0)
                return r;
        t = advance_to(e, c->time);
        for_target(e, z, det, cmds[c->kind].fn, &any);
        if (!any) {
                r = -EALREADY;
        } else if (det >= 0) {
                struct engine_det *d = &e->dets[det];
                struct engine_decision dec = {
                        .kind = cmds[c->kind].decision,
                        .time = e->now,
                        .first_detection = ENGINE_NEVER,
                        .detector = d->id,
                        .unit = d->unit_id[0] ? d->unit_id : NULL,
                        .floor = d->floor,
                        .has_floor = d->has_floor,
                        .zone = d->zone_name,
                        .cause = cmds[c->kind].done,
                        .rule = "built-in",
                        .who = c->who,
                };

                if (e->emit_fn)
                        e->emit_fn(e->emit_ctx, &dec);
        } else {
                engine_emit_zone(e, cmds[c->kind].decision, e->zones[z].name, cmds[c->kind].done,
                                 c->who, NULL);
        }
        if (any)
                outputs_update(e);
        engine_tick(e, t);
        return r;
}

int engine_restore_alarm(struct engine *e, size_t i, engine_time first, bool acked, bool silenced)
{
        struct engine_det *d;

        if (i >= e->n_dets)
                return -ENOENT;
        d = &e->dets[i];
        d->fire = FIRE_ALARM;
        d->stage = STAGE_IDLE;
        d->stage_deadline = ENGINE_NEVER;
        d->first = d->alarm_time = clamp_time(first);
        d->acked = acked;
        d->silenced = silenced;
        d->confirmed = true;
        engine_schedule(e, d);
        outputs_update(e);
        return 0;
}

long long engine_detector_supervision_ms(const struct engine *e, size_t i)
{
        return i < e->n_dets ? (long long)e->dets[i].silent_ms : 0;
}

/* --- queries --- */

size_t engine_detector_count(const struct engine *e)
{
        return e->n_registry;
}

const char *engine_detector_id(const struct engine *e, size_t i)
{
        return i < e->n_dets ? e->dets[i].id : NULL;
}

enum engine_state engine_detector_state(const struct engine *e, size_t i)
{
        return i < e->n_dets ? engine_det_state(&e->dets[i]) : ENGINE_STATE_NORMAL;
}

bool engine_detector_meets_en54_25(const struct engine *e, size_t i)
{
        return i < e->n_dets && e->dets[i].en54_25_ok;
}

int engine_output_state(const struct engine *e, const char *name, bool *on)
{
        int r = -ENOENT;

        *on = false;
        for (size_t i = 0; i < e->n_outputs; i++)
                if (strcmp(e->outputs[i].rule->name, name) == 0) {
                        *on = *on || e->outputs[i].on;
                        r = 0;
                }
        return r;
}

int engine_zone_state(const struct engine *e, const char *zone, enum engine_state *out)
{
        static const int rank[] = {
                [ENGINE_STATE_NORMAL] = 0,       [ENGINE_STATE_DISABLED] = 1,
                [ENGINE_STATE_TEST] = 2,         [ENGINE_STATE_FAULT] = 3,
                [ENGINE_STATE_PRE_ALARM] = 4,    [ENGINE_STATE_SILENCED] = 5,
                [ENGINE_STATE_ACKNOWLEDGED] = 6, [ENGINE_STATE_ALARM] = 7,
        };
        long z = engine_zone_find(e, zone);
        enum engine_state best = ENGINE_STATE_NORMAL;
        bool any = false, all_disabled = true;

        if (z < 0)
                return -ENOENT;
        for (size_t i = 0; i < e->n_dets; i++) {
                const struct engine_det *d = &e->dets[i];
                enum engine_state s;

                if (!engine_det_in_zone(d, (size_t)z) || (d->unknown && !d->id[0]))
                        continue;
                any = true;
                s = engine_det_state(d);
                if (s != ENGINE_STATE_DISABLED)
                        all_disabled = false;
                /* A partly disabled zone shows it (unless something more urgent is going on):
                 * the desk must know part of the zone is not watched. */
                if (rank[s] > rank[best])
                        best = s;
        }
        *out = any && all_disabled ? ENGINE_STATE_DISABLED : best;
        return 0;
}
