/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * incident: one engine decision in, rows of the incident log out.
 *
 * Invariants the schema also holds: at most one open alarm or pre-alarm incident per place, and
 * at most one open fault incident per detector and fault kind, so "the open incident here" is
 * always one row; events are only ever appended. Each statement binds its parameters by name
 * from one table of the decision's values (struct rec), so a statement cannot take a value from
 * the wrong position.
 *
 * Fail safe: a detector's alarm ends only with a reset, never with a restore (a restore ends a
 * pre-alarm or a fault), and a new alarm in an acknowledged or silenced incident makes it open
 * again, as the engine sounds again for it.
 */
#include "incident.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define FLAGS_MAX 1024
#define ZONE_MAX  256

/* Which incidents a command or an output covers, as the engine finds the detectors of a zone: a
 * detector id, or the building, a floor, a unit or an installer zone. */
struct target {
        bool any; /* false: the decision names nothing incidents can be matched with */
        bool all;
        const char *detector, *unit, *zone;
        int floor;
        bool has_floor;
};

/* The decision being recorded and the values its statements bind. */
struct rec {
        struct store *s;
        const struct engine_decision *d;
        int64_t at;       /* real time of the decision, UTC ms */
        int64_t first_at; /* real time the episode began (alarms and pre-alarms), else at */
        const char *place;
        const char *fault;       /* the fault kind's name, or NULL */
        const char *kind;        /* the kind of incident the decision opens, or NULL */
        char flags[FLAGS_MAX];   /* the decision's flag names; "" when none */
        char merged[FLAGS_MAX];  /* an incident's flags with the decision's added */
        char zone_buf[ZONE_MAX]; /* the detector's installer zone, from the registry */
        const char *zone;        /* installer zone of the decision's detector, or NULL */
        struct target target;    /* for zone-wide decisions */
        long long first_id;      /* lowest incident touched; 0: none */
};

/* --- binding by name --- */

enum param_type { P_NULL, P_TEXT, P_INT };

struct param {
        const char *name;
        enum param_type type;
        const char *text; /* P_TEXT; NULL binds NULL */
        int64_t num;
};

static struct param text_param(const char *name, const char *text)
{
        return (struct param){name, P_TEXT, text, 0};
}

static struct param int_param(const char *name, bool present, int64_t num)
{
        return (struct param){name, present ? P_INT : P_NULL, NULL, num};
}

/* Binds every named parameter of @st from the decision. An unknown name is a bug in this file's
 * SQL: -EINVAL. */
static int bind_params(struct rec *c, sqlite3_stmt *st, long long incident)
{
        const struct engine_decision *d = c->d;
        const struct param params[] = {
                int_param(":incident", true, incident),
                int_param(":at", true, c->at),
                int_param(":first_at", true, c->first_at),
                int_param(":alarm", true, d->kind == ENGINE_ALARM),
                text_param(":decision", engine_decision_name(d->kind)),
                text_param(":kind", c->kind),
                text_param(":detector", d->detector),
                text_param(":key", d->detector ? d->detector : c->place),
                text_param(":unit", d->unit),
                int_param(":floor", d->has_floor, d->floor),
                text_param(":zone", c->zone),
                text_param(":place", c->place),
                text_param(":cause", d->cause),
                text_param(":rule", d->rule),
                text_param(":flags", c->flags[0] ? c->flags : NULL),
                text_param(":incident_flags", c->merged[0] ? c->merged : NULL),
                text_param(":fault", c->fault),
                text_param(":who", d->who),
                text_param(":output", d->output),
                int_param(":all", true, c->target.all),
                text_param(":t_detector", c->target.detector),
                text_param(":t_unit", c->target.unit),
                int_param(":t_floor", c->target.has_floor, c->target.floor),
                text_param(":t_zone", c->target.zone),
        };
        int n = sqlite3_bind_parameter_count(st);

        for (int i = 1; i <= n; i++) {
                const char *name = sqlite3_bind_parameter_name(st, i);
                const struct param *p = NULL;

                for (size_t k = 0; name && k < sizeof(params) / sizeof(params[0]); k++)
                        if (strcmp(params[k].name, name) == 0)
                                p = &params[k];
                if (!p)
                        return -EINVAL;
                if (p->type == P_INT)
                        sqlite3_bind_int64(st, i, p->num);
                else if (p->type == P_TEXT && p->text)
                        sqlite3_bind_text(st, i, p->text, -1, SQLITE_STATIC);
                else
                        sqlite3_bind_null(st, i);
        }
        return 0;
}

static int prepare(struct rec *c, const char *sql, long long incident, const char *what,
                   sqlite3_stmt **st)
{
        int r;

        if (sqlite3_prepare_v2(store_db(c->s), sql, -1, st, NULL) != SQLITE_OK)
                return store_error(c->s, what);
        r = bind_params(c, *st, incident);
        if (r < 0) {
                sqlite3_finalize(*st);
                *st = NULL;
        }
        return r;
}

