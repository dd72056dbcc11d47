/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_import: `firegate import BUNDLE`. The bundle is read and every record checked before
 * the store is opened, so a refused bundle leaves no trace; the import itself is one
 * transaction (registry.c).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static int print_json_summary(const struct registry_import_result *res, const struct bundle *b,
                              const struct crypto_key *key)
{
        char sha[2 * CRYPTO_SHA256_LEN + 1];
        json_t *root, *types;
        int r = 0;

        crypto_hex(bundle_file_sha256(b), CRYPTO_SHA256_LEN, sha);
        root = json_pack("{s:s, s:I, s:I, s:s, s:b}", "bundle_sha256", sha, "records",
                         (json_int_t)bundle_record_count(b), "verified",
                         (json_int_t)bundle_verified_count(b), "authority_key", crypto_key_id(key),
                         "demo_key", crypto_key_is_demo(key));
        types = json_object();
        if (!root || !types || json_object_set_new(root, "by_type", types) < 0) {
                json_decref(root);
                return -ENOMEM;
        }
        for (int i = 0; i <= REGISTRY_TYPE_COUNT; i++) {
                const struct registry_counts *c =
                        i < REGISTRY_TYPE_COUNT ? &res->by_type[i] : &res->total;
                json_t *o = json_pack(
                        "{s:I, s:I, s:I, s:I, s:I}", "inserted", (json_int_t)c->inserted, "updated",
                        (json_int_t)c->updated, "unchanged", (json_int_t)c->unchanged, "skipped",
                        (json_int_t)c->skipped, "unverified", (json_int_t)c->unverified);

                if (!o || json_object_set_new(i < REGISTRY_TYPE_COUNT ? types : root,
                                              i < REGISTRY_TYPE_COUNT
                                                      ? registry_type_name((enum registry_type)i)
                                                      : "total",
                                              o) < 0)
                        r = -ENOMEM;
        }
        if (r == 0 && json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                r = -EIO;
        fputc('\n', stdout);
        json_decref(root);
        return r;
}

static int print_summary(const struct registry_import_result *res, const struct bundle *b,
                         const struct crypto_key *key, enum table_format fmt)
{
        static const char *const names[] = {"type",      "inserted", "updated",
                                            "unchanged", "skipped",  "unverified"};
        struct table *t;
        char sha[2 * CRYPTO_SHA256_LEN + 1];
        size_t records = bundle_record_count(b);
        int r = 0;

        if (fmt == TABLE_JSON)
                return print_json_summary(res, b, key);
        t = table_new(6, names);
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
        if (r == 0) {
                crypto_hex(bundle_file_sha256(b), CRYPTO_SHA256_LEN, sha);
                printf("imported %zu records (bundle sha256 %s)\n", records, sha);
                if (bundle_verified_count(b))
                        printf("%zu verified with authority key %s%s\n", bundle_verified_count(b),
                               crypto_key_id(key),
                               crypto_key_is_demo(key) ? " (DEMO KEY, NOT FOR PRODUCTION)" : "");
                if (bundle_verified_count(b) < records)
                        printf("%zu UNVERIFIED (unsigned, kept with --allow-unsigned)\n",
                               records - bundle_verified_count(b));
                r = table_print(t, fmt, stdout);
        }
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

/* The identity secret: the stored one, or a new one kept in memory until the bundle has passed,
 * so a refused bundle leaves no file behind. */
static int load_secret(const char *path, uint8_t secret[IDENTITY_SECRET_LEN], bool *fresh)
{
        int r = identity_secret_read(path, secret);

        *fresh = false;
        if (r == -ENOENT) {
                *fresh = true;
                r = crypto_random(secret, IDENTITY_SECRET_LEN);
        }
        if (r < 0)
                log_error_errno(r, "%s: cannot read the identity secret (gateway.identity_secret)",
                                path);
        return r;
}

static void remove_store(const char *database)
{
        static const char *const suffixes[] = {"", "-wal", "-shm"};
        char path[4200];

        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                snprintf(path, sizeof(path), "%s%s", database, suffixes[i]);
                unlink(path);
        }
}

static void print_refused(struct diag *d, const char *path)
{
        diag_log(d, LOG_ERR);
        log_error("%s: refused (%zu problem%s); nothing was stored", path, diag_count(d),
                  diag_count(d) == 1 ? "" : "s");
}

static int do_import(struct cli *cli, const char *path, bool allow_unsigned, enum table_format fmt)
{
        uint8_t secret[IDENTITY_SECRET_LEN];
        char fingerprint[17];
        struct crypto_key *key = NULL;
        struct diag *d = diag_new(), *notes = diag_new(), *warnings = diag_new();
        struct bundle *b = NULL;
        struct store *s = NULL;
        struct registry_import_result res;
        struct bundle_options opt;
        bool fresh = false, created = false, had_dir = true, had_store = true;
        int r, ret;

        memset(secret, 0, sizeof(secret));
        if (!d || !notes || !warnings) {
                ret = CLI_EXIT_FAILURE;
                goto out;
        }
        ret = cli_authority_key(cli, &key);
        if (ret == CLI_EXIT_OK)
                ret = cli_check_owner(cli);
        if (ret != CLI_EXIT_OK)
                goto out;
        if (load_secret(cli->config->identity_secret, secret, &fresh) < 0) {
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
                .warnings = warnings,
        };
        r = bundle_load(path, &opt, d, &b);
        diag_log(warnings, LOG_WARNING);
        if (r < 0) {
                if (r == -EBADMSG || r == -EFBIG) {
                        print_refused(d, path);
                        ret = CLI_EXIT_REFUSED;
                } else {
                        diag_log(d, LOG_ERR);
                        ret = CLI_EXIT_FAILURE;
                }
                goto out;
        }
        had_dir = access(cli->config->state_dir, F_OK) == 0;
        had_store = access(cli->config->database, F_OK) == 0;
        ret = cli_open_store(cli, STORE_READ_WRITE, &s);
        if (ret != CLI_EXIT_OK)
                goto out;
        if (fresh) {
                /* Written before the store commits, so no stored hash ever lacks its secret. */
                r = identity_secret_create(cli->config->identity_secret, secret);
                if (r < 0) {
                        log_error_errno(r, "%s: cannot create the identity secret",
                                        cli->config->identity_secret);
                        ret = CLI_EXIT_FAILURE;
                        goto out;
                }
                created = true;
        }
        identity_secret_fingerprint(secret, fingerprint);
        r = registry_import(s, bundle_records(b), bundle_file_sha256(b), fingerprint, d, notes,
                            &res);
        diag_log(notes, LOG_NOTICE);
        if (r == -EBADMSG) {
                print_refused(d, path);
                ret = CLI_EXIT_REFUSED;
                goto out;
        }
        if (r < 0) {
                ret = CLI_EXIT_FAILURE; /* the store has said why */
                goto out;
        }
        created = false;
        if (print_summary(&res, b, key, fmt) < 0) {
                log_error("cannot write the summary to standard output");
                ret = CLI_EXIT_FAILURE;
        }
out:
        store_free(s);
        /* A secret made for an import that did not land would pair with no stored hash, and a
         * store created for it would look like an empty registry: leave no trace. */
        if (created)
                unlink(cli->config->identity_secret);
        if (ret != CLI_EXIT_OK && !had_store)
                remove_store(cli->config->database);
        if (ret != CLI_EXIT_OK && !had_dir)
                rmdir(cli->config->state_dir);
        explicit_bzero(secret, sizeof(secret));
        bundle_free(b);
        crypto_key_free(key);
        diag_free(warnings);
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
                        return cli_usage_error("import", "unknown option or missing argument");
                }
        }
        if (optind + 1 != argc)
                return cli_usage_error("import", "expected exactly one BUNDLE file");
        return do_import(cli, argv[optind], allow_unsigned, fmt);
}
