/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_incident: engine decisions, built by hand as the engine makes them, become the incidents
 * and events the fire police will read: alarms grouped by unit, commands following the zones
 * they name, pre-alarms closed or promoted, faults per detector and kind, events that cannot be
 * changed, open alarms read back for a restart, and a version-1 database migrated with its
 * registry kept. The query side too: listings by detector, cause and id, one incident's
 * timeline with its deliveries and the platform's commands, false alarms marked on what a reset
 * closed, and report.h's times and figures. Real SQLite files in a temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "incident.h"
#include "log.h"
#include "report.h"
#include "store.h"
#include "testutil.h"

/* 2026-11-23T15:00:00Z: the real-time clock when the engine's clock read 0. */
#define WALL0 1795446000000LL

struct fixture {
        char *dir;
        struct store *s;
};

static const char registry_sql[] =
        "INSERT INTO building VALUES ('B1', 'Tower', 'Street 1', 10, 0, 1, 1, NULL, 0, x'00', 0);"
        "INSERT INTO zone (zone_id, building, name, revision, verified, record_sha256, "
        "imported_at) VALUES ('stair-a', 'B1', 'Stair A', 1, 1, x'00', 0);"
        "INSERT INTO unit (address_id, building, floor, number, revision, verified, "
        "record_sha256, imported_at) VALUES ('U101', 'B1', 1, '101', 1, 1, x'00', 0), "
        "('U102', 'B1', 1, '102', 1, 1, x'00', 0);"
        "INSERT INTO detector (detector_id, building, kind, unit, floor, zone, source, bridge, "
        "device, revision, verified, record_sha256, imported_at) VALUES "
        "('smoke-101-hall', 'B1', 'smoke', 'U101', NULL, NULL, 'mqtt', 'zigbee2mqtt', 'a', 1, 1, "
        "x'00', 0), ('smoke-102-door', 'B1', 'smoke', 'U102', NULL, 'stair-a', 'mqtt', "
        "'zigbee2mqtt', 'b', 1, 1, x'00', 0), ('smoke-stair-3', 'B1', 'smoke', NULL, 3, "
        "'stair-a', 'mqtt', 'zigbee2mqtt', 'c', 1, 1, x'00', 0);";

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char *path;

        log_setup(LOG_CRIT, false); /* the store's error lines are expected in some tests */
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

/* A detector's decision as engine_emit_det() makes it: its zone is "unit:ID" in a unit. */
static struct engine_decision det(enum engine_decision_kind kind, engine_time t, const char *id,
                                  const char *unit, int floor, const char *cause)
{
        const char *z = "building";

        if (unit)
                z = strcmp(unit, "U102") == 0 ? "unit:U102" : "unit:U101";
        return (struct engine_decision){
                .kind = kind,
                .time = t,
                .first_detection = t,
                .detector = id,
                .unit = unit,
                .floor = floor,
                .has_floor = true,
                .zone = z,
                .cause = cause,
                .rule = "units",
        };
}

/* A command's or an output's decision as engine_emit_zone() makes it. */
static struct engine_decision zone(enum engine_decision_kind kind, engine_time t, const char *z,
                                   const char *who)
{
        return (struct engine_decision){
                .kind = kind,
                .time = t,
                .first_detection = ENGINE_NEVER,
                .zone = z,
                .cause = engine_decision_name(kind),
                .rule = "built-in",
                .who = who,
        };
}

/* Records one decision in its own transaction, as the daemon does; returns the incident id. */
static long long record(struct store *s, const struct engine_decision *d)
{
        long long id = -1;

        assert_int_equal(store_begin(s), 0);
        assert_int_equal(incident_record(s, d, WALL0 + d->time, &id), 0);
        assert_int_equal(store_commit(s), 0);
        return id;
}

