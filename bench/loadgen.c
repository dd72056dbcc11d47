/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loadgen: a building's Zigbee2MQTT bridge at an exact message rate, for bench_peers.py. It
 * publishes the state of N simulated devices in turn on `zigbee2mqtt/<device>` (one client, as
 * the bridge is one client), each message the device's whole state as Zigbee2MQTT sends it:
 *
 *   {"smoke":false,"battery":97,"battery_low":false,"tamper":false,"linkquality":120,
 *    "temperature":24.5,"voltage":3000}
 *
 * Battery, voltage and temperature are fixed per device (drawn from the seed; a heat detector's
 * temperature must not wander, or rate of rise would see a fire in the noise), linkquality
 * changes with every message. Telemetry goes out at QoS 0, as Zigbee2MQTT sends by default.
 *
 * Pacing: at rate R, message k of the current level is due at t0 + k / R; on each
 * millisecond the loop writes whatever is due in one write(2), then sleeps (ppoll). Telemetry is
 * framed here (a QoS 0 PUBLISH has no state) rather than by libmosquitto, which would make a system
 * call and a TCP segment of each message; libmosquitto, without its thread, keeps the session
 * and sends the alarms, never while framed telemetry is still unwritten. While the socket is
 * full (the broker does not keep up) nothing more is published and the level falls behind:
 * `count` shows how many really went.
 *
 * Alarms: on the `latency` command it raises one heat detector's alarm at a time (its state
 * with "smoke":true, QoS 1; while in alarm, its telemetry keeps saying so, as Zigbee2MQTT
 * repeats the cached state) and clocks it until an alert naming it (the first entry of its
 * "detectors" array) reaches the subscriber on the upstream broker (TLS, client certificate,
 * libmosquitto's thread). Then it clears the detector and, after a random gap, raises the next.
 * With --control, every RESET_EVERY alarms (and at the end) it waits for the clears to be read,
 * resets the building through the daemon's control socket and waits for the reset's alerts.
 * Telemetry goes on throughout, on the same connection: the alarm queues behind it.
 *
 * Commands, one per line on standard input; each answer is one line on standard output:
 *   rate R                        telemetry at R messages a second from now; 0 stops it
 *                                 -> "ok rate R"
 *   count                         -> "count SENT NOW_US DROPPED RECEIVED": messages published
 *                                 so far (all of them), CLOCK_MONOTONIC in µs, and the
 *                                 broker's $SYS publish/messages/dropped and /received (-1
 *                                 until the broker said)
 *   latency N GAP_MS RESET_EVERY  N alarms as above; RESET_EVERY 0: never reset
 *                                 -> "latency OK LOST P50 P99 MAX MEAN STRAYS" (ms)
 *   quit
 * "ready" is printed once the clients are connected and subscribed.
 *
 * The devices file: "topic TAB id TAB kind" lines, kind smoke, heat or multi; id is what the
 * consumer's alerts name (firegate: the detector's id; the Node-RED flow: the device).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define DEVICES_MAX  100000
#define BURST_MAX    2048 /* publishes per loop turn, so that commands are still read */
#define CONNECT_S    15
#define TICK_US      1000 /* telemetry goes out on these boundaries, all that is due */
#define LINE_MAX_LEN 256
#define OUT_MAX      (256 * 1024)
#define PACKET_MAX   1024

enum kind { KIND_SMOKE, KIND_HEAT, KIND_MULTI };

struct device {
        char *topic, *id;
        enum kind kind;
        bool alarm;
        int battery, voltage;
        double temperature;
};

struct options {
        const char *host, *devices, *alert_topic, *control, *raw;
        struct bc_upstream upstream;
        int port, alarm_qos, nodelay, seed;
};

/* What the upstream subscriber (libmosquitto's thread) shares with the main loop: under lock. */
struct upstream {
        pthread_mutex_t lock;
        bool subscribed;
        int sub_mid;
        struct bc_await await;
        double last_alert_us;
        unsigned long alerts, resets;
};

enum run_state { RUN_IDLE, RUN_AWAIT, RUN_GAP, RUN_QUIET, RUN_RESET_WAIT };

