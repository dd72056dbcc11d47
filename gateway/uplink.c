/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uplink: Paho's asynchronous client held at arm's length from the loop.
 *
 * Threads. Paho calls back on its own threads, always holding its global mutex. Those callbacks
 * (the paho_* functions) only copy a small event into u's queue under u->lock and wake the loop
 * through an eventfd; the loop drains the queue and does everything else, so the connection
 * state, the in-flight table and every user callback live on the loop's thread alone. Inbound
 * payloads over 64 KiB are refused there; when the loop falls behind, inbound messages are left
 * with Paho (messageArrived returns 0 and Paho offers them again later) rather than queued
 * without bound.
 *
 * Links. Each connection attempt has a Paho client of its own, a link, and every event carries
 * its link's number: the loop acts only on events of the live link. Paho restarts message ids at
 * 1 on every clean session and may still send, after a reconnect, publishes queued before the
 * loss, so a completion from an old connection could otherwise pass for the ack of a new
 * publish with the same id. A link is destroyed only once its successor exists, because
 * destroying Paho's last client stops Paho's threads, a wait of up to a second that the loop
 * must not make on every attempt. MQTTAsync_destroy takes Paho's mutex and unlists the client,
 * so once it returns no callback of that link runs or will run; only then is the link freed.
 *
 * Reconnecting is ours, not Paho's (automaticReconnect stays off): servers are tried in order,
 * the next at once when one fails, and a failed round waits a back-off on u->retry.
 * Invariant: u->retry is armed exactly while no attempt is under way and no connection is up.
 */
#include "uplink.h"

#include <MQTTAsync.h>
#include <MQTTProperties.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define UPLINK_MAX_PAYLOAD         (64 * 1024)
#define UPLINK_MAX_QUEUED_MESSAGES 64
#define UPLINK_DEFAULT_INFLIGHT    64
#define UPLINK_CONNECT_TIMEOUT_S   10
#define UPLINK_CLOSE_TIMEOUT_MS    1000
#define UPLINK_REFUSED_LOG_USEC    (10 * 1000000ULL)
#define UPLINK_TEXT_MAX            256
#define UPLINK_MQTT_MAX_PACKET     268435455 /* the largest remaining length MQTT can encode */

static const char default_online[] = "{\"state\":\"online\"}";
static const char default_offline[] = "{\"state\":\"offline\"}";

enum event_kind {
        EVENT_CONNECTED,      /* CONNACK accepted; code: the broker's Receive Maximum or 0 */
        EVENT_CONNECT_FAILED, /* code: Paho's error, or the CONNACK's return or reason code */
        EVENT_LOST,
        EVENT_SUBACK,  /* token; ok, or code: the refusal */
        EVENT_PUBACK,  /* token; ok, or code: the refusal or why it was abandoned */
        EVENT_MESSAGE, /* topic and payload in data */
        EVENT_REFUSED, /* an inbound message over the size limit: topic_len and payload_len */
};

struct event {
        struct event *next;
        enum event_kind kind;
        uint64_t link;
        int token, code;
        bool ok, tls;
        size_t topic_len, payload_len;
        char text[UPLINK_TEXT_MAX]; /* why a connection failed; the refused message's topic */
        char data[];                /* EVENT_MESSAGE: topic, NUL, payload */
};

struct link {
        struct uplink *u;
        MQTTAsync client;
        uint64_t id;
        size_t uri;
        int version; /* 5, or 4 for 3.1.1 */
        /* The first OpenSSL error of this attempt; under u->lock. */
        char tls_error[UPLINK_TEXT_MAX];
};

struct inflight {
        int token; /* 0: free */
        uint64_t tag;
};

enum uplink_state {
        STATE_IDLE,        /* waiting for u->retry */
        STATE_CONNECTING,  /* CONNECT sent to u->link's server */
        STATE_SUBSCRIBING, /* CONNACK received, SUBACKs awaited */
        STATE_UP,
};

struct uplink {
        sd_event *event;
        sd_event_source *wake, *retry;
        int efd;

        /* Shared with Paho's threads: everything here only under lock. */
        pthread_mutex_t lock;
        bool lock_ready;
        struct event *head, **tail;
        unsigned queued_messages;
        bool overflow;

        /* Options, copied; and the protocol version learned for each server. */
        char **uris;
        int *versions; /* 5, or 4 once the server refused MQTT 5 */
        size_t n_uris;
        char *client_id, *username, *password, *cafile, *certfile, *keyfile, *status_topic;
        char *status_online, *status_offline;
        char **subscriptions;
        size_t n_subscriptions;
        int keepalive_s, max_inflight;
        long backoff_min_ms, backoff_max_ms;
        uplink_state_fn on_state;
        uplink_delivered_fn on_delivered;
        uplink_message_fn on_message;
        void *ctx;

