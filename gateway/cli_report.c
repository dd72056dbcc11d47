/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_report: `firegate report --from --to`, the figures of a period for fire police and
 * managers (report.h, docs/reports.md): alarms, false alarms, pre-alarms, faults by kind, time
 * to acknowledge, detectors never tested; for the building, by unit or by floor. A table for
 * people, JSON, or CSV (RFC 4180) for spreadsheets. It opens the store read-only, so it is safe
 * beside the running daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "report.h"

/* The columns of the table for people: the group's, then these, with the faults by kind in one
 * column of words. JSON and CSV have every column of report_figures(). */
static const char *const text_figures[] = {
        "alarms",       "false_alarms", "pre_alarms",  "faults",    "fault_kinds",
        "acknowledged", "ack_mean_s",   "ack_worst_s", "detectors", "never_tested",
};

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] report --from TIME --to TIME [OPTIONS]\n\n"
                "The figures of the period [from, to): alarms, false alarms (reset with\n"
                "firegate reset --false-alarm), pre-alarms that never became alarms, faults by\n"
                "kind, mean and worst time to acknowledge an alarm (seconds, rounded), and the\n"
                "registry's detectors never tested in the period. An alarm counts in the period\n"
                "it became an alarm in; pre-alarms and faults in the one they began in; each in\n"
                "the unit and floor of its first detector, so the rows add up to the total.\n\n"
                "  --from TIME        start of the period (ISO 8601, or a date)\n"
                "  --to TIME          end of the period (a date alone: the end of that day)\n"
                "  --by unit|floor    one row per unit or floor, then the total\n"
                "  --never-tested     list the detectors never tested instead of the figures\n"
                "  --tz ZONE          read and print times in ZONE (an IANA name such as\n"
                "                     Asia/Ho_Chi_Minh; default: TZ, else the system's zone)\n"
                "  --json             print JSON (every column, with the never-tested list)\n"
                "  --csv              print CSV (RFC 4180, every column)\n"
                "  -h, --help         show this help\n\n"
                "Exit status: 0 reported, 1 the store could not be read, 2 a wrong option or\n"
                "time.\n");
}

struct report_args {
        const char *from, *to, *zone;
        int64_t from_ms, to_ms;
        enum report_by by;
        bool never_tested;
        enum table_format fmt;
        bool help;
};

/* Returns an exit code; a->help is set when --help was given (and printed). */
static int parse_options(int argc, char **argv, struct report_args *a)
{
        static const struct option options[] = {
                {"from", required_argument, NULL, 'F'},
                {"to", required_argument, NULL, 'T'},
                {"by", required_argument, NULL, 'b'},
                {"never-tested", no_argument, NULL, 'n'},
                {"tz", required_argument, NULL, 'z'},
                {"json", no_argument, NULL, 'j'},
                {"csv", no_argument, NULL, 'C'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'F':
                        a->from = optarg;
                        break;
                case 'T':
                        a->to = optarg;
                        break;
                case 'b':
                        if (strcmp(optarg, "unit") == 0)
                                a->by = REPORT_BY_UNIT;
                        else if (strcmp(optarg, "floor") == 0)
                                a->by = REPORT_BY_FLOOR;
                        else
                                return cli_usage_error("report", "--by must be unit or floor");
                        break;
                case 'n':
                        a->never_tested = true;
                        break;
                case 'z':
                        a->zone = optarg;
                        break;
                case 'j':
                case 'C':
                        if (a->fmt != TABLE_TEXT)
                                return cli_usage_error("report", "give --json or --csv, not both");
                        a->fmt = c == 'j' ? TABLE_JSON : TABLE_CSV;
                        break;
                case 'h':
                        usage(stdout);
                        a->help = true;
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("report", "unknown option or missing argument");
                }
        }
        if (optind < argc)
                return cli_unexpected("report", optind);
        if (!a->from || !a->to)
                return cli_usage_error("report", "give the period: --from TIME --to TIME");
        if (a->never_tested && a->by != REPORT_BY_NONE)
                return cli_usage_error("report", "--never-tested lists detectors; --by does not "
                                                 "apply");
        return CLI_EXIT_OK;
}

/* --tz, then the period in that zone. Returns an exit code. */
static int read_period(struct report_args *a)
{
        int r = cli_use_zone("report", a->zone);

        if (r != CLI_EXIT_OK)
                return r;
        if (report_parse_time(a->from, false, &a->from_ms) < 0)
                return cli_usage_error("report",
                                       "--from expects an ISO 8601 time such as "
                                       "2026-11-01T00:00:00+07:00 or a date, not '%s'",
                                       a->from);
        if (report_parse_time(a->to, true, &a->to_ms) < 0)
                return cli_usage_error("report",
                                       "--to expects an ISO 8601 time such as "
                                       "2026-12-01T00:00:00+07:00 or a date, not '%s'",
                                       a->to);
        if (a->from_ms >= a->to_ms)
                return cli_usage_error("report", "--from must be before --to");
        return CLI_EXIT_OK;
}

