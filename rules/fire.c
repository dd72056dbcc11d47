/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fire: how a detector's signals become pre-alarms and alarms.
 *
 * Smoke follows the detector's [smoke] rule: at once, or held by a dependency (NFPA 72 alarm
 * verification, EN 54-2 7.12 types A, B and C) or by a positive alarm sequence. Heat (a heat
 * detector, or a multi-sensor's heat channel) and manual call points never wait for any rule.
 * Wireless detectors report only on change, so every check at the end of a delay uses the last
 * known state rather than waiting for a message that may never come.
 *
 * Whatever holds a signal, another detector's signal in the same scope confirms it at once, and
 * a unit with a verified bedridden or mobility-impaired resident skips the delay. After a reset,
 * a detector whose cause persists gives a new alarm.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"

/* Whole seconds for messages: the rules are set in seconds. */
static long long secs(engine_time ms)
{
        return (long long)(ms / 1000);
}

/* Names @d's confirmation scope as engine_same_scope() applies it to @d. */
static const char *scope_text(const struct engine_det *d, enum ruleset_scope s)
{
        switch (s) {
        case RULESET_SCOPE_UNIT:
                if (d->unit_id[0])
                        return "its unit";
                return d->izone >= 0 ? "its zone" : "its floor";
        case RULESET_SCOPE_ZONE:
                return d->izone >= 0 ? "its zone" : "its floor";
        case RULESET_SCOPE_FLOOR:
                return "its floor";
        case RULESET_SCOPE_BUILDING:
                return "the building";
        }
        return "its zone";
}

/* smoke_in is only ever set by smoke without the test flag, so a test press after real smoke
 * does not hide the smoke. */
static bool cause_persists(const struct engine_det *d)
{
        return d->smoke_in || d->heat_in || d->heat_hot || d->call_in;
}

/* Whether @o can take part in confirming another detector's signal at all. */
static bool watching(const struct engine_det *o)
{
        return !o->disabled && !o->walk_test;
}

static bool pas_held(const struct engine_det *d)
{
        return d->stage == STAGE_PAS_ACK || d->stage == STAGE_PAS_INVESTIGATE;
}

static void confirm_peers(struct engine *e, struct engine_det *trigger);

/* Enters the fire alarm condition; e->cause says why. */
static void raise_alarm(struct engine *e, struct engine_det *d, const char *rule, unsigned flags)
{
        if (d->fire == FIRE_ALARM)
                return;
        if (d->fire == FIRE_NORMAL || d->first == ENGINE_NEVER)
                d->first = e->now;
        d->fire = FIRE_ALARM;
        d->stage = STAGE_IDLE;
        d->stage_deadline = ENGINE_NEVER;
        d->alarm_time = e->now;
        d->acked = d->silenced = false;
        d->confirmed = !(flags & ENGINE_FLAG_UNCONFIRMED);
        /* Type C: confirming outputs wait at most the rule's window (EN 54-2 7.11: output delays
         * are bounded). */
        d->confirm_deadline = d->confirmed ? ENGINE_NEVER : e->now + d->smoke->window_ms;
        engine_emit_det(e, ENGINE_ALARM, d, rule, flags, ENGINE_FAULT_NONE);
        confirm_peers(e, d);
        engine_schedule(e, d);
        outputs_update(e);
}

/* Another detector's alarm confirms what is held in its scope (EN 54-2 types A and B, NFPA 72
 * verification), and confirms type C alarms for their outputs. A positive alarm sequence ends
 * at any other alarm anywhere (NFPA 72: "any other initiating device"), and a detector in its
 * scope whose own signal persists, held or not, joins the alarm. */
static void confirm_peers(struct engine *e, struct engine_det *trigger)
{
        for (size_t i = 0; i < e->n_dets; i++) {
                struct engine_det *h = &e->dets[i];
                bool in_scope;

                if (h == trigger || !watching(h))
                        continue;
                in_scope = engine_same_scope(h, trigger, h->smoke->scope);
                if (h->fire == FIRE_ALARM && !h->confirmed && in_scope) {
                        h->confirmed = true;
                        h->confirm_deadline = ENGINE_NEVER;
                        trigger->confirmed = true;
                        trigger->confirm_deadline = ENGINE_NEVER;
                        engine_schedule(e, h);
                } else if (h->fire == FIRE_HELD && (in_scope || pas_held(h))) {
                        snprintf(e->cause, sizeof(e->cause), "smoke, confirmed by %s in %s",
                                 trigger->id,
                                 in_scope ? scope_text(h, h->smoke->scope)
                                          : "the building (positive alarm sequence)");
                        raise_alarm(e, h, h->smoke->name, ENGINE_FLAG_CONFIRMED);
                } else if (h->fire == FIRE_NORMAL && in_scope && !h->shared &&
                           h->reestablish_at == ENGINE_NEVER && h->smoke_in &&
                           h->kind != ENGINE_CALL_POINT) {
                        snprintf(e->cause, sizeof(e->cause),
                                 "smoke still present, confirmed by %s in %s", trigger->id,
                                 scope_text(h, h->smoke->scope));
                        raise_alarm(e, h, h->smoke->name, ENGINE_FLAG_CONFIRMED);
                }
        }
}

/* A detector other than @d in @scope of @d that is held, in alarm, or whose own signal persists
 * (a detector still in smoke after its pre-alarm ended counts: two detectors in smoke at once are
 * a coincidence, whatever order their messages came in). */
static struct engine_det *active_peer(struct engine *e, struct engine_det *d,
                                      enum ruleset_scope scope)
{
        for (size_t i = 0; i < e->n_dets; i++) {
                struct engine_det *o = &e->dets[i];

                if (o == d || !watching(o) || !engine_same_scope(d, o, scope))
                        continue;
                if (o->fire != FIRE_NORMAL || (cause_persists(o) && !o->shared))
                        return o;
        }
        return NULL;
}

/* Whether any detector in @d's scope could still confirm it: one that is watched and not known
 * to be lost. Decided when the signal comes, since detectors are disabled and fall silent. */
static bool has_usable_peer(const struct engine *e, const struct engine_det *d)
{
        unsigned lost = (1u << ENGINE_FAULT_SILENT) | (1u << ENGINE_FAULT_OFFLINE);

        for (size_t i = 0; i < e->n_registry; i++) {
                const struct engine_det *o = &e->dets[i];

                if (o != d && watching(o) && !(o->faults & lost) &&
                    engine_same_scope(d, o, d->smoke->scope))
                        return true;
        }
        return false;
}

static void hold(struct engine *e, struct engine_det *d, enum fire_stage stage,
                 engine_time deadline, unsigned flags)
{
        d->fire = FIRE_HELD;
        d->first = e->now;
        d->stage = stage;
        d->stage_deadline = deadline;
        engine_emit_det(e, ENGINE_PRE_ALARM, d, d->smoke->name, flags, ENGINE_FAULT_NONE);
        engine_schedule(e, d);
}

static void smoke_held_signal(struct engine *e, struct engine_det *d)
{
        if (d->stage != STAGE_VERIFY_CONFIRM)
                return; /* retard, coincidence, PAS: the same detector again changes nothing */
        snprintf(e->cause, sizeof(e->cause),
                 "smoke again within the confirmation window, %lld s after the first signal",
                 secs(e->now - d->first));
        raise_alarm(e, d, d->smoke->name, ENGINE_FLAG_CONFIRMED);
}

static void smoke_signal(struct engine *e, struct engine_det *d)
{
        const struct ruleset_smoke *r = d->smoke;
        bool priority = d->unit >= 0 && e->units[d->unit].priority_rescue;
        struct engine_det *peer;

        if (d->fire == FIRE_HELD) {
                smoke_held_signal(e, d);
                return;
        }
        if (r->dependency == RULESET_DEP_NONE && !r->pas) {
                snprintf(e->cause, sizeof(e->cause), "smoke");
                raise_alarm(e, d, r->name, 0);
                return;
        }
        if (priority && r->vulnerable_skip) {
                snprintf(e->cause, sizeof(e->cause),
                         "smoke; %s skipped: a verified bedridden or mobility-impaired resident "
                         "lives here",
                         r->pas ? "positive alarm sequence" : "verification delay");
                raise_alarm(e, d, r->name, ENGINE_FLAG_VERIFICATION_SKIPPED);
                return;
        }
        /* A second detector anywhere ends a positive alarm sequence (NFPA 72). */
        peer = active_peer(e, d, r->pas ? RULESET_SCOPE_BUILDING : r->scope);
        if (peer && r->dependency != RULESET_DEP_TYPE_C) {
                snprintf(e->cause, sizeof(e->cause), "smoke, confirmed by %s in %s", peer->id,
                         scope_text(d, r->scope));
                raise_alarm(e, d, r->name, ENGINE_FLAG_CONFIRMED);
                return;
        }
        if (r->pas) {
                snprintf(e->cause, sizeof(e->cause),
                         "positive alarm sequence (NFPA 72): acknowledge within %lld s, then "
                         "investigate for up to %lld s",
                         secs(r->pas_ack_ms), secs(r->pas_investigate_ms));
                hold(e, d, STAGE_PAS_ACK, e->now + r->pas_ack_ms, 0);
                return;
        }
        switch (r->dependency) {
        case RULESET_DEP_NONE:
                break;
        case RULESET_DEP_VERIFICATION:
                snprintf(e->cause, sizeof(e->cause),
                         "alarm verification (NFPA 72): smoke must persist %lld s or return "
                         "within %lld s",
                         secs(r->retard_ms + r->reset_ms), secs(r->confirm_ms));
                hold(e, d, STAGE_VERIFY_RETARD, e->now + r->retard_ms + r->reset_ms, 0);
                return;
        case RULESET_DEP_TYPE_B:
                if (has_usable_peer(e, d)) {
                        snprintf(e->cause, sizeof(e->cause),
                                 "dependency type B (EN 54-2 7.12): held until a second detector "
                                 "in %s signals within %lld s",
                                 scope_text(d, r->scope), secs(r->window_ms));
                        hold(e, d, STAGE_COINCIDENCE, e->now + r->window_ms, 0);
                        return;
                }
                /* No second detector can confirm: waiting for one would never alarm. */
                snprintf(e->cause, sizeof(e->cause),
                         "dependency type B has no working second detector in %s, so this "
                         "detector confirms itself (type A): smoke must persist %lld s",
                         scope_text(d, r->scope), secs(r->reset_ms));
                hold(e, d, STAGE_VERIFY_RETARD, e->now + r->reset_ms, ENGINE_FLAG_FAIL_SAFE);
                return;
        case RULESET_DEP_TYPE_A:
                snprintf(e->cause, sizeof(e->cause),
                         "dependency type A (EN 54-2 7.12): held until this detector confirms "
                         "after %lld s or another in %s signals",
                         secs(r->reset_ms), scope_text(d, r->scope));
                hold(e, d, STAGE_VERIFY_RETARD, e->now + r->reset_ms, 0);
                return;
        case RULESET_DEP_TYPE_C:
                if (peer) {
                        snprintf(e->cause, sizeof(e->cause), "smoke, confirmed by %s in %s",
                                 peer->id, scope_text(d, r->scope));
                        raise_alarm(e, d, r->name, ENGINE_FLAG_CONFIRMED);
                        return;
                }
                snprintf(e->cause, sizeof(e->cause),
                         "smoke; dependency type C (EN 54-2 7.12): confirming outputs wait for a "
                         "second signal in %s",
                         scope_text(d, r->scope));
                raise_alarm(e, d, r->name, ENGINE_FLAG_UNCONFIRMED);
                return;
        }
        snprintf(e->cause, sizeof(e->cause), "smoke");
        raise_alarm(e, d, r->name, 0);
}

enum signal_kind {
        SIGNAL_SMOKE,
        SIGNAL_HEAT,
        SIGNAL_CALL_POINT,
};

/* A detector says fire. e->cause already says why for heat. */
static void fire_signal(struct engine *e, struct engine_det *d, enum signal_kind kind)
{
        static const char *const names[] = {"smoke", "heat", "manual call point"};

        if (d->disabled)
                return;
        if (d->walk_test) {
                snprintf(e->cause, sizeof(e->cause), "walk test: %s", names[kind]);
                engine_emit_det(e, ENGINE_TEST, d, NULL, 0, ENGINE_FAULT_NONE);
                return;
        }
        if (d->fire == FIRE_ALARM) {
                /* Heat or a call point confirms a type C smoke alarm: they never wait. */
                if (kind != SIGNAL_SMOKE && !d->confirmed) {
                        d->confirmed = true;
                        d->confirm_deadline = ENGINE_NEVER;
                        if (kind == SIGNAL_CALL_POINT)
                                d->call_point_alarm = true;
                        outputs_update(e);
                }
                return;
        }
        switch (kind) {
        case SIGNAL_SMOKE:
                smoke_signal(e, d);
                return;
        case SIGNAL_HEAT:
                raise_alarm(e, d, d->heat_rule_name, 0);
                return;
        case SIGNAL_CALL_POINT:
                snprintf(e->cause, sizeof(e->cause), "manual call point");
                d->call_point_alarm = true;
                raise_alarm(e, d, "built-in", 0);
                return;
        }
}

static void smoke_reading(struct engine *e, struct engine_det *d, const struct engine_reading *r)
{
        bool on = r->value != 0;

        if (on && (r->flags & ENGINE_READING_FLAG_TEST)) {
                /* A test press (Heiman-type detectors send smoke with test): not a fire, but the
                 * clock runs in case the smoke outlasts the press. */
                if (d->test_smoke)
                        return;
                d->test_smoke = true;
                d->test_smoke_since = e->now;
                if (!d->test_button) {
                        snprintf(e->cause, sizeof(e->cause), "test: smoke reported with test");
                        engine_emit_det(e, ENGINE_TEST, d, NULL, 0, ENGINE_FAULT_NONE);
                }
                return;
        }
        if (!on) {
                /* The shared slot speaks for several unknown detectors: one's "clear" must not
                 * cancel another's smoke. */
                if (d->shared)
                        return;
                d->smoke_in = false;
                if (d->test_smoke) {
                        d->test_smoke = false;
                        snprintf(e->cause, sizeof(e->cause), "test ended");
                        engine_emit_det(e, ENGINE_TEST, d, NULL, 0, ENGINE_FAULT_NONE);
                }
                return;
        }
        /* Smoke without the test flag is smoke, whatever came before it. */
        d->test_smoke = false;
        if (!d->smoke_in) {
                d->smoke_in = true;
                fire_signal(e, d, SIGNAL_SMOKE);
                return;
        }
        /* Repeated smoke with nothing pending: Zigbee2MQTT repeats its cached state in every
         * message, so this is normally nothing new; but if nothing holds or latches it, the
         * signal has gone unanswered, and it is taken as a new one. */
        if (d->fire == FIRE_NORMAL && d->reestablish_at == ENGINE_NEVER && !d->walk_test)
                fire_signal(e, d, SIGNAL_SMOKE);
}

static void temperature_reading(struct engine *e, struct engine_det *d, double c)
{
        struct heat_eval ev;

        if (!d->has_heat || heat_track_add(&d->heat, e->now, c) != HEAT_SAMPLE_OK)
                return;
        heat_evaluate(&d->heat, &d->hp, d->heat_class, e->now, &ev);
        d->heat_pending_at = ev.verdict == HEAT_PENDING ? ev.deadline_ms : ENGINE_NEVER;
        d->heat_hot = ev.verdict == HEAT_ALARM_FIXED || ev.verdict == HEAT_ALARM_ROR;
        if (d->heat_hot) {
                snprintf(e->cause, sizeof(e->cause), "heat: %s", ev.cause);
                fire_signal(e, d, SIGNAL_HEAT);
        }
}

void fire_reading(struct engine *e, struct engine_det *d, const struct engine_reading *r)
{
        bool on = r->value != 0 && !isnan(r->value);

        enum engine_reading_kind kind = r->kind;

        /* A registered detector's kind decides what a signal means: a bridge that calls a heat
         * detector's output "smoke" (some do) is reporting heat. */
        if (kind == ENGINE_READING_SMOKE && d->kind == ENGINE_HEAT)
                kind = ENGINE_READING_HEAT_ALARM;
        else if (kind == ENGINE_READING_SMOKE && d->kind == ENGINE_CALL_POINT)
                kind = ENGINE_READING_CALL_POINT;
        if (kind != r->kind && (r->flags & ENGINE_READING_FLAG_TEST))
                return; /* a test press on a heat detector or call point is not a signal */
        switch (kind) {
        case ENGINE_READING_SMOKE:
                if (r->value == 0 || r->value == 1)
                        smoke_reading(e, d, r);
                break;
        case ENGINE_READING_HEAT_ALARM:
                if (r->value != 0 && r->value != 1)
                        break;
                if (on && !d->heat_in) {
                        d->heat_in = true;
                        snprintf(e->cause, sizeof(e->cause), "heat alarm reported by the detector");
                        fire_signal(e, d, SIGNAL_HEAT);
                }
                if (!d->shared || on)
                        d->heat_in = on;
                break;
        case ENGINE_READING_TEMPERATURE:
                temperature_reading(e, d, r->value);
                break;
        case ENGINE_READING_CALL_POINT:
                if (r->value != 0 && r->value != 1)
                        break;
                if (on && !d->call_in) {
                        d->call_in = true;
                        fire_signal(e, d, SIGNAL_CALL_POINT);
                }
                if (!d->shared || on)
                        d->call_in = on;
                break;
        case ENGINE_READING_TEST:
                if (on && !d->test_button) {
                        snprintf(e->cause, sizeof(e->cause), "test button pressed");
                        engine_emit_det(e, ENGINE_TEST, d, NULL, 0, ENGINE_FAULT_NONE);
                }
                d->test_button = on;
                break;
        case ENGINE_READING_AVAILABILITY:
        case ENGINE_READING_BATTERY:
        case ENGINE_READING_BATTERY_LOW:
        case ENGINE_READING_TAMPER:
        case ENGINE_READING_DEVICE_FAULT:
        case ENGINE_READING_INVALID:
        case ENGINE_READING_HEARTBEAT:
                break;
        }
}

static void stage_deadline(struct engine *e, struct engine_det *d)
{
        const struct ruleset_smoke *r = d->smoke;
        engine_time confirm_end;

        d->stage_deadline = ENGINE_NEVER;
        switch (d->stage) {
        case STAGE_IDLE:
                return;
        case STAGE_VERIFY_RETARD:
                if (d->smoke_in) {
                        snprintf(e->cause, sizeof(e->cause),
                                 "smoke persisted through verification (%lld s)",
                                 secs(e->now - d->first));
                        raise_alarm(e, d, r->name, ENGINE_FLAG_CONFIRMED);
                        return;
                }
                /* NFPA 72: the confirmation window follows the retard and reset. EN 54-2 type A:
                 * the held state is cancelled within its time counted from the first signal;
                 * type B without a second detector holds for its own window. */
                if (r->dependency == RULESET_DEP_VERIFICATION)
                        confirm_end = e->now + r->confirm_ms;
                else if (r->dependency == RULESET_DEP_TYPE_B)
                        confirm_end = d->first + r->window_ms;
                else
                        confirm_end = d->first + r->confirm_ms;
                d->stage = STAGE_VERIFY_CONFIRM;
                d->stage_deadline = confirm_end > e->now ? confirm_end : e->now + 1;
                return;
        case STAGE_VERIFY_CONFIRM:
                snprintf(e->cause, sizeof(e->cause),
                         "not confirmed within %lld s: the pre-alarm is cancelled",
                         secs(r->confirm_ms));
                break;
        case STAGE_COINCIDENCE:
                if (d->smoke_in) {
                        /* Smoke through the whole window is no transient: rather an alarm from
                         * one detector than a fire nobody is told about. */
                        snprintf(e->cause, sizeof(e->cause),
                                 "smoke persisted through the whole coincidence window (%lld s) "
                                 "with no second detector: raised, fail safe",
                                 secs(r->window_ms));
                        raise_alarm(e, d, r->name, ENGINE_FLAG_FAIL_SAFE);
                        return;
                }
                snprintf(e->cause, sizeof(e->cause),
                         "no second detector within %lld s: the pre-alarm is cancelled",
                         secs(r->window_ms));
                break;
        case STAGE_PAS_ACK:
                snprintf(e->cause, sizeof(e->cause),
                         "positive alarm sequence: not acknowledged within %lld s",
                         secs(r->pas_ack_ms));
                raise_alarm(e, d, r->name, 0);
                return;
        case STAGE_PAS_INVESTIGATE:
                snprintf(e->cause, sizeof(e->cause),
                         "positive alarm sequence: not reset within %lld s of acknowledgement",
                         secs(r->pas_investigate_ms));
                raise_alarm(e, d, r->name, 0);
                return;
        }
        d->fire = FIRE_NORMAL;
        d->stage = STAGE_IDLE;
        engine_emit_det(e, ENGINE_RESTORE, d, r->name, 0, ENGINE_FAULT_NONE);
        d->first = ENGINE_NEVER;
}

void fire_deadline(struct engine *e, struct engine_det *d)
{
        struct heat_eval ev;

        if (d->stage_deadline <= e->now)
                stage_deadline(e, d);
        if (d->confirm_deadline <= e->now) {
                d->confirm_deadline = ENGINE_NEVER;
                if (d->fire == FIRE_ALARM && !d->confirmed) {
                        d->confirmed = true;
                        outputs_update(e);
                }
        }
        if (d->reestablish_at <= e->now) {
                d->reestablish_at = ENGINE_NEVER;
                if (cause_persists(d) && d->fire == FIRE_NORMAL && !d->disabled) {
                        snprintf(e->cause, sizeof(e->cause),
                                 "%s still present %lld s after the reset",
                                 d->call_in ? "manual call point"
                                            : (d->heat_in || d->heat_hot ? "heat" : "smoke"),
                                 secs(e->reestablish_ms));
                        if (d->call_in)
                                d->call_point_alarm = true;
                        raise_alarm(e, d,
                                    d->call_in ? "built-in"
                                               : (d->heat_in || d->heat_hot ? d->heat_rule_name
                                                                            : d->smoke->name),
                                    ENGINE_FLAG_REESTABLISHED);
                }
        }
        if (d->test_smoke && d->test_smoke_since + d->sup->test_max_ms <= e->now) {
                /* A test press lasts seconds; smoke that outlasts it is taken as fire. */
                d->test_smoke = false;
                d->smoke_in = true;
                snprintf(e->cause, sizeof(e->cause),
                         "smoke persisted %lld s after a test press: taken as fire",
                         secs(d->sup->test_max_ms));
                if (!d->disabled && !d->walk_test)
                        raise_alarm(e, d, d->smoke->name, ENGINE_FLAG_FAIL_SAFE);
        }
        if (d->heat_pending_at <= e->now) {
                d->heat_pending_at = ENGINE_NEVER;
                heat_evaluate(&d->heat, &d->hp, d->heat_class, e->now, &ev);
                d->heat_hot = ev.verdict == HEAT_ALARM_FIXED || ev.verdict == HEAT_ALARM_ROR;
                if (ev.verdict == HEAT_PENDING && ev.deadline_ms > e->now)
                        d->heat_pending_at = ev.deadline_ms;
                if (d->heat_hot) {
                        snprintf(e->cause, sizeof(e->cause), "heat: %s", ev.cause);
                        fire_signal(e, d, SIGNAL_HEAT);
                }
        }
}

engine_time fire_next_deadline(const struct engine *e, const struct engine_det *d)
{
        engine_time t = d->stage_deadline;

        (void)e;
        if (d->confirm_deadline < t)
                t = d->confirm_deadline;
        if (d->reestablish_at < t)
                t = d->reestablish_at;
        if (d->test_smoke && d->test_smoke_since + d->sup->test_max_ms < t)
                t = d->test_smoke_since + d->sup->test_max_ms;
        if (d->heat_pending_at < t)
                t = d->heat_pending_at;
        return t;
}

void fire_acknowledge(struct engine *e, struct engine_det *d, bool *any)
{
        if (d->fire == FIRE_ALARM && !d->acked) {
                d->acked = true;
                *any = true;
        }
        if (d->stage == STAGE_PAS_ACK) {
                d->stage = STAGE_PAS_INVESTIGATE;
                d->stage_deadline = e->now + d->smoke->pas_investigate_ms;
                *any = true;
        }
}

void fire_silence(struct engine *e, struct engine_det *d, bool *any)
{
        (void)e;
        if (d->fire == FIRE_ALARM && !d->silenced) {
                d->silenced = true;
                *any = true;
        }
}

void fire_reset(struct engine *e, struct engine_det *d, bool *any)
{
        if (d->fire == FIRE_NORMAL && d->stage == STAGE_IDLE)
                return;
        *any = true;
        d->fire = FIRE_NORMAL;
        d->stage = STAGE_IDLE;
        d->stage_deadline = ENGINE_NEVER;
        d->first = d->alarm_time = ENGINE_NEVER;
        d->acked = d->silenced = d->call_point_alarm = false;
        d->confirmed = true;
        d->confirm_deadline = ENGINE_NEVER;
        /* EN 54-2: after a reset a persisting cause re-establishes the alarm. */
        if (cause_persists(d))
                d->reestablish_at = e->now + e->reestablish_ms;
}

void fire_enable(struct engine *e, struct engine_det *d)
{
        if (d->fire != FIRE_NORMAL)
                return;
        if (d->call_in) {
                fire_signal(e, d, SIGNAL_CALL_POINT);
        } else if (d->heat_in || d->heat_hot) {
                snprintf(e->cause, sizeof(e->cause), "heat present when the detector was enabled");
                fire_signal(e, d, SIGNAL_HEAT);
        } else if (d->smoke_in) {
                fire_signal(e, d, SIGNAL_SMOKE);
        }
}

void fire_disable(struct engine *e, struct engine_det *d)
{
        /* A held signal is dropped (an alarm stays latched until a reset: disabling a detector
         * never hides a fire that was already raised). */
        if (d->fire != FIRE_HELD)
                return;
        d->fire = FIRE_NORMAL;
        d->stage = STAGE_IDLE;
        d->stage_deadline = ENGINE_NEVER;
        snprintf(e->cause, sizeof(e->cause), "pre-alarm dropped: the detector was disabled");
        engine_emit_det(e, ENGINE_RESTORE, d, d->smoke->name, 0, ENGINE_FAULT_NONE);
        d->first = ENGINE_NEVER;
}
