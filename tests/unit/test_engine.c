/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_engine: the rules engine on a fake clock, table-driven. Each story is a list of timed
 * readings, commands and clock ticks, and the exact list of decisions the engine must make, in
 * order, with their times. Deadlines are probed at the tick before and the tick at which they
 * fall due. The building is small but has every kind of place: units with and without a
 * priority-rescue resident, an unverified unit, a stairwell zone, a car park, a unit-less
 * detector on another floor.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"

#define S   1000 /* ms in a second */
#define MIN (60 * S)

static const struct engine_unit_info units[] = {
        {.id = "U1", .floor = 1, .verified = true, .residents = 2},
        {.id = "U2", .floor = 1, .verified = true, .residents = 1, .bedridden = 1},
        {.id = "U3", .floor = 2, .verified = false, .residents = 1},
};

static const char *const zones[] = {"stair-a", "car-park"};

static const struct engine_detector_info detectors[] = {
        {.id = "S1",
         .kind = ENGINE_SMOKE,
         .unit = "U1",
         .floor = 1,
         .verified = true,
         .report_period_s = 60},
        {.id = "S2",
         .kind = ENGINE_SMOKE,
         .unit = "U1",
         .floor = 1,
         .verified = true,
         .report_period_s = 60},
        {.id = "H1",
         .kind = ENGINE_HEAT,
         .heat_class = "A1R",
         .unit = "U1",
         .floor = 1,
         .verified = true,
         .report_period_s = 60},
        {.id = "S3",
         .kind = ENGINE_SMOKE,
         .unit = "U2",
         .floor = 1,
         .verified = true,
         .report_period_s = 60},
        {.id = "M1",
         .kind = ENGINE_MULTI,
         .heat_class = "A2",
         .unit = "U2",
         .floor = 1,
         .verified = true,
         .report_period_s = 60},
        {.id = "S4",
         .kind = ENGINE_SMOKE,
         .unit = "U3",
         .floor = 2,
         .verified = true,
         .report_period_s = 60},
        {.id = "CP1", .kind = ENGINE_CALL_POINT, .floor = 1, .zone = "stair-a", .verified = true},
        {.id = "SA",
         .kind = ENGINE_SMOKE,
         .floor = 1,
         .zone = "stair-a",
         .verified = true,
         .report_period_s = 60},
        {.id = "HC",
         .kind = ENGINE_HEAT,
         .heat_class = "BS",
         .floor = -1,
         .zone = "car-park",
         .verified = true,
         .report_period_s = 60},
        {.id = "S5", .kind = ENGINE_SMOKE, .floor = 2, .verified = false, .report_period_s = 3600},
        {.id = "S6",
         .kind = ENGINE_SMOKE,
         .unit = "U9",
         .floor = 3,
         .verified = true,
         .report_period_s = 60},
};

#define N_DETECTORS (sizeof(detectors) / sizeof(detectors[0]))

/* --- a story --- */

enum op {
        END,
        READ,          /* a reading */
        CMD,           /* a command */
        TICK,          /* engine_tick at t */
        UNKNOWN_SMOKE, /* smoke from a detector the registry lacks */
};

struct step {
        enum op op;
        engine_time t;
        const char *det; /* READ: detector id; CMD: target */
        int what;        /* READ: enum engine_reading_kind; CMD: enum engine_command_kind */
        double value;
        unsigned flags;
};

struct want {
        engine_time t;
        enum engine_decision_kind kind;
        const char *who; /* detector id, output name, or command target */
        unsigned flags;  /* exactly the flags the decision carries */
        enum engine_fault fault;
};

struct story {
        const char *name;
        void (*rules)(struct ruleset *rs);
        struct step steps[24];
        struct want want[24];
};

#define R(t_, d_, k_, v_)                                                                          \
        {                                                                                          \
                READ, (t_), (d_), ENGINE_READING_##k_, (v_), 0                                     \
        }
#define RT(t_, d_, k_, v_)                                                                         \
        {                                                                                          \
                READ, (t_), (d_), ENGINE_READING_##k_, (v_), ENGINE_READING_FLAG_TEST              \
        }
#define C(t_, target_, c_)                                                                         \
        {                                                                                          \
                CMD, (t_), (target_), ENGINE_CMD_##c_, 0, 0                                        \
        }
#define T(t_)                                                                                      \
        {                                                                                          \
                TICK, (t_), NULL, 0, 0, 0                                                          \
        }
#define W(t_, k_, who_)                                                                            \
        {                                                                                          \
                (t_), ENGINE_##k_, (who_), 0, ENGINE_FAULT_NONE                                    \
        }
#define WF(t_, k_, who_, f_)                                                                       \
        {                                                                                          \
                (t_), ENGINE_##k_, (who_), (f_), ENGINE_FAULT_NONE                                 \
        }
#define WX(t_, k_, who_, flt_)                                                                     \
        {                                                                                          \
                (t_), ENGINE_##k_, (who_), 0, ENGINE_FAULT_##flt_                                  \
        }

/* --- rule sets the stories use --- */

static struct ruleset_smoke smoke_rules[4];
static struct ruleset_supervision sup_rules[2];
static struct ruleset_output output_rules[4];

static void rules_none(struct ruleset *rs)
{
        (void)rs;
}

static void add_smoke(struct ruleset *rs, enum ruleset_dependency dep, enum ruleset_scope scope)
{
        struct ruleset_smoke *r = &smoke_rules[rs->n_smoke];

        ruleset_smoke_defaults(r);
        snprintf(r->name, sizeof(r->name), "smoke-%zu", rs->n_smoke);
        r->dependency = dep;
        r->scope = scope;
        r->match.kinds = RULESET_KIND_SMOKE | RULESET_KIND_MULTI;
        rs->smoke = smoke_rules;
        rs->n_smoke++;
}

static void add_output(struct ruleset *rs, const char *name, const char *follows, long delay_ms,
                       bool silenceable, bool confirm)
{
        struct ruleset_output *o = &output_rules[rs->n_outputs];

        memset(o, 0, sizeof(*o));
        snprintf(o->name, sizeof(o->name), "%s", name);
        snprintf(o->follows, sizeof(o->follows), "%s", follows);
        o->delay_ms = delay_ms;
        o->silenceable = silenceable;
        o->confirm = confirm;
        rs->outputs = output_rules;
        rs->n_outputs++;
}

static void rules_verification(struct ruleset *rs)
{
        add_smoke(rs, RULESET_DEP_VERIFICATION, RULESET_SCOPE_UNIT); /* 20 + 5 s, 120 s */
}

/* Supervision that stays out of long stories about something else. */
static void quiet(struct ruleset *rs)
{
        ruleset_supervision_defaults(&sup_rules[1]);
        snprintf(sup_rules[1].name, sizeof(sup_rules[1].name), "quiet");
        sup_rules[1].silent_factor = 100;
        rs->supervision = &sup_rules[1];
        rs->n_supervision = 1;
}

