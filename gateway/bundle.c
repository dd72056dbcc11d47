/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bundle: parses a registry bundle with jansson (strict: duplicate keys refused, no NaN, bounded
 * nesting) and checks each record field by field. Every problem is reported, not only the
 * first, so the authority or the installer can fix a bundle in one round. A refused bundle
 * yields no records at all: the caller stores everything or nothing.
 *
 * Messages never contain a citizen identity number: they name the record by its position and
 * its own id (resident_id), and say what rule the number broke.
 */
#include "bundle.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

/* Revisions stay below 2^53 so every JSON parser on the authority's side reads them exactly. */
#define BUNDLE_MAX_REVISION INT64_C(9007199254740991)

struct bundle {
        json_t *root;
        struct registry_records recs;
        uint8_t file_sha256[CRYPTO_SHA256_LEN];
};

/* State while one record is checked. */
struct rec {
        struct diag *d;
        const struct bundle_options *opt;
        json_t *obj;
        char where[200];
        bool bad;
};

static void rec_fail(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rec_fail(struct rec *r, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        diag_add(r->d, r->where, 0, "%s", msg);
        r->bad = true;
}

static size_t utf8_chars(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        n++;
        return n;
}

/* Bytes of a character that must not appear in a record: C0 and C1 controls, DEL, and the
 * bidirectional overrides and isolates, which can make a listing show other text than it holds
 * (U+202A-U+202E, U+2066-U+2069). Returns the length of the sequence at @s, or 0. */
static size_t forbidden_at(const char *s)
{
        const unsigned char *u = (const unsigned char *)s;

        if (u[0] < 0x20 || u[0] == 0x7f)
                return 1;
        if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
                return 2;
        if (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0xaa && u[2] <= 0xae)
                return 3;
        if (u[0] == 0xe2 && u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9)
                return 3;
        return 0;
}

static bool has_control_chars(const char *s)
{
        for (; *s; s++)
                if (forbidden_at(s))
                        return true;
        return false;
}

static size_t digit_run(const char *s)
{
        size_t n = 0;

        while (s[n] >= '0' && s[n] <= '9')
                n++;
        return n;
}

/* Copies untrusted text for a message: forbidden characters become '?', with @mask_numbers a
 * run of nine or more digits (an identity number in the wrong place) becomes "#", and the copy
 * ends at a character boundary after at most 64 characters, so a message can neither carry
 * terminal escapes, nor repeat a number, nor grow without bound. Record ids are shown with
 * their digits: location identifiers are twelve digits too, and naming the record matters. */
static const char *printable_text(const char *s, char *buf, size_t size, bool mask_numbers)
{
        size_t o = 0, chars = 0;

        while (*s && chars < 64) {
                size_t n = forbidden_at(s), len = 1, digits = digit_run(s);

                if (mask_numbers && digits >= 9) {
                        if (o + 1 >= size)
                                break;
                        buf[o++] = '#';
                        s += digits;
                        chars++;
                        continue;
                }
                if (n) {
                        if (o + 1 >= size)
                                break;
                        buf[o++] = '?';
                        s += n;
                        chars++;
                        continue;
                }
                while ((((unsigned char)s[len]) & 0xc0) == 0x80)
                        len++;
                if (o + len >= size)
                        break;
                memcpy(buf + o, s, len);
                o += len;
                s += len;
                chars++;
        }
        if (*s && o + 3 < size) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = '\0';
        return buf;
}

/* For names and values that are never long numbers: field names, flags, enumerations. */
static const char *printable(const char *s, char *buf, size_t size)
{
        return printable_text(s, buf, size, true);
}

/* For record ids, which may be location identifiers. */
static const char *printable_id(const char *s, char *buf, size_t size)
{
        return printable_text(s, buf, size, false);
}

/* Letters, digits and the characters in @extra only, 1..@max long. */
static bool is_token(const char *s, const char *extra, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
                        return false;
        return true;
}

/* Refuses members that are not in @allowed: an unknown field could carry meaning the authority
 * signed for and the gateway would silently drop. */
static void rec_only(struct rec *r, json_t *obj, const char *ctx, const char *const *allowed)
{
        const char *key;
        json_t *value;

        json_object_foreach(obj, key, value)
        {
                bool known = false;

                for (const char *const *a = allowed; *a; a++)
                        if (strcmp(*a, key) == 0)
                                known = true;
                if (!known) {
                        char name[300];

                        rec_fail(r, "unknown field '%s'%s%s", printable(key, name, sizeof(name)),
                                 ctx ? " in " : "", ctx ? ctx : "");
                }
        }
}

static const char *rec_str_in(struct rec *r, json_t *obj, const char *key, bool required,
                              size_t max_chars)
{
        json_t *v = json_object_get(obj, key);
        const char *s;

        if (!v) {
                if (required)
                        rec_fail(r, "'%s' is missing", key);
                return NULL;
        }
        if (!json_is_string(v)) {
                rec_fail(r, "'%s' must be a string", key);
                return NULL;
        }
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v) || has_control_chars(s)) {
                rec_fail(r, "'%s' contains control characters", key);
                return NULL;
        }
        if (*s == '\0' || utf8_chars(s) > max_chars) {
                rec_fail(r, "'%s' must be 1 to %zu characters long", key, max_chars);
                return NULL;
        }
        return s;
}

