/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli: what the subcommands of the `firegate` binary share, and `firegate-web`, which `firegate
 * web` runs: the exit codes (documented in firegate --help and the README; numbered for good,
 * never reused), the lazily loaded config, and opening the store where the config says.
 *
 * Each subcommand is `int cmd_<name>(struct cli *cli, int argc, char **argv)`, gets its own
 * argv (argv[0] is the subcommand's name), and returns an exit code.
 */
#ifndef FIREGATE_CLI_H
#define FIREGATE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "crypto.h"
#include "store.h"
#include "table.h"

enum cli_exit {
        CLI_EXIT_OK = 0,            /* done */
        CLI_EXIT_FAILURE = 1,       /* runtime failure: a file, the store, the system */
        CLI_EXIT_USAGE = 2,         /* the command line is wrong */
        CLI_EXIT_REFUSED = 3,       /* input refused: a bundle, a record, a config with errors */
        CLI_EXIT_DECLARED_LOSS = 4, /* the incident log verifies, but rows of it are declared
                                       lost (verify-log, verify-export) */
};

/* A sentence for the exit code (for --help). */
const char *cli_exit_string(enum cli_exit e);

/* Whether stderr is journald's stream (JOURNAL_STREAM names it), so log lines carry their
 * priority; for log_setup() before anything logs. */
bool cli_stderr_is_journal(void);

struct cli {
        const char *config_path;     /* --config, or NULL */
        struct config *config;       /* loaded by cli_config() */
        bool journal;                /* stderr is connected to journald */
        char secret_fingerprint[17]; /* of the identity secret, once a command has read it */
};

/* Loads the config once: --config, then $FIREGATE_CONFIG, then CONFIG_DEFAULT_PATH, else the
 * embedded defaults when that file does not exist. Prints every error. Returns CLI_EXIT_OK or
 * the exit code to leave with. */
int cli_config(struct cli *cli);

/* Refuses (CLI_EXIT_FAILURE, said) to write into a state directory another user owns. */
int cli_check_owner(struct cli *cli);

/* Loads the config and opens the store it names, creating the state directory for a writer.
 * Returns CLI_EXIT_OK or the exit code to leave with (the store has said why). */
int cli_open_store(struct cli *cli, enum store_mode mode, struct store **out);

/* Loads the authority key the config names; prints why it cannot. Returns CLI_EXIT_OK or the
 * exit code to leave with. */
int cli_authority_key(struct cli *cli, struct crypto_key **out);

/* The id of the configured authority key, or an empty string and -ENOKEY when it cannot be read
 * (listings then show verification as stored, without comparing keys). Says nothing. */
int cli_authority_key_id(struct cli *cli, char id[CRYPTO_KEY_ID_LEN + 1]);

/* Reads a secret (a password) as one line of standard input into @buf of @size bytes, without
 * its line end; on a terminal it asks @question first and does not echo. Returns 0, -ENODATA
 * at end of input, -E2BIG for a line that does not fit (@buf is wiped), or the errno of the
 * terminal. */
int cli_read_secret(const char *question, char *buf, size_t size);

/* Says that @cmd got a usage error (printf-style) and returns CLI_EXIT_USAGE. */
/* --tz ZONE (NULL: the system's), before any time is read or printed; a name that is no zone
 * installed here is a usage error of @cmd. Returns an exit code. */
int cli_use_zone(const char *cmd, const char *zone);

int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Says that @cmd got an argument it takes none of, without repeating it, and returns
 * CLI_EXIT_USAGE. */
int cli_unexpected(const char *cmd, int position);

/* Runs a listing statement and prints it; returns an exit code. */
int cli_print_stmt(struct store *s, sqlite3_stmt *st, enum table_format fmt);

/* The subcommands; each parses its own options from argv[1..] and returns an exit code. */
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_check_config(struct cli *cli, int argc, char **argv);
int cmd_building(struct cli *cli, int argc, char **argv);
int cmd_zones(struct cli *cli, int argc, char **argv);
int cmd_units(struct cli *cli, int argc, char **argv);
int cmd_residents(struct cli *cli, int argc, char **argv);
int cmd_detectors(struct cli *cli, int argc, char **argv);
int cmd_replay(struct cli *cli, int argc, char **argv);
int cmd_acknowledge(struct cli *cli, int argc, char **argv);
int cmd_silence(struct cli *cli, int argc, char **argv);
int cmd_reset(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_verify_log(struct cli *cli, int argc, char **argv);
/* Records a local look at the incident log (@action with its filters @params) in the chained
 * audit table: through the running daemon, which takes who asks from the kernel, or else
 * directly. Returns an exit code; a look that cannot be recorded is refused (said). */
int cli_audit(struct cli *cli, const char *action, json_t *params);
/* The same, the look's params being its command line (@argv after the command's name). */
int cli_audit_argv(struct cli *cli, const char *action, int argc, char **argv);
int cmd_declare_loss(struct cli *cli, int argc, char **argv);
int cmd_gateway_key(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_verify_export(struct cli *cli, int argc, char **argv);
int cmd_decode(struct cli *cli, int argc, char **argv);
int cmd_incidents(struct cli *cli, int argc, char **argv);
int cmd_incident(struct cli *cli, int argc, char **argv);
int cmd_report(struct cli *cli, int argc, char **argv);
int cmd_user(struct cli *cli, int argc, char **argv);
int cmd_web(struct cli *cli, int argc, char **argv);
int cmd_provision(struct cli *cli, int argc, char **argv);
int cmd_walk_test(struct cli *cli, int argc, char **argv);

#endif