/* A `latency` command in progress: a state machine the main loop steps. */
struct run {
        enum run_state state;
        int want, done, lost, since_reset, reset_every, gap_ms;
        double *lat;
        size_t det;
        double t0, until, deadline;
        unsigned long resets_before, strays_before;
};

struct gen {
        struct options o;
        struct mosquitto *pub, *sub;
        struct device *dev;
        size_t n_dev, next;
        size_t *heat, n_heat, next_heat;
        double rate, rate_t0;
        uint64_t rate_base, sent;
        unsigned seed;
        bool pub_connected;
        int sys_mid;
        bool sys_subscribed;
        long long sys_dropped, sys_received;
        struct upstream up;
        struct run run;
        unsigned char out[OUT_MAX]; /* telemetry not yet written: out[out_off..out_len) */
        size_t out_len, out_off;
        char line[LINE_MAX_LEN];
        size_t line_len;
        bool stdin_open, quit;
        FILE *raw;
};

static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void answer(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

/* ---- the devices ---- */

static int parse_kind(const char *s, enum kind *out)
{
        if (strcmp(s, "smoke") == 0)
                *out = KIND_SMOKE;
        else if (strcmp(s, "heat") == 0)
                *out = KIND_HEAT;
        else if (strcmp(s, "multi") == 0)
                *out = KIND_MULTI;
        else
                return -EINVAL;
        return 0;
}

/* Reads the devices file into @g and draws each device's fixed values. Returns 0 or -1 (said). */
static int read_devices(struct gen *g, const char *path)
{
        FILE *f = fopen(path, "re");
        char line[1024];
        int lineno = 0;

        if (!f) {
                fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
                return -1;
        }
        g->dev = calloc(DEVICES_MAX, sizeof(*g->dev));
        g->heat = calloc(DEVICES_MAX, sizeof(*g->heat));
        if (!g->dev || !g->heat) {
                fclose(f);
                return -1;
        }
        while (fgets(line, sizeof(line), f)) {
                char *field[3]; /* topic, id, kind */
                int k = bc_tab_fields(line, field, 3);
                struct device *d;

                lineno++;
                if (!line[0])
                        continue;
                if (k < 3 || g->n_dev == DEVICES_MAX) {
                        fprintf(stderr, "loadgen: %s:%d: %s\n", path, lineno,
                                g->n_dev == DEVICES_MAX ? "too many devices"
                                                        : "want topic, id and kind, tab-separated");
                        fclose(f);
                        return -1;
                }
                d = &g->dev[g->n_dev];
                if (parse_kind(field[2], &d->kind) < 0) {
                        fprintf(stderr, "loadgen: %s:%d: kind is smoke, heat or multi\n", path,
                                lineno);
                        fclose(f);
                        return -1;
                }
                d->topic = strdup(field[0]);
                d->id = strdup(field[1]);
                if (!d->topic || !d->id) {
                        fclose(f);
                        return -1;
                }
                d->battery = 60 + (int)(rand_r(&g->seed) % 41);
                d->voltage = 2800 + (int)(rand_r(&g->seed) % 301);
                d->temperature = 21.0 + (double)(rand_r(&g->seed) % 60) / 10.0;
                if (d->kind == KIND_HEAT)
                        g->heat[g->n_heat++] = g->n_dev;
                g->n_dev++;
        }
        fclose(f);
        if (g->n_dev == 0) {
                fprintf(stderr, "loadgen: %s: no devices\n", path);
                return -1;
        }
        return 0;
}

/* @d's whole state as Zigbee2MQTT sends it, into @buf. Returns its length. */
static int format_state(struct gen *g, const struct device *d, char *buf, size_t size)
{
        return snprintf(buf, size,
                        "{\"smoke\":%s,\"battery\":%d,\"battery_low\":false,\"tamper\":false,"
                        "\"linkquality\":%d,\"temperature\":%.1f,\"voltage\":%d}",
                        d->alarm ? "true" : "false", d->battery, 60 + (int)(rand_r(&g->seed) % 120),
                        d->temperature, d->voltage);
}

/* Writes what it can of the telemetry buffer. Returns 0 (the rest waits for POLLOUT) or -EIO. */
static int flush_out(struct gen *g)
{
        while (g->out_off < g->out_len) {
                ssize_t n = write(mosquitto_socket(g->pub), g->out + g->out_off,
                                  g->out_len - g->out_off);

                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                if (n < 0) {
                        fprintf(stderr, "loadgen: writing to the building broker: %s\n",
                                strerror(errno));
                        return -EIO;
                }
                g->out_off += (size_t)n;
        }
        g->out_off = g->out_len = 0;
        return 0;
}

/* Empties the telemetry buffer, waiting for the socket if need be, so that libmosquitto may
 * write next: its packets and these must not interleave. Returns 0 or -EIO. */
static int drain_out(struct gen *g)
{
        while (g->out_len) {
                struct pollfd fd = {.fd = mosquitto_socket(g->pub), .events = POLLOUT};

                if (poll(&fd, 1, CONNECT_S * 1000) <= 0 || flush_out(g) < 0) {
                        fprintf(stderr, "loadgen: the building broker does not read\n");
                        return -EIO;
                }
        }
        return 0;
}

/* Publishes @d's state through libmosquitto at @qos (alarms and clears); *@t0 (if given) gets
 * the time just before. Returns 0 or -EIO. */
static int publish_state(struct gen *g, struct device *d, int qos, double *t0)
{
        char payload[PACKET_MAX];
        int len = format_state(g, d, payload, sizeof(payload)), rc;

        if (drain_out(g) < 0)
                return -EIO;
        if (t0)
                *t0 = bc_now_us();
        rc = mosquitto_publish(g->pub, NULL, d->topic, len, payload, qos, false);
        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "loadgen: publishing on %s: %s\n", d->topic,
                        mosquitto_strerror(rc));
                return -EIO;
        }
        g->sent++;
        return 0;
}