/* --- gathering --- */

/* The faults by kind in words, "silent 2, battery_low 1", or NULL when there were none. */
static const char *fault_kinds(sqlite3_stmt *st, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (int c = 0; c < sqlite3_column_count(st); c++) {
                const char *name = sqlite3_column_name(st, c);
                long long n = sqlite3_column_int64(st, c);
                int w;

                if (strncmp(name, "faults_", 7) != 0 || n == 0)
                        continue;
                w = snprintf(buf + used, size - used, "%s%s %lld", used ? ", " : "", name + 7, n);
                if (w < 0 || (size_t)w >= size - used)
                        break;
                used += (size_t)w;
        }
        return buf[0] ? buf : NULL;
}

/* A row of figures for people; @total names the total row in the group's first column. */
static int text_row(struct table *t, sqlite3_stmt *st, size_t group_cols, bool total)
{
        char kinds[256];
        int r = table_row(t);

        for (size_t c = 0; r == 0 && c < group_cols; c++)
                r = total ? table_text(t, c == 0 ? "total" : NULL)
                          : report_add_cell(t, st, (int)c, false);
        for (size_t k = 0; r == 0 && k < sizeof(text_figures) / sizeof(text_figures[0]); k++) {
                if (strcmp(text_figures[k], "fault_kinds") == 0)
                        r = table_text(t, fault_kinds(st, kinds, sizeof(kinds)));
                else
                        r = report_add_cell(t, st, store_column_index(st, text_figures[k]), false);
        }
        return r;
}

/* The figures' rows into @t (a table with the statement's columns, or the text columns); the
 * total row is added by the caller. Returns 0, -ENOMEM, or -EIO for a failed step. */
static int add_rows(struct table *t, sqlite3_stmt *st, enum table_format fmt, size_t group_cols,
                    bool total, json_t *array)
{
        int rc, r = 0;

        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (array) {
                        if (json_array_append_new(array, report_row_json(st)) < 0)
                                r = -ENOMEM;
                } else if (fmt == TABLE_TEXT) {
                        r = text_row(t, st, group_cols, total);
                } else {
                        /* The total's statement has no group columns: they are filled here. */
                        r = table_row(t);
                        for (size_t c = 0; r == 0 && total && c < group_cols; c++)
                                r = table_text(t, c == 0 ? "total" : NULL);
                        for (int c = 0; r == 0 && c < sqlite3_column_count(st); c++)
                                r = report_add_cell(t, st, c, false);
                }
        }
        return r < 0 ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

/* The table's columns: the group's and the text figures for people, every column else. */
static struct table *new_table(sqlite3_stmt *groups, enum table_format fmt, size_t group_cols)
{
        const char *names[64];
        size_t n = 0;

        if (fmt != TABLE_TEXT)
                return table_from_stmt(groups);
        for (size_t c = 0; c < group_cols; c++)
                names[n++] = sqlite3_column_name(groups, (int)c);
        for (size_t k = 0; k < sizeof(text_figures) / sizeof(text_figures[0]); k++)
                names[n++] = text_figures[k];
        return table_new(n, names);
}

struct gathered {
        struct table *figures, *untested;
        json_t *groups, *total, *never;
        size_t n_untested, n_detectors;
};

static void gathered_free(struct gathered *g)
{
        table_free(g->figures);
        table_free(g->untested);
        json_decref(g->groups);
        json_decref(g->total);
        json_decref(g->never);
}

/* The figures by group and in total. Returns 0 or a negative errno; a store's failure is said,
 * -ENOMEM is not. */
