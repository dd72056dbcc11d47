/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_uplink: how long a fire alarm takes from a detector to the city platform, through the
 * whole gateway. A detector's alarm is published on the building's broker (plain MQTT, loopback)
 * and the clock stops when the platform's subscriber, on the upstream broker (TLS with a client
 * certificate), receives the fire_alarm alert naming that detector. Between the two the daemon
 * decodes the message, runs the rules, commits the decision and its alert to SQLite with
 * synchronous=FULL, and only then publishes it with Paho: the durable commit is in the figure.
 *
 * One alarm at a time (the next is published after the previous arrived), so the figure is
 * latency, not throughput. After every detector of the list has alarmed, each is cleared, the
 * building is reset through the daemon's control socket and the reset alerts are drained; then
 * the next round. The first round warms up and is not counted. For context it also times a
 * 4 KiB write plus fdatasync in the state directory, the floor under any durable commit there.
 *
 * bench_uplink.py starts the brokers, the certificates and the daemon, and runs this; see
 * docs/PERFORMANCE.md. Prints one markdown table and the machine; exits 1 when an alarm never
 * arrives or the setup fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define DETECTORS_MAX 4096
#define FSYNC_BLOCK   4096

struct detector {
        char *id, *topic, *on, *off;
};

struct options {
        const char *building_host, *gateway, *control, *detectors, *state_dir, *raw;
        struct bc_upstream upstream;
        int building_port, alarms, warmup_rounds, fsyncs, qos;
        bool verbose;
};

/* Shared between the main thread and libmosquitto's two network threads: all under lock. */
struct bench {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        char alert_topic[256], status_topic[256];
        bool pub_connected, subscribed, gateway_online;
        int sub_mid;
        struct bc_await await;
        double last_alert_us;
        long long last_seq;
        unsigned long alerts, resets, others, duplicates, bad, acked;
        double load_before; /* the 1-minute load average before the benchmark: others' work */
};

/* Waits on b->cond until @deadline_us (monotonic); b->lock held. Returns false on timeout. */
static bool wait_until(struct bench *b, double deadline_us)
{
        double left = deadline_us - bc_now_us();
        struct timespec ts;

        if (left <= 0)
                return false;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(left / 1e6);
        ts.tv_nsec += (long)((left - (double)(long)(left / 1e6) * 1e6) * 1e3);
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&b->cond, &b->lock, &ts);
        return true;
}

/* ---- libmosquitto's threads ---- */

static void on_pub_connect(struct mosquitto *mosq, void *obj, int rc)
{
        struct bench *b = obj;

        (void)mosq;
        pthread_mutex_lock(&b->lock);
        b->pub_connected = rc == 0;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
}

static void on_pub_publish(struct mosquitto *mosq, void *obj, int mid)
{
        struct bench *b = obj;

        (void)mosq;
        (void)mid;
        pthread_mutex_lock(&b->lock);
        b->acked++;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
}

static void on_sub_connect(struct mosquitto *mosq, void *obj, int rc)
{
        struct bench *b = obj;
        char *topics[2] = {b->alert_topic, b->status_topic};

        if (rc != 0) {
                fprintf(stderr, "bench_uplink: the upstream broker refused the platform: %s\n",
                        mosquitto_connack_string(rc));
                return;
        }
        if (mosquitto_subscribe_multiple(mosq, &b->sub_mid, 2, topics, 1, 0, NULL) !=
            MOSQ_ERR_SUCCESS)
                fprintf(stderr, "bench_uplink: cannot subscribe upstream\n");
}

static void on_sub_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                             const int *granted)
{
        struct bench *b = obj;

        (void)mosq;
        pthread_mutex_lock(&b->lock);
        if (mid == b->sub_mid)
                b->subscribed = qos_count == 2 && granted[0] <= 2 && granted[1] <= 2;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
}

static void on_status(struct bench *b, const json_t *msg)
{
        const char *state = json_string_value(json_object_get(msg, "state"));

        pthread_mutex_lock(&b->lock);
        b->gateway_online = state && strcmp(state, "online") == 0;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
}

