/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desk's state: a handful of reads on the store's read-only connection, joined with the
 * daemon's status answer. The page is only as good as its worst tile, so a unit's state is the
 * worst of everything known about it, and what is not known is said ("unknown"), never shown as
 * normal.
 */
#include "web_state.h"

#include <errno.h>
#include <string.h>

#include "log.h"

struct build {
        struct store *s;
        json_t *det_states; /* detector id -> the daemon's state name; NULL: no daemon */
        json_t *root;
        json_t *units;  /* address id -> the unit's object in floors */
        json_t *floors; /* [{"floor", "units"}], top floor first */
        json_t *common; /* detectors outside any unit */
        json_t *incidents;
        json_t *faults;
        json_int_t n_alarm, n_pre_alarm, n_fault;
};

/* Tile states from the best to the worst; the index is the rank. */
static const char *const states_by_rank[] = {"normal", "disabled",  "test", "unknown",
                                             "fault",  "pre-alarm", "alarm"};

static size_t rank_of(const char *state)
{
        for (size_t i = 0; i < sizeof(states_by_rank) / sizeof(states_by_rank[0]); i++)
                if (strcmp(state, states_by_rank[i]) == 0)
                        return i;
        /* The engine's acknowledged and silenced detectors are still in alarm; a state this
         * code does not know is taken as the worst, not the best. */
        return sizeof(states_by_rank) / sizeof(states_by_rank[0]) - 1;
}

/* The tile state for a detector's engine state. */
static const char *tile_state(const char *engine_state)
{
        return states_by_rank[rank_of(engine_state)];
}

static void raise_state(json_t *unit, const char *state)
{
        const char *now = json_string_value(json_object_get(unit, "state"));

        if (!now || rank_of(state) > rank_of(now))
                json_object_set_new(unit, "state", json_string(tile_state(state)));
}

static json_t *column_text(sqlite3_stmt *st, int col)
{
        const unsigned char *t = sqlite3_column_text(st, col);

        return t ? json_string((const char *)t) : json_null();
}

static json_t *column_int(sqlite3_stmt *st, int col)
{
        return sqlite3_column_type(st, col) == SQLITE_NULL
                       ? json_null()
                       : json_integer((json_int_t)sqlite3_column_int64(st, col));
}

static int prepare(struct build *b, const char *sql, sqlite3_stmt **st)
{
        if (sqlite3_prepare_v2(store_db(b->s), sql, -1, st, NULL) != SQLITE_OK)
                return store_error(b->s, "reading the desk's state");
        return 0;
}

/* Steps @st to its end, calling @row on each row. */
static int each_row(struct build *b, sqlite3_stmt *st, int (*row)(struct build *, sqlite3_stmt *))
{
        int rc, r = 0;

        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
                r = row(b, st);
        if (r == 0 && rc != SQLITE_DONE)
                r = store_error(b->s, "reading the desk's state");
        sqlite3_finalize(st);
        return r;
}

static int building_row(struct build *b, sqlite3_stmt *st)
{
        return json_object_set_new(b->root, "building",
                                   json_pack("{s:o, s:o, s:o, s:b}", "id", column_text(st, 0),
                                             "name", column_text(st, 1), "address",
                                             column_text(st, 2), "verified",
                                             sqlite3_column_int(st, 3)))
                       ? -ENOMEM
                       : 0;
}

static int unit_row(struct build *b, sqlite3_stmt *st)
{
        json_int_t floor = sqlite3_column_int64(st, 1);
        json_t *last = json_array_get(b->floors, json_array_size(b->floors) - 1), *unit, *list;

        if (!last || json_integer_value(json_object_get(last, "floor")) != floor) {
                last = json_pack("{s:I, s:[]}", "floor", floor, "units");
                if (!last || json_array_append_new(b->floors, last) < 0)
                        return -ENOMEM;
        }
        unit = json_pack("{s:o, s:o, s:s, s:b, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:[]}", "id",
                         column_text(st, 0), "number", column_text(st, 2), "state",
                         b->det_states ? "normal" : "unknown", "verified",
                         sqlite3_column_int(st, 3), "priority_rescue",
                         sqlite3_column_int64(st, 5) + sqlite3_column_int64(st, 6) > 0, "occupants",
                         "verified", (json_int_t)sqlite3_column_int64(st, 4), "bedridden",
                         (json_int_t)sqlite3_column_int64(st, 5), "mobility_impaired",
                         (json_int_t)sqlite3_column_int64(st, 6), "elderly",
                         (json_int_t)sqlite3_column_int64(st, 7), "infant",
                         (json_int_t)sqlite3_column_int64(st, 8), "needs_oxygen",
                         (json_int_t)sqlite3_column_int64(st, 9), "detectors");
        list = json_object_get(last, "units");
        if (!unit || json_array_append(list, unit) < 0 ||
            json_object_set_new(b->units, (const char *)sqlite3_column_text(st, 0), unit) < 0)
                return -ENOMEM;
        return 0;
}

