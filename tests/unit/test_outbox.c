/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_outbox: what the gateway tells the city platform, short of the network. The outbox
 * numbers messages for ever and keeps alerts; statistics coalesce past the limit with a count;
 * an alert says what the registry and the incident log say (the unit, its verified occupancy as
 * counts and references, never an identity number), and how sure it is; the platform's commands
 * are parsed strictly. Real SQLite files in a temporary directory; the sending half runs against
 * real brokers in tests/integration/test_uplink_daemon.py.
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "command.h"
#include "incident.h"
#include "log.h"
#include "message.h"
#include "outbox.h"
#include "store.h"
#include "testutil.h"

#define WALL0 1795446000000LL /* 2026-11-23T15:00:00Z */

struct fixture {
        char *dir;
        struct store *s;
};

/* A building with two flats: U101 verified with three residents (one bedridden, one of them
 * unverified, one moved out), U102 signed by no one. */
static const char registry_sql[] =
        "INSERT INTO building VALUES ('000000000001', 'Tower', 'Street 1', 10, 0, 1, 1, NULL, 0, "
        "x'00', 0);"
        "INSERT INTO unit (address_id, building, floor, number, revision, verified, "
        "record_sha256, imported_at) VALUES ('000000000101', '000000000001', 1, '1.01', 1, 1, "
        "x'00', 0), ('000000000102', '000000000001', 1, '1.02', 1, 0, x'00', 0);"
        "INSERT INTO resident (resident_id, unit, citizen_hmac, citizen_last4, bedridden, elderly, "
        "moved_out, revision, verified, record_sha256, imported_at) VALUES "
        "('res-000001', '000000000101', zeroblob(32), '1234', 1, 1, 0, 1, 1, x'00', 0), "
        "('res-000002', '000000000101', zeroblob(32), '2345', 0, 0, 0, 1, 1, x'00', 0), "
        "('res-000003', '000000000101', zeroblob(32), '3456', 0, 1, 0, 1, 0, x'00', 0), "
        "('res-000004', '000000000101', zeroblob(32), '4567', 1, 0, 1, 1, 1, x'00', 0);"
        "INSERT INTO detector (detector_id, building, kind, heat_class, unit, source, bridge, "
        "device, revision, verified, record_sha256, imported_at) VALUES "
        "('k-101', '000000000001', 'heat', 'A1R', '000000000101', 'mqtt', 'tasmota', 'a', 1, 1, "
        "x'00', 0), ('s-102', '000000000001', 'smoke', NULL, '000000000102', 'mqtt', "
        "'zigbee2mqtt', 'b', 1, 1, x'00', 0);";

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char *path;

        log_setup(LOG_CRIT, false); /* refusals by triggers are expected */
        assert_non_null(f);
        f->dir = tu_tempdir();
        path = tu_path(f->dir, "firegate.db");
        assert_int_equal(store_open(path, STORE_READ_WRITE, &f->s), 0);
        assert_int_equal(sqlite3_exec(store_db(f->s), registry_sql, NULL, NULL, NULL), SQLITE_OK);
        free(path);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        store_free(f->s);
        tu_rmtree(f->dir);
        free(f);
        return 0;
}

static long long add(struct store *s, enum outbox_kind kind, enum outbox_priority prio)
{
        json_t *msg = json_object();
        long long seq = 0;

        assert_int_equal(store_begin(s), 0);
        assert_int_equal(outbox_add(s, kind, prio, "alert", msg, 0, WALL0, &seq), 0);
        assert_int_equal(store_commit(s), 0);
        /* The message carries its own number and a version-4 UUID. */
        assert_int_equal(json_integer_value(json_object_get(msg, "seq")), seq);
        assert_int_equal(strlen(json_string_value(json_object_get(msg, "id"))), 36);
        assert_int_equal(json_string_value(json_object_get(msg, "id"))[14], '4');
        json_decref(msg);
        return seq;
}

static long long count(struct store *s, const char *sql)
{
        sqlite3_stmt *st = NULL;
        long long n;

        assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return n;
}

