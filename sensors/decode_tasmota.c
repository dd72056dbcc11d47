/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode_tasmota: Tasmota, with its default FullTopic `%prefix%/%topic%/` (a configured base
 * is a level before it). `tele/<topic>/SENSOR` carries local sensors, switch states (SwitchMode
 * 15) and, from a Zigbee bridge, `ZbReceived`; `stat/<topic>/RESULT` switch actions
 * (SetOption114); `tele/<topic>/LWT` the device's availability; `tele/<topic>/STATE` its
 * periodic state, which says only that it is alive.
 *
 * Devices: `<topic>` for the device itself and its Switch1; `<topic>/SwitchN` for its other
 * switch inputs, so one Tasmota can carry several detectors' relays; `<topic>/<Name>` for a
 * device behind its Zigbee bridge (the name given with ZbName, else its short address as
 * Tasmota writes it, "0x3F2A"), since a short address can change when a device rejoins but a
 * name stays. A local temperature is the first sensor object with a Temperature in the message:
 * always the same sensor, so that a rate of rise is never computed across two of them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decode_internal.h"

#define SWITCHES_MAX 28 /* Tasmota's MAX_SWITCHES on ESP32 */

/* The switch number of a key "Switch<N>", or 0. */
static int switch_number(const char *key)
{
        int n = 0;

        if (strncmp(key, "Switch", 6) != 0 || key[6] < '1' || key[6] > '9')
                return 0;
        for (key += 6; *key; key++) {
                if (*key < '0' || *key > '9' || n > SWITCHES_MAX)
                        return 0;
                n = n * 10 + (*key - '0');
        }
        return n <= SWITCHES_MAX ? n : 0;
}

static int switch_device(struct decode_out *o, const char *topic, int n,
                         char device[DECODE_DEVICE_MAX])
{
        char name[DECODE_DEVICE_MAX + 16];
        int len;

        if (n == 1)
                len = snprintf(name, sizeof(name), "%s", topic);
        else
                len = snprintf(name, sizeof(name), "%s/Switch%d", topic, n);
        return decode_device(o, device, name, len < 0 ? 0 : (size_t)len);
}

/* "ON" or "OFF", as SwitchMode 15 and SetOption114 write them. TOGGLE (SwitchMode 0) does not
 * say which way the relay went: it means nothing to a detector input. */
static void switch_state(struct decode_out *o, const char *topic, int n, const json_t *v)
{
        char device[DECODE_DEVICE_MAX];
        double x;

        if (switch_device(o, topic, n, device) < 0)
                return;
        if (decode_json_bool(v, &x) < 0)
                decode_why_value(o, "Switch", "neither ON nor OFF (use SwitchMode 1 or 15)");
        decode_add(o, device, ENGINE_READING_SMOKE, x, 0);
}

/* TempUnit applies to every temperature of the message: 0 Celsius, 1 Fahrenheit, -1 neither. */
static int temp_unit(const json_t *root)
{
        const json_t *u = json_object_get(root, "TempUnit");

        if (!u)
                return 0;
        if (json_is_string(u) && decode_text_is(json_string_value(u), json_string_length(u), "C"))
                return 0;
        if (json_is_string(u) && decode_text_is(json_string_value(u), json_string_length(u), "F"))
                return 1;
        return -1;
}

static void temperature(struct decode_acc *a, struct decode_out *o, const json_t *v, int unit)
{
        double c;

        /* A sensor that failed to read is written as null: a failed sensor, counted invalid. */
        if (decode_json_number(v, &c) < 0 || !isfinite(c))
                decode_why_value(o, "Temperature", "not a number");
        else if (unit < 0)
                decode_why_value(o, "Temperature", "TempUnit is neither C nor F");
        if (unit < 0)
                c = NAN;
        else if (unit == 1)
                c = (c - 32.0) * 5.0 / 9.0;
        decode_acc_value(a, ENGINE_READING_TEMPERATURE, c);
}

static void zb_flag(struct decode_acc *a, struct decode_out *o, const json_t *dev, const char *key,
                    enum engine_reading_kind kind)
{
        const json_t *v = json_object_get(dev, key);
        double x;