/* Runs a statement that returns no rows. */
static int run(struct rec *c, const char *sql, long long incident, const char *what)
{
        sqlite3_stmt *st = NULL;
        int r = prepare(c, sql, incident, what, &st);

        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_DONE)
                r = store_error(c->s, what);
        sqlite3_finalize(st);
        return r;
}

/* Incident ids, collected before they are changed: changing rows while a SELECT over them is
 * still stepping would let the changes decide what the SELECT returns. */
struct ids {
        long long *v;
        size_t n, cap;
};

static int ids_add(struct ids *ids, long long id)
{
        if (ids->n == ids->cap) {
                size_t cap = ids->cap ? ids->cap * 2 : 8;
                long long *v = realloc(ids->v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                ids->v = v;
                ids->cap = cap;
        }
        ids->v[ids->n++] = id;
        return 0;
}

static int select_ids(struct rec *c, const char *sql, const char *what, struct ids *ids)
{
        sqlite3_stmt *st = NULL;
        int rc, r = prepare(c, sql, 0, what, &st);

        if (r < 0)
                return r;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
                r = ids_add(ids, sqlite3_column_int64(st, 0));
        if (r == 0 && rc != SQLITE_DONE)
                r = store_error(c->s, what);
        sqlite3_finalize(st);
        return r;
}

/* --- flags --- */

static int flag_names(unsigned flags, char *buf, size_t len)
{
        size_t used = 0;

        buf[0] = '\0';
        for (unsigned bit = 1; flags; bit <<= 1) {
                const char *name;
                char other[16];
                int n;

                if (!(flags & bit))
                        continue;
                flags &= ~bit;
                name = replay_flag_name(bit);
                /* A flag this build cannot name is still recorded, never dropped. */
                if (!name) {
                        snprintf(other, sizeof(other), "flag_%#x", bit);
                        name = other;
                }
                n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", name);
                if (n < 0 || (size_t)n >= len - used)
                        return -ENOBUFS;
                used += (size_t)n;
        }
        return 0;
}

static bool has_flag(const char *list, const char *name, size_t name_len)
{
        for (const char *p = list; p && *p;) {
                size_t n = strcspn(p, ",");

                if (n == name_len && strncmp(p, name, n) == 0)
                        return true;
                p += n + (p[n] == ',');
        }
        return false;
}

/* c->merged = @old with every name of c->flags it lacks appended, in the order they came. */
static int merge_flags(struct rec *c, const char *old)
{
        size_t used;

        if (snprintf(c->merged, sizeof(c->merged), "%s", old ? old : "") >= (int)sizeof(c->merged))
                return -ENOBUFS;
        used = strlen(c->merged);
        for (const char *p = c->flags; *p;) {
                size_t n = strcspn(p, ",");

                if (!has_flag(c->merged, p, n)) {
                        int w = snprintf(c->merged + used, sizeof(c->merged) - used, "%s%.*s",
                                         used ? "," : "", (int)n, p);

                        if (w < 0 || (size_t)w >= sizeof(c->merged) - used)
                                return -ENOBUFS;
                        used += (size_t)w;
                }
                p += n + (p[n] == ',');
        }
        return 0;
}

/* Finds the one open incident @sql selects (id, flags) and merges the decision's flags into its
 * own. Returns 1 and sets *@id, 0 when there is none, or a negative errno. */
static int find_open(struct rec *c, const char *sql, const char *what, long long *id)
{
        sqlite3_stmt *st = NULL;
        int rc, r = prepare(c, sql, 0, what, &st);

        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *id = sqlite3_column_int64(st, 0);
                r = merge_flags(c, (const char *)sqlite3_column_text(st, 1));
                if (r == 0)
                        r = 1;
        } else if (rc == SQLITE_DONE) {
                r = merge_flags(c, NULL);
        } else {
                r = store_error(c->s, what);
        }
        sqlite3_finalize(st);
        return r;
}

/* --- where a detector is --- */

/* The installer zone of the decision's detector: its own zone when the engine names one,
 * otherwise the registry's (a detector in a unit can also be in an installer zone, and a command
 * on that zone covers it in the engine). NULL for a detector the registry lacks. */
static int detector_zone(struct rec *c)
{
        const struct engine_decision *d = c->d;
        sqlite3_stmt *st = NULL;
        int rc, r;

        c->zone = NULL;
        if (d->zone && strncmp(d->zone, "zone:", 5) == 0) {
                c->zone = d->zone + 5;
                return 0;
        }
        if (!d->detector)
                return 0;
        r = prepare(c, "SELECT zone FROM detector WHERE detector_id = :detector", 0,
                    "looking up a detector's zone", &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
                snprintf(c->zone_buf, sizeof(c->zone_buf), "%s", sqlite3_column_text(st, 0));
                c->zone = c->zone_buf;
        } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                r = store_error(c->s, "looking up a detector's zone");
        }
        sqlite3_finalize(st);
        return r;
}

