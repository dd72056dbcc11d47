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

/* What a listing selects; a field left NULL (or its have_ flag false) is not applied. */
struct incident_filter {
        int64_t from_ms; /* incidents still open at or closed after this time */
        int64_t to_ms;   /* incidents that began before this time */
        bool have_from, have_to;
        const char *unit; /* an incident with a detector in this unit */
        int floor;        /* an incident with a detector on this floor */
        bool have_floor;
        const char *kind;  /* alarm, pre_alarm or fault */
        const char *state; /* open, acknowledged, silenced or closed */
};

/* Prepares the listing of incidents matching @f (NULL: all), oldest first. Its columns, whose
 * names are those shown to people and in JSON: id, kind, state, unit, floor, zone, place,
 * detector, detectors (how many), cause, rule, flags, fault, first_at, alarm_at, last_at,
 * acknowledged_by, acknowledged_at, silenced_by, silenced_at, reset_by, reset_at, closed_at,
 * events (how many); times are UTC ms (integers) or NULL. The caller steps and finalizes it.
 * Returns 0 or a negative errno. */
int incident_list(struct store *s, const struct incident_filter *f, sqlite3_stmt **out);

#endif
