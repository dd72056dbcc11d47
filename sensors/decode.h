/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode: turns one MQTT message from a detector bridge into readings for the rules engine.
 * One decoder per bridge kind (decode_z2m.c, decode_tasmota.c, decode_esphome.c,
 * decode_generic.c) behind this one interface; DOMAIN.md and docs/bridges.md describe what each
 * bridge publishes.
 *
 * A reading names its device as the registry's detector source does (docs/registry-bundle.md):
 * the Zigbee2MQTT friendly name, the Tasmota topic (or "topic/device" for a device behind a
 * Tasmota Zigbee bridge), the ESPHome "node/entity", the generic form's device id. The daemon
 * maps devices to detectors; the detector's registered kind decides what an alarm boolean means
 * (the engine takes "smoke" from a heat detector as heat), so decoders report every alarm-like
 * boolean as ENGINE_READING_SMOKE, unless the bridge says plainly it is heat.
 *
 * Availability is said by a bridge for more than one device at a time, and the daemon must
 * apply it so: an ENGINE_READING_AVAILABILITY reading for the ESPHome node "N" speaks for every
 * "N/entity", for the Tasmota topic "T" for "T" and every "T/device" behind its Zigbee bridge;
 * one with an empty device name is Zigbee2MQTT itself (bridge/state) and speaks for every
 * device of that bridge. Zigbee2MQTT's own per-device availability speaks for that name only
 * (its friendly names may contain '/').
 *
 * Decoders never trust a message: unknown fields are ignored, a payload over the cap is refused
 * unread, a message that is not what its topic carries is refused. A known field with a value
 * that means nothing (a battery of "abc", smoke "maybe") is passed on as its reading with the
 * value NaN, so that the engine counts invalid data for that detector and kind while the rest
 * of the message (the smoke beside a garbled battery figure) still counts. The only memory kept
 * past a call is what was learnt from Zigbee2MQTT's retained bridge/devices; parsing a JSON
 * payload allocates for the duration of the call (jansson), bounded by the payload cap.
 */
#ifndef FIREGATE_DECODE_H
#define FIREGATE_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

#define DECODE_DEVICE_MAX          129 /* 128 characters and the NUL */
#define DECODE_DEFAULT_MAX_PAYLOAD (16 * 1024)
/* Zigbee2MQTT's bridge/devices lists every device with its endpoints, bindings and exposes,
 * several KiB each: a building's network is far over the state cap. */
#define DECODE_DEFAULT_MAX_DEFINITIONS (4 * 1024 * 1024)
#define DECODE_READINGS_MAX            16  /* the most readings one message gives */
#define DECODE_WHY_MAX                 192 /* enough for any reason a decoder gives, with its NUL */

enum decode_bridge {
        DECODE_ZIGBEE2MQTT,
        DECODE_TASMOTA,
        DECODE_ESPHOME,
        DECODE_GENERIC,
};

/* "zigbee2mqtt", "tasmota", "esphome", "generic"; and back (-EINVAL for an unknown name). */
const char *decode_bridge_name(enum decode_bridge b);
int decode_bridge_from_name(const char *name, enum decode_bridge *out);

struct decode_reading {
        char device[DECODE_DEVICE_MAX];
        enum engine_reading_kind kind;
        double value;
        unsigned flags; /* ENGINE_READING_FLAG_TEST */
};

struct decode_options {
        const char *base_topic; /* Zigbee2MQTT base topic (default "zigbee2mqtt"), ESPHome topic
                                   prefix (default: none, the node name is the first level),
                                   generic prefix (default "firegate/detectors"), Tasmota: a
                                   level before %prefix% in its FullTopic (default: none) */
        size_t max_payload;     /* default DECODE_DEFAULT_MAX_PAYLOAD */
        size_t max_definitions; /* Zigbee2MQTT's bridge/devices; default
                                   DECODE_DEFAULT_MAX_DEFINITIONS */
};

struct decoder;

/* Makes a decoder for @bridge (@opt may be NULL for every default). Returns 0, -EINVAL for a
 * bridge outside the enum or a base topic with MQTT wildcards, or -ENOMEM. */
int decoder_new(enum decode_bridge bridge, const struct decode_options *opt, struct decoder **out);

/* Frees @d; NULL is a no-op. */
void decoder_free(struct decoder *d);

/* The topic filters the daemon subscribes to for this bridge (with MQTT wildcards). Writes at
 * most @max pointers (owned by @d) and returns how many there are. */
size_t decoder_subscriptions(const struct decoder *d, const char **topics, size_t max);

/* Decodes one message. Writes at most DECODE_READINGS_MAX readings into @out and returns how
 * many. 0 is a message that says nothing for the engine: Zigbee2MQTT's device definitions
 * (learnt), an empty payload (a retained message being cleared), an ESPHome sensor that is no
 * temperature or battery. On a message it cannot use it returns:
 *   -EMSGSIZE  the payload is over the cap (not read);
 *   -EBADMSG   malformed: not JSON, not the shape its topic carries (an array for an object,
 *              a duplicate key), a plain-text payload that is none of its words;
 *   -ENOENT    a topic this bridge does not publish detectors on;
 *   -ENOMEM    out of memory.
 * On -EBADMSG and -EMSGSIZE, out[0] is an ENGINE_READING_INVALID reading for the device the
 * topic names (empty when it names none), so the daemon can count the message against that
 * detector.
 *
 * @why (DECODE_WHY_MAX bytes are enough) gets one line, never quoting more than a short part of
 * the payload: the reason for a refusal; for 0 readings, why there are none; for readings, empty,
 * or what was passed on as NaN (or was dropped, should a message give more readings than fit).
 * @payload need not be NUL-terminated. */
int decoder_message(struct decoder *d, const char *topic, const void *payload, size_t len,
                    struct decode_reading *out, char *why, size_t why_len);

#endif