/* What a command's or an output's zone covers. A name that is none of the engine's zone forms
 * matches nothing (the decision is then an engine_event): acknowledging more than was asked is
 * not a safe guess. */
static void parse_target(const struct engine_decision *d, struct target *t)
{
        const char *z = d->zone;

        memset(t, 0, sizeof(*t));
        if (d->detector) {
                t->detector = d->detector;
        } else if (!z) {
                return;
        } else if (strcmp(z, "building") == 0) {
                t->all = true;
        } else if (strncmp(z, "floor:", 6) == 0) {
                char *end;
                long v;

                errno = 0;
                v = strtol(z + 6, &end, 10);
                if (errno || end == z + 6 || *end || v < INT_MIN || v > INT_MAX)
                        return;
                t->floor = (int)v;
                t->has_floor = true;
        } else if (strncmp(z, "unit:", 5) == 0 && z[5]) {
                t->unit = z + 5;
        } else if (strncmp(z, "zone:", 5) == 0 && z[5]) {
                t->zone = z + 5;
        } else {
                return;
        }
        t->any = true;
}

/* --- SQL --- */

#define OPEN_FIRE "i.kind IN ('alarm', 'pre_alarm') AND i.state <> 'closed'"

/* A detector row x lies in the decision's target. */
#define IN_TARGET                                                                                  \
        "(:all OR x.detector = :t_detector OR x.unit = :t_unit OR x.floor = :t_floor OR "          \
        "x.zone = :t_zone)"

/* An incident's cause and rule are never missing; a decision without them is still recorded
 * rather than refused by the schema. */
#define CAUSE_RULE "coalesce(:cause, 'not given'), coalesce(:rule, 'built-in')"

static const char insert_event_sql[] =
        "INSERT INTO incident_event (incident, at, decision, detector, place, cause, rule, flags, "
        "fault, who, output) VALUES (:incident, :at, :decision, :detector, :place, :cause, :rule, "
        ":flags, :fault, :who, :output)";

static const char insert_engine_event_sql[] =
        "INSERT INTO engine_event (at, decision, detector, unit, floor, place, cause, rule, flags, "
        "fault, who, output) VALUES (:at, :decision, :detector, :unit, :floor, :place, :cause, "
        ":rule, :flags, :fault, :who, :output)";

/* An alarm incident's state is that of its most urgent detector in alarm, in the engine's order:
 * alarm (open), acknowledged, silenced. */
#define ACTIVE_ALARM                                                                               \
        "SELECT 1 FROM incident_detector x WHERE x.incident = :incident AND x.ended_at IS NULL "   \
        "AND x.alarm_at IS NOT NULL"
static const char alarm_state_sql[] =
        "UPDATE incident SET state = CASE WHEN EXISTS (" ACTIVE_ALARM
        " AND x.acknowledged_at IS NULL AND x.silenced_at IS NULL) THEN 'open' WHEN EXISTS "
        "(" ACTIVE_ALARM " AND x.silenced_at IS NULL) THEN 'acknowledged' WHEN EXISTS "
        "(" ACTIVE_ALARM ") THEN 'silenced' ELSE state END WHERE id = :incident AND kind = "
        "'alarm' AND state <> 'closed'";

/* An alarm or pre-alarm incident closes when none of its detectors takes part any more. */
static const char close_if_over_sql[] =
        "UPDATE incident SET state = 'closed', closed_at = :at WHERE id = :incident AND state <> "
        "'closed' AND NOT EXISTS (SELECT 1 FROM incident_detector x WHERE x.incident = :incident "
        "AND x.ended_at IS NULL)";

static const char touch_sql[] =
        "UPDATE incident SET last_at = max(last_at, :at) WHERE id = :incident";

static void touched(struct rec *c, long long id)
{
        if (!c->first_id || id < c->first_id)
                c->first_id = id;
}

static int add_event(struct rec *c, long long id)
{
        touched(c, id);
        return run(c, insert_event_sql, id, "recording an incident event");
}

static int add_engine_event(struct rec *c)
{
        return run(c, insert_engine_event_sql, 0, "recording an engine event");
}

/* --- alarms and pre-alarms --- */

