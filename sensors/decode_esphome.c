/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode_esphome: ESPHome's MQTT component. Each entity publishes its state alone, retained, on
 * `<prefix>/<component>/<object_id>/state`, where the prefix is the node's topic_prefix: by
 * default its name, and a configured prefix (firegate's base) is a level before the node. A
 * binary_sensor writes exactly ON or OFF; a sensor a number at fixed decimals, or nan and inf
 * when it has no value; the node's status topic says online, and its last will offline.
 *
 * Devices are "node/object_id", as the registry names them. A binary sensor is a detector's
 * output, reported as smoke (the registered kind decides whether it is heat or a call point).
 * A sensor's meaning is not in its topic: one whose object_id contains "temp" is a temperature
 * in °C, "batt" a battery level in percent; any other sensor is left alone until the config can
 * map entities. The node's availability is reported for the device "node" and speaks for every
 * "node/..." entity (decode.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decode_internal.h"

static bool contains(const char *s, size_t len, const char *word)
{
        size_t n = strlen(word);

        for (size_t i = 0; i + n <= len; i++)
                if (decode_text_is(s + i, n, word))
                        return true;
        return false;
}

static int status(const char *node, const char *p, size_t n, struct decode_out *o)
{
        if (decode_text_is(p, n, "online") || decode_text_is(p, n, "offline")) {
                decode_add(o, node, ENGINE_READING_AVAILABILITY, decode_text_is(p, n, "online"), 0);
                return 0;
        }
        return decode_why(o, "status: expected online or offline");
}

static int binary_sensor(const char *device, const char *p, size_t n, struct decode_out *o)
{
        if (!decode_text_is(p, n, "ON") && !decode_text_is(p, n, "OFF"))
                return decode_why(o, "binary_sensor: expected ON or OFF");
        decode_add(o, device, ENGINE_READING_SMOKE, decode_text_is(p, n, "ON"), 0);
        return 0;
}

static int sensor(const char *device, const char *id, size_t id_len, const char *p, size_t n,
                  struct decode_out *o)
{
        enum engine_reading_kind kind;
        double v;

        if (contains(id, id_len, "temp")) {
                kind = ENGINE_READING_TEMPERATURE;
        } else if (contains(id, id_len, "batt")) {
                kind = ENGINE_READING_BATTERY;
        } else {
                decode_say(o, "a sensor that is neither a temperature nor a battery level");
                return 0;
        }
        if (decode_text_number(p, n, &v) < 0)
                return decode_why(o, "sensor: not a number");
        /* nan and inf are ESPHome's word for a sensor without a value: the engine counts them. */
        if (!isfinite(v))
                decode_why_value(o, "sensor", "the node says it has no value");
        decode_add(o, device, kind, v, 0);
        return 0;
}

static int message(struct decoder *d, const char *topic, const char *payload, size_t len,
                   struct decode_out *o)
{
        const char *rest = decode_topic_under(topic, d->base), *last, *id, *component;
        char device[DECODE_DEVICE_MAX];
        size_t head, id_head, node_len, rest_len, id_len, component_len;
        bool binary;
        const char *p = payload;
        size_t n = len;
        int r;

        if (!rest) {
                decode_why(o, "not under the topic prefix %s", d->base);
                return -ENOENT;
        }
        rest_len = strlen(rest);
        last = decode_last_level(rest, rest_len, &head);
        if (last && strcmp(last, "status") == 0) {
                r = decode_device(o, device, rest, head);
                if (r < 0)
                        return r;
                decode_topic_device(o, device);
                r = decode_size(o, len, d->max_payload);
                if (r < 0)
                        return r;
                decode_trim(&p, &n);
                if (n == 0) {
                        decode_say(o, "an empty payload: a retained status being cleared");
                        return 0;
                }
                return status(device, p, n, o);
        }
        /* <node>/<component>/<object_id>/state, read from the end: a node's own prefix may
         * hold '/' when none is configured here. */
        id = last && strcmp(last, "state") == 0 ? decode_last_level(rest, head, &id_head) : NULL;
        component = id ? decode_last_level(rest, id_head, &node_len) : NULL;
        id_len = id ? head - (size_t)(id - rest) : 0;
        component_len = component ? id_head - node_len - 1 : 0;
        binary = decode_level_is(component, component_len, "binary_sensor");
        if (!component || id_len == 0 || node_len == 0 ||
            (!binary && !decode_level_is(component, component_len, "sensor"))) {
                decode_why(o, "not an ESPHome binary_sensor or sensor state, nor a status");
                return -ENOENT;
        }
        /* node/object_id: the component level is left out, as the registry writes it. */
        if (node_len + 1 + id_len >= DECODE_DEVICE_MAX) {
                decode_why(o, "a device name of %zu bytes; no detector's can be over %d",
                           node_len + 1 + id_len, DECODE_DEVICE_MAX - 1);
                return -ENOENT;
        }
        memcpy(device, rest, node_len);
        device[node_len] = '/';
        memcpy(device + node_len + 1, id, id_len);
        device[node_len + 1 + id_len] = '\0';
        decode_topic_device(o, device);
        r = decode_size(o, len, d->max_payload);
        if (r < 0)
                return r;
        decode_trim(&p, &n);
        if (n == 0) {
                decode_say(o, "an empty payload: a retained state being cleared");
                return 0;
        }
        if (binary)
                return binary_sensor(device, p, n, o);
        return sensor(device, id, id_len, p, n, o);
}

static int subscriptions(struct decoder *d)
{
        static const char *const filters[] = {"+/binary_sensor/+/state", "+/sensor/+/state",
                                              "+/status"};

        return decode_subscribe(d, filters, sizeof(filters) / sizeof(filters[0]));
}

const struct decode_ops decode_esphome_ops = {
        .subscriptions = subscriptions,
        .message = message,
};