static const char *rec_str(struct rec *r, const char *key, bool required, size_t max_chars)
{
        return rec_str_in(r, r->obj, key, required, max_chars);
}

/* Returns whether @key is present and valid; a missing required or invalid value fails @r. */
static bool rec_int_in(struct rec *r, json_t *obj, const char *key, bool required, int64_t min,
                       int64_t max, int64_t *out)
{
        json_t *v = json_object_get(obj, key);

        if (!v) {
                if (required)
                        rec_fail(r, "'%s' is missing", key);
                return false;
        }
        if (!json_is_integer(v)) {
                rec_fail(r, "'%s' must be an integer", key);
                return false;
        }
        if (json_integer_value(v) < min || json_integer_value(v) > max) {
                rec_fail(r, "'%s' must be from %" PRId64 " to %" PRId64, key, min, max);
                return false;
        }
        *out = (int64_t)json_integer_value(v);
        return true;
}

static bool rec_int(struct rec *r, const char *key, bool required, int64_t min, int64_t max,
                    int64_t *out)
{
        return rec_int_in(r, r->obj, key, required, min, max, out);
}

/* Returns the index of @s in the NULL-terminated @names, or -1 after failing @r. */
static int rec_enum(struct rec *r, const char *key, const char *s, const char *const *names)
{
        for (int i = 0; names[i]; i++)
                if (strcmp(names[i], s) == 0)
                        return i;
        char text[300];

        rec_fail(r, "'%s' has the unknown value '%s'", key, printable(s, text, sizeof(text)));
        return -1;
}

static bool location_id_ok(const regex_t *re, const char *s)
{
        return regexec(re, s, 0, NULL, 0) == 0;
}

/* Checks the signature and fills @m. The signed message is the prefix, the type and the
 * canonical JSON of the record without its signature (docs/registry-bundle.md). */
static void rec_verify(struct rec *r, enum registry_type type, struct registry_meta *m)
{
        const struct crypto_key *key = r->opt->authority;
        json_t *copy = NULL, *sig = json_object_get(r->obj, "signature");
        char *canon = NULL, *msg = NULL;
        uint8_t raw[CRYPTO_ED25519_SIG + 3];
        size_t len;
        long n;

        copy = json_copy(r->obj);
        if (!copy)
                goto out_nomem;
        json_object_del(copy, "signature");
        canon = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
        if (!canon)
                goto out_nomem;
        len = strlen(BUNDLE_SIGNING_PREFIX) + strlen(registry_type_name(type)) + 1 + strlen(canon);
        msg = malloc(len + 1);
        if (!msg)
                goto out_nomem;
        snprintf(msg, len + 1, "%s%s\n%s", BUNDLE_SIGNING_PREFIX, registry_type_name(type), canon);
        crypto_sha256(msg, len, m->sha256);

        m->verified = false;
        m->demo_key = false;
        m->key_id = NULL;
        if (!sig) {
                if (!r->opt->allow_unsigned)
                        rec_fail(r, "not signed (an installer can keep unsigned records, marked "
                                    "unverified, with --allow-unsigned)");
                goto out;
        }
        if (!json_is_string(sig)) {
                rec_fail(r, "'signature' must be a base64 string");
                goto out;
        }
        n = crypto_base64_decode(json_string_value(sig), raw, sizeof(raw));
        if (n != CRYPTO_ED25519_SIG) {
                rec_fail(r, "'signature' is not 64 bytes of base64 (truncated or damaged)");
                goto out;
        }
        if (crypto_verify(key, msg, len, raw, (size_t)n) < 0) {
                rec_fail(r,
                         "signature does not verify: the record was altered after signing or "
                         "signed by another key than the authority key %s",
                         crypto_key_id(key));
                goto out;
        }
        m->verified = true;
        m->demo_key = crypto_key_is_demo(key);
        m->key_id = crypto_key_id(key);
        goto out;

out_nomem:
        rec_fail(r, "out of memory while checking the signature");
out:
        free(msg);
        free(canon);
        json_decref(copy);
}

