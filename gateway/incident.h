/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * incident: turns the rules engine's decisions into the incident log (schema/002_incidents.sql)
 * and reads it back: for listings, and for the daemon to put open alarms back into the engine
 * after a restart.
 *
 * Every decision is recorded: as an event on each incident it opens, extends or changes, or,
 * when it touches none, as an engine_event. Alarms and pre-alarms are grouped by place (the
 * detector's unit, else its installer zone, floor or the building); faults per detector and
 * fault kind. An alarm in a place with an open pre-alarm incident promotes that incident to an
 * alarm, so one fire keeps one incident and one timeline. docs/incidents.md has the whole
 * mapping.
 *
 * Times are UTC milliseconds. The engine's own clock is monotonic, so the caller passes the
 * real-time clock read with each decision; the start of an episode is placed at that time minus
 * the engine's own interval (time - first_detection).
 */
#ifndef FIREGATE_INCIDENT_H
#define FIREGATE_INCIDENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "engine.h"
#include "store.h"

/* Records decision @d, taken when the real-time clock read @wall_ms (UTC ms). All of its rows are
 * written or none (a savepoint); the daemon calls it inside store_begin() .. store_commit() so
 * the incident is committed before anyone else learns of it. *@incident_id (may be NULL) is the
 * incident the decision opened or extended, the lowest id when a zone-wide decision touched
 * several, or 0 when it touched none (it is then an engine_event). Returns 0 or a negative errno
 * (the store has logged the SQLite message). */
int incident_record(struct store *s, const struct engine_decision *d, int64_t wall_ms,
                    long long *incident_id);

/* Calls @fn for every detector in alarm in an open alarm incident, oldest first: its id, when its
 * part in the incident began (UTC ms) and whether its alarm was acknowledged and silenced, which
 * is what engine_restore_alarm() takes. @fn returns 0 to go on or a negative errno, which stops
 * the walk and is returned. Returns 0 or a negative errno. */
int incident_open_alarms(struct store *s,
                         int (*fn)(void *ctx, const char *detector, int64_t first_at, bool acked,
                                   bool silenced),
                         void *ctx);

/* What a listing selects; a field left NULL (or its have_ flag false, or 0) is not applied. */
struct incident_filter {
        int64_t from_ms; /* incidents still open at or closed after this time */
        int64_t to_ms;   /* incidents that began before this time */
        bool have_from, have_to;
        long long id;     /* this incident alone */
        const char *unit; /* an incident with a detector in this unit */
        int floor;        /* an incident with a detector on this floor */
        bool have_floor;
        const char *detector; /* an incident this detector took part in */
        const char *cause;    /* its cause holds this text, ignoring the case of A-Z */
        const char *kind;     /* alarm, pre_alarm or fault */
        const char *state;    /* open, acknowledged, silenced or closed */
        bool newest_first;    /* the newest first instead of the oldest */
        long long limit;      /* at most this many rows; 0: all */
};

/* Prepares the listing of incidents matching @f (NULL: all), oldest first unless it says. Its
 * columns, whose names are those shown to people and in JSON: id, kind, state, unit, floor, zone,
 * place, detector, detectors (how many), cause, rule, flags, fault, first_at, alarm_at, last_at,
 * acknowledged_by, acknowledged_at, silenced_by, silenced_at, reset_by, reset_at, closed_at,
 * false_alarm_by, false_alarm_at, events (how many); times are UTC ms (integers) or NULL. The
 * caller steps and finalizes it. Returns 0 or a negative errno. */
int incident_list(struct store *s, const struct incident_filter *f, sqlite3_stmt **out);

/* Prepares the timeline of incident @id, in the order things happened (by time; at one time a
 * platform's command before the decision it caused, and that before the message telling the
 * platform): every event of the incident (record "event": the decision in what, its detector,
 * place, who, cause, rule, flags, fault, output), every message about it in the outbox (record
 * "uplink": the alert's event or the message's kind in what, topic, seq and message_id as the
 * payload carries them, created at at, delivered_at when its PUBACK came), and every command
 * of the platform that named it (record "command": the verb in what, target in place,
 * "platform:ACCOUNT" in who, request_id, operator, result, reason). via says where an action
 * came from: "local" (the control socket) or "platform". Columns: incident, at, record, what,
 * detector, place, who, via, cause, rule, flags, fault, output, topic, seq, message_id,
 * delivered_at, request_id, operator, result, reason; times are UTC ms. The caller steps and
 * finalizes it. Returns 0 or a negative errno (the store has said the SQLite error). */
int incident_timeline(struct store *s, long long id, sqlite3_stmt **out);

/* Marks the incidents that the reset decisions recorded after event @after_event closed as
 * false alarms, by @who at the reset's time (false_alarm_by, false_alarm_at); an incident the
 * reset left open (a detector elsewhere still in alarm) is not marked. One statement, so all
 * or none are marked. *@marked (may be NULL) gets how many. Returns 0 or a negative errno (the
 * store has said the SQLite error). */
int incident_mark_false_alarm(struct store *s, long long after_event, const char *who,
                              long long *marked);

/* The id of the latest incident event, 0 when there is none: what incident_mark_false_alarm()
 * takes, read before the reset. Returns 0 or a negative errno (said by the store). */
int incident_last_event(struct store *s, long long *id);

#endif