static void test_sequence_numbers_are_never_reused(void **state)
{
        struct fixture *f = *state;
        long long pending = 0, coalesced = 0, dropped = -1;

        assert_int_equal(add(f->s, OUTBOX_STATS, OUTBOX_PRIORITY_STATS), 1);
        assert_int_equal(add(f->s, OUTBOX_STATS, OUTBOX_PRIORITY_STATS), 2);
        /* Past the limit (2 pending of at most 2), pending statistics are dropped and counted. */
        assert_int_equal(store_begin(f->s), 0);
        assert_int_equal(outbox_coalesce(f->s, 2, WALL0, &dropped), 0);
        assert_int_equal(store_commit(f->s), 0);
        assert_int_equal(dropped, 2);
        assert_int_equal(outbox_depth(f->s, &pending, &coalesced), 0);
        assert_int_equal(pending, 0);
        assert_int_equal(coalesced, 2);
        /* The next message is 3, not 1 again: the platform sees the gap. */
        assert_int_equal(add(f->s, OUTBOX_ALERT, OUTBOX_PRIORITY_FIRE), 3);
}

static void test_alerts_are_never_coalesced_nor_removed(void **state)
{
        struct fixture *f = *state;
        long long dropped = -1, pending = 0, coalesced = 0;

        for (int i = 0; i < 5; i++)
                add(f->s, OUTBOX_ALERT, OUTBOX_PRIORITY_FIRE);
        add(f->s, OUTBOX_STATS, OUTBOX_PRIORITY_STATS);
        assert_int_equal(store_begin(f->s), 0);
        assert_int_equal(outbox_coalesce(f->s, 3, WALL0, &dropped), 0);
        assert_int_equal(store_commit(f->s), 0);
        assert_int_equal(dropped, 1);
        assert_int_equal(outbox_depth(f->s, &pending, &coalesced), 0);
        assert_int_equal(pending, 5);
        assert_int_equal(coalesced, 1);
        /* Not even by hand. */
        assert_int_not_equal(sqlite3_exec(store_db(f->s), "DELETE FROM outbox", NULL, NULL, NULL),
                             SQLITE_OK);
        assert_int_equal(count(f->s, "SELECT count(*) FROM outbox"), 5);
}

static void test_delivered_statistics_are_removed_after_a_day(void **state)
{
        struct fixture *f = *state;

        add(f->s, OUTBOX_STATS, OUTBOX_PRIORITY_STATS);
        add(f->s, OUTBOX_ALERT, OUTBOX_PRIORITY_OTHER);
        assert_int_equal(sqlite3_exec(store_db(f->s), "UPDATE outbox SET delivered_at = 1", NULL,
                                      NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(store_begin(f->s), 0);
        assert_int_equal(outbox_coalesce(f->s, 1000, WALL0, NULL), 0);
        assert_int_equal(store_commit(f->s), 0);
        assert_int_equal(count(f->s, "SELECT count(*) FROM outbox WHERE kind = 'stats'"), 0);
        assert_int_equal(count(f->s, "SELECT count(*) FROM outbox WHERE kind = 'alert'"), 1);
}

static struct engine_decision alarm_of(const char *detector, const char *unit, unsigned flags)
{
        static char zone[64];

        snprintf(zone, sizeof(zone), "unit:%s", unit);
        return (struct engine_decision){
                .kind = ENGINE_ALARM,
                .time = 5000,
                .first_detection = 2000,
                .detector = detector,
                .unit = unit,
                .floor = 1,
                .has_floor = true,
                .zone = zone,
                .cause = "heat alarm reported by the detector",
                .rule = "all",
                .flags = flags,
        };
}

/* Records @d and builds its alert, as the daemon does in one transaction. */
static json_t *alert_for(struct store *s, const struct engine_decision *d)
{
        long long incident = 0;
        json_t *msg = NULL;

        assert_int_equal(store_begin(s), 0);
        assert_int_equal(incident_record(s, d, WALL0 + d->time, &incident), 0);
        assert_int_equal(message_alert(s, "gw-1", d, incident, WALL0 + d->time, &msg), 0);
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(json_integer_value(json_object_get(msg, "incident")), incident);
        return msg;
}

static void test_alert_carries_the_unit_and_its_verified_occupancy(void **state)
{
        struct fixture *f = *state;
        struct engine_decision d = alarm_of("k-101", "000000000101", ENGINE_FLAG_PRIORITY_RESCUE);
        json_t *msg = alert_for(f->s, &d), *occ, *unit;
        char *text;

        assert_string_equal(json_string_value(json_object_get(msg, "schema")), "firegate/alert");
        assert_string_equal(json_string_value(json_object_get(msg, "event")), "fire_alarm");
        assert_string_equal(json_string_value(json_object_get(msg, "place")), "unit:000000000101");
        unit = json_object_get(msg, "unit");
        assert_string_equal(json_string_value(json_object_get(unit, "number")), "1.01");
        assert_true(json_is_true(json_object_get(unit, "verified")));
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(msg, "building"), "location_id")),
                "000000000001");
        /* First detection: the engine's interval carried over to the real clock. */
        assert_int_equal(json_integer_value(json_object_get(msg, "first_detection_at")),
                         WALL0 + 2000);
        occ = json_object_get(msg, "occupancy");
        /* Two verified residents still living there; the unverified one only counted. */
        assert_int_equal(json_integer_value(json_object_get(occ, "residents")), 2);
        assert_int_equal(json_integer_value(json_object_get(occ, "unverified_residents")), 1);
        assert_int_equal(json_integer_value(json_object_get(occ, "bedridden")), 1);
        assert_int_equal(json_integer_value(json_object_get(occ, "elderly")), 1);
        assert_int_equal(json_array_size(json_object_get(occ, "verified_residents")), 2);
        assert_true(json_is_true(json_object_get(msg, "priority_rescue")));
        assert_string_equal(json_string_value(json_object_get(msg, "verification")), "verified");
        text = json_dumps(msg, 0);
        /* Never a number of an identity card, not even its last digits. */
        assert_null(strstr(text, "1234"));
        assert_null(strstr(text, "citizen"));
        free(text);
        json_decref(msg);
}

