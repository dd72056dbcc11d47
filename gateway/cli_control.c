/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_control: `firegate acknowledge|silence|reset TARGET`, which ask the running daemon to act
 * through its control socket (control.h). The daemon records who asked from the socket's peer
 * credentials; nothing here claims an identity.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "log.h"

static int control_command(struct cli *cli, const char *verb, int argc, char **argv)
{
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        char path[512], reply[CONTROL_LINE_MAX];
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'h':
                        printf("Usage: firegate [--config PATH] %s TARGET\n\n"
                               "Asks the running daemon to %s an alarm. TARGET is an incident id\n"
                               "(firegate incidents), or building, floor:N, unit:ID or zone:ID.\n"
                               "The daemon records who asked (the caller's user) with the action.\n"
                               "\nExit status 3 when the daemon refuses (no such incident, nothing "
                               "to %s),\n1 when no daemon is running.\n",
                               verb, verb, verb);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error(verb, "unknown option or missing argument");
                }
        }
        if (optind + 1 != argc)
                return cli_usage_error(verb, "expected exactly one TARGET");
        r = cli_config(cli);
        if (r != CLI_EXIT_OK)
                return r;
        snprintf(path, sizeof(path), "%s/%s", cli->config->runtime_dir, CONTROL_SOCKET_NAME);
        r = control_call(path, verb, argv[optind], reply, sizeof(reply));
        if (r == -ENOENT || r == -ECONNREFUSED) {
                log_error("%s: no daemon is listening (is firegate run active?)", path);
                return CLI_EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(r, "%s: cannot reach the daemon", path);
                return CLI_EXIT_FAILURE;
        }
        if (strncmp(reply, "ok ", 3) == 0) {
                printf("%s\n", reply + 3);
                return CLI_EXIT_OK;
        }
        if (strncmp(reply, "refused ", 8) == 0) {
                log_error("%s", reply + 8);
                return CLI_EXIT_REFUSED;
        }
        log_error("the daemon answered: %s", reply);
        return CLI_EXIT_FAILURE;
}

int cmd_acknowledge(struct cli *cli, int argc, char **argv)
{
        return control_command(cli, "acknowledge", argc, argv);
}

int cmd_silence(struct cli *cli, int argc, char **argv)
{
        return control_command(cli, "silence", argc, argv);
}

int cmd_reset(struct cli *cli, int argc, char **argv)
{
        return control_command(cli, "reset", argc, argv);
}
