/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_decode: the bridge decoders, on payloads as each bridge publishes them (DOMAIN.md, the
 * exposes of zigbee-herdsman-converters 26.x for Heiman HS1SA, Tuya TS0205 and TS0601 smoke,
 * Frient SMSZB-120 and HESZB-120, Bosch Twinguard, Alecto; Tasmota's and ESPHome's own
 * formats). Every key family gives its reading; what bridge/devices teaches changes how a
 * device's keys are read, and settings are never read as signals; a test press flags the smoke
 * of its own message; old string numbers, Fahrenheit, ZbReceived and ESPHome's nan are read as
 * the bridges mean them; oversized payloads are refused without a byte read; malformed ones are
 * refused with the device's invalid reading; other topics are -ENOENT; and mutated payloads and
 * failing allocations never crash or leak.
 *
 * A case's expected readings are written as the CLI shows them, in order:
 * "hall:test=1, hall:smoke=1!" (! the test flag; nan, inf, -inf as such; heartbeat and invalid
 * without a value), "-" for none, "-ENOENT", "-EBADMSG DEVICE" for a refusal with the invalid
 * reading it gives. A trailing " ?" says the reason must say something; without it a message
 * that gives readings must give no reason.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "decode.h"
#include "replay.h"

#define SMOKE ENGINE_READING_SMOKE
#define FLAG  ENGINE_READING_FLAG_TEST

struct tcase {
        const char *name;
        const char *topic;
        const char *payload;
        const char *want;
};

static struct decoder *make(enum decode_bridge b, const char *base)
{
        const struct decode_options opt = {.base_topic = base};
        struct decoder *d = NULL;

        assert_int_equal(decoder_new(b, &opt, &d), 0);
        assert_non_null(d);
        return d;
}

static enum engine_reading_kind kind_named(const char *name, size_t len)
{
        for (int k = ENGINE_READING_SMOKE; k <= ENGINE_READING_HEARTBEAT; k++) {
                const char *n = replay_reading_name((enum engine_reading_kind)k);

                if (strlen(n) == len && strncmp(n, name, len) == 0)
                        return (enum engine_reading_kind)k;
        }
        fail_msg("no reading is named '%.*s'", (int)len, name);
        return ENGINE_READING_INVALID;
}

/* Parses one "device:kind=value!" of a case into @w. */
static void want_reading(const char *item, size_t len, struct decode_reading *w)
{
        const char *eq = memchr(item, '=', len), *end = item + len, *colon;

        memset(w, 0, sizeof(*w));
        if (len > 0 && item[len - 1] == '!') {
                w->flags = FLAG;
                end--;
        }
        for (colon = eq ? eq : end; colon > item && *colon != ':'; colon--)
                ;
        assert_true(*colon == ':' && (size_t)(colon - item) < sizeof(w->device));
        memcpy(w->device, item, (size_t)(colon - item));
        w->kind = kind_named(colon + 1, (size_t)((eq ? eq : end) - colon - 1));
        if (!eq)
                return;
        /* strtod stops at the flag or the comma that ends the value. */
        w->value = strncmp(eq + 1, "nan", 3) == 0 ? (double)NAN : strtod(eq + 1, NULL);
}

static int same(double a, double b)
{
        return (isnan(a) && isnan(b)) || a == b;
}

/* Runs @c through @d and checks its return, its reason and every reading, in order. */
static void check(struct decoder *d, const struct tcase *c)
{
        struct decode_reading out[DECODE_READINGS_MAX], w;
        size_t wl = strlen(c->want), n = 0;
        const char *p = c->want, *sep;
        char why[DECODE_WHY_MAX];
        bool say = wl >= 2 && strcmp(c->want + wl - 2, " ?") == 0;
        int r, want_r;

        if (say)
                wl -= 2;
        memset(out, 0xa5, sizeof(out));
        r = decoder_message(d, c->topic, c->payload, strlen(c->payload), out, why, sizeof(why));
        if (strlen(why) >= sizeof(why))
                fail_msg("%s: reason not terminated", c->name);
        if (strncmp(c->want, "-E", 2) == 0) {
                want_r = strncmp(c->want, "-EBADMSG", 8) == 0    ? -EBADMSG
                         : strncmp(c->want, "-ENOENT", 7) == 0   ? -ENOENT
                         : strncmp(c->want, "-EMSGSIZE", 9) == 0 ? -EMSGSIZE
                                                                 : 1;
                if (r != want_r)
                        fail_msg("%s: returned %d (%s), expected %s", c->name, r, why, c->want);
                if (!why[0])
                        fail_msg("%s: refused without a reason", c->name);
                if (r == -EBADMSG &&
                    (out[0].kind != ENGINE_READING_INVALID || strcmp(out[0].device, c->want + 9)))
                        fail_msg("%s: the invalid reading is %d for '%s'", c->name, out[0].kind,
                                 out[0].device);
                return;
        }
        if (r < 0)
                fail_msg("%s: refused (%d): %s", c->name, r, why);
        if ((say || r == 0) && !why[0])
                fail_msg("%s: no reason given", c->name);
        if (!say && r > 0 && why[0])
                fail_msg("%s: unexpected reason '%s'", c->name, why);
        while (strcmp(c->want, "-") != 0 && p < c->want + wl) {
                sep = strstr(p, ", ");
                if (!sep || sep > c->want + wl)
                        sep = c->want + wl;
                want_reading(p, (size_t)(sep - p), &w);
                if (n >= (size_t)r)
                        fail_msg("%s: %d readings, more expected", c->name, r);
                if (strcmp(out[n].device, w.device) != 0 || out[n].kind != w.kind ||
                    !same(out[n].value, w.value) || out[n].flags != w.flags)
                        fail_msg("%s: reading %zu is %s:%s=%g/%u, expected %s:%s=%g/%u", c->name, n,
                                 out[n].device, replay_reading_name(out[n].kind), out[n].value,
                                 out[n].flags, w.device, replay_reading_name(w.kind), w.value,
                                 w.flags);
                n++;
                p = sep + 2;
        }
        if ((size_t)r != n)
                fail_msg("%s: %d readings, %zu expected", c->name, r, n);
}

static void run_table(enum decode_bridge b, const char *base, const struct tcase *cases, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct decoder *d = make(b, base);

                check(d, &cases[i]);
                decoder_free(d);
        }
}

#define RUN(bridge, base, cases) run_table(bridge, base, cases, sizeof(cases) / sizeof(cases[0]))

/* --- Zigbee2MQTT: each key family --- */

