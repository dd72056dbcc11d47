/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_common: the parts of the command line every subcommand shares. Messages for people go to
 * stderr through log; listings and results go to stdout so they can be piped.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sodium/utils.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "diag.h"
#include "fileio.h"
#include "log.h"
#include "report.h"

/* journald sets JOURNAL_STREAM to the device and inode of the stream it gave us; a child with a
 * redirected stderr inherits the variable, so compare rather than trust it (sd_journal_stream_fd
 * documentation). */
bool cli_stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        uintmax_t dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%ju:%ju", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

const char *cli_exit_string(enum cli_exit e)
{
        switch (e) {
        case CLI_EXIT_OK:
                return "success";
        case CLI_EXIT_FAILURE:
                return "runtime failure (a file, the store or the system failed)";
        case CLI_EXIT_USAGE:
                return "usage error (unknown command or option, missing argument)";
        case CLI_EXIT_REFUSED:
                return "input refused (a bundle, a record or a config with errors; each is "
                       "named)";
        case CLI_EXIT_DECLARED_LOSS:
                return "the incident log verifies except for rows declared lost to damage "
                       "(verify-log, verify-export)";
        }
        return "unknown exit code";
}

int cli_config(struct cli *cli)
{
        const char *path = cli->config_path;
        bool chosen = true;
        struct diag *d = NULL;
        int r, ret = CLI_EXIT_OK;

        if (cli->config)
                return CLI_EXIT_OK;
        if (!path)
                path = getenv(CONFIG_ENV);
        if (!path || !*path) {
                path = CONFIG_DEFAULT_PATH;
                chosen = false;
        }
        if (!chosen && access(path, F_OK) < 0 && errno == ENOENT) {
                cli->config = config_new_defaults();
                if (!cli->config) {
                        log_error("out of memory");
                        return CLI_EXIT_FAILURE;
                }
                log_debug("%s does not exist; using the embedded defaults", path);
                goto out_setup;
        }
        d = diag_new();
        if (!d) {
                log_error("out of memory");
                return CLI_EXIT_FAILURE;
        }
        r = config_load(path, d, &cli->config);
        if (r < 0) {
                diag_log(d, LOG_ERR);
                ret = r == -EINVAL ? CLI_EXIT_REFUSED : CLI_EXIT_FAILURE;
                goto out;
        }
out_setup:
        log_setup(cli->config->log_level, cli->journal);
out:
        diag_free(d);
        return ret;
}

int cli_check_owner(struct cli *cli)
{
        struct stat st;
        struct passwd *pw;

        if (stat(cli->config->state_dir, &st) < 0 || st.st_uid == geteuid())
                return CLI_EXIT_OK;
        /* Files made by another user (root, typically) would lock the daemon out of its own
         * store: its unit runs as the state directory's owner. */
        pw = getpwuid(st.st_uid);
        if (pw)
                log_error("%s belongs to %s; run this as that user (sudo -u %s firegate ...)",
                          cli->config->state_dir, pw->pw_name, pw->pw_name);
        else
                log_error("%s belongs to uid %u; run this as that user", cli->config->state_dir,
                          (unsigned)st.st_uid);
        return CLI_EXIT_FAILURE;
}

