/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_replay: the two line formats of `firegate replay`, without the binary. Every valid form
 * of an input line parses to what it says; every kind of malformed line is refused with its
 * reason; a decision is formatted with its keys in the documented order and those that do not
 * apply left out; and neither the parser nor the formatter crashes or leaks when memory runs
 * out at any allocation.
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

/* --- parsing valid lines --- */

static struct replay_event parse_ok(const char *line, engine_time last_t)
{
        struct replay_event ev;
        char why[REPLAY_WHY_MAX];
        int r = replay_parse_line(line, strlen(line), last_t, &ev, why, sizeof(why));

        if (r != 0)
                fail_msg("'%s' refused: %s", line, why);
        return ev;
}

static void test_blank_and_comment_lines_are_skipped(void **state)
{
        static const char *const lines[] = {
                "", "   ", "\t", "\r", "# a comment", "   # indented comment", "#{\"t\": 5}"};

        (void)state;
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
                assert_int_equal(parse_ok(lines[i], 100).kind, REPLAY_SKIP);
}

static void test_reading_with_boolean_number_and_test_flag(void **state)
{
        struct replay_event ev;

        (void)state;
        ev = parse_ok(
                "{\"t\": 1000, \"detector\": \"S1\", \"reading\": \"smoke\", \"value\": true}", -1);
        assert_int_equal(ev.kind, REPLAY_READING);
        assert_int_equal(ev.t, 1000);
        assert_string_equal(ev.detector, "S1");
        assert_int_equal(ev.reading, ENGINE_READING_SMOKE);
        assert_true(ev.value == 1);
        assert_int_equal(ev.flags, 0);

        ev = parse_ok(
                "{\"t\": 1000, \"detector\": \"S1\", \"reading\": \"smoke\", \"value\": false, "
                "\"test\": true}",
                1000);
        assert_true(ev.value == 0);
        assert_int_equal(ev.flags, ENGINE_READING_FLAG_TEST);

        ev = parse_ok(
                "{\"reading\": \"smoke\", \"test\": false, \"value\": 1, \"detector\": \"S1\", "
                "\"t\": 0}",
                -1);
        assert_int_equal(ev.flags, 0);

        ev = parse_ok("{\"t\": 7, \"detector\": \"H1\", \"reading\": \"temperature\", \"value\": "
                      "21.5}\r",
                      -1);
        assert_int_equal(ev.reading, ENGINE_READING_TEMPERATURE);
        assert_true(ev.value == 21.5);

        /* Values the engine treats as invalid data are its to judge, not the parser's. */
        ev = parse_ok("{\"t\": 7, \"detector\": \"S1\", \"reading\": \"smoke\", \"value\": 7}", -1);
        assert_true(ev.value == 7);
        ev = parse_ok("{\"t\": 7, \"detector\": \"B1\", \"reading\": \"battery\", \"value\": -1}",
                      -1);
        assert_true(ev.value == -1);
}

static void test_every_reading_name_parses_to_its_kind(void **state)
{
        char line[200];

        (void)state;
        for (int k = ENGINE_READING_SMOKE; k <= ENGINE_READING_HEARTBEAT; k++) {
                const char *name = replay_reading_name((enum engine_reading_kind)k);
                struct replay_event ev;

                assert_non_null(name);
                snprintf(line, sizeof(line),
                         "{\"t\": 1, \"detector\": \"D\", \"reading\": \"%s\", \"value\": 1}",
                         name);
                ev = parse_ok(line, -1);
                assert_int_equal(ev.kind, REPLAY_READING);
                assert_int_equal(ev.reading, k);
        }
}

static void test_availability_accepts_online_and_offline(void **state)
{
        struct replay_event ev;

        (void)state;
        ev = parse_ok("{\"t\": 1, \"detector\": \"S1\", \"reading\": \"availability\", \"value\": "
                      "\"online\"}",
                      -1);
        assert_int_equal(ev.reading, ENGINE_READING_AVAILABILITY);
        assert_true(ev.value == 1);
        ev = parse_ok("{\"t\": 1, \"detector\": \"S1\", \"reading\": \"availability\", \"value\": "
                      "\"offline\"}",
                      -1);
        assert_true(ev.value == 0);
        ev = parse_ok("{\"t\": 1, \"detector\": \"S1\", \"reading\": \"availability\", \"value\": "
                      "false}",
                      -1);
        assert_true(ev.value == 0);
}

