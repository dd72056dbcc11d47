/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_evidence: the incident log as evidence. `firegate verify-log` walks the hash chain
 * (chain.h) and names the first row changed, inserted or deleted; `firegate declare-loss`
 * states, after a salvage, which rows the damage took; `firegate export` writes a signed export
 * of a period and `firegate verify-export` checks one offline (evidence.h); `firegate
 * gateway-key` makes and prints the key exports are signed with. Every command that only reads
 * the store opens it read-only, so it is safe while the daemon runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain.h"
#include "cli.h"
#include "control.h"
#include "evidence.h"
#include "fileio.h"
#include "log.h"
#include "loss.h"
#include "report.h"
#include "wallclock.h"

static void verify_log_usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] verify-log [--head HEX | --head-file FILE] "
                "[--json]\n\n"
                "Checks the incident log against its hash chain: every event, engine event,\n"
                "platform command and audit row must be as the gateway wrote it, in its place.\n"
                "Names the first row changed, inserted or deleted. With --head, also checks that\n"
                "a head taken earlier (firegate verify-log prints the head; the platform has\n"
                "the one of every statistics message) is still in the chain.\n\n"
                "  --head HEX        a head exported earlier (64 hex digits)\n"
                "  --head-file FILE  the same, read from a file\n"
                "  --json            the verdict as JSON\n\n"
                "Rows that firegate declare-loss declared lost after a salvage are counted and\n"
                "named apart: the log is not whole, and that they were lost to damage rather\n"
                "than deleted is a claim only the kept damaged copy supports. With --head, a\n"
                "warning names every declaration made after that head which declares rows at\n"
                "or before it lost.\n\n"
                "Exit status: 0 the log verifies, 4 it verifies except for rows declared lost,\n"
                "3 it does not, 1 it cannot be read.\n");
}

/* Who runs this command, for the audit log: "uid 1000 (alice)". */
static void local_who(char *who, size_t size)
{
        struct passwd *pw = getpwuid(getuid());

        snprintf(who, size, "uid %u (%.60s)", (unsigned)getuid(), pw ? pw->pw_name : "?");
}

static int print_verdict_json(const struct chain_report *rep, const char *head)
{
        json_t *o = json_pack("{s:b, s:I, s:I, s:s, s:s?, s:I, s:s?}", "ok", rep->ok && !rep->lost,
                              "entries", (json_int_t)rep->entries, "rows", (json_int_t)rep->rows,
                              "head", rep->head, "problem", rep->ok ? NULL : rep->problem, "lost",
                              (json_int_t)rep->lost, "loss", rep->lost ? rep->loss : NULL);
        json_t *warnings = json_array();
        int r = o && warnings ? CLI_EXIT_OK : CLI_EXIT_FAILURE;

        for (const char *w = rep->warnings; r == CLI_EXIT_OK && *w;) {
                size_t n = strcspn(w, "\n");

                if (json_array_append_new(warnings, json_stringn(w, n)) < 0)
                        r = CLI_EXIT_FAILURE;
                w += n + (w[n] == '\n');
        }
        if (r == CLI_EXIT_OK && head &&
            (json_object_set_new(o, "head_found", json_boolean(rep->head_found)) < 0 ||
             json_object_set(o, "warnings", warnings) < 0))
                r = CLI_EXIT_FAILURE;
        if (r == CLI_EXIT_OK && json_dumpf(o, stdout, JSON_INDENT(2)) < 0)
                r = CLI_EXIT_FAILURE;
        if (r == CLI_EXIT_OK)
                putchar('\n');
        json_decref(warnings);
        json_decref(o);
        return r;
}

static int print_verdict(const struct chain_report *rep, const char *head)
{
        const char *found = head ? ", the earlier head is in the chain" : "";

        if (rep->ok && !rep->lost)
                printf("the incident log verifies: %lld rows, %lld chain entries%s\n", rep->rows,
                       rep->entries, found);
        else if (rep->ok)
                printf("the incident log verifies EXCEPT for rows declared lost: %lld rows, %lld "
                       "chain entries%s\n%s\n",
                       rep->rows, rep->entries, found, rep->loss);
        else
                printf("the incident log does NOT verify: %s%s%s\n", rep->problem,
                       rep->lost ? "\nbesides, " : "", rep->lost ? rep->loss : "");
        /* A declaration made after the head the platform holds could hide a deletion made
         * before it: whoever checks against that head must see it. */
        for (const char *w = rep->warnings; *w;) {
                size_t n = strcspn(w, "\n");

                printf("warning: %.*s\n", (int)n, w);
                w += n + (w[n] == '\n');
        }
        printf("head %s\n", rep->head);
        return CLI_EXIT_OK;
}