static long long query_int(struct store *s, const char *fmt, ...)
{
        char sql[1024];
        sqlite3_stmt *st;
        long long v;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

/* Asserts the text of the first column of @sql's first row; NULL expects SQL NULL. */
static void assert_text(struct store *s, const char *sql, const char *expected)
{
        sqlite3_stmt *st;
        const char *got;

        assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        got = (const char *)sqlite3_column_text(st, 0);
        if (!expected)
                assert_null(got);
        else
                assert_string_equal(got ? got : "(null)", expected);
        sqlite3_finalize(st);
}

static void test_alarms_group_by_unit_and_commands_follow_zones(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        long long a, b;

        /* Smoke held 25 s through verification, then the alarm: it began 25 s before. */
        d = det(ENGINE_ALARM, 85000, "smoke-101-hall", "U101", 1, "smoke persisted");
        d.first_detection = 60000;
        d.flags = ENGINE_FLAG_CONFIRMED;
        a = record(s, &d);
        assert_true(a > 0);
        assert_text(s,
                    "SELECT kind || ' ' || state || ' ' || place || ' ' || unit || ' ' || floor "
                    "FROM incident",
                    "alarm open unit:U101 U101 1");
        assert_int_equal(query_int(s, "SELECT first_at FROM incident WHERE id = %lld", a),
                         WALL0 + 60000);
        assert_int_equal(query_int(s, "SELECT alarm_at FROM incident WHERE id = %lld", a),
                         WALL0 + 85000);

        /* A second detector in the unit extends it, adding its flags. */
        d = det(ENGINE_ALARM, 100000, "smoke-101-bed", "U101", 1, "smoke, confirmed");
        d.flags = ENGINE_FLAG_PRIORITY_RESCUE | ENGINE_FLAG_CONFIRMED;
        assert_int_equal(record(s, &d), a);
        assert_int_equal(query_int(s,
                                   "SELECT count(*) FROM incident_detector WHERE incident = "
                                   "%lld",
                                   a),
                         2);
        assert_text(s, "SELECT flags FROM incident", "confirmed,priority_rescue");
        assert_int_equal(query_int(s, "SELECT last_at FROM incident WHERE id = %lld", a),
                         WALL0 + 100000);

        /* Another unit opens its own. */
        d = det(ENGINE_ALARM, 110000, "smoke-102-living", "U102", 1, "heat");
        b = record(s, &d);
        assert_true(b > a);

        /* Acknowledging floor 1 covers both; the lowest id is returned. */
        d = zone(ENGINE_ACKNOWLEDGED, 150000, "floor:1", "desk");
        assert_int_equal(record(s, &d), a);
        assert_int_equal(query_int(s,
                                   "SELECT count(*) FROM incident WHERE state = "
                                   "'acknowledged' AND acknowledged_by = 'desk' AND "
                                   "acknowledged_at = %lld",
                                   WALL0 + 150000),
                         2);

        d = zone(ENGINE_SILENCED, 170000, "building", "desk");
        record(s, &d);
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident WHERE state = 'silenced' "
                                      "AND silenced_by = 'desk'"),
                         2);

        /* A new alarm after the silence sounds again: its incident is open again. */
        d = det(ENGINE_ALARM, 200000, "heat-101-kitchen", "U101", 1, "heat");
        assert_int_equal(record(s, &d), a);
        assert_text(s,
                    "SELECT group_concat(state, ' ') FROM (SELECT state FROM incident ORDER BY "
                    "id)",
                    "open silenced");

        /* The sounder follows the building: an event on each open alarm incident. */
        d = zone(ENGINE_OUTPUT_ON, 200000, "building", NULL);
        d.output = "building-sounder";
        assert_int_equal(record(s, &d), a);
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident_event WHERE decision = "
                                      "'output-on' AND output = 'building-sounder'"),
                         2);

        /* The reset closes both. */
        d = zone(ENGINE_RESET, 420000, "building", "brigade");
        assert_int_equal(record(s, &d), a);
        assert_int_equal(query_int(s,
                                   "SELECT count(*) FROM incident WHERE state = 'closed' AND "
                                   "closed_at = %lld AND reset_by = 'brigade'",
                                   WALL0 + 420000),
                         2);
        /* The sounder stopping after it touches no incident but is kept. */
        d = zone(ENGINE_OUTPUT_OFF, 420000, "building", NULL);
        d.output = "building-sounder";
        assert_int_equal(record(s, &d), 0);
        assert_int_equal(query_int(s, "SELECT count(*) FROM engine_event WHERE decision = "
                                      "'output-off'"),
                         1);

        /* The whole timeline of the first incident, in order. */
        assert_text(s,
                    "SELECT group_concat(decision || coalesce('/' || detector, '') || "
                    "coalesce('/' || who, ''), ' ') FROM (SELECT * FROM incident_event WHERE "
                    "incident = 1 ORDER BY id)",
                    "alarm/smoke-101-hall alarm/smoke-101-bed acknowledged/desk silenced/desk "
                    "alarm/heat-101-kitchen output-on reset/brigade");
        assert_text(s, "SELECT place FROM incident_event WHERE decision = 'acknowledged' LIMIT 1",
                    "floor:1");
}