static void test_invalid_and_heartbeat_need_no_value(void **state)
{
        struct replay_event ev;

        (void)state;
        ev = parse_ok("{\"t\": 1, \"detector\": \"S1\", \"reading\": \"heartbeat\"}", -1);
        assert_int_equal(ev.reading, ENGINE_READING_HEARTBEAT);
        assert_true(ev.value == 0);
        ev = parse_ok("{\"t\": 1, \"detector\": \"S1\", \"reading\": \"invalid\"}", -1);
        assert_int_equal(ev.reading, ENGINE_READING_INVALID);
}

static void test_unknown_detector_names_are_taken_as_they_are(void **state)
{
        struct replay_event ev;
        char line[200], id[65];

        (void)state;
        ev = parse_ok("{\"t\": 1, \"detector\": \"zigbee2mqtt/0x00124b00 Küche\", \"reading\": "
                      "\"smoke\", \"value\": true}",
                      -1);
        assert_string_equal(ev.detector, "zigbee2mqtt/0x00124b00 Küche");
        memset(id, 'x', 64);
        id[64] = '\0';
        snprintf(line, sizeof(line), "{\"t\": 1, \"detector\": \"%s\", \"reading\": \"heartbeat\"}",
                 id);
        assert_string_equal(parse_ok(line, -1).detector, id);
}

static void test_commands_with_and_without_target_and_who(void **state)
{
        struct replay_event ev;

        (void)state;
        ev = parse_ok("{\"t\": 5000, \"command\": \"acknowledge\", \"target\": \"unit:U1\", "
                      "\"who\": \"desk\"}",
                      4000);
        assert_int_equal(ev.kind, REPLAY_COMMAND);
        assert_int_equal(ev.t, 5000);
        assert_int_equal(ev.command, ENGINE_CMD_ACKNOWLEDGE);
        assert_string_equal(ev.target, "unit:U1");
        assert_string_equal(ev.who, "desk");

        ev = parse_ok("{\"t\": 5000, \"command\": \"reset\"}", -1);
        assert_int_equal(ev.command, ENGINE_CMD_RESET);
        assert_string_equal(ev.target, "");
        assert_string_equal(ev.who, "");

        for (int k = ENGINE_CMD_ACKNOWLEDGE; k <= ENGINE_CMD_TEST_END; k++) {
                char line[120];

                assert_non_null(replay_command_name((enum engine_command_kind)k));
                snprintf(line, sizeof(line), "{\"t\": 1, \"command\": \"%s\"}",
                         replay_command_name((enum engine_command_kind)k));
                assert_int_equal(parse_ok(line, -1).command, k);
        }
}

static void test_t_alone_moves_the_clock_and_may_repeat(void **state)
{
        struct replay_event ev;

        (void)state;
        ev = parse_ok("{\"t\": 900000}", 900000);
        assert_int_equal(ev.kind, REPLAY_TICK);
        assert_int_equal(ev.t, 900000);
        assert_int_equal(parse_ok("{\"t\": 0}", -1).t, 0);
        assert_int_equal(parse_ok("  {\"t\": 10000000000000}  ", -1).t, REPLAY_T_MAX);
}

/* --- refusing malformed lines --- */