static void test_z2m_every_key_family_gives_its_reading(void **state)
{
        static const struct tcase cases[] = {
                {"Heiman HS1SA quiet", "zigbee2mqtt/hall",
                 "{\"battery\":100,\"battery_low\":false,\"linkquality\":120,\"smoke\":false,"
                 "\"test\":false,\"voltage\":3000}",
                 "hall:test=0, hall:smoke=0, hall:battery_low=0, hall:battery=100"},
                {"Tuya TS0205 smoke with tamper", "zigbee2mqtt/kitchen",
                 "{\"battery\":100,\"battery_low\":false,\"linkquality\":87,\"smoke\":true,"
                 "\"tamper\":true}",
                 "kitchen:smoke=1, kitchen:tamper=1, kitchen:battery_low=0, kitchen:battery=100"},
                {"Tuya TS0601 smoke_state beside smoke", "zigbee2mqtt/bed",
                 "{\"alarm_switch\":true,\"alarm_volume\":\"high\",\"battery\":90,"
                 "\"carbon_monoxide\":false,\"linkquality\":96,\"silence\":false,\"smoke\":true,"
                 "\"smoke_state\":\"alarm\"}",
                 "bed:smoke=1, bed:battery=90"},
                {"smoke_state alone says alarm", "zigbee2mqtt/a", "{\"smoke_state\":\"alarm\"}",
                 "a:smoke=1"},
                {"smoke_state detecting is no smoke", "zigbee2mqtt/a",
                 "{\"smoke_state\":\"detecting\"}", "a:smoke=0"},
                {"smoke_state unknown says nothing", "zigbee2mqtt/a",
                 "{\"smoke_state\":\"unknown\"}", "a:heartbeat"},
                {"Alecto: smoke_state normal, battery_level, checking_result", "zigbee2mqtt/alecto",
                 "{\"battery_level\":\"middle\",\"checking_result\":\"check_success\","
                 "\"self_checking\":false,\"silence\":false,\"smoke_state\":\"normal\"}",
                 "alecto:test=0, alecto:smoke=0, alecto:device_fault=0, alecto:battery_low=0"},
                {"alarm boolean", "zigbee2mqtt/a", "{\"alarm\":true}", "a:smoke=1"},
                {"alarm_1 and alarm_2", "zigbee2mqtt/a", "{\"alarm_1\":false,\"alarm_2\":true}",
                 "a:smoke=1"},
                {"smoke_alarm_1 and _2 clear", "zigbee2mqtt/a",
                 "{\"smoke_alarm_1\":false,\"smoke_alarm_2\":false}", "a:smoke=0"},
                {"Twinguard alarm enum fire", "zigbee2mqtt/tg",
                 "{\"alarm\":\"fire\",\"smoke\":false}", "tg:smoke=1"},
                {"Twinguard alarm enum stop", "zigbee2mqtt/tg", "{\"alarm\":\"stop\"}",
                 "tg:smoke=0"},
                {"Twinguard pre_alarm and burglar say no fire", "zigbee2mqtt/tg",
                 "{\"alarm\":\"pre_alarm\"}", "tg:heartbeat"},
                {"Twinguard whole state, settings ignored", "zigbee2mqtt/tg",
                 "{\"aqi\":21,\"battery\":100,\"co2\":500,\"heartbeat\":\"ON\",\"humidity\":45.3,"
                 "\"illuminance\":120,\"linkquality\":140,\"pre_alarm\":\"ON\",\"self_test\":"
                 "false,\"sensitivity\":\"medium\",\"siren_state\":\"clear\",\"smoke\":false,"
                 "\"temperature\":21.5,\"voc\":120}",
                 "tg:test=0, tg:smoke=0, tg:temperature=21.5, tg:battery=100"},
                {"Frient SMSZB-120", "zigbee2mqtt/frient",
                 "{\"battery\":100,\"battery_low\":false,\"fault\":false,\"linkquality\":72,"
                 "\"max_duration\":240,\"reliability\":\"no_fault_detected\",\"restore_reports\":"
                 "true,\"smoke\":false,\"supervision_reports\":true,\"temperature\":22.4,"
                 "\"test\":false,\"voltage\":3000}",
                 "frient:test=0, frient:smoke=0, frient:temperature=22.4, frient:device_fault=0, "
                 "frient:battery_low=0, frient:battery=100"},
                {"Frient HESZB-120: its heat alarm comes as smoke", "zigbee2mqtt/heat-kitchen",
                 "{\"battery\":97,\"smoke\":true,\"temperature\":63.2,\"test\":false}",
                 "heat-kitchen:test=0, heat-kitchen:smoke=1, heat-kitchen:temperature=63.2, "
                 "heat-kitchen:battery=97"},
                {"heat boolean", "zigbee2mqtt/h", "{\"heat\":true}", "h:heat_alarm=1"},
                {"button_pushed", "zigbee2mqtt/a", "{\"button_pushed\":true}", "a:test=1"},
                {"self_test boolean", "zigbee2mqtt/a", "{\"self_test\":true}", "a:test=1"},
                {"self_test enum checking", "zigbee2mqtt/a", "{\"self_test\":\"checking\"}",
                 "a:test=1"},
                {"self_test enum Checking", "zigbee2mqtt/a", "{\"self_test\":\"Checking\"}",
                 "a:test=1"},
                {"a failed self-test is a device fault", "zigbee2mqtt/a",
                 "{\"self_test\":\"check_failure\"}", "a:test=0, a:device_fault=1"},
                {"battery_state low", "zigbee2mqtt/a", "{\"battery_state\":\"low\"}",
                 "a:battery_low=1"},
                {"battery_level high", "zigbee2mqtt/a", "{\"battery_level\":\"high\"}",
                 "a:battery_low=0"},
                {"battery_state medium", "zigbee2mqtt/a", "{\"battery_state\":\"medium\"}",
                 "a:battery_low=0"},
                {"battery_low with battery_state: low wins", "zigbee2mqtt/a",
                 "{\"battery_low\":false,\"battery_state\":\"low\"}", "a:battery_low=1"},
                {"fault enum Fault", "zigbee2mqtt/a", "{\"fault\":\"Fault\"}", "a:device_fault=1"},
                {"fault enum normal", "zigbee2mqtt/a", "{\"fault\":\"Normal\",\"trouble\":false}",
                 "a:device_fault=0"},
                {"fault code", "zigbee2mqtt/a", "{\"fault\":4}", "a:device_fault=1"},
                {"gas, CO, linkquality, last_seen only: alive", "zigbee2mqtt/a",
                 "{\"carbon_monoxide\":true,\"gas\":true,\"last_seen\":\"2026-11-23T10:00:00."
                 "000Z\",\"linkquality\":54,\"update\":{\"state\":\"idle\"}}",
                 "a:heartbeat"},
                {"an empty object: alive", "zigbee2mqtt/a", "{}", "a:heartbeat"},
                {"null is not yet heard", "zigbee2mqtt/a",
                 "{\"battery\":null,\"smoke\":null,\"temperature\":null}", "a:heartbeat"},
                {"smoke ON without a definition", "zigbee2mqtt/a", "{\"smoke\":\"ON\"}",
                 "a:smoke=1"},
                {"an empty payload clears a retained state", "zigbee2mqtt/a", "", "-"},
        };

        (void)state;
        RUN(DECODE_ZIGBEE2MQTT, NULL, cases);
}

static void test_z2m_test_press_flags_the_smoke_of_its_own_message(void **state)
{
        static const struct tcase cases[] = {
                {"Heiman test button: smoke and test", "zigbee2mqtt/hall",
                 "{\"battery\":100,\"battery_low\":false,\"linkquality\":120,\"smoke\":true,"
                 "\"test\":true,\"voltage\":3000}",
                 "hall:test=1, hall:smoke=1!, hall:battery_low=0, hall:battery=100"},
                {"real smoke after the test", "zigbee2mqtt/hall", "{\"smoke\":true,\"test\":false}",
                 "hall:test=0, hall:smoke=1"},
                {"self_test checking flags smoke_state alarm", "zigbee2mqtt/t",
                 "{\"self_test\":\"checking\",\"smoke_state\":\"alarm\"}", "t:test=1, t:smoke=1!"},
                {"the flag is for smoke only, never heat", "zigbee2mqtt/h",
                 "{\"heat\":true,\"test\":true}", "h:test=1, h:heat_alarm=1"},
        };

        (void)state;
        RUN(DECODE_ZIGBEE2MQTT, NULL, cases);
}

