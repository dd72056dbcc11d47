/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uplink_probe: drives gateway/uplink on a real sd-event loop for the integration tests, and
 * prints one line per event on stdout:
 *   connected URI v5|v4     lost URI     delivered TAG     message TOPIC PAYLOAD     exit
 * It publishes "msg-1" .. "msg-N" (tags 1..N) on --topic as the daemon's outbox would: in
 * order, at most max_inflight at a time, and after a reconnect again from the first one not yet
 * delivered. It stops on SIGTERM or SIGINT, or with --exit-when-done once all N are delivered.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "uplink.h"

#define PROBE_MAX_LIST 8

struct probe {
        sd_event *event;
        struct uplink *uplink;
        const char *topic;
        int qos;
        uint64_t count, next, n_delivered;
        bool *delivered; /* by tag, 1..count */
        bool exit_when_done;
};

static void pump(struct probe *p)
{
        char payload[64];

        while (p->next <= p->count) {
                int r, len;

                if (p->delivered[p->next]) {
                        p->next++;
                        continue;
                }
                len = snprintf(payload, sizeof(payload), "msg-%" PRIu64, p->next);
                r = uplink_publish(p->uplink, p->topic, payload, (size_t)len, p->qos, false,
                                   p->next);
                if (r == -EAGAIN || r == -ENOTCONN)
                        return;
                if (r < 0) {
                        log_error_errno(r, "probe: cannot publish %" PRIu64, p->next);
                        sd_event_exit(p->event, 1);
                        return;
                }
                p->next++;
        }
}

static void done_check(struct probe *p)
{
        if (p->exit_when_done && p->n_delivered == p->count)
                sd_event_exit(p->event, 0);
}

static void on_state(void *ctx, bool connected, const char *uri, int version)
{
        struct probe *p = ctx;

        if (!connected) {
                printf("lost %s inflight %zu\n", uri, uplink_inflight(p->uplink));
                return;
        }
        printf("connected %s v%d\n", uri, version);
        p->next = 1; /* again from the first not yet delivered, as the outbox does */
        pump(p);
        done_check(p);
}

static void on_delivered(void *ctx, uint64_t tag)
{
        struct probe *p = ctx;

        printf("delivered %" PRIu64 "\n", tag);
        if (tag >= 1 && tag <= p->count && !p->delivered[tag]) {
                p->delivered[tag] = true;
                p->n_delivered++;
        }
        pump(p);
        done_check(p);
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
        (void)ctx;
        printf("message %s %.*s\n", topic, (int)len, (const char *)payload);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void)s;
        (void)si;
        return sd_event_exit(userdata, 0);
}

static void usage(void)
{
        fputs("usage: uplink_probe --uri URI [--uri URI...] [--cafile F] [--cert F --key F]\n"
              "  [--client-id ID] [--username U --password P] [--status-topic T]\n"
              "  [--subscribe T...] [--topic T --count N [--qos Q]] [--exit-when-done]\n"
              "  [--keepalive S] [--backoff-min MS] [--backoff-max MS] [--max-inflight N]\n"
              "  [--verbose]\n",
              stderr);
}

static int parse_number(const char *s, long min, long max, long *out)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return -EINVAL;
        *out = v;
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                {"uri", required_argument, NULL, 'u'},
                {"cafile", required_argument, NULL, 'C'},
                {"cert", required_argument, NULL, 'c'},
                {"key", required_argument, NULL, 'k'},
                {"client-id", required_argument, NULL, 'i'},
                {"username", required_argument, NULL, 'U'},
                {"password", required_argument, NULL, 'P'},
                {"status-topic", required_argument, NULL, 's'},
                {"subscribe", required_argument, NULL, 'S'},
                {"topic", required_argument, NULL, 't'},
                {"count", required_argument, NULL, 'n'},
                {"qos", required_argument, NULL, 'q'},
                {"keepalive", required_argument, NULL, 'K'},
                {"backoff-min", required_argument, NULL, 'b'},
                {"backoff-max", required_argument, NULL, 'B'},
                {"max-inflight", required_argument, NULL, 'm'},
                {"exit-when-done", no_argument, NULL, 'x'},
                {"verbose", no_argument, NULL, 'v'},
                {NULL, 0, NULL, 0},
        };
        const char *uris[PROBE_MAX_LIST], *subs[PROBE_MAX_LIST];
        struct uplink_options opt = {.uris = uris,
                                     .subscriptions = subs,
                                     .client_id = "uplink-probe",
                                     .keepalive_s = 5,
                                     .backoff_min_ms = 200,
                                     .backoff_max_ms = 2000};
        struct probe p = {.qos = 1};
        sigset_t mask;
        long v;
        int c, r, status = 2;

        setvbuf(stdout, NULL, _IOLBF, 0);
        log_setup(LOG_INFO, false);
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                r = 0;
                switch (c) {
                case 'u':
                        if (opt.n_uris == PROBE_MAX_LIST)
                                r = -E2BIG;
                        else
                                uris[opt.n_uris++] = optarg;
                        break;
                case 'S':
                        if (opt.n_subscriptions == PROBE_MAX_LIST)
                                r = -E2BIG;
                        else
                                subs[opt.n_subscriptions++] = optarg;
                        break;
                case 'C':
                        opt.cafile = optarg;
                        break;
                case 'c':
                        opt.certfile = optarg;
                        break;
                case 'k':
                        opt.keyfile = optarg;
                        break;
                case 'i':
                        opt.client_id = optarg;
                        break;
                case 'U':
                        opt.username = optarg;
                        break;
                case 'P':
                        opt.password = optarg;
                        break;
                case 's':
                        opt.status_topic = optarg;
                        break;
                case 't':
                        p.topic = optarg;
                        break;
                case 'n':
                        r = parse_number(optarg, 0, 1000000, &v);
                        p.count = (uint64_t)v;
                        break;
                case 'q':
                        r = parse_number(optarg, 0, 2, &v);
                        p.qos = (int)v;
                        break;
                case 'K':
                        r = parse_number(optarg, 1, 3600, &v);
                        opt.keepalive_s = (int)v;
                        break;
                case 'b':
                        r = parse_number(optarg, 1, 3600000, &opt.backoff_min_ms);
                        break;
                case 'B':
                        r = parse_number(optarg, 1, 3600000, &opt.backoff_max_ms);
                        break;
                case 'm':
                        r = parse_number(optarg, 1, 65000, &v);
                        opt.max_inflight = (int)v;
                        break;
                case 'x':
                        p.exit_when_done = true;
                        break;
                case 'v':
                        log_setup(LOG_DEBUG, false);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0) {
                        usage();
                        return 2;
                }
        }
        if (opt.n_uris == 0 || (p.count && !p.topic)) {
                usage();
                return 2;
        }
        p.delivered = calloc(p.count + 1, sizeof(bool));
        if (!p.delivered)
                return 1;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_new(&p.event);
        if (r < 0)
                goto out_free;
        if (sd_event_add_signal(p.event, NULL, SIGTERM, on_signal, p.event) < 0 ||
            sd_event_add_signal(p.event, NULL, SIGINT, on_signal, p.event) < 0)
                goto out_event;
        r = uplink_new(p.event, &opt, on_state, on_delivered, on_message, &p, &p.uplink);
        if (r < 0)
                goto out_event;
        status = sd_event_loop(p.event) == 0 ? 0 : 1;
        uplink_free(p.uplink);
        printf("exit\n");
out_event:
        sd_event_unref(p.event);
out_free:
        free(p.delivered);
        return status;
}
