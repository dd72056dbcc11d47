/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_control: `firegate acknowledge|silence|reset TARGET`, which ask the running daemon to act
 * through its control socket (control.h), and `firegate status`, which shows what it sees now.
 * The daemon records who asked from the socket's peer credentials; nothing here claims an
 * identity.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "control.h"
#include "log.h"
#include "report.h"
#include "table.h"

/* Asks the daemon; on "ok", *@body is what follows the first line (owned by *@reply). Returns
 * a CLI exit code, the failure said. */
static int ask(struct cli *cli, const char *verb, const char *target, char **reply, char **body)
{
        char path[512], *nl;
        int r;

        *reply = NULL;
        r = cli_config(cli);
        if (r != CLI_EXIT_OK)
                return r;
        snprintf(path, sizeof(path), "%s/%s", cli->config->runtime_dir, CONTROL_SOCKET_NAME);
        r = control_call(path, verb, target, reply);
        if (r == -ENOENT || r == -ECONNREFUSED) {
                log_error("%s: no daemon is listening (is firegate run active?)", path);
                return CLI_EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(r, "%s: cannot reach the daemon", path);
                return CLI_EXIT_FAILURE;
        }
        nl = strchr(*reply, '\n');
        if (nl)
                *nl = '\0';
        *body = nl ? nl + 1 : *reply + strlen(*reply);
        if (strncmp(*reply, "ok ", 3) == 0)
                return CLI_EXIT_OK;
        if (strncmp(*reply, "refused ", 8) == 0) {
                log_error("%s", *reply + 8);
                return CLI_EXIT_REFUSED;
        }
        log_error("the daemon answered: %s", *reply);
        return CLI_EXIT_FAILURE;
}

static int control_command(struct cli *cli, const char *verb, int argc, char **argv)
{
        static const struct option options[] = {
                {"false-alarm", no_argument, NULL, 'f'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        bool reset = strcmp(verb, "reset") == 0, false_alarm = false;
        char *reply, *body, target[CONTROL_LINE_MAX];
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'f':
                        if (!reset)
                                return cli_usage_error(verb, "--false-alarm goes with reset");
                        false_alarm = true;
                        break;
                case 'h':
                        printf("Usage: firegate [--config PATH] %s%s TARGET\n\n"
                               "Asks the running daemon to %s an alarm. TARGET is an incident id\n"
                               "(firegate incidents), or building, floor:N, unit:ID or zone:ID.\n"
                               "The daemon records who asked (the caller's user) with the action.\n"
                               "%s"
                               "\nExit status 3 when the daemon refuses (no such incident, nothing "
                               "to %s),\n1 when no daemon is running.\n",
                               verb, reset ? " [--false-alarm]" : "", verb,
                               reset ? "\n  --false-alarm  the alarm was false: the incidents this "
                                       "reset closes are\n                 marked as false alarms "
                                       "(firegate report counts them)\n"
                                     : "",
                               verb);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error(verb, "unknown option or missing argument");
                }
        }
        if (optind + 1 != argc)
                return cli_usage_error(verb, "expected exactly one TARGET");
        /* The one-line protocol's word after the target (control.h). */
        r = snprintf(target, sizeof(target), "%s%s", argv[optind],
                     false_alarm ? " false-alarm" : "");
        if (r < 0 || (size_t)r >= sizeof(target))
                return cli_usage_error(verb, "TARGET is too long");
        r = ask(cli, verb, target, &reply, &body);
        if (r == CLI_EXIT_OK)
                printf("%s\n", reply + 3);
        free(reply);
        return r;
}

int cmd_acknowledge(struct cli *cli, int argc, char **argv)
{
        return control_command(cli, "acknowledge", argc, argv);
}

int cmd_silence(struct cli *cli, int argc, char **argv)
{
        return control_command(cli, "silence", argc, argv);
}

int cmd_reset(struct cli *cli, int argc, char **argv)
{
        return control_command(cli, "reset", argc, argv);
}

static const char *utc_text(json_int_t ms, char *buf, size_t size)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;

        if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
                return NULL;
        return buf;
}