static int detector_row(struct build *b, sqlite3_stmt *st)
{
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *unit_id = (const char *)sqlite3_column_text(st, 2);
        json_t *unit = unit_id ? json_object_get(b->units, unit_id) : NULL, *det;
        const char *state = "unknown";

        if (b->det_states) {
                const char *said = json_string_value(json_object_get(b->det_states, id));

                /* A registry detector the daemon does not list was imported after it started:
                 * nobody listens to it yet. */
                state = said ? tile_state(said) : "unknown";
        }
        if (unit) {
                det = json_pack("{s:s, s:o, s:o, s:s}", "id", id, "kind", column_text(st, 1),
                                "location", column_text(st, 5), "state", state);
                if (!det || json_array_append_new(json_object_get(unit, "detectors"), det) < 0)
                        return -ENOMEM;
                raise_state(unit, state);
                return 0;
        }
        det = json_pack("{s:s, s:o, s:o, s:o, s:o, s:s}", "id", id, "kind", column_text(st, 1),
                        "floor", column_int(st, 3), "zone", column_text(st, 4), "location",
                        column_text(st, 5), "state", state);
        return !det || json_array_append_new(b->common, det) < 0 ? -ENOMEM : 0;
}

static int incident_row(struct build *b, sqlite3_stmt *st)
{
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        const char *unit_id = (const char *)sqlite3_column_text(st, 5);
        json_t *unit = unit_id ? json_object_get(b->units, unit_id) : NULL, *row;
        bool fault = strcmp(kind, "fault") == 0;

        if (fault) {
                b->n_fault++;
                row = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                                (json_int_t)sqlite3_column_int64(st, 0), "fault",
                                column_text(st, 14), "state", column_text(st, 2), "detector",
                                column_text(st, 9), "unit", column_text(st, 5), "unit_number",
                                column_text(st, 6), "floor", column_int(st, 7), "cause",
                                column_text(st, 3), "first_at", column_int(st, 10));
        } else {
                *(strcmp(kind, "alarm") == 0 ? &b->n_alarm : &b->n_pre_alarm) += 1;
                row = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                                "s:o, s:o, s:b}",
                                "id", (json_int_t)sqlite3_column_int64(st, 0), "kind",
                                column_text(st, 1), "state", column_text(st, 2), "cause",
                                column_text(st, 3), "place", column_text(st, 4), "unit",
                                column_text(st, 5), "unit_number", column_text(st, 6), "floor",
                                column_int(st, 7), "zone", column_text(st, 8), "detector",
                                column_text(st, 9), "first_at", column_int(st, 10), "alarm_at",
                                column_int(st, 11), "acknowledged_by", column_text(st, 12),
                                "silenced_by", column_text(st, 13), "priority_rescue",
                                unit && json_is_true(json_object_get(unit, "priority_rescue")));
        }
        if (!row || json_array_append_new(fault ? b->faults : b->incidents, row) < 0)
                return -ENOMEM;
        if (unit)
                raise_state(unit, fault                        ? "fault"
                                  : strcmp(kind, "alarm") == 0 ? "alarm"
                                                               : "pre-alarm");
        return 0;
}

static int outbox_row(struct build *b, sqlite3_stmt *st)
{
        return json_object_set_new(b->root, "outbox",
                                   json_pack("{s:I, s:o}", "pending",
                                             (json_int_t)sqlite3_column_int64(st, 0),
                                             "last_delivery_at", column_int(st, 1)))
                       ? -ENOMEM
                       : 0;
}

/* The daemon's answer, cut to what the page shows; without one, nulls the page reads as
 * "not known". */