static void test_reset_of_one_floor_keeps_the_rest_of_a_stairwell_open(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        long long stair, door;

        /* Common-area detectors in an installer zone: grouped by that zone. */
        d = det(ENGINE_ALARM, 1000, "smoke-stair-3", NULL, 3, "smoke");
        d.zone = "zone:stair-a";
        stair = record(s, &d);
        d = det(ENGINE_ALARM, 2000, "smoke-stair-4", NULL, 4, "smoke");
        d.zone = "zone:stair-a";
        assert_int_equal(record(s, &d), stair);
        assert_text(s, "SELECT zone || ' ' || floor FROM incident", "stair-a 3");

        /* A unit's detector the registry places in the stairwell's zone too. */
        d = det(ENGINE_ALARM, 3000, "smoke-102-door", "U102", 1, "smoke");
        door = record(s, &d);
        assert_true(door != stair);
        assert_text(s, "SELECT zone FROM incident_detector WHERE detector = 'smoke-102-door'",
                    "stair-a");

        /* Acknowledging the zone covers both incidents, as the engine covers both detectors. */
        d = zone(ENGINE_ACKNOWLEDGED, 4000, "zone:stair-a", "desk");
        assert_int_equal(record(s, &d), stair);
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident WHERE state = "
                                      "'acknowledged'"),
                         2);

        /* A reset of floor 3 ends only that detector's part; floor 4 still burns. */
        d = zone(ENGINE_RESET, 5000, "floor:3", "brigade");
        assert_int_equal(record(s, &d), stair);
        assert_text(s, "SELECT state FROM incident WHERE place = 'zone:stair-a'", "acknowledged");
        assert_int_equal(query_int(s,
                                   "SELECT count(*) FROM incident_detector WHERE ended_at IS "
                                   "NULL AND incident = %lld",
                                   stair),
                         1);

        /* A reset of a floor with no incident is still recorded. */
        d = zone(ENGINE_RESET, 5500, "floor:7", "brigade");
        assert_int_equal(record(s, &d), 0);
        assert_int_equal(query_int(s, "SELECT count(*) FROM engine_event WHERE place = "
                                      "'floor:7'"),
                         1);

        d = zone(ENGINE_RESET, 6000, "zone:stair-a", "brigade");
        record(s, &d);
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident WHERE state = 'closed'"), 2);
}

static void test_pre_alarm_then_restore_closes_it(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        long long id;

        d = det(ENGINE_PRE_ALARM, 30000, "smoke-101-hall", "U101", 1, "alarm verification");
        id = record(s, &d);
        assert_text(s, "SELECT kind || ' ' || state FROM incident", "pre_alarm open");
        assert_int_equal(query_int(s, "SELECT alarm_at FROM incident"), -1);

        d = det(ENGINE_RESTORE, 175000, "smoke-101-hall", "U101", 1, "not confirmed");
        assert_int_equal(record(s, &d), id);
        assert_text(s, "SELECT kind || ' ' || state FROM incident", "pre_alarm closed");
        assert_int_equal(query_int(s, "SELECT closed_at FROM incident"), WALL0 + 175000);
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident_event"), 2);

        /* The next pre-alarm there is a new incident. */
        d = det(ENGINE_PRE_ALARM, 300000, "smoke-101-hall", "U101", 1, "alarm verification");
        assert_true(record(s, &d) > id);
}

static void test_two_held_detectors_close_when_both_restore(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;

        d = det(ENGINE_PRE_ALARM, 1000, "smoke-101-hall", "U101", 1, "coincidence");
        record(s, &d);
        d = det(ENGINE_PRE_ALARM, 2000, "smoke-101-bed", "U101", 1, "coincidence");
        record(s, &d);
        d = det(ENGINE_RESTORE, 3000, "smoke-101-hall", "U101", 1, "window ended");
        record(s, &d);
        assert_text(s, "SELECT state FROM incident", "open");
        d = det(ENGINE_RESTORE, 4000, "smoke-101-bed", "U101", 1, "window ended");
        record(s, &d);
        assert_text(s, "SELECT state FROM incident", "closed");
}

static void test_alarm_promotes_the_pre_alarm_incident(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        long long id;

        /* A positive alarm sequence: acknowledged in time, then not reset in time. */
        d = det(ENGINE_PRE_ALARM, 30000, "smoke-101-hall", "U101", 1, "positive alarm sequence");
        d.rule = "desk";
        id = record(s, &d);
        d = zone(ENGINE_ACKNOWLEDGED, 40000, "unit:U101", "desk");
        assert_int_equal(record(s, &d), id);
        assert_text(s, "SELECT state || ' ' || acknowledged_by FROM incident", "acknowledged desk");

        d = det(ENGINE_ALARM, 220000, "smoke-101-hall", "U101", 1, "not reset within 180 s");
        d.first_detection = 30000;
        d.rule = "desk";
        assert_int_equal(record(s, &d), id);
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident"), 1);
        assert_text(s, "SELECT kind || ' ' || state || ' ' || cause FROM incident",
                    "alarm open not reset within 180 s");
        assert_int_equal(query_int(s, "SELECT first_at FROM incident"), WALL0 + 30000);
        assert_int_equal(query_int(s, "SELECT alarm_at FROM incident"), WALL0 + 220000);
        /* The pre-alarm's acknowledgement is in the events, not on the alarm. */
        assert_int_equal(query_int(s, "SELECT acknowledged_at FROM incident"), -1);
        assert_text(s,
                    "SELECT group_concat(decision, ' ') FROM (SELECT decision FROM "
                    "incident_event ORDER BY id)",
                    "pre-alarm acknowledged alarm");

        /* A restore never ends an alarm: only a reset does. */
        d = det(ENGINE_RESTORE, 230000, "smoke-101-hall", "U101", 1, "restored");
        record(s, &d);
        assert_text(s, "SELECT state FROM incident", "open");
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident_detector WHERE ended_at IS "
                                      "NULL AND alarm_at IS NOT NULL"),
                         1);
}

