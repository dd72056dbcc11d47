/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_run: `firegate run`, the daemon's command line. The daemon itself is daemon.c; this only
 * loads what it needs and hands over.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "daemon.h"
#include "log.h"

int cmd_run(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        char key_id[CRYPTO_KEY_ID_LEN + 1];
        struct store *store = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'h':
                        printf("Usage: firegate [--config PATH] run\n\n"
                               "Runs the gateway daemon in the foreground until SIGTERM or "
                               "SIGINT: it\nlistens to the building's MQTT broker, runs the alarm "
                               "rules and logs\nevery decision. Under systemd it reports "
                               "readiness (Type=notify) and\npings the watchdog.\n");
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("run", "unknown option or missing argument");
                }
        }
        if (optind < argc)
                return cli_unexpected("run", optind);
        r = cli_open_store(cli, STORE_READ_WRITE, &store);
        if (r != CLI_EXIT_OK)
                return r;
        cli_authority_key_id(cli, key_id);
        r = daemon_run(cli->config, store, key_id[0] ? key_id : NULL) < 0 ? CLI_EXIT_FAILURE
                                                                          : CLI_EXIT_OK;
        store_free(store);
        return r;
}
