/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode: the part of the decoders every bridge shares. It owns the decoder and its options,
 * refuses a payload over its cap before any byte of it is read, hands the message to the
 * bridge's own file, and turns a refusal into the invalid reading the daemon counts. The
 * helpers below are the one place where a boolean, a number or a JSON error is read, so that
 * "ON", "100.00" or a duplicate key mean the same thing whatever bridge sent them.
 *
 * Reasons never quote a payload beyond a short excerpt: a payload may be anything, and a
 * reason ends up in logs and on an installer's terminal.
 */
#include "decode.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_internal.h"

static const char *const bridge_names[] = {
        [DECODE_ZIGBEE2MQTT] = "zigbee2mqtt",
        [DECODE_TASMOTA] = "tasmota",
        [DECODE_ESPHOME] = "esphome",
        [DECODE_GENERIC] = "generic",
};

static const struct decode_ops *ops_of(enum decode_bridge b)
{
        switch (b) {
        case DECODE_ZIGBEE2MQTT:
                return &decode_z2m_ops;
        case DECODE_TASMOTA:
                return &decode_tasmota_ops;
        case DECODE_ESPHOME:
                return &decode_esphome_ops;
        case DECODE_GENERIC:
                return &decode_generic_ops;
        }
        return NULL;
}

const char *decode_bridge_name(enum decode_bridge b)
{
        return ops_of(b) ? bridge_names[b] : NULL;
}

int decode_bridge_from_name(const char *name, enum decode_bridge *out)
{
        for (size_t i = 0; name && i < sizeof(bridge_names) / sizeof(bridge_names[0]); i++) {
                if (strcmp(name, bridge_names[i]) == 0) {
                        *out = (enum decode_bridge)i;
                        return 0;
                }
        }
        return -EINVAL;
}

/* --- the decoder --- */

int decoder_new(enum decode_bridge bridge, const struct decode_options *opt, struct decoder **out)
{
        const struct decode_ops *ops = ops_of(bridge);
        const char *base = opt && opt->base_topic ? opt->base_topic : NULL;
        struct decoder *d;
        size_t n;
        int r;

        *out = NULL;
        if (!ops)
                return -EINVAL;
        if (!base)
                base = ops->default_base ? ops->default_base : "";
        /* A filter, not a topic, would make every subscription match what it should not. */
        if (strpbrk(base, "+#"))
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->bridge = bridge;
        d->ops = ops;
        d->max_payload = opt && opt->max_payload ? opt->max_payload : DECODE_DEFAULT_MAX_PAYLOAD;
        d->max_definitions =
                opt && opt->max_definitions ? opt->max_definitions : DECODE_DEFAULT_MAX_DEFINITIONS;
        /* "zigbee2mqtt/" and "zigbee2mqtt" are the same base to a person. */
        n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                n--;
        d->base = strndup(base, n);
        if (!d->base) {
                r = -ENOMEM;
                goto err_free;
        }
        r = ops->subscriptions(d);
        if (r < 0)
                goto err_free;
        *out = d;
        return 0;

err_free:
        decoder_free(d);
        return r;
}

void decoder_free(struct decoder *d)
{
        if (!d)
                return;
        if (d->ops->free)
                d->ops->free(d);
        for (size_t i = 0; i < d->n_subscriptions; i++)
                free(d->subscriptions[i]);
        free(d->base);
        free(d);
}

size_t decoder_subscriptions(const struct decoder *d, const char **topics, size_t max)
{
        for (size_t i = 0; i < d->n_subscriptions && i < max; i++)
                topics[i] = d->subscriptions[i];
        return d->n_subscriptions;
}

int decoder_message(struct decoder *d, const char *topic, const void *payload, size_t len,
                    struct decode_reading *out, char *why, size_t why_len)
{
        struct decode_out o = {.r = out, .why = why, .why_len = why_len};
        int r;

