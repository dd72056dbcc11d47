/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode_z2m: Zigbee2MQTT. A device's whole cached state comes as one JSON object on
 * `<base>/<friendly_name>` (the name may contain '/'); its availability on
 * `<base>/<name>/availability` as {"state":"online"} or, from 1.x, plain `online`; the bridge's
 * own on `<base>/bridge/state`; and every device's definition, retained, on
 * `<base>/bridge/devices`.
 *
 * Key names differ by model (DOMAIN.md), so a state is read by a table of the keys that mean
 * something to a fire panel, and every other key is ignored. What a device's definition says
 * refines the table: a binary property's value_on/value_off (some models write "ON"/"OFF" or
 * 1/0), and whether a property is one Zigbee2MQTT can set. A settable `alarm` is a siren's or
 * an "alarm enabled" switch, a settable `self_checking` a button that starts a test and stays
 * true in the cached state: read as signals they would raise a fire alarm, or mark a real
 * fire as a test, from a setting. A key the definition does not list is still read by its name,
 * so a device whose definition never arrived still alarms.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode_internal.h"

/* Zigbee2MQTT's access bits of an exposed property: 1 published, 2 settable, 4 readable. */
#define ACCESS_SET 2u

/* How deep composite properties may nest in a definition and in a state. */
#define NEST_MAX 4

enum form {
        FORM_FLAG,          /* a boolean */
        FORM_NUMBER,        /* a number, or a number in a string */
        FORM_SMOKE_STATE,   /* alarm | normal | none | detecting | unknown */
        FORM_ALARM,         /* a boolean, or Bosch Twinguard's stop | pre_alarm | fire | burglar */
        FORM_TEST,          /* a boolean, or a self-test enum: checking | check_success | ... */
        FORM_BATTERY_STATE, /* low | medium | middle | high | ... */
        FORM_FAULT,         /* a boolean, a fault code, or a fault enum */
};

static const struct key {
        const char *name;
        enum engine_reading_kind kind;
        enum form form;
} keys[] = {
        {"smoke", ENGINE_READING_SMOKE, FORM_FLAG},
        {"smoke_state", ENGINE_READING_SMOKE, FORM_SMOKE_STATE},
        {"alarm", ENGINE_READING_SMOKE, FORM_ALARM},
        {"alarm_1", ENGINE_READING_SMOKE, FORM_FLAG},
        {"alarm_2", ENGINE_READING_SMOKE, FORM_FLAG},
        {"smoke_alarm_1", ENGINE_READING_SMOKE, FORM_FLAG},
        {"smoke_alarm_2", ENGINE_READING_SMOKE, FORM_FLAG},
        {"heat", ENGINE_READING_HEAT_ALARM, FORM_FLAG},
        {"test", ENGINE_READING_TEST, FORM_TEST},
        {"button_pushed", ENGINE_READING_TEST, FORM_TEST},
        {"self_test", ENGINE_READING_TEST, FORM_TEST},
        {"checking_result", ENGINE_READING_TEST, FORM_TEST},
        {"self_test_result", ENGINE_READING_TEST, FORM_TEST},
        {"battery", ENGINE_READING_BATTERY, FORM_NUMBER},
        {"battery_low", ENGINE_READING_BATTERY_LOW, FORM_FLAG},
        {"battery_state", ENGINE_READING_BATTERY_LOW, FORM_BATTERY_STATE},
        {"battery_level", ENGINE_READING_BATTERY_LOW, FORM_BATTERY_STATE},
        {"tamper", ENGINE_READING_TAMPER, FORM_FLAG},
        {"temperature", ENGINE_READING_TEMPERATURE, FORM_NUMBER},
        {"fault", ENGINE_READING_DEVICE_FAULT, FORM_FAULT},
        {"fault_alarm", ENGINE_READING_DEVICE_FAULT, FORM_FAULT},
        {"trouble", ENGINE_READING_DEVICE_FAULT, FORM_FAULT},
};