static void test_z2m_old_string_numbers_and_nonsense_values(void **state)
{
        static const struct tcase cases[] = {
                {"old Zigbee2MQTT numbers as strings", "zigbee2mqtt/a",
                 "{\"battery\":\"100.00\",\"linkquality\":\"120\",\"temperature\":\"21.50\"}",
                 "a:temperature=21.5, a:battery=100"},
                {"a nan string is passed on as NaN and said", "zigbee2mqtt/a",
                 "{\"temperature\":\"nan\"}", "a:temperature=nan ?"},
                {"an inf string is passed on as infinity", "zigbee2mqtt/a",
                 "{\"temperature\":\"-inf\"}", "a:temperature=-inf ?"},
                {"wrong types are NaN readings of their kind", "zigbee2mqtt/a",
                 "{\"battery\":true,\"smoke\":\"maybe\"}", "a:smoke=nan, a:battery=nan ?"},
                {"a garbled battery never hides the smoke beside it", "zigbee2mqtt/a",
                 "{\"battery\":\"12abc\",\"smoke\":true}", "a:smoke=1, a:battery=nan ?"},
                {"smoke 2 means nothing", "zigbee2mqtt/a", "{\"smoke\":2}", "a:smoke=nan ?"},
                {"one key's nonsense does not clear another's smoke", "zigbee2mqtt/a",
                 "{\"smoke\":true,\"alarm\":[1]}", "a:smoke=1 ?"},
                {"a hexadecimal string is no number", "zigbee2mqtt/a", "{\"battery\":\"0x64\"}",
                 "a:battery=nan ?"},
        };

        (void)state;
        RUN(DECODE_ZIGBEE2MQTT, NULL, cases);
}

static void test_z2m_availability_in_both_forms_and_the_bridge(void **state)
{
        static const struct tcase cases[] = {
                {"JSON online", "zigbee2mqtt/hall/availability", "{\"state\":\"online\"}",
                 "hall:availability=1"},
                {"JSON offline", "zigbee2mqtt/hall/availability", "{\"state\":\"offline\"}",
                 "hall:availability=0"},
                {"legacy online", "zigbee2mqtt/hall/availability", "online", "hall:availability=1"},
                {"legacy offline", "zigbee2mqtt/hall/availability", "offline",
                 "hall:availability=0"},
                {"a name with slashes", "zigbee2mqtt/floor 3/unit 301/hall/availability",
                 "{\"state\":\"offline\"}", "floor 3/unit 301/hall:availability=0"},
                {"a retained availability cleared", "zigbee2mqtt/hall/availability", "", "-"},
                {"nonsense availability", "zigbee2mqtt/hall/availability", "maybe",
                 "-EBADMSG hall"},
                {"availability without state", "zigbee2mqtt/hall/availability",
                 "{\"status\":\"online\"}", "-EBADMSG hall"},
                {"the bridge itself offline", "zigbee2mqtt/bridge/state", "{\"state\":\"offline\"}",
                 ":availability=0"},
                {"the bridge online, 1.x form", "zigbee2mqtt/bridge/state", "online",
                 ":availability=1"},
        };

        (void)state;
        RUN(DECODE_ZIGBEE2MQTT, NULL, cases);
}

static void test_z2m_topics_names_with_slashes_and_requests(void **state)
{
        static const struct tcase cases[] = {
                {"a name with a slash", "zigbee2mqtt/floor1/hall", "{\"smoke\":true}",
                 "floor1/hall:smoke=1"},
                {"set", "zigbee2mqtt/siren/set", "{\"warning\":{}}", "-ENOENT"},
                {"get", "zigbee2mqtt/a/b/get", "{\"state\":\"\"}", "-ENOENT"},
                {"set of one attribute", "zigbee2mqtt/siren/set/warning", "{}", "-ENOENT"},
                {"another bridge topic", "zigbee2mqtt/bridge/logging",
                 "{\"level\":\"info\",\"message\":\"x\"}", "-ENOENT"},
                {"bridge/info", "zigbee2mqtt/bridge/info", "{}", "-ENOENT"},
                {"another base", "zigbee2mqtt2/hall", "{}", "-ENOENT"},
                {"the base alone", "zigbee2mqtt", "{}", "-ENOENT"},
                {"no device", "zigbee2mqtt/", "{}", "-ENOENT"},
                {"a Tasmota topic", "tele/kitchen/SENSOR", "{}", "-ENOENT"},
        };
        /* A base is a topic; its trailing slash is the same base. */
        static const struct tcase other_base[] = {
                {"a base with a slash", "home/z2m/hall", "{\"smoke\":true}", "hall:smoke=1"},
                {"a base written with its slash", "home/z2m/hall", "{\"smoke\":false}",
                 "hall:smoke=0"},
                {"zigbee2mqtt is not the base then", "zigbee2mqtt/hall", "{}", "-ENOENT"},
        };
        char topic[400], name[200], want[300];
        struct decoder *d = make(DECODE_ZIGBEE2MQTT, NULL);
        struct tcase c = {"a name over 128 bytes", topic, "{\"smoke\":true}", "-ENOENT"};

        (void)state;
        RUN(DECODE_ZIGBEE2MQTT, NULL, cases);
        RUN(DECODE_ZIGBEE2MQTT, "home/z2m/", other_base);
        memset(name, 'x', 129);
        name[129] = '\0';
        snprintf(topic, sizeof(topic), "zigbee2mqtt/%s", name);
        check(d, &c);
        /* 128 bytes is still a name. */
        name[128] = '\0';
        snprintf(topic, sizeof(topic), "zigbee2mqtt/%s", name);
        snprintf(want, sizeof(want), "%s:smoke=1", name);
        c.want = want;
        check(d, &c);
        decoder_free(d);
}

/* --- Zigbee2MQTT: what bridge/devices teaches --- */

/* As Zigbee2MQTT 2.x publishes it, trimmed to what matters here (endpoints, bindings and the
 * rest of each entry are there too and are ignored). */