static int record_fire(struct rec *c)
{
        static const char find_sql[] =
                "SELECT id, flags FROM incident i WHERE i.place = :place AND " OPEN_FIRE;
        static const char open_sql[] =
                "INSERT INTO incident (kind, state, place, unit, floor, zone, detector, cause, "
                "rule, flags, first_at, alarm_at, last_at) VALUES (:kind, 'open', :place, :unit, "
                ":floor, :zone, :detector, " CAUSE_RULE ", :flags, :first_at, CASE WHEN :alarm "
                "THEN :at END, :at)";
        /* Promotion: the pre-alarm incident becomes the alarm. Its cause and rule become the
         * alarm's, which explain why it is one, and an acknowledgement of the pre-alarm no longer
         * counts, as the engine sounds for the new alarm (both stay in the events). */
        static const char promote_sql[] =
                "UPDATE incident SET kind = 'alarm', alarm_at = :at, cause = coalesce(:cause, "
                "cause), rule = coalesce(:rule, rule), acknowledged_at = NULL, acknowledged_by = "
                "NULL WHERE id = :incident AND kind = 'pre_alarm' AND :alarm";
        static const char extend_sql[] =
                "UPDATE incident SET last_at = max(last_at, :at), first_at = min(first_at, "
                ":first_at), flags = :incident_flags, state = CASE WHEN kind = 'pre_alarm' THEN "
                "'open' ELSE state END WHERE id = :incident";
        /* A new alarm is neither acknowledged nor silenced (the engine sounds again for it); a
         * pre-alarm of a detector still in alarm would not end that alarm. */
        static const char detector_sql[] =
                "INSERT INTO incident_detector (incident, detector, unit, floor, zone, first_at, "
                "alarm_at) VALUES (:incident, :detector, :unit, :floor, :zone, :first_at, CASE "
                "WHEN :alarm THEN :at END) ON CONFLICT (incident, detector) DO UPDATE SET "
                "alarm_at = CASE WHEN :alarm THEN :at WHEN ended_at IS NULL THEN alarm_at END, "
                "acknowledged_at = CASE WHEN :alarm OR ended_at IS NOT NULL THEN NULL ELSE "
                "acknowledged_at END, silenced_at = CASE WHEN :alarm OR ended_at IS NOT NULL "
                "THEN NULL ELSE silenced_at END, ended_at = NULL";
        long long id = 0;
        int r;

        c->kind = c->d->kind == ENGINE_ALARM ? "alarm" : "pre_alarm";
        r = detector_zone(c);
        if (r == 0)
                r = find_open(c, find_sql, "finding the open incident", &id);
        if (r == 0) {
                r = run(c, open_sql, 0, "opening an incident");
                id = sqlite3_last_insert_rowid(store_db(c->s));
        } else if (r == 1) {
                r = run(c, promote_sql, id, "promoting a pre-alarm incident");
                if (r == 0)
                        r = run(c, extend_sql, id, "extending an incident");
        }
        if (r == 0 && c->d->detector)
                r = run(c, detector_sql, id, "adding a detector to an incident");
        if (r == 0)
                r = add_event(c, id);
        if (r == 0)
                r = run(c, alarm_state_sql, id, "updating an incident's state");
        return r;
}

/* A pre-alarm ended without an alarm. Only the pre-alarm ends: a detector in alarm stays in it
 * until a reset. */
static int record_pre_alarm_end(struct rec *c)
{
        static const char find_sql[] =
                "SELECT DISTINCT i.id FROM incident i JOIN incident_detector x ON x.incident = "
                "i.id WHERE " OPEN_FIRE " AND x.detector = :detector AND x.ended_at IS NULL "
                "ORDER BY i.id";
        static const char end_sql[] =
                "UPDATE incident_detector SET ended_at = :at WHERE incident = :incident AND "
                "detector = :detector AND ended_at IS NULL AND alarm_at IS NULL";
        struct ids ids = {0};
        int r = c->d->detector ? select_ids(c, find_sql, "finding a detector's incidents", &ids)
                               : 0;

        for (size_t i = 0; r == 0 && i < ids.n; i++) {
                r = add_event(c, ids.v[i]);
                if (r == 0)
                        r = run(c, end_sql, ids.v[i], "ending a pre-alarm");
                if (r == 0)
                        r = run(c, touch_sql, ids.v[i], "updating an incident");
                if (r == 0)
                        r = run(c, close_if_over_sql, ids.v[i], "closing an incident");
        }
        if (r == 0 && ids.n == 0)
                r = add_engine_event(c);
        free(ids.v);
        return r;
}

/* --- faults --- */

#define FIND_FAULT                                                                                 \
        "SELECT id, flags FROM incident WHERE kind = 'fault' AND state <> 'closed' AND "           \
        "coalesce(detector, place) = :key AND fault = :fault"