int cmd_verify_log(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"head", required_argument, NULL, 'H'},
                {"head-file", required_argument, NULL, 'F'},
                {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *head = NULL, *head_file = NULL;
        struct chain_report rep;
        struct store *s = NULL;
        char *text = NULL;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'H':
                        head = optarg;
                        break;
                case 'F':
                        head_file = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        verify_log_usage(stdout);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("verify-log", "unknown option or missing argument");
                }
        }
        if (optind != argc)
                return cli_unexpected("verify-log", optind);
        if (head && head_file)
                return cli_usage_error("verify-log", "--head and --head-file go alone");
        if (head_file) {
                size_t len = 0;

                r = fileio_read_all(head_file, 4096, &text, &len);
                if (r < 0) {
                        log_error_errno(r, "%s: cannot read the head", head_file);
                        return CLI_EXIT_FAILURE;
                }
                text[strcspn(text, " \t\r\n")] = '\0';
                head = text;
        }
        if (head && (strlen(head) != 2 * CRYPTO_SHA256_LEN ||
                     head[strspn(head, "0123456789abcdefABCDEF")] != '\0')) {
                free(text);
                return cli_usage_error("verify-log", "a head is 64 hex digits");
        }
        r = cli_config(cli);
        if (r == CLI_EXIT_OK) {
                json_t *params = json_pack("{s:s?}", "head", head);

                r = params ? cli_audit(cli, "verify-log", params) : CLI_EXIT_FAILURE;
                json_decref(params);
        }
        if (r == CLI_EXIT_OK)
                r = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (r != CLI_EXIT_OK) {
                free(text);
                return r;
        }
        r = chain_verify(store_db(s), head, &rep);
        if (r < 0) {
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        r = json ? print_verdict_json(&rep, head) : print_verdict(&rep, head);
        if (r == CLI_EXIT_OK)
                r = !rep.ok ? CLI_EXIT_REFUSED : rep.lost ? CLI_EXIT_DECLARED_LOSS : CLI_EXIT_OK;
        chain_report_clear(&rep);
out:
        store_free(s);
        free(text);
        return r;
}

/* --- losses to damage --- */

static void declare_loss_usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] declare-loss --reason TEXT [--damaged-copy "
                "PATH]\n\n"
                "After a damaged store was salvaged (\"Recovering a damaged store\" in\n"
                "store.md), states in the incident log which of its rows the damage took: every\n"
                "row missing from its place in the hash chain, or no longer what was chained\n"
                "(partly overwritten), that no declaration covers yet. The declaration is an\n"
                "audit row, chained like every other, with who made it, when, the reason, and\n"
                "the state of each row (missing, or the content of the damaged row left in its\n"
                "place). verify-log then reports those rows as declared lost (exit status 4)\n"
                "instead of deleted, and fails (3) if any of them changes state later; they are\n"
                "neither checked nor exported, and export can export what remains\n"
                "(--with-losses). A declaration is a claim: only the kept damaged copy shows\n"
                "that the rows were lost to damage rather than deleted. A log with any other\n"
                "problem (a row without a chain entry, a broken link, a changed declaration) is\n"
                "refused, and nothing is written. Run it as the user the daemon runs as.\n\n"
                "  --reason TEXT        what happened, and where the damaged copy is kept\n"
                "                       (required; no control characters)\n"
                "  --damaged-copy PATH  the kept damaged store file: its SHA-256 is recorded\n"
                "                       in the declaration (recommended)\n\n"
                "Exit status: 0 declared (or nothing to declare), 3 refused, 1 the store or\n"
                "the damaged copy cannot be read or written.\n");
}