static void on_sub_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
        double t1 = bc_now_us(); /* first: the alert is received now */
        struct bench *b = obj;
        struct bc_alert a;

        (void)mosq;
        bc_alert_read(&a, m->payload, m->payloadlen);
        if (a.msg && strcmp(m->topic, b->status_topic) == 0) {
                on_status(b, a.msg);
                bc_alert_free(&a);
                return;
        }
        pthread_mutex_lock(&b->lock);
        b->alerts++;
        b->last_alert_us = t1;
        if (!a.event || !a.has_seq) {
                b->bad++;
        } else if (a.seq <= b->last_seq) {
                /* At least once: a message may come again after a lost PUBACK. */
                b->duplicates++;
        } else {
                b->last_seq = a.seq;
                if (strcmp(a.event, "fire_alarm") == 0)
                        bc_await_fire_alarm(&b->await, a.detector, t1);
                else if (strcmp(a.event, "reset") == 0)
                        b->resets++;
                else
                        b->others++;
        }
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
        bc_alert_free(&a);
}

/* ---- the detectors ---- */

/* Reads "id TAB topic TAB payload-on TAB payload-off" lines. Returns how many, or -1 (said). */
static int read_detectors(const char *path, struct detector *out, int max)
{
        FILE *f = fopen(path, "re");
        char line[2048];
        int n = 0;

        if (!f) {
                fprintf(stderr, "bench_uplink: %s: %s\n", path, strerror(errno));
                return -1;
        }
        while (fgets(line, sizeof(line), f)) {
                char *field[4];
                int k = bc_tab_fields(line, field, 4);

                if (!line[0])
                        continue;
                if (k < 4 || n == max) {
                        fprintf(stderr, "bench_uplink: %s:%d: %s\n", path, n + 1,
                                k < 4 ? "want id, topic, on and off payloads, tab-separated"
                                      : "too many detectors");
                        fclose(f);
                        return -1;
                }
                out[n].id = strdup(field[0]);
                out[n].topic = strdup(field[1]);
                out[n].on = strdup(field[2]);
                out[n].off = strdup(field[3]);
                if (!out[n].id || !out[n].topic || !out[n].on || !out[n].off) {
                        fclose(f);
                        return -1;
                }
                n++;
        }
        fclose(f);
        return n;
}

/* ---- one round ---- */

static int publish(struct mosquitto *pub, const struct options *o, const char *topic,
                   const char *payload)
{
        int rc = mosquitto_publish(pub, NULL, topic, (int)strlen(payload), payload, o->qos, false);

        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "bench_uplink: publishing on %s: %s\n", topic,
                        mosquitto_strerror(rc));
                return -EIO;
        }
        return 0;
}

/* Raises the alarm of @d and waits for its alert upstream; *@t0_us gets when it was published
 * (monotonic), *@lat_us the latency. */
static int alarm_one(struct bench *b, struct mosquitto *pub, const struct options *o,
                     const struct detector *d, double *t0_us, double *lat_us)
{
        double t0, deadline;
        int r = 0;

        pthread_mutex_lock(&b->lock);
        bc_await_start(&b->await, d->id);
        pthread_mutex_unlock(&b->lock);
        t0 = *t0_us = bc_now_us();
        if (publish(pub, o, d->topic, d->on) < 0)
                return -EIO;
        deadline = t0 + BC_ALARM_TIMEOUT_S * 1e6;
        pthread_mutex_lock(&b->lock);
        while (!b->await.arrived && wait_until(b, deadline))
                ;
        if (b->await.arrived)
                *lat_us = b->await.arrived_us - t0;
        else
                r = -ETIMEDOUT;
        b->await.detector = NULL;
        pthread_mutex_unlock(&b->lock);
        if (r < 0)
                fprintf(stderr, "bench_uplink: the alarm of %s never reached the platform (%d s)\n",
                        d->id, BC_ALARM_TIMEOUT_S);
        return r;
}

/* Clears every detector, resets the building through the control socket and waits until the
 * reset's alerts stop coming. */
