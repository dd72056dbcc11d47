/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_list: the registry listings (building, zones, units, residents, detectors). They open the
 * store read-only, so they are safe beside the running daemon, and print an aligned table or,
 * with --json, an array of objects. A resident's identity number is never shown: the store only
 * has its last four digits.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "identity.h"
#include "log.h"
#include "registry.h"

/* Which filters a listing takes. */
enum {
        F_UNIT = 1 << 0,
        F_FLOOR = 1 << 1,
        F_KIND = 1 << 2,
        F_ZONE = 1 << 3,
        F_CITIZEN = 1 << 4,
};

struct listing {
        const char *name;
        enum registry_type type;
        unsigned filters;
        const char *what;
};

static void list_usage(const struct listing *l, FILE *out)
{
        fprintf(out, "Usage: firegate [--config PATH] %s [OPTIONS]\n\n%s\n\n", l->name, l->what);
        if (l->filters & F_UNIT)
                fprintf(out, "  --unit ID          only this unit (its digital address id)\n");
        if (l->filters & F_FLOOR)
                fprintf(out, "  --floor N          only this floor (-1 is the first basement)\n");
        if (l->filters & F_KIND)
                fprintf(out, "  --kind KIND        smoke, heat, multi or call_point\n");
        if (l->filters & F_ZONE)
                fprintf(out, "  --zone ZONE        only this installer zone\n");
        if (l->filters & F_CITIZEN)
                fprintf(out, "  --citizen-id NUM   find a resident by identity number (matched by\n"
                             "                     its keyed hash; the number is not stored)\n");
        fprintf(out, "  --json             print JSON (an array of objects)\n"
                     "  -h, --help         show this help\n");
}

static int parse_floor(const char *cmd, const char *s, int *floor)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < -20 || v > 200 || v == 0)
                return cli_usage_error(cmd,
                                       "--floor expects a floor number (-20..200, not 0), "
                                       "not '%s'",
                                       s);
        *floor = (int)v;
        return CLI_EXIT_OK;
}

static int citizen_filter(struct cli *cli, const char *number,
                          uint8_t hmac[IDENTITY_CITIZEN_HASH_LEN])
{
        uint8_t secret[IDENTITY_SECRET_LEN];
        time_t now = time(NULL);
        struct tm tm;
        enum identity_citizen_error e;
        int r;

        gmtime_r(&now, &tm);
        e = identity_citizen_check(number, tm.tm_year + 1900, NULL);
        if (e != IDENTITY_CITIZEN_OK)
                return cli_usage_error("residents", "--citizen-id: %s",
                                       identity_citizen_strerror(e));
        r = cli_config(cli);
        if (r != CLI_EXIT_OK)
                return r;
        if (access(cli->config->identity_secret, R_OK) < 0) {
                log_error("%s: no identity secret, so no resident can be matched (import a "
                          "bundle first)",
                          cli->config->identity_secret);
                return CLI_EXIT_FAILURE;
        }
        r = identity_secret_load(cli->config->identity_secret, secret);
        if (r < 0) {
                log_error_errno(r, "%s: cannot read the identity secret",
                                cli->config->identity_secret);
                return CLI_EXIT_FAILURE;
        }
        identity_citizen_hash(secret, number, hmac);
        explicit_bzero(secret, sizeof(secret));
        return CLI_EXIT_OK;
}

static int run_listing(struct cli *cli, const struct listing *l, int argc, char **argv)
{
        static const struct option options[] = {
                {"unit", required_argument, NULL, 'u'},
                {"floor", required_argument, NULL, 'f'},
                {"kind", required_argument, NULL, 'k'},
                {"zone", required_argument, NULL, 'z'},
                {"citizen-id", required_argument, NULL, 'C'},
                {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        static const unsigned needs[] = {
                ['u'] = F_UNIT, ['f'] = F_FLOOR, ['k'] = F_KIND, ['z'] = F_ZONE, ['C'] = F_CITIZEN};
        uint8_t hmac[IDENTITY_CITIZEN_HASH_LEN];
        struct registry_filter f = {0};
        enum table_format fmt = TABLE_TEXT;
        struct store *s = NULL;
        sqlite3_stmt *st = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (c > 0 && (size_t)c < sizeof(needs) / sizeof(needs[0]) && needs[c] &&
                    !(l->filters & needs[c]))
                        return cli_usage_error(l->name, "%s takes no such filter", l->name);
                switch (c) {
                case 'u':
                        f.unit = optarg;
                        break;
                case 'f':
                        r = parse_floor(l->name, optarg, &f.floor);
                        if (r != CLI_EXIT_OK)
                                return r;
                        f.have_floor = true;
                        break;
                case 'k':
                        f.kind = optarg;
                        break;
                case 'z':
                        f.zone = optarg;
                        break;
                case 'C':
                        r = citizen_filter(cli, optarg, hmac);
                        if (r != CLI_EXIT_OK)
                                return r;
                        f.citizen_hmac = hmac;
                        break;
                case 'j':
                        fmt = TABLE_JSON;
                        break;
                case 'h':
                        list_usage(l, stdout);
                        return CLI_EXIT_OK;
                default:
                        list_usage(l, stderr);
                        return CLI_EXIT_USAGE;
                }
        }
        if (optind < argc)
                return cli_usage_error(l->name, "unexpected argument '%s'", argv[optind]);
        if (f.kind && strcmp(f.kind, "smoke") != 0 && strcmp(f.kind, "heat") != 0 &&
            strcmp(f.kind, "multi") != 0 && strcmp(f.kind, "call_point") != 0)
                return cli_usage_error(l->name, "--kind must be smoke, heat, multi or call_point");
        r = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (r != CLI_EXIT_OK)
                return r;
        if (registry_list(s, l->type, &f, &st) < 0) {
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        r = cli_print_stmt(s, st, fmt);
out:
        sqlite3_finalize(st);
        store_free(s);
        return r;
}

int cmd_building(struct cli *cli, int argc, char **argv)
{
        static const struct listing l = {"building", REGISTRY_BUILDING, 0,
                                         "Shows the building this gateway serves."};

        return run_listing(cli, &l, argc, argv);
}

int cmd_zones(struct cli *cli, int argc, char **argv)
{
        static const struct listing l = {"zones", REGISTRY_ZONE, 0,
                                         "Lists the installer zones (stairwells, car parks...)."};

        return run_listing(cli, &l, argc, argv);
}

int cmd_units(struct cli *cli, int argc, char **argv)
{
        static const struct listing l = {
                "units", REGISTRY_UNIT, F_UNIT | F_FLOOR,
                "Lists units by floor with their verification state, active residents and "
                "detectors."};

        return run_listing(cli, &l, argc, argv);
}

int cmd_residents(struct cli *cli, int argc, char **argv)
{
        static const struct listing l = {
                "residents", REGISTRY_RESIDENT, F_UNIT | F_FLOOR | F_CITIZEN,
                "Lists residents with their rescue-relevant flags and verification state.\n"
                "Identity numbers are shown masked: only their last four digits are stored."};

        return run_listing(cli, &l, argc, argv);
}

int cmd_detectors(struct cli *cli, int argc, char **argv)
{
        static const struct listing l = {
                "detectors", REGISTRY_DETECTOR, F_UNIT | F_FLOOR | F_KIND | F_ZONE,
                "Lists detectors: kind, EN 54-5 class, unit, floor, zone and how the gateway "
                "hears them."};

        return run_listing(cli, &l, argc, argv);
}