static int daemon_part(struct build *b, const json_t *status)
{
        json_t *broker = json_object_get(status, "building_broker");
        json_t *uplink = json_object_get(status, "uplink");
        size_t i;
        json_t *det;

        if (json_object_set_new(b->root, "daemon", json_pack("{s:b}", "running", status != NULL)))
                return -ENOMEM;
        if (json_object_set_new(
                    b->root, "building_broker",
                    status ? json_pack("{s:b}", "connected",
                                       json_is_true(json_object_get(broker, "connected")))
                           : json_null()) ||
            json_object_set_new(
                    b->root, "uplink",
                    status ? json_pack("{s:b, s:b}", "configured",
                                       json_is_true(json_object_get(uplink, "configured")),
                                       "connected",
                                       json_is_true(json_object_get(uplink, "connected")))
                           : json_null()))
                return -ENOMEM;
        if (!status)
                return 0;
        b->det_states = json_object();
        if (!b->det_states)
                return -ENOMEM;
        json_array_foreach(json_object_get(status, "detectors"), i, det)
        {
                const char *id = json_string_value(json_object_get(det, "id"));
                json_t *state = json_object_get(det, "state");

                if (id && json_is_string(state) && json_object_set(b->det_states, id, state) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int web_state_build(struct store *s, const json_t *status, json_t **out)
{
        struct build b = {.s = s};
        sqlite3_stmt *st = NULL;
        int r = -ENOMEM;

        *out = NULL;
        b.root = json_object();
        b.units = json_object();
        b.floors = json_array();
        b.common = json_array();
        b.incidents = json_array();
        b.faults = json_array();
        if (!b.root || !b.units || !b.floors || !b.common || !b.incidents || !b.faults)
                goto out;
        r = daemon_part(&b, status);
        if (r == 0 && json_object_set_new(b.root, "building", json_null()) < 0)
                r = -ENOMEM;
        if (r == 0)
                r = prepare(&b,
                            "SELECT location_id, name, address, verified FROM building "
                            "ORDER BY location_id LIMIT 1",
                            &st);
        if (r == 0)
                r = each_row(&b, st, building_row);
        /* The same residents the engine counts for priority rescue (engine_view.c): verified,
         * not moved out. */
        if (r == 0)
                r = prepare(&b,
                            "SELECT u.address_id, u.floor, u.number, u.verified, "
                            "count(r.resident_id), coalesce(sum(r.bedridden), 0), "
                            "coalesce(sum(r.mobility_impaired), 0), coalesce(sum(r.elderly), 0), "
                            "coalesce(sum(r.infant), 0), coalesce(sum(r.needs_oxygen), 0) "
                            "FROM unit u LEFT JOIN resident r ON r.unit = u.address_id AND "
                            "r.verified = 1 AND r.moved_out = 0 GROUP BY u.address_id "
                            "ORDER BY u.floor DESC, u.number, u.address_id",
                            &st);
        if (r == 0)
                r = each_row(&b, st, unit_row);
        if (r == 0)
                r = prepare(&b,
                            "SELECT d.detector_id, d.kind, d.unit, coalesce(d.floor, u.floor), "
                            "d.zone, d.location FROM detector d "
                            "LEFT JOIN unit u ON u.address_id = d.unit ORDER BY d.detector_id",
                            &st);
        if (r == 0)
                r = each_row(&b, st, detector_row);
        if (r == 0)
                r = prepare(&b,
                            "SELECT i.id, i.kind, i.state, i.cause, i.place, i.unit, u.number, "
                            "coalesce(i.floor, u.floor), i.zone, i.detector, i.first_at, "
                            "i.alarm_at, i.acknowledged_by, i.silenced_by, i.fault "
                            /* More would fit on no screen, and a building with that many open
                             * has the fire brigade on site already. */
                            "FROM incident i LEFT JOIN unit u ON u.address_id = i.unit "
                            "WHERE i.state <> 'closed' ORDER BY i.first_at DESC, i.id DESC "
                            "LIMIT 500",
                            &st);
        if (r == 0)
                r = each_row(&b, st, incident_row);
        /* The last delivery among the newest rows: delivery follows the queue's order closely
         * enough, and a scan of the whole outbox would grow with the years. */
        if (r == 0)
                r = prepare(&b,
                            "SELECT (SELECT count(*) FROM outbox WHERE delivered_at IS NULL), "
                            "(SELECT max(delivered_at) FROM (SELECT delivered_at FROM outbox "
                            "ORDER BY seq DESC LIMIT 1000))",
                            &st);
        if (r == 0)
                r = each_row(&b, st, outbox_row);
        if (r == 0 &&
            (json_object_set(b.root, "floors", b.floors) < 0 ||
             json_object_set(b.root, "common", b.common) < 0 ||
             json_object_set(b.root, "incidents", b.incidents) < 0 ||
             json_object_set(b.root, "faults", b.faults) < 0 ||
             json_object_set_new(b.root, "counts",
                                 json_pack("{s:I, s:I, s:I}", "alarm", b.n_alarm, "pre_alarm",
                                           b.n_pre_alarm, "fault", b.n_fault)) < 0))
                r = -ENOMEM;
        if (r == 0) {
                *out = b.root;
                b.root = NULL;
        }
out:
        if (r == -ENOMEM)
                log_error("the desk's state: out of memory");
        json_decref(b.det_states);
        json_decref(b.root);
        json_decref(b.units);
        json_decref(b.floors);
        json_decref(b.common);
        json_decref(b.incidents);
        json_decref(b.faults);
        return r;
}