static void rules_type_a(struct ruleset *rs)
{
        quiet(rs);
        add_smoke(rs, RULESET_DEP_TYPE_A, RULESET_SCOPE_UNIT);
        smoke_rules[0].reset_ms = 5 * S;
        smoke_rules[0].confirm_ms = 30 * MIN;
}

static void rules_type_b(struct ruleset *rs)
{
        quiet(rs);
        add_smoke(rs, RULESET_DEP_TYPE_B, RULESET_SCOPE_UNIT);
        smoke_rules[0].window_ms = 5 * MIN;
        smoke_rules[0].reset_ms = 5 * S;
        smoke_rules[0].confirm_ms = 30 * MIN;
}

static void rules_type_c(struct ruleset *rs)
{
        quiet(rs);
        add_smoke(rs, RULESET_DEP_TYPE_C, RULESET_SCOPE_UNIT);
        smoke_rules[0].window_ms = 5 * MIN;
        add_output(rs, "sounder", "building", 0, true, true);
        add_output(rs, "door", "building", 0, false, false);
}

static void rules_pas(struct ruleset *rs)
{
        quiet(rs);
        add_smoke(rs, RULESET_DEP_NONE, RULESET_SCOPE_BUILDING);
        smoke_rules[0].pas = true;
        smoke_rules[0].pas_ack_ms = 15 * S;
        smoke_rules[0].pas_investigate_ms = 180 * S;
}

static void rules_pas_zone(struct ruleset *rs)
{
        rules_pas(rs);
        smoke_rules[0].scope = RULESET_SCOPE_ZONE;
}

static void rules_outputs(struct ruleset *rs)
{
        add_output(rs, "bell", "building", 0, true, false);
        add_output(rs, "floor2", "floor:2", 0, true, false);
        add_output(rs, "vent", "zone:stair-a", 60 * S, false, false);
}

static void rules_unit_sirens(struct ruleset *rs)
{
        quiet(rs);
        add_output(rs, "siren", RULESET_EACH_UNIT, 0, true, false);
}

static void rules_supervision(struct ruleset *rs)
{
        ruleset_supervision_defaults(&sup_rules[0]);
        snprintf(sup_rules[0].name, sizeof(sup_rules[0].name), "sup");
        sup_rules[0].offline_ms = 30 * S;
        rs->supervision = sup_rules;
        rs->n_supervision = 1;
}

static void rules_verification_no_skip(struct ruleset *rs)
{
        rules_verification(rs);
        smoke_rules[0].vulnerable_skip = false;
}

/* --- the stories --- */

