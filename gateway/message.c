/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * message: builds the uplink's JSON. Every query here runs inside the daemon's transaction or
 * on its connection, on the registry and incident tables; nothing is cached, since alerts are
 * rare and must say what the store says at the moment of the decision.
 */
#include "message.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

const char *message_alert_event(enum engine_decision_kind k)
{
        switch (k) {
        case ENGINE_ALARM:
                return "fire_alarm";
        case ENGINE_PRE_ALARM:
                return "pre_alarm";
        case ENGINE_FAULT:
                return "fault";
        case ENGINE_RESTORE:
                return "restore";
        case ENGINE_ACKNOWLEDGED:
                return "acknowledge";
        case ENGINE_SILENCED:
                return "silence";
        case ENGINE_RESET:
                return "reset";
        case ENGINE_TEST:
        case ENGINE_OUTPUT_ON:
        case ENGINE_OUTPUT_OFF:
        case ENGINE_DISABLED:
        case ENGINE_ENABLED:
                return NULL;
        }
        return NULL;
}

static json_t *header(const char *kind, const char *gateway, int64_t at)
{
        return json_pack("{s:s, s:i, s:s, s:I}", "schema", kind, "version", MESSAGE_VERSION,
                         "gateway", gateway, "at", (json_int_t)at);
}

/* A text column as JSON: a string, or null. */
static json_t *column_text(sqlite3_stmt *st, int col)
{
        const unsigned char *t = sqlite3_column_text(st, col);

        return t ? json_string((const char *)t) : json_null();
}

static json_t *column_int(sqlite3_stmt *st, int col)
{
        return sqlite3_column_type(st, col) == SQLITE_NULL
                       ? json_null()
                       : json_integer(sqlite3_column_int64(st, col));
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st)
{
        if (sqlite3_prepare_v2(store_db(s), sql, -1, st, NULL) != SQLITE_OK)
                return store_error(s, "building an uplink message");
        return 0;
}

static int step_error(struct store *s, int rc)
{
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
                                                     : store_error(s, "building an uplink message");
}

static int add_building(struct store *s, json_t *msg, bool *verified)
{
        sqlite3_stmt *st = NULL;
        int r = prepare(s, "SELECT location_id, name, verified FROM building LIMIT 1", &st), rc;

        *verified = false;
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                json_object_set_new(msg, "building",
                                    json_pack("{s:o, s:o}", "location_id", column_text(st, 0),
                                              "name", column_text(st, 1)));
                *verified = sqlite3_column_int(st, 2) != 0;
        } else {
                json_object_set_new(msg, "building", json_null());
        }
        r = step_error(s, rc);
        sqlite3_finalize(st);
        return r;
}

/* The unit and its verified occupancy. *@found tells whether the registry has it. */
static int add_unit(struct store *s, json_t *msg, const char *unit, bool *found, bool *verified)
{
        sqlite3_stmt *st = NULL;
        json_t *refs = NULL, *occ = NULL;
        long long residents = 0, unverified = 0, counts[5] = {0};
        static const char *const flags[5] = {"bedridden", "mobility_impaired", "elderly", "infant",
                                             "needs_oxygen"};
        int r, rc;

        *found = *verified = false;
        json_object_set_new(msg, "unit", json_null());
        json_object_set_new(msg, "occupancy", json_null());
        if (!unit)
                return 0;
        r = prepare(s, "SELECT address_id, floor, number, verified FROM unit WHERE address_id = ?",
                    &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *found = true;
                *verified = sqlite3_column_int(st, 3) != 0;
                json_object_set_new(msg, "unit",
                                    json_pack("{s:o, s:o, s:o, s:b}", "address_id",
                                              column_text(st, 0), "floor", column_int(st, 1),
                                              "number", column_text(st, 2), "verified", *verified));
        }
        r = step_error(s, rc);
        sqlite3_finalize(st);
        st = NULL;
        if (r < 0 || !*found)
                return r;
        /* Rescuers get counts and the authority's own references; what the platform needs
         * beyond that it looks up in its registry by reference. */
        refs = json_array();
        if (!refs)
                return -ENOMEM;
        r = prepare(s,
                    "SELECT resident_id, verified, bedridden, mobility_impaired, elderly, "
                    "infant, needs_oxygen FROM resident WHERE unit = ? AND moved_out = 0 "
                    "ORDER BY resident_id",
                    &st);
        if (r < 0)
                goto out;
        sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (!sqlite3_column_int(st, 1)) {
                        unverified++;
                        continue;
                }
                residents++;
                json_array_append_new(refs, column_text(st, 0));
                for (int i = 0; i < 5; i++)
                        counts[i] += sqlite3_column_int(st, 2 + i) != 0;
        }
        r = step_error(s, rc);
        if (r < 0)
                goto out;
        occ = json_pack("{s:O, s:I, s:I}", "verified_residents", refs, "residents",
                        (json_int_t)residents, "unverified_residents", (json_int_t)unverified);
        if (!occ) {
                r = -ENOMEM;
                goto out;
        }
        for (int i = 0; i < 5; i++)
                json_object_set_new(occ, flags[i], json_integer(counts[i]));
        json_object_set_new(msg, "occupancy", occ);
        json_object_set_new(msg, "priority_rescue", json_boolean(counts[0] + counts[1] > 0));