        /* The loop's own. */
        enum uplink_state state;
        struct link *link;  /* the latest attempt's, live or not */
        uint64_t live;      /* the id of the link whose events count; 0: none */
        uint64_t next_link; /* the id of the next link */
        unsigned rounds;    /* failed rounds since the last connection */
        unsigned seed;
        struct inflight *inflight;
        size_t n_inflight;
        int inflight_limit; /* max_inflight, or less if the broker says so */
        int *sub_tokens;    /* SUBACKs awaited, by subscription; 0: none */
        size_t subs_pending;
        uint64_t refused_logged;
        unsigned refused_unlogged;
};

static void start_round(struct uplink *u, size_t first);

/* ---- Paho's threads: copy, queue, wake; nothing else. ---- */

static void wake_loop(struct uplink *u)
{
        uint64_t one = 1;

        /* An eventfd write fails only when the counter would overflow, and then the loop has a
         * wake-up pending anyway. */
        (void)!write(u->efd, &one, sizeof(one));
}

/* Appends @ev; NULL (no memory for it) is remembered as an overflow, which makes the loop start
 * the connection over, since an event lost silently could leave it waiting forever. */
static void queue_event(struct uplink *u, struct event *ev)
{
        bool was_empty;

        pthread_mutex_lock(&u->lock);
        was_empty = !u->head && !u->overflow;
        if (ev) {
                *u->tail = ev;
                u->tail = &ev->next;
        } else {
                u->overflow = true;
        }
        pthread_mutex_unlock(&u->lock);
        if (was_empty)
                wake_loop(u);
}

static struct event *new_event(const struct link *l, enum event_kind kind, size_t extra)
{
        struct event *ev = calloc(1, sizeof(*ev) + extra);

        if (ev) {
                ev->kind = kind;
                ev->link = l->id;
        }
        return ev;
}

/* Copies up to @len bytes of @src into @dst (UPLINK_TEXT_MAX bytes), cut short and terminated. */
static void copy_text(char *dst, const char *src, size_t len)
{
        if (!src)
                len = 0;
        if (len >= UPLINK_TEXT_MAX)
                len = UPLINK_TEXT_MAX - 1;
        if (len)
                memcpy(dst, src, len);
        dst[len] = '\0';
}

static void push_connected(struct link *l, int receive_maximum)
{
        struct event *ev = new_event(l, EVENT_CONNECTED, 0);

        if (ev)
                ev->code = receive_maximum;
        queue_event(l->u, ev);
}

static void push_connect_failed(struct link *l, int code, const char *message)
{
        struct event *ev = new_event(l, EVENT_CONNECT_FAILED, 0);

        if (ev) {
                ev->code = code;
                pthread_mutex_lock(&l->u->lock);
                ev->tls = l->tls_error[0] != '\0';
                copy_text(ev->text, ev->tls ? l->tls_error : message,
                          ev->tls   ? strlen(l->tls_error)
                          : message ? strlen(message)
                                    : 0);
                pthread_mutex_unlock(&l->u->lock);
        }
        queue_event(l->u, ev);
}

static void push_ack(struct link *l, enum event_kind kind, int token, bool ok, int code)
{
        struct event *ev = new_event(l, kind, 0);

        if (ev) {
                ev->token = token;
                ev->ok = ok;
                ev->code = code;
        }
        queue_event(l->u, ev);
}

static void paho_connected(void *context, MQTTAsync_successData *response)
{
        (void)response;
        push_connected(context, 0);
}

/* An MQTT 5 broker may cap the publishes in flight (Receive Maximum; Mosquitto's default is 20).
 * Paho then holds the excess in its queue, and sends it only when its thread next wakes, up to a
 * second later; so uplink_publish() keeps to the cap itself. */