static int gather_figures(struct store *s, const struct report_args *a, struct gathered *g)
{
        sqlite3_stmt *groups = NULL, *total = NULL;
        size_t group_cols = a->by == REPORT_BY_UNIT ? 3 : a->by == REPORT_BY_FLOOR ? 1 : 0;
        bool json = a->fmt == TABLE_JSON;
        int r;

        r = report_figures(s, a->from_ms, a->to_ms, REPORT_BY_NONE, &total);
        if (r == 0 && a->by != REPORT_BY_NONE)
                r = report_figures(s, a->from_ms, a->to_ms, a->by, &groups);
        if (r < 0)
                goto out;
        if (json) {
                g->groups = a->by != REPORT_BY_NONE ? json_array() : NULL;
                g->total = json_array();
                if ((a->by != REPORT_BY_NONE && !g->groups) || !g->total) {
                        r = -ENOMEM;
                        goto out;
                }
        } else {
                g->figures = new_table(groups ? groups : total, a->fmt, group_cols);
                if (!g->figures) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        if (groups)
                r = add_rows(g->figures, groups, a->fmt, group_cols, false, g->groups);
        if (r == 0)
                r = add_rows(g->figures, total, a->fmt, group_cols, group_cols > 0, g->total);
        if (r == -EIO)
                r = store_error(s, "reading the report");
out:
        sqlite3_finalize(groups);
        sqlite3_finalize(total);
        return r;
}

/* The detectors never tested, as a table or a JSON array. Returns 0 or a negative errno; a
 * store's failure is said, -ENOMEM is not. */
static int gather_never_tested(struct store *s, const struct report_args *a, struct gathered *g)
{
        sqlite3_stmt *st = NULL;
        int rc, r = report_never_tested(s, a->from_ms, a->to_ms, &st);

        if (r < 0)
                return r;
        if (a->fmt == TABLE_JSON)
                g->never = json_array();
        else
                g->untested = table_from_stmt(st);
        if (!g->never && !g->untested)
                r = -ENOMEM;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                g->n_untested++;
                if (g->never) {
                        if (json_array_append_new(g->never, report_row_json(st)) < 0)
                                r = -ENOMEM;
                        continue;
                }
                r = table_row(g->untested);
                for (int c = 0; r == 0 && c < sqlite3_column_count(st); c++)
                        r = report_add_cell(g->untested, st, c, false);
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = store_error(s, "listing the detectors never tested");
        sqlite3_finalize(st);
        return r;
}

/* --- printing --- */

static const char *by_name(enum report_by by)
{
        switch (by) {
        case REPORT_BY_NONE:
                return NULL;
        case REPORT_BY_UNIT:
                return "unit";
        case REPORT_BY_FLOOR:
                return "floor";
        }
        return NULL;
}

static int print_json(const struct report_args *a, struct gathered *g)
{
        char from[REPORT_TIME_MAX], to[REPORT_TIME_MAX];
        json_t *root;
        int r = 0;

        report_format_time(a->from_ms, true, from);
        report_format_time(a->to_ms, true, to);
        root = json_pack("{s:s, s:s, s:s?}", "from", from, "to", to, "by", by_name(a->by));
        if (!root)
                return -ENOMEM;
        if (a->never_tested) {
                if (json_object_set(root, "never_tested", g->never) < 0)
                        r = -ENOMEM;
        } else {
                if (g->groups && json_object_set(root, "groups", g->groups) < 0)
                        r = -ENOMEM;
                if (r == 0 && json_object_set(root, "total", json_array_get(g->total, 0)) < 0)
                        r = -ENOMEM;
                if (r == 0 && json_object_set(root, "never_tested", g->never) < 0)
                        r = -ENOMEM;
        }
        if (r == 0 && json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                r = -EIO;
        fputc('\n', stdout);
        json_decref(root);
        return r < 0 ? r : fflush(stdout) != 0 ? -EIO : 0;
}

static int print_text(const struct report_args *a, struct gathered *g)
{
        char from[REPORT_TIME_MAX], to[REPORT_TIME_MAX];
        int r = 0;

        report_format_time(a->from_ms, false, from);
        report_format_time(a->to_ms, false, to);
        if (!a->never_tested) {
                printf("Report from %s to %s\n\n", from, to);
                r = table_print(g->figures, TABLE_TEXT, stdout);
                printf("\n");
        }
        printf("Detectors never tested from %s to %s: %zu\n", from, to, g->n_untested);
        if (r == 0 && g->n_untested) {
                printf("\n");
                r = table_print(g->untested, TABLE_TEXT, stdout);
        }
        return r < 0 || fflush(stdout) != 0 ? -EIO : 0;
}

static int print_report(const struct report_args *a, struct gathered *g)
{
        if (a->fmt == TABLE_JSON)
                return print_json(a, g);
        if (a->fmt == TABLE_CSV)
                return table_print(a->never_tested ? g->untested : g->figures, TABLE_CSV, stdout);
        return print_text(a, g);
}

int cmd_report(struct cli *cli, int argc, char **argv)
{
        struct report_args a = {.fmt = TABLE_TEXT, .by = REPORT_BY_NONE};
        struct gathered g = {0};
        struct store *s = NULL;
        int r;

        r = parse_options(argc, argv, &a);
        if (r != CLI_EXIT_OK || a.help)
                return r;
        r = read_period(&a);
        if (r == CLI_EXIT_OK)
                r = cli_audit_argv(cli, "report", argc, argv);
        if (r != CLI_EXIT_OK)
                return r;
        r = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (r != CLI_EXIT_OK)
                return r;
        r = a.never_tested ? 0 : gather_figures(s, &a, &g);
        /* CSV of the figures has no room for the list; every other form shows it. */
        if (r == 0 && (a.never_tested || a.fmt != TABLE_CSV))
                r = gather_never_tested(s, &a, &g);
        if (r == -ENOMEM || r == -E2BIG) {
                log_error_errno(r, "preparing the report");
        } else if (r == 0) {
                r = print_report(&a, &g);
                if (r < 0)
                        log_error("cannot write the report to standard output");
        }
        gathered_free(&g);
        store_free(s);
        return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
