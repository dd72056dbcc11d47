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
                fprintf(out,
                        "  --citizen-id NUM   find a resident by identity number (matched by\n"
                        "                     its keyed hash; the number is not stored); give -\n"
                        "                     to read it from standard input, which keeps it\n"
                        "                     out of the process list and the shell history\n");
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

/* Reads the number from standard input for "-", so it stays out of the process list and the
 * shell's history. */
static int citizen_number(const char *arg, char *buf, size_t size)
{
        size_t n;

        if (strcmp(arg, "-") != 0) {
                snprintf(buf, size, "%s", arg);
                return 0;
        }
        if (!fgets(buf, (int)size, stdin))
                return -EIO;
        n = strcspn(buf, "\r\n");
        buf[n] = '\0';
        return 0;
}

static int citizen_filter(struct cli *cli, const char *arg, uint8_t hmac[IDENTITY_CITIZEN_HASH_LEN])
{
        uint8_t secret[IDENTITY_SECRET_LEN];
        char number[64];
        time_t now = time(NULL);
        struct tm tm;
        enum identity_citizen_error e;
        int r;

        if (citizen_number(arg, number, sizeof(number)) < 0)
                return cli_usage_error("residents", "--citizen-id -: nothing to read on standard "
                                                    "input");
        gmtime_r(&now, &tm);
        e = identity_citizen_check(number, tm.tm_year + 1900, NULL);
        if (e != IDENTITY_CITIZEN_OK) {
                explicit_bzero(number, sizeof(number));
                return cli_usage_error("residents", "--citizen-id: %s",
                                       identity_citizen_strerror(e));
        }
        r = cli_config(cli);
        if (r != CLI_EXIT_OK)
                return r;
        r = identity_secret_read(cli->config->identity_secret, secret);
        if (r < 0) {
                log_error_errno(r,
                                "%s: cannot read the identity secret, so no resident can be "
                                "matched",
                                cli->config->identity_secret);
                explicit_bzero(number, sizeof(number));
                return CLI_EXIT_FAILURE;
        }
        identity_citizen_hash(secret, number, hmac);
        identity_secret_fingerprint(secret, cli->secret_fingerprint);
        explicit_bzero(secret, sizeof(secret));
        explicit_bzero(number, sizeof(number));
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
        char key_id[CRYPTO_KEY_ID_LEN + 1];
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
                        return cli_usage_error(l->name, "unknown option or missing argument");
                }
        }
        if (optind < argc)
                return cli_unexpected(l->name, optind);
        if (f.kind && strcmp(f.kind, "smoke") != 0 && strcmp(f.kind, "heat") != 0 &&
            strcmp(f.kind, "multi") != 0 && strcmp(f.kind, "call_point") != 0)
                return cli_usage_error(l->name, "--kind must be smoke, heat, multi or call_point");
        r = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (r != CLI_EXIT_OK)
                return r;
        if (f.citizen_hmac) {
                int k = registry_check_secret(s, cli->secret_fingerprint, false);

                if (k == -EKEYREJECTED)
                        log_error("%s: not the identity secret the stored residents were hashed "
                                  "with; no resident can be matched (restore it from the backup)",
                                  cli->config->identity_secret);
                if (k < 0) {
                        r = CLI_EXIT_FAILURE;
                        goto out;
                }
        }
        /* Verification is shown against the key configured now; without it, as stored. */
        cli_authority_key_id(cli, key_id);
        if (registry_list(s, l->type, &f, key_id[0] ? key_id : NULL, &st) < 0) {
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