static const char devices_json[] =
        "[{\"ieee_address\":\"0x00124b0000000001\",\"type\":\"Coordinator\","
        "\"friendly_name\":\"Coordinator\",\"supported\":true,\"disabled\":false,"
        "\"interview_completed\":true,\"endpoints\":{}},"
        /* Heiman HS1SA-E: smoke, battery_low, battery, test */
        "{\"ieee_address\":\"0x00158d0000000002\",\"type\":\"EndDevice\","
        "\"friendly_name\":\"floor1/hall\",\"power_source\":\"Battery\","
        "\"model_id\":\"SmokeSensor-EF-3.0\",\"definition\":{\"source\":\"native\","
        "\"model\":\"HS1SA-E\",\"vendor\":\"Heiman\",\"description\":\"Smart smoke alarm\","
        "\"exposes\":[{\"access\":1,\"description\":\"Indicates whether the device detected "
        "smoke\",\"label\":\"Smoke\",\"name\":\"smoke\",\"property\":\"smoke\",\"type\":"
        "\"binary\",\"value_off\":false,\"value_on\":true},{\"access\":1,\"label\":\"Battery "
        "low\",\"name\":\"battery_low\",\"property\":\"battery_low\",\"type\":\"binary\","
        "\"value_off\":false,\"value_on\":true},{\"access\":1,\"name\":\"battery\",\"property\":"
        "\"battery\",\"type\":\"numeric\",\"unit\":\"%\",\"value_max\":100,\"value_min\":0},"
        "{\"access\":1,\"name\":\"test\",\"property\":\"test\",\"type\":\"binary\","
        "\"value_off\":false,\"value_on\":true},{\"access\":1,\"name\":\"linkquality\","
        "\"property\":\"linkquality\",\"type\":\"numeric\"}],\"options\":[],"
        "\"supports_ota\":false}},"
        /* A model whose smoke is "ON"/"OFF" */
        "{\"friendly_name\":\"onoff\",\"definition\":{\"model\":\"X1\",\"exposes\":["
        "{\"access\":1,\"name\":\"smoke\",\"property\":\"smoke\",\"type\":\"binary\","
        "\"value_on\":\"ON\",\"value_off\":\"OFF\"}]}},"
        /* ... whose smoke is 1/0 */
        "{\"friendly_name\":\"numeric\",\"definition\":{\"model\":\"X2\",\"exposes\":["
        "{\"access\":1,\"name\":\"smoke\",\"property\":\"smoke\",\"type\":\"binary\","
        "\"value_on\":1,\"value_off\":0}]}},"
        /* ... whose words only its definition explains */
        "{\"friendly_name\":\"worded\",\"definition\":{\"model\":\"X3\",\"exposes\":["
        "{\"access\":1,\"name\":\"smoke\",\"property\":\"smoke\",\"type\":\"binary\","
        "\"value_on\":\"alarm\",\"value_off\":\"clear\"},{\"access\":1,\"name\":\"tamper\","
        "\"property\":\"tamper\",\"type\":\"binary\",\"value_on\":\"OPEN\",\"value_off\":"
        "\"CLOSED\"}]}},"
        /* Tuya TS0601_smoke_5: "alarm" is the setting that enables the alarm */
        "{\"friendly_name\":\"tuya5\",\"definition\":{\"model\":\"TS0601_smoke_5\",\"vendor\":"
        "\"Tuya\",\"exposes\":[{\"access\":1,\"name\":\"smoke\",\"property\":\"smoke\",\"type\":"
        "\"binary\",\"value_on\":true,\"value_off\":false},{\"access\":1,\"name\":"
        "\"fault_alarm\",\"property\":\"fault_alarm\",\"type\":\"binary\",\"value_on\":true,"
        "\"value_off\":false},{\"access\":3,\"name\":\"alarm\",\"property\":\"alarm\",\"type\":"
        "\"binary\",\"value_on\":\"ON\",\"value_off\":\"OFF\",\"description\":\"Enable the "
        "alarm\"}]}},"
        /* Bosch Twinguard: alarm is the siren's mode and self_test starts a test */
        "{\"friendly_name\":\"twinguard\",\"definition\":{\"model\":\"8750001213\",\"vendor\":"
        "\"Bosch\",\"exposes\":[{\"access\":1,\"name\":\"smoke\",\"property\":\"smoke\","
        "\"type\":\"binary\",\"value_on\":true,\"value_off\":false},{\"access\":7,\"name\":"
        "\"alarm\",\"property\":\"alarm\",\"type\":\"enum\",\"values\":[\"stop\",\"pre_alarm\","
        "\"fire\",\"burglar\"]},{\"access\":7,\"name\":\"self_test\",\"property\":\"self_test\","
        "\"type\":\"binary\",\"value_on\":true,\"value_off\":false},{\"access\":7,\"name\":"
        "\"pre_alarm\",\"property\":\"pre_alarm\",\"type\":\"binary\",\"value_on\":\"ON\","
        "\"value_off\":\"OFF\"}]}},"
        /* Frient: supervision_reports is a learnt binary that is no alarm */
        "{\"friendly_name\":\"frient\",\"definition\":{\"model\":\"SMSZB-120\",\"exposes\":["
        "{\"access\":1,\"name\":\"smoke\",\"property\":\"smoke\",\"type\":\"binary\","
        "\"value_on\":true,\"value_off\":false},{\"access\":1,\"name\":\"supervision_reports\","
        "\"property\":\"supervision_reports\",\"type\":\"binary\",\"value_on\":true,"
        "\"value_off\":false}]}},"
        /* A composite that nests its features, and a specific expose that does not */
        "{\"friendly_name\":\"nested\",\"definition\":{\"model\":\"X4\",\"exposes\":["
        "{\"access\":1,\"name\":\"detector\",\"property\":\"detector\",\"type\":\"composite\","
        "\"features\":[{\"access\":1,\"name\":\"smoke\",\"property\":\"smoke\",\"type\":"
        "\"binary\",\"value_on\":\"YES\",\"value_off\":\"NO\"}]},{\"type\":\"switch\","
        "\"features\":[{\"access\":1,\"name\":\"heat\",\"property\":\"heat\",\"type\":"
        "\"binary\",\"value_on\":\"HOT\",\"value_off\":\"COLD\"}]}]}},"
        /* a device with nothing for a detector, only an empty composite: learnt as nothing,
         * and nothing of it kept (the leak check sees an allocation left behind) */
        "{\"friendly_name\":\"lamp\",\"definition\":{\"model\":\"L1\",\"exposes\":["
        "{\"type\":\"composite\",\"property\":\"color_xy\",\"features\":[]}]}},"
        /* entries the decoder cannot use are skipped, never fatal */
        "{\"friendly_name\":42},\"not an object\",{\"friendly_name\":\"nodef\","
        "\"definition\":null}]";

static void learn(struct decoder *d, const char *json)
{
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX];

        assert_int_equal(decoder_message(d, "zigbee2mqtt/bridge/devices", json, strlen(json), out,
                                         why, sizeof(why)),
                         0);
        assert_non_null(strstr(why, "learnt"));
}

static void test_z2m_definitions_decide_how_keys_are_read(void **state)
{
        static const struct tcase before[] = {
                {"worded smoke before learning", "zigbee2mqtt/worded", "{\"smoke\":\"alarm\"}",
                 "worded:smoke=nan ?"},
                {"without a definition a settable alarm still alarms", "zigbee2mqtt/tuya5",
                 "{\"alarm\":\"ON\",\"smoke\":false}", "tuya5:smoke=1"},
        };
        static const struct tcase after[] = {
                {"ON/OFF smoke on", "zigbee2mqtt/onoff", "{\"smoke\":\"ON\"}", "onoff:smoke=1"},
                {"ON/OFF smoke off", "zigbee2mqtt/onoff", "{\"smoke\":\"OFF\"}", "onoff:smoke=0"},
                {"1/0 smoke on", "zigbee2mqtt/numeric", "{\"smoke\":1}", "numeric:smoke=1"},
                {"1/0 smoke off", "zigbee2mqtt/numeric", "{\"smoke\":0}", "numeric:smoke=0"},
                {"words only the definition explains", "zigbee2mqtt/worded",
                 "{\"smoke\":\"alarm\",\"tamper\":\"OPEN\"}", "worded:smoke=1, worded:tamper=1"},
                {"and their clear words", "zigbee2mqtt/worded",
                 "{\"smoke\":\"clear\",\"tamper\":\"CLOSED\"}", "worded:smoke=0, worded:tamper=0"},
                {"a settable alarm is a setting, not a fire", "zigbee2mqtt/tuya5",
                 "{\"alarm\":\"ON\",\"battery\":100,\"fault_alarm\":false,\"silence\":false,"
                 "\"smoke\":false,\"tamper\":false}",
                 "tuya5:smoke=0, tuya5:device_fault=0, tuya5:tamper=0, tuya5:battery=100"},
                {"Twinguard's siren mode and test button are no signals", "zigbee2mqtt/twinguard",
                 "{\"alarm\":\"fire\",\"pre_alarm\":\"ON\",\"self_test\":true,\"smoke\":false}",
                 "twinguard:smoke=0"},
                {"Twinguard's own smoke still alarms", "zigbee2mqtt/twinguard",
                 "{\"alarm\":\"stop\",\"smoke\":true}", "twinguard:smoke=1"},
                {"a learnt binary outside the keys is no alarm", "zigbee2mqtt/frient",
                 "{\"restore_reports\":true,\"supervision_reports\":true}", "frient:heartbeat"},
                {"a composite's nested feature", "zigbee2mqtt/nested",
                 "{\"detector\":{\"smoke\":\"YES\"},\"heat\":\"HOT\"}",
                 "nested:smoke=1, nested:heat_alarm=1"},
                {"a composite that is no object is ignored", "zigbee2mqtt/nested",
                 "{\"detector\":\"YES\"}", "nested:heartbeat"},
                {"a name with a slash is learnt whole", "zigbee2mqtt/floor1/hall",
                 "{\"smoke\":true,\"test\":true}", "floor1/hall:test=1, floor1/hall:smoke=1!"},
                {"a device the list lacks is read by names", "zigbee2mqtt/stranger",
                 "{\"smoke\":\"ON\"}", "stranger:smoke=1"},
        };
        struct decoder *d = make(DECODE_ZIGBEE2MQTT, NULL);
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX];

        (void)state;
        for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
                check(d, &before[i]);
        learn(d, devices_json);
        for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++)
                check(d, &after[i]);
        /* A refused list keeps what was learnt. */
        assert_int_equal(decoder_message(d, "zigbee2mqtt/bridge/devices", "{\"a\":1}", 7, out, why,
                                         sizeof(why)),
                         -EBADMSG);
        check(d, &after[4]);
        /* A new list replaces the old: a device no longer in it is read by names again. */
        learn(d, "[{\"friendly_name\":\"onoff\",\"definition\":null}]");
        check(d, &before[0]);
        decoder_free(d);
}