static void test_alert_of_an_unsigned_unit_is_sent_marked_unverified(void **state)
{
        struct fixture *f = *state;
        struct engine_decision d = alarm_of("s-102", "000000000102", ENGINE_FLAG_UNVERIFIED);
        json_t *msg = alert_for(f->s, &d);

        assert_string_equal(json_string_value(json_object_get(msg, "event")), "fire_alarm");
        assert_string_equal(json_string_value(json_object_get(msg, "verification")), "unverified");
        assert_false(json_is_true(json_object_get(msg, "priority_rescue")));
        json_decref(msg);
}

static void test_alert_of_a_detector_the_registry_lacks_is_sent_marked_unknown(void **state)
{
        struct fixture *f = *state;
        struct engine_decision d = {
                .kind = ENGINE_ALARM,
                .time = 1000,
                .first_detection = 1000,
                .detector = "zigbee2mqtt:guest-room",
                .zone = "building",
                .cause = "smoke",
                .rule = "built-in",
                .flags = ENGINE_FLAG_UNKNOWN_DETECTOR,
        };
        json_t *msg = alert_for(f->s, &d), *det;

        assert_string_equal(json_string_value(json_object_get(msg, "verification")), "unknown");
        det = json_array_get(json_object_get(msg, "detectors"), 0);
        assert_string_equal(json_string_value(json_object_get(det, "kind")), "unknown");
        assert_true(json_is_null(json_object_get(msg, "unit")));
        json_decref(msg);
}

static void test_outputs_and_tests_are_not_alerts(void **state)
{
        (void)state;
        assert_null(message_alert_event(ENGINE_OUTPUT_ON));
        assert_null(message_alert_event(ENGINE_TEST));
        assert_string_equal(message_alert_event(ENGINE_ACKNOWLEDGED), "acknowledge");
}

/* --- commands --- */

#define PREFIX "firegate/v1/gw-1/"

static int parse(const char *topic, const char *payload, struct command *c, char *why)
{
        return command_parse(PREFIX, topic, payload, strlen(payload), WALL0, 60000, c, why, 256);
}

static void test_command_is_parsed_with_its_account_from_the_topic(void **state)
{
        struct command c;
        char why[256];

        (void)state;
        assert_int_equal(parse(PREFIX "cmd/city-platform/ack",
                               "{\"request_id\":\"req-0001\",\"at\":1795446030000,"
                               "\"target\":\"12\",\"operator\":\"duty officer 4\"}",
                               &c, why),
                         0);
        assert_string_equal(c.account, "city-platform");
        assert_string_equal(c.verb, "acknowledge");
        assert_string_equal(c.request_id, "req-0001");
        assert_string_equal(c.target, "12");
        assert_string_equal(c.operator_name, "duty officer 4");
}