static int reset_building(struct bench *b, struct mosquitto *pub, const struct options *o,
                          const struct detector *dets, int n)
{
        unsigned long resets, acked;
        char err[1024];
        double deadline;
        int r;

        pthread_mutex_lock(&b->lock);
        acked = b->acked;
        resets = b->resets;
        pthread_mutex_unlock(&b->lock);
        for (int i = 0; i < n; i++)
                if (publish(pub, o, dets[i].topic, dets[i].off) < 0)
                        return -EIO;
        /* Every "off" at the broker, then time for the daemon to read them: a detector still
         * in alarm at the reset would alarm again (re-establishment) in the next round. */
        deadline = bc_now_us() + BC_ALARM_TIMEOUT_S * 1e6;
        pthread_mutex_lock(&b->lock);
        while (o->qos > 0 && b->acked - acked < (unsigned long)n && wait_until(b, deadline))
                ;
        pthread_mutex_unlock(&b->lock);
        usleep(BC_QUIET_MS * 1000);
        r = bc_reset_building(o->control, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "bench_uplink: reset building: %s\n", err);
                return r;
        }
        /* The reset's alerts: at least one, then quiet. */
        deadline = bc_now_us() + BC_ALARM_TIMEOUT_S * 1e6;
        pthread_mutex_lock(&b->lock);
        for (;;) {
                if (b->resets > resets) {
                        double quiet_at = b->last_alert_us + BC_QUIET_MS * 1e3;

                        if (bc_now_us() >= quiet_at)
                                break;
                        wait_until(b, quiet_at);
                } else if (!wait_until(b, deadline)) {
                        break;
                }
        }
        r = b->resets > resets ? 0 : -ETIMEDOUT;
        pthread_mutex_unlock(&b->lock);
        if (r < 0)
                fprintf(stderr, "bench_uplink: no reset alert reached the platform\n");
        return r;
}

/* ---- fsync and the machine ---- */

/* Times @count appends of 4 KiB each followed by fdatasync, in @dir; @lat gets them (µs). */
static int time_fsync(const char *dir, int count, double *lat)
{
        char path[4096], block[FSYNC_BLOCK];
        int fd, r = 0;

        snprintf(path, sizeof(path), "%s/bench-uplink-fsync.tmp", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
                r = -errno;
                fprintf(stderr, "bench_uplink: %s: %s\n", path, strerror(-r));
                return r;
        }
        memset(block, 'f', sizeof(block));
        for (int i = 0; i < count; i++) {
                double t0 = bc_now_us();

                errno = 0;
                if (pwrite(fd, block, sizeof(block), (off_t)i * FSYNC_BLOCK) !=
                            (ssize_t)sizeof(block) ||
                    fdatasync(fd) < 0) {
                        r = errno ? -errno : -EIO; /* a short write sets none */
                        fprintf(stderr, "bench_uplink: writing %s: %s\n", path, strerror(-r));
                        break;
                }
                lat[i] = bc_now_us() - t0;
        }
        close(fd);
        unlink(path);
        return r;
}

/* The CPU's name from /proc/cpuinfo ("model name"; on ARM "Model" or "Hardware"), into @buf. */
static void cpu_model(char *buf, size_t size)
{
        static const char *const keys[] = {"model name", "Model", "Hardware"};
        FILE *f = fopen("/proc/cpuinfo", "re");
        char line[512];

        snprintf(buf, size, "unknown");
        for (size_t k = 0; f && k < sizeof(keys) / sizeof(keys[0]); k++) {
                rewind(f);
                while (fgets(line, sizeof(line), f)) {
                        char *colon = strchr(line, ':');

                        if (strncmp(line, keys[k], strlen(keys[k])) != 0 || !colon)
                                continue;
                        colon += strspn(colon + 1, " \t") + 1;
                        colon[strcspn(colon, "\n")] = '\0';
                        snprintf(buf, size, "%s", colon);
                        fclose(f);
                        return;
                }
        }
        if (f)
                fclose(f);
}

/* The 1-minute load average, or -1. */
static double load_average(void)
{
        FILE *f = fopen("/proc/loadavg", "re");
        double load = -1;

        if (f) {
                if (fscanf(f, "%lf", &load) != 1)
                        load = -1;
                fclose(f);
        }
        return load;
}

