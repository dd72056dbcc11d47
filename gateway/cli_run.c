/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_run: `firegate run`, the daemon. One sd-event loop owns everything the daemon touches:
 * the store now, and the broker client, the engine's timer and the GPIO lines as they are
 * added. Signals are taken as loop events (blocked first, so no handler runs at a random
 * point), the systemd watchdog is pinged by the loop itself, and READY=1 is sent once the store
 * and the registry are set up.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "cli.h"
#include "log.h"
#include "registry.h"

struct daemon {
        sd_event *event;
        struct store *store;
};

static int on_stop_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;

        (void)src;
        log_info("received %s; stopping", strsignal((int)si->ssi_signo));
        sd_notify(0, "STOPPING=1");
        return sd_event_exit(d->event, 0);
}

static int daemon_loop(struct daemon *d, const struct registry_summary *sum)
{
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "cannot block SIGTERM and SIGINT");
        r = sd_event_new(&d->event);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop");
        r = sd_event_add_signal(d->event, NULL, SIGTERM, on_stop_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGINT, on_stop_signal, d);
        if (r < 0)
                return log_error_errno(r, "cannot watch SIGTERM and SIGINT");
        r = sd_event_set_watchdog(d->event, true);
        if (r < 0)
                return log_error_errno(r, "cannot set up the systemd watchdog");
        if (sum->have_building)
                log_info("serving building %s (%s): %ld units, %ld residents, %ld detectors%s",
                         sum->location_id, sum->name, sum->units, sum->residents, sum->detectors,
                         sum->demo_verified ? "; registry verified by a DEMO key" : "");
        else
                log_warning("no building registry imported yet (firegate import BUNDLE); "
                            "alarms can only be raised for unknown units");
        if (sum->unverified)
                log_warning("%ld registry records are UNVERIFIED (imported unsigned)",
                            sum->unverified);
        if (sum->other_key)
                log_warning("%ld registry records were verified by another key than the authority "
                            "key configured now; import the authority's current bundle",
                            sum->other_key);
        sd_notifyf(0, "READY=1\nSTATUS=Serving %ld units, %ld detectors", sum->units,
                   sum->detectors);
        log_info("ready");
        r = sd_event_loop(d->event);
        if (r < 0)
                return log_error_errno(r, "event loop failed");
        return 0;
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        char key_id[CRYPTO_KEY_ID_LEN + 1];
        struct daemon d = {0};
        struct registry_summary sum;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'h':
                        printf("Usage: firegate [--config PATH] run\n\n"
                               "Runs the gateway daemon in the foreground until SIGTERM or "
                               "SIGINT.\nUnder systemd it reports readiness (Type=notify) and "
                               "pings the watchdog.\n");
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("run", "unknown option or missing argument");
                }
        }
        if (optind < argc)
                return cli_unexpected("run", optind);
        r = cli_open_store(cli, STORE_READ_WRITE, &d.store);
        if (r != CLI_EXIT_OK)
                return r;
        cli_authority_key_id(cli, key_id);
        r = registry_summary(d.store, key_id[0] ? key_id : NULL, &sum) < 0 ? CLI_EXIT_FAILURE
                                                                           : CLI_EXIT_OK;
        if (r == CLI_EXIT_OK && daemon_loop(&d, &sum) < 0)
                r = CLI_EXIT_FAILURE;
        sd_event_unref(d.event);
        store_free(d.store);
        return r;
}