static int record_fault(struct rec *c)
{
        static const char open_sql[] =
                "INSERT INTO incident (kind, state, place, unit, floor, zone, detector, cause, "
                "rule, flags, fault, first_at, last_at) VALUES ('fault', 'open', :place, :unit, "
                ":floor, :zone, :detector, " CAUSE_RULE ", :flags, :fault, :at, :at)";
        static const char extend_sql[] =
                "UPDATE incident SET last_at = max(last_at, :at), flags = :incident_flags WHERE "
                "id = :incident";
        static const char detector_sql[] =
                "INSERT INTO incident_detector (incident, detector, unit, floor, zone, first_at) "
                "VALUES (:incident, :detector, :unit, :floor, :zone, :at) ON CONFLICT (incident, "
                "detector) DO UPDATE SET ended_at = NULL";
        long long id = 0;
        int r = detector_zone(c);

        if (r == 0)
                r = find_open(c, FIND_FAULT, "finding the open fault", &id);
        if (r == 0) {
                r = run(c, open_sql, 0, "opening a fault incident");
                id = sqlite3_last_insert_rowid(store_db(c->s));
        } else if (r == 1) {
                r = run(c, extend_sql, id, "extending a fault incident");
        }
        if (r == 0 && c->d->detector)
                r = run(c, detector_sql, id, "adding a detector to a fault incident");
        if (r == 0)
                r = add_event(c, id);
        return r;
}

static int record_fault_end(struct rec *c)
{
        static const char end_sql[] =
                "UPDATE incident_detector SET ended_at = :at WHERE incident = :incident AND "
                "ended_at IS NULL";
        static const char close_sql[] =
                "UPDATE incident SET state = 'closed', closed_at = :at, last_at = max(last_at, "
                ":at) WHERE id = :incident";
        long long id = 0;
        int r = find_open(c, FIND_FAULT, "finding the open fault", &id);

        if (r == 0)
                return add_engine_event(c);
        if (r < 0)
                return r;
        r = add_event(c, id);
        if (r == 0)
                r = run(c, end_sql, id, "ending a fault");
        if (r == 0)
                r = run(c, close_sql, id, "closing a fault incident");
        return r;
}

/* --- commands and outputs --- */

static int command_changes(struct rec *c, long long id)
{
        static const char ack_detectors_sql[] =
                "UPDATE incident_detector AS x SET acknowledged_at = :at WHERE x.incident = "
                ":incident AND x.ended_at IS NULL AND x.alarm_at IS NOT NULL AND "
                "x.acknowledged_at IS NULL AND " IN_TARGET;
        /* A pre-alarm can be acknowledged (a positive alarm sequence asks for it), so its
         * incident shows that; silencing is for alarms, whose sounders it stops. */
        static const char ack_sql[] =
                "UPDATE incident SET acknowledged_at = coalesce(acknowledged_at, :at), "
                "acknowledged_by = CASE WHEN acknowledged_at IS NULL THEN :who ELSE "
                "acknowledged_by END, state = CASE WHEN kind = 'pre_alarm' AND state = 'open' "
                "THEN 'acknowledged' ELSE state END, last_at = max(last_at, :at) WHERE id = "
                ":incident";
        static const char silence_detectors_sql[] =
                "UPDATE incident_detector AS x SET silenced_at = :at WHERE x.incident = :incident "
                "AND x.ended_at IS NULL AND x.alarm_at IS NOT NULL AND x.silenced_at IS NULL "
                "AND " IN_TARGET;
        static const char silence_sql[] =
                "UPDATE incident SET silenced_at = CASE WHEN kind = 'alarm' THEN "
                "coalesce(silenced_at, :at) END, silenced_by = CASE WHEN kind = 'alarm' AND "
                "silenced_at IS NULL THEN :who ELSE silenced_by END, last_at = max(last_at, :at) "
                "WHERE id = :incident";
        static const char reset_detectors_sql[] =
                "UPDATE incident_detector AS x SET ended_at = :at WHERE x.incident = :incident AND "
                "x.ended_at IS NULL AND " IN_TARGET;
        static const char reset_sql[] =
                "UPDATE incident SET reset_at = :at, reset_by = :who, last_at = max(last_at, :at) "
                "WHERE id = :incident";
        int r;

        switch (c->d->kind) {
        case ENGINE_ACKNOWLEDGED:
                r = run(c, ack_detectors_sql, id, "acknowledging an incident");
                return r < 0 ? r : run(c, ack_sql, id, "acknowledging an incident");
        case ENGINE_SILENCED:
                r = run(c, silence_detectors_sql, id, "silencing an incident");
                return r < 0 ? r : run(c, silence_sql, id, "silencing an incident");
        case ENGINE_RESET:
                r = run(c, reset_detectors_sql, id, "resetting an incident");
                if (r == 0)
                        r = run(c, reset_sql, id, "resetting an incident");
                return r < 0 ? r : run(c, close_if_over_sql, id, "closing an incident");
        default:
                /* Outputs change nothing but the time of the latest event. */
                return run(c, touch_sql, id, "updating an incident");
        }
}

/* The open incidents with a detector still taking part in the decision's target; @kinds narrows
 * them further. */
#define IN_ZONE(kinds)                                                                             \
        "SELECT DISTINCT i.id FROM incident i JOIN incident_detector x ON x.incident = i.id "      \
        "WHERE " OPEN_FIRE " AND x.ended_at IS NULL AND " IN_TARGET " AND " kinds " ORDER BY i.id"