/* --- Tasmota --- */

static void test_tasmota_sensor_switch_result_lwt_and_zigbee(void **state)
{
        static const struct tcase cases[] = {
                {"DS18B20 in Celsius", "tele/kitchen/SENSOR",
                 "{\"Time\":\"2026-11-23T10:00:00\",\"DS18B20\":{\"Id\":\"01144F4E3AAA\","
                 "\"Temperature\":21.4},\"TempUnit\":\"C\"}",
                 "kitchen:temperature=21.4"},
                {"Fahrenheit converted, first sensor taken", "tele/kitchen/SENSOR",
                 "{\"Time\":\"2026-11-23T10:00:00\",\"DS18B20-1\":{\"Id\":\"01\",\"Temperature\":"
                 "212.0},\"DS18B20-2\":{\"Id\":\"02\",\"Temperature\":50.0},\"TempUnit\":\"F\"}",
                 "kitchen:temperature=100"},
                {"a sensor that failed to read", "tele/kitchen/SENSOR",
                 "{\"Time\":\"1700000000\",\"DS18B20\":{\"Temperature\":null},\"TempUnit\":"
                 "\"C\"}",
                 "kitchen:temperature=nan ?"},
                {"an unknown TempUnit", "tele/kitchen/SENSOR",
                 "{\"SHT3X\":{\"Temperature\":20.1,\"Humidity\":40},\"TempUnit\":\"K\"}",
                 "kitchen:temperature=nan ?"},
                {"SwitchMode 15", "tele/relay1/SENSOR",
                 "{\"Time\":\"2026-11-23T10:00:00\",\"Switch1\":\"ON\"}", "relay1:smoke=1"},
                {"a second switch input is its own device", "tele/relay1/SENSOR",
                 "{\"Switch1\":\"OFF\",\"Switch2\":\"ON\"}",
                 "relay1:smoke=0, relay1/Switch2:smoke=1"},
                {"SetOption114 action", "stat/relay1/RESULT", "{\"Switch1\":{\"Action\":\"ON\"}}",
                 "relay1:smoke=1"},
                {"a TOGGLE says no direction", "stat/relay1/RESULT",
                 "{\"Switch1\":{\"Action\":\"TOGGLE\"}}", "relay1:smoke=nan ?"},
                {"another command's result", "stat/relay1/RESULT", "{\"POWER\":\"ON\"}", "-"},
                {"LWT Online", "tele/relay1/LWT", "Online", "relay1:availability=1"},
                {"LWT Offline", "tele/relay1/LWT", "Offline", "relay1:availability=0"},
                {"LWT nonsense", "tele/relay1/LWT", "Gone", "-EBADMSG relay1"},
                {"STATE: alive", "tele/relay1/STATE",
                 "{\"Time\":\"2026-11-23T10:00:00\",\"Uptime\":\"0T01:00:00\",\"Heap\":25}",
                 "relay1:heartbeat"},
                {"a SENSOR with nothing known: alive", "tele/relay1/SENSOR",
                 "{\"Time\":\"2026-11-23T10:00:00\",\"ANALOG\":{\"A0\":3}}", "relay1:heartbeat"},
                {"ZbReceived fire from a named device", "tele/zbbridge/SENSOR",
                 "{\"ZbReceived\":{\"0x3F2A\":{\"Device\":\"0x3F2A\",\"Name\":\"hall\","
                 "\"0500<00\":\"010000010000\",\"ZoneStatusChange\":1,\"ZoneStatusChangeZone\":1,"
                 "\"Fire\":1,\"Endpoint\":1,\"LinkQuality\":131}}}",
                 "zbbridge/hall:smoke=1"},
                {"ZbReceived without a name uses the short address", "tele/zbbridge/SENSOR",
                 "{\"ZbReceived\":{\"0x3F2A\":{\"Device\":\"0x3F2A\",\"Fire\":0,\"Tamper\":1,"
                 "\"BatteryLow\":1,\"Endpoint\":1,\"LinkQuality\":90}}}",
                 "zbbridge/0x3F2A:smoke=0, zbbridge/0x3F2A:tamper=1, "
                 "zbbridge/0x3F2A:battery_low=1"},
                {"ZbReceived test press flags its fire", "tele/zbbridge/SENSOR",
                 "{\"ZbReceived\":{\"hall\":{\"Device\":\"0x3F2A\",\"Name\":\"hall\",\"Fire\":1,"
                 "\"Test\":1}}}",
                 "zbbridge/hall:test=1, zbbridge/hall:smoke=1!"},
                {"ZbReceived battery and temperature", "tele/zbbridge/SENSOR",
                 "{\"ZbReceived\":{\"0x1067\":{\"Device\":\"0x1067\",\"Temperature\":19.04,"
                 "\"Humidity\":70.89,\"BatteryPercentage\":87,\"Endpoint\":1,\"LinkQuality\":"
                 "141}}}",
                 "zbbridge/0x1067:temperature=19.04, zbbridge/0x1067:battery=87"},
                {"ZbReceived of a device that says nothing known: alive", "tele/zbbridge/SENSOR",
                 "{\"ZbReceived\":{\"0x057B\":{\"Device\":\"0x057B\",\"Name\":\"motion\","
                 "\"Occupancy\":1,\"Endpoint\":1,\"LinkQuality\":194}}}",
                 "zbbridge/motion:heartbeat"},
                {"ZbReceived not an object", "tele/zbbridge/SENSOR", "{\"ZbReceived\":[1,2]}",
                 "-EBADMSG zbbridge"},
                {"cmnd is no detector topic", "cmnd/relay1/POWER", "ON", "-ENOENT"},
                {"INFO1 is no detector topic", "tele/relay1/INFO1", "{}", "-ENOENT"},
                {"no topic level", "tele/SENSOR", "{}", "-ENOENT"},
                {"stat SENSOR is no topic of Tasmota's", "stat/relay1/SENSOR", "{}", "-ENOENT"},
        };
        static const struct tcase site[] = {
                {"a base before the prefix", "site1/tele/relay1/LWT", "Online",
                 "relay1:availability=1"},
                {"without the base", "tele/relay1/LWT", "Online", "-ENOENT"},
        };

        (void)state;
        RUN(DECODE_TASMOTA, NULL, cases);
        RUN(DECODE_TASMOTA, "site1", site);
}