static const struct malformed {
        const char *line;
        engine_time last_t;
        const char *reason; /* a part of the reason that names the problem */
} malformed[] = {
        {"{\"t\": 1, \"detector\": ", -1, "invalid JSON at column"},
        {"not json", -1, "invalid JSON"},
        {"{\"t\": 1, \"t\": 2}", -1, "duplicate object key"},
        {"[1, 2]", -1, "expected a JSON object, not an array"},
        {"42", -1, "expected a JSON object, not an integer"},
        {"\"t\"", -1, "expected a JSON object, not a string"},
        {"{\"t\": 1, \"detectr\": \"S1\"}", -1, "unknown field 'detectr'"},
        {"{\"t\": 1, \"a\\nb\": 1}", -1, "unknown field 'a?b'"},
        {"{\"detector\": \"S1\", \"reading\": \"smoke\", \"value\": true}", -1, "missing t"},
        {"{\"t\": \"1000\"}", -1,
         "t must be an integer (milliseconds from the start), not a string"},
        {"{\"t\": 1.5}", -1, "t must be an integer (milliseconds from the start), not a real"},
        {"{\"t\": null}", -1, "not null"},
        {"{\"t\": -1}", -1, "t must not be negative"},
        {"{\"t\": 10000000000001}", -1, "past the latest time"},
        {"{\"t\": 4999}", 5000, "t 4999 goes back before the previous line's t 5000"},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": \"smoke\", \"command\": \"reset\"}", -1,
         "a reading (detector, reading) or a command, not both"},
        {"{\"t\": 1, \"value\": true}", -1, "value needs detector and reading"},
        {"{\"t\": 1, \"test\": true}", -1, "test needs detector and reading"},
        {"{\"t\": 1, \"who\": \"desk\"}", -1, "who needs command"},
        {"{\"t\": 1, \"target\": \"building\"}", -1, "target needs command"},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": \"smoke\", \"value\": true, \"who\": "
         "\"x\"}",
         -1, "who belongs in a command, not in a reading"},
        {"{\"t\": 1, \"command\": \"reset\", \"value\": 1}", -1,
         "value belongs in a reading, not in a command"},
        {"{\"t\": 1, \"reading\": \"smoke\", \"value\": true}", -1, "a reading needs detector"},
        {"{\"t\": 1, \"detector\": \"S1\", \"value\": true}", -1, "a reading needs reading"},
        {"{\"t\": 1, \"detector\": \"\", \"reading\": \"smoke\", \"value\": true}", -1,
         "detector must be a string of 1 to 64 bytes"},
        {"{\"t\": 1, \"detector\": 5, \"reading\": \"smoke\", \"value\": true}", -1,
         "detector must be a string"},
        {"{\"t\": 1, \"detector\": \"S\\u0001\", \"reading\": \"smoke\", \"value\": true}", -1,
         "without control characters"},
        {"{\"t\": 1, \"detector\": \"S\\u0000x\", \"reading\": \"smoke\", \"value\": true}", -1,
         "\\u0000 is not allowed"},
        {"{\"t\": 1, \"detector\": "
         "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\", "
         "\"reading\": \"smoke\", \"value\": true}",
         -1, "1 to 64 bytes"},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": \"smok\", \"value\": true}", -1,
         "unknown reading 'smok': expected smoke, heat_alarm, temperature, call_point, test, "
         "availability, battery, battery_low, tamper, device_fault, invalid or heartbeat"},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": true, \"value\": true}", -1,
         "reading must be a string, not a boolean"},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": \"smoke\"}", -1,
         "reading smoke needs a value"},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": \"smoke\", \"value\": \"yes\"}", -1,
         "value must be true, false or a number, not a string"},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": \"smoke\", \"value\": null}", -1,
         "value must be true, false or a number, not null"},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": \"battery\", \"value\": \"online\"}", -1,
         "value must be true, false or a number"},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": \"availability\", \"value\": \"gone\"}", -1,
         "value must be true, false, a number, \"online\" or \"offline\""},
        {"{\"t\": 1, \"detector\": \"S1\", \"reading\": \"smoke\", \"value\": true, \"test\": 1}",
         -1, "test must be true or false, not an integer"},
        {"{\"t\": 1, \"command\": \"ack\"}", -1,
         "unknown command 'ack': expected acknowledge, silence, reset, disable, enable, "
         "test_start or test_end"},
        {"{\"t\": 1, \"command\": 3}", -1, "command must be a string, not an integer"},
        {"{\"t\": 1, \"command\": \"reset\", \"target\": 7}", -1, "target must be a string"},
        {"{\"t\": 1, \"command\": \"reset\", \"who\": "
         "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
         -1, "who must be a string of at most 64 bytes"},
};

static void test_every_malformed_kind_is_refused_with_its_reason(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
                const struct malformed *m = &malformed[i];
                struct replay_event ev;
                char why[REPLAY_WHY_MAX];
                int r = replay_parse_line(m->line, strlen(m->line), m->last_t, &ev, why,
                                          sizeof(why));

                if (r != -EINVAL)
                        fail_msg("'%s' gave %d, expected -EINVAL", m->line, r);
                if (!strstr(why, m->reason))
                        fail_msg("'%s': reason '%s' does not say '%s'", m->line, why, m->reason);
                /* Reasons are one line: they end up as FILE:LINE: reason on stderr. */
                assert_null(strchr(why, '\n'));
        }
}

