/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report: times at the edge and the figures of a period.
 *
 * Times: parsing and printing go through the C library's mktime() and localtime_r(), which
 * follow TZ; report_use_zone() sets it, after checking the name against the installed zone
 * files, since glibc quietly takes a zone it cannot find for UTC and would shift every time.
 *
 * Figures: one statement per grouping, built from fixed fragments (every value is bound). Each
 * incident is counted once, in the group of its first detector (incident.unit and .floor), so
 * the rows add up to the total; the groups are every registry unit or floor plus those only
 * incidents name, so a quiet unit shows its zeros. The period's incidents and the registry's
 * detectors are each read once (MATERIALIZED), though the groups and the figures both use them.
 * The fault columns follow the engine's list of fault kinds, so a new kind gets its column
 * without an edit here.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"

#define ZONEINFO_DIR    "/usr/share/zoneinfo"
#define FIGURES_SQL_MAX 8192

/* --- time zones --- */

/* A zone's file starts with "TZif" (RFC 8536). */
static bool is_zone_file(const char *dir, const char *zone)
{
        char path[512], magic[4];
        int fd, n;
        ssize_t got;

        n = snprintf(path, sizeof(path), "%s/%s", dir, zone);
        if (n < 0 || (size_t)n >= sizeof(path))
                return false;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        got = read(fd, magic, sizeof(magic));
        close(fd);
        return got == (ssize_t)sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

int report_use_zone(const char *zone)
{
        const char *dir = getenv("TZDIR");

        if (!zone) {
                /* localtime_r() need not read TZ itself (POSIX); tzset() does. */
                tzset();
                return 0;
        }
        /* A name, not a path: letters, digits, "/", "_", "+", "-", no ".." and no leading "/". */
        if (!zone[0] || zone[0] == '/' || strstr(zone, "..") ||
            strspn(zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") !=
                    strlen(zone))
                return -EINVAL;
        if (!is_zone_file(dir && *dir ? dir : ZONEINFO_DIR, zone))
                return -EINVAL;
        /* The process's zone is what mktime() and localtime_r() read: a command line tool sets
         * it once, before it reads or prints a time. */
        if (setenv("TZ", zone, 1) < 0)
                return -errno;
        tzset();
        return 0;
}

/* --- reading times --- */

/* Reads exactly @n digits. */
static bool digits(const char **p, int n, int *out)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if ((*p)[i] < '0' || (*p)[i] > '9')
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *out = v;
        return true;
}

static int days_in_month(int year, int month)
{
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

        return month == 2 && leap ? 29 : days[month - 1];
}

/* The clock part after the date: hh:mm[:ss[.fff]]; the fraction is read to the millisecond. */
static bool parse_clock(const char **p, struct tm *tm, int *ms)
{
        int scale = 100;

        if (!digits(p, 2, &tm->tm_hour) || *(*p)++ != ':' || !digits(p, 2, &tm->tm_min))
                return false;
        if (**p == ':' && (++*p, !digits(p, 2, &tm->tm_sec)))
                return false;
        if (**p != '.' && **p != ',')
                return true;
        ++*p;
        if (**p < '0' || **p > '9')
                return false;
        for (; **p >= '0' && **p <= '9'; ++*p, scale /= 10)
                *ms += (**p - '0') * scale;
        return true;
}

/* The offset after a time: Z, +hh, +hhmm or +hh:mm (or -). Returns false for anything else. */
static bool parse_offset(const char **p, long *off)
{
        int sign, hours, minutes = 0;
        bool colon;

        if (**p == 'Z' || **p == 'z') {
                ++*p;
                *off = 0;
                return true;
        }
        if (**p != '+' && **p != '-')
                return false;
        sign = *(*p)++ == '-' ? -1 : 1;
        if (!digits(p, 2, &hours))
                return false;
        colon = **p == ':';
        if (colon)
                ++*p;
        /* "+07" alone is whole hours; after a colon the minutes must follow. */
        if ((colon || **p != '\0') && !digits(p, 2, &minutes))
                return false;
        *off = sign * (hours * 3600L + minutes * 60L);
        return hours <= 23 && minutes <= 59;
}

int report_parse_time(const char *s, bool end_of_day, int64_t *out)
{
        struct tm tm = {.tm_isdst = -1};
        const char *p = s;
        int year, month, ms = 0;
        bool date_only, has_offset = false;
        long off = 0;
        time_t t;

        if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &month) || *p++ != '-' ||
            !digits(&p, 2, &tm.tm_mday) || year < 1970 || month < 1 || month > 12 ||
            tm.tm_mday < 1 || tm.tm_mday > days_in_month(year, month))
                return -EINVAL;
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        date_only = *p == '\0';
        if (!date_only && ((*p != 'T' && *p != ' ') || (++p, !parse_clock(&p, &tm, &ms))))
                return -EINVAL;
        if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
                return -EINVAL;
        if (!date_only && *p != '\0') {
                if (!parse_offset(&p, &off))
                        return -EINVAL;
                has_offset = true;
        }
        if (*p != '\0')
                return -EINVAL;
        if (date_only && end_of_day)
                tm.tm_mday++; /* mktime() carries it into the next month or year */
        if (has_offset) {
                t = timegm(&tm);
                if (t == (time_t)-1)
                        return -EINVAL;
                t -= off;
        } else {
                errno = 0;
                t = mktime(&tm);
                if (t == (time_t)-1 && errno)
                        return -EINVAL;
        }
        *out = (int64_t)t * 1000 + ms;
        return 0;
}