static int print_detectors(json_t *list, enum table_format fmt)
{
        static const char *const cols[] = {"id",     "unit",     "floor",   "state",      "bridge",
                                           "device", "readings", "refused", "refused_at", "why"};
        struct table *t = table_new(sizeof(cols) / sizeof(cols[0]), cols);
        size_t i;
        json_t *det;
        int r = 0;

        if (!t)
                return -ENOMEM;
        json_array_foreach(list, i, det)
        {
                char when[32];
                const char *why = json_string_value(json_object_get(det, "why"));

                r = table_row(t);
                for (size_t c = 0; r == 0 && c < 2; c++)
                        r = table_text(t, json_string_value(json_object_get(det, cols[c])));
                if (r == 0)
                        r = table_int(t, json_integer_value(json_object_get(det, "floor")));
                for (size_t c = 3; r == 0 && c < 6; c++)
                        r = table_text(t, json_string_value(json_object_get(det, cols[c])));
                if (r == 0)
                        r = table_int(t, json_integer_value(json_object_get(det, "readings")));
                if (r == 0)
                        r = table_int(t, json_integer_value(json_object_get(det, "refused")));
                if (r == 0)
                        r = table_text(
                                t, utc_text(json_integer_value(json_object_get(det, "refused_at")),
                                            when, sizeof(when)));
                if (r == 0)
                        r = table_text(t, why && *why ? why : NULL);
                if (r < 0)
                        break;
        }
        if (r == 0)
                r = table_print(t, fmt, stdout);
        table_free(t);
        return r;
}

static void print_summary(json_t *st)
{
        json_t *broker = json_object_get(st, "building_broker"),
               *msgs = json_object_get(st, "messages"),
               *states = json_object_get(st, "detectors_by_state"),
               *sounding = json_object_get(st, "sounding"), *v;
        const char *key, *sep = "";
        size_t i;

        printf("gateway          %s, up %lld s\n",
               json_string_value(json_object_get(st, "gateway")),
               (long long)json_integer_value(json_object_get(st, "uptime_s")));
        printf("building broker  %s:%lld, %s\n", json_string_value(json_object_get(broker, "host")),
               (long long)json_integer_value(json_object_get(broker, "port")),
               json_is_true(json_object_get(broker, "connected")) ? "connected" : "NOT CONNECTED");
        printf("messages        ");
        json_object_foreach(msgs, key, v)
        {
                printf("%s %s %lld", sep, key, (long long)json_integer_value(v));
                sep = ",";
        }
        printf("\ndetectors       ");
        sep = "";
        json_object_foreach(states, key, v)
        {
                printf("%s %s %lld", sep, key, (long long)json_integer_value(v));
                sep = ",";
        }
        printf("\nsounding%s\n", json_array_size(sounding) ? "" : "         none");
        json_array_foreach(sounding, i, v)
        {
                printf("  %s on %s\n", json_string_value(json_object_get(v, "sounder")),
                       json_string_value(json_object_get(v, "topic")));
        }
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"detectors", no_argument, NULL, 'd'},
                {"json", no_argument, NULL, 'j'},
                {"csv", no_argument, NULL, 'c'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        enum table_format fmt = TABLE_TEXT;
        bool detectors = false;
        char *reply = NULL, *body;
        json_t *st = NULL;
        json_error_t err;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'd':
                        detectors = true;
                        break;
                case 'j':
                        fmt = TABLE_JSON;
                        break;
                case 'c':
                        fmt = TABLE_CSV;
                        break;
                case 'h':
                        printf("Usage: firegate [--config PATH] status [--detectors] "
                               "[--json|--csv]\n\n"
                               "Shows what the running daemon sees now: the building broker, the\n"
                               "messages it received and refused (malformed, over the size cap, "
                               "on\n"
                               "unknown topics, from devices not in the registry), detectors by\n"
                               "state and the sounders sounding. With --detectors, one row per\n"
                               "detector: its state, the readings it gave and the messages "
                               "refused\n"
                               "from it, with the last reason. Counters start at the daemon's "
                               "start.\n"
                               "--json prints the daemon's whole answer.\n");
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("status", "unknown option or missing argument");
                }
        }
        if (optind != argc)
                return cli_unexpected("status", optind);
        if (fmt == TABLE_CSV && !detectors)
                return cli_usage_error("status", "--csv goes with --detectors");
        r = ask(cli, "status", detectors || fmt == TABLE_JSON ? "all" : "summary", &reply, &body);
        if (r != CLI_EXIT_OK)
                goto out;
        st = json_loads(body, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(st)) {
                log_error("the daemon's status is not JSON: %s", err.text);
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        if (fmt == TABLE_JSON && !detectors)
                r = json_dumpf(st, stdout, JSON_INDENT(2)) < 0 ? -EIO : 0;
        else if (detectors)
                r = print_detectors(json_object_get(st, "detectors"), fmt);
        else
                print_summary(st);
        if (fmt == TABLE_JSON && !detectors)
                putchar('\n');
        if (r < 0) {
                log_error_errno(r, "cannot print the status");
                r = CLI_EXIT_FAILURE;
        }
out:
        json_decref(st);
        free(reply);
        return r;
}