static void rec_begin(struct rec *r, json_t *obj, const char *section, size_t index,
                      const char *id_key)
{
        json_t *id = json_is_object(obj) ? json_object_get(obj, id_key) : NULL;
        char text[300];

        r->obj = obj;
        r->bad = false;
        if (index == (size_t)-1)
                snprintf(r->where, sizeof(r->where), "%s", section);
        else if (id && json_is_string(id))
                snprintf(r->where, sizeof(r->where), "%s[%zu] (%s)", section, index,
                         printable_id(json_string_value(id), text, sizeof(text)));
        else
                snprintf(r->where, sizeof(r->where), "%s[%zu]", section, index);
}

static void check_building_ref(struct rec *r, const struct bundle *b, const char *building)
{
        if (building && b->recs.building.location_id &&
            strcmp(building, b->recs.building.location_id) != 0)
                rec_fail(r, "'building' names another building than this bundle's (%s)",
                         b->recs.building.location_id);
}

static void check_floor(struct rec *r, const struct bundle *b, int64_t floor)
{
        const struct registry_building *bd = &b->recs.building;

        if (!bd->location_id)
                return;
        if (floor == 0 || floor > bd->floors_above || floor < -(long)bd->floors_below)
                rec_fail(r,
                         "'floor' %ld is not a floor of this building (1..%d above ground, "
                         "-1..-%d below; there is no floor 0)",
                         floor, bd->floors_above, bd->floors_below);
}

static void parse_building(struct bundle *b, struct rec *r, const regex_t *re)
{
        static const char *const fields[] = {
                "location_id",  "name",     "address",   "floors_above",
                "floors_below", "revision", "signature", NULL};
        struct registry_building *bd = &b->recs.building;
        int64_t above = 0, below = 0;

        rec_only(r, r->obj, NULL, fields);
        bd->location_id = rec_str(r, "location_id", true, 64);
        if (bd->location_id && !location_id_ok(re, bd->location_id)) {
                rec_fail(r, "'location_id' does not match the location id pattern '%s'",
                         r->opt->location_id_pattern);
                bd->location_id = NULL;
        }
        bd->name = rec_str(r, "name", true, 200);
        bd->address = rec_str(r, "address", true, 400);
        rec_int(r, "floors_above", true, 1, 200, &above);
        rec_int(r, "floors_below", false, 0, 20, &below);
        bd->floors_above = (int)above;
        bd->floors_below = (int)below;
        rec_int(r, "revision", true, 1, BUNDLE_MAX_REVISION, &bd->meta.revision);
        rec_verify(r, REGISTRY_BUILDING, &bd->meta);
        if (r->bad)
                bd->location_id = NULL;
}