/* The SHA-256 of the file at @path as hex. Returns an exit code, the failure said. */
static int hash_file(const char *path, char hex[2 * CRYPTO_SHA256_LEN + 1])
{
        uint8_t digest[CRYPTO_SHA256_LEN];
        struct stat st;
        void *data = NULL;
        int fd, r = CLI_EXIT_OK;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                log_error_errno(-errno, "%s: cannot read the damaged copy", path);
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                log_error("%s: the damaged copy is not a file (name the kept store file)", path);
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        /* A store can be larger than memory would hold as a copy; the mapping is read once. */
        if (st.st_size > 0) {
                data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
                if (data == MAP_FAILED) {
                        log_error_errno(-errno, "%s: cannot read the damaged copy", path);
                        r = CLI_EXIT_FAILURE;
                        goto out;
                }
        }
        crypto_sha256(data ? data : "", (size_t)st.st_size, digest);
        crypto_hex(digest, sizeof(digest), hex);
        if (data)
                munmap(data, (size_t)st.st_size);
out:
        if (fd >= 0)
                close(fd);
        return r;
}

/* Said when a declaration is made: what it declares, in the words verify-log will use. */
static void print_declared(const struct evidence_declared *d, const struct chain_report *rep,
                           const char *copy)
{
        char rows[1024];

        loss_describe_rows(rep->unmatched_rows, (size_t)rep->unmatched, rows, sizeof(rows));
        printf("declared %lld row%s lost (%lld missing, %lld damaged) in audit #%lld: %s%s%s\n"
               "verify-log now reports them as declared lost (exit status 4)\n",
               rep->unmatched, rep->unmatched == 1 ? "" : "s", d->missing, d->damaged, d->audit_id,
               rows, copy ? "; damaged copy SHA-256 " : "", copy ? copy : "");
}

int cmd_declare_loss(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"reason", required_argument, NULL, 'r'},
                {"damaged-copy", required_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *reason = NULL, *copy_path = NULL;
        char who[128], copy[2 * CRYPTO_SHA256_LEN + 1];
        struct evidence_declared declared;
        struct chain_report rep = {0};
        struct store *s = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'r':
                        reason = optarg;
                        break;
                case 'd':
                        copy_path = optarg;
                        break;
                case 'h':
                        declare_loss_usage(stdout);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("declare-loss",
                                               "unknown option or missing argument");
                }
        }
        if (optind != argc)
                return cli_unexpected("declare-loss", optind);
        /* The reason is printed by every verdict from then on: no terminal escapes in it. */
        if (!loss_text_ok(reason))
                return cli_usage_error("declare-loss",
                                       "--reason is required: what happened, in 1 to %d bytes "
                                       "of UTF-8 text without control characters",
                                       LOSS_REASON_MAX);
        r = copy_path ? hash_file(copy_path, copy) : CLI_EXIT_OK;
        if (r == CLI_EXIT_OK)
                r = cli_config(cli);
        if (r == CLI_EXIT_OK)
                r = cli_check_owner(cli);
        if (r == CLI_EXIT_OK)
                r = cli_open_store(cli, STORE_APPEND, &s);
        if (r != CLI_EXIT_OK)
                return r;
        local_who(who, sizeof(who));
        r = evidence_declare_loss(s, wallclock_ms(), who, reason, copy_path ? copy : NULL, &rep,
                                  &declared);
        if (r == -EBADMSG) {
                log_error("the incident log has problems a declaration of lost rows cannot "
                          "cover, so nothing is declared: %s (firegate verify-log)",
                          rep.undeclarable);
                r = CLI_EXIT_REFUSED;
        } else if (r < 0) {
                r = CLI_EXIT_FAILURE;
        } else if (!declared.audit_id) {
                printf("nothing to declare: %s\n",
                       rep.lost ? "every row missing is declared lost already"
                                : "no row is missing from the incident log");
                r = CLI_EXIT_OK;
        } else {
                print_declared(&declared, &rep, copy_path ? copy : NULL);
                r = CLI_EXIT_OK;
        }
        chain_report_clear(&rep);
        store_free(s);
        return r;
}

/* --- the gateway's own key --- */

#define GATEWAY_KEY_FILE "gateway.key"