/* --- walk-test --- */

static int print_walk(json_t *st, enum table_format fmt)
{
        static const char *const cols[] = {"id", "kind", "unit", "floor", "zone", "seen_at"};
        struct table *t = table_new(sizeof(cols) / sizeof(cols[0]), cols);
        char since[REPORT_TIME_MAX], until[REPORT_TIME_MAX], when[REPORT_TIME_MAX];
        json_t *det, *ended = json_object_get(st, "ended");
        size_t i;
        int r = 0;

        if (!t)
                return -ENOMEM;
        if (fmt == TABLE_TEXT) {
                if (!json_object_get(st, "target")) {
                        printf("no walk test since the daemon started\n");
                        goto out;
                }
                report_format_time(json_integer_value(json_object_get(st, "since")), false, since);
                report_format_time(json_integer_value(json_is_integer(ended)
                                                              ? ended
                                                              : json_object_get(st, "until")),
                                   false, until);
                printf("walk test of %s: %s, from %s %s %s\n"
                       "started by %s\n"
                       "%lld detectors in test, %lld heard, %lld never heard\n\n",
                       json_string_value(json_object_get(st, "target")),
                       json_is_true(json_object_get(st, "active")) ? "running" : "ended", since,
                       json_is_integer(ended) ? "to" : "until", until,
                       json_string_value(json_object_get(st, "started_by")),
                       (long long)json_integer_value(json_object_get(st, "in_test")),
                       (long long)json_integer_value(json_object_get(st, "seen")),
                       (long long)json_integer_value(json_object_get(st, "never_seen")));
        }
        /* Those never heard first: they are what the installer goes back to. */
        for (int pass = 0; pass < 2; pass++) {
                json_array_foreach(json_object_get(st, "detectors"), i, det)
                {
                        json_t *seen = json_object_get(det, "seen_at");

                        if (json_is_integer(seen) != (pass == 1))
                                continue;
                        r = table_row(t);
                        for (size_t c = 0; r == 0 && c < 3; c++)
                                r = table_text(t, json_string_value(json_object_get(det, cols[c])));
                        if (r == 0)
                                r = table_int(t, json_integer_value(json_object_get(det, "floor")));
                        if (r == 0)
                                r = table_text(t, json_string_value(json_object_get(det, "zone")));
                        if (r == 0 && json_is_integer(seen))
                                report_format_time(json_integer_value(seen), fmt != TABLE_TEXT,
                                                   when);
                        if (r == 0)
                                r = table_text(t, json_is_integer(seen) ? when
                                                  : fmt == TABLE_TEXT   ? "never"
                                                                        : NULL);
                        if (r < 0)
                                goto out;
                }
        }
        r = table_print(t, fmt, stdout);
out:
        table_free(t);
        return r;
}