int cli_open_store(struct cli *cli, enum store_mode mode, struct store **out)
{
        int r = cli_config(cli);

        if (r != CLI_EXIT_OK)
                return r;
        if (mode == STORE_READ_WRITE) {
                r = cli_check_owner(cli);
                if (r != CLI_EXIT_OK)
                        return r;
                r = fileio_mkdir_p(cli->config->state_dir, 0750);
                if (r < 0) {
                        log_error_errno(r, "cannot create the state directory %s",
                                        cli->config->state_dir);
                        return CLI_EXIT_FAILURE;
                }
        } else if (access(cli->config->database, F_OK) < 0) {
                log_error("%s: no store yet; import a registry bundle first "
                          "(firegate import BUNDLE)",
                          cli->config->database);
                return CLI_EXIT_FAILURE;
        }
        r = store_open(cli->config->database, mode, out);
        return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

int cli_authority_key(struct cli *cli, struct crypto_key **out)
{
        const char *path;
        char where[512];
        int r = cli_config(cli);

        if (r != CLI_EXIT_OK)
                return r;
        path = cli->config->authority_key;
        config_where(cli->config, "registry", "authority_key", where, sizeof(where));
        r = crypto_key_load(path, out);
        switch (r) {
        case 0:
                /* The authority's signing key on a gateway would let anyone holding the gateway
                 * sign records; a gateway holds only the public half. */
                if (crypto_key_has_private(*out)) {
                        log_error("%s: %s is a private key; the gateway must hold only the "
                                  "registry authority's public key",
                                  where, path);
                        crypto_key_free(*out);
                        *out = NULL;
                        return CLI_EXIT_REFUSED;
                }
                return CLI_EXIT_OK;
        case -EBADMSG:
                log_error("%s: %s is not a PEM Ed25519 key", where, path);
                return CLI_EXIT_REFUSED;
        case -EPROTONOSUPPORT:
                log_error("%s: %s is not an Ed25519 key; the authority signs with Ed25519", where,
                          path);
                return CLI_EXIT_REFUSED;
        default:
                log_error_errno(r, "%s: cannot read the authority key %s", where, path);
                return CLI_EXIT_FAILURE;
        }
}

int cli_authority_key_id(struct cli *cli, char id[CRYPTO_KEY_ID_LEN + 1])
{
        struct crypto_key *key = NULL;

        id[0] = '\0';
        if (cli_config(cli) != CLI_EXIT_OK || crypto_key_load(cli->config->authority_key, &key) < 0)
                return -ENOKEY;
        snprintf(id, CRYPTO_KEY_ID_LEN + 1, "%s", crypto_key_id(key));
        crypto_key_free(key);
        return 0;
}

int cli_unexpected(const char *cmd, int position)
{
        /* Not echoed: a stray argument can be an identity number typed in the wrong place. */
        return cli_usage_error(cmd, "unexpected argument (the %d. after the command)", position);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_error("%s: %s (see firegate %s --help)", cmd, msg, cmd);
        return CLI_EXIT_USAGE;
}

int cli_print_stmt(struct store *s, sqlite3_stmt *st, enum table_format fmt)
{
        struct table *t = table_from_stmt(st);
        int r, ret = CLI_EXIT_OK;

        if (!t) {
                log_error("out of memory");
                return CLI_EXIT_FAILURE;
        }
        r = table_fill(t, st);
        if (r < 0) {
                if (r == -EIO)
                        store_error(s, "listing");
                else
                        log_error_errno(r, "listing");
                ret = CLI_EXIT_FAILURE;
                goto out;
        }
        if (table_print(t, fmt, stdout) < 0) {
                log_error("cannot write the listing to standard output");
                ret = CLI_EXIT_FAILURE;
        }
out:
        table_free(t);
        return ret;
}

int cli_use_zone(const char *cmd, const char *zone)
{
        if (report_use_zone(zone) < 0)
                return cli_usage_error(cmd,
                                       "--tz expects a time zone installed on this system, such "
                                       "as Asia/Ho_Chi_Minh or UTC, not '%s'",
                                       zone);
        return CLI_EXIT_OK;
}

int cli_read_secret(const char *question, char *buf, size_t size)
{
        bool tty = isatty(STDIN_FILENO);
        struct termios old, quiet;
        size_t len;
        int r = 0;

        if (tty) {
                fputs(question, stderr);
                fflush(stderr);
                if (tcgetattr(STDIN_FILENO, &old) < 0)
                        return -errno;
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t)ECHO;
                quiet.c_lflag |= ECHONL;
                if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
                        return -errno;
        }
        if (!fgets(buf, (int)size, stdin)) {
                r = -ENODATA;
        } else {
                len = strcspn(buf, "\r\n");
                if (len == strlen(buf) && !feof(stdin))
                        r = -E2BIG;
                buf[len] = '\0';
        }
        if (tty)
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        if (r < 0)
                sodium_memzero(buf, size);
        return r;
}
