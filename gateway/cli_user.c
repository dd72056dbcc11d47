/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_user: `firegate user`, the security desk's accounts (users.h, docs/desk.md). A password is
 * never taken from the command line, where other users could read it in /proc: it is one line
 * of standard input when that is not a terminal, else typed twice without echo. Buffers that
 * held a password are wiped.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
/* Not <sodium.h>: its crypto_sign() would clash with ours (crypto.h, through cli.h). */
#include <sodium/utils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "evidence.h"
#include "log.h"
#include "users.h"
#include "wallclock.h"

#define PASSWORD_BUF (USERS_PASSWORD_MAX + 2)

static void user_usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] user add NAME --role ROLE [--language vi|en]\n"
                "       firegate [--config PATH] user passwd NAME\n"
                "       firegate [--config PATH] user role NAME ROLE\n"
                "       firegate [--config PATH] user disable NAME\n"
                "       firegate [--config PATH] user list [--json]\n\n"
                "Manages the security desk's accounts. ROLE is viewer (sees), manager (also\n"
                "acknowledges, silences, resets) or admin (also manages accounts). NAME is 1 to\n"
                "32 of a-z 0-9 . _ -. The password is read from standard input (one line) when\n"
                "it is not a terminal, else asked twice without echo; it needs 10 characters\n"
                "and must not be the name.\n\n"
                "Exit status: 0 done, 1 the store failed, 2 usage, 3 refused (a taken name, a\n"
                "weak password, no such account).\n");
}

/* The new password for @name into @pw: checked for weakness here so the user hears why. Returns
 * an exit code, said. */
static int read_password(const char *name, char pw[PASSWORD_BUF])
{
        char again[PASSWORD_BUF];
        const char *weak;
        int r;

        r = cli_read_secret("New password: ", pw, PASSWORD_BUF);
        if (isatty(STDIN_FILENO)) {
                if (r == 0) {
                        r = cli_read_secret("Again: ", again, sizeof(again));
                        if (r == 0 && strcmp(pw, again) != 0)
                                r = -EBADMSG;
                        sodium_memzero(again, sizeof(again));
                }
        }
        if (r == -EBADMSG) {
                log_error("user: the two passwords differ");
                return CLI_EXIT_REFUSED;
        }
        if (r == -ENODATA) {
                log_error("user: no password on standard input");
                return CLI_EXIT_REFUSED;
        }
        if (r == -E2BIG) {
                log_error("user: a password has at most %d bytes", USERS_PASSWORD_MAX);
                return CLI_EXIT_REFUSED;
        }
        if (r < 0) {
                log_error_errno(r, "user: cannot read the password");
                return CLI_EXIT_FAILURE;
        }
        weak = users_password_weakness(name, pw);
        if (weak) {
                log_error("user: %s", weak);
                return CLI_EXIT_REFUSED;
        }
        return CLI_EXIT_OK;
}

/* Says what a users_ call's error means for @name; returns the exit code. */
static int said(int r, const char *name)
{
        switch (r) {
        case 0:
                return CLI_EXIT_OK;
        case -EEXIST:
                log_error("user: account %s exists already", name);
                return CLI_EXIT_REFUSED;
        case -ENOENT:
                log_error("user: no account %s", name);
                return CLI_EXIT_REFUSED;
        case -ENOMEM:
                log_error("user: not enough memory for the password hash");
                return CLI_EXIT_FAILURE;
        default:
                return CLI_EXIT_FAILURE; /* the store has said why */
        }
}

/* Records an account change in the chained audit log, as who made it: accounts decide who may
 * act on alarms, so their changes are evidence too. A change that cannot be recorded was made
 * all the same (it is committed); the failure is said. */
static void audit_change(struct store *s, const char *action, const char *name, const char *role)
{
        struct passwd *pw = getpwuid(getuid());
        char who[128];
        json_t *params = json_pack("{s:s, s:s*}", "name", name, "role", role);
        char *text = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

        snprintf(who, sizeof(who), "uid %u (%.60s)", (unsigned)getuid(), pw ? pw->pw_name : "?");
        if (!text || evidence_audit(s, wallclock_ms(), who, "local", action, text, "done") < 0)
                log_error("user: the change of %s could not be recorded in the audit log", name);
        free(text);
        json_decref(params);
}