/* --- ESPHome --- */

static void test_esphome_states_nan_and_status(void **state)
{
        static const struct tcase cases[] = {
                {"binary_sensor ON", "kitchen/binary_sensor/smoke/state", "ON",
                 "kitchen/smoke:smoke=1"},
                {"binary_sensor OFF", "kitchen/binary_sensor/smoke/state", "OFF",
                 "kitchen/smoke:smoke=0"},
                {"a binary_sensor that is neither", "kitchen/binary_sensor/smoke/state", "1",
                 "-EBADMSG kitchen/smoke"},
                {"a temperature", "kitchen/sensor/kitchen_temperature/state", "21.50",
                 "kitchen/kitchen_temperature:temperature=21.5"},
                {"nan is passed on", "kitchen/sensor/temp/state", "nan",
                 "kitchen/temp:temperature=nan ?"},
                {"inf is passed on", "kitchen/sensor/temp/state", "inf",
                 "kitchen/temp:temperature=inf ?"},
                {"minus zero is zero", "kitchen/sensor/Temp_Out/state", "-0.0",
                 "kitchen/Temp_Out:temperature=0"},
                {"a battery", "kitchen/sensor/battery_level/state", "87",
                 "kitchen/battery_level:battery=87"},
                {"another sensor is left alone", "kitchen/sensor/humidity/state", "55.0", "-"},
                {"a temperature that is no number", "kitchen/sensor/temp/state", "warm",
                 "-EBADMSG kitchen/temp"},
                {"status online", "kitchen/status", "online", "kitchen:availability=1"},
                {"status offline (its last will)", "kitchen/status", "offline",
                 "kitchen:availability=0"},
                {"status nonsense", "kitchen/status", "sleeping", "-EBADMSG kitchen"},
                {"a text_sensor", "kitchen/text_sensor/ip/state", "10.0.0.2", "-ENOENT"},
                {"a switch command", "kitchen/switch/siren/command", "ON", "-ENOENT"},
                {"discovery", "homeassistant/binary_sensor/kitchen/smoke/config", "{}", "-ENOENT"},
                {"no entity id", "kitchen/binary_sensor//state", "ON", "-ENOENT"},
                {"a cleared retained state", "kitchen/binary_sensor/smoke/state", "", "-"},
        };
        static const struct tcase prefixed[] = {
                {"a configured prefix", "esphome/unit101/binary_sensor/heat/state", "ON",
                 "unit101/heat:smoke=1"},
                {"a configured prefix's status", "esphome/unit101/status", "offline",
                 "unit101:availability=0"},
                {"outside the prefix", "unit101/status", "online", "-ENOENT"},
        };

        (void)state;
        RUN(DECODE_ESPHOME, NULL, cases);
        RUN(DECODE_ESPHOME, "esphome", prefixed);
}

/* --- the generic form --- */

static void test_generic_form(void **state)
{
        static const struct tcase cases[] = {
                {"every key", "firegate/detectors/unit101-hall",
                 "{\"smoke\":true,\"heat\":false,\"call_point\":false,\"test\":false,"
                 "\"temperature\":21.5,\"battery\":87,\"battery_low\":false,\"tamper\":false,"
                 "\"fault\":false,\"online\":true}",
                 "unit101-hall:availability=1, unit101-hall:test=0, unit101-hall:smoke=1, "
                 "unit101-hall:heat_alarm=0, unit101-hall:call_point=0, "
                 "unit101-hall:temperature=21.5, unit101-hall:device_fault=0, "
                 "unit101-hall:tamper=0, unit101-hall:battery_low=0, unit101-hall:battery=87"},
                {"a call point, unknown keys ignored", "firegate/detectors/stairs/cp1",
                 "{\"call_point\":true,\"vendor\":{\"x\":1},\"rssi\":-70}",
                 "stairs/cp1:call_point=1"},
                {"test flags smoke", "firegate/detectors/a", "{\"smoke\":true,\"test\":true}",
                 "a:test=1, a:smoke=1!"},
                {"offline", "firegate/detectors/a", "{\"online\":false}", "a:availability=0"},
                {"nothing known: alive", "firegate/detectors/a", "{\"rssi\":-70}", "a:heartbeat"},
                {"a wrong type", "firegate/detectors/a", "{\"heat\":\"very\"}",
                 "a:heat_alarm=nan ?"},
                {"outside the prefix", "firegate/other/a", "{}", "-ENOENT"},
        };
        static const struct tcase site[] = {
                {"another prefix", "site/fire/a", "{\"smoke\":false}", "a:smoke=0"},
        };

        (void)state;
        RUN(DECODE_GENERIC, NULL, cases);
        RUN(DECODE_GENERIC, "site/fire", site);
}

/* --- refusals --- */

static void test_malformed_payloads_are_refused_with_an_invalid_reading(void **state)
{
        static const struct tcase z2m[] = {
                {"truncated", "zigbee2mqtt/hall", "{\"smoke\":true,\"bat", "-EBADMSG hall"},
                {"truncated after a value", "zigbee2mqtt/hall", "{\"smoke\":true", "-EBADMSG hall"},
                {"an array instead of an object", "zigbee2mqtt/hall", "[{\"smoke\":true}]",
                 "-EBADMSG hall"},
                {"a bare value", "zigbee2mqtt/hall", "true", "-EBADMSG hall"},
                {"a duplicate key", "zigbee2mqtt/hall", "{\"smoke\":true,\"smoke\":false}",
                 "-EBADMSG hall"},
                {"text after the object", "zigbee2mqtt/hall", "{\"smoke\":true} {}",
                 "-EBADMSG hall"},
                {"not UTF-8", "zigbee2mqtt/hall", "{\"smoke\xff\":true}", "-EBADMSG hall"},
                {"an escaped NUL", "zigbee2mqtt/hall", "{\"smoke\":\"\\u0000\"}", "-EBADMSG hall"},
                {"a number too large", "zigbee2mqtt/hall", "{\"temperature\":1e999}",
                 "-EBADMSG hall"},
                {"devices: an object", "zigbee2mqtt/bridge/devices", "{\"devices\":[]}",
                 "-EBADMSG "},
        };
        static const struct tcase tasmota[] = {
                {"Tasmota: an array", "tele/kitchen/SENSOR", "[1]", "-EBADMSG kitchen"},
                {"Tasmota: a duplicate key", "stat/kitchen/RESULT",
                 "{\"Switch1\":{\"Action\":\"ON\",\"Action\":\"OFF\"}}", "-EBADMSG kitchen"},
        };
        static const struct tcase generic[] = {
                {"generic: truncated", "firegate/detectors/a", "{\"smoke\":", "-EBADMSG a"},
        };

        (void)state;
        RUN(DECODE_ZIGBEE2MQTT, NULL, z2m);
        RUN(DECODE_TASMOTA, NULL, tasmota);
        RUN(DECODE_GENERIC, NULL, generic);
}

