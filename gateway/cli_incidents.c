/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_incidents: `firegate incidents`, the incident log as a table for people, or as JSON or CSV
 * (RFC 4180) for programs and for the fire police's spreadsheets. It opens the store read-only,
 * so it is safe beside the running daemon.
 *
 * The store keeps UTC milliseconds; this is the edge where people's times come in and go out.
 * A time given without an offset is local time as TZ says, and every time printed is local time
 * with its offset (ISO 8601), so a printed time means one instant wherever it is read. The table
 * for people shows the columns a desk needs to the second; JSON and CSV carry every column to
 * the millisecond.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "incident.h"
#include "log.h"

#define TIME_MAX 64 /* "2026-11-23T22:00:05.120+07:00" and the NUL, with room for odd years */

static const char *const kinds[] = {"alarm", "pre_alarm", "fault", NULL};
static const char *const states[] = {"open", "acknowledged", "silenced", "closed", NULL};

/* The columns of the table for people; JSON and CSV have every column of incident_list(). */
static const char *const text_columns[] = {
        "id",       "kind",      "state",    "unit",      "floor",           "zone",
        "detector", "detectors", "first_at", "closed_at", "acknowledged_by", "fault",
        "cause",
};

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] incidents [OPTIONS]\n\n"
                "Lists incidents (alarms, pre-alarms and faults), oldest first.\n\n"
                "  --from TIME        only incidents still open at or closed after TIME\n"
                "  --to TIME          only incidents that began before TIME\n"
                "  --unit ID          only incidents with a detector in this unit\n"
                "  --floor N          only incidents with a detector on this floor\n"
                "  --kind KIND        alarm, pre_alarm or fault\n"
                "  --state STATE      open, acknowledged, silenced or closed\n"
                "  --json             print JSON (an array of objects, every column)\n"
                "  --csv              print CSV (RFC 4180, every column)\n"
                "  -h, --help         show this help\n\n"
                "TIME is ISO 8601: 2026-11-23T22:00:00+07:00, 2026-11-23T15:00:00Z, or without\n"
                "an offset in local time (TZ): 2026-11-23T22:00 or a date alone, 2026-11-23,\n"
                "which as --to means the end of that day. Times are printed in local time\n"
                "with their offset.\n");
}

static bool one_of(const char *s, const char *const *list)
{
        for (; *list; list++)
                if (strcmp(s, *list) == 0)
                        return true;
        return false;
}

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

/* Parses an ISO 8601 time into UTC ms. @end_of_day: a date alone means the end of that day (the
 * next midnight), as --to wants. Returns 0 or -EINVAL. */
static int parse_time(const char *s, bool end_of_day, int64_t *out)
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

/* UTC ms as local ISO 8601 with the offset: 2026-11-23T22:00:05.120+07:00 (@with_ms) or
 * 2026-11-23T22:00:05+07:00. */
static void format_time(int64_t ms, bool with_ms, char buf[TIME_MAX])
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
                /* Outside what the C library can show: the number itself, never a wrong date. */
                snprintf(buf, TIME_MAX, "%lld", (long long)ms);
                return;
        }
        if (with_ms)
                snprintf(fraction, sizeof(fraction), ".%03d", (int)(frac % 1000));
        off = labs(tm.tm_gmtoff);
        /* Offsets are under a day; the modulo only tells the compiler how wide they print. */
        snprintf(buf, TIME_MAX, "%s%s%c%02d:%02d", date, fraction, tm.tm_gmtoff < 0 ? '-' : '+',
                 (int)(off / 3600 % 100), (int)(off % 3600 / 60));
}

static bool is_time_column(const char *name)
{
        size_t n = strlen(name);

        return n > 3 && strcmp(name + n - 3, "_at") == 0;
}

/* The result column named @name, or -1. */
static int column_index(sqlite3_stmt *st, const char *name)
{
        for (int c = 0; c < sqlite3_column_count(st); c++)
                if (strcmp(sqlite3_column_name(st, c), name) == 0)
                        return c;
        return -1;
}

/* Which result columns are printed, in order: the table for people's own, else all. */
static size_t pick_columns(sqlite3_stmt *st, enum table_format fmt, int *cols, size_t max)
{
        size_t n = 0;

        if (fmt != TABLE_TEXT) {
                for (int c = 0; c < sqlite3_column_count(st) && n < max; c++)
                        cols[n++] = c;
                return n;
        }
        for (size_t k = 0; k < sizeof(text_columns) / sizeof(text_columns[0]) && n < max; k++) {
                int c = column_index(st, text_columns[k]);

                if (c >= 0)
                        cols[n++] = c;
        }
        return n;
}

static int add_cell(struct table *t, sqlite3_stmt *st, int col, bool with_ms)
{
        char when[TIME_MAX];

        switch (sqlite3_column_type(st, col)) {
        case SQLITE_NULL:
                return table_text(t, NULL);
        case SQLITE_INTEGER:
                if (!is_time_column(sqlite3_column_name(st, col)))
                        return table_int(t, sqlite3_column_int64(st, col));
                format_time(sqlite3_column_int64(st, col), with_ms, when);
                return table_text(t, when);
        default:
                return table_text(t, (const char *)sqlite3_column_text(st, col));
        }
}