static void test_overlong_line_is_refused_unread(void **state)
{
        size_t len = REPLAY_LINE_MAX + 1;
        char *line = malloc(len);
        struct replay_event ev;
        char why[REPLAY_WHY_MAX];

        (void)state;
        assert_non_null(line);
        memset(line, ' ', len);
        line[0] = '{';
        line[len - 1] = '}';
        assert_int_equal(replay_parse_line(line, len, -1, &ev, why, sizeof(why)), -EINVAL);
        assert_non_null(strstr(why, "line too long"));
        free(line);
}

static void test_embedded_nul_is_invalid_json(void **state)
{
        static const char line[] = "{\"t\": 1}\0{\"t\": 2}";
        struct replay_event ev;
        char why[REPLAY_WHY_MAX];

        (void)state;
        assert_int_equal(replay_parse_line(line, sizeof(line) - 1, -1, &ev, why, sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "invalid JSON"));
}

/* --- formatting --- */

static char *format(const struct engine_decision *d)
{
        char *line = NULL;

        assert_int_equal(replay_format_decision(d, &line), 0);
        assert_non_null(line);
        return line;
}

static void test_detector_decision_has_every_key_in_order(void **state)
{
        const struct engine_decision d = {
                .kind = ENGINE_ALARM,
                .time = 25000,
                .first_detection = 0,
                .detector = "S1",
                .unit = "U1",
                .floor = 1,
                .has_floor = true,
                .zone = "unit:U1",
                .cause = "smoke persisted through verification (25 s)",
                .rule = "smoke-units",
                .fault = ENGINE_FAULT_NONE,
                .flags = ENGINE_FLAG_CONFIRMED | ENGINE_FLAG_PRIORITY_RESCUE |
                         ENGINE_FLAG_VERIFICATION_SKIPPED,
        };
        char *line = format(&d);

        (void)state;
        assert_string_equal(line,
                            "{\"t\":25000,\"decision\":\"alarm\",\"detector\":\"S1\",\"unit\":"
                            "\"U1\",\"floor\":1,\"zone\":\"unit:U1\",\"cause\":\"smoke persisted "
                            "through verification (25 s)\",\"rule\":\"smoke-units\","
                            "\"first_detection\":0,\"flags\":[\"priority_rescue\","
                            "\"verification_skipped\",\"confirmed\"]}");
        free(line);
}

static void test_zone_decision_leaves_out_what_does_not_apply(void **state)
{
        const struct engine_decision out = {
                .kind = ENGINE_OUTPUT_ON,
                .time = 3,
                .first_detection = ENGINE_NEVER,
                .zone = "building",
                .cause = "alarm in building",
                .rule = "built-in",
                .output = "bell",
        };
        const struct engine_decision cmd = {
                .kind = ENGINE_ACKNOWLEDGED,
                .time = 5000,
                .first_detection = ENGINE_NEVER,
                .zone = "unit:U1",
                .cause = "acknowledged",
                .rule = "built-in",
                .who = "desk",
        };
        char *line;

        (void)state;
        line = format(&out);
        assert_string_equal(line, "{\"t\":3,\"decision\":\"output-on\",\"zone\":\"building\","
                                  "\"output\":\"bell\",\"cause\":\"alarm in building\","
                                  "\"rule\":\"built-in\"}");
        free(line);
        line = format(&cmd);
        assert_string_equal(line, "{\"t\":5000,\"decision\":\"acknowledged\",\"zone\":\"unit:U1\","
                                  "\"cause\":\"acknowledged\",\"rule\":\"built-in\","
                                  "\"who\":\"desk\"}");
        free(line);
}