/* Acknowledge, silence and reset act on the open alarm and pre-alarm incidents with a detector
 * in the zone (or the detector) they name; an output's switching is an event of the open alarm
 * incidents in the zone it follows. */
static int record_zone_decision(struct rec *c, bool alarms_only)
{
        static const char fire_sql[] = IN_ZONE("1");
        static const char alarm_sql[] = IN_ZONE("i.kind = 'alarm'");
        struct ids ids = {0};
        int r = 0;

        parse_target(c->d, &c->target);
        if (c->target.any)
                r = select_ids(c, alarms_only ? alarm_sql : fire_sql,
                               "finding the incidents of a zone", &ids);
        for (size_t i = 0; r == 0 && i < ids.n; i++) {
                r = add_event(c, ids.v[i]);
                if (r == 0)
                        r = command_changes(c, ids.v[i]);
                if (r == 0)
                        r = run(c, alarm_state_sql, ids.v[i], "updating an incident's state");
        }
        if (r == 0 && ids.n == 0)
                r = add_engine_event(c);
        free(ids.v);
        return r;
}

/* --- the entry point --- */

static int record(struct rec *c)
{
        switch (c->d->kind) {
        case ENGINE_ALARM:
        case ENGINE_PRE_ALARM:
                return record_fire(c);
        case ENGINE_FAULT:
                return record_fault(c);
        case ENGINE_RESTORE:
                return c->fault ? record_fault_end(c) : record_pre_alarm_end(c);
        case ENGINE_ACKNOWLEDGED:
        case ENGINE_SILENCED:
        case ENGINE_RESET:
                return record_zone_decision(c, false);
        case ENGINE_OUTPUT_ON:
        case ENGINE_OUTPUT_OFF:
                return record_zone_decision(c, true);
        case ENGINE_TEST:
        case ENGINE_DISABLED:
        case ENGINE_ENABLED:
                return add_engine_event(c);
        }
        /* A decision this file does not know yet is still kept. */
        return add_engine_event(c);
}

int incident_record(struct store *s, const struct engine_decision *d, int64_t wall_ms,
                    long long *incident_id)
{
        sqlite3 *db = store_db(s);
        struct rec *c;
        int r;

        if (incident_id)
                *incident_id = 0;
        /* Large buffers: kept off the daemon's stack. */
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->s = s;
        c->d = d;
        c->at = wall_ms;
        c->first_at = wall_ms;
        /* The engine's clock is not the real one; only the interval carries over. */
        if ((d->kind == ENGINE_ALARM || d->kind == ENGINE_PRE_ALARM) &&
            d->first_detection != ENGINE_NEVER && d->first_detection <= d->time &&
            d->time - d->first_detection <= wall_ms)
                c->first_at = wall_ms - (d->time - d->first_detection);
        c->place = d->zone ? d->zone : "building";
        if ((d->kind == ENGINE_FAULT || d->kind == ENGINE_RESTORE) && d->fault != ENGINE_FAULT_NONE)
                c->fault = engine_fault_name(d->fault);
        else if (d->kind == ENGINE_FAULT)
                c->fault = "unknown"; /* a fault of no kind is still a fault */
        r = flag_names(d->flags, c->flags, sizeof(c->flags));
        if (r < 0)
                goto out_free;
        /* A savepoint makes the decision's rows all-or-nothing inside the caller's transaction,
         * which can still commit the decisions before and after. */
        if (sqlite3_exec(db, "SAVEPOINT incident_record", NULL, NULL, NULL) != SQLITE_OK) {
                r = store_error(s, "starting to record a decision");
                goto out_free;
        }
        r = record(c);
        if (r < 0) {
                sqlite3_exec(db, "ROLLBACK TO incident_record", NULL, NULL, NULL);
                sqlite3_exec(db, "RELEASE incident_record", NULL, NULL, NULL);
                goto out_free;
        }
        if (sqlite3_exec(db, "RELEASE incident_record", NULL, NULL, NULL) != SQLITE_OK) {
                r = store_error(s, "recording a decision");
                goto out_free;
        }
        if (incident_id)
                *incident_id = c->first_id;
out_free:
        free(c);
        return r;
}

/* --- reading --- */

int incident_open_alarms(struct store *s,
                         int (*fn)(void *ctx, const char *detector, int64_t first_at, bool acked,
                                   bool silenced),
                         void *ctx)
{
        /* The terms of the partial index incident_open_fire are repeated so SQLite can use it. */
        static const char sql[] =
                "SELECT x.detector, x.first_at, x.acknowledged_at IS NOT NULL, x.silenced_at IS "
                "NOT NULL FROM incident i JOIN incident_detector x ON x.incident = i.id "
                "WHERE " OPEN_FIRE
                " AND i.kind = 'alarm' AND x.alarm_at IS NOT NULL AND x.ended_at IS "
                "NULL ORDER BY x.first_at, i.id, x.detector";
        sqlite3_stmt *st = NULL;
        int rc, r = 0;

        if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
                return store_error(s, "reading the open alarms");
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
                r = fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                       sqlite3_column_int(st, 2), sqlite3_column_int(st, 3));
        if (r == 0 && rc != SQLITE_DONE)
                r = store_error(s, "reading the open alarms");
        sqlite3_finalize(st);
        return r;
}

