/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * web_main: the `firegate-web` binary, the security desk's page (web.c) as its own process.
 * `firegate web` runs it in its place with the same arguments (cli_web.c); run directly it
 * takes firegate's --config as well. It opens the store read-only and never writes it; actions
 * go to the daemon's control socket. It is the only binary that links libmicrohttpd, so the
 * daemon does not map the HTTP and TLS libraries it never uses.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "cli.h"
#include "log.h"
#include "report.h"
#include "web.h"

static void usage(void)
{
        printf("Usage: firegate [--config PATH] web\n"
               "       firegate-web [--config PATH]\n\n"
               "Serves the security desk's page (docs/desk.md) on [web] listen until SIGTERM\n"
               "or SIGINT: the building by floor, open incidents live, history, and\n"
               "acknowledge / silence / reset for managers. It reads the store read-only\n"
               "and acts through the daemon's control socket. Accounts: firegate user.\n\n"
               "Options:\n"
               "  -c, --config PATH  config file (default: $%s, else %s,\n"
               "                     else the embedded defaults)\n"
               "  -h, --help         show this help\n",
               CONFIG_ENV, CONFIG_DEFAULT_PATH);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void)si;
        (void)userdata;
        log_info("web: stopping");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* Serves until SIGTERM or SIGINT; returns an exit code. */
static int serve(struct cli *cli)
{
        struct store *store = NULL;
        struct web *web = NULL;
        sd_event *event = NULL;
        sigset_t mask;
        int r;

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

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct cli cli = {0};
        int c, ret;

        /* As firegate does (main.c): nothing made here is for other users, and getopt's own
         * messages, which repeat what was typed, stay off. */
        umask(0027);
        opterr = 0;
        cli.journal = cli_stderr_is_journal();
        log_setup(LOG_INFO, cli.journal);
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
                switch (c) {
                case 'c':
                        cli.config_path = optarg;
                        break;
                case 'h':
                        usage();
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("web", "unknown option or missing argument");
                }
        }
        if (optind < argc)
                return cli_unexpected("web", optind);
        ret = serve(&cli);
        config_free(cli.config);
        return ret;
}
