/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mqtt: libmosquitto without its thread. The socket is an sd-event I/O source watched for
 * reading, and for writing only while libmosquitto has something queued (mosquitto_want_write);
 * mosquitto_loop_misc runs after every I/O event and on a timer of a quarter of the keep-alive,
 * which is all an idle connection needs (a second-long timer woke the gateway 60 times a minute
 * for nothing). Connecting is asynchronous
 * (mosquitto_connect_async, completed by the first write), so a dead broker never blocks the
 * loop that also runs the alarm rules.
 *
 * Invariant: io is non-NULL exactly while a socket is open; a reconnect timer is armed exactly
 * while none is.
 */
#include "mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"

struct mqtt {
        sd_event *event;
        struct mosquitto *mosq;
        sd_event_source *io, *misc, *retry;
        struct mqtt_options opt;
        char **topics;
        mqtt_message_fn on_message;
        mqtt_state_fn on_state;
        void *ctx;
        bool connected, lost;
        uint64_t misc_period_us;
        uint64_t heard_us, down_us; /* CLOCK_MONOTONIC: the last read, the connection's end */
        int sub_mid;                /* the SUBSCRIBE of this connection */
        unsigned attempts;
        unsigned seed;
};

static void schedule_retry(struct mqtt *m);

static int set_events(struct mqtt *m)
{
        uint32_t ev = EPOLLIN | (mosquitto_want_write(m->mosq) ? EPOLLOUT : 0);

        return m->io ? sd_event_source_set_io_events(m->io, ev) : 0;
}

static void drop_socket(struct mqtt *m)
{
        m->io = sd_event_source_disable_unref(m->io);
        if (m->connected) {
                m->connected = false;
                if (m->on_state)
                        m->on_state(m->ctx, false);
        }
}

static void lost(struct mqtt *m, int rc)
{
        /* A keep-alive timeout means the broker has said nothing since the last read: the gap
         * started then, up to two keep-alives ago. Any other end is known when it happens. */
        sd_event_now(m->event, CLOCK_MONOTONIC, &m->down_us);
        if (rc == MOSQ_ERR_KEEPALIVE && m->heard_us)
                m->down_us = m->heard_us;
        log_warning("building broker %s:%d: connection lost (%s); retrying", m->opt.host,
                    m->opt.port, mosquitto_strerror(rc));
        drop_socket(m);
        schedule_retry(m);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct mqtt *m = userdata;
        int rc = MOSQ_ERR_SUCCESS;

        (void)fd;
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                rc = mosquitto_loop_read(m->mosq, 1);
                if (rc == MOSQ_ERR_SUCCESS)
                        sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &m->heard_us);
        }
        if (rc == MOSQ_ERR_SUCCESS && (revents & EPOLLOUT))
                rc = mosquitto_loop_write(m->mosq, 1);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_loop_misc(m->mosq);
        if (rc != MOSQ_ERR_SUCCESS || m->lost) {
                m->lost = false;
                lost(m, rc != MOSQ_ERR_SUCCESS ? rc : MOSQ_ERR_CONN_LOST);
                return 0;
        }
        set_events(m);
        return 0;
}

static int on_misc(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct mqtt *m = userdata;
        int rc;

        sd_event_source_set_time(s, usec + m->misc_period_us);
        if (!m->io)
                return 0;
        rc = mosquitto_loop_misc(m->mosq);
        if (rc != MOSQ_ERR_SUCCESS || m->lost) {
                m->lost = false;
                lost(m, rc != MOSQ_ERR_SUCCESS ? rc : MOSQ_ERR_CONN_LOST);
                return 0;
        }
        set_events(m);
        return 0;
}

static int watch_socket(struct mqtt *m)
{
        int fd = mosquitto_socket(m->mosq), r;

        if (fd < 0)
                return -ENOTCONN;
        r = sd_event_add_io(m->event, &m->io, fd, EPOLLIN | EPOLLOUT, on_io, m);
        if (r < 0)
                return log_error_errno(r, "cannot watch the broker's socket");
        return 0;
}