        if (why && why_len)
                why[0] = '\0';
        if (!payload)
                len = 0;
        if (!topic || !*topic) {
                decode_why(&o, "no topic");
                return -ENOENT;
        }
        r = d->ops->message(d, topic, len ? payload : "", len, &o);
        if (r == -EBADMSG || r == -EMSGSIZE) {
                if (!o.has_why)
                        decode_why(&o, "malformed message");
                out[0] = (struct decode_reading){.kind = ENGINE_READING_INVALID, .value = NAN};
                memcpy(out[0].device, o.topic_device, sizeof(out[0].device));
                return r;
        }
        if (r < 0)
                return r;
        if (o.n == 0 && !o.has_why)
                decode_say(&o, "the message says nothing for a detector");
        return (int)o.n;
}

/* --- the output --- */

int decode_size(struct decode_out *o, size_t len, size_t cap)
{
        if (len <= cap)
                return 0;
        decode_why(o, "a payload of %zu bytes is over the cap of %zu bytes; not read", len, cap);
        return -EMSGSIZE;
}

static void vwhy(struct decode_out *o, const char *fmt, va_list ap)
{
        o->has_why = true;
        if (o->why && o->why_len)
                vsnprintf(o->why, o->why_len, fmt, ap);
}

int decode_subscribe(struct decoder *d, const char *const *filters, size_t n)
{
        if (d->n_subscriptions + n > DECODE_SUBSCRIPTIONS_MAX)
                return -E2BIG; /* a programming error: raise DECODE_SUBSCRIPTIONS_MAX */
        for (size_t i = 0; i < n; i++) {
                if (asprintf(&d->subscriptions[d->n_subscriptions], "%s%s%s", d->base,
                             *d->base ? "/" : "", filters[i]) < 0)
                        return -ENOMEM;
                d->n_subscriptions++;
        }
        return 0;
}