/* Loads <state_dir>/gateway.key; with @create, makes it first when there is none (mode 0600).
 * Returns an exit code, the failure said. */
static int gateway_key(struct cli *cli, bool create, struct crypto_key **key, char **path)
{
        char *pem = NULL;
        int r;

        *key = NULL;
        if (asprintf(path, "%s/%s", cli->config->state_dir, GATEWAY_KEY_FILE) < 0) {
                *path = NULL;
                return CLI_EXIT_FAILURE;
        }
        r = crypto_key_load(*path, key);
        if (r == -ENOENT && create) {
                r = fileio_mkdir_p(cli->config->state_dir, 0750);
                if (r == 0)
                        r = crypto_key_generate(key);
                if (r == 0)
                        r = crypto_key_to_pem(*key, true, &pem);
                if (r == 0)
                        r = fileio_write_atomic(*path, pem, strlen(pem), 0600);
                free(pem);
                if (r == 0)
                        log_notice("made the gateway's signing key %s (id %s)", *path,
                                   crypto_key_id(*key));
        }
        if (r == -ENOENT) {
                log_error("%s: no gateway key yet; make it with firegate gateway-key", *path);
                return CLI_EXIT_FAILURE;
        }
        if (r == 0 && !crypto_key_has_private(*key))
                r = -ENOKEY;
        if (r < 0) {
                log_error_errno(r, "%s: cannot use the gateway key", *path);
                crypto_key_free(*key);
                *key = NULL;
                return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
}

int cmd_gateway_key(struct cli *cli, int argc, char **argv)
{
        struct crypto_key *key = NULL;
        char *path = NULL, *pem = NULL;
        int r;

        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf("Usage: firegate [--config PATH] gateway-key\n\n"
                       "Prints the public half of this gateway's own Ed25519 key, with which it\n"
                       "signs evidence exports, making the key (<state_dir>/gateway.key, mode\n"
                       "0600) the first time. Register the printed key with the platform: it\n"
                       "is what verify-export checks a file against.\n");
                return CLI_EXIT_OK;
        }
        if (argc > 1)
                return cli_unexpected("gateway-key", 1);
        r = cli_config(cli);
        if (r == CLI_EXIT_OK)
                r = gateway_key(cli, true, &key, &path);
        if (r == CLI_EXIT_OK && crypto_key_to_pem(key, false, &pem) < 0)
                r = CLI_EXIT_FAILURE;
        if (r == CLI_EXIT_OK)
                printf("# firegate gateway %s, key id %s\n%s", cli->config->gateway_id,
                       crypto_key_id(key), pem);
        free(pem);
        free(path);
        crypto_key_free(key);
        return r;
}

/* --- exports --- */