out:
        sqlite3_finalize(st);
        json_decref(refs);
        return r;
}

/* The incident's detectors (or the decision's own, for a decision on no incident), as the
 * registry knows them. */
static int add_detectors(struct store *s, json_t *msg, const struct engine_decision *d,
                         long long incident, bool *unknown, bool *unverified)
{
        sqlite3_stmt *st = NULL;
        json_t *list = json_array();
        int r, rc;

        if (!list)
                return -ENOMEM;
        json_object_set_new(msg, "detectors", list);
        r = prepare(s,
                    incident > 0
                            ? "SELECT i.detector, d.kind, d.verified FROM incident_detector i "
                              "LEFT JOIN detector d ON d.detector_id = i.detector WHERE "
                              "i.incident = ?1 ORDER BY i.first_at, i.detector"
                            : "SELECT ?2, d.kind, d.verified FROM (SELECT 1) LEFT JOIN detector "
                              "d ON d.detector_id = ?2 WHERE ?2 IS NOT NULL",
                    &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, incident);
        if (d->detector)
                sqlite3_bind_text(st, 2, d->detector, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                bool known = sqlite3_column_type(st, 1) != SQLITE_NULL;
                const char *kind = known ? (const char *)sqlite3_column_text(st, 1) : "unknown";
                bool ok = known && sqlite3_column_int(st, 2) != 0;

                *unknown = *unknown || !known;
                *unverified = *unverified || (known && !ok);
                json_array_append_new(list, json_pack("{s:o, s:s, s:b}", "id", column_text(st, 0),
                                                      "kind", kind, "verified", ok));
        }
        r = step_error(s, rc);
        sqlite3_finalize(st);
        return r;
}

static json_t *flag_list(unsigned flags)
{
        json_t *a = json_array();

        for (unsigned i = 0; a && i < 32; i++) {
                const char *name = replay_flag_name(1u << i);

                if ((flags & (1u << i)) && name)
                        json_array_append_new(a, json_string(name));
        }
        return a;
}

/* The place, unit, floor and zone of the incident, or of the decision for none. */
static int add_place(struct store *s, json_t *msg, const struct engine_decision *d,
                     long long incident, int64_t at, char *unit, size_t unit_size, bool *fire)
{
        sqlite3_stmt *st = NULL;
        int r, rc;

        unit[0] = '\0';
        *fire = d->kind == ENGINE_ALARM || d->kind == ENGINE_PRE_ALARM;
        json_object_set_new(msg, "place", json_string(d->zone ? d->zone : "building"));
        json_object_set_new(msg, "floor", d->has_floor ? json_integer(d->floor) : json_null());
        json_object_set_new(msg, "zone",
                            d->zone && strncmp(d->zone, "zone:", 5) == 0 ? json_string(d->zone + 5)
                                                                         : json_null());
        json_object_set_new(msg, "first_detection_at", json_null());
        if (d->unit)
                snprintf(unit, unit_size, "%s", d->unit);
        if (incident <= 0) {
                /* No incident row to read it from (the store could not take the decision): the
                 * engine's interval carried over to the real clock, as incident.c does. */
                if (*fire)
                        json_object_set_new(
                                msg, "first_detection_at",
                                json_integer(d->first_detection != ENGINE_NEVER &&
                                                             d->first_detection <= d->time &&
                                                             d->time - d->first_detection <= at
                                                     ? at - (d->time - d->first_detection)
                                                     : at));
                return 0;
        }
        r = prepare(s, "SELECT place, unit, floor, zone, first_at, kind FROM incident WHERE id = ?",
                    &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, incident);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                const unsigned char *u = sqlite3_column_text(st, 1);
                const char *kind = (const char *)sqlite3_column_text(st, 5);

                json_object_set_new(msg, "place", column_text(st, 0));
                json_object_set_new(msg, "floor", column_int(st, 2));
                json_object_set_new(msg, "zone", column_text(st, 3));
                snprintf(unit, unit_size, "%s", u ? (const char *)u : "");
                *fire = kind && strcmp(kind, "fault") != 0;
                if (*fire)
                        json_object_set_new(msg, "first_detection_at", column_int(st, 4));
        }
        r = step_error(s, rc);
        sqlite3_finalize(st);
        return r;
}