static void test_pre_alarm_beside_an_open_alarm_joins_it(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        long long id;

        d = det(ENGINE_ALARM, 1000, "smoke-101-hall", "U101", 1, "smoke");
        id = record(s, &d);
        d = det(ENGINE_PRE_ALARM, 2000, "smoke-101-bed", "U101", 1, "verification");
        assert_int_equal(record(s, &d), id);
        assert_text(s, "SELECT kind || ' ' || state FROM incident", "alarm open");
        d = det(ENGINE_RESTORE, 3000, "smoke-101-bed", "U101", 1, "not confirmed");
        assert_int_equal(record(s, &d), id);
        assert_text(s, "SELECT state FROM incident", "open");
}

static void test_faults_per_detector_and_kind_close_on_restore(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        long long battery, offline;

        d = det(ENGINE_FAULT, 1000, "smoke-101-hall", "U101", 1, "battery low");
        d.fault = ENGINE_FAULT_BATTERY_LOW;
        battery = record(s, &d);
        d.fault = ENGINE_FAULT_OFFLINE;
        d.time = 2000;
        offline = record(s, &d);
        assert_true(offline != battery);
        d.fault = ENGINE_FAULT_BATTERY_LOW;
        d.time = 3000;
        assert_int_equal(record(s, &d), battery);
        assert_text(s, "SELECT kind || ' ' || fault || ' ' || state FROM incident ORDER BY id",
                    "fault battery_low open");

        d = det(ENGINE_RESTORE, 4000, "smoke-101-hall", "U101", 1, "battery ok");
        d.fault = ENGINE_FAULT_BATTERY_LOW;
        assert_int_equal(record(s, &d), battery);
        assert_text(s,
                    "SELECT group_concat(fault || ' ' || state, ', ') FROM (SELECT * FROM "
                    "incident ORDER BY id)",
                    "battery_low closed, offline open");
        assert_int_equal(
                query_int(s, "SELECT count(*) FROM incident_event WHERE incident = %lld", battery),
                3);

        /* A restore of a fault never recorded is kept as an engine event. */
        d.fault = ENGINE_FAULT_TAMPER;
        assert_int_equal(record(s, &d), 0);
        assert_int_equal(query_int(s, "SELECT count(*) FROM engine_event WHERE fault = 'tamper'"),
                         1);
        /* A fault does not count as an alarm for a restart. */
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident WHERE kind = 'alarm'"), 0);
}

static void test_tests_and_disabling_are_engine_events(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;

        d = det(ENGINE_TEST, 1000, "smoke-101-hall", "U101", 1, "test button");
        assert_int_equal(record(s, &d), 0);
        d = det(ENGINE_DISABLED, 2000, "smoke-101-hall", "U101", 1, "disabled");
        d.who = "installer";
        record(s, &d);
        d = zone(ENGINE_ENABLED, 3000, "floor:1", "installer");
        record(s, &d);
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident"), 0);
        assert_text(s,
                    "SELECT group_concat(decision || '/' || coalesce(who, '-'), ' ') FROM "
                    "(SELECT * FROM engine_event ORDER BY id)",
                    "test/- disabled/installer enabled/installer");
        assert_int_equal(query_int(s, "SELECT at FROM engine_event WHERE decision = 'test'"),
                         WALL0 + 1000);
}

static void assert_refused(struct store *s, const char *sql)
{
        assert_int_not_equal(sqlite3_exec(store_db(s), sql, NULL, NULL, NULL), SQLITE_OK);
}

static void test_events_are_append_only(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;

        d = det(ENGINE_ALARM, 1000, "smoke-101-hall", "U101", 1, "smoke");
        record(s, &d);
        d = det(ENGINE_TEST, 2000, "smoke-101-bed", "U101", 1, "test");
        record(s, &d);
        assert_refused(s, "UPDATE incident_event SET who = 'someone else'");
        assert_true(strstr(sqlite3_errmsg(store_db(s)), "append-only") != NULL);
        assert_refused(s, "DELETE FROM incident_event");
        assert_refused(s, "UPDATE engine_event SET at = 0");
        assert_refused(s, "DELETE FROM engine_event");
        assert_refused(s, "DELETE FROM incident");
        assert_refused(s, "DELETE FROM incident_detector");
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident_event WHERE who IS NULL"), 1);
        assert_int_equal(query_int(s, "SELECT count(*) FROM engine_event"), 1);
}