/* Appends @d's state as an MQTT PUBLISH at QoS 0 (no packet id, nothing to acknowledge) to the
 * telemetry buffer. Telemetry skips libmosquitto, which would make a system call and a TCP
 * segment of every message: at 100k messages a second that would cost the load generator more
 * than the broker it loads, on the same two CPUs. */
static void append_telemetry(struct gen *g, const struct device *d)
{
        unsigned char *p = g->out + g->out_len;
        size_t topic_len = strlen(d->topic), remaining;
        char payload[PACKET_MAX];
        int len = format_state(g, d, payload, sizeof(payload));

        remaining = 2 + topic_len + (size_t)len;
        *p++ = 0x30; /* PUBLISH, QoS 0, not retained */
        do {
                unsigned char byte = remaining % 128;

                remaining /= 128;
                *p++ = byte | (remaining ? 0x80 : 0);
        } while (remaining);
        *p++ = (unsigned char)(topic_len >> 8);
        *p++ = (unsigned char)(topic_len & 0xff);
        memcpy(p, d->topic, topic_len);
        p += topic_len;
        memcpy(p, payload, (size_t)len);
        p += len;
        g->out_len = (size_t)(p - g->out);
        g->sent++;
}

/* Publishes the telemetry due by @now at the current rate, in one write; publishes nothing
 * more while the socket is full (the broker does not keep up). */
static int pace(struct gen *g, double now)
{
        uint64_t due;
        int n = 0;

        if (g->rate <= 0 || mosquitto_want_write(g->pub))
                return 0;
        if (g->out_len && flush_out(g) < 0)
                return -EIO;
        if (g->out_len)
                return 0;
        due = g->rate_base + (uint64_t)((now - g->rate_t0) * g->rate / 1e6) + 1;
        while (g->sent < due && n < BURST_MAX && g->out_len + 4 + 2 * PACKET_MAX < OUT_MAX) {
                append_telemetry(g, &g->dev[g->next]);
                g->next = (g->next + 1) % g->n_dev;
                n++;
        }
        return flush_out(g);
}

/* When the loop should next publish telemetry, or INFINITY: the tick on or after the next
 * message's due time. A wake-up per message would cost the load generator more CPU than the
 * consumer it loads at tens of thousands a second; a millisecond's worth at once is what a
 * bridge with a busy radio sends anyway. */