static const struct story stories[] = {
        {"smoke_without_dependency_alarms_at_once",
         rules_none,
         {R(1000, "S1", SMOKE, 1), R(2000, "S1", SMOKE, 1), R(3000, "S1", SMOKE, 0)},
         {W(1000, ALARM, "S1")}},
        {"call_point_alarms_at_once_even_under_verification",
         rules_verification,
         {R(500, "CP1", CALL_POINT, 1)},
         {W(500, ALARM, "CP1")}},
        {"verification_alarms_when_smoke_persists_at_the_deadline_not_before",
         rules_verification,
         {R(0, "S1", SMOKE, 1), T(24999), T(25000)},
         {W(0, PRE_ALARM, "S1"), WF(25000, ALARM, "S1", ENGINE_FLAG_CONFIRMED)}},
        {"verification_uses_last_known_state_without_a_new_message",
         rules_verification,
         {R(0, "S1", SMOKE, 1), T(60000)},
         {W(0, PRE_ALARM, "S1"), WF(25000, ALARM, "S1", ENGINE_FLAG_CONFIRMED)}},
        {"verification_confirmation_window_alarms_on_smoke_again",
         rules_verification,
         {R(0, "S1", SMOKE, 1), R(3000, "S1", SMOKE, 0), T(25000), R(100000, "S1", SMOKE, 1)},
         {W(0, PRE_ALARM, "S1"), WF(100000, ALARM, "S1", ENGINE_FLAG_CONFIRMED)}},
        {"verification_cancels_after_confirmation_window_tick_edges",
         rules_verification,
         {R(0, "S1", SMOKE, 1), R(3000, "S1", SMOKE, 0), T(144999), T(145000),
          R(150000, "S1", SMOKE, 1)},
         {W(0, PRE_ALARM, "S1"), W(145000, RESTORE, "S1"), W(150000, PRE_ALARM, "S1")}},
        {"verification_second_detector_in_unit_alarms_both_at_once",
         rules_verification,
         {R(0, "S1", SMOKE, 1), R(4000, "S2", SMOKE, 1)},
         {W(0, PRE_ALARM, "S1"), WF(4000, ALARM, "S2", ENGINE_FLAG_CONFIRMED),
          WF(4000, ALARM, "S1", ENGINE_FLAG_CONFIRMED)}},
        {"verification_detector_in_another_unit_does_not_confirm",
         rules_verification,
         {R(0, "S1", SMOKE, 1), R(1000, "S4", SMOKE, 1), R(2000, "S1", SMOKE, 0),
          R(2000, "S4", SMOKE, 0), T(26000)},
         {W(0, PRE_ALARM, "S1"), WF(1000, PRE_ALARM, "S4", ENGINE_FLAG_UNVERIFIED)}},
        {"priority_rescue_unit_skips_verification",
         rules_verification,
         {R(0, "S3", SMOKE, 1)},
         {WF(0, ALARM, "S3", ENGINE_FLAG_PRIORITY_RESCUE | ENGINE_FLAG_VERIFICATION_SKIPPED)}},
        {"priority_rescue_marked_even_when_rule_keeps_the_delay",
         rules_verification_no_skip,
         {R(0, "S3", SMOKE, 1), T(25000)},
         {WF(0, PRE_ALARM, "S3", ENGINE_FLAG_PRIORITY_RESCUE),
          WF(25000, ALARM, "S3", ENGINE_FLAG_PRIORITY_RESCUE | ENGINE_FLAG_CONFIRMED)}},
        {"heat_never_waits_for_verification",
         rules_verification,
         {R(0, "H1", HEAT_ALARM, 1)},
         {W(0, ALARM, "H1")}},
        {"multi_sensor_heat_channel_not_delayed_while_smoke_is_held",
         rules_verification_no_skip,
         {R(0, "M1", SMOKE, 1), R(5000, "M1", TEMPERATURE, 60), R(10000, "M1", TEMPERATURE, 61)},
         {WF(0, PRE_ALARM, "M1", ENGINE_FLAG_PRIORITY_RESCUE),
          WF(10000, ALARM, "M1", ENGINE_FLAG_PRIORITY_RESCUE)}},
        {"type_a_confirms_by_same_detector_after_reset_time",
         rules_type_a,
         {R(0, "S1", SMOKE, 1), T(4999), T(5000)},
         {W(0, PRE_ALARM, "S1"), WF(5000, ALARM, "S1", ENGINE_FLAG_CONFIRMED)}},
        {"type_a_held_state_cancelled_after_thirty_minutes",
         rules_type_a,
         /* EN 54-2: cancelled within 30 min of the first signal, reset time included. */
         {R(0, "S1", SMOKE, 1), R(1000, "S1", SMOKE, 0), T(30 * MIN - 1), T(30 * MIN)},
         {W(0, PRE_ALARM, "S1"), W(30 * MIN, RESTORE, "S1")}},
        {"type_a_call_point_in_zone_confirms_stairwell_detector",
         rules_type_a,
         {R(0, "SA", SMOKE, 1), R(1000, "SA", SMOKE, 0), R(60000, "CP1", CALL_POINT, 1)},
         {W(0, PRE_ALARM, "SA"), W(60000, ALARM, "CP1"),
          WF(60000, ALARM, "SA", ENGINE_FLAG_CONFIRMED)}},
        {"type_b_waits_for_second_detector_and_same_one_does_not_confirm",
         rules_type_b,
         {R(0, "S1", SMOKE, 1), T(10 * S), R(100 * S, "S2", SMOKE, 1)},
         {W(0, PRE_ALARM, "S1"), WF(100 * S, ALARM, "S2", ENGINE_FLAG_CONFIRMED),
          WF(100 * S, ALARM, "S1", ENGINE_FLAG_CONFIRMED)}},
        {"type_b_cancels_automatically_after_window",
         rules_type_b,
         {R(0, "S1", SMOKE, 1), R(10 * S, "S1", SMOKE, 0), T(5 * MIN - 1), T(5 * MIN),
          R(5 * MIN + 1000, "S2", SMOKE, 1)},
         {W(0, PRE_ALARM, "S1"), W(5 * MIN, RESTORE, "S1"), W(5 * MIN + 1000, PRE_ALARM, "S2")}},
        {"type_b_smoke_persisting_through_window_raises_fail_safe",
         rules_type_b,
         {R(0, "S1", SMOKE, 1), T(5 * MIN - 1), T(5 * MIN)},
         {W(0, PRE_ALARM, "S1"), WF(5 * MIN, ALARM, "S1", ENGINE_FLAG_FAIL_SAFE)}},
        {"type_b_second_detector_still_in_smoke_after_first_was_cancelled_confirms_both",
         rules_type_b,
         {R(0, "S2", SMOKE, 1), R(1000, "S2", SMOKE, 0), T(5 * MIN), R(6 * MIN, "S2", SMOKE, 1),
          R(6 * MIN + 1000, "S1", SMOKE, 1)},
         {W(0, PRE_ALARM, "S2"), W(5 * MIN, RESTORE, "S2"), W(6 * MIN, PRE_ALARM, "S2"),
          WF(6 * MIN + 1000, ALARM, "S1", ENGINE_FLAG_CONFIRMED),
          WF(6 * MIN + 1000, ALARM, "S2", ENGINE_FLAG_CONFIRMED)}},
        {"type_b_alone_in_unit_falls_back_to_type_a_fail_safe",
         rules_type_b,
         {R(0, "S4", SMOKE, 1), T(5000)},
         {WF(0, PRE_ALARM, "S4", ENGINE_FLAG_FAIL_SAFE | ENGINE_FLAG_UNVERIFIED),
          WF(5000, ALARM, "S4", ENGINE_FLAG_CONFIRMED | ENGINE_FLAG_UNVERIFIED)}},
        {"type_c_alarms_at_once_and_confirming_output_waits",
         rules_type_c,
         {R(0, "S1", SMOKE, 1), R(30 * S, "S2", SMOKE, 1)},
         {WF(0, ALARM, "S1", ENGINE_FLAG_UNCONFIRMED), W(0, OUTPUT_ON, "door"),
          WF(30 * S, ALARM, "S2", ENGINE_FLAG_CONFIRMED), W(30 * S, OUTPUT_ON, "sounder")}},
        {"pas_unacknowledged_becomes_alarm_at_fifteen_seconds",
         rules_pas,
         {R(0, "S1", SMOKE, 1), T(14999), T(15000)},
         {W(0, PRE_ALARM, "S1"), W(15000, ALARM, "S1")}},
        {"pas_acknowledged_then_investigation_times_out",
         rules_pas,
         {R(0, "S1", SMOKE, 1), C(10 * S, "unit:U1", ACKNOWLEDGE), T(190 * S - 1), T(190 * S)},
         {W(0, PRE_ALARM, "S1"), W(10 * S, ACKNOWLEDGED, "unit:U1"), W(190 * S, ALARM, "S1")}},
        {"pas_reset_during_investigation_ends_it_when_smoke_cleared",
         rules_pas,
         {R(0, "S1", SMOKE, 1), C(10 * S, "unit:U1", ACKNOWLEDGE), R(60 * S, "S1", SMOKE, 0),
          C(90 * S, "unit:U1", RESET), T(400 * S)},
         {W(0, PRE_ALARM, "S1"), W(10 * S, ACKNOWLEDGED, "unit:U1"), W(90 * S, RESET, "unit:U1")}},
        {"pas_second_detector_anywhere_gives_alarm_at_once",
         rules_pas,
         {R(0, "S1", SMOKE, 1), C(5 * S, "unit:U1", ACKNOWLEDGE), R(20 * S, "S4", SMOKE, 1)},
         {W(0, PRE_ALARM, "S1"), W(5 * S, ACKNOWLEDGED, "unit:U1"),
          WF(20 * S, ALARM, "S4", ENGINE_FLAG_CONFIRMED | ENGINE_FLAG_UNVERIFIED),
          WF(20 * S, ALARM, "S1", ENGINE_FLAG_CONFIRMED)}},
        {"reset_while_smoke_persists_gives_a_new_alarm",
         rules_none,
         {R(0, "S1", SMOKE, 1), C(60 * S, "building", RESET), T(70 * S - 1), T(70 * S)},
         {W(0, ALARM, "S1"), W(60 * S, RESET, "building"),
          WF(70 * S, ALARM, "S1", ENGINE_FLAG_REESTABLISHED)}},
        {"reset_after_smoke_cleared_returns_to_normal",
         rules_none,
         {R(0, "S1", SMOKE, 1), R(30 * S, "S1", SMOKE, 0), C(60 * S, "building", RESET),
          T(170 * S)},
         {W(0, ALARM, "S1"), W(60 * S, RESET, "building")}},
        {"alarm_latches_until_reset",
         rules_none,
         {R(0, "S1", SMOKE, 1), R(1000, "S1", SMOKE, 0), R(2000, "S1", SMOKE, 1)},
         {W(0, ALARM, "S1")}},
        {"outputs_follow_zones_silence_and_resound_on_new_alarm",
         rules_outputs,
         {R(0, "S1", SMOKE, 1), C(10 * S, "building", SILENCE), R(20 * S, "S4", SMOKE, 1),
          C(30 * S, "building", RESET), T(40 * S)},
         {W(0, ALARM, "S1"), W(0, OUTPUT_ON, "bell"), W(10 * S, SILENCED, "building"),
          W(10 * S, OUTPUT_OFF, "bell"), WF(20 * S, ALARM, "S4", ENGINE_FLAG_UNVERIFIED),
          W(20 * S, OUTPUT_ON, "bell"), W(20 * S, OUTPUT_ON, "floor2"),
          W(30 * S, RESET, "building"), W(30 * S, OUTPUT_OFF, "bell"),
          W(30 * S, OUTPUT_OFF, "floor2"), WF(40 * S, ALARM, "S1", ENGINE_FLAG_REESTABLISHED),
          W(40 * S, OUTPUT_ON, "bell"),
          WF(40 * S, ALARM, "S4", ENGINE_FLAG_REESTABLISHED | ENGINE_FLAG_UNVERIFIED),
          W(40 * S, OUTPUT_ON, "floor2")}},
        {"output_delay_waits_but_call_point_overrides_it",
         rules_outputs,
         {R(0, "SA", SMOKE, 1), T(59999), T(60000), C(61 * S, "building", RESET),
          R(61 * S, "SA", SMOKE, 0), R(100 * S, "CP1", CALL_POINT, 1)},
         {W(0, ALARM, "SA"), W(0, OUTPUT_ON, "bell"), W(60 * S, OUTPUT_ON, "vent"),
          W(61 * S, RESET, "building"), W(61 * S, OUTPUT_OFF, "bell"),
          W(61 * S, OUTPUT_OFF, "vent"), W(100 * S, ALARM, "CP1"), W(100 * S, OUTPUT_ON, "bell"),
          W(100 * S, OUTPUT_ON, "vent")}},
        {"silenced_door_release_stays_on_until_reset",
         rules_type_c,
         {R(0, "S1", SMOKE, 1), C(5 * S, "building", SILENCE), C(9 * S, "building", RESET),
          R(9 * S, "S1", SMOKE, 0)},
         {WF(0, ALARM, "S1", ENGINE_FLAG_UNCONFIRMED), W(0, OUTPUT_ON, "door"),
          W(5 * S, SILENCED, "building"), W(9 * S, RESET, "building"),
          W(9 * S, OUTPUT_OFF, "door")}},
        {"test_press_with_smoke_is_a_test_not_a_fire",
         rules_none,
         {R(0, "S1", TEST, 1), RT(0, "S1", SMOKE, 1), R(4000, "S1", TEST, 0),
          R(4000, "S1", SMOKE, 0)},
         {W(0, TEST, "S1"), W(4000, TEST, "S1")}},
        {"real_smoke_after_a_test_press_alarms",
         rules_none,
         {RT(0, "S1", SMOKE, 1), R(3000, "S1", SMOKE, 0), R(60 * S, "S1", SMOKE, 1)},
         {W(0, TEST, "S1"), W(3000, TEST, "S1"), W(60 * S, ALARM, "S1")}},
        {"smoke_outlasting_a_test_press_is_taken_as_fire",
         rules_none,
         {RT(0, "S1", SMOKE, 1), T(30 * S - 1), T(30 * S)},
         {W(0, TEST, "S1"), WF(30 * S, ALARM, "S1", ENGINE_FLAG_FAIL_SAFE)}},
        {"walk_test_turns_signals_into_test_decisions_without_outputs",
         rules_outputs,
         {C(0, "S1", TEST_START), R(1000, "S1", SMOKE, 1), R(2000, "S1", SMOKE, 0),
          C(3000, "S1", TEST_END)},
         {W(0, TEST, "S1"), W(1000, TEST, "S1"), W(3000, TEST, "S1")}},
        {"disabled_detector_is_ignored_until_enabled_then_alarms_if_smoke_remains",
         rules_none,
         {C(0, "S1", DISABLE), R(1000, "S1", SMOKE, 1), C(5000, "S1", ENABLE)},
         {W(0, DISABLED, "S1"), W(5000, ALARM, "S1"), W(5000, ENABLED, "S1")}},
        {"unverified_unit_and_unknown_unit_still_alarm_marked",
         rules_none,
         {R(0, "S4", SMOKE, 1), R(1000, "S6", SMOKE, 1), R(2000, "S5", SMOKE, 1)},
         {WF(0, ALARM, "S4", ENGINE_FLAG_UNVERIFIED),
          WF(1000, ALARM, "S6", ENGINE_FLAG_UNKNOWN_UNIT | ENGINE_FLAG_UNVERIFIED),
          WF(2000, ALARM, "S5", ENGINE_FLAG_UNVERIFIED)}},
        {"unknown_detector_alarms_marked_unknown",
         rules_verification,
         {{UNKNOWN_SMOKE, 0, "zigbee2mqtt:0x00124b00", 0, 1, 0}},
         {WF(0, ALARM, "zigbee2mqtt:0x00124b00",
             ENGINE_FLAG_UNKNOWN_DETECTOR | ENGINE_FLAG_UNVERIFIED)}},
        {"silent_detector_faults_at_its_period_and_restores_when_heard",
         rules_none,
         /* S1 declares 60 s; the default factor 2.5 makes 150 s from the last message. */
         {R(0, "S1", HEARTBEAT, 0), T(150 * S - 1), R(150 * S - 1, "S1", HEARTBEAT, 0),
          T(300 * S - 2), T(300 * S - 1), R(310 * S, "S1", HEARTBEAT, 0)},
         {WX(300 * S - 1, FAULT, "S1", SILENT), WX(310 * S, RESTORE, "S1", SILENT)}},
        {"fault_never_masks_a_later_fire_alarm",
         rules_none,
         {R(0, "S1", TAMPER, 1), R(1000, "S1", BATTERY_LOW, 1), R(2000, "S1", SMOKE, 1)},
         {WX(0, FAULT, "S1", TAMPER), WX(1000, FAULT, "S1", BATTERY_LOW), W(2000, ALARM, "S1")}},
        {"offline_fault_after_configured_delay_and_restore_online",
         rules_supervision,
         {R(0, "S1", AVAILABILITY, 0), T(30 * S - 1), T(30 * S), R(40 * S, "S1", AVAILABILITY, 1)},
         {WX(30 * S, FAULT, "S1", OFFLINE), WX(40 * S, RESTORE, "S1", OFFLINE)}},
        {"battery_percent_threshold_with_hysteresis",
         rules_none,
         {R(0, "S1", BATTERY, 40), R(1000, "S1", BATTERY, 14), R(2000, "S1", BATTERY, 16),
          R(3000, "S1", BATTERY, 19), R(4000, "S1", BATTERY, 20)},
         {WX(1000, FAULT, "S1", BATTERY_LOW), WX(4000, RESTORE, "S1", BATTERY_LOW)}},
        {"absurd_values_never_alarm_but_persistent_garbage_faults",
         rules_none,
         {R(0, "H1", TEMPERATURE, NAN), R(1000, "H1", TEMPERATURE, 250),
          R(2000, "H1", TEMPERATURE, -60), R(3000, "H1", TEMPERATURE, 22)},
         {WX(2000, FAULT, "H1", INVALID_DATA), WX(3000, RESTORE, "H1", INVALID_DATA)}},
        {"battery_out_of_range_and_smoke_not_boolean_are_invalid_not_alarm",
         rules_none,
         {R(0, "S1", BATTERY, 130), R(1000, "S1", SMOKE, 7), R(2000, "S1", BATTERY, -1),
          R(3000, "S1", BATTERY, 250), R(4000, "S1", BATTERY, 50)},
         {WX(3000, FAULT, "S1", INVALID_DATA), WX(4000, RESTORE, "S1", INVALID_DATA)}},
        {"dead_thermistor_is_a_fault_even_beside_good_battery_reports",
         rules_none,
         {R(0, "H1", TEMPERATURE, NAN), R(1000, "H1", BATTERY, 90), R(2000, "H1", TEMPERATURE, NAN),
          R(3000, "H1", BATTERY, 90), R(4000, "H1", TEMPERATURE, NAN)},
         {WX(4000, FAULT, "H1", INVALID_DATA)}},
        {"battery_exactly_at_threshold_is_low",
         rules_none,
         {R(0, "S1", BATTERY, 15)},
         {WX(0, FAULT, "S1", BATTERY_LOW)}},
        {"test_press_during_verification_does_not_hide_real_smoke",
         rules_verification,
         {R(0, "S1", SMOKE, 1), R(20 * S, "S1", TEST, 1), RT(20 * S, "S1", SMOKE, 1),
          R(27 * S, "S1", TEST, 0), R(27 * S, "S1", SMOKE, 1), T(150 * S)},
         {W(0, PRE_ALARM, "S1"), W(20 * S, TEST, "S1"),
          WF(25 * S, ALARM, "S1", ENGINE_FLAG_CONFIRMED)}},
        {"type_c_confirming_output_waits_at_most_the_window",
         rules_type_c,
         {R(0, "S1", SMOKE, 1), T(5 * MIN - 1), T(5 * MIN)},
         {WF(0, ALARM, "S1", ENGINE_FLAG_UNCONFIRMED), W(0, OUTPUT_ON, "door"),
          W(5 * MIN, OUTPUT_ON, "sounder")}},
        {"type_c_heat_detector_in_unit_confirms",
         rules_type_c,
         {R(0, "S1", SMOKE, 1), R(10 * S, "H1", HEAT_ALARM, 1)},
         {WF(0, ALARM, "S1", ENGINE_FLAG_UNCONFIRMED), W(0, OUTPUT_ON, "door"),
          W(10 * S, ALARM, "H1"), W(10 * S, OUTPUT_ON, "sounder")}},
        {"walk_test_end_raises_what_still_signals",
         rules_none,
         {C(0, "S1", TEST_START), R(1000, "S1", SMOKE, 1), R(2000, "S1", SMOKE, 1),
          C(3000, "S1", TEST_END)},
         {W(0, TEST, "S1"), W(1000, TEST, "S1"), W(3000, ALARM, "S1"), W(3000, TEST, "S1")}},
        {"pas_ends_at_a_call_point_outside_its_scope",
         rules_pas_zone,
         {R(0, "S4", SMOKE, 1), C(5 * S, "unit:U3", ACKNOWLEDGE), R(20 * S, "CP1", CALL_POINT, 1)},
         {WF(0, PRE_ALARM, "S4", ENGINE_FLAG_UNVERIFIED), W(5 * S, ACKNOWLEDGED, "unit:U3"),
          W(20 * S, ALARM, "CP1"),
          WF(20 * S, ALARM, "S4", ENGINE_FLAG_CONFIRMED | ENGINE_FLAG_UNVERIFIED)}},
        {"disabling_during_pre_alarm_drops_the_hold",
         rules_verification,
         {R(0, "S1", SMOKE, 1), C(10 * S, "S1", DISABLE), T(60 * S)},
         {W(0, PRE_ALARM, "S1"), W(10 * S, RESTORE, "S1"), W(10 * S, DISABLED, "S1")}},
        {"smoke_again_at_the_last_moment_of_the_confirmation_window_confirms",
         rules_verification,
         {R(0, "S1", SMOKE, 1), R(3000, "S1", SMOKE, 0), R(145000, "S1", SMOKE, 1)},
         {W(0, PRE_ALARM, "S1"), WF(145000, ALARM, "S1", ENGINE_FLAG_CONFIRMED)}},
        {"heartbeat_at_the_supervision_deadline_is_in_time",
         rules_none,
         {R(0, "S1", HEARTBEAT, 0), R(150 * S, "S1", HEARTBEAT, 0)},
         {{0, 0, NULL, 0, 0}}},
        {"smoke_reported_by_a_heat_detector_is_heat_and_never_waits",
         rules_verification,
         {R(0, "H1", SMOKE, 1)},
         {W(0, ALARM, "H1")}},
        {"fixed_heat_threshold_needs_two_of_three_samples",
         rules_none,
         {R(0, "H1", TEMPERATURE, 25), R(10 * S, "H1", TEMPERATURE, 25),
          R(20 * S, "H1", TEMPERATURE, 56), R(30 * S, "H1", TEMPERATURE, 57)},
         {W(30 * S, ALARM, "H1")}},
        {"one_wild_heat_sample_is_contradicted",
         rules_none,
         {R(0, "H1", TEMPERATURE, 25), R(10 * S, "H1", TEMPERATURE, 25),
          R(20 * S, "H1", TEMPERATURE, 150), R(30 * S, "H1", TEMPERATURE, 25), T(120 * S)},
         {{0, 0, NULL, 0, 0}}},
        {"lone_hot_sample_not_contradicted_alarms_after_confirm_time",
         rules_none,
         {R(0, "HC", TEMPERATURE, 30), R(10 * S, "HC", TEMPERATURE, 30),
          R(20 * S, "HC", TEMPERATURE, 90), T(50 * S - 1), T(50 * S)},
         {WF(50 * S, ALARM, "HC", 0)}},
};