        if (!v || json_is_null(v))
                return;
        if (decode_json_bool(v, &x) < 0)
                decode_why_value(o, key, "not 0 or 1");
        decode_acc_flag(a, kind, x);
}

/* One device of ZbReceived. Fire, Tamper, BatteryLow, Test appear only when known or set. */
static void zb_device(struct decode_out *o, const char *topic, const char *key, const json_t *dev,
                      int unit)
{
        /* Its name when it has one; should that not fit a device name, its short address, so
         * that its fire is still heard. */
        const char *names[] = {json_string_value(json_object_get(dev, "Name")),
                               json_string_value(json_object_get(dev, "Device")), key};
        char device[DECODE_DEVICE_MAX], buf[2 * DECODE_DEVICE_MAX];
        struct decode_acc a = {0};
        const json_t *v;
        size_t i;
        double x;
        int len = 0;

        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                if (!names[i] || !*names[i])
                        continue;
                len = snprintf(buf, sizeof(buf), "%s/%s", topic, names[i]);
                if (len > 0 && (size_t)len < DECODE_DEVICE_MAX)
                        break;
        }
        if (decode_device(o, device, buf, len < 0 ? 0 : (size_t)len) < 0)
                return;
        zb_flag(&a, o, dev, "Fire", ENGINE_READING_SMOKE);
        zb_flag(&a, o, dev, "Test", ENGINE_READING_TEST);
        zb_flag(&a, o, dev, "Tamper", ENGINE_READING_TAMPER);
        zb_flag(&a, o, dev, "BatteryLow", ENGINE_READING_BATTERY_LOW);
        zb_flag(&a, o, dev, "Trouble", ENGINE_READING_DEVICE_FAULT);
        v = json_object_get(dev, "BatteryPercentage");
        if (v && !json_is_null(v)) {
                if (decode_json_number(v, &x) < 0)
                        decode_why_value(o, "BatteryPercentage", "not a number");
                decode_acc_value(&a, ENGINE_READING_BATTERY, x);
        }
        v = json_object_get(dev, "Temperature");
        if (v && !json_is_null(v))
                temperature(&a, o, v, unit);
        decode_acc_emit(o, device, &a, true);
}

/* ZbReceived is an object of device objects; checked whole before anything of the message is
 * read, so that a refusal never comes after readings were given. */
static bool zb_received_ok(json_t *zb)
{
        const char *key;
        json_t *dev;

        if (!json_is_object(zb))
                return false;
        json_object_foreach(zb, key, dev)
        {
                if (!json_is_object(dev))
                        return false;
        }
        return true;
}

static void zb_received(struct decode_out *o, const char *topic, json_t *zb, int unit)
{
        const char *key;
        json_t *dev;

        json_object_foreach(zb, key, dev)
        {
                zb_device(o, topic, key, dev, unit);
        }
}

static int sensor(const char *topic, const char *payload, size_t len, struct decode_out *o)
{
        struct decode_acc a = {0};
        bool zigbee = false, said = false;
        const char *key;
        json_t *root, *v;
        int unit, n, r;

        r = decode_json(o, payload, len, &root);
        if (r < 0)
                return r;
        if (!json_is_object(root)) {
                r = decode_why(o, "an array where a SENSOR object was expected");
                goto out;
        }
        v = json_object_get(root, "ZbReceived");
        if (v && !zb_received_ok(v)) {
                r = decode_why(o, "ZbReceived is not an object of devices");
                goto out;
        }
        unit = temp_unit(root);
        json_object_foreach(root, key, v)
        {
                n = switch_number(key);
                if (strcmp(key, "ZbReceived") == 0) {
                        zigbee = true;
                        zb_received(o, topic, v, unit);
                } else if (n > 0) {
                        switch_state(o, topic, n, v);
                        said |= n == 1;
                } else if (json_is_object(v) && json_object_get(v, "Temperature") &&
                           !decode_acc_has(&a, ENGINE_READING_TEMPERATURE)) {
                        temperature(&a, o, json_object_get(v, "Temperature"), unit);
                }
        }
        /* A Zigbee bridge's own SENSOR message speaks for its devices, each heard on its own;
         * any other says at least that the device is alive. */
        decode_acc_emit(o, topic, &a, !zigbee && !said);
        r = 0;
out:
        json_decref(root);
        return r;
}