static void test_a_reason_never_quotes_the_payload(void **state)
{
        static const char *const payloads[] = {
                "{\"smoke\":\"SECRET-079199001234\"}",
                "{\"SECRET-079199001234\":1,\"SECRET-079199001234\":2}",
                "SECRET-079199001234",
                "{\"battery\":\"SECRET-079199001234\"}",
        };
        struct decoder *d = make(DECODE_ZIGBEE2MQTT, NULL);
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX];

        (void)state;
        for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
                decoder_message(d, "zigbee2mqtt/a", payloads[i], strlen(payloads[i]), out, why,
                                sizeof(why));
                assert_null(strstr(why, "079199001234"));
                decoder_message(d, "zigbee2mqtt/a/availability", payloads[i], strlen(payloads[i]),
                                out, why, sizeof(why));
                assert_null(strstr(why, "079199001234"));
        }
        decoder_free(d);
}

/* A payload that no byte of may be read: the pages are mapped without access, so reading one
 * ends the test. */
static void test_oversized_payloads_are_refused_unread(void **state)
{
        /* The device the topic names, against which the refusal is counted. */
        static const struct {
                enum decode_bridge bridge;
                const char *topic, *device;
        } topics[] = {
                {DECODE_ZIGBEE2MQTT, "zigbee2mqtt/hall", "hall"},
                {DECODE_ZIGBEE2MQTT, "zigbee2mqtt/hall/availability", "hall"},
                {DECODE_ZIGBEE2MQTT, "zigbee2mqtt/bridge/state", ""},
                {DECODE_ZIGBEE2MQTT, "zigbee2mqtt/bridge/devices", ""},
                {DECODE_TASMOTA, "tele/kitchen/SENSOR", "kitchen"},
                {DECODE_TASMOTA, "tele/kitchen/LWT", "kitchen"},
                {DECODE_TASMOTA, "stat/kitchen/RESULT", "kitchen"},
                {DECODE_ESPHOME, "kitchen/binary_sensor/smoke/state", "kitchen/smoke"},
                {DECODE_ESPHOME, "kitchen/sensor/temp/state", "kitchen/temp"},
                {DECODE_ESPHOME, "kitchen/status", "kitchen"},
                {DECODE_GENERIC, "firegate/detectors/a", "a"},
        };
        const size_t big = 8u << 20;
        struct decode_options opt = {.max_definitions = 64 * 1024};
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX];
        void *guard = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        (void)state;
        assert_true(guard != MAP_FAILED);
        for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
                struct decoder *d = NULL;
                bool defs = strstr(topics[i].topic, "bridge/devices") != NULL;
                size_t cap = defs ? opt.max_definitions : DECODE_DEFAULT_MAX_PAYLOAD;

                assert_int_equal(decoder_new(topics[i].bridge, &opt, &d), 0);
                assert_int_equal(
                        decoder_message(d, topics[i].topic, guard, cap + 1, out, why, sizeof(why)),
                        -EMSGSIZE);
                assert_non_null(strstr(why, "cap"));
                assert_int_equal(out[0].kind, ENGINE_READING_INVALID);
                assert_string_equal(out[0].device, topics[i].device);
                /* Huge, far over any cap. */
                assert_int_equal(
                        decoder_message(d, topics[i].topic, guard, big, out, why, sizeof(why)),
                        -EMSGSIZE);
                decoder_free(d);
        }
        munmap(guard, big);
}

static void test_a_payload_at_the_cap_is_read(void **state)
{
        struct decoder *d = make(DECODE_GENERIC, NULL);
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX], *p = malloc(DECODE_DEFAULT_MAX_PAYLOAD);
        static const char head[] = "{\"smoke\":true,\"pad\":\"";
        size_t n = DECODE_DEFAULT_MAX_PAYLOAD;

        (void)state;
        assert_non_null(p);
        memset(p, 'x', n);
        memcpy(p, head, sizeof(head) - 1);
        memcpy(p + n - 2, "\"}", 2);
        assert_int_equal(decoder_message(d, "firegate/detectors/a", p, n, out, why, sizeof(why)),
                         1);
        assert_int_equal(out[0].kind, SMOKE);
        free(p);
        decoder_free(d);
}

static void test_more_readings_than_fit_keep_the_fires(void **state)
{
        struct decoder *d = make(DECODE_TASMOTA, NULL);
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX], payload[4096];
        size_t len = 0;
        int n, fires = 0;

        (void)state;
        len += (size_t)snprintf(payload + len, sizeof(payload) - len, "{\"ZbReceived\":{");
        for (int i = 0; i < 10; i++)
                len += (size_t)snprintf(payload + len, sizeof(payload) - len,
                                        "%s\"0x%04X\":{\"Device\":\"0x%04X\",\"Tamper\":0,"
                                        "\"BatteryLow\":0,\"BatteryPercentage\":90,\"Fire\":1}",
                                        i ? "," : "", 0x1000 + i, 0x1000 + i);
        len += (size_t)snprintf(payload + len, sizeof(payload) - len, "}}");
        n = decoder_message(d, "tele/zb/SENSOR", payload, len, out, why, sizeof(why));
        assert_int_equal(n, DECODE_READINGS_MAX);
        for (int i = 0; i < n; i++)
                fires += out[i].kind == SMOKE && out[i].value == 1;
        assert_int_equal(fires, 10);
        assert_non_null(strstr(why, "left out"));
        decoder_free(d);
}

/* --- the frame --- */

static void test_names_options_and_subscriptions(void **state)
{
        static const struct {
                enum decode_bridge bridge;
                const char *base;
                const char *first;
                size_t n;
        } subs[] = {
                {DECODE_ZIGBEE2MQTT, NULL, "zigbee2mqtt/#", 1},
                {DECODE_ZIGBEE2MQTT, "home/z2m/", "home/z2m/#", 1},
                {DECODE_TASMOTA, NULL, "tele/+/SENSOR", 4},
                {DECODE_TASMOTA, "site1", "site1/tele/+/SENSOR", 4},
                {DECODE_ESPHOME, NULL, "+/binary_sensor/+/state", 3},
                {DECODE_ESPHOME, "esphome", "esphome/+/binary_sensor/+/state", 3},
                {DECODE_GENERIC, NULL, "firegate/detectors/#", 1},
        };
        const struct decode_options wild = {.base_topic = "zigbee2mqtt/+"};
        struct decoder *d = NULL;
        enum decode_bridge b;
        const char *topics[8];

        (void)state;
        for (int i = DECODE_ZIGBEE2MQTT; i <= DECODE_GENERIC; i++) {
                assert_int_equal(decode_bridge_from_name(decode_bridge_name(i), &b), 0);
                assert_int_equal(b, i);
        }
        assert_int_equal(decode_bridge_from_name("zigbee", &b), -EINVAL);
        assert_null(decode_bridge_name((enum decode_bridge)99));
        assert_int_equal(decoder_new((enum decode_bridge)99, NULL, &d), -EINVAL);
        assert_null(d);
        assert_int_equal(decoder_new(DECODE_ZIGBEE2MQTT, &wild, &d), -EINVAL);
        decoder_free(NULL);
        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
                d = make(subs[i].bridge, subs[i].base);
                assert_int_equal(decoder_subscriptions(d, topics, 8), subs[i].n);
                assert_string_equal(topics[0], subs[i].first);
                /* At most @max are written, the count is still the whole. */
                assert_int_equal(decoder_subscriptions(d, topics, 0), subs[i].n);
                decoder_free(d);
        }
}

/* --- never a crash --- */

struct rng {
        uint64_t s;
};

static uint32_t next(struct rng *r)
{
        r->s ^= r->s << 13;
        r->s ^= r->s >> 7;
        r->s ^= r->s << 17;
        return (uint32_t)(r->s >> 11);
}