static void parse_zone(struct bundle *b, struct rec *r, struct registry_zone *z)
{
        static const char *const fields[] = {"zone_id",  "building",  "name",
                                             "revision", "signature", NULL};

        rec_only(r, r->obj, NULL, fields);
        z->zone_id = rec_str(r, "zone_id", true, 64);
        if (z->zone_id && (!is_token(z->zone_id, "._-", 64) || strchr("._-", z->zone_id[0]) ||
                           strpbrk(z->zone_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")))
                rec_fail(r, "'zone_id' must be lowercase letters, digits, '.', '_' or '-', "
                            "starting with a letter or digit");
        z->building = rec_str(r, "building", true, 64);
        check_building_ref(r, b, z->building);
        z->name = rec_str(r, "name", true, 200);
        rec_int(r, "revision", true, 1, BUNDLE_MAX_REVISION, &z->meta.revision);
        rec_verify(r, REGISTRY_ZONE, &z->meta);
}

static void parse_unit(struct bundle *b, struct rec *r, const regex_t *re, struct registry_unit *u)
{
        static const char *const fields[] = {"address_id", "building",  "floor", "number",
                                             "revision",   "signature", NULL};
        int64_t floor = 0;

        rec_only(r, r->obj, NULL, fields);
        u->address_id = rec_str(r, "address_id", true, 64);
        if (u->address_id && !location_id_ok(re, u->address_id))
                rec_fail(r, "'address_id' does not match the location id pattern '%s'",
                         r->opt->location_id_pattern);
        u->building = rec_str(r, "building", true, 64);
        check_building_ref(r, b, u->building);
        if (rec_int(r, "floor", true, -20, 200, &floor))
                check_floor(r, b, floor);
        u->floor = (int)floor;
        u->number = rec_str(r, "number", true, 16);
        rec_int(r, "revision", true, 1, BUNDLE_MAX_REVISION, &u->meta.revision);
        rec_verify(r, REGISTRY_UNIT, &u->meta);
}

static void parse_resident_flags(struct rec *r, struct registry_resident *res)
{
        json_t *flags = json_object_get(r->obj, "flags"), *v;
        size_t i;

        res->flags = 0;
        if (!flags)
                return;
        if (!json_is_array(flags)) {
                rec_fail(r, "'flags' must be an array of strings");
                return;
        }
        json_array_foreach(flags, i, v)
        {
                bool known = false;

                if (!json_is_string(v)) {
                        rec_fail(r, "'flags' must be an array of strings");
                        return;
                }
                for (unsigned f = 0; f < REGISTRY_FLAG_COUNT; f++) {
                        if (strcmp(json_string_value(v), registry_flag_name(f)) != 0)
                                continue;
                        known = true;
                        if (res->flags & (1u << f))
                                rec_fail(r, "'flags' lists '%s' twice", registry_flag_name(f));
                        res->flags |= 1u << f;
                }
                if (!known) {
                        char name[300];

                        rec_fail(r, "'flags' has the unknown flag '%s'",
                                 printable(json_string_value(v), name, sizeof(name)));
                }
        }
}

static bool phone_ok(const char *s)
{
        size_t digits = 0, n = strlen(s);

        if (s[0] != '+' || s[1] < '0' || s[1] > '9' || n < 7 || n > 21)
                return false;
        for (s++; *s; s++) {
                if (*s >= '0' && *s <= '9')
                        digits++;
                else if (*s != ' ')
                        return false;
        }
        return digits >= 6;
}

static void parse_resident(struct rec *r, struct registry_resident *res)
{
        static const char *const fields[] = {"resident_id", "unit",  "citizen_id", "name",
                                             "phone",       "flags", "status",     "revision",
                                             "signature",   NULL};
        static const char *const statuses[] = {"active", "moved_out", NULL};
        const char *citizen, *status;
        enum identity_citizen_error e;
        size_t pos = 0;

        rec_only(r, r->obj, NULL, fields);
        res->resident_id = rec_str(r, "resident_id", true, 64);
        if (res->resident_id && !is_token(res->resident_id, "._-", 64))
                rec_fail(r, "'resident_id' must be 1-64 letters, digits, '.', '_' or '-'");
        res->unit = rec_str(r, "unit", true, 64);
        citizen = rec_str(r, "citizen_id", true, 64);
        if (citizen) {
                e = identity_citizen_check(citizen, r->opt->current_year, &pos);
                if (e == IDENTITY_CITIZEN_NOT_DIGIT)
                        rec_fail(r, "'citizen_id' refused: %s (character %zu)",
                                 identity_citizen_strerror(e), pos + 1);
                else if (e != IDENTITY_CITIZEN_OK)
                        rec_fail(r, "'citizen_id' refused: %s", identity_citizen_strerror(e));
                else {
                        identity_citizen_hash(r->opt->identity_secret, citizen, res->citizen_hmac);
                        identity_citizen_last4(citizen, res->citizen_last4);
                }
        }
        res->name = rec_str(r, "name", false, 200);
        res->phone = rec_str(r, "phone", false, 24);
        if (res->phone && !phone_ok(res->phone))
                rec_fail(r, "'phone' must be '+' followed by 6 to 20 digits or spaces");
        parse_resident_flags(r, res);
        status = rec_str(r, "status", false, 16);
        res->moved_out = status && rec_enum(r, "status", status, statuses) == 1;
        rec_int(r, "revision", true, 1, BUNDLE_MAX_REVISION, &res->meta.revision);
        rec_verify(r, REGISTRY_RESIDENT, &res->meta);
}

static bool heat_class_ok(const char *s)
{
        static const char *const classes[] = {"A1", "A2", "B", "C", "D", "E", "F", "G", NULL};

        for (int i = 0; classes[i]; i++) {
                size_t n = strlen(classes[i]);

                if (strncmp(s, classes[i], n) == 0 &&
                    (s[n] == '\0' || ((s[n] == 'S' || s[n] == 'R') && s[n + 1] == '\0')))
                        return true;
        }
        return false;
}

static void parse_source(struct rec *r, struct registry_detector *det)
{
        static const char *const mqtt_fields[] = {"type", "bridge", "device", NULL};
        static const char *const gpio_fields[] = {"type", "chip",        "line",       "active_low",
                                                  "bias", "debounce_ms", "fault_line", NULL};
        static const char *const bridges[] = {"zigbee2mqtt", "tasmota", "esphome", "generic", NULL};
        static const char *const biases[] = {"as-is", "pull-up", "pull-down", "disabled", NULL};
        json_t *src = json_object_get(r->obj, "source"), *al;
        const char *type;
        int64_t line = 0, debounce = 50, fault = -1;

        if (!src) {
                rec_fail(r, "'source' is missing");
                return;
        }
        if (!json_is_object(src)) {
                rec_fail(r, "'source' must be an object");
                return;
        }
        type = rec_str_in(r, src, "type", true, 16);
        if (!type)
                return;
        if (strcmp(type, "mqtt") == 0) {
                det->gpio = false;
                rec_only(r, src, "'source'", mqtt_fields);
                det->bridge = rec_str_in(r, src, "bridge", true, 32);
                if (det->bridge && rec_enum(r, "bridge", det->bridge, bridges) < 0)
                        det->bridge = NULL;
                det->device = rec_str_in(r, src, "device", true, 128);
                /* MQTT wildcards in a device name would subscribe to other devices' topics. */
                if (det->device && strpbrk(det->device, "+#"))
                        rec_fail(r, "'device' must not contain the MQTT wildcards '+' or '#'");
                return;
        }
        if (strcmp(type, "gpio") != 0) {
                rec_fail(r, "'source' type must be 'mqtt' or 'gpio'");
                return;
        }
        det->gpio = true;
        rec_only(r, src, "'source'", gpio_fields);
        det->gpio_chip = rec_str_in(r, src, "chip", true, 64);
        rec_int_in(r, src, "line", true, 0, 1023, &line);
        det->gpio_line = (int)line;
        al = json_object_get(src, "active_low");
        if (al && !json_is_boolean(al))
                rec_fail(r, "'active_low' must be true or false");
        det->gpio_active_low = al && json_is_true(al);
        det->gpio_bias = rec_str_in(r, src, "bias", false, 16);
        if (det->gpio_bias && rec_enum(r, "bias", det->gpio_bias, biases) < 0)
                det->gpio_bias = NULL;
        if (!det->gpio_bias)
                det->gpio_bias = "as-is";
        rec_int_in(r, src, "debounce_ms", false, 0, 10000, &debounce);
        det->gpio_debounce_ms = (int)debounce;
        if (rec_int_in(r, src, "fault_line", false, 0, 1023, &fault) && fault == line)
                rec_fail(r, "'fault_line' must differ from 'line'");
        det->gpio_fault_line = (int)fault;
}

static void parse_detector(struct bundle *b, struct rec *r, struct registry_detector *det)
{
        static const char *const fields[] = {
                "detector_id", "building",  "kind",     "heat_class", "unit",
                "floor",       "zone",      "location", "source",     "report_period_s",
                "revision",    "signature", NULL};
        static const char *const kinds[] = {"smoke", "heat", "multi", "call_point", NULL};
        const char *kind;
        int64_t floor = 0, period = 0;
        int k = -1;

        rec_only(r, r->obj, NULL, fields);
        det->detector_id = rec_str(r, "detector_id", true, 64);
        if (det->detector_id && !is_token(det->detector_id, "._-", 64))
                rec_fail(r, "'detector_id' must be 1-64 letters, digits, '.', '_' or '-'");
        det->building = rec_str(r, "building", true, 64);
        check_building_ref(r, b, det->building);
        kind = rec_str(r, "kind", true, 16);
        if (kind)
                k = rec_enum(r, "kind", kind, kinds);
        det->kind = k < 0 ? REGISTRY_SMOKE : (enum registry_detector_kind)k;
        det->heat_class = rec_str(r, "heat_class", false, 3);
        if (det->heat_class && !heat_class_ok(det->heat_class))
                rec_fail(r, "'heat_class' must be an EN 54-5 class (A1, A2, B, C, D, E, F, G) "
                            "optionally followed by S or R");
        if (k == REGISTRY_HEAT && !det->heat_class && !json_object_get(r->obj, "heat_class"))
                rec_fail(r, "a heat detector needs its EN 54-5 'heat_class'");
        if ((k == REGISTRY_SMOKE || k == REGISTRY_CALL_POINT) &&
            json_object_get(r->obj, "heat_class"))
                rec_fail(r, "'heat_class' is only for heat and multi-sensor detectors");
        det->unit = rec_str(r, "unit", false, 64);
        det->has_floor = rec_int(r, "floor", !det->unit, -20, 200, &floor);
        if (det->has_floor)
                check_floor(r, b, floor);
        det->floor = (int)floor;
        det->zone = rec_str(r, "zone", false, 64);
        det->location = rec_str(r, "location", false, 200);
        parse_source(r, det);
        rec_int(r, "report_period_s", false, 10, 604800, &period);
        det->report_period_s = (int)period;
        rec_int(r, "revision", true, 1, BUNDLE_MAX_REVISION, &det->meta.revision);
        rec_verify(r, REGISTRY_DETECTOR, &det->meta);
}

/* Returns the section's array (NULL and *n = 0 when absent) or fails the bundle. */
static json_t *section(struct rec *top, const char *name, size_t *n)
{
        json_t *a = json_object_get(top->obj, name);

        *n = 0;
        if (!a)
                return NULL;
        if (!json_is_array(a)) {
                rec_fail(top, "'%s' must be an array", name);
                return NULL;
        }
        *n = json_array_size(a);
        return a;
}

struct id_ref {
        const char *id;
        size_t index;
};

static int id_ref_cmp(const void *a, const void *b)
{
        const struct id_ref *x = a, *y = b;

        return strcmp(x->id, y->id);
}

/* Reports ids that occur twice in one section; sorting keeps this O(n log n) for big buildings. */
static int check_unique(struct diag *d, const char *sect, struct id_ref *refs, size_t n)
{
        int dups = 0;

        qsort(refs, n, sizeof(*refs), id_ref_cmp);
        for (size_t i = 1; i < n; i++) {
                if (strcmp(refs[i - 1].id, refs[i].id) != 0)
                        continue;
                diag_add(d, NULL, 0, "%s[%zu] (%.64s): the same id as %s[%zu]", sect, refs[i].index,
                         refs[i].id, sect, refs[i - 1].index);
                dups++;
        }
        return dups;
}

#define CHECK_UNIQUE(d, sect, arr, n, field, fails)                                                \
        do {                                                                                       \
                struct id_ref *refs_ = calloc((n) ? (n) : 1, sizeof(*refs_));                      \
                size_t m_ = 0;                                                                     \
                if (!refs_) {                                                                      \
                        diag_add(d, NULL, 0, "out of memory");                                     \
                        (fails)++;                                                                 \
                        break;                                                                     \
                }                                                                                  \
                for (size_t i_ = 0; i_ < (n); i_++)                                                \
                        if ((arr)[i_].field)                                                       \
                                refs_[m_++] = (struct id_ref){(arr)[i_].field, i_};                \
                (fails) += (size_t)check_unique(d, sect, refs_, m_);                               \
                free(refs_);                                                                       \
        } while (0)

static int parse_top(struct rec *top, const char *path)
{
        static const char *const fields[] = {"format",    "version", "authority", "generated_at",
                                             "building",  "zones",   "units",     "residents",
                                             "detectors", NULL};
        const char *format, *authority;
        int64_t version = 0;

        if (!json_is_object(top->obj)) {
                diag_add(top->d, path, 0, "not a registry bundle: the top level is not an object");
                return -EBADMSG;
        }
        rec_only(top, top->obj, NULL, fields);
        format = rec_str(top, "format", true, 64);
        if (format && strcmp(format, BUNDLE_FORMAT) != 0)
                rec_fail(top, "'format' is '%s', not '%s': not a registry bundle", format,
                         BUNDLE_FORMAT);
        if (rec_int(top, "version", true, 1, INT32_MAX, &version) && version != BUNDLE_VERSION)
                rec_fail(top,
                         "bundle version %" PRId64
                         " is not supported (this gateway reads version %d)",
                         version, BUNDLE_VERSION);
        authority = rec_str(top, "authority", false, 64);
        /* Only a hint: the signatures decide. It explains a bundle full of bad signatures, and
         * on a good one it says the bundle's header is wrong. */
        if (authority && strcmp(authority, crypto_key_id(top->opt->authority)) != 0 &&
            top->opt->warnings) {
                char text[300];

                diag_add(top->opt->warnings, path, 0,
                         "the bundle says it was signed by key %s, but this gateway's "
                         "authority key is %s (registry.authority_key in the config)",
                         printable_id(authority, text, sizeof(text)),
                         crypto_key_id(top->opt->authority));
        }
        rec_str(top, "generated_at", false, 64);
        return top->bad ? -EBADMSG : 0;
}

static int alloc_sections(struct bundle *b, json_t *zones, json_t *units, json_t *residents,
                          json_t *detectors)
{
        struct registry_records *rr = &b->recs;

        rr->n_zones = zones ? json_array_size(zones) : 0;
        rr->n_units = units ? json_array_size(units) : 0;
        rr->n_residents = residents ? json_array_size(residents) : 0;
        rr->n_detectors = detectors ? json_array_size(detectors) : 0;
        rr->zones = calloc(rr->n_zones + 1, sizeof(*rr->zones));
        rr->units = calloc(rr->n_units + 1, sizeof(*rr->units));
        rr->residents = calloc(rr->n_residents + 1, sizeof(*rr->residents));
        rr->detectors = calloc(rr->n_detectors + 1, sizeof(*rr->detectors));
        if (!rr->zones || !rr->units || !rr->residents || !rr->detectors)
                return -ENOMEM;
        return 0;
}

/* Two detectors on one GPIO line (as the alarm line or the fault line) would each read the
 * other's contact. Checked here, across the whole bundle, so the refusal names both records. */
static void check_gpio_lines(struct diag *d, const struct registry_records *rr, size_t *fails)
{
        for (size_t i = 0; i < rr->n_detectors; i++) {
                const struct registry_detector *a = &rr->detectors[i];
                int lines_a[2] = {a->gpio_line, a->gpio_fault_line};

                if (!a->gpio || !a->gpio_chip)
                        continue;
                for (size_t j = i + 1; j < rr->n_detectors; j++) {
                        const struct registry_detector *b = &rr->detectors[j];
                        int lines_b[2] = {b->gpio_line, b->gpio_fault_line};

                        if (!b->gpio || !b->gpio_chip || strcmp(a->gpio_chip, b->gpio_chip) != 0)
                                continue;
                        for (int x = 0; x < 2; x++)
                                for (int y = 0; y < 2; y++)
                                        if (lines_a[x] >= 0 && lines_a[x] == lines_b[y]) {
                                                diag_add(d, NULL, 0,
                                                         "detectors[%zu] (%s): GPIO line %s:%d "
                                                         "is also used by detectors[%zu] (%s)",
                                                         j, b->detector_id, b->gpio_chip,
                                                         lines_b[y], i, a->detector_id);
                                                (*fails)++;
                                        }
                }
        }
}

static void parse_records(struct bundle *b, struct rec *r, const regex_t *re, json_t *zones,
                          json_t *units, json_t *residents, json_t *detectors, size_t *fails)
{
        struct registry_records *rr = &b->recs;
        json_t *v;
        size_t i;

#define PARSE_SECTION(arr, name, idkey, call)                                                      \
        json_array_foreach(arr, i, v)                                                              \
        {                                                                                          \
                rec_begin(r, v, name, i, idkey);                                                   \
                if (!json_is_object(v))                                                            \
                        rec_fail(r, "must be an object");                                          \
                else                                                                               \
                        call;                                                                      \
                *fails += r->bad;                                                                  \
        }
        PARSE_SECTION(zones, "zones", "zone_id", parse_zone(b, r, &rr->zones[i]));
        PARSE_SECTION(units, "units", "address_id", parse_unit(b, r, re, &rr->units[i]));
        PARSE_SECTION(residents, "residents", "resident_id", parse_resident(r, &rr->residents[i]));
        PARSE_SECTION(detectors, "detectors", "detector_id",
                      parse_detector(b, r, &rr->detectors[i]));
#undef PARSE_SECTION
        CHECK_UNIQUE(r->d, "zones", rr->zones, rr->n_zones, zone_id, *fails);
        CHECK_UNIQUE(r->d, "units", rr->units, rr->n_units, address_id, *fails);
        CHECK_UNIQUE(r->d, "residents", rr->residents, rr->n_residents, resident_id, *fails);
        CHECK_UNIQUE(r->d, "detectors", rr->detectors, rr->n_detectors, detector_id, *fails);
        check_gpio_lines(r->d, rr, fails);
}

int bundle_load(const char *path, const struct bundle_options *opt, struct diag *d,
                struct bundle **out)
{
        struct bundle *b = NULL;
        struct rec r = {.d = d, .opt = opt};
        json_t *zones, *units, *residents, *detectors, *building;
        json_error_t jerr;
        regex_t re;
        char *data = NULL;
        size_t len = 0, n, fails = 0;
        int ret;

        ret = fileio_read_all(path, opt->max_bytes, &data, &len);
        if (ret == -EFBIG) {
                diag_add(d, path, 0,
                         "larger than the %zu bytes a bundle may have "
                         "(registry.bundle_max_bytes); refused",
                         opt->max_bytes);
                return ret;
        }
        if (ret < 0) {
                diag_add(d, path, 0, "cannot read: %s", strerror(-ret));
                return ret;
        }
        if (regcomp(&re, opt->location_id_pattern, REG_EXTENDED | REG_NOSUB) != 0) {
                diag_add(d, NULL, 0, "the location id pattern '%s' does not compile",
                         opt->location_id_pattern);
                free(data);
                return -EINVAL;
        }
        b = calloc(1, sizeof(*b));
        if (!b) {
                ret = -ENOMEM;
                goto out;
        }
        crypto_sha256(data, len, b->file_sha256);
        b->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!b->root) {
                /* jansson quotes the text where it stopped ("near '...'"), which can be a
                 * citizen identity number: keep only its reason. */
                char *near = strstr(jerr.text, " near ");

                if (near)
                        *near = '\0';
                diag_add(d, path, (unsigned)(jerr.line > 0 ? jerr.line : 1),
                         "column %d: not valid JSON: %s", jerr.column, jerr.text);
                ret = -EBADMSG;
                goto out;
        }
        rec_begin(&r, b->root, path, (size_t)-1, NULL);
        ret = parse_top(&r, path);
        if (ret < 0)
                goto out;
        zones = section(&r, "zones", &n);
        units = section(&r, "units", &n);
        residents = section(&r, "residents", &n);
        detectors = section(&r, "detectors", &n);
        building = json_object_get(b->root, "building");
        fails += r.bad;
        ret = alloc_sections(b, zones, units, residents, detectors);
        if (ret < 0)
                goto out;
        rec_begin(&r, building, "building", (size_t)-1, NULL);
        if (!building || !json_is_object(building))
                rec_fail(&r, "the bundle has no building object");
        else
                parse_building(b, &r, &re);
        fails += r.bad;
        parse_records(b, &r, &re, zones, units, residents, detectors, &fails);
        ret = fails ? -EBADMSG : 0;
out:
        regfree(&re);
        free(data);
        if (ret < 0) {
                bundle_free(b);
                return ret;
        }
        *out = b;
        return 0;
}

void bundle_free(struct bundle *b)
{
        if (!b)
                return;
        free(b->recs.zones);
        free(b->recs.units);
        free(b->recs.residents);
        free(b->recs.detectors);
        json_decref(b->root);
        free(b);
}

const struct registry_records *bundle_records(const struct bundle *b)
{
        return &b->recs;
}

const uint8_t *bundle_file_sha256(const struct bundle *b)
{
        return b->file_sha256;
}

size_t bundle_record_count(const struct bundle *b)
{
        return 1 + b->recs.n_zones + b->recs.n_units + b->recs.n_residents + b->recs.n_detectors;
}

size_t bundle_verified_count(const struct bundle *b)
{
        const struct registry_records *r = &b->recs;
        size_t n = r->building.meta.verified;

        for (size_t i = 0; i < r->n_zones; i++)
                n += r->zones[i].meta.verified;
        for (size_t i = 0; i < r->n_units; i++)
                n += r->units[i].meta.verified;
        for (size_t i = 0; i < r->n_residents; i++)
                n += r->residents[i].meta.verified;
        for (size_t i = 0; i < r->n_detectors; i++)
                n += r->detectors[i].meta.verified;
        return n;
}
