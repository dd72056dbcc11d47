/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report: the incident log read back for people (docs/reports.md): the figures fire police and
 * managers ask for over a period (alarms, false alarms, faults by kind, time to acknowledge,
 * detectors never tested), per unit or floor; and what the query commands share at the edge
 * where people's times come in and go out.
 *
 * The store keeps UTC milliseconds. People give and read ISO 8601 times in a time zone: a time
 * given without an offset is read in the process's zone (TZ, or the system's), and every time
 * printed carries its offset, so it names one instant wherever it is read.
 */
#ifndef FIREGATE_REPORT_H
#define FIREGATE_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "store.h"
#include "table.h"

/* "2026-11-23T22:00:05.120+07:00" and the NUL, with room for odd years. */
#define REPORT_TIME_MAX 64

/* Makes @zone, an IANA time zone name such as "Asia/Ho_Chi_Minh" or "UTC", the process's zone
 * for reading and printing times (it sets TZ); NULL keeps the system's (TZ, else
 * /etc/localtime). Returns 0, or -EINVAL for a name that is no zone installed on this system
 * (glibc would silently take it for UTC). */
int report_use_zone(const char *zone);

/* Parses ISO 8601 @s into UTC ms: a date, or a date and time ("T" or a space between them),
 * seconds and a fraction (to the millisecond) optional, with an offset (Z, +hh, +hhmm, +hh:mm)
 * or without one (then in the process's zone). @end_of_day: a date alone means the end of that
 * day (the next midnight), as an upper bound wants. Returns 0 or -EINVAL. */
int report_parse_time(const char *s, bool end_of_day, int64_t *out);

/* Formats UTC @ms in the process's zone with its offset: 2026-11-23T22:00:05.120+07:00
 * (@with_ms) or 2026-11-23T22:00:05+07:00. A time the C library cannot show is printed as the
 * number itself, never as a wrong date. */
void report_format_time(int64_t ms, bool with_ms, char buf[REPORT_TIME_MAX]);

/* Whether the result column @name holds a time (its name ends in "_at", or is "at"). */
bool report_is_time_column(const char *name);

/* Appends column @col of the current row of @st to @t: a time column as report_format_time()
 * (@with_ms), NULL as an empty cell, an integer as a number. Returns 0 or -ENOMEM. */
int report_add_cell(struct table *t, sqlite3_stmt *st, int col, bool with_ms);

/* The current row of @st as a JSON object keyed by the column names, times as
 * report_format_time() with milliseconds. Returns a new reference, or NULL when out of memory. */
json_t *report_row_json(sqlite3_stmt *st);

/* How the figures are grouped. */
enum report_by {
        REPORT_BY_NONE,  /* one row: the whole building */
        REPORT_BY_UNIT,  /* one row per unit (unit, number, floor), and one for no unit */
        REPORT_BY_FLOOR, /* one row per floor (column floor), and one for no floor */
};

/* Prepares the figures of [@from_ms, @to_ms) grouped by @by. Every incident is counted once,
 * in the unit and floor of its first detector; every registry unit and floor has a row, with
 * zeros when nothing happened there. Columns after the group's: alarms (alarm incidents that
 * became alarms in the period), false_alarms (of those, the ones reset as false), pre_alarms
 * (pre-alarm incidents that began in the period and never became alarms), faults, then
 * faults_<kind> for each of the engine's fault kinds and faults_other, acknowledged (alarms
 * acknowledged), ack_mean_s and ack_worst_s (alarm_at to acknowledged_at, seconds rounded to
 * the nearest; NULL when none was acknowledged), detectors (in the registry) and never_tested
 * (of those, the ones with no test decision in the period). The caller steps and finalizes it.
 * Returns 0 or a negative errno (the store has said the SQLite error). */
int report_figures(struct store *s, int64_t from_ms, int64_t to_ms, enum report_by by,
                   sqlite3_stmt **out);

/* Prepares the list of registry detectors with no test decision (an engine_event "test") in
 * [@from_ms, @to_ms), by floor, unit and id: columns detector, unit, floor, zone. The caller
 * steps and finalizes it. Returns 0 or a negative errno (said by the store). */
int report_never_tested(struct store *s, int64_t from_ms, int64_t to_ms, sqlite3_stmt **out);

#endif
