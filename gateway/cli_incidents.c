/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_incidents: `firegate incidents`, the incident log as a table for people, or as JSON or CSV
 * (RFC 4180) for programs and for the fire police's spreadsheets; and `firegate incident show
 * ID`, one incident's whole timeline: its decisions, the messages that told the platform with
 * their PUBACK times, and the platform's commands. Both open the store read-only, so they are
 * safe beside the running daemon.
 *
 * The store keeps UTC milliseconds; report.h reads and prints people's times. A time given
 * without an offset is read in the zone --tz names (else TZ, else the system's), and every time
 * printed is in that zone with its offset. The table for people shows the columns a desk needs
 * to the second; JSON and CSV carry every column to the millisecond.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "incident.h"
#include "log.h"
#include "report.h"

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
                "  --detector ID      only incidents this detector took part in\n"
                "  --cause TEXT       only incidents whose cause holds TEXT (any case)\n"
                "  --kind KIND        alarm, pre_alarm or fault\n"
                "  --state STATE      open, acknowledged, silenced or closed\n"
                "  --tz ZONE          read and print times in ZONE (an IANA name such as\n"
                "                     Asia/Ho_Chi_Minh; default: TZ, else the system's zone)\n"
                "  --json             print JSON (an array of objects, every column)\n"
                "  --csv              print CSV (RFC 4180, every column)\n"
                "  -h, --help         show this help\n\n"
                "TIME is ISO 8601: 2026-11-23T22:00:00+07:00, 2026-11-23T15:00:00Z, or without\n"
                "an offset in the chosen zone: 2026-11-23T22:00 or a date alone, 2026-11-23,\n"
                "which as --to means the end of that day. Times are printed in the chosen zone\n"
                "with their offset. `firegate incident show ID` gives one incident's timeline.\n"
                "\nExit status: 0 listed (possibly nothing), 1 the store could not be read,\n"
                "2 a wrong option or time.\n");
}

static void show_usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] incident show [OPTIONS] ID\n\n"
                "Shows incident ID (firegate incidents) and its whole timeline, in the order\n"
                "things happened: every decision recorded on it (with detector, cause, rule,\n"
                "flags and who acted), every message that told the city platform (its topic,\n"
                "sequence number, message id and when the platform's broker acknowledged it),\n"
                "and every command of the platform that named it (account, operator, request\n"
                "id, result).\n\n"
                "  --tz ZONE          print times in ZONE (an IANA name; default: TZ, else the\n"
                "                     system's zone)\n"
                "  --json             print JSON: {\"incident\": {...}, \"timeline\": [...]}\n"
                "  --csv              print the timeline as CSV (RFC 4180, every column)\n"
                "  -h, --help         show this help\n\n"
                "Exit status: 0 shown, 1 the store could not be read, 2 a wrong option,\n"
                "3 no such incident.\n");
}

static bool one_of(const char *s, const char *const *list)
{
        for (; *list; list++)
                if (strcmp(s, *list) == 0)
                        return true;
        return false;
}

/* --- the listing --- */

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
                int c = store_column_index(st, text_columns[k]);

                if (c >= 0)
                        cols[n++] = c;
        }
        return n;
}

/* Prints the listing; times become ISO 8601 in the chosen zone. Returns an exit code. */
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
                        r = report_add_cell(t, st, cols[c], fmt != TABLE_TEXT);
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

/* What the command line said, before the times are read in the zone it named. */
struct listing_args {
        const char *from, *to, *zone;
        struct incident_filter filter;
        enum table_format fmt;
        bool help;
};

static int set_format(const char *cmd, enum table_format *fmt, int c)
{
        if (*fmt != TABLE_TEXT)
                return cli_usage_error(cmd, "give --json or --csv, not both");
        *fmt = c == 'j' ? TABLE_JSON : TABLE_CSV;
        return CLI_EXIT_OK;
}

static int set_text(const char *cmd, const char *option, const char *value, const char **out)
{
        if (!value[0])
                return cli_usage_error(cmd, "%s expects a value", option);
        *out = value;
        return CLI_EXIT_OK;
}

/* Returns an exit code; a->help is set when --help was given (and printed). */
static int parse_listing_options(int argc, char **argv, struct listing_args *a)
{
        static const struct option options[] = {
                {"from", required_argument, NULL, 'F'},
                {"to", required_argument, NULL, 'T'},
                {"unit", required_argument, NULL, 'u'},
                {"floor", required_argument, NULL, 'f'},
                {"detector", required_argument, NULL, 'd'},
                {"cause", required_argument, NULL, 'c'},
                {"kind", required_argument, NULL, 'k'},
                {"state", required_argument, NULL, 's'},
                {"tz", required_argument, NULL, 'z'},
                {"json", no_argument, NULL, 'j'},
                {"csv", no_argument, NULL, 'C'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct incident_filter *f = &a->filter;
        int c, r = CLI_EXIT_OK;

        while (r == CLI_EXIT_OK && (c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'F':
                        a->from = optarg;
                        break;
                case 'T':
                        a->to = optarg;
                        break;
                case 'u':
                        r = set_text("incidents", "--unit", optarg, &f->unit);
                        break;
                case 'f':
                        r = parse_floor(optarg, &f->floor);
                        f->have_floor = true;
                        break;
                case 'd':
                        r = set_text("incidents", "--detector", optarg, &f->detector);
                        break;
                case 'c':
                        r = set_text("incidents", "--cause", optarg, &f->cause);
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
                case 'z':
                        a->zone = optarg;
                        break;
                case 'j':
                case 'C':
                        r = set_format("incidents", &a->fmt, c);
                        break;
                case 'h':
                        usage(stdout);
                        a->help = true;
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("incidents", "unknown option or missing argument");
                }
        }
        if (r != CLI_EXIT_OK)
                return r;
        if (optind < argc)
                return cli_unexpected("incidents", optind);
        return CLI_EXIT_OK;
}

/* Reads --from and --to in the chosen zone. Returns an exit code. */
static int read_range(const char *cmd, const char *from, const char *to, struct incident_filter *f)
{
        if (from && report_parse_time(from, false, &f->from_ms) < 0)
                return cli_usage_error(cmd,
                                       "--from expects an ISO 8601 time such as "
                                       "2026-11-23T22:00:00+07:00 or a date, not '%s'",
                                       from);
        if (to && report_parse_time(to, true, &f->to_ms) < 0)
                return cli_usage_error(cmd,
                                       "--to expects an ISO 8601 time such as "
                                       "2026-11-23T22:00:00+07:00 or a date, not '%s'",
                                       to);
        f->have_from = from != NULL;
        f->have_to = to != NULL;
        if (f->have_from && f->have_to && f->from_ms >= f->to_ms)
                return cli_usage_error(cmd, "--from must be before --to");
        return CLI_EXIT_OK;
}

int cmd_incidents(struct cli *cli, int argc, char **argv)
{
        struct listing_args a = {.fmt = TABLE_TEXT};
        struct store *s = NULL;
        sqlite3_stmt *st = NULL;
        int r;

        r = parse_listing_options(argc, argv, &a);
        if (r != CLI_EXIT_OK || a.help)
                return r;
        r = cli_use_zone("incidents", a.zone);
        if (r == CLI_EXIT_OK)
                r = read_range("incidents", a.from, a.to, &a.filter);
        if (r == CLI_EXIT_OK)
                r = cli_audit_argv(cli, "incidents", argc, argv);
        if (r != CLI_EXIT_OK)
                return r;
        r = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (r != CLI_EXIT_OK)
                return r;
        if (incident_list(s, &a.filter, &st) < 0) {
                r = CLI_EXIT_FAILURE;
                goto out_close;
        }
        r = print_incidents(s, st, a.fmt);
        sqlite3_finalize(st);
out_close:
        store_free(s);
        return r;
}

/* --- incident show --- */

/* Column @name of the current row as text, or NULL. */
static const char *text_of(sqlite3_stmt *st, const char *name)
{
        int c = store_column_index(st, name);

        return c < 0 ? NULL : (const char *)sqlite3_column_text(st, c);
}

static void add_part(char *buf, size_t size, size_t *used, const char *sep, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Appends @sep (when @buf holds something) and the formatted part; a part that does not fit is
 * cut, never overflowing. */
static void add_part(char *buf, size_t size, size_t *used, const char *sep, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (*used + 1 >= size)
                return;
        if (*used) {
                n = snprintf(buf + *used, size - *used, "%s", sep);
                *used = n < 0 ? *used : *used + (size_t)n < size ? *used + (size_t)n : size - 1;
        }
        va_start(ap, fmt);
        n = vsnprintf(buf + *used, size - *used, fmt, ap);
        va_end(ap);
        *used = n < 0 ? *used : *used + (size_t)n < size ? *used + (size_t)n : size - 1;
}

/* One line of detail for people: what the timeline row says beyond its time, kind and who. */
static void timeline_detail(sqlite3_stmt *st, char *buf, size_t size)
{
        const char *record = text_of(st, "record"), *v;
        char when[REPORT_TIME_MAX];
        size_t used = 0;
        int c;

        buf[0] = '\0';
        if (strcmp(record, "uplink") == 0) {
                add_part(buf, size, &used, "", "%s seq %s", text_of(st, "topic"),
                         text_of(st, "seq") ? text_of(st, "seq") : "?");
                c = store_column_index(st, "delivered_at");
                if (sqlite3_column_type(st, c) == SQLITE_NULL) {
                        add_part(buf, size, &used, ", ", "not yet delivered");
                } else {
                        report_format_time(sqlite3_column_int64(st, c), true, when);
                        add_part(buf, size, &used, ", ", "PUBACK %s", when);
                }
                return;
        }
        if (strcmp(record, "command") == 0) {
                add_part(buf, size, &used, "", "target %s", text_of(st, "place"));
                if ((v = text_of(st, "operator")))
                        add_part(buf, size, &used, ", ", "operator %s", v);
                if ((v = text_of(st, "request_id")))
                        add_part(buf, size, &used, ", ", "request %s", v);
                add_part(buf, size, &used, ": ", "%s", text_of(st, "result"));
                if ((v = text_of(st, "reason")))
                        add_part(buf, size, &used, " ", "(%s)", v);
                return;
        }
        if ((v = text_of(st, "cause")))
                add_part(buf, size, &used, "", "%s", v);
        if ((v = text_of(st, "rule")))
                add_part(buf, size, &used, "; ", "rule %s", v);
        if ((v = text_of(st, "fault")))
                add_part(buf, size, &used, "; ", "fault %s", v);
        if ((v = text_of(st, "output")))
                add_part(buf, size, &used, "; ", "output %s", v);
        if ((v = text_of(st, "flags")))
                add_part(buf, size, &used, "; ", "[%s]", v);
        if ((v = text_of(st, "place")))
                add_part(buf, size, &used, "; ", "in %s", v);
}

/* The incident's columns for people: one line each, those with a value. */
static int summary_table(sqlite3_stmt *inc, struct table **out)
{
        static const char *const names[] = {"field", "value"};
        struct table *t = table_new(2, names);
        int r = 0;

        *out = t;
        if (!t)
                return -ENOMEM;
        for (int c = 0; r == 0 && c < sqlite3_column_count(inc); c++) {
                if (sqlite3_column_type(inc, c) == SQLITE_NULL)
                        continue;
                r = table_row(t);
                if (r == 0)
                        r = table_text(t, sqlite3_column_name(inc, c));
                if (r == 0)
                        r = report_add_cell(t, inc, c, true);
        }
        return r;
}

static int timeline_text(sqlite3_stmt *st, struct table **out)
{
        static const char *const names[] = {"at", "record", "what", "detector", "who", "detail"};
        static const char *const shown[] = {"at", "record", "what", "detector", "who"};
        struct table *t = table_new(6, names);
        char detail[1024];
        int rc, r = 0;

        *out = t;
        if (!t)
                return -ENOMEM;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = table_row(t);
                for (size_t k = 0; r == 0 && k < sizeof(shown) / sizeof(shown[0]); k++)
                        r = report_add_cell(t, st, store_column_index(st, shown[k]), true);
                timeline_detail(st, detail, sizeof(detail));
                if (r == 0)
                        r = table_text(t, detail[0] ? detail : NULL);
        }
        return r < 0 ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

static int timeline_all(sqlite3_stmt *st, enum table_format fmt, struct table **table,
                        json_t **array)
{
        int rc, r = 0;

        if (fmt == TABLE_JSON) {
                *array = json_array();
                if (!*array)
                        return -ENOMEM;
                while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
                        if (json_array_append_new(*array, report_row_json(st)) < 0)
                                r = -ENOMEM;
                return r < 0 ? r : rc == SQLITE_DONE ? 0 : -EIO;
        }
        if (fmt == TABLE_TEXT)
                return timeline_text(st, table);
        *table = table_from_stmt(st);
        if (!*table)
                return -ENOMEM;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = table_row(*table);
                for (int c = 0; r == 0 && c < sqlite3_column_count(st); c++)
                        r = report_add_cell(*table, st, c, true);
        }
        return r < 0 ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

/* Writes what was gathered. Returns 0 or -EIO. */
static int print_show(long long id, sqlite3_stmt *inc, enum table_format fmt, struct table *tl,
                      json_t *timeline)
{
        struct table *summary = NULL;
        json_t *root;
        int r;

        if (fmt == TABLE_CSV)
                return table_print(tl, TABLE_CSV, stdout);
        if (fmt == TABLE_JSON) {
                root = json_pack("{s:o, s:O}", "incident", report_row_json(inc), "timeline",
                                 timeline);
                if (!root)
                        return -ENOMEM;
                r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ? -EIO : 0;
                fputc('\n', stdout);
                json_decref(root);
                return r < 0 || fflush(stdout) != 0 ? -EIO : 0;
        }
        r = summary_table(inc, &summary);
        printf("Incident %lld\n\n", id);
        if (r == 0)
                r = table_print(summary, TABLE_TEXT, stdout);
        if (r == 0) {
                printf("\nTimeline\n\n");
                r = table_print(tl, TABLE_TEXT, stdout);
        }
        table_free(summary);
        return r;
}

/* Shows incident @id. Returns an exit code. */
static int show(struct store *s, long long id, enum table_format fmt)
{
        struct incident_filter f = {.id = id};
        sqlite3_stmt *inc = NULL, *st = NULL;
        struct table *tl = NULL;
        json_t *timeline = NULL;
        int rc, r, ret = CLI_EXIT_FAILURE;

        if (incident_list(s, &f, &inc) < 0)
                return CLI_EXIT_FAILURE;
        rc = sqlite3_step(inc);
        if (rc == SQLITE_DONE) {
                log_error("no incident %lld (see firegate incidents)", id);
                ret = CLI_EXIT_REFUSED;
                goto out_finalize;
        }
        if (rc != SQLITE_ROW) {
                store_error(s, "reading an incident");
                goto out_finalize;
        }
        if (incident_timeline(s, id, &st) < 0)
                goto out_finalize;
        r = timeline_all(st, fmt, &tl, &timeline);
        if (r == -EIO) {
                store_error(s, "reading the timeline of an incident");
                goto out_free;
        }
        if (r < 0) {
                log_error_errno(r, "reading the timeline of an incident");
                goto out_free;
        }
        r = print_show(id, inc, fmt, tl, timeline);
        if (r < 0) {
                log_error_errno(r, "cannot write the incident to standard output");
                goto out_free;
        }
        ret = CLI_EXIT_OK;
out_free:
        json_decref(timeline);
        table_free(tl);
out_finalize:
        sqlite3_finalize(st);
        sqlite3_finalize(inc);
        return ret;
}

int cmd_incident(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"tz", required_argument, NULL, 'z'},
                {"json", no_argument, NULL, 'j'},
                {"csv", no_argument, NULL, 'C'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        enum table_format fmt = TABLE_TEXT;
        const char *zone = NULL;
        struct store *s = NULL;
        long long id;
        char *end;
        int c, r = CLI_EXIT_OK;

        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                show_usage(stdout);
                return CLI_EXIT_OK;
        }
        if (argc < 2 || strcmp(argv[1], "show") != 0)
                return cli_usage_error("incident", "expected: incident show ID");
        /* The options follow "show": its own argv starts there. */
        argc--;
        argv++;
        while (r == CLI_EXIT_OK && (c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'z':
                        zone = optarg;
                        break;
                case 'j':
                case 'C':
                        r = set_format("incident", &fmt, c);
                        break;
                case 'h':
                        show_usage(stdout);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("incident", "unknown option or missing argument");
                }
        }
        if (r != CLI_EXIT_OK)
                return r;
        if (optind + 1 != argc)
                return cli_usage_error("incident", "expected exactly one incident ID");
        errno = 0;
        id = strtoll(argv[optind], &end, 10);
        if (strspn(argv[optind], "0123456789") != strlen(argv[optind]) || errno ||
            end == argv[optind] || id <= 0)
                return cli_usage_error("incident", "an incident ID is a positive number");
        r = cli_use_zone("incident", zone);
        if (r == CLI_EXIT_OK)
                r = cli_audit_argv(cli, "incident-show", argc, argv);
        if (r != CLI_EXIT_OK)
                return r;
        r = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (r != CLI_EXIT_OK)
                return r;
        r = show(s, id, fmt);
        store_free(s);
        return r;
}