/* The listing's WHERE clause. An incident lies in [from, to) when it began before to and was
 * still open at from (index incident_by_time holds both times). A unit, floor or detector
 * matches any of the incident's detectors, so a stairwell's incident that spread over floors is
 * found from each; the incident's own unit and floor still match one of no detector (a fault
 * of the building broker). */
static const char *const list_terms[] = {
        " AND i.first_at < :to",
        " AND (i.closed_at IS NULL OR i.closed_at >= :from)",
        " AND i.id = :id",
        " AND (i.id IN (SELECT x.incident FROM incident_detector x WHERE x.unit = :unit) OR "
        "i.unit = :unit)",
        " AND (i.id IN (SELECT x.incident FROM incident_detector x WHERE x.floor = :floor) OR "
        "i.floor = :floor)",
        " AND (i.id IN (SELECT x.incident FROM incident_detector x WHERE x.detector = "
        ":detector) OR i.detector = :detector)",
        " AND instr(lower(i.cause), lower(:cause)) > 0",
        " AND i.kind = :kind",
        " AND i.state = :state",
};

int incident_list(struct store *s, const struct incident_filter *f, sqlite3_stmt **out)
{
        static const char select_sql[] =
                "SELECT i.id, i.kind, i.state, i.unit, i.floor, i.zone, i.place, i.detector, "
                "(SELECT count(*) FROM incident_detector x WHERE x.incident = i.id) AS detectors, "
                "i.cause, i.rule, i.flags, i.fault, i.first_at, i.alarm_at, i.last_at, "
                "i.acknowledged_by, i.acknowledged_at, i.silenced_by, i.silenced_at, i.reset_by, "
                "i.reset_at, i.closed_at, i.false_alarm_by, i.false_alarm_at, (SELECT count(*) "
                "FROM incident_event e WHERE e.incident = i.id) AS events FROM incident i WHERE "
                "1 = 1";
        const struct incident_filter none = {0};
        const bool applied[] = {
                f && f->have_to, f && f->have_from,  f && f->id,
                f && f->unit,    f && f->have_floor, f && f->detector,
                f && f->cause,   f && f->kind,       f && f->state,
        };
        char sql[4096];
        size_t used;
        int n, i;

        _Static_assert(sizeof(applied) / sizeof(applied[0]) ==
                               sizeof(list_terms) / sizeof(list_terms[0]),
                       "one flag per listing term");
        f = f ? f : &none;
        n = snprintf(sql, sizeof(sql), "%s", select_sql);
        used = (size_t)n;
        for (size_t t = 0; t < sizeof(list_terms) / sizeof(list_terms[0]); t++) {
                if (!applied[t])
                        continue;
                n = snprintf(sql + used, sizeof(sql) - used, "%s", list_terms[t]);
                if (n < 0 || (size_t)n >= sizeof(sql) - used)
                        return -E2BIG;
                used += (size_t)n;
        }
        n = snprintf(sql + used, sizeof(sql) - used, "%s%s",
                     f->newest_first ? " ORDER BY i.first_at DESC, i.id DESC"
                                     : " ORDER BY i.first_at, i.id",
                     f->limit > 0 ? " LIMIT :limit" : "");
        if (n < 0 || (size_t)n >= sizeof(sql) - used)
                return -E2BIG;
        if (sqlite3_prepare_v2(store_db(s), sql, -1, out, NULL) != SQLITE_OK)
                return store_error(s, "preparing the incident listing");
        if ((i = sqlite3_bind_parameter_index(*out, ":to")) > 0)
                sqlite3_bind_int64(*out, i, f->to_ms);
        if ((i = sqlite3_bind_parameter_index(*out, ":from")) > 0)
                sqlite3_bind_int64(*out, i, f->from_ms);
        if ((i = sqlite3_bind_parameter_index(*out, ":id")) > 0)
                sqlite3_bind_int64(*out, i, f->id);
        if ((i = sqlite3_bind_parameter_index(*out, ":unit")) > 0)
                sqlite3_bind_text(*out, i, f->unit, -1, SQLITE_STATIC);
        if ((i = sqlite3_bind_parameter_index(*out, ":floor")) > 0)
                sqlite3_bind_int(*out, i, f->floor);
        if ((i = sqlite3_bind_parameter_index(*out, ":detector")) > 0)
                sqlite3_bind_text(*out, i, f->detector, -1, SQLITE_STATIC);
        if ((i = sqlite3_bind_parameter_index(*out, ":cause")) > 0)
                sqlite3_bind_text(*out, i, f->cause, -1, SQLITE_STATIC);
        if ((i = sqlite3_bind_parameter_index(*out, ":kind")) > 0)
                sqlite3_bind_text(*out, i, f->kind, -1, SQLITE_STATIC);
        if ((i = sqlite3_bind_parameter_index(*out, ":state")) > 0)
                sqlite3_bind_text(*out, i, f->state, -1, SQLITE_STATIC);
        if ((i = sqlite3_bind_parameter_index(*out, ":limit")) > 0)
                sqlite3_bind_int64(*out, i, f->limit);
        return 0;
}