int cmd_export(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
                {"tz", required_argument, NULL, 'z'},   {"with-losses", no_argument, NULL, 'l'},
                {"help", no_argument, NULL, 'h'},       {0},
        };
        const char *from_text = NULL, *to_text = NULL, *zone = NULL;
        bool with_losses = false;
        struct crypto_key *key = NULL;
        struct store *s = NULL;
        struct chain_report rep = {0};
        char *path = NULL, *text = NULL;
        int64_t from = 0, to = 0;
        json_t *doc = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'f':
                        from_text = optarg;
                        break;
                case 't':
                        to_text = optarg;
                        break;
                case 'z':
                        zone = optarg;
                        break;
                case 'l':
                        with_losses = true;
                        break;
                case 'h':
                        printf("Usage: firegate [--config PATH] export --from WHEN --to WHEN "
                               "[--tz ZONE] [--with-losses] FILE\n\n"
                               "Writes the incidents open at some time in [from, to) with all\n"
                               "their events, the engine events, platform commands and audit\n"
                               "rows of the period, and the segment of the hash chain that\n"
                               "covers them, signed with this gateway's key (firegate\n"
                               "gateway-key), for a case file. WHEN is ISO 8601 (a date, or a\n"
                               "date and time with or without an offset, read in --tz). Check\n"
                               "it anywhere with firegate verify-export FILE --key PUB.\n"
                               "The log must verify first (firegate verify-log). One with rows\n"
                               "declared lost (firegate declare-loss) is exported only with\n"
                               "--with-losses: what remains, with the losses stated in the "
                               "file.\n\n"
                               "Exit status: 0 written, 3 refused (the log does not verify, or\n"
                               "it has rows declared lost and --with-losses is not given), 1\n"
                               "the store, the key or the file failed.\n");
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("export", "unknown option or missing argument");
                }
        }
        if (optind + 1 != argc)
                return cli_usage_error("export", "expected exactly one FILE");
        if (!from_text || !to_text)
                return cli_usage_error("export", "--from and --to are required");
        c = cli_use_zone("export", zone);
        if (c != CLI_EXIT_OK)
                return c;
        if (report_parse_time(from_text, false, &from) < 0 ||
            report_parse_time(to_text, true, &to) < 0 || to <= from)
                return cli_usage_error("export", "--from and --to are ISO 8601 times, from "
                                                 "before to");
        r = cli_config(cli);
        if (r == CLI_EXIT_OK)
                r = gateway_key(cli, false, &key, &path);
        if (r == CLI_EXIT_OK) {
                json_t *params = json_pack("{s:I, s:I, s:s}", "from", (json_int_t)from, "to",
                                           (json_int_t)to, "file", argv[optind]);

                if (params && with_losses)
                        json_object_set_new(params, "with_losses", json_true());

                r = params ? cli_audit(cli, "export", params) : CLI_EXIT_FAILURE;
                json_decref(params);
        }
        if (r == CLI_EXIT_OK)
                r = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (r != CLI_EXIT_OK)
                goto out;
        /* The verdict and the rows exported come from one snapshot, so that the losses the
         * file states are the ones just verified, and no row written in between goes out
         * unchecked. */
        if (sqlite3_exec(store_db(s), "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
                log_error("%s: cannot read the store: %s", store_path(s),
                          sqlite3_errmsg(store_db(s)));
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        /* Signing a log that does not verify would lend it the gateway's word. */
        if (chain_verify(store_db(s), NULL, &rep) < 0) {
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        if (!rep.ok) {
                log_error("the incident log does not verify, so it is not exported: %s",
                          rep.problem);
                r = CLI_EXIT_REFUSED;
                goto out;
        }
        /* Rows declared lost are a gap in the evidence, which whoever exports must know of. */
        if (rep.lost && !with_losses) {
                log_error("the incident log verifies except for rows declared lost (%s); "
                          "--with-losses exports what remains, the losses stated in the file",
                          rep.loss);
                r = CLI_EXIT_REFUSED;
                goto out;
        }
        if (evidence_export(s, &rep, key, cli->config->gateway_id, from, to, wallclock_ms(), &doc) <
            0) {
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
        if (!text || fileio_write_atomic(argv[optind], text, strlen(text), 0640) < 0) {
                log_error("%s: cannot write the export", argv[optind]);
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        printf("exported %zu incidents to %s, signed by key %s%s%s\n",
               json_array_size(json_object_get(doc, "incidents")), argv[optind], crypto_key_id(key),
               rep.lost ? "; the file states the log's losses: " : "", rep.lost ? rep.loss : "");
out:
        chain_report_clear(&rep);
        free(text);
        json_decref(doc);
        store_free(s);
        crypto_key_free(key);
        free(path);
        return r;
}

int cmd_verify_export(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"key", required_argument, NULL, 'k'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct evidence_summary sum;
        struct crypto_key *key = NULL;
        const char *key_path = NULL;
        json_error_t err;
        json_t *doc = NULL;
        char why[512];
        int c, r;

        (void)cli;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'k':
                        key_path = optarg;
                        break;
                case 'h':
                        printf("Usage: firegate verify-export FILE --key PUB\n\n"
                               "Checks an evidence export offline: its signature with the\n"
                               "gateway's public key PUB (PEM, as firegate gateway-key printed\n"
                               "it), every row against the hash chain entry the gateway made when\n"
                               "it wrote the row, and every chain entry against the one before.\n"
                               "Needs no configuration and no database: any machine will do.\n\n"
                               "An export of a log with rows declared lost (version 2) states\n"
                               "them, and is checked to agree with its chain segment.\n\n"
                               "Exit status: 0 it verifies, 4 it verifies but states rows "
                               "declared\n"
                               "lost, 3 it does not (what fails is said), 1 the file or key "
                               "cannot\n"
                               "be read.\n");
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("verify-export",
                                               "unknown option or missing argument");
                }
        }
        if (optind + 1 != argc || !key_path)
                return cli_usage_error("verify-export", "expected FILE and --key PUB");
        r = crypto_key_load(key_path, &key);
        if (r < 0) {
                log_error_errno(r, "%s: cannot load the key", key_path);
                return CLI_EXIT_FAILURE;
        }
        doc = json_load_file(argv[optind], JSON_REJECT_DUPLICATES, &err);
        if (!doc) {
                log_error("%s: not JSON: %s (line %d)", argv[optind], err.text, err.line);
                crypto_key_free(key);
                return CLI_EXIT_REFUSED;
        }
        r = evidence_verify(doc, key, &sum, why, sizeof(why));
        if (r == 0)
                printf("%s verifies%s: signed by key %s; %lld incidents, %lld chained rows, chain "
                       "entries %lld to %lld, head %s%s%s\n",
                       argv[optind], sum.lost ? " EXCEPT for rows declared lost" : "",
                       crypto_key_id(key), sum.incidents, sum.rows, sum.first_seq, sum.last_seq,
                       sum.head, sum.lost ? "\n" : "", sum.lost ? sum.loss : "");
        else if (r == -EBADMSG)
                printf("%s does NOT verify: %s\n", argv[optind], why);
        else
                log_error_errno(r, "cannot check %s", argv[optind]);
        json_decref(doc);
        crypto_key_free(key);
        if (r == 0)
                return sum.lost ? CLI_EXIT_DECLARED_LOSS : CLI_EXIT_OK;
        return r == -EBADMSG ? CLI_EXIT_REFUSED : CLI_EXIT_FAILURE;
}

/* --- the audit of local looks --- */

int cli_audit_argv(struct cli *cli, const char *action, int argc, char **argv)
{
        json_t *args = json_array();
        int r;

        for (int i = 1; args && i < argc; i++)
                json_array_append_new(args, json_string(argv[i]));
        r = args ? cli_audit(cli, action, args) : CLI_EXIT_FAILURE;
        json_decref(args);
        return r;
}

int cli_audit(struct cli *cli, const char *action, json_t *params)
{
        char path[512], *text = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS), *reply = NULL,
                        line[CONTROL_LINE_MAX], who[128];
        struct store *s = NULL;
        int r;

        if (!text)
                return CLI_EXIT_FAILURE;
        r = cli_config(cli);
        if (r != CLI_EXIT_OK) {
                free(text);
                return r;
        }
        /* A request line is short: filters too long for it are cut, the action never. */
        snprintf(line, sizeof(line) - 64, "%s %s", action, text);
        snprintf(path, sizeof(path), "%s/%s", cli->config->runtime_dir, CONTROL_SOCKET_NAME);
        /* The running daemon records who asks from the socket's peer credentials. */
        r = control_call(path, "audit", line, &reply);
        if (r == 0 && strncmp(reply, "ok ", 3) == 0) {
                r = CLI_EXIT_OK;
                goto out;
        }
        /* No store at all: nothing to look at, and the command says so itself. */
        if (access(cli->config->database, F_OK) < 0 && errno == ENOENT) {
                r = CLI_EXIT_OK;
                goto out;
        }
        /* No daemon: written here, with this process's user, if the store lets us. */
        local_who(who, sizeof(who));
        r = store_open(cli->config->database, STORE_APPEND, &s);
        if (r == 0)
                r = evidence_audit(s, wallclock_ms(), who, "local", action, text, NULL);
        store_free(s);
        if (r == -EBADMSG) {
                r = CLI_EXIT_FAILURE; /* a damaged store: said, with the way to recover */
        } else if (r < 0) {
                log_error("this look at the incident log cannot be recorded in the audit log "
                          "(no daemon answers, and the store cannot be written by this user); "
                          "refused");
                r = CLI_EXIT_FAILURE;
        } else {
                r = CLI_EXIT_OK;
        }
out:
        free(reply);
        free(text);
        return r;
}