static void test_fault_named_and_first_detection_only_for_alarms(void **state)
{
        const struct engine_decision d = {
                .kind = ENGINE_FAULT,
                .time = 300000,
                .first_detection = 12, /* set, but a fault is no alarm episode */
                .detector = "S5",
                .floor = -1,
                .has_floor = true,
                .zone = "zone:car-park",
                .cause = "not heard from for 300 s",
                .rule = "all",
                .fault = ENGINE_FAULT_SILENT,
                .flags = ENGINE_FLAG_UNVERIFIED,
        };
        const struct engine_decision pre = {
                .kind = ENGINE_PRE_ALARM,
                .time = 0,
                .first_detection = ENGINE_NEVER,
                .detector = "X",
                .zone = "building",
                .cause = "c",
                .rule = "r",
        };
        char *line;

        (void)state;
        line = format(&d);
        assert_string_equal(line, "{\"t\":300000,\"decision\":\"fault\",\"detector\":\"S5\","
                                  "\"floor\":-1,\"zone\":\"zone:car-park\",\"fault\":\"silent\","
                                  "\"cause\":\"not heard from for 300 s\",\"rule\":\"all\","
                                  "\"flags\":[\"unverified\"]}");
        free(line);
        /* No floor without has_floor, no first_detection when the engine does not know it. */
        line = format(&pre);
        assert_string_equal(line, "{\"t\":0,\"decision\":\"pre-alarm\",\"detector\":\"X\","
                                  "\"zone\":\"building\",\"cause\":\"c\",\"rule\":\"r\"}");
        free(line);
}

static void test_every_flag_has_its_name_in_bit_order(void **state)
{
        static const char *const names[] = {
                "priority_rescue",
                "unverified",
                "unknown_detector",
                "unknown_unit",
                "verification_skipped",
                "unconfirmed",
                "reestablished",
                "fail_safe",
                "confirmed",
        };
        const struct engine_decision d = {
                .kind = ENGINE_ALARM,
                .first_detection = ENGINE_NEVER,
                .zone = "building",
                .flags = 0x1ff,
        };
        char *line, expected[400];
        size_t used;

        (void)state;
        for (unsigned i = 0; i < 9; i++)
                assert_string_equal(replay_flag_name(1u << i), names[i]);
        assert_null(replay_flag_name(1u << 9));
        assert_null(replay_flag_name(0));
        used = (size_t)snprintf(expected, sizeof(expected),
                                "{\"t\":0,\"decision\":\"alarm\",\"zone\":\"building\","
                                "\"flags\":[");
        for (unsigned i = 0; i < 9; i++)
                used += (size_t)snprintf(expected + used, sizeof(expected) - used, "%s\"%s\"",
                                         i ? "," : "", names[i]);
        snprintf(expected + used, sizeof(expected) - used, "]}");
        line = format(&d);
        assert_string_equal(line, expected);
        free(line);
}

static void test_flag_this_build_does_not_know_is_shown_not_dropped(void **state)
{
        const struct engine_decision d = {
                .kind = ENGINE_ALARM,
                .first_detection = ENGINE_NEVER,
                .zone = "building",
                .flags = ENGINE_FLAG_FAIL_SAFE | (1u << 12),
        };
        char *line = format(&d);

        (void)state;
        assert_non_null(strstr(line, "\"flags\":[\"fail_safe\",\"flag_0x1000\"]"));
        free(line);
}

static void test_text_that_is_not_utf8_is_shown_with_question_marks(void **state)
{
        const struct engine_decision d = {
                .kind = ENGINE_ALARM,
                .first_detection = ENGINE_NEVER,
                .zone = "building",
                .cause = "heat: 56.0 \xc2", /* cut inside "°" */
        };
        char *line = format(&d);

        (void)state;
        assert_non_null(strstr(line, "\"cause\":\"heat: 56.0 ?\""));
        free(line);
}

static void test_notice_line(void **state)
{
        char *line = NULL;

        (void)state;
        assert_int_equal(replay_format_notice(0, "en54-25", "S5", "declares 3600 s", &line), 0);
        assert_string_equal(line, "{\"t\":0,\"notice\":\"en54-25\",\"detector\":\"S5\","
                                  "\"cause\":\"declares 3600 s\"}");
        free(line);
}