int decode_why(struct decode_out *o, const char *fmt, ...)
{
        va_list ap;

        if (!o->has_why) {
                va_start(ap, fmt);
                vwhy(o, fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

void decode_say(struct decode_out *o, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vwhy(o, fmt, ap);
        va_end(ap);
}

void decode_why_value(struct decode_out *o, const char *key, const char *what)
{
        decode_why(o, "%s: %s; passed on as not-a-number", key, what);
}

int decode_device(struct decode_out *o, char dst[DECODE_DEVICE_MAX], const char *s, size_t len)
{
        if (len == 0) {
                decode_why(o, "the topic names no device");
                return -ENOENT;
        }
        if (len >= DECODE_DEVICE_MAX) {
                decode_why(o, "a device name of %zu bytes; no detector's can be over %d", len,
                           DECODE_DEVICE_MAX - 1);
                return -ENOENT;
        }
        memcpy(dst, s, len);
        dst[len] = '\0';
        return 0;
}

void decode_topic_device(struct decode_out *o, const char *device)
{
        snprintf(o->topic_device, sizeof(o->topic_device), "%s", device);
}

/* Lower is more urgent: what decides an alarm first, what merely shows life last. */
static int urgency(enum engine_reading_kind k)
{
        switch (k) {
        case ENGINE_READING_SMOKE:
        case ENGINE_READING_HEAT_ALARM:
        case ENGINE_READING_CALL_POINT:
                return 0;
        case ENGINE_READING_TEST:
        case ENGINE_READING_TEMPERATURE:
                return 1;
        case ENGINE_READING_AVAILABILITY:
                return 2;
        case ENGINE_READING_DEVICE_FAULT:
        case ENGINE_READING_TAMPER:
                return 3;
        case ENGINE_READING_BATTERY_LOW:
                return 4;
        case ENGINE_READING_INVALID:
                return 5;
        case ENGINE_READING_BATTERY:
                return 6;
        case ENGINE_READING_HEARTBEAT:
                return 7;
        }
        return 7;
}

void decode_add(struct decode_out *o, const char *device, enum engine_reading_kind kind,
                double value, unsigned flags)
{
        struct decode_reading *slot = NULL;

        if (o->n < DECODE_READINGS_MAX) {
                slot = &o->r[o->n++];
        } else {
                for (size_t i = 0; i < o->n; i++)
                        if (!slot || urgency(o->r[i].kind) > urgency(slot->kind))
                                slot = &o->r[i];
                if (urgency(slot->kind) <= urgency(kind))
                        slot = NULL;
                if (!o->dropped)
                        decode_why(o,
                                   "the message gives more than %d readings; the least "
                                   "urgent were left out",
                                   DECODE_READINGS_MAX);
                o->dropped = true;
                if (!slot)
                        return;
        }
        snprintf(slot->device, sizeof(slot->device), "%s", device);
        slot->kind = kind;
        /* ESPHome writes "-0.0"; a reading of minus zero is zero. */
        slot->value = value == 0 ? 0.0 : value;
        slot->flags = flags;
}

/* --- one device's readings --- */

void decode_acc_flag(struct decode_acc *a, enum engine_reading_kind k, double v)
{
        unsigned bit = 1u << k;

        if (!(a->has & bit) || v == 1 || (isnan(v) && a->v[k] != 1))
                a->v[k] = v;
        a->has |= bit;
}

void decode_acc_value(struct decode_acc *a, enum engine_reading_kind k, double v)
{
        unsigned bit = 1u << k;

        if (!(a->has & bit))
                a->v[k] = v;
        a->has |= bit;
}

bool decode_acc_has(const struct decode_acc *a, enum engine_reading_kind k)
{
        return a->has & (1u << k);
}

size_t decode_acc_emit(struct decode_out *o, const char *device, const struct decode_acc *a,
                       bool heartbeat)
{
        /* Availability first, so a device back online is online before what it says counts;
         * the test button before the smoke that its flag marks. */
        static const enum engine_reading_kind order[] = {
                ENGINE_READING_AVAILABILITY, ENGINE_READING_TEST,       ENGINE_READING_SMOKE,
                ENGINE_READING_HEAT_ALARM,   ENGINE_READING_CALL_POINT, ENGINE_READING_TEMPERATURE,
                ENGINE_READING_DEVICE_FAULT, ENGINE_READING_TAMPER,     ENGINE_READING_BATTERY_LOW,
                ENGINE_READING_BATTERY,
        };
        bool testing = decode_acc_has(a, ENGINE_READING_TEST) && a->v[ENGINE_READING_TEST] == 1;
        size_t n = 0;

        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
                enum engine_reading_kind k = order[i];

                if (!decode_acc_has(a, k))
                        continue;
                decode_add(o, device, k, a->v[k],
                           k == ENGINE_READING_SMOKE && testing ? ENGINE_READING_FLAG_TEST : 0);
                n++;
        }
        if (n == 0 && heartbeat) {
                decode_add(o, device, ENGINE_READING_HEARTBEAT, 0, 0);
                n++;
        }
        return n;
}

/* --- topics --- */

const char *decode_topic_under(const char *topic, const char *base)
{
        size_t n = strlen(base);

        if (n == 0)
                return topic;
        if (strncmp(topic, base, n) != 0 || topic[n] != '/')
                return NULL;
        return topic + n + 1;
}

const char *decode_last_level(const char *topic, size_t len, size_t *head_len)
{
        for (size_t i = len; i > 0; i--) {
                if (topic[i - 1] == '/') {
                        *head_len = i - 1;
                        return topic + i;
                }
        }
        return NULL;
}

bool decode_level_is(const char *s, size_t len, const char *word)
{
        return s && strlen(word) == len && memcmp(s, word, len) == 0;
}

/* --- values --- */

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

void decode_trim(const char **s, size_t *len)
{
        while (*len > 0 && is_space(**s)) {
                (*s)++;
                (*len)--;
        }
        while (*len > 0 && is_space((*s)[*len - 1]))
                (*len)--;
}

bool decode_text_is(const char *s, size_t len, const char *word)
{
        size_t n = strlen(word);

        if (len != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (ascii_lower(s[i]) != ascii_lower(word[i]))
                        return false;
        return true;
}

int decode_json(struct decode_out *o, const char *payload, size_t len, json_t **out)
{
        const char *p = payload;
        size_t n = len;
        json_error_t err;

        *out = NULL;
        decode_trim(&p, &n);
        /* Said before parsing: jansson's own message would quote the text it choked on. */
        if (n == 0 || (p[0] != '{' && p[0] != '['))
                return decode_why(o, "not JSON: a JSON object was expected");
        *out = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &err);
        if (*out)
                return 0;
        /* jansson 2.14 reports most failed allocations while parsing as syntax errors; those it
         * does say, or leaves without any text, are memory. */
        if (json_error_code(&err) == json_error_out_of_memory || !err.text[0]) {
                decode_why(o, "out of memory");
                return -ENOMEM;
        }
        switch (json_error_code(&err)) {
        case json_error_premature_end_of_input:
                return decode_why(o, "truncated JSON: it ends after %d bytes", err.position);
        case json_error_duplicate_key:
                return decode_why(o, "a key appears twice (line %d, column %d)", err.line,
                                  err.column);
        case json_error_invalid_utf8:
                return decode_why(o, "not UTF-8 (at byte %d)", err.position);
        case json_error_null_character:
        case json_error_null_byte_in_key:
                return decode_why(o, "a NUL character in a string (at byte %d)", err.position);
        case json_error_numeric_overflow:
                return decode_why(o, "a number too large (line %d, column %d)", err.line,
                                  err.column);
        case json_error_end_of_input_expected:
                return decode_why(o, "text after the JSON value (at byte %d)", err.position);
        case json_error_stack_overflow:
                return decode_why(o, "JSON nested too deeply");
        default:
                return decode_why(o, "invalid JSON (line %d, column %d)", err.line, err.column);
        }
}

int decode_text_bool(const char *s, size_t len, double *v)
{
        static const char *const on[] = {"on", "true", "1"};
        static const char *const off[] = {"off", "false", "0"};

        for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
                if (decode_text_is(s, len, on[i])) {
                        *v = 1;
                        return 0;
                }
                if (decode_text_is(s, len, off[i])) {
                        *v = 0;
                        return 0;
                }
        }
        *v = NAN;
        return -EINVAL;
}

int decode_json_bool(const json_t *j, double *v)
{
        double n;

        if (json_is_boolean(j)) {
                *v = json_is_true(j) ? 1 : 0;
                return 0;
        }
        if (json_is_string(j))
                return decode_text_bool(json_string_value(j), json_string_length(j), v);
        if (json_is_number(j)) {
                n = json_number_value(j);
                if (n == 0 || n == 1) {
                        *v = n;
                        return 0;
                }
        }
        *v = NAN;
        return -EINVAL;
}

/* A decimal number in full: sign, digits with at most one point, an optional exponent; no
 * spaces, no hexadecimal, nothing after it. */
static bool decimal_syntax(const char *s, size_t len)
{
        size_t i = 0, digits = 0;

        if (i < len && (s[i] == '+' || s[i] == '-'))
                i++;
        for (; i < len && is_digit(s[i]); i++)
                digits++;
        if (i < len && s[i] == '.')
                for (i++; i < len && is_digit(s[i]); i++)
                        digits++;
        if (digits == 0)
                return false;
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < len && (s[i] == '+' || s[i] == '-'))
                        i++;
                if (i == len || !is_digit(s[i]))
                        return false;
                while (i < len && is_digit(s[i]))
                        i++;
        }
        return i == len;
}