static double next_due(const struct gen *g)
{
        double due;

        if (g->rate <= 0)
                return INFINITY;
        due = g->rate_t0 + (double)(g->sent - g->rate_base) * 1e6 / g->rate;
        return ceil(due / TICK_US) * TICK_US;
}

/* ---- the building broker's client (this thread) ---- */

static void on_pub_connect(struct mosquitto *mosq, void *obj, int rc)
{
        static char dropped[] = "$SYS/broker/publish/messages/dropped",
                    received[] = "$SYS/broker/publish/messages/received";
        char *topics[2] = {dropped, received};
        struct gen *g = obj;

        if (rc != 0) {
                fprintf(stderr, "loadgen: the building broker refused: %s\n",
                        mosquitto_connack_string(rc));
                return;
        }
        g->pub_connected = true;
        /* The broker's own counts, to tell whether it dropped anything. */
        if (mosquitto_subscribe_multiple(mosq, &g->sys_mid, 2, topics, 0, 0, NULL) !=
            MOSQ_ERR_SUCCESS)
                fprintf(stderr, "loadgen: cannot subscribe to $SYS\n");
}

static void on_pub_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
        struct gen *g = obj;

        (void)mosq;
        (void)n;
        (void)granted;
        if (mid == g->sys_mid)
                g->sys_subscribed = true;
}

static void on_pub_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
        struct gen *g = obj;
        char text[32];
        long long v;

        (void)mosq;
        if (m->payloadlen <= 0 || m->payloadlen >= (int)sizeof(text))
                return;
        memcpy(text, m->payload, (size_t)m->payloadlen);
        text[m->payloadlen] = '\0';
        v = strtoll(text, NULL, 10);
        if (strstr(m->topic, "/dropped"))
                g->sys_dropped = v;
        else if (strstr(m->topic, "/received"))
                g->sys_received = v;
}

/* Reads, writes and keeps alive the building connection after ppoll said @revents. */
static int building_io(struct gen *g, short revents)
{
        int rc = MOSQ_ERR_SUCCESS;

        if (revents & (POLLIN | POLLHUP | POLLERR))
                rc = mosquitto_loop_read(g->pub, 16);
        if (rc == MOSQ_ERR_SUCCESS && (revents & POLLOUT))
                rc = mosquitto_loop_write(g->pub, 16);
        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "loadgen: building broker: %s\n", mosquitto_strerror(rc));
                return -EIO;
        }
        return 0;
}

/* ---- the upstream subscriber (libmosquitto's thread) ---- */

static void on_sub_connect(struct mosquitto *mosq, void *obj, int rc)
{
        struct gen *g = obj;

        if (rc != 0) {
                fprintf(stderr, "loadgen: the upstream broker refused: %s\n",
                        mosquitto_connack_string(rc));
                return;
        }
        pthread_mutex_lock(&g->up.lock);
        if (mosquitto_subscribe(mosq, &g->up.sub_mid, g->o.alert_topic, 1) != MOSQ_ERR_SUCCESS)
                fprintf(stderr, "loadgen: cannot subscribe upstream\n");
        pthread_mutex_unlock(&g->up.lock);
}

static void on_sub_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
        struct gen *g = obj;

        (void)mosq;
        pthread_mutex_lock(&g->up.lock);
        if (mid == g->up.sub_mid && n == 1 && granted[0] <= 2)
                g->up.subscribed = true;
        pthread_mutex_unlock(&g->up.lock);
}

static void on_sub_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
        double t1 = bc_now_us(); /* first: the alert is received now */
        struct gen *g = obj;
        struct upstream *up = &g->up;
        struct bc_alert a;

        (void)mosq;
        bc_alert_read(&a, m->payload, m->payloadlen);
        pthread_mutex_lock(&up->lock);
        up->alerts++;
        up->last_alert_us = t1;
        if (a.event && strcmp(a.event, "fire_alarm") == 0)
                bc_await_fire_alarm(&up->await, a.detector, t1);
        else if (a.event && strcmp(a.event, "reset") == 0)
                up->resets++;
        pthread_mutex_unlock(&up->lock);
        bc_alert_free(&a);
}