/* --- the harness --- */

struct recorded {
        engine_time t;
        enum engine_decision_kind kind;
        char who[80];
        char zone[80];
        unsigned flags;
        enum engine_fault fault;
        char cause[256];
};

struct recorder {
        struct recorded r[64];
        size_t n;
};

static void record(void *ctx, const struct engine_decision *d)
{
        struct recorder *rec = ctx;
        struct recorded *x;
        const char *who = d->detector ? d->detector : (d->output ? d->output : d->zone);

        assert_true(rec->n < sizeof(rec->r) / sizeof(rec->r[0]));
        x = &rec->r[rec->n++];
        x->t = d->time;
        x->kind = d->kind;
        snprintf(x->who, sizeof(x->who), "%s", who ? who : "");
        snprintf(x->zone, sizeof(x->zone), "%s", d->zone ? d->zone : "");
        x->flags = d->flags;
        x->fault = d->fault;
        snprintf(x->cause, sizeof(x->cause), "%s", d->cause ? d->cause : "");
        /* Every decision says why, and names its zone. */
        assert_non_null(d->cause);
        assert_true(d->cause[0] != '\0');
        assert_non_null(d->zone);
}

static struct engine *make_engine(void (*rules)(struct ruleset *), struct ruleset *rs,
                                  struct recorder *rec)
{
        struct engine_setup s = {
                .detectors = detectors,
                .n_detectors = N_DETECTORS,
                .units = units,
                .n_units = 3,
                .zones = zones,
                .n_zones = 2,
                .rules = rs,
                .spare_detectors = 4,
                .start = 0,
                .emit = record,
                .emit_ctx = rec,
        };
        struct diag *d = diag_new();
        struct engine *e = NULL;
        int r;