static void try_connect(struct mqtt *m)
{
        int rc = m->attempts == 0 ? mosquitto_connect_async(m->mosq, m->opt.host, m->opt.port,
                                                            m->opt.keepalive_s)
                                  : mosquitto_reconnect_async(m->mosq);

        m->attempts++;
        if (rc == MOSQ_ERR_SUCCESS && watch_socket(m) == 0)
                return;
        log_debug("building broker %s:%d: %s", m->opt.host, m->opt.port,
                  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        schedule_retry(m);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct mqtt *m = userdata;

        (void)usec;
        sd_event_source_set_enabled(s, SD_EVENT_OFF);
        try_connect(m);
        return 0;
}

/* Doubling from backoff_min up to backoff_max, each delay drawn between half and all of it, so
 * that clients that lost the broker together do not all come back in the same millisecond. */
static void schedule_retry(struct mqtt *m)
{
        unsigned shift = m->attempts > 20 ? 20 : m->attempts;
        long delay = m->opt.backoff_min_ms << (shift ? shift - 1 : 0);
        uint64_t now;

        if (delay > m->opt.backoff_max_ms || delay <= 0)
                delay = m->opt.backoff_max_ms;
        delay = delay / 2 + (long)(rand_r(&m->seed) % (unsigned)(delay / 2 + 1));
        sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(m->retry, now + (uint64_t)delay * 1000);
        sd_event_source_set_enabled(m->retry, SD_EVENT_ONESHOT);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
        struct mqtt *m = obj;

        if (rc != 0) {
                log_warning("building broker %s:%d refused the connection: %s", m->opt.host,
                            m->opt.port, mosquitto_connack_string(rc));
                m->lost = true;
                return;
        }
        m->attempts = 1;
        /* One SUBSCRIBE for all: its SUBACK says the detectors are heard from then on, and only
         * then is the connection said to be up in the log. */
        m->sub_mid = -1;
        if (m->opt.n_topics &&
            mosquitto_subscribe_multiple(mosq, &m->sub_mid, (int)m->opt.n_topics, m->topics, 1, 0,
                                         NULL) != MOSQ_ERR_SUCCESS)
                log_warning("building broker %s:%d: cannot subscribe; the detectors are not heard",
                            m->opt.host, m->opt.port);
        if (!m->opt.n_topics)
                log_info("building broker %s:%d: connected, no subscriptions", m->opt.host,
                         m->opt.port);
        m->connected = true;
        if (m->on_state)
                m->on_state(m->ctx, true);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
        struct mqtt *m = obj;
        int refused = 0;

        (void)mosq;
        if (mid != m->sub_mid)
                return;
        for (int i = 0; i < n; i++)
                refused += granted[i] > 2;
        if (refused)
                log_warning("building broker %s:%d: %d of %d subscriptions refused (the broker's "
                            "ACL?): some detectors are not heard",
                            m->opt.host, m->opt.port, refused, n);
        log_info("building broker %s:%d: connected, %d subscriptions", m->opt.host, m->opt.port,
                 n - refused);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
        (void)mosq;
        (void)rc;
        ((struct mqtt *)obj)->lost = true;
}

static void on_msg(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
        struct mqtt *m = obj;

        (void)mosq;
        if (m->on_message && msg->topic)
                m->on_message(m->ctx, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

static int setup_client(struct mqtt *m)
{
        if (m->opt.username && mosquitto_username_pw_set(m->mosq, m->opt.username,
                                                         m->opt.password) != MOSQ_ERR_SUCCESS) {
                log_error("building broker: credentials refused by libmosquitto");
                return -EINVAL;
        }
        if (m->opt.cafile &&
            mosquitto_tls_set(m->mosq, m->opt.cafile, NULL, NULL, NULL, NULL) != MOSQ_ERR_SUCCESS) {
                log_error("building broker: TLS set-up refused (CA file %s)", m->opt.cafile);
                return -EINVAL;
        }
        /* A smoke message is one small packet: Nagle's algorithm would hold the sounder's
         * command behind an unacknowledged one for tens of milliseconds. */
        mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_connect_callback_set(m->mosq, on_connect);
        mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
        mosquitto_message_callback_set(m->mosq, on_msg);
        mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
        return 0;
}

int mqtt_new(sd_event *event, const struct mqtt_options *opt, mqtt_message_fn on_message,
             mqtt_state_fn on_state, void *ctx, struct mqtt **out)
{
        struct mqtt *m;
        uint64_t now;
        int r = -ENOMEM;

        *out = NULL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        mosquitto_lib_init();
        m->event = sd_event_ref(event);
        m->opt = *opt;
        m->on_message = on_message;
        m->on_state = on_state;
        m->ctx = ctx;
        if (getrandom(&m->seed, sizeof(m->seed), 0) != sizeof(m->seed))
                m->seed = (unsigned)time(NULL);
        m->topics = calloc(opt->n_topics + 1, sizeof(char *));
        if (!m->topics)
                goto out_free;
        for (size_t i = 0; i < opt->n_topics; i++)
                if (!(m->topics[i] = strdup(opt->topics[i])))
                        goto out_free;
        m->mosq = mosquitto_new(opt->client_id, true, m);
        if (!m->mosq)
                goto out_free;
        r = setup_client(m);
        if (r < 0)
                goto out_free;
        /* libmosquitto pings once the keep-alive has passed without traffic and gives up after
         * another without an answer; checking every quarter of it sends the ping at most that
         * late, well inside the broker's 1.5 times, and notices a silent broker within
         * 2.5 keep-alives (75 s at the default 30 s). */
        m->misc_period_us = (uint64_t)(opt->keepalive_s > 4 ? opt->keepalive_s : 4) * 250000;
        sd_event_now(event, CLOCK_MONOTONIC, &now);
        r = sd_event_add_time(event, &m->misc, CLOCK_MONOTONIC, now + m->misc_period_us, 250000,
                              on_misc, m);
        if (r >= 0)
                r = sd_event_add_time(event, &m->retry, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_retry,
                                      m);
        if (r < 0)
                goto out_free;
        sd_event_source_set_enabled(m->misc, SD_EVENT_ON);
        sd_event_source_set_enabled(m->retry, SD_EVENT_OFF);
        try_connect(m);
        *out = m;
        return 0;

out_free:
        mqtt_free(m);
        return r;
}

void mqtt_free(struct mqtt *m)
{
        if (!m)
                return;
        if (m->mosq && m->io)
                mosquitto_disconnect(m->mosq);
        sd_event_source_disable_unref(m->io);
        sd_event_source_disable_unref(m->misc);
        sd_event_source_disable_unref(m->retry);
        mosquitto_destroy(m->mosq);
        for (size_t i = 0; m->topics && i < m->opt.n_topics; i++)
                free(m->topics[i]);
        free(m->topics);
        sd_event_unref(m->event);
        mosquitto_lib_cleanup();
        free(m);
}

int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                 bool retain)
{
        int rc;

        if (!m->connected)
                return -ENOTCONN;
        if (len > INT32_MAX)
                return -EMSGSIZE;
        rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, qos, retain);
        if (rc != MOSQ_ERR_SUCCESS)
                return rc == MOSQ_ERR_NOMEM ? -ENOMEM : -EIO;
        set_events(m);
        return 0;
}

bool mqtt_connected(const struct mqtt *m)
{
        return m->connected;
}

uint64_t mqtt_down_since(const struct mqtt *m)
{
        return m->down_us;
}
