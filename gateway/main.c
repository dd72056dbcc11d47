/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main: the `firegate` binary. It parses the global options, picks the subcommand and leaves
 * with its exit code. The daemon is `firegate run`; every other subcommand is a short-lived
 * tool for installers, managers and fire police over the same store and config.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "log.h"

struct command {
        const char *name;
        int (*run)(struct cli *cli, int argc, char **argv);
        const char *summary;
};

static const struct command commands[] = {
        {"run", cmd_run, "run the gateway daemon"},
        {"import", cmd_import, "check a signed registry bundle and store it (all or nothing)"},
        {"building", cmd_building, "show the building this gateway serves"},
        {"zones", cmd_zones, "list installer zones"},
        {"units", cmd_units, "list units with their verification state"},
        {"residents", cmd_residents, "list residents (identity numbers masked)"},
        {"detectors", cmd_detectors, "list detectors and how the gateway hears them"},
        {"incidents", cmd_incidents, "list incidents by time, unit, floor, kind and state"},
        {"incident", cmd_incident, "incident show ID: one incident's whole timeline"},
        {"report", cmd_report, "alarms, false alarms, faults, time to acknowledge, untested"},
        {"check-config", cmd_check_config, "validate the config and print the effective settings"},
        {"provision", cmd_provision, "set the gateway id, uplink, certificates and authority key"},
        {"acknowledge", cmd_acknowledge, "acknowledge an alarm (an incident id or a zone)"},
        {"ack", cmd_acknowledge, "the same as acknowledge"},
        {"silence", cmd_silence, "silence the sounders of an alarm"},
        {"reset", cmd_reset, "reset an alarm; a cause still present alarms again"},
        {"status", cmd_status, "what the running daemon sees now, per detector with --detectors"},
        {"verify-log", cmd_verify_log, "check the incident log against its hash chain"},
        {"declare-loss", cmd_declare_loss, "after a salvage: state which rows damage took"},
        {"export", cmd_export, "a signed export of the incident log for a case file"},
        {"verify-export", cmd_verify_export, "check an export's signature and chain, offline"},
        {"gateway-key", cmd_gateway_key, "print (and first make) the key exports are signed with"},
        {"user", cmd_user, "the security desk's accounts: add, passwd, role, disable, list"},
        {"walk-test", cmd_walk_test, "commissioning: test mode on a target, and who was heard"},
        {"web", cmd_web, "serve the security desk's page: the building live, incidents, history"},
        {"replay", cmd_replay, "run the alarm rules over a file of readings; writes nothing"},
        {"decode", cmd_decode, "show the readings one bridge message gives (device check)"},
};

static void usage(FILE *out)
{
        fprintf(out, "Usage: firegate [--config PATH] COMMAND [OPTIONS] [ARGS]\n"
                     "       firegate COMMAND --help\n\n"
                     "Fire-safety monitoring gateway for apartment buildings.\n\nCommands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
        fprintf(out,
                "\nOptions:\n"
                "  -c, --config PATH  config file (default: $%s, else %s,\n"
                "                     else the embedded defaults)\n"
                "  -h, --help         show this help\n"
                "  -V, --version      show the version\n\nExit status:\n",
                CONFIG_ENV, CONFIG_DEFAULT_PATH);
        for (int e = CLI_EXIT_OK; e <= CLI_EXIT_DECLARED_LOSS; e++)
                fprintf(out, "  %d  %s\n", e, cli_exit_string((enum cli_exit)e));
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        struct cli cli = {0};
        int c, ret;

        /* The store holds residents' names and phone numbers: nothing firegate creates is for
         * other users (the identity secret is 0600 on its own). */
        umask(0027);
        /* getopt's own messages repeat what was typed, which may be an identity number; every
         * command says "unknown option" itself. */
        opterr = 0;
        cli.journal = cli_stderr_is_journal();
        log_setup(LOG_INFO, cli.journal);
        /* "+": stop at the subcommand, whose options are its own. */
        while ((c = getopt_long(argc, argv, "+c:hV", options, NULL)) != -1) {
                switch (c) {
                case 'c':
                        cli.config_path = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return CLI_EXIT_OK;
                case 'V':
                        printf("firegate %s\n", FIREGATE_VERSION);
                        return CLI_EXIT_OK;
                default:
                        log_error("unknown option or missing argument (see firegate --help)");
                        return CLI_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(argv[optind], commands[i].name) != 0)
                        continue;
                argc -= optind;
                argv += optind;
                optind = 0; /* the subcommand parses its own options from a fresh start */
                ret = commands[i].run(&cli, argc, argv);
                config_free(cli.config);
                return ret;
        }
        if (strcmp(argv[optind], "help") == 0) {
                usage(stdout);
                return CLI_EXIT_OK;
        }
        /* Not echoed: what was typed may be an identity number in the wrong place. */
        log_error("unknown command (see firegate --help)");
        return CLI_EXIT_USAGE;
}
