/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_decode: the bridge decoders (sensors/decode.h) on messages as a building's broker could
 * deliver them. One input is a sequence of messages to one fresh decoder, so what Zigbee2MQTT's
 * bridge/devices teaches is used by the state messages after it, and nothing carries over to
 * the next input.
 *
 * Input: one byte of settings, then messages, each `TOPIC NUL PAYLOAD NUL`; the last payload
 * runs to the end of the input and may hold NUL bytes. Settings: bits 0-1 the bridge
 * (Zigbee2MQTT, Tasmota, ESPHome, generic), bit 2 a configured base topic instead of the
 * default, bit 3 small caps (64 bytes per payload, 256 for bridge/devices) so the refusals of
 * oversized payloads are reached. Each topic and payload is copied into a buffer of exactly its
 * size: the payload is not NUL-terminated, as the daemon's are not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "fuzz_support.h"

#define MESSAGES_MAX 16

/* A configured base for each bridge: one with a level and a trailing slash, as docs/bridges.md
 * allows. */
static const char *const bases[] = {
        [DECODE_ZIGBEE2MQTT] = "home/z2m/",
        [DECODE_TASMOTA] = "site1",
        [DECODE_ESPHOME] = "esphome",
        [DECODE_GENERIC] = "site/fire",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(int n, const struct decode_reading *out, const char *why)
{
        fuzz_check(n >= -4096 && n <= DECODE_READINGS_MAX, "decoder_message: count or errno");
        fuzz_check(memchr(why, '\0', DECODE_WHY_MAX) != NULL, "why is NUL-terminated");
        if (n == -EBADMSG || n == -EMSGSIZE) {
                fuzz_check(out[0].kind == ENGINE_READING_INVALID, "a refusal gives invalid");
                fuzz_check(memchr(out[0].device, '\0', DECODE_DEVICE_MAX) != NULL,
                           "the refused device is NUL-terminated");
                return;
        }
        fuzz_check(n >= 0 || n == -ENOENT || n == -ENOMEM, "an errno of the contract");
        for (int i = 0; i < n; i++) {
                fuzz_check(memchr(out[i].device, '\0', DECODE_DEVICE_MAX) != NULL,
                           "a device is NUL-terminated");
                fuzz_check(out[i].kind >= ENGINE_READING_SMOKE &&
                                   out[i].kind <= ENGINE_READING_HEARTBEAT,
                           "a reading kind of the enum");
                fuzz_check((out[i].flags & ~ENGINE_READING_FLAG_TEST) == 0, "known flags only");
        }
}

static void one_message(struct decoder *d, const uint8_t *topic, size_t topic_len,
                        const uint8_t *payload, size_t payload_len)
{
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX];
        char *t = malloc(topic_len + 1);
        /* One byte at least, so that an empty payload still has an address ASan watches. */
        uint8_t *p = malloc(payload_len ? payload_len : 1);
        int n;

        if (!t || !p)
                abort();
        memcpy(t, topic, topic_len);
        t[topic_len] = '\0';
        memcpy(p, payload, payload_len);
        memset(why, 'x', sizeof(why));
        n = decoder_message(d, t, p, payload_len, out, why, sizeof(why));
        check_result(n, out, why);
        free(p);
        free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        enum decode_bridge bridge;
        struct decode_options opt = {0};
        struct decoder *d = NULL;
        const char *subs[8];
        size_t pos = 1;

        if (size < 1)
                return 0;
        bridge = (enum decode_bridge)(data[0] & 3);
        if (data[0] & 4)
                opt.base_topic = bases[bridge];
        if (data[0] & 8) {
                opt.max_payload = 64;
                opt.max_definitions = 256;
        }
        if (decoder_new(bridge, &opt, &d) < 0)
                abort();
        fuzz_check(decoder_subscriptions(d, subs, 8) >= 1, "at least one subscription");
        for (int i = 0; i < MESSAGES_MAX && pos < size; i++) {
                const uint8_t *topic = data + pos, *payload, *end;
                size_t topic_len, payload_len;

                end = memchr(topic, '\0', size - pos);
                if (!end)
                        break;
                topic_len = (size_t)(end - topic);
                pos += topic_len + 1;
                payload = data + pos;
                end = i + 1 < MESSAGES_MAX ? memchr(payload, '\0', size - pos) : NULL;
                payload_len = end ? (size_t)(end - payload) : size - pos;
                pos += payload_len + 1;
                one_message(d, topic, topic_len, payload, payload_len);
        }
        decoder_free(d);
        return 0;
}
