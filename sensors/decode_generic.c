/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode_generic: firegate's own simple form (docs/bridges.md), for detectors that no bridge
 * above speaks for: a small script, a PLC gateway, a vendor's cloud bridge. One JSON object on
 * `<prefix>/<device>` (the device may hold '/'), every key optional, unknown keys ignored:
 *
 *   {"smoke": true, "heat": false, "call_point": false, "test": false, "temperature": 21.5,
 *    "battery": 87, "battery_low": false, "tamper": false, "fault": false, "online": true}
 *
 * Booleans are read as every bridge's are (true/false, "ON"/"OFF", 1/0), numbers also from a
 * string. A message with none of the keys says the device is alive.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decode_internal.h"

static const struct key {
        const char *name;
        enum engine_reading_kind kind;
        bool number;
} keys[] = {
        {"smoke", ENGINE_READING_SMOKE, false},
        {"heat", ENGINE_READING_HEAT_ALARM, false},
        {"call_point", ENGINE_READING_CALL_POINT, false},
        {"test", ENGINE_READING_TEST, false},
        {"temperature", ENGINE_READING_TEMPERATURE, true},
        {"battery", ENGINE_READING_BATTERY, true},
        {"battery_low", ENGINE_READING_BATTERY_LOW, false},
        {"tamper", ENGINE_READING_TAMPER, false},
        {"fault", ENGINE_READING_DEVICE_FAULT, false},
        {"online", ENGINE_READING_AVAILABILITY, false},
};

static void read_key(const struct key *k, const json_t *v, struct decode_acc *a,
                     struct decode_out *o)
{
        double x;

        if (k->number) {
                if (decode_json_number(v, &x) < 0)
                        decode_why_value(o, k->name, "not a number");
                else if (!isfinite(x))
                        decode_why_value(o, k->name, "not a finite number");
                decode_acc_value(a, k->kind, x);
                return;
        }
        if (decode_json_bool(v, &x) < 0)
                decode_why_value(o, k->name, "not a boolean");
        decode_acc_flag(a, k->kind, x);
}

static int message(struct decoder *d, const char *topic, const char *payload, size_t len,
                   struct decode_out *o)
{
        const char *rest = decode_topic_under(topic, d->base);
        char device[DECODE_DEVICE_MAX];
        struct decode_acc a = {0};
        json_t *root, *v;
        int r;

        if (!rest) {
                decode_why(o, "not under the prefix %s", d->base);
                return -ENOENT;
        }
        r = decode_device(o, device, rest, strlen(rest));
        if (r < 0)
                return r;
        decode_topic_device(o, device);
        r = decode_size(o, len, d->max_payload);
        if (r < 0)
                return r;
        if (len == 0) {
                decode_say(o, "an empty payload: a retained message being cleared");
                return 0;
        }
        r = decode_json(o, payload, len, &root);
        if (r < 0)
                return r;
        if (!json_is_object(root)) {
                json_decref(root);
                return decode_why(o, "an array where a detector object was expected");
        }
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                v = json_object_get(root, keys[i].name);
                if (v && !json_is_null(v))
                        read_key(&keys[i], v, &a, o);
        }
        json_decref(root);
        decode_acc_emit(o, device, &a, true);
        return 0;
}

static int subscriptions(struct decoder *d)
{
        d->subscriptions[0] = NULL;
        if (*d->base && asprintf(&d->subscriptions[0], "%s/#", d->base) < 0)
                d->subscriptions[0] = NULL;
        else if (!*d->base)
                d->subscriptions[0] = strdup("#");
        if (!d->subscriptions[0])
                return -ENOMEM;
        d->n_subscriptions = 1;
        return 0;
}

const struct decode_ops decode_generic_ops = {
        .default_base = "firegate/detectors",
        .subscriptions = subscriptions,
        .message = message,
};