/* The file system type and source of the mount holding @dir, from /proc/self/mountinfo. */
static void filesystem_of(const char *dir, char *buf, size_t size)
{
        char *real = realpath(dir, NULL), line[4096];
        FILE *f = fopen("/proc/self/mountinfo", "re");
        size_t best = 0;

        snprintf(buf, size, "unknown");
        while (real && f && fgets(line, sizeof(line), f)) {
                char mnt[1024], type[64], source[1024];
                const char *dash = strstr(line, " - ");
                size_t len;

                if (!dash || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
                    sscanf(dash, " - %63s %1023s", type, source) != 2)
                        continue;
                len = strlen(mnt);
                if (strncmp(real, mnt, len) == 0 &&
                    (real[len] == '/' || real[len] == '\0' || len == 1) && len >= best) {
                        best = len;
                        snprintf(buf, size, "%s (%s, mounted on %s)", type, source, mnt);
                }
        }
        if (f)
                fclose(f);
        free(real);
}

/* ---- setup and report ---- */

static int connect_clients(struct bench *b, const struct options *o, struct mosquitto *pub,
                           struct mosquitto *sub)
{
        double deadline = bc_now_us() + BC_ALARM_TIMEOUT_S * 1e6;
        int rc;

        mosquitto_connect_callback_set(pub, on_pub_connect);
        mosquitto_publish_callback_set(pub, on_pub_publish);
        mosquitto_connect_callback_set(sub, on_sub_connect);
        mosquitto_subscribe_callback_set(sub, on_sub_subscribe);
        mosquitto_message_callback_set(sub, on_sub_message);
        rc = mosquitto_connect(pub, o->building_host, o->building_port, 30);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_loop_start(pub);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = bc_upstream_connect(sub, &o->upstream, 30);
        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "bench_uplink: connecting: %s\n", mosquitto_strerror(rc));
                return -EIO;
        }
        pthread_mutex_lock(&b->lock);
        while (!(b->pub_connected && b->subscribed && b->gateway_online) && wait_until(b, deadline))
                ;
        rc = b->pub_connected && b->subscribed && b->gateway_online;
        pthread_mutex_unlock(&b->lock);
        if (!rc) {
                fprintf(stderr,
                        "bench_uplink: not ready within %d s (building broker %s, "
                        "platform subscribed %s, gateway online upstream %s)\n",
                        BC_ALARM_TIMEOUT_S, b->pub_connected ? "yes" : "no",
                        b->subscribed ? "yes" : "no", b->gateway_online ? "yes" : "no");
                return -ETIMEDOUT;
        }
        return 0;
}

static void report(const struct options *o, double *lat, size_t n, double *fs, bool nodelay,
                   int rounds, int per_round, const struct bench *b)
{
        char cpu[256], fs_type[2200];
        struct bc_latency l, f;
        struct utsname u;

        bc_latency_of(lat, n, &l);
        bc_latency_of(fs, (size_t)o->fsyncs, &f);
        cpu_model(cpu, sizeof(cpu));
        filesystem_of(o->state_dir, fs_type, sizeof(fs_type));
        uname(&u);
        printf("\nAlarm latency through the uplink: a detector's publish on the building broker "
               "to the fire_alarm alert\nreceived by the platform on the upstream broker (TLS, "
               "client certificate), the daemon's\nsynchronous=FULL commit included. %zu alarms "
               "in %d rounds of %d detectors, one at a time,\nQoS %d in, after %d warm-up "
               "round(s) not counted.\n\n",
               n, rounds, per_round, o->qos, o->warmup_rounds);
        printf("| alarms | p50 (ms) | p99 (ms) | max (ms) | mean (ms) | fsync p50 (ms) | fsync p99 "
               "(ms) | TCP_NODELAY (bench clients) |\n");
        printf("|---:|---:|---:|---:|---:|---:|---:|---|\n");
        printf("| %zu | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s |\n", n, l.p50 / 1e3,
               l.p99 / 1e3, l.max / 1e3, l.mean / 1e3, f.p50 / 1e3, f.p99 / 1e3,
               nodelay ? "on" : "off");
        printf("\nfsync: %d appends of 4 KiB, each followed by fdatasync, in the state "
               "directory.\n",
               o->fsyncs);
        printf("Machine: %ld CPUs, %s; %s %s %s; state directory on %s; load average before "
               "the run %.2f.\n",
               sysconf(_SC_NPROCESSORS_ONLN), cpu, u.sysname, u.release, u.machine, fs_type,
               b->load_before);
        printf("Alerts received: %lu (fire alarms %lu, of them %lu not awaited; resets %lu; "
               "other %lu; repeated %lu; unreadable %lu).\n",
               b->alerts, b->await.fire_alarms, b->await.strays, b->resets, b->others,
               b->duplicates, b->bad);
        printf("target p99 <= 5 ms: %s\n", l.p99 <= 5000 ? "met" : "not met");
}