/* ---- latency runs ---- */

static void start_alarm(struct gen *g)
{
        struct run *r = &g->run;
        struct device *d;

        r->det = g->heat[g->next_heat++ % g->n_heat];
        d = &g->dev[r->det];
        pthread_mutex_lock(&g->up.lock);
        bc_await_start(&g->up.await, d->id);
        pthread_mutex_unlock(&g->up.lock);
        d->alarm = true;
        publish_state(g, d, g->o.alarm_qos, &r->t0);
        r->deadline = r->t0 + BC_ALARM_TIMEOUT_S * 1e6;
        r->state = RUN_AWAIT;
}

static void finish_run(struct gen *g)
{
        struct run *r = &g->run;
        size_t n = (size_t)(r->done - r->lost);
        struct bc_latency l;
        unsigned long strays;

        pthread_mutex_lock(&g->up.lock);
        strays = g->up.await.strays - r->strays_before;
        pthread_mutex_unlock(&g->up.lock);
        if (n) {
                bc_latency_of(r->lat, n, &l);
                answer("latency %zu %d %.3f %.3f %.3f %.3f %lu", n, r->lost, l.p50 / 1e3,
                       l.p99 / 1e3, l.max / 1e3, l.mean / 1e3, strays);
        } else {
                answer("latency 0 %d nan nan nan nan %lu", r->lost, strays);
        }
        free(r->lat);
        r->lat = NULL;
        r->state = RUN_IDLE;
}

/* The awaited alarm arrived (@lat_us) or timed out (@lat_us < 0): clear its detector. */
static void alarm_done(struct gen *g, double now, double lat_us)
{
        struct run *r = &g->run;
        struct device *d = &g->dev[r->det];

        pthread_mutex_lock(&g->up.lock);
        g->up.await.detector = NULL;
        pthread_mutex_unlock(&g->up.lock);
        if (lat_us >= 0) {
                r->lat[r->done - r->lost] = lat_us;
                if (g->raw)
                        fprintf(g->raw, "%.0f\t%s\t%.1f\t%.1f\n", g->rate, d->id, r->t0, lat_us);
        } else {
                r->lost++;
                fprintf(stderr, "loadgen: the alarm of %s never arrived upstream (%d s)\n", d->id,
                        BC_ALARM_TIMEOUT_S);
        }
        r->done++;
        r->since_reset++;
        d->alarm = false;
        publish_state(g, d, 1, NULL);
        r->until = now + (r->gap_ms + (double)(rand_r(&g->seed) % (unsigned)(r->gap_ms + 1))) * 1e3;
        r->state = RUN_GAP;
}

static void start_reset(struct gen *g)
{
        struct run *r = &g->run;
        char err[1024];

        pthread_mutex_lock(&g->up.lock);
        r->resets_before = g->up.resets;
        pthread_mutex_unlock(&g->up.lock);
        if (bc_reset_building(g->o.control, err, sizeof(err)) < 0)
                fprintf(stderr, "loadgen: reset building: %s\n", err);
        r->deadline = bc_now_us() + BC_ALARM_TIMEOUT_S * 1e6;
        r->state = RUN_RESET_WAIT;
}

