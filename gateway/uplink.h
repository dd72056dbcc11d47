/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uplink: the connection to the city platform's MQTT broker(s), with Paho MQTT C (asynchronous
 * client), driven from the daemon's sd-event loop. Servers are tried in the order given and the
 * next one is tried when one cannot be reached; after a full round fails, the next round waits
 * a bounded exponential back-off with jitter. MQTT 5 is tried first; a server that refuses that
 * protocol version is spoken to in MQTT 3.1.1 from then on.
 *
 * Every session starts clean: the caller's outbox (SQLite) is the persistence, and the caller
 * publishes again whatever was not acknowledged when a connection is lost. The broker holds a
 * retained last will {"state":"offline"} on the status topic; each connection publishes
 * {"state":"online"} there, retained, and a clean uplink_free() publishes "offline" itself.
 *
 * Paho runs its own threads; every callback given here runs on the loop, never on them.
 */
#ifndef FIREGATE_UPLINK_H
#define FIREGATE_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct uplink;

struct uplink_options {
        const char *const *uris; /* "ssl://host:8883", "tcp://host:1883", tried in order */
        size_t n_uris;
        const char *client_id;
        const char *username, *password; /* NULL: none */
        /* TLS for ssl:// (and mqtts://) servers, all PEM: the CA that signs the server's
         * certificate (NULL: the system's CAs), the client's certificate and key (NULL: none). */
        const char *cafile, *certfile, *keyfile;
        int keepalive_s;                            /* 0: 60 */
        const char *status_topic;                   /* will and online status; NULL: none */
        const char *status_online, *status_offline; /* their payloads; NULL: {"state":...} */
        const char *const *subscriptions;           /* subscribed at QoS 1 on every connection */
        size_t n_subscriptions;
        long backoff_min_ms, backoff_max_ms; /* between full rounds; 0: 1000 ms, min */
        int max_inflight;                    /* QoS 1/2 publishes awaiting an ack; 0: 64 */
};

/* The connection came up (true: connected to @server_uri with MQTT @mqtt_version, 5 or 4 for
 * 3.1.1, subscriptions made) or went down (false; tags not yet delivered are forgotten). */
typedef void (*uplink_state_fn)(void *ctx, bool connected, const char *server_uri,
                                int mqtt_version);

/* The broker acknowledged (PUBACK, or PUBCOMP for QoS 2) the publish made with @tag. */
typedef void (*uplink_delivered_fn)(void *ctx, uint64_t tag);

/* A message arrived on a subscription; @payload is not NUL-terminated, at most 64 KiB. */
typedef void (*uplink_message_fn)(void *ctx, const char *topic, const void *payload, size_t len);

/* Starts connecting on @event; not reaching any server is not an error here, it is retried.
 * The options are copied. Any callback may be NULL. Returns 0, -EINVAL for options that cannot
 * work (no server or client id, a URI without a scheme Paho knows, TLS files given but no
 * ssl:// server; said in the log), or -ENOMEM. */
int uplink_new(sd_event *event, const struct uplink_options *opt, uplink_state_fn on_state,
               uplink_delivered_fn on_delivered, uplink_message_fn on_message, void *ctx,
               struct uplink **out);

/* Publishes "offline" on the status topic, disconnects (waiting up to about a second for its
 * acknowledgement) and frees @u; no callback runs after it, and it must not be called from one.
 * NULL is a no-op. */
void uplink_free(struct uplink *u);

/* Publishes @len bytes of @payload on @topic; the payload is copied. For QoS 1 and 2, @tag is
 * handed to the delivered callback when the broker acknowledges it; QoS 0 is never reported.
 * Returns 0, -ENOTCONN while not connected, -EAGAIN while max_inflight publishes await their
 * ack, -EINVAL for a bad topic or QoS, -EMSGSIZE, -ENOMEM or -EIO. */
int uplink_publish(struct uplink *u, const char *topic, const void *payload, size_t len, int qos,
                   bool retain, uint64_t tag);

/* Replaces the retained "online" status (status_online of the options) and publishes it now
 * when connected, else at the next connection. Returns 0 or -ENOMEM. */
int uplink_set_status(struct uplink *u, const char *online);

/* Whether a connection is up (as last reported to the state callback). */
bool uplink_connected(const struct uplink *u);

/* The number of QoS 1/2 publishes awaiting their ack on the current connection. */
size_t uplink_inflight(const struct uplink *u);

#endif