struct restored {
        char detector[32][64];
        int64_t first_at[32];
        bool acked[32], silenced[32];
        size_t n;
};

static int collect(void *ctx, const char *detector, int64_t first_at, bool acked, bool silenced)
{
        struct restored *r = ctx;

        assert_true(r->n < 32);
        snprintf(r->detector[r->n], sizeof(r->detector[r->n]), "%s", detector);
        r->first_at[r->n] = first_at;
        r->acked[r->n] = acked;
        r->silenced[r->n] = silenced;
        r->n++;
        return 0;
}

static int stop(void *ctx, const char *detector, int64_t first_at, bool acked, bool silenced)
{
        (void)ctx;
        (void)detector;
        (void)first_at;
        (void)acked;
        (void)silenced;
        return -ECANCELED;
}

static void test_open_alarms_come_back_for_a_restart(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct restored r = {0};
        struct engine_decision d;

        d = det(ENGINE_ALARM, 1000, "smoke-101-hall", "U101", 1, "smoke");
        d.first_detection = 500;
        record(s, &d);
        d = det(ENGINE_ALARM, 2000, "smoke-102-living", "U102", 1, "smoke");
        record(s, &d);
        /* Acknowledged one detector at a time, then the building silenced. */
        d = det(ENGINE_ACKNOWLEDGED, 3000, "smoke-101-hall", "U101", 1, "acknowledged");
        d.who = "desk";
        record(s, &d);
        d = zone(ENGINE_SILENCED, 4000, "building", "desk");
        record(s, &d);
        /* Then a new alarm, a held detector and a closed incident, none of them restored as
         * what they are not. */
        d = det(ENGINE_ALARM, 5000, "smoke-101-bed", "U101", 1, "smoke");
        record(s, &d);
        d = det(ENGINE_PRE_ALARM, 6000, "smoke-101-kitchen", "U101", 1, "verification");
        record(s, &d);
        d = det(ENGINE_FAULT, 6500, "smoke-102-living", "U102", 1, "offline");
        d.fault = ENGINE_FAULT_OFFLINE;
        record(s, &d);
        d = det(ENGINE_ALARM, 7000, "smoke-stair-3", NULL, 3, "smoke");
        d.zone = "zone:stair-a";
        record(s, &d);
        d = zone(ENGINE_RESET, 8000, "zone:stair-a", "brigade");
        record(s, &d);

        assert_int_equal(incident_open_alarms(s, collect, &r), 0);
        assert_int_equal(r.n, 3);
        assert_string_equal(r.detector[0], "smoke-101-hall");
        assert_int_equal(r.first_at[0], WALL0 + 500);
        assert_true(r.acked[0] && r.silenced[0]);
        assert_string_equal(r.detector[1], "smoke-102-living");
        assert_true(!r.acked[1] && r.silenced[1]);
        assert_string_equal(r.detector[2], "smoke-101-bed");
        assert_true(!r.acked[2] && !r.silenced[2]);
        assert_int_equal(incident_open_alarms(s, stop, NULL), -ECANCELED);
}