        memset(rs, 0, sizeof(*rs));
        rs->building.reestablish_ms = 10 * S;
        rules(rs);
        r = engine_new(&s, d, &e);
        if (r < 0)
                diag_print(d, stderr, "engine_new: ");
        assert_int_equal(r, 0);
        diag_free(d);
        return e;
}

/* Silent faults of detectors a story does not mention would clutter every long story; only the
 * detectors a story names (and outputs and commands) are compared. */
static bool mentioned(const struct story *st, const char *who)
{
        for (size_t i = 0; st->steps[i].op != END; i++)
                if (st->steps[i].det && strcmp(st->steps[i].det, who) == 0)
                        return true;
        for (size_t i = 0; st->want[i].who; i++)
                if (strcmp(st->want[i].who, who) == 0)
                        return true;
        return false;
}

/* Runs one story; prints every way it went wrong and returns whether it went right. */
static bool run_story(const struct story *st)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(st->rules, &rs, &rec);
        size_t w = 0;
        bool ok = true;

        for (size_t i = 0; st->steps[i].op != END; i++) {
                const struct step *s = &st->steps[i];
                struct engine_reading r = {
                        .kind = s->what, .value = s->value, .flags = s->flags, .time = s->t};
                struct engine_command c = {
                        .kind = s->what, .target = s->det, .who = "test", .time = s->t};
                long idx;

                switch (s->op) {
                case READ:
                        idx = engine_detector_find(e, s->det);
                        assert_true(idx >= 0);
                        r.detector = (size_t)idx;
                        engine_reading(e, &r);
                        break;
                case UNKNOWN_SMOKE:
                        r.detector = engine_detector_unknown(e, s->det);
                        r.kind = ENGINE_READING_SMOKE;
                        engine_reading(e, &r);
                        break;
                case CMD:
                        assert_int_equal(engine_command(e, &c), 0);
                        break;
                case TICK:
                        engine_tick(e, s->t);
                        break;
                case END:
                        break;
                }
        }
        for (size_t i = 0; i < rec.n; i++) {
                const struct recorded *x = &rec.r[i];

                if (x->kind == ENGINE_FAULT || x->kind == ENGINE_RESTORE)
                        if (x->fault == ENGINE_FAULT_SILENT && !mentioned(st, x->who))
                                continue;
                if (!st->want[w].who) {
                        fail_msg("%s: unexpected decision %s %s at %lld (%s)", st->name,
                                 engine_decision_name(x->kind), x->who, (long long)x->t, x->cause);
                }
                if (x->kind != st->want[w].kind || strcmp(x->who, st->want[w].who) != 0 ||
                    x->t != st->want[w].t || x->flags != st->want[w].flags ||
                    x->fault != st->want[w].fault) {
                        print_error("%s: decision %zu is %s %s at %lld flags %#x fault %s (%s); "
                                    "expected %s %s at %lld flags %#x fault %s",
                                    st->name, w, engine_decision_name(x->kind), x->who,
                                    (long long)x->t, x->flags, engine_fault_name(x->fault),
                                    x->cause, engine_decision_name(st->want[w].kind),
                                    st->want[w].who, (long long)st->want[w].t, st->want[w].flags,
                                    engine_fault_name(st->want[w].fault));
                        ok = false;
                }
                w++;
        }
        if (ok && st->want[w].who) {
                print_error("%s: missing decision %s %s at %lld\n", st->name,
                            engine_decision_name(st->want[w].kind), st->want[w].who,
                            (long long)st->want[w].t);
                ok = false;
        }
        engine_free(e);
        return ok;
}