int message_alert(struct store *s, const char *gateway, const struct engine_decision *d,
                  long long incident, int64_t at, json_t **out)
{
        const char *event = message_alert_event(d->kind);
        bool building_ok = false, unit_found = false, unit_ok = false, unknown = false,
             unverified = false, fire = false;
        const char *verification;
        char unit[128];
        json_t *msg;
        int r;

        *out = NULL;
        msg = header("firegate/alert", gateway, at);
        if (!msg || !event) {
                json_decref(msg);
                return msg ? -EINVAL : -ENOMEM;
        }
        json_object_set_new(msg, "event", json_string(event));
        json_object_set_new(msg, "incident", incident > 0 ? json_integer(incident) : json_null());
        json_object_set_new(msg, "cause",
                            json_string(d->cause && *d->cause ? d->cause : "no cause given"));
        json_object_set_new(msg, "rule", json_string(d->rule ? d->rule : "built-in"));
        /* A fault of no kind is still a fault, as the incident log has it. */
        json_object_set_new(msg, "fault",
                            d->fault != ENGINE_FAULT_NONE ? json_string(engine_fault_name(d->fault))
                            : d->kind == ENGINE_FAULT     ? json_string("unknown")
                                                          : json_null());
        json_object_set_new(msg, "flags", flag_list(d->flags));
        json_object_set_new(msg, "by", d->who ? json_string(d->who) : json_null());
        json_object_set_new(msg, "test", json_false());
        json_object_set_new(msg, "priority_rescue",
                            json_boolean(d->flags & ENGINE_FLAG_PRIORITY_RESCUE));
        r = add_building(s, msg, &building_ok);
        if (r == 0)
                r = add_place(s, msg, d, incident, at, unit, sizeof(unit), &fire);
        if (r == 0)
                r = add_detectors(s, msg, d, incident, &unknown, &unverified);
        if (r == 0)
                r = add_unit(s, msg, unit[0] ? unit : NULL, &unit_found, &unit_ok);
        if (r < 0) {
                json_decref(msg);
                return r;
        }
        /* The engine's own word on priority rescue stands; the registry can only add to it. */
        if (d->flags & ENGINE_FLAG_PRIORITY_RESCUE)
                json_object_set_new(msg, "priority_rescue", json_true());
        if (unknown || (unit[0] && !unit_found) ||
            (d->flags & (ENGINE_FLAG_UNKNOWN_DETECTOR | ENGINE_FLAG_UNKNOWN_UNIT)))
                verification = "unknown";
        else if (unverified || (unit_found && !unit_ok) || (d->flags & ENGINE_FLAG_UNVERIFIED) ||
                 (!unit[0] && !building_ok))
                verification = "unverified";
        else
                verification = "verified";
        json_object_set_new(msg, "verification", json_string(verification));
        *out = msg;
        return 0;
}

/* --- statistics --- */

static int count_by(struct store *s, const char *sql, json_t *obj, const char *const *keys,
                    size_t n_keys)
{
        sqlite3_stmt *st = NULL;
        int r = prepare(s, sql, &st), rc;

        if (r < 0)
                return r;
        for (size_t i = 0; i < n_keys; i++)
                json_object_set_new(obj, keys[i], json_integer(0));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *key = (const char *)sqlite3_column_text(st, 0);

                /* A kind this build does not list is still counted, under its own name. */
                if (key)
                        json_object_set_new(obj, key, json_integer(sqlite3_column_int64(st, 1)));
        }
        r = step_error(s, rc);
        sqlite3_finalize(st);
        return r;
}