static const struct key *key_find(const char *name)
{
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

/* --- what bridge/devices taught --- */

struct prop {
        char *name;
        int parent; /* the composite it is nested in, -1 at the top of the state */
        unsigned access;
        bool composite;
        json_t *value_on, *value_off; /* binary properties; NULL otherwise */
};

struct device {
        char *name;
        struct prop *props;
        size_t n_props, cap_props;
};

struct z2m_known {
        struct device *devices;
        size_t n, cap;
};

static void device_clear(struct device *dev)
{
        for (size_t i = 0; i < dev->n_props; i++) {
                free(dev->props[i].name);
                json_decref(dev->props[i].value_on);
                json_decref(dev->props[i].value_off);
        }
        free(dev->props);
        free(dev->name);
}

static void known_free(struct z2m_known *k)
{
        if (!k)
                return;
        for (size_t i = 0; i < k->n; i++)
                device_clear(&k->devices[i]);
        free(k->devices);
        free(k);
}

/* Returns the new property's index, or -ENOMEM. */
static int prop_add(struct device *dev, const char *name, int parent, const json_t *e,
                    bool composite)
{
        const json_t *access = json_object_get(e, "access");
        json_t *on = json_object_get(e, "value_on"), *off = json_object_get(e, "value_off");
        const char *type = json_string_value(json_object_get(e, "type"));
        struct prop *p;

        if (dev->n_props == dev->cap_props) {
                size_t cap = dev->cap_props ? dev->cap_props * 2 : 4;

                p = realloc(dev->props, cap * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                dev->props = p;
                dev->cap_props = cap;
        }
        p = &dev->props[dev->n_props];
        *p = (struct prop){.parent = parent, .composite = composite};
        p->name = strdup(name);
        if (!p->name)
                return -ENOMEM;
        p->access = json_is_integer(access) ? (unsigned)json_integer_value(access) : 0;
        /* Kept as JSON values to compare the state's with: true, "ON", 1 are all seen. */
        if (type && strcmp(type, "binary") == 0 && on && off) {
                p->value_on = json_incref(on);
                p->value_off = json_incref(off);
        }
        return (int)dev->n_props++;
}

/* Learns one expose and what it nests. Only properties the key table reads are kept, and the
 * composites that hold them. */
static int learn_expose(struct device *dev, const json_t *e, int parent, int depth)
{
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *property = json_string_value(json_object_get(e, "property"));
        const json_t *features = json_object_get(e, "features"), *f;
        size_t i, before;
        int idx, r;

        if (!json_is_object(e) || depth >= NEST_MAX)
                return 0;
        if (json_is_array(features)) {
                /* A composite's features sit in an object under its property in the state; a
                 * specific expose's (switch, light, lock) at the top, beside everything else. */
                if (type && strcmp(type, "composite") == 0 && property) {
                        idx = prop_add(dev, property, parent, e, true);
                        if (idx < 0)
                                return idx;
                        before = dev->n_props;
                        json_array_foreach(features, i, f)
                        {
                                r = learn_expose(dev, f, idx, depth + 1);
                                if (r < 0)
                                        return r;
                        }
                        if (dev->n_props == before) {
                                free(dev->props[idx].name);
                                dev->n_props--;
                        }
                        return 0;
                }
                json_array_foreach(features, i, f)
                {
                        r = learn_expose(dev, f, parent, depth + 1);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (!property || !key_find(property))
                return 0;
        r = prop_add(dev, property, parent, e, false);
        return r < 0 ? r : 0;
}

static int device_cmp(const void *a, const void *b)
{
        return strcmp(((const struct device *)a)->name, ((const struct device *)b)->name);
}

static int device_name_cmp(const void *name, const void *dev)
{
        return strcmp(name, ((const struct device *)dev)->name);
}

/* Learns one entry of bridge/devices. Returns 1 when kept, 0 when it has nothing to keep,
 * -EINVAL when it names no device, -ENOMEM. */
static int learn_device(struct z2m_known *k, const json_t *entry)
{
        const char *name = json_string_value(json_object_get(entry, "friendly_name"));
        const json_t *exposes = json_object_get(json_object_get(entry, "definition"), "exposes");
        struct device dev = {0};
        const json_t *e;
        size_t i;
        int r;

        if (!name || !*name || strlen(name) >= DECODE_DEVICE_MAX)
                return -EINVAL;
        /* The coordinator and devices not yet interviewed have no definition. */
        if (!json_is_array(exposes))
                return 0;
        json_array_foreach(exposes, i, e)
        {
                r = learn_expose(&dev, e, -1, 0);
                if (r < 0)
                        goto err_clear;
        }
        if (dev.n_props == 0) {
                /* An empty composite may have left an allocation behind. */
                device_clear(&dev);
                return 0;
        }
        dev.name = strdup(name);
        if (!dev.name) {
                r = -ENOMEM;
                goto err_clear;
        }
        if (k->n == k->cap) {
                size_t cap = k->cap ? k->cap * 2 : 16;
                struct device *devices = realloc(k->devices, cap * sizeof(*devices));

                if (!devices) {
                        r = -ENOMEM;
                        goto err_clear;
                }
                k->devices = devices;
                k->cap = cap;
        }
        k->devices[k->n++] = dev;
        return 1;

err_clear:
        device_clear(&dev);
        return r;
}

static int learn(struct decoder *d, const char *payload, size_t len, struct decode_out *o)
{
        size_t i, kept = 0, unnamed = 0;
        struct z2m_known *k;
        json_t *root, *entry;
        int r;

        r = decode_json(o, payload, len, &root);
        if (r < 0)
                return r;
        if (!json_is_array(root)) {
                json_decref(root);
                return decode_why(o, "bridge/devices: an object where the list of devices was "
                                     "expected");
        }
        k = calloc(1, sizeof(*k));
        if (!k) {
                r = -ENOMEM;
                goto out_root;
        }
        json_array_foreach(root, i, entry)
        {
                r = learn_device(k, entry);
                if (r == -ENOMEM)
                        goto out_known;
                if (r == -EINVAL)
                        unnamed++;
                if (r == 1)
                        kept++;
        }
        if (k->n > 1)
                qsort(k->devices, k->n, sizeof(*k->devices), device_cmp);
        /* The list is the whole network: a device that left it is forgotten. */
        known_free(d->z2m);
        d->z2m = k;
        k = NULL;
        decode_say(o, "device definitions learnt: %zu devices, %zu with detector properties%s",
                   json_array_size(root), kept,
                   unnamed ? "; entries without a usable friendly_name were skipped" : "");
        r = 0;
out_known:
        known_free(k);
out_root:
        json_decref(root);
        return r;
}

static const struct device *device_find(const struct decoder *d, const char *name)
{
        if (!d->z2m || d->z2m->n == 0)
                return NULL;
        return bsearch(name, d->z2m->devices, d->z2m->n, sizeof(struct device), device_name_cmp);
}

static const struct prop *prop_find(const struct device *dev, const char *name, int parent,
                                    int *idx)
{
        for (size_t i = 0; dev && i < dev->n_props; i++) {
                if (dev->props[i].parent == parent && strcmp(dev->props[i].name, name) == 0) {
                        *idx = (int)i;
                        return &dev->props[i];
                }
        }
        return NULL;
}

/* --- reading a state --- */

#define NO_STATEMENT (-1.0) /* a word that says nothing either way */

struct word {
        const char *word;
        double value;
};

static const struct word smoke_state_words[] = {
        {"alarm", 1},
        {"normal", 0},
        {"none", 0},
        /* The Tuya converters that send it set smoke to false beside it. */
        {"detecting", 0},
        {"unknown", NO_STATEMENT},
};

static const struct word alarm_words[] = {
        {"fire", 1},
        {"stop", 0},
        /* The device's early warning below its alarm threshold: no fire said yet, and the
         * engine's own verification is what delays smoke. */
        {"pre_alarm", NO_STATEMENT},
        {"burglar", NO_STATEMENT},
};

static const struct word fault_clear_words[] = {
        {"none", 0}, {"normal", 0},       {"no_fault", 0},
        {"ok", 0},   {"not_detected", 0}, {"no_fault_detected", 0},
};

/* Returns true with *@v when @s is one of @words. */
static bool word_value(const struct word *words, size_t n, const json_t *s, double *v)
{
        for (size_t i = 0; json_is_string(s) && i < n; i++) {
                if (decode_text_is(json_string_value(s), json_string_length(s), words[i].word)) {
                        *v = words[i].value;
                        return true;
                }
        }
        return false;
}

/* What the definition's value_on/value_off make of @v. */
static bool learnt_flag(const struct prop *p, const json_t *v, double *out)
{
        if (!p || !p->value_on)
                return false;
        if (json_equal(v, p->value_on)) {
                *out = 1;
                return true;
        }
        if (json_equal(v, p->value_off)) {
                *out = 0;
                return true;
        }
        return false;
}

static void flag(struct decode_acc *a, struct decode_out *o, const struct key *k, double v)
{
        if (isnan(v))
                decode_why_value(o, k->name, "not a value it can have");
        if (v != NO_STATEMENT)
                decode_acc_flag(a, k->kind, v);
}

/* A self-test enum: "checking" while it runs; afterwards its result, which says whether the
 * device has a fault. */
static const struct test_word {
        const char *word;
        double test, fault;
} test_words[] = {
        {"checking", 1, NO_STATEMENT}, {"check_success", 0, 0}, {"success", 0, 0},
        {"check_failure", 0, 1},       {"failure", 0, 1},       {"others", 0, NO_STATEMENT},
};

static bool test_result(struct decode_acc *a, const json_t *v)
{
        for (size_t i = 0; json_is_string(v) && i < sizeof(test_words) / sizeof(test_words[0]);
             i++) {
                const struct test_word *w = &test_words[i];

                if (!decode_text_is(json_string_value(v), json_string_length(v), w->word))
                        continue;
                decode_acc_flag(a, ENGINE_READING_TEST, w->test);
                if (w->fault != NO_STATEMENT)
                        decode_acc_flag(a, ENGINE_READING_DEVICE_FAULT, w->fault);
                return true;
        }
        return false;
}

/* Only "low" or worse is low; medium, middle, high, USB, charging are not. */
static double battery_state(const json_t *v)
{
        static const char *const low[] = {"low", "critical", "empty"};

        for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++)
                if (decode_text_is(json_string_value(v), json_string_length(v), low[i]))
                        return 1;
        return 0;
}

static void read_value(const struct key *k, const struct prop *p, const json_t *v,
                       struct decode_acc *a, struct decode_out *o)
{
        double x;
        int r;

        if (learnt_flag(p, v, &x)) {
                flag(a, o, k, x);
                return;
        }
        switch (k->form) {
        case FORM_FLAG:
                decode_json_bool(v, &x);
                break;
        case FORM_NUMBER:
                r = decode_json_number(v, &x);
                decode_acc_value(a, k->kind, x);
                if (r < 0)
                        decode_why_value(o, k->name, "not a number");
                else if (!isfinite(x))
                        decode_why_value(o, k->name, "the bridge says it is not finite");
                return;
        case FORM_SMOKE_STATE:
                if (!word_value(smoke_state_words,
                                sizeof(smoke_state_words) / sizeof(smoke_state_words[0]), v, &x))
                        decode_json_bool(v, &x);
                break;
        case FORM_ALARM:
                if (!word_value(alarm_words, sizeof(alarm_words) / sizeof(alarm_words[0]), v, &x))
                        decode_json_bool(v, &x);
                break;
        case FORM_TEST:
                if (test_result(a, v))
                        return;
                decode_json_bool(v, &x);
                break;
        case FORM_BATTERY_STATE:
                if (json_is_string(v))
                        x = battery_state(v);
                else
                        decode_json_bool(v, &x);
                break;
        case FORM_FAULT:
                /* A fault key that says something unknown is taken as a fault: never hide one. */
                if (decode_json_bool(v, &x) == 0 ||
                    word_value(fault_clear_words,
                               sizeof(fault_clear_words) / sizeof(fault_clear_words[0]), v, &x))
                        break;
                if (json_is_string(v))
                        x = 1;
                else if (json_is_number(v))
                        x = json_number_value(v) != 0 ? 1 : 0;
                break;
        }
        flag(a, o, k, x);
}

static void read_object(const struct device *dev, json_t *obj, int parent, int depth,
                        struct decode_acc *a, struct decode_out *o)
{
        const struct prop *p;
        const struct key *k;
        const char *name;
        json_t *v;
        int idx = -1;

        json_object_foreach(obj, name, v)
        {
                /* Zigbee2MQTT writes null for what it has not heard yet. */
                if (json_is_null(v))
                        continue;
                p = prop_find(dev, name, parent, &idx);
                if (p && p->composite) {
                        if (json_is_object(v) && depth + 1 < NEST_MAX)
                                read_object(dev, v, idx, depth + 1, a, o);
                        continue;
                }
                k = parent < 0 || p ? key_find(name) : NULL;
                /* A setting or a command, not something the device reports (see the top). */
                if (!k || (p && (p->access & ACCESS_SET)))
                        continue;
                read_value(k, p, v, a, o);
        }
}

static int state(struct decoder *d, const char *device, const char *payload, size_t len,
                 struct decode_out *o)
{
        struct decode_acc a = {0};
        json_t *root;
        int r;

        if (len == 0) {
                decode_say(o, "an empty payload: a retained state being cleared");
                return 0;
        }
        r = decode_json(o, payload, len, &root);
        if (r < 0)
                return r;
        if (!json_is_object(root)) {
                json_decref(root);
                return decode_why(o, "an array where a device's state object was expected");
        }
        read_object(device_find(d, device), root, -1, 0, &a, o);
        json_decref(root);
        decode_acc_emit(o, device, &a, true);
        return 0;
}

/* {"state":"online"}, or from Zigbee2MQTT 1.x plain `online`. */
static int availability(const char *device, const char *payload, size_t len, struct decode_out *o)
{
        const char *p = payload, *s;
        size_t n = len;
        json_t *root, *st;
        double v = NAN;
        int r;

        decode_trim(&p, &n);
        if (n == 0) {
                decode_say(o, "an empty payload: a retained availability being cleared");
                return 0;
        }
        if (decode_text_is(p, n, "online") || decode_text_is(p, n, "offline")) {
                decode_add(o, device, ENGINE_READING_AVAILABILITY, decode_text_is(p, n, "online"),
                           0);
                return 0;
        }
        if (p[0] != '{')
                return decode_why(o, "availability: expected online or offline");
        r = decode_json(o, payload, len, &root);
        if (r < 0)
                return r;
        st = json_object_get(root, "state");
        s = json_string_value(st);
        if (s && decode_text_is(s, json_string_length(st), "online"))
                v = 1;
        else if (s && decode_text_is(s, json_string_length(st), "offline"))
                v = 0;
        json_decref(root);
        if (isnan(v))
                return decode_why(o, "availability: expected {\"state\":\"online\"} or "
                                     "{\"state\":\"offline\"}");
        decode_add(o, device, ENGINE_READING_AVAILABILITY, v, 0);
        return 0;
}

static int message(struct decoder *d, const char *topic, const char *payload, size_t len,
                   struct decode_out *o)
{
        const char *rest = decode_topic_under(topic, d->base), *last, *prev;
        char device[DECODE_DEVICE_MAX];
        size_t head, head2;
        int r;

        if (!rest) {
                decode_why(o, "not under the base topic %s", d->base);
                return -ENOENT;
        }
        if (strcmp(rest, "bridge/devices") == 0) {
                r = decode_size(o, len, d->max_definitions);
                return r < 0 ? r : learn(d, payload, len, o);
        }
        if (strcmp(rest, "bridge/state") == 0) {
                r = decode_size(o, len, d->max_payload);
                return r < 0 ? r : availability("", payload, len, o);
        }
        if (strcmp(rest, "bridge") == 0 || strncmp(rest, "bridge/", 7) == 0) {
                decode_why(o, "a bridge topic that names no detector");
                return -ENOENT;
        }
        last = decode_last_level(rest, strlen(rest), &head);
        if (last && strcmp(last, "availability") == 0) {
                r = decode_device(o, device, rest, head);
                if (r < 0)
                        return r;
                decode_topic_device(o, device);
                r = decode_size(o, len, d->max_payload);
                return r < 0 ? r : availability(device, payload, len, o);
        }
        /* <name>/set, <name>/get and <name>/set/<attribute> are requests to the bridge. */
        prev = last ? decode_last_level(rest, head, &head2) : NULL;
        if (last && (strcmp(last, "set") == 0 || strcmp(last, "get") == 0 ||
                     (prev && (decode_level_is(prev, head - (size_t)(prev - rest), "set") ||
                               decode_level_is(prev, head - (size_t)(prev - rest), "get"))))) {
                decode_why(o, "a request to the bridge, not a device's state");
                return -ENOENT;
        }
        r = decode_device(o, device, rest, strlen(rest));
        if (r < 0)
                return r;
        decode_topic_device(o, device);
        r = decode_size(o, len, d->max_payload);
        return r < 0 ? r : state(d, device, payload, len, o);
}

static int subscriptions(struct decoder *d)
{
        /* One filter for all: friendly names may hold '/', so "+" would miss them. */
        d->subscriptions[0] = *d->base ? NULL : strdup("#");
        if (*d->base && asprintf(&d->subscriptions[0], "%s/#", d->base) < 0)
                d->subscriptions[0] = NULL;
        if (!d->subscriptions[0])
                return -ENOMEM;
        d->n_subscriptions = 1;
        return 0;
}

static void z2m_free(struct decoder *d)
{
        known_free(d->z2m);
        d->z2m = NULL;
}

const struct decode_ops decode_z2m_ops = {
        .default_base = "zigbee2mqtt",
        .subscriptions = subscriptions,
        .message = message,
        .free = z2m_free,
};