static void test_stories(void **state)
{
        size_t failed = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(stories) / sizeof(stories[0]); i++)
                failed += !run_story(&stories[i]);
        if (failed)
                fail_msg("%zu of %zu stories went wrong", failed,
                         sizeof(stories) / sizeof(stories[0]));
}

/* --- properties that are not stories --- */

static void test_en54_2_alarm_indicated_within_ten_seconds_without_delay(void **state)
{
        /* Every kind of alarm signal, with no dependency configured: the decision carries the
         * reading's own time, so the indication delay is the event loop's, not the engine's. */
        static const struct {
                const char *det;
                enum engine_reading_kind kind;
        } signals[] = {{"S1", ENGINE_READING_SMOKE},
                       {"H1", ENGINE_READING_HEAT_ALARM},
                       {"CP1", ENGINE_READING_CALL_POINT}};
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_none, &rs, &rec);

        (void)state;
        for (size_t i = 0; i < 3; i++) {
                struct engine_reading r = {.detector =
                                                   (size_t)engine_detector_find(e, signals[i].det),
                                           .kind = signals[i].kind,
                                           .value = 1,
                                           .time = 1000 * (engine_time)i + 7};

                engine_reading(e, &r);
                assert_int_equal(rec.n, i + 1);
                assert_int_equal(rec.r[i].kind, ENGINE_ALARM);
                assert_true(rec.r[i].t - r.time <= 10 * S);
                assert_int_equal(rec.r[i].t, r.time);
        }
        engine_free(e);
}

static void test_en54_2_fault_indicated_within_100_seconds(void **state)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_none, &rs, &rec);
        struct engine_reading r = {.detector = (size_t)engine_detector_find(e, "S1"),
                                   .kind = ENGINE_READING_DEVICE_FAULT,
                                   .value = 1,
                                   .time = 5000};

        (void)state;
        engine_reading(e, &r);
        assert_int_equal(rec.n, 1);
        assert_int_equal(rec.r[0].kind, ENGINE_FAULT);
        assert_true(rec.r[0].t - r.time <= 100 * S);
        engine_free(e);
}

static void test_next_deadline_is_the_earliest_pending(void **state)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_verification, &rs, &rec);
        struct engine_reading r = {.detector = (size_t)engine_detector_find(e, "S1"),
                                   .kind = ENGINE_READING_SMOKE,
                                   .value = 1,
                                   .time = 1000};

        (void)state;
        /* Supervision: the 60-s detectors fall silent at 150 s, S5 (3600 s) much later. */
        assert_int_equal(engine_next_deadline(e), 150 * S);
        engine_reading(e, &r);
        assert_int_equal(engine_next_deadline(e), 1000 + 25 * S);
        engine_tick(e, 1000 + 25 * S);
        assert_int_equal(rec.r[rec.n - 1].kind, ENGINE_ALARM);
        assert_int_equal(engine_next_deadline(e), 150 * S);
        engine_free(e);
}

static void test_en54_25_period_reported_per_detector(void **state)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_none, &rs, &rec);

        (void)state;
        assert_true(engine_detector_meets_en54_25(e, (size_t)engine_detector_find(e, "S1")));
        /* 3600 s declared: 9000 s before a loss is seen, far beyond 300 s. */
        assert_false(engine_detector_meets_en54_25(e, (size_t)engine_detector_find(e, "S5")));
        engine_free(e);
}

