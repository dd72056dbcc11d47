/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mqtt: the client of the building's MQTT broker (libmosquitto), driven by the daemon's sd-event
 * loop: the client's socket is one of the loop's I/O sources and mosquitto_loop_read/write/misc
 * run from there, so there is no extra thread and no polling. A lost connection is retried with
 * bounded exponential back-off and jitter (so that a building's devices and gateways do not
 * reconnect in step), and every subscription is made again on each connection.
 */
#ifndef FIREGATE_MQTT_H
#define FIREGATE_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct mqtt;

struct mqtt_options {
        const char *host;
        int port;
        const char *client_id;
        const char *username, *password; /* NULL: none */
        const char *cafile;              /* NULL: no TLS */
        int keepalive_s;
        long backoff_min_ms, backoff_max_ms;
        const char *const *topics; /* subscribed on every connection, QoS 1 */
        size_t n_topics;
};

/* A message from the broker; @payload is not NUL-terminated. Runs on the loop. */
typedef void (*mqtt_message_fn)(void *ctx, const char *topic, const void *payload, size_t len);

/* The connection came up (true) or went down (false). Runs on the loop. */
typedef void (*mqtt_state_fn)(void *ctx, bool connected);

/* Starts connecting on @event. Failing to reach the broker is not an error here: it is retried.
 * Returns 0, -EINVAL for options libmosquitto refuses (said in the log), or -ENOMEM. */
int mqtt_new(sd_event *event, const struct mqtt_options *opt, mqtt_message_fn on_message,
             mqtt_state_fn on_state, void *ctx, struct mqtt **out);

/* Disconnects and frees @m; NULL is a no-op. */
void mqtt_free(struct mqtt *m);

/* Publishes; fails with -ENOTCONN while disconnected. */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                 bool retain);

bool mqtt_connected(const struct mqtt *m);

/* When the broker was last known to be there, as CLOCK_MONOTONIC µs, after a connection ended:
 * the moment it ended, or for a keep-alive timeout the last thing read from it. 0 before any
 * connection ended. */
uint64_t mqtt_down_since(const struct mqtt *m);

#endif