static void test_formatted_line_parses_back_as_json(void **state)
{
        const struct engine_decision d = {
                .kind = ENGINE_RESTORE,
                .time = 1,
                .first_detection = ENGINE_NEVER,
                .detector = "quote\"and\\slash",
                .zone = "building",
                .cause = "line\nbreak and °C",
                .rule = "r",
                .fault = ENGINE_FAULT_INVALID_DATA,
        };
        char *line = format(&d);
        json_error_t err;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &err);

        (void)state;
        assert_non_null(o);
        assert_null(strchr(line, '\n'));
        assert_string_equal(json_string_value(json_object_get(o, "detector")), "quote\"and\\slash");
        assert_string_equal(json_string_value(json_object_get(o, "cause")), "line\nbreak and °C");
        assert_string_equal(json_string_value(json_object_get(o, "fault")), "invalid_data");
        json_decref(o);
        free(line);
}

/* --- running out of memory --- */

struct alloc_budget {
        int left;
};

/* jansson's allocator is process-wide; the budget is a test fixture, not engine state. */
static struct alloc_budget budget = {-1};

static void *budget_malloc(size_t size)
{
        if (budget.left == 0)
                return NULL;
        if (budget.left > 0)
                budget.left--;
        return malloc(size);
}

static void test_allocation_failure_at_every_step_is_reported_not_crashed(void **state)
{
        static const char line[] = "{\"t\": 5000, \"command\": \"acknowledge\", \"target\": "
                                   "\"unit:U1\", \"who\": \"desk\"}";
        const struct engine_decision d = {
                .kind = ENGINE_ALARM,
                .time = 1,
                .first_detection = 0,
                .detector = "S1",
                .unit = "U1",
                .has_floor = true,
                .zone = "unit:U1",
                .cause = "smoke",
                .rule = "units",
                .flags = ENGINE_FLAG_CONFIRMED | ENGINE_FLAG_UNVERIFIED,
        };
        bool parsed = false, formatted = false;

        (void)state;
        json_set_alloc_funcs(budget_malloc, free);
        for (int n = 0; n < 200 && !(parsed && formatted); n++) {
                struct replay_event ev;
                char why[REPLAY_WHY_MAX], *out = NULL;
                int r;

                budget.left = n;
                r = replay_parse_line(line, sizeof(line) - 1, -1, &ev, why, sizeof(why));
                /* jansson says most failed allocations in its parser as syntax errors. */
                assert_true(r == 0 || r == -ENOMEM || r == -EINVAL);
                parsed |= r == 0;
                budget.left = n;
                r = replay_format_decision(&d, &out);
                assert_true(r == 0 || r == -ENOMEM);
                assert_true((r == 0) == (out != NULL));
                formatted |= r == 0;
                free(out);
        }
        budget.left = -1;
        json_set_alloc_funcs(malloc, free);
        assert_true(parsed);
        assert_true(formatted);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_blank_and_comment_lines_are_skipped),
                cmocka_unit_test(test_reading_with_boolean_number_and_test_flag),
                cmocka_unit_test(test_every_reading_name_parses_to_its_kind),
                cmocka_unit_test(test_availability_accepts_online_and_offline),
                cmocka_unit_test(test_invalid_and_heartbeat_need_no_value),
                cmocka_unit_test(test_unknown_detector_names_are_taken_as_they_are),
                cmocka_unit_test(test_commands_with_and_without_target_and_who),
                cmocka_unit_test(test_t_alone_moves_the_clock_and_may_repeat),
                cmocka_unit_test(test_every_malformed_kind_is_refused_with_its_reason),
                cmocka_unit_test(test_overlong_line_is_refused_unread),
                cmocka_unit_test(test_embedded_nul_is_invalid_json),
                cmocka_unit_test(test_detector_decision_has_every_key_in_order),
                cmocka_unit_test(test_zone_decision_leaves_out_what_does_not_apply),
                cmocka_unit_test(test_fault_named_and_first_detection_only_for_alarms),
                cmocka_unit_test(test_every_flag_has_its_name_in_bit_order),
                cmocka_unit_test(test_flag_this_build_does_not_know_is_shown_not_dropped),
                cmocka_unit_test(test_text_that_is_not_utf8_is_shown_with_question_marks),
                cmocka_unit_test(test_notice_line),
                cmocka_unit_test(test_formatted_line_parses_back_as_json),
                cmocka_unit_test(test_allocation_failure_at_every_step_is_reported_not_crashed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