static void test_a_failed_decision_leaves_nothing_behind(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        long long id = -1;

        d = det(ENGINE_ALARM, 1000, "smoke-101-hall", "U101", 1, "smoke");
        record(s, &d);
        /* The event insert of the next decision fails after its incident row was written. */
        assert_int_equal(sqlite3_exec(store_db(s),
                                      "CREATE TEMP TRIGGER fail BEFORE INSERT ON incident_event "
                                      "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(store_begin(s), 0);
        d = det(ENGINE_ALARM, 2000, "smoke-102-living", "U102", 1, "smoke");
        assert_true(incident_record(s, &d, WALL0 + 2000, &id) < 0);
        assert_int_equal(id, 0);
        /* The caller's transaction is still usable, and holds nothing of the failed one. */
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident"), 1);
        assert_int_equal(query_int(s, "SELECT count(*) FROM incident_detector"), 1);
}

static void test_listing_filters(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct incident_filter flt = {0};
        struct engine_decision d;
        sqlite3_stmt *st;
        int rows;

        d = det(ENGINE_ALARM, 1000, "smoke-101-hall", "U101", 1, "smoke");
        record(s, &d);
        d = det(ENGINE_FAULT, 2000, "smoke-stair-3", NULL, 3, "offline");
        d.zone = "zone:stair-a";
        d.fault = ENGINE_FAULT_OFFLINE;
        record(s, &d);
        d = zone(ENGINE_RESET, 3000, "building", "desk");
        record(s, &d);

        flt.have_floor = true;
        flt.floor = 3;
        assert_int_equal(incident_list(s, &flt, &st), 0);
        assert_string_equal(sqlite3_column_name(st, 0), "id");
        for (rows = 0; sqlite3_step(st) == SQLITE_ROW; rows++)
                assert_string_equal((const char *)sqlite3_column_text(st, 1), "fault");
        sqlite3_finalize(st);
        assert_int_equal(rows, 1);

        /* Closed at 3000: not in a range that starts after. */
        memset(&flt, 0, sizeof(flt));
        flt.have_from = true;
        flt.from_ms = WALL0 + 3001;
        flt.kind = "alarm";
        assert_int_equal(incident_list(s, &flt, &st), 0);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        flt.from_ms = WALL0 + 3000;
        flt.state = "closed";
        flt.unit = "U101";
        assert_int_equal(incident_list(s, &flt, &st), 0);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(st, 0), 1);
        sqlite3_finalize(st);
}

/* The ids a listing gives, in its order, as "1,3"; "" for none. */
static void listed(struct store *s, const struct incident_filter *flt, char *buf, size_t size)
{
        sqlite3_stmt *st;
        size_t used = 0;

        buf[0] = '\0';
        assert_int_equal(incident_list(s, flt, &st), 0);
        while (sqlite3_step(st) == SQLITE_ROW)
                used += (size_t)snprintf(buf + used, size - used, "%s%lld", used ? "," : "",
                                         (long long)sqlite3_column_int64(st, 0));
        sqlite3_finalize(st);
}

static void test_listing_by_detector_cause_and_id(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct incident_filter flt = {0};
        struct engine_decision d;
        char ids[128];

        d = det(ENGINE_ALARM, 1000, "smoke-101-hall", "U101", 1, "Smoke persisted (25 s)");
        record(s, &d);
        d = det(ENGINE_ALARM, 1500, "smoke-101-bed", "U101", 1, "smoke");
        record(s, &d); /* joins incident 1 */
        d = det(ENGINE_FAULT, 2000, "smoke-stair-3", NULL, 3, "battery low");
        d.zone = "zone:stair-a";
        d.fault = ENGINE_FAULT_BATTERY_LOW;
        record(s, &d);
        d = det(ENGINE_PRE_ALARM, 3000, "smoke-102-door", "U102", 1, "alarm verification");
        record(s, &d);

        /* A detector that joined later finds the incident it joined, not only the first's. */
        flt.detector = "smoke-101-bed";
        listed(s, &flt, ids, sizeof(ids));
        assert_string_equal(ids, "1");
        flt.detector = "smoke-stair-3";
        listed(s, &flt, ids, sizeof(ids));
        assert_string_equal(ids, "2");
        /* The cause: a substring, whatever the case of its letters. */
        memset(&flt, 0, sizeof(flt));
        flt.cause = "SMOKE";
        listed(s, &flt, ids, sizeof(ids));
        assert_string_equal(ids, "1");
        flt.cause = "Low";
        listed(s, &flt, ids, sizeof(ids));
        assert_string_equal(ids, "2");
        flt.cause = "verif";
        flt.unit = "U102";
        listed(s, &flt, ids, sizeof(ids));
        assert_string_equal(ids, "3");
        memset(&flt, 0, sizeof(flt));
        flt.id = 2;
        listed(s, &flt, ids, sizeof(ids));
        assert_string_equal(ids, "2");
        flt.id = 99;
        listed(s, &flt, ids, sizeof(ids));
        assert_string_equal(ids, "");
}

static void test_timeline_orders_events_deliveries_and_commands(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        sqlite3_stmt *st;
        char line[2048];
        size_t used = 0;
        long long id;

        d = det(ENGINE_ALARM, 1000, "smoke-101-hall", "U101", 1, "smoke");
        id = record(s, &d);
        d = zone(ENGINE_ACKNOWLEDGED, 5000, "unit:U101", "platform:ops (officer 4)");
        record(s, &d);
        /* The platform's command arrived at the same millisecond as the decision it caused;
         * the alerts were queued with each decision; the first had its PUBACK. */
        assert_int_equal(
                sqlite3_exec(store_db(s),
                             "INSERT INTO command (at, account, verb, request_id, target, "
                             "operator, result, reason, incident) VALUES (1795446005000, 'ops', "
                             "'ack', 'req-1', '1', 'officer 4', 'ok', 'done', 1);"
                             "INSERT INTO outbox (id, kind, priority, topic, payload, incident, "
                             "created_at, delivered_at) VALUES ('u-1', 'alert', 0, 'alert', "
                             "'{\"event\":\"fire_alarm\",\"seq\":1,\"id\":\"u-1\"}', 1, "
                             "1795446001000, 1795446001020), ('u-2', 'alert', 1, 'alert', "
                             "'not json', 1, 1795446005000, NULL);",
                             NULL, NULL, NULL),
                SQLITE_OK);
        assert_int_equal(incident_timeline(s, id, &st), 0);
        while (sqlite3_step(st) == SQLITE_ROW)
                used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s:%s:%s:%s",
                                         used ? " " : "", sqlite3_column_text(st, 2),
                                         sqlite3_column_text(st, 3),
                                         sqlite3_column_type(st, 7) == SQLITE_NULL
                                                 ? "-"
                                                 : (const char *)sqlite3_column_text(st, 7),
                                         sqlite3_column_type(st, 16) == SQLITE_NULL
                                                 ? "-"
                                                 : (const char *)sqlite3_column_text(st, 16));
        sqlite3_finalize(st);
        /* A payload that is not JSON is still shown, by the outbox's own columns. */
        assert_string_equal(line, "event:alarm:-:- uplink:fire_alarm:-:1795446001020 "
                                  "command:ack:platform:- event:acknowledged:platform:- "
                                  "uplink:alert:-:-");
}