/* One line on stderr about a round: its time and, when it counted, its own percentiles. */
static void say_round(int round, const double *lat, size_t n, double took_us, struct bench *b)
{
        double *sorted = lat ? malloc(n * sizeof(double)) : NULL;

        fprintf(stderr, "bench_uplink: round %d: %.2f s", round, took_us / 1e6);
        if (sorted) {
                struct bc_latency l;

                memcpy(sorted, lat, n * sizeof(double));
                bc_latency_of(sorted, n, &l);
                fprintf(stderr, ", p50 %.2f ms, p99 %.2f ms, max %.2f ms", l.p50 / 1e3, l.p99 / 1e3,
                        l.max / 1e3);
                free(sorted);
        } else {
                fprintf(stderr, " (warm-up, not counted)");
        }
        pthread_mutex_lock(&b->lock);
        fprintf(stderr, "; alerts so far: %lu resets, %lu other\n", b->resets, b->others);
        pthread_mutex_unlock(&b->lock);
}

/* Every counted alarm, in order: detector, when published (CLOCK_MONOTONIC, µs), latency (µs);
 * to line the figures up with a trace of the daemon (perf record -k mono). */
static int write_raw(const char *path, const char *const *who, const double *sent,
                     const double *lat, size_t n)
{
        FILE *f = fopen(path, "we");

        if (!f) {
                int r = -errno;

                fprintf(stderr, "bench_uplink: %s: %s\n", path, strerror(-r));
                return r;
        }
        fprintf(f, "detector\tsent_us\tlatency_us\n");
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s\t%.1f\t%.1f\n", who[i], sent[i], lat[i]);
        if (fclose(f) != 0) {
                fprintf(stderr, "bench_uplink: writing %s: %s\n", path, strerror(errno));
                return -EIO;
        }
        return 0;
}

static void usage(FILE *f)
{
        fprintf(f,
                "usage: bench_uplink --detectors FILE --control SOCKET --gateway ID "
                "--state-dir DIR\n"
                "         --building-port N --upstream-port N --cafile PEM --cert PEM --key PEM\n"
                "         [--building-host H] [--upstream-host H] [--alarms N] [--warmup N]\n"
                "         [--fsyncs N] [--qos 0|1] [--raw FILE] [--verbose]\n");
}

#define OPT(member) offsetof(struct options, member)

static const struct bc_option option_table[] = {
        {.name = "building-host", .type = BC_OPT_STRING, .offset = OPT(building_host)},
        {.name = "building-port",
         .type = BC_OPT_INT,
         .offset = OPT(building_port),
         .min = 1,
         .max = 65535,
         .required = true},
        BC_UPSTREAM_OPTIONS(struct options, upstream, true),
        {.name = "gateway", .type = BC_OPT_STRING, .offset = OPT(gateway), .required = true},
        {.name = "control", .type = BC_OPT_STRING, .offset = OPT(control), .required = true},
        {.name = "detectors", .type = BC_OPT_STRING, .offset = OPT(detectors), .required = true},
        {.name = "state-dir", .type = BC_OPT_STRING, .offset = OPT(state_dir), .required = true},
        {.name = "alarms", .type = BC_OPT_INT, .offset = OPT(alarms), .min = 1, .max = 10000000},
        {.name = "warmup", .type = BC_OPT_INT, .offset = OPT(warmup_rounds), .min = 0, .max = 1000},
        {.name = "fsyncs", .type = BC_OPT_INT, .offset = OPT(fsyncs), .min = 10, .max = 1000000},
        {.name = "qos", .type = BC_OPT_INT, .offset = OPT(qos), .min = 0, .max = 1},
        {.name = "raw", .type = BC_OPT_STRING, .offset = OPT(raw)},
        {.name = "verbose", .type = BC_OPT_FLAG, .offset = OPT(verbose), .letter = 'v'},
};