int message_stats(struct store *s, const char *gateway, const struct message_stats_in *in,
                  int64_t at, json_t **out)
{
        static const char *const incident_kinds[] = {"alarm", "pre_alarm", "fault"};
        json_t *msg = header("firegate/stats", gateway, at), *states = json_object(),
               *faults = json_object(), *open = json_object();
        const char *fault_kinds[ENGINE_FAULT_COUNT - 1];
        long long battery = 0;
        int r = -ENOMEM;

        *out = NULL;
        if (!msg || !states || !faults || !open)
                goto out;
        for (int f = ENGINE_FAULT_NONE + 1; f < ENGINE_FAULT_COUNT; f++)
                fault_kinds[f - 1] = engine_fault_name((enum engine_fault)f);
        for (size_t i = 0; i <= ENGINE_STATE_TEST; i++)
                json_object_set_new(states, engine_state_name((enum engine_state)i),
                                    json_integer((json_int_t)in->by_state[i]));
        r = count_by(s,
                     "SELECT fault, count(*) FROM incident WHERE kind = 'fault' AND state <> "
                     "'closed' GROUP BY fault",
                     faults, fault_kinds, ENGINE_FAULT_COUNT - 1);
        if (r == 0)
                r = count_by(s,
                             "SELECT kind, count(*) FROM incident WHERE state <> 'closed' GROUP "
                             "BY kind",
                             open, incident_kinds, 3);
        if (r < 0)
                goto out;
        battery = json_integer_value(json_object_get(faults, "battery_low"));
        json_object_set_new(msg, "interval_s", json_integer(in->interval_s));
        json_object_set_new(msg, "uptime_s", json_integer(in->uptime_s));
        json_object_set(msg, "detectors", states);
        json_object_set(msg, "faults", faults);
        json_object_set_new(msg, "battery_low", json_integer(battery));
        json_object_set_new(
                msg, "messages",
                json_pack("{s:I, s:I, s:I, s:I, s:I}", "received", (json_int_t)in->received,
                          "malformed", (json_int_t)in->malformed, "oversize",
                          (json_int_t)in->oversize, "unknown_topic", (json_int_t)in->unknown_topic,
                          "unknown_device", (json_int_t)in->unknown_device));
        json_object_set(msg, "open_incidents", open);
        json_object_set_new(msg, "outbox",
                            json_pack("{s:I, s:I}", "pending", (json_int_t)in->outbox_pending,
                                      "coalesced", (json_int_t)in->outbox_coalesced));
        json_object_set_new(msg, "building_broker",
                            json_pack("{s:b}", "connected", in->broker_connected));
        json_object_set_new(msg, "chain_head",
                            in->chain_head ? json_string(in->chain_head) : json_null());
        *out = msg;
        msg = NULL;
out:
        json_decref(open);
        json_decref(faults);
        json_decref(states);
        json_decref(msg);
        return r;
}

/* --- the small ones --- */

static char *dump(json_t *msg)
{
        char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;

        json_decref(msg);
        return text;
}

char *message_status(const char *gateway, bool online, int64_t at)
{
        return message_status_walk(gateway, online, at, at, NULL, 0, 0);
}

char *message_status_walk(const char *gateway, bool online, int64_t at, int64_t since,
                          const char *walk_target, int64_t walk_since, int64_t walk_until)
{
        json_t *msg = header("firegate/status", gateway, at);

        if (msg)
                json_object_set_new(msg, "state", json_string(online ? "online" : "offline"));
        if (msg && online)
                json_object_set_new(msg, "since", json_integer(since));
        if (msg && online && walk_target)
                json_object_set_new(msg, "walk_test",
                                    json_pack("{s:s, s:I, s:I}", "target", walk_target, "since",
                                              (json_int_t)walk_since, "until",
                                              (json_int_t)walk_until));
        return dump(msg);
}

char *message_heartbeat(const char *gateway, int64_t at, long long uptime_s,
                        long long outbox_pending, long long alarms_open)
{
        json_t *msg = header("firegate/heartbeat", gateway, at);

        if (msg) {
                json_object_set_new(msg, "uptime_s", json_integer(uptime_s));
                json_object_set_new(msg, "outbox_pending", json_integer(outbox_pending));
                json_object_set_new(msg, "alarms_open", json_integer(alarms_open));
        }
        return dump(msg);
}

json_t *message_response(const char *gateway, const char *request_id, const char *result,
                         const char *reason, long long incident, int64_t at)
{
        json_t *msg = header("firegate/response", gateway, at);

        if (!msg)
                return NULL;
        json_object_set_new(msg, "request_id", json_string(request_id));
        json_object_set_new(msg, "result", json_string(result));
        json_object_set_new(msg, "reason", json_string(reason));
        json_object_set_new(msg, "incident", incident > 0 ? json_integer(incident) : json_null());
        return msg;
}