static void test_false_alarm_marks_only_what_the_reset_closed(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        long long before, marked, stair, flat;

        d = det(ENGINE_ALARM, 1000, "smoke-stair-3", NULL, 3, "smoke");
        d.zone = "zone:stair-a";
        stair = record(s, &d);
        d = det(ENGINE_ALARM, 2000, "smoke-stair-4", NULL, 4, "smoke");
        d.zone = "zone:stair-a";
        record(s, &d);
        d = det(ENGINE_ALARM, 3000, "smoke-101-hall", "U101", 1, "smoke");
        flat = record(s, &d);

        /* Floor 3 and unit U101 reset as false: the flat's incident closes and is marked; the
         * stairwell's stays open (floor 4 still in alarm) and is not. */
        assert_int_equal(incident_last_event(s, &before), 0);
        assert_true(before > 0);
        d = zone(ENGINE_RESET, 4000, "floor:3", "manager");
        record(s, &d);
        d = zone(ENGINE_RESET, 4000, "unit:U101", "manager");
        record(s, &d);
        assert_int_equal(incident_mark_false_alarm(s, before, "manager", &marked), 0);
        assert_int_equal(marked, 1);
        assert_text(s, "SELECT false_alarm_by FROM incident WHERE id = 2", "manager");
        assert_int_equal(query_int(s, "SELECT false_alarm_at FROM incident WHERE id = %lld", flat),
                         WALL0 + 4000);
        assert_int_equal(
                query_int(s, "SELECT false_alarm_at IS NULL FROM incident WHERE id = %lld", stair),
                1);
        /* Marking again changes nothing: the mark is the first one. */
        assert_int_equal(incident_mark_false_alarm(s, before, "someone", &marked), 0);
        assert_int_equal(marked, 0);
        assert_text(s, "SELECT false_alarm_by FROM incident WHERE id = 2", "manager");
}

static void test_times_read_and_printed_in_a_zone(void **state)
{
        int64_t t;
        char buf[REPORT_TIME_MAX];

        (void)state;
        assert_int_equal(report_use_zone("Asia/Ho_Chi_Minh"), 0);
        assert_int_equal(report_parse_time("2026-11-23T22:00", false, &t), 0);
        assert_int_equal(t, WALL0);
        assert_int_equal(report_parse_time("2026-11-23T15:00:00.250Z", false, &t), 0);
        assert_int_equal(t, WALL0 + 250);
        assert_int_equal(report_parse_time("2026-11-23", true, &t), 0);
        assert_int_equal(t, WALL0 + 2 * 3600000LL); /* the next midnight, 17:00 UTC */
        report_format_time(WALL0 + 5120, true, buf);
        assert_string_equal(buf, "2026-11-23T22:00:05.120+07:00");
        assert_int_equal(report_use_zone("Europe/Berlin"), 0);
        report_format_time(WALL0, false, buf);
        assert_string_equal(buf, "2026-11-23T16:00:00+01:00");
        assert_int_equal(report_parse_time("2026-07-01T14:00", false, &t), 0);
        report_format_time(t, false, buf);
        assert_string_equal(buf, "2026-07-01T14:00:00+02:00");
        /* Names that are no installed zone, or no name at all, are refused. */
        assert_int_equal(report_use_zone("Mars/Olympus_Mons"), -EINVAL);
        assert_int_equal(report_use_zone("../../etc/passwd"), -EINVAL);
        assert_int_equal(report_use_zone("/usr/share/zoneinfo/UTC"), -EINVAL);
        assert_int_equal(report_use_zone(""), -EINVAL);
        assert_int_equal(report_parse_time("2026-11-23T22:00+07:", false, &t), -EINVAL);
        assert_int_equal(report_parse_time("2026-02-29", false, &t), -EINVAL);
        assert_int_equal(report_use_zone("UTC"), 0);
}