/* stat/<topic>/RESULT answers every command; only a switch's action is a detector's. */
static int result(const char *topic, const char *payload, size_t len, struct decode_out *o)
{
        const char *key;
        json_t *root, *v;
        int n, r;

        r = decode_json(o, payload, len, &root);
        if (r < 0)
                return r;
        if (!json_is_object(root)) {
                r = decode_why(o, "an array where a RESULT object was expected");
                goto out;
        }
        json_object_foreach(root, key, v)
        {
                n = switch_number(key);
                if (n == 0)
                        continue;
                if (json_is_object(v))
                        v = json_object_get(v, "Action");
                switch_state(o, topic, n, v);
        }
        if (o->n == 0)
                decode_say(o, "a command result with no switch action");
out:
        json_decref(root);
        return r;
}

static int lwt(const char *topic, const char *payload, size_t len, struct decode_out *o)
{
        const char *p = payload;
        size_t n = len;

        decode_trim(&p, &n);
        if (n == 0) {
                decode_say(o, "an empty payload: a retained LWT being cleared");
                return 0;
        }
        if (decode_text_is(p, n, "Online") || decode_text_is(p, n, "Offline")) {
                decode_add(o, topic, ENGINE_READING_AVAILABILITY, decode_text_is(p, n, "Online"),
                           0);
                return 0;
        }
        return decode_why(o, "LWT: expected Online or Offline");
}

static int alive(const char *topic, const char *payload, size_t len, struct decode_out *o)
{
        json_t *root;
        int r = decode_json(o, payload, len, &root);

        if (r < 0)
                return r;
        if (!json_is_object(root))
                r = decode_why(o, "an array where a STATE object was expected");
        else
                decode_add(o, topic, ENGINE_READING_HEARTBEAT, 0, 0);
        json_decref(root);
        return r;
}

static int message(struct decoder *d, const char *topic, const char *payload, size_t len,
                   struct decode_out *o)
{
        const char *rest = decode_topic_under(topic, d->base), *slash, *cmd;
        char device[DECODE_DEVICE_MAX];
        size_t head;
        bool tele;
        int r;

        if (!rest) {
                decode_why(o, "not under the base topic %s", d->base);
                return -ENOENT;
        }
        slash = strchr(rest, '/');
        cmd = decode_last_level(rest, strlen(rest), &head);
        tele = slash && (size_t)(slash - rest) == 4 && strncmp(rest, "tele", 4) == 0;
        if (!slash || cmd <= slash + 1 ||
            (!tele && !((size_t)(slash - rest) == 4 && strncmp(rest, "stat", 4) == 0))) {
                decode_why(o, "not a Tasmota tele/ or stat/ topic");
                return -ENOENT;
        }
        if (!(tele && (strcmp(cmd, "SENSOR") == 0 || strcmp(cmd, "STATE") == 0 ||
                       strcmp(cmd, "LWT") == 0)) &&
            !(!tele && strcmp(cmd, "RESULT") == 0)) {
                decode_why(o, "a Tasmota topic that carries no detector's state");
                return -ENOENT;
        }
        r = decode_device(o, device, slash + 1, head - (size_t)(slash + 1 - rest));
        if (r < 0)
                return r;
        decode_topic_device(o, device);
        r = decode_size(o, len, d->max_payload);
        if (r < 0)
                return r;
        if (!tele)
                return result(device, payload, len, o);
        if (strcmp(cmd, "LWT") == 0)
                return lwt(device, payload, len, o);
        if (len == 0) {
                decode_say(o, "an empty payload: a retained message being cleared");
                return 0;
        }
        if (strcmp(cmd, "STATE") == 0)
                return alive(device, payload, len, o);
        return sensor(device, payload, len, o);
}

static int subscriptions(struct decoder *d)
{
        static const char *const filters[] = {"tele/+/SENSOR", "tele/+/STATE", "tele/+/LWT",
                                              "stat/+/RESULT"};

        return decode_subscribe(d, filters, sizeof(filters) / sizeof(filters[0]));
}

const struct decode_ops decode_tasmota_ops = {
        .subscriptions = subscriptions,
        .message = message,
};