int cmd_walk_test(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"for", required_argument, NULL, 'f'}, {"json", no_argument, NULL, 'j'},
                {"csv", no_argument, NULL, 'c'},       {"tz", required_argument, NULL, 'z'},
                {"help", no_argument, NULL, 'h'},      {0},
        };
        enum table_format fmt = TABLE_TEXT;
        const char *zone = NULL, *action;
        char *reply = NULL, *body, args[CONTROL_LINE_MAX], *end;
        long seconds = 30 * 60;
        json_t *st = NULL;
        json_error_t err;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'f':
                        seconds = strtol(optarg, &end, 10);
                        /* Out of range before the unit, so the product cannot overflow. */
                        if (seconds < 0 || seconds > 4 * 3600)
                                seconds = -1;
                        seconds *= strcmp(end, "h") == 0 ? 3600 : strcmp(end, "m") == 0 ? 60 : 1;
                        if (end == optarg ||
                            (*end && strcmp(end, "s") != 0 && strcmp(end, "m") != 0 &&
                             strcmp(end, "h") != 0) ||
                            seconds < 5 || seconds > 4 * 3600)
                                return cli_usage_error("walk-test",
                                                       "--for expects a duration from 5s to 4h "
                                                       "(90s, 30m, 2h), not '%s'",
                                                       optarg);
                        break;
                case 'j':
                        fmt = TABLE_JSON;
                        break;
                case 'c':
                        fmt = TABLE_CSV;
                        break;
                case 'z':
                        zone = optarg;
                        break;
                case 'h':
                        printf("Usage: firegate [--config PATH] walk-test start [--for DURATION] "
                               "[TARGET]\n"
                               "       firegate [--config PATH] walk-test status [--json|--csv] "
                               "[--tz ZONE]\n"
                               "       firegate [--config PATH] walk-test stop\n\n"
                               "Commissioning: puts TARGET (building, the default; floor:N, "
                               "unit:ID,\nzone:ID or a detector id) in test mode for DURATION "
                               "(30m; 5s to 4h).\nWhile it runs, a detector's signal is recorded "
                               "as a test, sounds nothing\nand is not sent upstream as a fire "
                               "alarm; the platform is told that a\nwalk test runs. status lists "
                               "the detectors never heard, then those heard\nwith the time. The "
                               "test ends by itself at its time; a detector still\nsignalling "
                               "then alarms. Exit status 3 when the daemon refuses.\n");
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("walk-test", "unknown option or missing argument");
                }
        }
        if (optind >= argc)
                return cli_usage_error("walk-test", "expected start, status or stop");
        action = argv[optind++];
        if (strcmp(action, "start") == 0) {
                if (argc - optind > 1)
                        return cli_unexpected("walk-test", optind + 1);
                r = snprintf(args, sizeof(args), "start %s %ld",
                             optind < argc ? argv[optind] : "building", seconds);
                if (r < 0 || (size_t)r >= sizeof(args) ||
                    strpbrk(optind < argc ? argv[optind] : "", " \t\n"))
                        return cli_usage_error("walk-test", "TARGET is one word");
        } else if (strcmp(action, "status") == 0 || strcmp(action, "stop") == 0) {
                if (optind < argc)
                        return cli_unexpected("walk-test", optind);
                snprintf(args, sizeof(args), "%s", action);
        } else {
                return cli_usage_error("walk-test", "expected start, status or stop, not '%s'",
                                       action);
        }
        r = cli_use_zone("walk-test", zone);
        if (r != CLI_EXIT_OK)
                return r;
        r = ask(cli, "walk-test", args, &reply, &body);
        if (r != CLI_EXIT_OK || strcmp(action, "status") != 0) {
                if (r == CLI_EXIT_OK)
                        printf("%s\n", reply + 3);
                goto out;
        }
        st = json_loads(body, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(st)) {
                log_error("the daemon's walk-test report is not JSON: %s", err.text);
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        if (fmt == TABLE_JSON) {
                r = json_dumpf(st, stdout, JSON_INDENT(2)) < 0 ? -EIO : 0;
                putchar('\n');
        } else {
                r = print_walk(st, fmt);
        }
        if (r < 0) {
                log_error_errno(r, "cannot print the walk test's report");
                r = CLI_EXIT_FAILURE;
        }
out:
        json_decref(st);
        free(reply);
        return r;
}
