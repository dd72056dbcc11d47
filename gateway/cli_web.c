/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_web: `firegate web`, the security desk's page (web.c), as its own process: it opens the
 * store read-only and never writes it; actions go to the daemon's control socket.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "cli.h"
#include "log.h"
#include "report.h"
#include "web.h"

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void)si;
        (void)userdata;
        log_info("web: stopping");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int cmd_web(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct store *store = NULL;
        struct web *web = NULL;
        sd_event *event = NULL;
        sigset_t mask;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'h':
                        printf("Usage: firegate [--config PATH] web\n\n"
                               "Serves the security desk's page (docs/desk.md) on [web] listen "
                               "until SIGTERM\nor SIGINT: the building by floor, open incidents "
                               "live, history, and\nacknowledge / silence / reset for managers. "
                               "It reads the store read-only\nand acts through the daemon's "
                               "control socket. Accounts: firegate user.\n");
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("web", "unknown option or missing argument");
                }
        }
        if (optind < argc)
                return cli_unexpected("web", optind);
        /* History times are shown in the gateway's zone, as the CLI shows them. */
        if (report_use_zone(NULL) < 0)
                return CLI_EXIT_FAILURE;
        r = cli_open_store(cli, STORE_READ_ONLY, &store);
        if (r != CLI_EXIT_OK)
                return r;
        r = CLI_EXIT_FAILURE;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        /* A client that goes away mid-answer must not end the process. */
        signal(SIGPIPE, SIG_IGN);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                log_error_errno(-errno, "web: cannot block SIGTERM and SIGINT");
                goto out;
        }
        if (sd_event_default(&event) < 0 ||
            sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL) < 0 ||
            sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL) < 0) {
                log_error("web: cannot set up the event loop");
                goto out;
        }
        if (web_new(event, cli->config, store, &web) < 0)
                goto out;
        sd_notify(0, "READY=1");
        if (sd_event_loop(event) < 0)
                goto out;
        r = CLI_EXIT_OK;
out:
        web_free(web);
        sd_event_unref(event);
        store_free(store);
        return r;
}