int decode_text_number(const char *s, size_t len, double *v)
{
        const char *word = s;
        size_t wlen = len;
        bool minus = false;
        char buf[64];

        if (wlen > 0 && (word[0] == '+' || word[0] == '-')) {
                minus = word[0] == '-';
                word++;
                wlen--;
        }
        if (decode_text_is(word, wlen, "nan")) {
                *v = NAN;
                return 0;
        }
        if (decode_text_is(word, wlen, "inf") || decode_text_is(word, wlen, "infinity")) {
                *v = minus ? -INFINITY : INFINITY;
                return 0;
        }
        if (len >= sizeof(buf) || !decimal_syntax(s, len)) {
                *v = NAN;
                return -EINVAL;
        }
        memcpy(buf, s, len);
        buf[len] = '\0';
        /* Past the range of a double strtod gives an infinity, which the engine counts as
         * invalid data, as it should. The program never sets a locale, so the point is '.'. */
        *v = strtod(buf, NULL);
        return 0;
}

int decode_json_number(const json_t *j, double *v)
{
        if (json_is_integer(j)) {
                *v = (double)json_integer_value(j);
                return 0;
        }
        if (json_is_real(j)) {
                *v = json_real_value(j);
                return 0;
        }
        if (json_is_string(j))
                return decode_text_number(json_string_value(j), json_string_length(j), v);
        *v = NAN;
        return -EINVAL;
}