static void step_run(struct gen *g, double now)
{
        struct run *r = &g->run;
        bool arrived;
        double at, last;
        unsigned long resets;

        switch (r->state) {
        case RUN_IDLE:
                return;
        case RUN_AWAIT:
                pthread_mutex_lock(&g->up.lock);
                arrived = g->up.await.arrived;
                at = g->up.await.arrived_us;
                pthread_mutex_unlock(&g->up.lock);
                if (arrived)
                        alarm_done(g, now, at - r->t0);
                else if (now >= r->deadline)
                        alarm_done(g, now, -1);
                return;
        case RUN_GAP:
                if (now < r->until)
                        return;
                if (g->o.control && r->reset_every && r->since_reset > 0 &&
                    (r->done == r->want || r->since_reset >= r->reset_every)) {
                        /* Time for the daemon to read the clears: a detector still in alarm at
                         * the reset would alarm again. */
                        r->until = now + BC_QUIET_MS * 1e3;
                        r->state = RUN_QUIET;
                } else if (r->done == r->want) {
                        finish_run(g);
                } else {
                        start_alarm(g);
                }
                return;
        case RUN_QUIET:
                if (now >= r->until)
                        start_reset(g);
                return;
        case RUN_RESET_WAIT:
                pthread_mutex_lock(&g->up.lock);
                resets = g->up.resets;
                last = g->up.last_alert_us;
                pthread_mutex_unlock(&g->up.lock);
                if ((resets > r->resets_before && now >= last + BC_QUIET_MS * 1e3) ||
                    now >= r->deadline) {
                        if (resets == r->resets_before)
                                fprintf(stderr, "loadgen: no reset alert reached upstream\n");
                        r->since_reset = 0;
                        r->until = now;
                        r->state = RUN_GAP;
                }
                return;
        }
}

/* ---- commands ---- */

static void command(struct gen *g, char *line)
{
        double rate;
        int n, gap, every;

        if (sscanf(line, "rate %lf", &rate) == 1 && rate >= 0) {
                g->rate = rate;
                g->rate_t0 = bc_now_us();
                g->rate_base = g->sent;
                answer("ok rate %.0f", rate);
        } else if (strcmp(line, "count") == 0) {
                answer("count %llu %.0f %lld %lld", (unsigned long long)g->sent, bc_now_us(),
                       g->sys_dropped, g->sys_received);
        } else if (sscanf(line, "latency %d %d %d", &n, &gap, &every) == 3 && n > 0 && gap >= 0 &&
                   every >= 0) {
                if (!g->sub || g->n_heat == 0 || g->run.state != RUN_IDLE) {
                        answer("error latency needs --upstream-port, heat detectors and no run "
                               "in progress");
                        return;
                }
                g->run = (struct run){.want = n, .gap_ms = gap, .reset_every = every};
                g->run.lat = calloc((size_t)n, sizeof(double));
                pthread_mutex_lock(&g->up.lock);
                g->run.strays_before = g->up.await.strays;
                pthread_mutex_unlock(&g->up.lock);
                if (!g->run.lat) {
                        answer("error out of memory");
                        return;
                }
                start_alarm(g);
        } else if (strcmp(line, "quit") == 0) {
                g->quit = true;
        } else {
                answer("error unknown command");
        }
}

static void read_commands(struct gen *g)
{
        ssize_t got = read(STDIN_FILENO, g->line + g->line_len, sizeof(g->line) - 1 - g->line_len);
        char *nl;

        if (got <= 0) {
                if (got == 0 || (errno != EAGAIN && errno != EINTR))
                        g->stdin_open = false; /* the driver is gone: stop */
                if (!g->stdin_open)
                        g->quit = true;
                return;
        }
        g->line_len += (size_t)got;
        g->line[g->line_len] = '\0';
        while ((nl = strchr(g->line, '\n'))) {
                *nl = '\0';
                command(g, g->line);
                g->line_len -= (size_t)(nl + 1 - g->line);
                memmove(g->line, nl + 1, g->line_len + 1);
        }
        if (g->line_len == sizeof(g->line) - 1)
                g->line_len = 0; /* a line too long: dropped */
}

/* ---- the loop ---- */