/* --- printing times --- */

void report_format_time(int64_t ms, bool with_ms, char buf[REPORT_TIME_MAX])
{
        int64_t sec = ms / 1000, frac = ms % 1000;
        char date[32], fraction[8] = "";
        time_t t;
        struct tm tm;
        long off;

        if (frac < 0) {
                frac += 1000;
                sec--;
        }
        t = (time_t)sec;
        if (!localtime_r(&t, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
                snprintf(buf, REPORT_TIME_MAX, "%lld", (long long)ms);
                return;
        }
        if (with_ms)
                snprintf(fraction, sizeof(fraction), ".%03d", (int)(frac % 1000));
        off = labs(tm.tm_gmtoff);
        /* Offsets are under a day; the modulo only tells the compiler how wide they print. */
        snprintf(buf, REPORT_TIME_MAX, "%s%s%c%02d:%02d", date, fraction,
                 tm.tm_gmtoff < 0 ? '-' : '+', (int)(off / 3600 % 100), (int)(off % 3600 / 60));
}

bool report_is_time_column(const char *name)
{
        size_t n = strlen(name);

        return strcmp(name, "at") == 0 || (n > 3 && strcmp(name + n - 3, "_at") == 0);
}

int report_add_cell(struct table *t, sqlite3_stmt *st, int col, bool with_ms)
{
        char when[REPORT_TIME_MAX];

        switch (sqlite3_column_type(st, col)) {
        case SQLITE_NULL:
                return table_text(t, NULL);
        case SQLITE_INTEGER:
                if (!report_is_time_column(sqlite3_column_name(st, col)))
                        return table_int(t, sqlite3_column_int64(st, col));
                report_format_time(sqlite3_column_int64(st, col), with_ms, when);
                return table_text(t, when);
        default:
                return table_text(t, (const char *)sqlite3_column_text(st, col));
        }
}

json_t *report_row_json(sqlite3_stmt *st)
{
        json_t *row = json_object();
        char when[REPORT_TIME_MAX];

        for (int c = 0; row && c < sqlite3_column_count(st); c++) {
                const char *name = sqlite3_column_name(st, c);
                json_t *v;

                switch (sqlite3_column_type(st, c)) {
                case SQLITE_NULL:
                        v = json_null();
                        break;
                case SQLITE_INTEGER:
                        if (report_is_time_column(name)) {
                                report_format_time(sqlite3_column_int64(st, c), true, when);
                                v = json_string(when);
                        } else {
                                v = json_integer(sqlite3_column_int64(st, c));
                        }
                        break;
                default:
                        v = json_string((const char *)sqlite3_column_text(st, c));
                        break;
                }
                if (!v || json_object_set_new(row, name, v) < 0) {
                        json_decref(row);
                        row = NULL;
                }
        }
        return row;
}

/* --- figures --- */

struct sql_buf {
        char text[FIGURES_SQL_MAX];
        size_t used;
        bool overflow;
};

static void add_sql(struct sql_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_sql(struct sql_buf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (b->overflow)
                return;
        va_start(ap, fmt);
        n = vsnprintf(b->text + b->used, sizeof(b->text) - b->used, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(b->text) - b->used)
                b->overflow = true;
        else
                b->used += (size_t)n;
}

/* The parts of the statement that depend on the grouping. */
struct grouping {
        const char *incident_key; /* an incident's group, from incident i */
        const char *detector_key; /* a registry detector's group, from detector d, unit u */
        const char *registry_keys;
        const char *columns; /* the group's own columns, from keys */
        const char *order;
};

static const struct grouping groupings[] = {
        [REPORT_BY_NONE] = {"NULL", "NULL", NULL, NULL, ""},
        [REPORT_BY_UNIT] =
                {"i.unit", "d.unit", "SELECT address_id AS k FROM unit",
                 "keys.k AS unit, (SELECT number FROM unit WHERE address_id = keys.k) "
                 "AS number, CASE WHEN keys.k IS NOT NULL THEN coalesce((SELECT floor FROM unit "
                 "WHERE address_id = keys.k), ia.floor) END AS floor",
                 " ORDER BY unit IS NULL, floor, number, unit"},
        [REPORT_BY_FLOOR] = {"i.floor", "coalesce(d.floor, u.floor)", "SELECT floor AS k FROM unit",
                             "keys.k AS floor", " ORDER BY floor IS NULL, floor"},
};

/* Alarms count from when they became alarms (a promoted pre-alarm is an alarm of the period it
 * became one in); pre-alarms and faults from when they began. */
#define IN_PERIOD                                                                                  \
        "(i.kind = 'alarm' AND i.alarm_at >= :from AND i.alarm_at < :to) OR (i.kind <> 'alarm' "   \
        "AND i.first_at >= :from AND i.first_at < :to)"

#define NEVER_TESTED                                                                               \
        "NOT EXISTS (SELECT 1 FROM engine_event e WHERE e.detector = d.detector_id AND "           \
        "e.decision = 'test' AND e.at >= :from AND e.at < :to)"

#define ACK_MS "CASE WHEN kind = 'alarm' THEN acknowledged_at - alarm_at END"

static void build_figures_sql(struct sql_buf *b, const struct grouping *g)
{
        add_sql(b,
                "WITH inc AS MATERIALIZED (SELECT %s AS k, i.kind, i.fault, i.alarm_at, "
                "i.acknowledged_at, "
                "i.false_alarm_at, i.floor FROM incident i WHERE " IN_PERIOD "), "
                "det AS MATERIALIZED (SELECT %s AS k, " NEVER_TESTED
                " AS never FROM detector d LEFT JOIN unit "
                "u ON u.address_id = d.unit), ",
                g->incident_key, g->detector_key);
        if (g->registry_keys)
                add_sql(b, "keys AS (%s UNION SELECT k FROM inc UNION SELECT k FROM det), ",
                        g->registry_keys);
        else
                add_sql(b, "keys AS (SELECT NULL AS k), ");
        add_sql(b, "ia AS (SELECT k, max(floor) AS floor, sum(kind = 'alarm') AS alarms, sum(kind "
                   "= 'alarm' AND "
                   "false_alarm_at IS NOT NULL) AS false_alarms, sum(kind = 'pre_alarm') AS "
                   "pre_alarms, sum(kind = 'fault') AS faults");
        for (int f = ENGINE_FAULT_NONE + 1; f < ENGINE_FAULT_COUNT; f++)
                add_sql(b, ", sum(kind = 'fault' AND fault = '%1$s') AS faults_%1$s",
                        engine_fault_name((enum engine_fault)f));
        add_sql(b, ", sum(kind = 'fault' AND fault NOT IN (''");
        for (int f = ENGINE_FAULT_NONE + 1; f < ENGINE_FAULT_COUNT; f++)
                add_sql(b, ", '%s'", engine_fault_name((enum engine_fault)f));
        add_sql(b, ")) AS faults_other, count(" ACK_MS ") AS acknowledged, CAST(round(avg(" ACK_MS
                   ") / 1000.0) AS INTEGER) AS ack_mean_s, CAST(round(max(" ACK_MS
                   ") / 1000.0) AS INTEGER) AS ack_worst_s FROM inc GROUP BY k), "
                   "da AS (SELECT k, count(*) AS detectors, sum(never) AS never_tested FROM det "
                   "GROUP BY k) SELECT ");
        if (g->columns)
                add_sql(b, "%s, ", g->columns);
        add_sql(b, "coalesce(ia.alarms, 0) AS alarms, coalesce(ia.false_alarms, 0) AS "
                   "false_alarms, coalesce(ia.pre_alarms, 0) AS pre_alarms, coalesce(ia.faults, "
                   "0) AS faults");
        for (int f = ENGINE_FAULT_NONE + 1; f < ENGINE_FAULT_COUNT; f++)
                add_sql(b, ", coalesce(ia.faults_%1$s, 0) AS faults_%1$s",
                        engine_fault_name((enum engine_fault)f));
        add_sql(b, ", coalesce(ia.faults_other, 0) AS faults_other, coalesce(ia.acknowledged, 0) "
                   "AS acknowledged, ia.ack_mean_s, ia.ack_worst_s, coalesce(da.detectors, 0) AS "
                   "detectors, coalesce(da.never_tested, 0) AS never_tested FROM keys LEFT JOIN "
                   "ia ON ia.k IS keys.k LEFT JOIN da ON da.k IS keys.k");
        add_sql(b, "%s", g->order);
}

static void bind_period(sqlite3_stmt *st, int64_t from_ms, int64_t to_ms)
{
        int i;

        if ((i = sqlite3_bind_parameter_index(st, ":from")) > 0)
                sqlite3_bind_int64(st, i, from_ms);
        if ((i = sqlite3_bind_parameter_index(st, ":to")) > 0)
                sqlite3_bind_int64(st, i, to_ms);
}

int report_figures(struct store *s, int64_t from_ms, int64_t to_ms, enum report_by by,
                   sqlite3_stmt **out)
{
        struct sql_buf *b;
        int r = 0;

        *out = NULL;
        if ((size_t)by >= sizeof(groupings) / sizeof(groupings[0]))
                return -EINVAL;
        /* Kept off the stack: a statement of a few KiB. */
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        build_figures_sql(b, &groupings[by]);
        if (b->overflow) {
                r = -E2BIG;
                goto out_free;
        }
        if (sqlite3_prepare_v2(store_db(s), b->text, -1, out, NULL) != SQLITE_OK) {
                r = store_error(s, "preparing the report");
                goto out_free;
        }
        bind_period(*out, from_ms, to_ms);
out_free:
        free(b);
        return r;
}

int report_never_tested(struct store *s, int64_t from_ms, int64_t to_ms, sqlite3_stmt **out)
{
        static const char sql[] =
                "SELECT d.detector_id AS detector, d.unit, coalesce(d.floor, u.floor) AS floor, "
                "d.zone FROM detector d LEFT JOIN unit u ON u.address_id = d.unit "
                "WHERE " NEVER_TESTED " ORDER BY floor, d.unit IS NULL, d.unit, d.detector_id";

        *out = NULL;
        if (sqlite3_prepare_v2(store_db(s), sql, -1, out, NULL) != SQLITE_OK)
                return store_error(s, "preparing the list of detectors never tested");
        bind_period(*out, from_ms, to_ms);
        return 0;
}