static void test_zone_states_follow_detectors(void **state)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_verification, &rs, &rec);
        struct engine_reading r = {.detector = (size_t)engine_detector_find(e, "S1"),
                                   .kind = ENGINE_READING_SMOKE,
                                   .value = 1,
                                   .time = 0};
        struct engine_command c = {
                .kind = ENGINE_CMD_ACKNOWLEDGE, .target = "floor:1", .who = "desk", .time = 30 * S};
        enum engine_state st;

        (void)state;
        engine_reading(e, &r);
        assert_int_equal(engine_zone_state(e, "unit:U1", &st), 0);
        assert_int_equal(st, ENGINE_STATE_PRE_ALARM);
        engine_tick(e, 25 * S);
        assert_int_equal(engine_zone_state(e, "floor:1", &st), 0);
        assert_int_equal(st, ENGINE_STATE_ALARM);
        assert_int_equal(engine_zone_state(e, "floor:2", &st), 0);
        assert_int_equal(st, ENGINE_STATE_NORMAL);
        assert_int_equal(engine_command(e, &c), 0);
        assert_int_equal(engine_zone_state(e, "building", &st), 0);
        assert_int_equal(st, ENGINE_STATE_ACKNOWLEDGED);
        c.kind = ENGINE_CMD_SILENCE;
        assert_int_equal(engine_command(e, &c), 0);
        assert_int_equal(engine_zone_state(e, "unit:U1", &st), 0);
        assert_int_equal(st, ENGINE_STATE_SILENCED);
        c.kind = ENGINE_CMD_DISABLE;
        c.target = "zone:car-park";
        assert_int_equal(engine_command(e, &c), 0);
        assert_int_equal(engine_zone_state(e, "zone:car-park", &st), 0);
        assert_int_equal(st, ENGINE_STATE_DISABLED);
        assert_int_equal(engine_zone_state(e, "zone:nowhere", &st), -ENOENT);
        c.target = "unit:U77";
        assert_int_equal(engine_command(e, &c), -ENOENT);
        c.kind = ENGINE_CMD_SILENCE;
        c.target = "floor:2";
        assert_int_equal(engine_command(e, &c), -EALREADY);
        engine_free(e);
}

static void test_spare_slots_run_out_into_one_shared_slot_that_still_alarms(void **state)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_none, &rs, &rec);
        char name[32];
        size_t last = 0;

        (void)state;
        for (int i = 0; i < 10; i++) {
                snprintf(name, sizeof(name), "stranger-%d", i);
                last = engine_detector_unknown(e, name);
        }
        assert_int_equal(engine_detector_unknown(e, "stranger-0"), N_DETECTORS);
        assert_int_equal(engine_detector_unknown(e, "stranger-99"), last);
        engine_reading(
                e, &(struct engine_reading){
                           .detector = last, .kind = ENGINE_READING_SMOKE, .value = 1, .time = 10});
        assert_int_equal(rec.n, 1);
        assert_int_equal(rec.r[0].kind, ENGINE_ALARM);
        assert_true(rec.r[0].flags & ENGINE_FLAG_UNKNOWN_DETECTOR);
        engine_free(e);
}

static void test_setup_degrades_rather_than_refuse_a_detector(void **state)
{
        /* A record that is wrong in some detail must not stop the engine, or every detector of
         * the building would go unwatched: the detector is kept, judged cautiously, and warned
         * about. */
        static const struct engine_detector_info odd[] = {
                {.id = "H9", .kind = ENGINE_HEAT, .floor = 1, .verified = true},
                {.id = "Z9", .kind = ENGINE_SMOKE, .floor = 1, .zone = "attic", .verified = true},
                {.id = "F9", .kind = ENGINE_SMOKE, .floor = 2147483647, .verified = true},
        };
        struct recorder rec = {0};
        struct engine_setup s = {
                .detectors = odd, .n_detectors = 3, .emit = record, .emit_ctx = &rec};
        struct diag *d = diag_new();
        struct engine *e = NULL;
        enum engine_state st;

        (void)state;
        assert_int_equal(engine_new(&s, d, &e), 0);
        assert_int_equal(diag_count(d), 3);
        /* H9 has no class: judged as A1R, so 60 °C twice is an alarm. */
        engine_reading(e, &(struct engine_reading){.detector = 0,
                                                   .kind = ENGINE_READING_TEMPERATURE,
                                                   .value = 60,
                                                   .time = 1000});
        engine_reading(e, &(struct engine_reading){.detector = 0,
                                                   .kind = ENGINE_READING_TEMPERATURE,
                                                   .value = 61,
                                                   .time = 11000});
        assert_int_equal(rec.n, 1);
        assert_int_equal(rec.r[0].kind, ENGINE_ALARM);
        /* F9's impossible floor: it still alarms, in the building zone. */
        engine_reading(
                e, &(struct engine_reading){
                           .detector = 2, .kind = ENGINE_READING_SMOKE, .value = 1, .time = 12000});
        assert_int_equal(rec.r[1].kind, ENGINE_ALARM);
        assert_int_equal(engine_zone_state(e, "building", &st), 0);
        assert_int_equal(st, ENGINE_STATE_ALARM);
        engine_free(e);
        diag_free(d);
}

static void test_setup_refuses_two_detectors_with_one_id(void **state)
{
        static const struct engine_detector_info twice[] = {
                {.id = "Z9", .kind = ENGINE_SMOKE, .floor = 1, .verified = true},
                {.id = "Z9", .kind = ENGINE_SMOKE, .floor = 1, .verified = true},
        };
        struct engine_setup s = {.detectors = twice, .n_detectors = 2};
        struct diag *d = diag_new();
        struct engine *e = NULL;

        (void)state;
        assert_int_equal(engine_new(&s, d, &e), -EINVAL);
        assert_null(e);
        assert_int_equal(diag_count(d), 1);
        diag_free(d);
}

static void test_tick_to_never_returns(void **state)
{
        static const struct engine_detector_info one[] = {
                {.id = "C1", .kind = ENGINE_CALL_POINT, .floor = 1, .verified = true},
        };
        struct ruleset rs;
        struct ruleset_supervision sup;
        struct engine_setup s = {.detectors = one, .n_detectors = 1, .rules = &rs};
        struct diag *d = diag_new();
        struct engine *e = NULL;

        (void)state;
        /* A call point that is never silent-supervised leaves nothing pending at all. */
        memset(&rs, 0, sizeof(rs));
        ruleset_supervision_defaults(&sup);
        sup.silent_default_ms = 0;
        rs.supervision = &sup;
        rs.n_supervision = 1;
        assert_int_equal(engine_new(&s, d, &e), 0);
        assert_int_equal(engine_next_deadline(e), ENGINE_NEVER);
        engine_tick(e, engine_next_deadline(e));
        engine_reading(e, &(struct engine_reading){.detector = 0,
                                                   .kind = ENGINE_READING_CALL_POINT,
                                                   .value = 1,
                                                   .time = INT64_MAX - 5});
        engine_free(e);
        diag_free(d);
}