static void paho_connected5(void *context, MQTTAsync_successData5 *response)
{
        MQTTProperties *props = response ? &response->properties : NULL;
        int max = 0;

        if (props && MQTTProperties_hasProperty(props, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM))
                max = MQTTProperties_getNumericValue(props, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
        push_connected(context, max);
}

static void paho_connect_failed(void *context, MQTTAsync_failureData *response)
{
        push_connect_failed(context, response ? response->code : MQTTASYNC_FAILURE,
                            response ? response->message : NULL);
}

/* A refusing MQTT 5 CONNACK comes as code (the reason code, with reasonCode left 0); a 3.1.1
 * server's CONNACK to our MQTT 5 CONNECT comes as code 1, "unacceptable protocol version". */
static void paho_connect_failed5(void *context, MQTTAsync_failureData5 *response)
{
        int code = MQTTASYNC_FAILURE;

        if (response)
                code = response->reasonCode != MQTTREASONCODE_SUCCESS ? (int)response->reasonCode
                                                                      : response->code;
        push_connect_failed(context, code, response ? response->message : NULL);
}

static void paho_lost(void *context, char *cause)
{
        struct link *l = context;

        (void)cause;
        queue_event(l->u, new_event(l, EVENT_LOST, 0));
}

static void paho_published(void *context, MQTTAsync_successData *response)
{
        push_ack(context, EVENT_PUBACK, response->token, true, 0);
}

static void paho_published5(void *context, MQTTAsync_successData5 *response)
{
        push_ack(context, EVENT_PUBACK, response->token, true, 0);
}

static void paho_publish_failed(void *context, MQTTAsync_failureData *response)
{
        push_ack(context, EVENT_PUBACK, response->token, false, response->code);
}

static void paho_publish_failed5(void *context, MQTTAsync_failureData5 *response)
{
        push_ack(context, EVENT_PUBACK, response->token, false,
                 response->reasonCode ? (int)response->reasonCode : response->code);
}

static void paho_subscribed(void *context, MQTTAsync_successData *response)
{
        push_ack(context, EVENT_SUBACK, response->token, true, 0);
}

static void paho_subscribed5(void *context, MQTTAsync_successData5 *response)
{
        push_ack(context, EVENT_SUBACK, response->token, true, 0);
}

static void paho_subscribe_failed(void *context, MQTTAsync_failureData *response)
{
        push_ack(context, EVENT_SUBACK, response->token, false, response->code);
}

static void paho_subscribe_failed5(void *context, MQTTAsync_failureData5 *response)
{
        push_ack(context, EVENT_SUBACK, response->token, false,
                 response->reasonCode ? (int)response->reasonCode : response->code);
}

static int paho_message(void *context, char *topic, int topic_len, MQTTAsync_message *msg)
{
        struct link *l = context;
        struct uplink *u = l->u;
        size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
        size_t plen = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
        struct event *ev;
        bool full;

        if (plen > UPLINK_MAX_PAYLOAD) {
                ev = new_event(l, EVENT_REFUSED, 0);
                if (ev) {
                        ev->topic_len = tlen;
                        ev->payload_len = plen;
                        copy_text(ev->text, topic, tlen);
                }
                queue_event(u, ev);
                goto out_consumed;
        }
        pthread_mutex_lock(&u->lock);
        full = u->queued_messages >= UPLINK_MAX_QUEUED_MESSAGES;
        if (!full)
                u->queued_messages++;
        pthread_mutex_unlock(&u->lock);
        if (full)
                return 0;
        ev = new_event(l, EVENT_MESSAGE, tlen + 1 + plen);
        if (!ev) {
                pthread_mutex_lock(&u->lock);
                u->queued_messages--;
                pthread_mutex_unlock(&u->lock);
                return 0;
        }
        ev->topic_len = tlen;
        ev->payload_len = plen;
        memcpy(ev->data, topic, tlen);
        if (plen)
                memcpy(ev->data + tlen + 1, msg->payload, plen);
        queue_event(u, ev);

out_consumed:
        MQTTAsync_freeMessage(&msg);
        MQTTAsync_free(topic);
        return 1;
}

/* OpenSSL's error queue, one line at a time: "tid:error:code:library:function:reason:file:line:".
 * Keeps the first line of the attempt, which names the cause. */
static int paho_tls_error(const char *str, size_t len, void *context)
{
        struct link *l = context;

        pthread_mutex_lock(&l->u->lock);
        if (!l->tls_error[0])
                copy_text(l->tls_error, str, len);
        pthread_mutex_unlock(&l->u->lock);
        return 1;
}

/* ---- The loop. ---- */

static const char *version_name(int version)
{
        return version == MQTTVERSION_5 ? "5" : "3.1.1";
}

static bool is_tls(const char *uri)
{
        return strncmp(uri, "ssl://", 6) == 0 || strncmp(uri, "mqtts://", 8) == 0 ||
               strncmp(uri, "wss://", 6) == 0;
}

static const char *connack_v4_name(int code)
{
        static const char *const names[] = {
                [1] = "unacceptable protocol version",
                [2] = "client identifier rejected",
                [3] = "server unavailable",
                [4] = "bad user name or password",
                [5] = "not authorized",
        };

        return code > 0 && code <= 5 ? names[code] : "refused";
}

/* The reason from an OpenSSL error line, or the line itself when it has another shape. */
static const char *tls_reason(const char *line, char *buf)
{
        const char *p = line;

        for (int field = 0; field < 5 && p; field++) {
                p = strchr(p, ':');
                if (p)
                        p++;
        }
        if (!p || !*p)
                return line;
        copy_text(buf, p, strcspn(p, ":\n"));
        return buf;
}

static void destroy_link(struct link *l)
{
        if (!l)
                return;
        if (l->client)
                MQTTAsync_destroy(&l->client);
        free(l);
}

static void forget_inflight(struct uplink *u)
{
        for (int i = 0; i < u->max_inflight; i++)
                u->inflight[i].token = 0;
        u->n_inflight = 0;
}

/* Doubling from backoff_min up to backoff_max with each failed round, each delay drawn between
 * half and all of it, so that gateways that lost the platform together do not return in step. */
static void schedule_round(struct uplink *u)
{
        unsigned shift = u->rounds > 20 ? 20 : u->rounds;
        long delay = u->backoff_min_ms << shift;
        uint64_t now;

        if (delay > u->backoff_max_ms || delay <= 0)
                delay = u->backoff_max_ms;
        delay = delay / 2 + (long)(rand_r(&u->seed) % (unsigned)(delay / 2 + 1));
        u->rounds++;
        u->state = STATE_IDLE;
        u->live = 0;
        log_debug("uplink: next round in %ld ms", delay);
        sd_event_now(u->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(u->retry, now + (uint64_t)delay * 1000);
        sd_event_source_set_enabled(u->retry, SD_EVENT_ONESHOT);
}

static int link_connect(struct uplink *u, struct link *l)
{
        MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
        MQTTAsync_connectOptions opts4 = MQTTAsync_connectOptions_initializer;
        MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
        MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;

        if (l->version == MQTTVERSION_5) {
                opts.onSuccess5 = paho_connected5;
                opts.onFailure5 = paho_connect_failed5;
        } else {
                /* Paho refuses the v5 fields (cleanstart, onSuccess5, ...) on a 3.1.1 connect. */
                opts = opts4;
                opts.MQTTVersion = MQTTVERSION_3_1_1;
                opts.onSuccess = paho_connected;
                opts.onFailure = paho_connect_failed;
        }
        opts.context = l;
        opts.keepAliveInterval = u->keepalive_s;
        opts.maxInflight = u->max_inflight + 2; /* the status publish and a SUBSCRIBE beside ours */
        opts.connectTimeout = UPLINK_CONNECT_TIMEOUT_S;
        opts.automaticReconnect = 0;
        opts.username = u->username;
        opts.password = u->password;
        if (u->status_topic) {
                will.topicName = u->status_topic;
                will.message = u->status_offline;
                will.qos = 1;
                will.retained = 1;
                opts.will = &will;
        }
        if (is_tls(u->uris[l->uri])) {
                ssl.trustStore = u->cafile;
                ssl.keyStore = u->certfile;
                ssl.privateKey = u->keyfile;
                ssl.enableServerCertAuth = 1;
                ssl.verify = 1;
                ssl.disableDefaultTrustStore = u->cafile != NULL;
                /* Paho ignores sslVersion with OpenSSL 1.1 and later; leaving out the cipher
                 * suites that TLS 1.0 and 1.1 can use makes TLS 1.2 the floor whatever the
                 * system's OpenSSL policy. TLS 1.3 suites are configured apart and stay. */
                ssl.enabledCipherSuites = "DEFAULT:!SSLv3:!TLSv1";
                ssl.ssl_error_cb = paho_tls_error;
                ssl.ssl_error_context = l;
                opts.ssl = &ssl;
        }
        return MQTTAsync_connect(l->client, &opts);
}

/* Starts connecting to server @index with a new link; 0, or a Paho error (said in the log). */
static int attempt(struct uplink *u, size_t index)
{
        MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer5;
        const char *uri = u->uris[index];
        struct link *l = calloc(1, sizeof(*l));
        int rc;

        if (!l) {
                log_error("uplink %s: cannot connect: out of memory", uri);
                return MQTTASYNC_FAILURE;
        }
        l->u = u;
        l->id = u->next_link++;
        l->uri = index;
        l->version = u->versions[index];
        create.MQTTVersion = l->version;
        create.sendWhileDisconnected = 0;
        create.maxBufferedMessages = u->max_inflight + 16;
        rc = MQTTAsync_createWithOptions(&l->client, uri, u->client_id, MQTTCLIENT_PERSISTENCE_NONE,
                                         NULL, &create);
        if (rc == MQTTASYNC_SUCCESS)
                rc = MQTTAsync_setCallbacks(l->client, l, paho_lost, paho_message, NULL);
        if (rc == MQTTASYNC_SUCCESS)
                rc = link_connect(u, l);
        if (rc != MQTTASYNC_SUCCESS) {
                log_error("uplink %s: cannot connect: %s", uri, MQTTAsync_strerror(rc));
                destroy_link(l);
                return rc;
        }
        /* The previous link goes only now, so that Paho never has zero clients (see above). */
        destroy_link(u->link);
        u->link = l;
        u->live = l->id;
        u->state = STATE_CONNECTING;
        return 0;
}

/* Tries the servers from @first on; when none can even be tried, waits for the next round. */
static void start_round(struct uplink *u, size_t first)
{
        for (size_t i = first; i < u->n_uris; i++)
                if (attempt(u, i) == 0)
                        return;
        schedule_round(u);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        start_round(userdata, 0);
        return 0;
}

static void go_up(struct uplink *u)
{
        const char *uri = u->uris[u->link->uri];

        u->state = STATE_UP;
        u->rounds = 0;
        log_info("uplink %s: connected (MQTT %s, %zu subscriptions)", uri,
                 version_name(u->link->version), u->n_subscriptions);
        if (u->on_state)
                u->on_state(u->ctx, true, uri, u->link->version);
}

static void send_status(struct uplink *u, const char *status)
{
        int rc;

        if (!u->status_topic)
                return;
        rc = MQTTAsync_send(u->link->client, u->status_topic, (int)strlen(status), status, 1, 1,
                            NULL);
        if (rc != MQTTASYNC_SUCCESS)
                log_warning("uplink %s: cannot publish the status on %s: %s", u->uris[u->link->uri],
                            u->status_topic, MQTTAsync_strerror(rc));
}

int uplink_set_status(struct uplink *u, const char *online)
{
        char *copy = strdup(online);

        if (!copy)
                return -ENOMEM;
        free(u->status_online);
        u->status_online = copy;
        if (u->state == STATE_SUBSCRIBING || u->state == STATE_UP)
                send_status(u, u->status_online);
        return 0;
}

static void handle_connected(struct uplink *u, const struct event *ev)
{
        struct link *l = u->link;
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

        u->state = STATE_SUBSCRIBING;
        u->inflight_limit = u->max_inflight;
        /* The status publish is in flight too, hence the one kept back. */
        if (ev->code > 1 && ev->code - 1 < u->inflight_limit)
                u->inflight_limit = ev->code - 1;
        send_status(u, u->status_online);
        if (l->version == MQTTVERSION_5) {
                ro.onSuccess5 = paho_subscribed5;
                ro.onFailure5 = paho_subscribe_failed5;
        } else {
                ro.onSuccess = paho_subscribed;
                ro.onFailure = paho_subscribe_failed;
        }
        ro.context = l;
        u->subs_pending = 0;
        for (size_t i = 0; i < u->n_subscriptions; i++) {
                int rc = MQTTAsync_subscribe(l->client, u->subscriptions[i], 1, &ro);

                u->sub_tokens[i] = 0;
                if (rc != MQTTASYNC_SUCCESS) {
                        log_warning("uplink %s: cannot subscribe to %s: %s", u->uris[l->uri],
                                    u->subscriptions[i], MQTTAsync_strerror(rc));
                        continue;
                }
                u->sub_tokens[i] = ro.token;
                u->subs_pending++;
        }
        /* Up only once the broker has the subscriptions, so that what the caller publishes in
         * response to the state change can already be answered. */
        if (u->subs_pending == 0)
                go_up(u);
}

static void handle_suback(struct uplink *u, const struct event *ev)
{
        for (size_t i = 0; i < u->n_subscriptions; i++) {
                if (u->sub_tokens[i] == 0 || u->sub_tokens[i] != ev->token)
                        continue;
                u->sub_tokens[i] = 0;
                if (!ev->ok && ev->code != MQTTASYNC_OPERATION_INCOMPLETE)
                        log_warning("uplink %s: the broker refused the subscription to %s (%s)",
                                    u->uris[u->link->uri], u->subscriptions[i],
                                    u->link->version == MQTTVERSION_5
                                            ? MQTTReasonCode_toString(ev->code)
                                            : "SUBACK failure");
                if (--u->subs_pending == 0 && u->state == STATE_SUBSCRIBING)
                        go_up(u);
                return;
        }
}

static void handle_connect_failed(struct uplink *u, const struct event *ev)
{
        struct link *l = u->link;
        const char *uri = u->uris[l->uri];
        char buf[UPLINK_TEXT_MAX];

        if (l->version == MQTTVERSION_5 &&
            (ev->code == 1 || ev->code == MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION)) {
                log_notice("uplink %s refuses MQTT 5 (unacceptable protocol version); using MQTT "
                           "3.1.1 with it",
                           uri);
                u->versions[l->uri] = MQTTVERSION_3_1_1;
                start_round(u, l->uri);
                return;
        }
        if (ev->tls)
                log_warning("uplink %s: cannot connect: TLS: %s", uri, tls_reason(ev->text, buf));
        else if (ev->code > 0)
                log_warning("uplink %s: connection refused: %s (CONNACK %d)", uri,
                            l->version == MQTTVERSION_5 ? MQTTReasonCode_toString(ev->code)
                                                        : connack_v4_name(ev->code),
                            ev->code);
        else
                log_warning("uplink %s: cannot connect: %s", uri,
                            ev->text[0] ? ev->text : MQTTAsync_strerror(ev->code));
        start_round(u, l->uri + 1);
}

static void handle_lost(struct uplink *u)
{
        const char *uri = u->uris[u->link->uri];
        bool was_up = u->state == STATE_UP;

        log_warning("uplink %s: connection lost, %zu publishes unacknowledged; reconnecting", uri,
                    u->n_inflight);
        forget_inflight(u);
        u->rounds = 0;
        schedule_round(u);
        if (was_up && u->on_state)
                u->on_state(u->ctx, false, uri, u->link->version);
}

static void handle_puback(struct uplink *u, const struct event *ev)
{
        for (int i = 0; i < u->max_inflight; i++) {
                struct inflight *f = &u->inflight[i];

                if (f->token != ev->token || f->token == 0)
                        continue;
                f->token = 0;
                u->n_inflight--;
                if (ev->ok) {
                        if (u->on_delivered)
                                u->on_delivered(u->ctx, f->tag);
                } else if (ev->code > 0) {
                        /* Refused by the broker (an MQTT 5 reason code): not delivered; it stays
                         * in the caller's outbox and goes again after the next reconnect. */
                        log_warning("uplink %s: the broker refused publish %" PRIu64 ": %s",
                                    u->uris[u->link->uri], f->tag,
                                    MQTTReasonCode_toString(ev->code));
                }
                return;
        }
}

static void handle_refused(struct uplink *u, const struct event *ev)
{
        uint64_t now;

        /* Rate-limited: whoever can publish to our subscriptions could fill the log. */
        sd_event_now(u->event, CLOCK_MONOTONIC, &now);
        if (u->refused_logged && now - u->refused_logged < UPLINK_REFUSED_LOG_USEC) {
                u->refused_unlogged++;
                return;
        }
        log_warning("uplink %s: refused a message of %zu bytes on %s (over %d bytes)%s",
                    u->uris[u->link->uri], ev->payload_len, ev->text, UPLINK_MAX_PAYLOAD,
                    u->refused_unlogged ? "; more were refused since the last such line" : "");
        u->refused_logged = now;
        u->refused_unlogged = 0;
}

/* No memory to queue an event: what was lost is unknown, so the connection starts over and the
 * caller publishes again whatever was not acknowledged. */
static void handle_overflow(struct uplink *u)
{
        log_error("uplink: out of memory for Paho's events; reconnecting");
        if (u->state == STATE_IDLE)
                return;
        if (u->link && MQTTAsync_isConnected(u->link->client)) {
                MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;

                MQTTAsync_disconnect(u->link->client, &opts);
        }
        if (u->state == STATE_UP || u->state == STATE_SUBSCRIBING)
                handle_lost(u);
        else
                schedule_round(u);
}

static void handle_event(struct uplink *u, const struct event *ev)
{
        if (ev->link != u->live || !u->link)
                return;
        switch (ev->kind) {
        case EVENT_CONNECTED:
                handle_connected(u, ev);
                break;
        case EVENT_CONNECT_FAILED:
                handle_connect_failed(u, ev);
                break;
        case EVENT_LOST:
                handle_lost(u);
                break;
        case EVENT_SUBACK:
                handle_suback(u, ev);
                break;
        case EVENT_PUBACK:
                handle_puback(u, ev);
                break;
        case EVENT_MESSAGE:
                if (u->on_message)
                        u->on_message(u->ctx, ev->data, ev->data + ev->topic_len + 1,
                                      ev->payload_len);
                break;
        case EVENT_REFUSED:
                handle_refused(u, ev);
                break;
        }
}

static void free_events(struct event *ev)
{
        while (ev) {
                struct event *next = ev->next;

                free(ev);
                ev = next;
        }
}

/* Takes the whole queue at once, so Paho's threads wait for the lock only that long. */
static struct event *take_events(struct uplink *u, bool *overflow)
{
        struct event *list;

        pthread_mutex_lock(&u->lock);
        list = u->head;
        u->head = NULL;
        u->tail = &u->head;
        u->queued_messages = 0;
        *overflow = u->overflow;
        u->overflow = false;
        pthread_mutex_unlock(&u->lock);
        return list;
}

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct uplink *u = userdata;
        struct event *list, *ev;
        uint64_t count;
        bool overflow;

        (void)s;
        (void)revents;
        (void)!read(fd, &count, sizeof(count));
        list = take_events(u, &overflow);
        for (ev = list; ev; ev = ev->next)
                handle_event(u, ev);
        free_events(list);
        if (overflow)
                handle_overflow(u);
        return 0;
}

/* ---- The interface. ---- */

static int copy_string(char **dst, const char *src)
{
        *dst = NULL;
        if (!src)
                return 0;
        *dst = strdup(src);
        return *dst ? 0 : -ENOMEM;
}

static int copy_strings(char ***dst, const char *const *src, size_t n)
{
        *dst = calloc(n + 1, sizeof(char *));
        if (!*dst)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (copy_string(&(*dst)[i], src[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static void free_strings(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

/* The schemes Paho knows (mqtt:// and mqtts:// are its names for tcp:// and ssl://). */
static bool has_scheme(const char *uri)
{
        static const char *const schemes[] = {"tcp://",   "mqtt://", "ssl://",
                                              "mqtts://", "ws://",   "wss://"};

        for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
                if (strncmp(uri, schemes[i], strlen(schemes[i])) == 0)
                        return true;
        return false;
}

static int check_options(const struct uplink_options *opt)
{
        bool any_tls = false;

        if (opt->n_uris == 0 || !opt->uris || !opt->client_id) {
                log_error("uplink: no server or no client id configured");
                return -EINVAL;
        }
        for (size_t i = 0; i < opt->n_uris; i++) {
                const char *uri = opt->uris[i];

                if (!uri || !has_scheme(uri)) {
                        log_error("uplink: %s is not a server URI (tcp://host:port or "
                                  "ssl://host:port)",
                                  uri ? uri : "(null)");
                        return -EINVAL;
                }
                any_tls |= is_tls(uri);
        }
        if (!any_tls && (opt->cafile || opt->certfile || opt->keyfile)) {
                log_error("uplink: TLS files are configured but no server URI is ssl://");
                return -EINVAL;
        }
        if (opt->n_subscriptions && !opt->subscriptions) {
                log_error("uplink: subscriptions counted but not given");
                return -EINVAL;
        }
        return 0;
}

static int copy_options(struct uplink *u, const struct uplink_options *opt)
{
        int r = 0;

        u->n_uris = opt->n_uris;
        u->n_subscriptions = opt->n_subscriptions;
        r |= copy_strings(&u->uris, opt->uris, opt->n_uris);
        r |= copy_strings(&u->subscriptions, opt->subscriptions, opt->n_subscriptions);
        r |= copy_string(&u->client_id, opt->client_id);
        r |= copy_string(&u->username, opt->username);
        r |= copy_string(&u->password, opt->password);
        r |= copy_string(&u->cafile, opt->cafile);
        r |= copy_string(&u->certfile, opt->certfile);
        r |= copy_string(&u->keyfile, opt->keyfile);
        r |= copy_string(&u->status_topic, opt->status_topic);
        r |= copy_string(&u->status_online,
                         opt->status_online ? opt->status_online : default_online);
        r |= copy_string(&u->status_offline,
                         opt->status_offline ? opt->status_offline : default_offline);
        if (r < 0)
                return -ENOMEM;
        u->keepalive_s = opt->keepalive_s > 0 ? opt->keepalive_s : 60;
        u->max_inflight = opt->max_inflight > 0 ? opt->max_inflight : UPLINK_DEFAULT_INFLIGHT;
        if (u->max_inflight > 65000)
                u->max_inflight = 65000; /* MQTT packet ids are 16 bits */
        u->backoff_min_ms = opt->backoff_min_ms > 0 ? opt->backoff_min_ms : 1000;
        u->backoff_max_ms =
                opt->backoff_max_ms >= u->backoff_min_ms ? opt->backoff_max_ms : u->backoff_min_ms;
        u->versions = calloc(u->n_uris, sizeof(int));
        u->inflight = calloc((size_t)u->max_inflight, sizeof(*u->inflight));
        u->sub_tokens = calloc(u->n_subscriptions + 1, sizeof(int));
        if (!u->versions || !u->inflight || !u->sub_tokens)
                return -ENOMEM;
        for (size_t i = 0; i < u->n_uris; i++)
                u->versions[i] = MQTTVERSION_5;
        return 0;
}

int uplink_new(sd_event *event, const struct uplink_options *opt, uplink_state_fn on_state,
               uplink_delivered_fn on_delivered, uplink_message_fn on_message, void *ctx,
               struct uplink **out)
{
        struct uplink *u;
        int r;

        *out = NULL;
        r = check_options(opt);
        if (r < 0)
                return r;
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->efd = -1;
        u->tail = &u->head;
        u->event = sd_event_ref(event);
        u->on_state = on_state;
        u->on_delivered = on_delivered;
        u->on_message = on_message;
        u->ctx = ctx;
        u->next_link = 1;
        if (getrandom(&u->seed, sizeof(u->seed), 0) != sizeof(u->seed))
                u->seed = (unsigned)time(NULL);
        r = copy_options(u, opt);
        if (r < 0)
                goto out_free;
        r = -pthread_mutex_init(&u->lock, NULL);
        if (r < 0)
                goto out_free;
        u->lock_ready = true;
        u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (u->efd < 0) {
                r = log_error_errno(-errno, "uplink: cannot make an eventfd");
                goto out_free;
        }
        r = sd_event_add_io(event, &u->wake, u->efd, EPOLLIN, on_wake, u);
        if (r >= 0)
                r = sd_event_add_time(event, &u->retry, CLOCK_MONOTONIC, UINT64_MAX, 10000,
                                      on_retry, u);
        if (r < 0) {
                log_error_errno(r, "uplink: cannot add event sources");
                goto out_free;
        }
        sd_event_source_set_enabled(u->retry, SD_EVENT_OFF);
        start_round(u, 0);
        *out = u;
        return 0;

out_free:
        uplink_free(u);
        return r;
}

/* Waits up to @ms for @done(@client, @token); the loop is not running any more, so this polls. */
static bool wait_for(MQTTAsync client, int token, bool (*done)(MQTTAsync, int), int ms)
{
        struct timespec tick = {.tv_nsec = 5 * 1000 * 1000};

        for (int waited = 0; waited < ms; waited += 5) {
                if (done(client, token))
                        return true;
                nanosleep(&tick, NULL);
        }
        return done(client, token);
}

static bool is_complete(MQTTAsync client, int token)
{
        return MQTTAsync_isComplete(client, token) == MQTTASYNC_TRUE;
}

static bool is_disconnected(MQTTAsync client, int token)
{
        (void)token;
        return !MQTTAsync_isConnected(client);
}

/* Says "offline" and waits (bounded) for the broker's ack, since a clean DISCONNECT keeps the
 * broker from publishing the will; then disconnects. Publishes still in flight are left to the
 * caller's outbox. */
static void close_link(struct uplink *u)
{
        MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer;
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        MQTTAsync client = u->link->client;
        const char *uri = u->uris[u->link->uri];

        if (u->status_topic && (u->state == STATE_UP || u->state == STATE_SUBSCRIBING) &&
            MQTTAsync_send(client, u->status_topic, (int)strlen(u->status_offline),
                           u->status_offline, 1, 1, &ro) == MQTTASYNC_SUCCESS &&
            !wait_for(client, ro.token, is_complete, UPLINK_CLOSE_TIMEOUT_MS))
                log_warning("uplink %s: the offline status was not acknowledged in time", uri);
        if (!MQTTAsync_isConnected(client))
                return;
        dopts.timeout = 0; /* nothing more to wait for: see above */
        if (MQTTAsync_disconnect(client, &dopts) == MQTTASYNC_SUCCESS)
                wait_for(client, 0, is_disconnected, 200);
        log_info("uplink %s: disconnected", uri);
}

void uplink_free(struct uplink *u)
{
        if (!u)
                return;
        if (u->link) {
                close_link(u);
                /* After this, no Paho thread calls back into u (see the top of the file). */
                destroy_link(u->link);
                u->link = NULL;
        }
        if (u->lock_ready) {
                bool overflow;

                free_events(take_events(u, &overflow));
                pthread_mutex_destroy(&u->lock);
        }
        sd_event_source_disable_unref(u->wake);
        sd_event_source_disable_unref(u->retry);
        if (u->efd >= 0)
                close(u->efd);
        sd_event_unref(u->event);
        free_strings(u->uris, u->n_uris);
        free_strings(u->subscriptions, u->n_subscriptions);
        free(u->client_id);
        free(u->username);
        free(u->password);
        free(u->cafile);
        free(u->certfile);
        free(u->keyfile);
        free(u->status_topic);
        free(u->status_online);
        free(u->status_offline);
        free(u->versions);
        free(u->inflight);
        free(u->sub_tokens);
        free(u);
}

static int publish_error(int rc)
{
        switch (rc) {
        case MQTTASYNC_DISCONNECTED:
                return -ENOTCONN;
        case MQTTASYNC_BAD_UTF8_STRING:
        case MQTTASYNC_NULL_PARAMETER:
        case MQTTASYNC_BAD_QOS:
        case MQTTASYNC_TOPICNAME_TRUNCATED:
                return -EINVAL;
        case MQTTASYNC_NO_MORE_MSGIDS:
        case MQTTASYNC_MAX_MESSAGES_INFLIGHT:
        case MQTTASYNC_MAX_BUFFERED_MESSAGES:
                return -EAGAIN;
        }
        return -EIO;
}

int uplink_publish(struct uplink *u, const char *topic, const void *payload, size_t len, int qos,
                   bool retain, uint64_t tag)
{
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        struct inflight *slot = NULL;
        int rc;

        if (u->state != STATE_UP)
                return -ENOTCONN;
        if (qos < 0 || qos > 2 || !topic)
                return -EINVAL;
        if (len > UPLINK_MQTT_MAX_PACKET)
                return -EMSGSIZE;
        if (qos > 0) {
                if (u->n_inflight >= (size_t)u->inflight_limit)
                        return -EAGAIN;
                for (int i = 0; i < u->max_inflight && !slot; i++)
                        if (u->inflight[i].token == 0)
                                slot = &u->inflight[i];
                if (!slot)
                        return -EAGAIN;
        }
        if (u->link->version == MQTTVERSION_5) {
                ro.onSuccess5 = paho_published5;
                ro.onFailure5 = paho_publish_failed5;
        } else {
                ro.onSuccess = paho_published;
                ro.onFailure = paho_publish_failed;
        }
        ro.context = u->link;
        rc = MQTTAsync_send(u->link->client, topic, (int)len, payload, qos, retain,
                            qos > 0 ? &ro : NULL);
        if (rc != MQTTASYNC_SUCCESS)
                return publish_error(rc);
        if (slot) {
                slot->token = ro.token;
                slot->tag = tag;
                u->n_inflight++;
        }
        return 0;
}

bool uplink_connected(const struct uplink *u)
{
        return u->state == STATE_UP;
}

size_t uplink_inflight(const struct uplink *u)
{
        return u->n_inflight;
}