/* The timeline's three sources, with the same columns: the incident's events, the messages
 * about it in the outbox, and the platform's commands that named it. rank orders what happened
 * at one millisecond: the command, the decision it caused, the message that told the platform.
 * A payload's fields are read only when it is JSON (it always is; evidence that is not must
 * still be shown rather than fail the whole timeline). */
#define TIMELINE_EVENTS                                                                            \
        "SELECT e.at, 1 AS rank, e.id AS n, 'event' AS record, e.decision AS what, e.detector, "   \
        "e.place, e.who, CASE WHEN e.who IS NULL THEN NULL WHEN e.who LIKE 'platform:%' THEN "     \
        "'platform' ELSE 'local' END AS via, e.cause, e.rule, e.flags, e.fault, e.output, NULL "   \
        "AS topic, NULL AS seq, NULL AS message_id, NULL AS delivered_at, NULL AS request_id, "    \
        "NULL AS operator, NULL AS result, NULL AS reason FROM incident_event e WHERE "            \
        "e.incident = :id"
#define TIMELINE_UPLINK                                                                            \
        "SELECT o.created_at, 2, o.seq, 'uplink', coalesce(p.event, o.kind), NULL, p.place, "      \
        "p.actor, NULL, NULL, NULL, NULL, NULL, NULL, o.topic, coalesce(p.seq, o.seq), "           \
        "coalesce(p.id, o.id), o.delivered_at, NULL, NULL, NULL, NULL FROM outbox o LEFT JOIN "    \
        "(SELECT seq AS oseq, json_extract(payload, '$.event') AS event, json_extract(payload, "   \
        "'$.place') AS place, json_extract(payload, '$.by') AS actor, json_extract(payload, "      \
        "'$.seq') AS seq, json_extract(payload, '$.id') AS id FROM outbox WHERE incident = :id "   \
        "AND json_valid(payload)) p ON p.oseq = o.seq WHERE o.incident = :id"
#define TIMELINE_COMMANDS                                                                          \
        "SELECT c.at, 0, c.id, 'command', c.verb, NULL, c.target, 'platform:' || c.account, "      \
        "'platform', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c.request_id, "         \
        "c.operator, c.result, c.reason FROM command c WHERE c.incident = :id"

int incident_timeline(struct store *s, long long id, sqlite3_stmt **out)
{
        static const char sql[] =
                "SELECT :id AS incident, at, record, what, detector, place, who, via, cause, rule, "
                "flags, fault, output, topic, seq, message_id, delivered_at, request_id, "
                "operator, result, reason FROM (" TIMELINE_EVENTS " UNION ALL " TIMELINE_UPLINK
                " UNION ALL " TIMELINE_COMMANDS ") ORDER BY at, rank, n";

        if (sqlite3_prepare_v2(store_db(s), sql, -1, out, NULL) != SQLITE_OK)
                return store_error(s, "preparing the timeline of an incident");
        sqlite3_bind_int64(*out, sqlite3_bind_parameter_index(*out, ":id"), id);
        return 0;
}

int incident_last_event(struct store *s, long long *id)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(s), "SELECT coalesce(max(id), 0) FROM incident_event", -1,
                               &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                r = store_error(s, "reading the incident log");
        else
                *id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return r;
}

int incident_mark_false_alarm(struct store *s, long long after_event, const char *who,
                              long long *marked)
{
        static const char sql[] =
                "UPDATE incident SET false_alarm_by = :who, false_alarm_at = reset_at WHERE "
                "state = 'closed' AND kind IN ('alarm', 'pre_alarm') AND false_alarm_at IS NULL "
                "AND id IN (SELECT incident FROM incident_event WHERE id > :after AND decision = "
                "'reset')";
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (marked)
                *marked = 0;
        if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
                return store_error(s, "marking a false alarm");
        sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":who"), who, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":after"), after_event);
        if (sqlite3_step(st) != SQLITE_DONE)
                r = store_error(s, "marking a false alarm");
        else if (marked)
                *marked = sqlite3_changes(store_db(s));
        sqlite3_finalize(st);
        return r;
}
