/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_config: `firegate check-config`, which an installer runs after every edit. It reads the
 * config and the files it names, reports every problem and prints the effective settings,
 * and starts nothing.
 */
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

static void check_config_usage(FILE *out)
{
        fprintf(out, "Usage: firegate [--config PATH] check-config [--quiet]\n\n"
                     "Validates the config file and the files it names (the authority key), and\n"
                     "prints the effective settings as a config file. Starts nothing.\n\n"
                     "  -q, --quiet  print only problems\n");
}

int cmd_check_config(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct crypto_key *key = NULL;
        bool quiet = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "qh", options, NULL)) != -1) {
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        check_config_usage(stdout);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("check-config",
                                               "unknown option or missing argument");
                }
        }
        if (optind < argc)
                return cli_unexpected("check-config", optind);
        r = cli_config(cli);
        if (r != CLI_EXIT_OK)
                return r;
        r = cli_authority_key(cli, &key);
        if (r != CLI_EXIT_OK)
                return r;
        if (!quiet) {
                printf("# firegate %s: %s\n", FIREGATE_VERSION,
                       cli->config->path ? cli->config->path
                                         : "embedded defaults (no config file)");
                printf("# authority key %s%s\n", crypto_key_id(key),
                       crypto_key_is_demo(key) ? " - DEMO KEY, NOT FOR PRODUCTION" : "");
                config_print(cli->config, stdout);
        }
        config_uplink_warnings(cli->config, stderr, "firegate: warning: ");
        if (crypto_key_is_demo(key))
                log_warning("%s is a DEMO authority key: records it verifies are marked as "
                            "verified by a demo key",
                            cli->config->authority_key);
        crypto_key_free(key);
        if (fflush(stdout) != 0) {
                log_error("cannot write to standard output");
                return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
}