static void test_report_counts_alarms_when_they_became_alarms(void **state)
{
        struct fixture *f = *state;
        struct store *s = f->s;
        struct engine_decision d;
        sqlite3_stmt *st;

        /* A pre-alarm at 1 s promoted at 31 s, acknowledged at 91.5 s; a fault at 2 s. */
        d = det(ENGINE_PRE_ALARM, 1000, "smoke-101-hall", "U101", 1, "verification");
        record(s, &d);
        d = det(ENGINE_ALARM, 31000, "smoke-101-hall", "U101", 1, "smoke");
        record(s, &d);
        d = zone(ENGINE_ACKNOWLEDGED, 91500, "unit:U101", "desk");
        record(s, &d);
        d = det(ENGINE_FAULT, 2000, "smoke-stair-3", NULL, 3, "silent");
        d.zone = "zone:stair-a";
        d.fault = ENGINE_FAULT_SILENT;
        record(s, &d);
        d = det(ENGINE_TEST, 2500, "smoke-102-door", "U102", 1, "walk test");
        record(s, &d);

        /* From 10 s: the alarm (it became one at 31 s), not the fault (it began at 2 s). */
        assert_int_equal(report_figures(s, WALL0 + 10000, WALL0 + 100000, REPORT_BY_NONE, &st), 0);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal(sqlite3_column_name(st, 0), "alarms");
        assert_int_equal(sqlite3_column_int(st, 0), 1);
        assert_int_equal(sqlite3_column_int(st, 3), 0); /* faults */
        for (int c = 0; c < sqlite3_column_count(st); c++) {
                if (strcmp(sqlite3_column_name(st, c), "ack_mean_s") == 0)
                        assert_int_equal(sqlite3_column_int(st, c), 61); /* 60.5 s, rounded */
                if (strcmp(sqlite3_column_name(st, c), "never_tested") == 0)
                        assert_int_equal(sqlite3_column_int(st, c), 3); /* none in the range */
        }
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);

        /* From the start: the fault, and the tested detector is no longer never tested. */
        assert_int_equal(report_figures(s, WALL0, WALL0 + 100000, REPORT_BY_FLOOR, &st), 0);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW); /* floor 1 */
        assert_int_equal(sqlite3_column_int(st, 0), 1);
        assert_int_equal(sqlite3_column_int(st, 1), 1);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW); /* floor 3: the stairwell's fault */
        assert_int_equal(sqlite3_column_int(st, 0), 3);
        assert_int_equal(sqlite3_column_int(st, 4), 1);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        assert_int_equal(report_never_tested(s, WALL0, WALL0 + 100000, &st), 0);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "smoke-101-hall");
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "smoke-stair-3");
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
}

static void test_migration_from_version_1_keeps_the_registry(void **state)
{
        struct fixture *f = *state;
        char *path = tu_path(f->dir, "v1.db");
        struct store *s = NULL;
        struct engine_decision d;

        assert_true(store_migration_count >= 2);
        assert_int_equal(store_open_with(path, STORE_READ_WRITE, store_migrations, 1, &s), 0);
        assert_int_equal(store_schema_version(s), 1);
        assert_int_equal(sqlite3_exec(store_db(s), registry_sql, NULL, NULL, NULL), SQLITE_OK);
        store_free(s);

        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), 0);
        assert_true(store_schema_version(s) >= 2);
        assert_int_equal(query_int(s, "SELECT count(*) FROM unit"), 2);
        assert_int_equal(query_int(s, "SELECT count(*) FROM detector"), 3);
        assert_text(s, "SELECT zone FROM detector WHERE detector_id = 'smoke-stair-3'", "stair-a");
        d = det(ENGINE_ALARM, 1000, "smoke-102-door", "U102", 1, "smoke");
        assert_true(record(s, &d) > 0);
        assert_text(s, "SELECT zone FROM incident", "stair-a");
        store_free(s);
        free(path);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_alarms_group_by_unit_and_commands_follow_zones),
                T(test_reset_of_one_floor_keeps_the_rest_of_a_stairwell_open),
                T(test_pre_alarm_then_restore_closes_it),
                T(test_two_held_detectors_close_when_both_restore),
                T(test_alarm_promotes_the_pre_alarm_incident),
                T(test_pre_alarm_beside_an_open_alarm_joins_it),
                T(test_faults_per_detector_and_kind_close_on_restore),
                T(test_tests_and_disabling_are_engine_events),
                T(test_events_are_append_only),
                T(test_open_alarms_come_back_for_a_restart),
                T(test_a_failed_decision_leaves_nothing_behind),
                T(test_listing_filters),
                T(test_listing_by_detector_cause_and_id),
                T(test_timeline_orders_events_deliveries_and_commands),
                T(test_false_alarm_marks_only_what_the_reset_closed),
                T(test_times_read_and_printed_in_a_zone),
                T(test_report_counts_alarms_when_they_became_alarms),
                T(test_migration_from_version_1_keeps_the_registry),
        };
#undef T

        return cmocka_run_group_tests(tests, NULL, NULL);
}