static int loop(struct gen *g)
{
        double last_misc = bc_now_us();

        while (!g->quit) {
                double now = bc_now_us(), wake, wait_us;
                struct pollfd fds[2];
                struct timespec ts;
                bool blocked;

                if (pace(g, now) < 0)
                        return -EIO;
                step_run(g, now);
                if (now - last_misc >= 1e6 && !g->out_len) { /* keep-alive: may write */
                        if (mosquitto_loop_misc(g->pub) != MOSQ_ERR_SUCCESS) {
                                fprintf(stderr, "loadgen: the building broker is gone\n");
                                return -EIO;
                        }
                        last_misc = now;
                }
                /* While the socket is full, wait for it rather than for the next message due. */
                blocked = mosquitto_want_write(g->pub) || g->out_len;
                wake = blocked ? now + 1000 : next_due(g);
                if (g->run.state != RUN_IDLE && wake > now + 1000)
                        wake = now + 1000; /* the subscriber's thread does not wake this one */
                if (wake > now + 1e6)
                        wake = now + 1e6;
                wait_us = wake - bc_now_us();
                if (wait_us < 0)
                        wait_us = 0;
                ts.tv_sec = (time_t)(wait_us / 1e6);
                ts.tv_nsec = (long)((wait_us - (double)ts.tv_sec * 1e6) * 1e3);
                fds[0] = (struct pollfd){.fd = mosquitto_socket(g->pub),
                                         .events = (short)(POLLIN | (blocked ? POLLOUT : 0))};
                fds[1] = (struct pollfd){.fd = g->stdin_open ? STDIN_FILENO : -1, .events = POLLIN};
                if (ppoll(fds, 2, &ts, NULL) < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("loadgen: ppoll");
                        return -errno;
                }
                if ((fds[0].revents & POLLOUT) && g->out_len && flush_out(g) < 0)
                        return -EIO;
                if (fds[0].revents &&
                    building_io(g, fds[0].revents & ~(g->out_len ? POLLOUT : 0)) < 0)
                        return -EIO;
                if (fds[1].revents)
                        read_commands(g);
        }
        return 0;
}

/* Waits until the building client has its CONNACK and $SYS SUBACK, running its I/O here. */
static int wait_building(struct gen *g)
{
        double deadline = bc_now_us() + CONNECT_S * 1e6;

        while (!(g->pub_connected && g->sys_subscribed)) {
                struct pollfd fd = {
                        .fd = mosquitto_socket(g->pub),
                        .events = (short)(POLLIN | (mosquitto_want_write(g->pub) ? POLLOUT : 0))};

                if (bc_now_us() > deadline) {
                        fprintf(stderr, "loadgen: no answer from the building broker\n");
                        return -ETIMEDOUT;
                }
                if (poll(&fd, 1, 100) > 0 && building_io(g, fd.revents) < 0)
                        return -EIO;
        }
        return 0;
}

static int wait_upstream(struct gen *g)
{
        double deadline = bc_now_us() + CONNECT_S * 1e6;
        bool ok = false;

        while (!ok && bc_now_us() < deadline) {
                pthread_mutex_lock(&g->up.lock);
                ok = g->up.subscribed;
                pthread_mutex_unlock(&g->up.lock);
                if (!ok)
                        usleep(10000);
        }
        if (!ok)
                fprintf(stderr, "loadgen: not subscribed upstream within %d s\n", CONNECT_S);
        return ok ? 0 : -ETIMEDOUT;
}

static int connect_clients(struct gen *g)
{
        const struct options *o = &g->o;
        char id[64];
        int rc;

        /* Ids of their own: the broker drops a client when another connects with its id. */
        snprintf(id, sizeof(id), "loadgen-zigbee2mqtt-%ld", (long)getpid());
        /* --nodelay 0 to see what Nagle's algorithm does to the alarm behind the telemetry. */
        g->pub = bc_client_new(id, g, o->nodelay, NULL);
        if (!g->pub)
                return -ENOMEM;
        mosquitto_connect_callback_set(g->pub, on_pub_connect);
        mosquitto_subscribe_callback_set(g->pub, on_pub_subscribe);
        mosquitto_message_callback_set(g->pub, on_pub_message);
        rc = mosquitto_connect(g->pub, o->host, o->port, 60);
        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "loadgen: building broker %s:%d: %s\n", o->host, o->port,
                        mosquitto_strerror(rc));
                return -EIO;
        }
        if (wait_building(g) < 0)
                return -EIO;
        if (!o->upstream.port)
                return 0;
        snprintf(id, sizeof(id), "loadgen-platform-%ld", (long)getpid());
        g->sub = bc_client_new(id, g, 1, NULL);
        if (!g->sub)
                return -ENOMEM;
        mosquitto_connect_callback_set(g->sub, on_sub_connect);
        mosquitto_subscribe_callback_set(g->sub, on_sub_subscribe);
        mosquitto_message_callback_set(g->sub, on_sub_message);
        rc = bc_upstream_connect(g->sub, &o->upstream, 60);
        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "loadgen: upstream broker %s:%d: %s\n", o->upstream.host,
                        o->upstream.port, mosquitto_strerror(rc));
                return -EIO;
        }
        return wait_upstream(g);
}