/* Prints the listing; times become local ISO 8601. Returns an exit code. */
static int print_incidents(struct store *s, sqlite3_stmt *st, enum table_format fmt)
{
        int cols[64], rc, r = 0, ret = CLI_EXIT_OK;
        const char *names[64];
        size_t n = pick_columns(st, fmt, cols, sizeof(cols) / sizeof(cols[0]));
        struct table *t;

        for (size_t c = 0; c < n; c++)
                names[c] = sqlite3_column_name(st, cols[c]);
        t = table_new(n, names);
        if (!t) {
                log_error("out of memory");
                return CLI_EXIT_FAILURE;
        }
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = table_row(t);
                for (size_t c = 0; r == 0 && c < n; c++)
                        r = add_cell(t, st, cols[c], fmt != TABLE_TEXT);
        }
        if (r < 0) {
                log_error_errno(r, "listing incidents");
                ret = CLI_EXIT_FAILURE;
        } else if (rc != SQLITE_DONE) {
                store_error(s, "listing incidents");
                ret = CLI_EXIT_FAILURE;
        } else if (table_print(t, fmt, stdout) < 0) {
                log_error("cannot write the listing to standard output");
                ret = CLI_EXIT_FAILURE;
        }
        table_free(t);
        return ret;
}

static int parse_floor(const char *s, int *floor)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < -20 || v > 200 || v == 0)
                return cli_usage_error("incidents",
                                       "--floor expects a floor number (-20..200, not 0), not '%s'",
                                       s);
        *floor = (int)v;
        return CLI_EXIT_OK;
}

/* Returns an exit code; *@help is set when --help was given (and printed). */
static int parse_options(int argc, char **argv, struct incident_filter *f, enum table_format *fmt,
                         bool *help)
{
        static const struct option options[] = {
                {"from", required_argument, NULL, 'F'}, {"to", required_argument, NULL, 'T'},
                {"unit", required_argument, NULL, 'u'}, {"floor", required_argument, NULL, 'f'},
                {"kind", required_argument, NULL, 'k'}, {"state", required_argument, NULL, 's'},
                {"json", no_argument, NULL, 'j'},       {"csv", no_argument, NULL, 'C'},
                {"help", no_argument, NULL, 'h'},       {0},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'F':
                case 'T':
                        if (parse_time(optarg, c == 'T', c == 'F' ? &f->from_ms : &f->to_ms) < 0)
                                return cli_usage_error("incidents",
                                                       "%s expects an ISO 8601 time such as "
                                                       "2026-11-23T22:00:00+07:00 or a date, not "
                                                       "'%s'",
                                                       c == 'F' ? "--from" : "--to", optarg);
                        *(c == 'F' ? &f->have_from : &f->have_to) = true;
                        break;
                case 'u':
                        f->unit = optarg;
                        break;
                case 'f':
                        r = parse_floor(optarg, &f->floor);
                        if (r != CLI_EXIT_OK)
                                return r;
                        f->have_floor = true;
                        break;
                case 'k':
                        if (!one_of(optarg, kinds))
                                return cli_usage_error("incidents",
                                                       "--kind must be alarm, pre_alarm or fault");
                        f->kind = optarg;
                        break;
                case 's':
                        if (!one_of(optarg, states))
                                return cli_usage_error("incidents", "--state must be open, "
                                                                    "acknowledged, silenced or "
                                                                    "closed");
                        f->state = optarg;
                        break;
                case 'j':
                case 'C':
                        if (*fmt != TABLE_TEXT)
                                return cli_usage_error("incidents", "give --json or --csv, not "
                                                                    "both");
                        *fmt = c == 'j' ? TABLE_JSON : TABLE_CSV;
                        break;
                case 'h':
                        usage(stdout);
                        *help = true;
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("incidents", "unknown option or missing argument");
                }
        }
        if (optind < argc)
                return cli_unexpected("incidents", optind);
        if (f->have_from && f->have_to && f->from_ms >= f->to_ms)
                return cli_usage_error("incidents", "--from must be before --to");
        return CLI_EXIT_OK;
}

int cmd_incidents(struct cli *cli, int argc, char **argv)
{
        struct incident_filter f = {0};
        enum table_format fmt = TABLE_TEXT;
        struct store *s = NULL;
        sqlite3_stmt *st = NULL;
        bool help = false;
        int r;

        /* localtime_r() need not read TZ itself (POSIX); tzset() does. */
        tzset();
        r = parse_options(argc, argv, &f, &fmt, &help);
        if (r != CLI_EXIT_OK || help)
                return r;
        r = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (r != CLI_EXIT_OK)
                return r;
        if (incident_list(s, &f, &st) < 0) {
                r = CLI_EXIT_FAILURE;
                goto out_close;
        }
        r = print_incidents(s, st, fmt);
        sqlite3_finalize(st);
out_close:
        store_free(s);
        return r;
}