static int user_add(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"role", required_argument, NULL, 'r'},
                {"language", required_argument, NULL, 'l'},
                {0},
        };
        const char *role_text = NULL, *language = "vi", *name;
        char pw[PASSWORD_BUF] = "";
        enum users_role role;
        struct store *s = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
                switch (c) {
                case 'r':
                        role_text = optarg;
                        break;
                case 'l':
                        language = optarg;
                        break;
                default:
                        return cli_usage_error("user add", "unknown option or missing argument");
                }
        }
        if (optind + 1 != argc)
                return cli_usage_error("user add", "one account name, please");
        name = argv[optind];
        if (!users_name_valid(name))
                return cli_usage_error("user add", "a name is 1 to 32 of a-z 0-9 . _ -");
        if (!role_text || users_role_parse(role_text, &role) < 0)
                return cli_usage_error("user add", "--role is viewer, manager or admin");
        if (strcmp(language, "vi") != 0 && strcmp(language, "en") != 0)
                return cli_usage_error("user add", "--language is vi or en");
        r = read_password(name, pw);
        if (r == CLI_EXIT_OK)
                r = cli_open_store(cli, STORE_READ_WRITE, &s);
        if (r == CLI_EXIT_OK) {
                r = said(users_add(s, name, role, language, pw, wallclock_ms()), name);
                if (r == CLI_EXIT_OK) {
                        audit_change(s, "user-add", name, users_role_name(role));
                        printf("added %s (%s)\n", name, users_role_name(role));
                }
        }
        sodium_memzero(pw, sizeof(pw));
        store_free(s);
        return r;
}

static int user_passwd(struct cli *cli, int argc, char **argv)
{
        char pw[PASSWORD_BUF] = "";
        struct store *s = NULL;
        int r;

        if (argc != 2)
                return cli_usage_error("user passwd", "one account name, please");
        r = read_password(argv[1], pw);
        if (r == CLI_EXIT_OK)
                r = cli_open_store(cli, STORE_READ_WRITE, &s);
        if (r == CLI_EXIT_OK) {
                r = said(users_set_password(s, argv[1], pw), argv[1]);
                if (r == CLI_EXIT_OK) {
                        audit_change(s, "user-passwd", argv[1], NULL);
                        printf("changed the password of %s\n", argv[1]);
                }
        }
        sodium_memzero(pw, sizeof(pw));
        store_free(s);
        return r;
}

static int user_role(struct cli *cli, int argc, char **argv)
{
        enum users_role role;
        struct store *s = NULL;
        int r;

        if (argc != 3)
                return cli_usage_error("user role", "an account name and a role, please");
        if (users_role_parse(argv[2], &role) < 0)
                return cli_usage_error("user role", "a role is viewer, manager or admin");
        r = cli_open_store(cli, STORE_READ_WRITE, &s);
        if (r == CLI_EXIT_OK) {
                r = said(users_set_role(s, argv[1], role), argv[1]);
                if (r == CLI_EXIT_OK) {
                        audit_change(s, "user-role", argv[1], users_role_name(role));
                        printf("%s is now %s\n", argv[1], users_role_name(role));
                }
        }
        store_free(s);
        return r;
}

static int user_disable(struct cli *cli, int argc, char **argv)
{
        struct store *s = NULL;
        int r;

        if (argc != 2)
                return cli_usage_error("user disable", "one account name, please");
        r = cli_open_store(cli, STORE_READ_WRITE, &s);
        if (r == CLI_EXIT_OK) {
                r = said(users_disable(s, argv[1]), argv[1]);
                if (r == CLI_EXIT_OK) {
                        audit_change(s, "user-disable", argv[1], NULL);
                        printf("disabled %s\n", argv[1]);
                }
        }
        store_free(s);
        return r;
}

static int user_list(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"json", no_argument, NULL, 'j'},
                {0},
        };
        enum table_format fmt = TABLE_TEXT;
        sqlite3_stmt *st = NULL;
        struct store *s = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (c != 'j')
                        return cli_usage_error("user list", "unknown option or missing argument");
                fmt = TABLE_JSON;
        }
        if (optind != argc)
                return cli_unexpected("user list", optind);
        r = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (r != CLI_EXIT_OK)
                return r;
        r = users_list(s, &st) < 0 ? CLI_EXIT_FAILURE : cli_print_stmt(s, st, fmt);
        sqlite3_finalize(st);
        store_free(s);
        return r;
}

int cmd_user(struct cli *cli, int argc, char **argv)
{
        static const struct {
                const char *name;
                int (*run)(struct cli *cli, int argc, char **argv);
        } verbs[] = {
                {"add", user_add},         {"passwd", user_passwd}, {"role", user_role},
                {"disable", user_disable}, {"list", user_list},
        };

        if (argc < 2) {
                user_usage(stderr);
                return CLI_EXIT_USAGE;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                user_usage(stdout);
                return CLI_EXIT_OK;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
                if (strcmp(argv[1], verbs[i].name) == 0) {
                        optind = 0;
                        return verbs[i].run(cli, argc - 1, argv + 1);
                }
        }
        return cli_usage_error("user", "the verbs are add, passwd, role, disable and list");
}