/* ---- options ---- */

static void usage(FILE *f)
{
        fprintf(f, "usage: loadgen --port N --devices FILE [--host H] [--seed N] [--nodelay 0|1]\n"
                   "         [--upstream-port N [--upstream-host H] [--cafile PEM --cert PEM "
                   "--key PEM]\n"
                   "          --alert-topic FILTER [--control SOCKET] [--alarm-qos 0|1] "
                   "[--raw FILE]]\n"
                   "Commands on standard input: rate R | count | latency N GAP_MS RESET_EVERY | "
                   "quit\n");
}

#define OPT(member) offsetof(struct options, member)

static const struct bc_option option_table[] = {
        {.name = "host", .type = BC_OPT_STRING, .offset = OPT(host)},
        {.name = "port",
         .type = BC_OPT_INT,
         .offset = OPT(port),
         .min = 1,
         .max = 65535,
         .required = true},
        {.name = "devices", .type = BC_OPT_STRING, .offset = OPT(devices), .required = true},
        BC_UPSTREAM_OPTIONS(struct options, upstream, false),
        {.name = "alert-topic", .type = BC_OPT_STRING, .offset = OPT(alert_topic)},
        {.name = "control", .type = BC_OPT_STRING, .offset = OPT(control)},
        {.name = "alarm-qos", .type = BC_OPT_INT, .offset = OPT(alarm_qos), .min = 0, .max = 1},
        {.name = "nodelay", .type = BC_OPT_INT, .offset = OPT(nodelay), .min = 0, .max = 1},
        {.name = "seed", .type = BC_OPT_INT, .offset = OPT(seed), .min = 0, .max = 1 << 30},
        {.name = "raw", .type = BC_OPT_STRING, .offset = OPT(raw)},
};

/* The defaults, then the command line. Returns as bc_parse_options() does. */
static int parse_options(int argc, char **argv, struct options *o)
{
        *o = (struct options){.host = "127.0.0.1",
                              .upstream = {.host = "127.0.0.1"},
                              .alert_topic = "firegate/v1/+/alert",
                              .alarm_qos = 1,
                              .nodelay = 1,
                              .seed = 1};
        return bc_parse_options(argc, argv, option_table,
                                sizeof(option_table) / sizeof(option_table[0]), o);
}

int main(int argc, char **argv)
{
        static struct gen g;
        int r;

        r = parse_options(argc, argv, &g.o);
        if (r != 0) {
                if (r != -ENOENT) /* an unknown option: getopt_long said so */
                        usage(r > 0 ? stdout : stderr);
                return r > 0 ? 0 : 2;
        }
        signal(SIGPIPE, SIG_IGN);
        g.seed = (unsigned)g.o.seed;
        g.sys_dropped = g.sys_received = -1;
        g.stdin_open = true;
        pthread_mutex_init(&g.up.lock, NULL);
        if (read_devices(&g, g.o.devices) < 0)
                return 1;
        if (g.o.raw && !(g.raw = fopen(g.o.raw, "ae"))) {
                fprintf(stderr, "loadgen: %s: %s\n", g.o.raw, strerror(errno));
                return 1;
        }
        mosquitto_lib_init();
        r = connect_clients(&g);
        if (r == 0) {
                fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
                answer("ready %zu devices, %zu heat", g.n_dev, g.n_heat);
                r = loop(&g);
        }
        if (g.sub) {
                mosquitto_disconnect(g.sub);
                mosquitto_loop_stop(g.sub, false);
                mosquitto_destroy(g.sub);
        }
        if (g.pub) {
                mosquitto_disconnect(g.pub);
                mosquitto_destroy(g.pub);
        }
        mosquitto_lib_cleanup();
        if (g.raw)
                fclose(g.raw);
        return r < 0 ? 1 : 0;
}
