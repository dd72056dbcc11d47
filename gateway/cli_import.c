/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_import: `firegate import BUNDLE`. The bundle is read and every record checked before
 * the store is opened, so a refused bundle leaves no trace; the import itself is one
 * transaction (registry.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "cli.h"
#include "fileio.h"
#include "identity.h"
#include "log.h"

static void import_usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] import [--allow-unsigned] [--json] BUNDLE\n\n"
                "Checks every record of a registry bundle (fields, references, the registry\n"
                "authority's Ed25519 signature) and stores all of them in one transaction, or\n"
                "none: a refused record is named with its position and the reason, and the\n"
                "store is left unchanged. Importing the same bundle again changes nothing; a\n"
                "newer revision of a record replaces the stored one, an older one never does.\n\n"
                "  --allow-unsigned  keep records that carry no signature, stored and always\n"
                "                    shown as UNVERIFIED (a bad signature is still refused)\n"
                "  --json            print the summary as JSON\n"
                "  -h, --help        show this help\n\n"
                "The bundle format: docs/registry-bundle.md. Exit status 3 when refused.\n");
}

static int print_summary(const struct registry_import_result *res, const struct bundle *b,
                         const struct crypto_key *key, enum table_format fmt)
{
        static const char *const names[] = {"type",      "inserted", "updated",
                                            "unchanged", "skipped",  "unverified"};
        struct table *t = table_new(6, names);
        char sha[2 * CRYPTO_SHA256_LEN + 1];
        int r = 0;

        if (!t)
                return -ENOMEM;
        for (int i = 0; i <= REGISTRY_TYPE_COUNT && r == 0; i++) {
                const struct registry_counts *c =
                        i < REGISTRY_TYPE_COUNT ? &res->by_type[i] : &res->total;

                r = table_row(t);
                if (r == 0)
                        r = table_text(t, i < REGISTRY_TYPE_COUNT
                                                  ? registry_type_name((enum registry_type)i)
                                                  : "total");
                if (r == 0)
                        r = table_int(t, (long long)c->inserted);
                if (r == 0)
                        r = table_int(t, (long long)c->updated);
                if (r == 0)
                        r = table_int(t, (long long)c->unchanged);
                if (r == 0)
                        r = table_int(t, (long long)c->skipped);
                if (r == 0)
                        r = table_int(t, (long long)c->unverified);
        }
        if (r == 0 && fmt == TABLE_TEXT) {
                crypto_hex(bundle_file_sha256(b), CRYPTO_SHA256_LEN, sha);
                printf("imported %zu records (bundle sha256 %s)\n", bundle_record_count(b), sha);
                printf("verified with authority key %s%s\n", crypto_key_id(key),
                       crypto_key_is_demo(key) ? " (DEMO KEY, NOT FOR PRODUCTION)" : "");
        }
        if (r == 0)
                r = table_print(t, fmt, stdout);
        table_free(t);
        return r;
}

static int current_year(void)
{
        time_t now = time(NULL);
        struct tm tm;

        if (!gmtime_r(&now, &tm))
                return 1970;
        return tm.tm_year + 1900;
}

static int do_import(struct cli *cli, const char *path, bool allow_unsigned, enum table_format fmt)
{
        uint8_t secret[IDENTITY_SECRET_LEN];
        struct crypto_key *key = NULL;
        struct diag *d = diag_new(), *notes = diag_new();
        struct bundle *b = NULL;
        struct store *s = NULL;
        struct registry_import_result res;
        struct bundle_options opt;
        int r, ret;

        if (!d || !notes) {
                ret = CLI_EXIT_FAILURE;
                goto out;
        }
        ret = cli_authority_key(cli, &key);
        if (ret != CLI_EXIT_OK)
                goto out;
        r = fileio_mkdir_p(cli->config->state_dir, 0750);
        if (r == 0)
                r = identity_secret_load(cli->config->identity_secret, secret);
        if (r < 0) {
                log_error_errno(r, "%s: cannot load or create the identity secret",
                                cli->config->identity_secret);
                ret = CLI_EXIT_FAILURE;
                goto out;
        }
        opt = (struct bundle_options){
                .authority = key,
                .location_id_pattern = cli->config->location_id_pattern,
                .allow_unsigned = allow_unsigned,
                .current_year = current_year(),
                .identity_secret = secret,
                .max_bytes = (size_t)cli->config->bundle_max_bytes,
        };
        r = bundle_load(path, &opt, d, &b);
        if (r < 0) {
                diag_print(d, stderr, "firegate: error: ");
                if (r == -EBADMSG || r == -EFBIG) {
                        log_error("%s: refused (%zu problem%s); nothing was stored", path,
                                  diag_count(d), diag_count(d) == 1 ? "" : "s");
                        ret = CLI_EXIT_REFUSED;
                } else {
                        ret = CLI_EXIT_FAILURE;
                }
                goto out;
        }
        ret = cli_open_store(cli, STORE_READ_WRITE, &s);
        if (ret != CLI_EXIT_OK)
                goto out;
        r = registry_import(s, bundle_records(b), bundle_file_sha256(b), d, notes, &res);
        diag_print(notes, stderr, "firegate: ");
        if (r == -EBADMSG) {
                diag_print(d, stderr, "firegate: error: ");
                log_error("%s: refused (%zu problem%s); nothing was stored", path, diag_count(d),
                          diag_count(d) == 1 ? "" : "s");
                ret = CLI_EXIT_REFUSED;
                goto out;
        }
        if (r < 0) {
                log_error("%s: not imported; the store is unchanged", path);
                ret = CLI_EXIT_FAILURE;
                goto out;
        }
        if (print_summary(&res, b, key, fmt) < 0) {
                log_error("cannot write the summary to standard output");
                ret = CLI_EXIT_FAILURE;
        }
out:
        explicit_bzero(secret, sizeof(secret));
        store_free(s);
        bundle_free(b);
        crypto_key_free(key);
        diag_free(notes);
        diag_free(d);
        return ret;
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"allow-unsigned", no_argument, NULL, 'u'},
                {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        enum table_format fmt = TABLE_TEXT;
        bool allow_unsigned = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'u':
                        allow_unsigned = true;
                        break;
                case 'j':
                        fmt = TABLE_JSON;
                        break;
                case 'h':
                        import_usage(stdout);
                        return CLI_EXIT_OK;
                default:
                        import_usage(stderr);
                        return CLI_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc)
                return cli_usage_error("import", "expected exactly one BUNDLE file");
        return do_import(cli, argv[optind], allow_unsigned, fmt);
}