static size_t mutate(struct rng *r, const char *seed, char *buf, size_t cap)
{
        static const char alphabet[] = "{}[]\":,0123456789.-eEtruefalsnONFF \\u\xff\x01";
        size_t len = strlen(seed);
        int edits = 1 + (int)(next(r) % 6);

        memcpy(buf, seed, len);
        for (int e = 0; e < edits; e++) {
                size_t at = len ? next(r) % len : 0;

                switch (next(r) % 5) {
                case 0: /* replace a byte */
                        if (len)
                                buf[at] = alphabet[next(r) % (sizeof(alphabet) - 1)];
                        break;
                case 1: /* truncate */
                        len = at;
                        break;
                case 2: /* insert a byte */
                        if (len + 1 < cap) {
                                memmove(buf + at + 1, buf + at, len - at);
                                buf[at] = alphabet[next(r) % (sizeof(alphabet) - 1)];
                                len++;
                        }
                        break;
                case 3: /* duplicate a stretch */
                        if (len && len * 2 < cap) {
                                size_t n = next(r) % (len - at) + 1;

                                memmove(buf + at + n, buf + at, len - at);
                                len += n;
                        }
                        break;
                default: /* a random byte anywhere */
                        if (len)
                                buf[at] = (char)(next(r) & 0xff);
                        break;
                }
        }
        return len;
}

static void test_mutated_payloads_never_crash(void **state)
{
        static const struct {
                enum decode_bridge bridge;
                const char *topic;
                const char *seed;
        } seeds[] = {
                {DECODE_ZIGBEE2MQTT, "zigbee2mqtt/hall",
                 "{\"battery\":100,\"battery_low\":false,\"smoke\":true,\"test\":true,"
                 "\"smoke_state\":\"alarm\",\"alarm\":\"fire\",\"self_test\":\"checking\","
                 "\"temperature\":\"21.5\",\"detector\":{\"smoke\":\"YES\"}}"},
                {DECODE_ZIGBEE2MQTT, "zigbee2mqtt/hall/availability", "{\"state\":\"online\"}"},
                {DECODE_ZIGBEE2MQTT, "zigbee2mqtt/bridge/devices", devices_json},
                {DECODE_ZIGBEE2MQTT, "zigbee2mqtt/nested",
                 "{\"detector\":{\"smoke\":\"YES\",\"detector\":{\"smoke\":1}},\"heat\":\"HOT\"}"},
                {DECODE_TASMOTA, "tele/zb/SENSOR",
                 "{\"ZbReceived\":{\"0x3F2A\":{\"Device\":\"0x3F2A\",\"Name\":\"hall\",\"Fire\":1,"
                 "\"Test\":1,\"Tamper\":0,\"BatteryLow\":0,\"Temperature\":20}}}"},
                {DECODE_TASMOTA, "tele/k/SENSOR",
                 "{\"DS18B20-1\":{\"Temperature\":70},\"Switch1\":\"ON\",\"Switch12\":\"OFF\","
                 "\"TempUnit\":\"F\"}"},
                {DECODE_TASMOTA, "stat/k/RESULT", "{\"Switch1\":{\"Action\":\"ON\"}}"},
                {DECODE_ESPHOME, "n/sensor/temp/state", "-21.50e1"},
                {DECODE_ESPHOME, "n/status", "online"},
                {DECODE_GENERIC, "firegate/detectors/a",
                 "{\"smoke\":true,\"heat\":false,\"call_point\":\"ON\",\"test\":1,"
                 "\"temperature\":\"nan\",\"battery\":87,\"online\":true}"},
        };
        struct decoder *d[4];
        struct rng rng = {0x2545f4914f6cdd1dull};
        char buf[8192];
        int runs = 0;

        (void)state;
        for (int b = 0; b < 4; b++)
                d[b] = make((enum decode_bridge)b, NULL);
        for (int round = 0; round < 120; round++) {
                for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
                        struct decode_reading out[DECODE_READINGS_MAX];
                        char why[DECODE_WHY_MAX];
                        size_t len = mutate(&rng, seeds[i].seed, buf, sizeof(buf));
                        int r = decoder_message(d[seeds[i].bridge], seeds[i].topic, buf, len, out,
                                                why, sizeof(why));

                        runs++;
                        assert_true(r == -EBADMSG || r == -ENOENT || (r >= 0 && r <= 16));
                        assert_true(strlen(why) < sizeof(why));
                        for (int k = 0; k < r; k++) {
                                assert_true(out[k].kind <= ENGINE_READING_HEARTBEAT);
                                assert_true(strlen(out[k].device) < DECODE_DEVICE_MAX);
                                assert_true((out[k].flags & ~FLAG) == 0);
                        }
                }
        }
        assert_true(runs >= 500);
        for (int b = 0; b < 4; b++)
                decoder_free(d[b]);
}

/* --- running out of memory --- */

struct alloc_budget {
        int left;
};

/* jansson's allocator is process-wide; the budget is a test fixture, not decoder state. */
static struct alloc_budget budget = {-1};

static void *budget_malloc(size_t size)
{
        if (budget.left == 0)
                return NULL;
        if (budget.left > 0)
                budget.left--;
        return malloc(size);
}

static void test_allocation_failure_is_reported_not_crashed(void **state)
{
        static const char st[] = "{\"smoke\":true,\"test\":true,\"battery\":\"90\"}";
        struct decoder *d = make(DECODE_ZIGBEE2MQTT, NULL);
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX];
        bool learnt = false, decoded = false;

        (void)state;
        json_set_alloc_funcs(budget_malloc, free);
        for (int n = 0; n < 5000 && !(learnt && decoded); n++) {
                int r;

                budget.left = n;
                r = decoder_message(d, "zigbee2mqtt/bridge/devices", devices_json,
                                    strlen(devices_json), out, why, sizeof(why));
                /* jansson says most failed allocations in its parser as syntax errors. */
                assert_true(r == 0 || r == -ENOMEM || r == -EBADMSG);
                learnt |= r == 0;
                budget.left = n;
                r = decoder_message(d, "zigbee2mqtt/worded", st, sizeof(st) - 1, out, why,
                                    sizeof(why));
                assert_true(r == 3 || r == -ENOMEM || r == -EBADMSG);
                decoded |= r == 3;
        }
        budget.left = -1;
        json_set_alloc_funcs(malloc, free);
        assert_true(learnt);
        assert_true(decoded);
        decoder_free(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_z2m_every_key_family_gives_its_reading),
                cmocka_unit_test(test_z2m_test_press_flags_the_smoke_of_its_own_message),
                cmocka_unit_test(test_z2m_old_string_numbers_and_nonsense_values),
                cmocka_unit_test(test_z2m_availability_in_both_forms_and_the_bridge),
                cmocka_unit_test(test_z2m_topics_names_with_slashes_and_requests),
                cmocka_unit_test(test_z2m_definitions_decide_how_keys_are_read),
                cmocka_unit_test(test_tasmota_sensor_switch_result_lwt_and_zigbee),
                cmocka_unit_test(test_esphome_states_nan_and_status),
                cmocka_unit_test(test_generic_form),
                cmocka_unit_test(test_malformed_payloads_are_refused_with_an_invalid_reading),
                cmocka_unit_test(test_a_reason_never_quotes_the_payload),
                cmocka_unit_test(test_oversized_payloads_are_refused_unread),
                cmocka_unit_test(test_a_payload_at_the_cap_is_read),
                cmocka_unit_test(test_more_readings_than_fit_keep_the_fires),
                cmocka_unit_test(test_names_options_and_subscriptions),
                cmocka_unit_test(test_mutated_payloads_never_crash),
                cmocka_unit_test(test_allocation_failure_is_reported_not_crashed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