static void test_bad_commands_are_refused_with_the_reason(void **state)
{
        static const struct {
                const char *topic, *payload, *why;
        } cases[] = {
                {PREFIX "cmd/p/ack",
                 "{\"request_id\":\"r1\",\"at\":1795446000000,\"target\":\"1\"}",
                 "invalid request_id"},
                {PREFIX "cmd/p/ack",
                 "{\"request_id\":\"req/0001\",\"at\":1795446000000,\"target\":\"1\"}",
                 "invalid request_id"},
                {PREFIX "cmd/p/ack",
                 "{\"request_id\":\"req-0001\",\"at\":1795445000000,\"target\":\"1\"}", "stale"},
                {PREFIX "cmd/p/ack",
                 "{\"request_id\":\"req-0001\",\"at\":1795447000000,\"target\":\"1\"}", "stale"},
                {PREFIX "cmd/p/ack",
                 "{\"request_id\":\"req-0001\",\"at\":\"now\",\"target\":\"1\"}",
                 "at must be an integer"},
                {PREFIX "cmd/p/ack",
                 "{\"request_id\":\"req-0001\",\"at\":1795446000000,\"target\":\"1\",\"x\":1}",
                 "unknown field 'x'"},
                {PREFIX "cmd/p/ack",
                 "{\"request_id\":\"req-0001\",\"request_id\":\"req-0002\",\"at\":1,\"target\":"
                 "\"1\"}",
                 "not a JSON object"},
                {PREFIX "cmd/p/ack", "[1]", "not a JSON object"},
                {PREFIX "cmd/p/ack", "{\"request_id\":\"req-0001\",\"at\":1795446000000}",
                 "target must be a string"},
                {PREFIX "cmd/p/evacuate", "{}", "unknown command"},
                {PREFIX "cmd/ack", "{}", "not cmd/<account>/<verb>"},
        };
        struct command c;
        char why[256];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int r = parse(cases[i].topic, cases[i].payload, &c, why);

                if (r != -EINVAL || !strstr(why, cases[i].why))
                        fail_msg("case %zu: %d '%s', expected '%s'", i, r, why, cases[i].why);
        }
        /* Not a command at all: ignored, not refused. */
        assert_int_equal(parse(PREFIX "stats", "{}", &c, why), -ENOENT);
        assert_int_equal(parse("firegate/v1/gw-2/cmd/p/ack", "{}", &c, why), -ENOENT);
}

static void test_commands_are_recorded_and_found_again_by_request(void **state)
{
        struct fixture *f = *state;
        struct command c = {.account = "city-platform",
                            .verb = "reset",
                            .request_id = "req-0001",
                            .target = "building"};
        char reason[128];
        long long incident = -1;

        assert_int_equal(
                command_previous(f->s, c.account, c.request_id, reason, sizeof(reason), &incident),
                -ENOENT);
        assert_int_equal(command_record(f->s, &c, WALL0, "refused", "stale", 0), 0);
        /* A refusal is no earlier answer: the request may come again, fresh. */
        assert_int_equal(
                command_previous(f->s, c.account, c.request_id, reason, sizeof(reason), &incident),
                -ENOENT);
        assert_int_equal(command_record(f->s, &c, WALL0, "ok", "reset building", 0), 0);
        assert_int_equal(
                command_previous(f->s, c.account, c.request_id, reason, sizeof(reason), &incident),
                0);
        assert_string_equal(reason, "reset building");
        /* The record is append-only. */
        assert_int_not_equal(sqlite3_exec(store_db(f->s), "DELETE FROM command", NULL, NULL, NULL),
                             SQLITE_OK);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_sequence_numbers_are_never_reused),
                T(test_alerts_are_never_coalesced_nor_removed),
                T(test_delivered_statistics_are_removed_after_a_day),
                T(test_alert_carries_the_unit_and_its_verified_occupancy),
                T(test_alert_of_an_unsigned_unit_is_sent_marked_unverified),
                T(test_alert_of_a_detector_the_registry_lacks_is_sent_marked_unknown),
                cmocka_unit_test(test_outputs_and_tests_are_not_alerts),
                cmocka_unit_test(test_command_is_parsed_with_its_account_from_the_topic),
                cmocka_unit_test(test_bad_commands_are_refused_with_the_reason),
                T(test_commands_are_recorded_and_found_again_by_request),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