/* The defaults, then the command line. Returns as bc_parse_options() does. */
static int parse_options(int argc, char **argv, struct options *o)
{
        *o = (struct options){.building_host = "127.0.0.1",
                              .upstream = {.host = "127.0.0.1"},
                              .alarms = 10000,
                              .warmup_rounds = 1,
                              .fsyncs = 1000,
                              .qos = 1};
        return bc_parse_options(argc, argv, option_table,
                                sizeof(option_table) / sizeof(option_table[0]), o);
}

int main(int argc, char **argv)
{
        static struct detector dets[DETECTORS_MAX];
        static struct bench b = {.lock = PTHREAD_MUTEX_INITIALIZER};
        struct mosquitto *pub = NULL, *sub = NULL;
        pthread_condattr_t attr;
        double *lat = NULL, *sent = NULL, *fs = NULL;
        const char **who = NULL;
        struct options o;
        size_t n = 0, cap;
        bool nodelay = true;
        int parsed, ndet, rounds = 0, r = 1;

        parsed = parse_options(argc, argv, &o);
        if (parsed != 0) {
                usage(parsed > 0 ? stdout : stderr);
                return parsed > 0 ? 0 : 2;
        }
        ndet = read_detectors(o.detectors, dets, DETECTORS_MAX);
        if (ndet <= 0) {
                fprintf(stderr, "bench_uplink: no detectors in %s\n", o.detectors);
                return 1;
        }
        /* Timed waits on the monotonic clock, like every time taken here. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&b.cond, &attr);
        snprintf(b.alert_topic, sizeof(b.alert_topic), "firegate/v1/%s/alert", o.gateway);
        snprintf(b.status_topic, sizeof(b.status_topic), "firegate/v1/%s/status", o.gateway);
        cap = (size_t)o.alarms + (size_t)ndet;
        lat = calloc(cap, sizeof(double));
        sent = calloc(cap, sizeof(double));
        who = calloc(cap, sizeof(char *));
        fs = calloc((size_t)o.fsyncs, sizeof(double));
        if (!lat || !sent || !who || !fs)
                goto out_free;
        b.load_before = load_average();
        if (time_fsync(o.state_dir, o.fsyncs, fs) < 0)
                goto out_free;
        mosquitto_lib_init();
        pub = bc_client_new("bench-uplink-detectors", &b, 1, &nodelay);
        sub = bc_client_new("bench-uplink-platform", &b, 1, &nodelay);
        if (!pub || !sub || connect_clients(&b, &o, pub, sub) < 0)
                goto out_clients;
        for (int round = 0; n < (size_t)o.alarms; round++) {
                bool counted = round >= o.warmup_rounds;
                double started = bc_now_us(), t0, scratch;

                for (int i = 0; i < ndet; i++) {
                        if (alarm_one(&b, pub, &o, &dets[i], counted ? &sent[n] : &t0,
                                      counted ? &lat[n] : &scratch) < 0)
                                goto out_clients;
                        if (counted)
                                who[n++] = dets[i].id;
                }
                if (reset_building(&b, pub, &o, dets, ndet) < 0)
                        goto out_clients;
                rounds += counted;
                if (o.verbose)
                        say_round(round, counted ? &lat[n - (size_t)ndet] : NULL, (size_t)ndet,
                                  bc_now_us() - started, &b);
        }
        if (o.raw && write_raw(o.raw, who, sent, lat, n) < 0)
                goto out_clients;
        report(&o, lat, n, fs, nodelay, rounds, ndet, &b);
        r = 0;
out_clients:
        if (pub) {
                mosquitto_disconnect(pub);
                mosquitto_loop_stop(pub, false);
        }
        if (sub) {
                mosquitto_disconnect(sub);
                mosquitto_loop_stop(sub, false);
        }
        mosquitto_destroy(pub);
        mosquitto_destroy(sub);
        mosquitto_lib_cleanup();
out_free:
        for (int i = 0; i < ndet; i++) {
                free(dets[i].id);
                free(dets[i].topic);
                free(dets[i].on);
                free(dets[i].off);
        }
        free(lat);
        free(sent);
        free(who);
        free(fs);
        return r;
}
