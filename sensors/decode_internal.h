/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode_internal: what the bridge decoders share behind decode.h, and nothing else may use.
 * decode.c owns the decoder, the payload cap and the output; each decode_<bridge>.c supplies
 * one table of operations and reads its topics and payloads with the helpers here, so that a
 * boolean, a number or a JSON error means the same thing for every bridge.
 *
 * Readings of one device are gathered in a struct decode_acc and written out together, so that
 * one message gives one reading per kind and device whatever number of keys said it, in an
 * order the engine needs (the test button before the smoke it flags).
 */
#ifndef FIREGATE_DECODE_INTERNAL_H
#define FIREGATE_DECODE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "decode.h"

#define DECODE_SUBSCRIPTIONS_MAX 4
#define DECODE_KINDS             (ENGINE_READING_HEARTBEAT + 1)

struct z2m_known; /* decode_z2m.c: device definitions learnt from bridge/devices */

struct decoder {
        enum decode_bridge bridge;
        const struct decode_ops *ops;
        char *base; /* "" when there is none */
        size_t max_payload;
        size_t max_definitions;
        char *subscriptions[DECODE_SUBSCRIPTIONS_MAX];
        size_t n_subscriptions;
        struct z2m_known *z2m; /* Zigbee2MQTT only */
};

/* Where one message's readings and its reason go. */
struct decode_out {
        struct decode_reading *r; /* DECODE_READINGS_MAX slots */
        size_t n;
        bool dropped; /* a reading did not fit */
        char *why;    /* may be NULL */
        size_t why_len;
        bool has_why;
        char topic_device[DECODE_DEVICE_MAX]; /* for the invalid reading of a refused message */
};

struct decode_ops {
        const char *default_base; /* NULL: none */
        /* Fills d->subscriptions; 0 or -ENOMEM. */
        int (*subscriptions)(struct decoder *d);
        /* As decoder_message(), adding the readings to @o: returns 0 or a negative errno with
         * the reason given. It reads the topic first, so that a topic of another bridge is
         * -ENOENT whatever its size, then calls decode_size() before any byte of the payload
         * is read. It refuses (-EBADMSG) only before it has added a reading: a refusal replaces
         * the readings with the invalid one, and must never drop a fire already read. */
        int (*message)(struct decoder *d, const char *topic, const char *payload, size_t len,
                       struct decode_out *o);
        /* Frees what the bridge keeps in @d; NULL: nothing. */
        void (*free)(struct decoder *d);
};

extern const struct decode_ops decode_z2m_ops;
extern const struct decode_ops decode_tasmota_ops;
extern const struct decode_ops decode_esphome_ops;
extern const struct decode_ops decode_generic_ops;

/* --- the output --- */

/* Refuses a payload of @len bytes over @cap: -EMSGSIZE with the reason, else 0. */
int decode_size(struct decode_out *o, size_t len, size_t cap);

/* Sets the reason, unless one was already given (the first problem of a message is the one
 * said). Returns -EBADMSG, so that `return decode_why(o, ...)` refuses in one step. */
/* Adds the topic filters @filters, each under the decoder's base topic, to its subscriptions.
 * Returns 0, -E2BIG past DECODE_SUBSCRIPTIONS_MAX, or -ENOMEM. */
int decode_subscribe(struct decoder *d, const char *const *filters, size_t n);

int decode_why(struct decode_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like decode_why(), but replaces a reason given before: for the explanation of a message that
 * gives no readings, which is said last. */
void decode_say(struct decode_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies @len bytes of @s into @dst as a device name. Returns 0, or -ENOENT for an empty name
 * or one over 128 bytes (no registered detector can have it; the reason is given). */
int decode_device(struct decode_out *o, char dst[DECODE_DEVICE_MAX], const char *s, size_t len);

/* Names the device the topic is about, for the invalid reading of a message refused later. */
void decode_topic_device(struct decode_out *o, const char *device);

/* Appends one reading. When the output is full, the least urgent reading (heartbeat first,
 * smoke last) gives way to a more urgent one, and the reason says so. */
void decode_add(struct decode_out *o, const char *device, enum engine_reading_kind kind,
                double value, unsigned flags);

/* --- one device's readings within a message --- */

struct decode_acc {
        unsigned has; /* bit per enum engine_reading_kind */
        double v[DECODE_KINDS];
};

/* A 0/1 signal said by one of several keys: 1 from any key wins, then NaN (a key said
 * nonsense, the engine is to count it), then 0. */
void decode_acc_flag(struct decode_acc *a, enum engine_reading_kind k, double v);

/* A measurement: the first key that says it wins, so that one message never mixes sensors. */
void decode_acc_value(struct decode_acc *a, enum engine_reading_kind k, double v);

bool decode_acc_has(const struct decode_acc *a, enum engine_reading_kind k);

/* Writes the gathered readings for @device in the engine's order (availability, test, alarms,
 * temperature, faults, battery); a smoke reading gets ENGINE_READING_FLAG_TEST when the same
 * message says the test button is pressed. With nothing gathered and @heartbeat, writes one
 * ENGINE_READING_HEARTBEAT: the device was heard. Returns how many were written. */
size_t decode_acc_emit(struct decode_out *o, const char *device, const struct decode_acc *a,
                       bool heartbeat);

/* --- topics --- */

/* The part of @topic after "@base/", or @topic itself when @base is empty; NULL when @topic is
 * not under @base. */
const char *decode_topic_under(const char *topic, const char *base);

/* Splits the last level off @topic (of @len bytes): returns the start of the last level and
 * sets *@head_len to the length before its '/', or returns NULL when there is no '/'. */
const char *decode_last_level(const char *topic, size_t len, size_t *head_len);

/* Whether the @len bytes at @s are exactly @word (NULL @s: false). */
bool decode_level_is(const char *s, size_t len, const char *word);

/* --- values --- */

/* Parses @len bytes as a JSON object or array, rejecting duplicate keys. Returns 0, -EBADMSG
 * with the reason (which never quotes the payload), or -ENOMEM. */
int decode_json(struct decode_out *o, const char *payload, size_t len, json_t **out);

/* A boolean as bridges write them: true/false, "ON"/"OFF", "true"/"false" (any case), 1/0 as
 * a number or a string. Returns 0 with *@v 0 or 1, or -EINVAL with *@v NaN. */
int decode_json_bool(const json_t *j, double *v);
int decode_text_bool(const char *s, size_t len, double *v);

/* A number as bridges write it: a JSON number, or a string holding a decimal number (old
 * Zigbee2MQTT wrote "100.00"). The strings "nan", "inf", "-inf" (any case) give NaN and the
 * infinities, returned as 0: they are the bridge's own word for a failed sensor, and the engine
 * counts them as invalid data. Anything else returns -EINVAL with *@v NaN. */
int decode_json_number(const json_t *j, double *v);
int decode_text_number(const char *s, size_t len, double *v);

/* Whether @len bytes at @s are @word, ignoring ASCII case. */
bool decode_text_is(const char *s, size_t len, const char *word);

/* Narrows @s/@len to leave out ASCII white space at both ends. */
void decode_trim(const char **s, size_t *len);

/* Says a known key's value that means nothing, passed on as NaN: "KEY: WHAT". */
void decode_why_value(struct decode_out *o, const char *key, const char *what);

#endif