static void test_shared_unknown_slot_latches_against_another_detectors_clear(void **state)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_none, &rs, &rec);
        size_t b = 0, c = 0;
        char name[32];

        (void)state;
        for (int i = 0; i < 5; i++) {
                snprintf(name, sizeof(name), "stranger-%d", i);
                b = c;
                c = engine_detector_unknown(e, name);
        }
        assert_int_equal(b, c); /* the last two share the last slot */
        engine_reading(e,
                       &(struct engine_reading){
                               .detector = c, .kind = ENGINE_READING_SMOKE, .value = 1, .time = 0});
        engine_command(e, &(struct engine_command){.kind = ENGINE_CMD_RESET, .time = 1000});
        /* The other detector in the slot says all is clear: that must not cancel the smoke. */
        engine_reading(
                e, &(struct engine_reading){
                           .detector = b, .kind = ENGINE_READING_SMOKE, .value = 0, .time = 2000});
        engine_tick(e, 11000);
        assert_int_equal(rec.n, 3);
        assert_int_equal(rec.r[2].kind, ENGINE_ALARM);
        assert_true(rec.r[2].flags & ENGINE_FLAG_REESTABLISHED);
        engine_free(e);
}

static void test_restored_alarm_stays_latched_and_drives_outputs(void **state)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_outputs, &rs, &rec);
        long s1 = engine_detector_find(e, "S1");
        enum engine_state st;
        bool on = false;

        (void)state;
        assert_int_equal(engine_restore_alarm(e, (size_t)s1, 0, true, false), 0);
        /* No new alarm decision, but the bell is driven again. */
        assert_int_equal(rec.n, 1);
        assert_int_equal(rec.r[0].kind, ENGINE_OUTPUT_ON);
        assert_int_equal(engine_output_state(e, "bell", &on), 0);
        assert_true(on);
        assert_int_equal(engine_zone_state(e, "unit:U1", &st), 0);
        assert_int_equal(st, ENGINE_STATE_ACKNOWLEDGED);
        /* Smoke clearing does not end it; a reset does. */
        engine_reading(e, &(struct engine_reading){.detector = (size_t)s1,
                                                   .kind = ENGINE_READING_SMOKE,
                                                   .value = 0,
                                                   .time = 1000});
        assert_int_equal(engine_zone_state(e, "unit:U1", &st), 0);
        assert_int_equal(st, ENGINE_STATE_ACKNOWLEDGED);
        assert_int_equal(
                engine_command(e, &(struct engine_command){.kind = ENGINE_CMD_RESET, .time = 2000}),
                0);
        assert_int_equal(engine_zone_state(e, "unit:U1", &st), 0);
        assert_int_equal(st, ENGINE_STATE_NORMAL);
        assert_int_equal(engine_restore_alarm(e, 9999, 0, false, false), -ENOENT);
        engine_free(e);
}

/* One rule, one output per unit: the siren in each flat sounds for that flat's alarm alone. */
static void test_each_unit_output_sounds_only_for_its_own_unit(void **state)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_unit_sirens, &rs, &rec);
        bool on = true;

        (void)state;
        assert_int_equal(engine_output_state(e, "siren", &on), 0);
        assert_false(on);
        engine_reading(e,
                       &(struct engine_reading){.detector = (size_t)engine_detector_find(e, "S3"),
                                                .kind = ENGINE_READING_SMOKE,
                                                .value = 1,
                                                .time = 1000});
        assert_int_equal(rec.n, 2);
        assert_int_equal(rec.r[0].kind, ENGINE_ALARM);
        assert_int_equal(rec.r[1].kind, ENGINE_OUTPUT_ON);
        assert_string_equal(rec.r[1].who, "siren");
        assert_string_equal(rec.r[1].zone, "unit:U2");
        assert_int_equal(engine_output_state(e, "siren", &on), 0);
        assert_true(on);
        /* A second flat: its own siren; the first keeps sounding. */
        engine_reading(e,
                       &(struct engine_reading){.detector = (size_t)engine_detector_find(e, "S4"),
                                                .kind = ENGINE_READING_SMOKE,
                                                .value = 1,
                                                .time = 2000});
        assert_int_equal(rec.n, 4);
        assert_int_equal(rec.r[3].kind, ENGINE_OUTPUT_ON);
        assert_string_equal(rec.r[3].zone, "unit:U3");
        /* A common area's alarm sounds no flat's siren. */
        engine_reading(e,
                       &(struct engine_reading){.detector = (size_t)engine_detector_find(e, "SA"),
                                                .kind = ENGINE_READING_SMOKE,
                                                .value = 1,
                                                .time = 3000});
        assert_int_equal(rec.n, 5);
        assert_int_equal(rec.r[4].kind, ENGINE_ALARM);
        /* Silencing one flat stops that flat's siren only. */
        assert_int_equal(engine_command(e, &(struct engine_command){.kind = ENGINE_CMD_SILENCE,
                                                                    .target = "unit:U2",
                                                                    .who = "test",
                                                                    .time = 4000}),
                         0);
        assert_int_equal(rec.n, 7);
        assert_int_equal(rec.r[6].kind, ENGINE_OUTPUT_OFF);
        assert_string_equal(rec.r[6].zone, "unit:U2");
        assert_int_equal(engine_output_state(e, "siren", &on), 0);
        assert_true(on);
        engine_free(e);
}

static void test_time_never_goes_backwards(void **state)
{
        struct recorder rec = {0};
        struct ruleset rs;
        struct engine *e = make_engine(rules_none, &rs, &rec);
        long s1 = engine_detector_find(e, "S1");

        (void)state;
        engine_tick(e, 50 * S);
        engine_reading(e, &(struct engine_reading){.detector = (size_t)s1,
                                                   .kind = ENGINE_READING_SMOKE,
                                                   .value = 1,
                                                   .time = 10 * S});
        assert_int_equal(rec.n, 1);
        assert_int_equal(rec.r[0].t, 50 * S);
        engine_free(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stories),
                cmocka_unit_test(test_en54_2_alarm_indicated_within_ten_seconds_without_delay),
                cmocka_unit_test(test_en54_2_fault_indicated_within_100_seconds),
                cmocka_unit_test(test_next_deadline_is_the_earliest_pending),
                cmocka_unit_test(test_en54_25_period_reported_per_detector),
                cmocka_unit_test(test_zone_states_follow_detectors),
                cmocka_unit_test(test_spare_slots_run_out_into_one_shared_slot_that_still_alarms),
                cmocka_unit_test(test_setup_degrades_rather_than_refuse_a_detector),
                cmocka_unit_test(test_setup_refuses_two_detectors_with_one_id),
                cmocka_unit_test(test_tick_to_never_returns),
                cmocka_unit_test(test_shared_unknown_slot_latches_against_another_detectors_clear),
                cmocka_unit_test(test_restored_alarm_stays_latched_and_drives_outputs),
                cmocka_unit_test(test_each_unit_output_sounds_only_for_its_own_unit),
                cmocka_unit_test(test_time_never_goes_backwards),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
