/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay: parses replay input lines and formats decisions (replay.h has the contract,
 * docs/replay.md the formats). Input is strict: jansson with duplicate keys refused, every field
 * named, typed and placed (a reading's field on a command line is an error, not ignored), the
 * clock never going back. Output keys keep one order, so a line can be read by eye and
 * compared as text.
 */
#include "replay.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The last member of each engine enum, so the parsers can walk the names. */
#define READING_LAST ENGINE_READING_HEARTBEAT
#define COMMAND_LAST ENGINE_CMD_TEST_END

/* Which kinds of line a field belongs to. */
enum {
        FORM_TICK = 1u << 0,
        FORM_READING = 1u << 1,
        FORM_COMMAND = 1u << 2,
};

static const struct field {
        const char *name;
        unsigned forms;
} fields[] = {
        {"t", FORM_TICK | FORM_READING | FORM_COMMAND},
        {"detector", FORM_READING},
        {"reading", FORM_READING},
        {"value", FORM_READING},
        {"test", FORM_READING},
        {"command", FORM_COMMAND},
        {"target", FORM_COMMAND},
        {"who", FORM_COMMAND},
};

enum { F_T, F_DETECTOR, F_READING, F_VALUE, F_TEST, F_COMMAND, F_TARGET, F_WHO };

const char *replay_reading_name(enum engine_reading_kind k)
{
        switch (k) {
        case ENGINE_READING_SMOKE:
                return "smoke";
        case ENGINE_READING_HEAT_ALARM:
                return "heat_alarm";
        case ENGINE_READING_TEMPERATURE:
                return "temperature";
        case ENGINE_READING_CALL_POINT:
                return "call_point";
        case ENGINE_READING_TEST:
                return "test";
        case ENGINE_READING_AVAILABILITY:
                return "availability";
        case ENGINE_READING_BATTERY:
                return "battery";
        case ENGINE_READING_BATTERY_LOW:
                return "battery_low";
        case ENGINE_READING_TAMPER:
                return "tamper";
        case ENGINE_READING_DEVICE_FAULT:
                return "device_fault";
        case ENGINE_READING_INVALID:
                return "invalid";
        case ENGINE_READING_HEARTBEAT:
                return "heartbeat";
        }
        return NULL;
}

const char *replay_command_name(enum engine_command_kind k)
{
        switch (k) {
        case ENGINE_CMD_ACKNOWLEDGE:
                return "acknowledge";
        case ENGINE_CMD_SILENCE:
                return "silence";
        case ENGINE_CMD_RESET:
                return "reset";
        case ENGINE_CMD_DISABLE:
                return "disable";
        case ENGINE_CMD_ENABLE:
                return "enable";
        case ENGINE_CMD_TEST_START:
                return "test_start";
        case ENGINE_CMD_TEST_END:
                return "test_end";
        }
        return NULL;
}

const char *replay_flag_name(unsigned bit)
{
        switch (bit) {
        case ENGINE_FLAG_PRIORITY_RESCUE:
                return "priority_rescue";
        case ENGINE_FLAG_UNVERIFIED:
                return "unverified";
        case ENGINE_FLAG_UNKNOWN_DETECTOR:
                return "unknown_detector";
        case ENGINE_FLAG_UNKNOWN_UNIT:
                return "unknown_unit";
        case ENGINE_FLAG_VERIFICATION_SKIPPED:
                return "verification_skipped";
        case ENGINE_FLAG_UNCONFIRMED:
                return "unconfirmed";
        case ENGINE_FLAG_REESTABLISHED:
                return "reestablished";
        case ENGINE_FLAG_FAIL_SAFE:
                return "fail_safe";
        case ENGINE_FLAG_CONFIRMED:
                return "confirmed";
        }
        return NULL;
}

/* --- parsing --- */

static int refuse(char *why, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t len, const char *fmt, ...)
{
        va_list ap;

        if (why && len) {
                va_start(ap, fmt);
                vsnprintf(why, len, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* A name from the input as it can be quoted in a one-line message: at most 40 bytes, control
 * characters as '?'. */
static const char *quote(const char *s, char *buf, size_t len)
{
        size_t i;

        for (i = 0; s[i] && i + 1 < len && i < 40; i++)
                buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        buf[i] = '\0';
        return buf;
}

static bool blank_or_comment(const char *line, size_t len)
{
        size_t i = 0;

        while (i < len && (line[i] == ' ' || line[i] == '\t'))
                i++;
        return i == len || line[i] == '#';
}

static const char *type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a real number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                return "null";
        }
        return "a value";
}

/* Copies the string @v into @buf if it is one of at most @max bytes (at least @min) without
 * control characters, which a one-line log or a JSON line could not show. */
static bool text_field(const json_t *v, size_t min, size_t max, char *buf, size_t len)
{
        const char *s;
        size_t n;

        if (!json_is_string(v))
                return false;
        s = json_string_value(v);
        n = json_string_length(v);
        if (strlen(s) != n || n < min || n > max || n >= len)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        memcpy(buf, s, n + 1);
        return true;
}

/* "a, b, c or d" into @buf (@len > 0), cut short rather than overflow. */
static void list_names(char *buf, size_t len, const char *(*name)(int), int last)
{
        size_t used = 0;

        for (int k = 0; k <= last; k++) {
                const char *parts[2] = {k == 0 ? "" : (k == last ? " or " : ", "), name(k)};

                for (size_t p = 0; p < 2; p++) {
                        size_t n = strlen(parts[p]), room = len - 1 - used;

                        if (n > room)
                                n = room;
                        memcpy(buf + used, parts[p], n);
                        used += n;
                }
        }
        buf[used] = '\0';
}

static const char *reading_name_int(int k)
{
        return replay_reading_name((enum engine_reading_kind)k);
}

static const char *command_name_int(int k)
{
        return replay_command_name((enum engine_command_kind)k);
}

static int parse_time(const json_t *v, engine_time last_t, engine_time *t, char *why, size_t len)
{
        json_int_t x;

        if (!v)
                return refuse(why, len, "missing t (milliseconds from the start)");
        if (!json_is_integer(v))
                return refuse(why, len,
                              "t must be an integer (milliseconds from the start), not %s",
                              type_name(v));
        x = json_integer_value(v);
        if (x < 0)
                return refuse(why, len, "t must not be negative, not %lld", (long long)x);
        if (x > REPLAY_T_MAX)
                return refuse(why, len, "t %lld is past the latest time a replay takes (%lld ms)",
                              (long long)x, REPLAY_T_MAX);
        /* The engine would take it at its clock anyway: in a log that is a sign of lines out of
         * order, which a reconstruction must show rather than smooth over. */
        if (last_t >= 0 && x < last_t)
                return refuse(why, len, "t %lld goes back before the previous line's t %lld",
                              (long long)x, (long long)last_t);
        *t = (engine_time)x;
        return 0;
}

static int parse_value(const json_t *v, enum engine_reading_kind k, double *out, char *why,
                       size_t len)
{
        const char *s;

        if (json_is_boolean(v)) {
                *out = json_is_true(v) ? 1 : 0;
                return 0;
        }
        if (json_is_number(v)) {
                *out = json_number_value(v);
                return 0;
        }
        if (k == ENGINE_READING_AVAILABILITY && json_is_string(v)) {
                s = json_string_value(v);
                if (strcmp(s, "online") == 0 || strcmp(s, "offline") == 0) {
                        *out = strcmp(s, "online") == 0 ? 1 : 0;
                        return 0;
                }
        }
        if (k == ENGINE_READING_AVAILABILITY)
                return refuse(why, len,
                              "value must be true, false, a number, \"online\" or \"offline\", "
                              "not %s",
                              type_name(v));
        return refuse(why, len, "value must be true, false or a number, not %s", type_name(v));
}

static int parse_reading(json_t *const *f, struct replay_event *ev, char *why, size_t len)
{
        char names[256], shown[48];
        const char *s;
        int k;

        if (!f[F_DETECTOR])
                return refuse(why, len, "a reading needs detector");
        if (!f[F_READING])
                return refuse(why, len, "a reading needs reading (smoke, temperature, ...)");
        if (!text_field(f[F_DETECTOR], 1, REPLAY_ID_MAX - 1, ev->detector, sizeof(ev->detector)))
                return refuse(why, len,
                              "detector must be a string of 1 to %d bytes without control "
                              "characters",
                              REPLAY_ID_MAX - 1);
        if (!json_is_string(f[F_READING]))
                return refuse(why, len, "reading must be a string, not %s",
                              type_name(f[F_READING]));
        s = json_string_value(f[F_READING]);
        for (k = 0; k <= (int)READING_LAST; k++)
                if (strcmp(s, reading_name_int(k)) == 0)
                        break;
        if (k > (int)READING_LAST) {
                list_names(names, sizeof(names), reading_name_int, (int)READING_LAST);
                return refuse(why, len, "unknown reading '%s': expected %s",
                              quote(s, shown, sizeof(shown)), names);
        }
        ev->reading = (enum engine_reading_kind)k;
        if (f[F_VALUE]) {
                if (parse_value(f[F_VALUE], ev->reading, &ev->value, why, len) < 0)
                        return -EINVAL;
        } else if (ev->reading != ENGINE_READING_INVALID &&
                   ev->reading != ENGINE_READING_HEARTBEAT) {
                return refuse(why, len, "reading %s needs a value", s);
        }
        if (f[F_TEST]) {
                if (!json_is_boolean(f[F_TEST]))
                        return refuse(why, len, "test must be true or false, not %s",
                                      type_name(f[F_TEST]));
                if (json_is_true(f[F_TEST]))
                        ev->flags |= ENGINE_READING_FLAG_TEST;
        }
        ev->kind = REPLAY_READING;
        return 0;
}

static int parse_command(json_t *const *f, struct replay_event *ev, char *why, size_t len)
{
        char names[160], shown[48];
        const char *s;
        int k;

        if (!json_is_string(f[F_COMMAND]))
                return refuse(why, len, "command must be a string, not %s",
                              type_name(f[F_COMMAND]));
        s = json_string_value(f[F_COMMAND]);
        for (k = 0; k <= (int)COMMAND_LAST; k++)
                if (strcmp(s, command_name_int(k)) == 0)
                        break;
        if (k > (int)COMMAND_LAST) {
                list_names(names, sizeof(names), command_name_int, (int)COMMAND_LAST);
                return refuse(why, len, "unknown command '%s': expected %s",
                              quote(s, shown, sizeof(shown)), names);
        }
        ev->command = (enum engine_command_kind)k;
        if (f[F_TARGET] &&
            !text_field(f[F_TARGET], 0, REPLAY_TARGET_MAX - 1, ev->target, sizeof(ev->target)))
                return refuse(why, len,
                              "target must be a string of at most %d bytes without control "
                              "characters (building, floor:N, unit:ID, zone:ID or a detector id)",
                              REPLAY_TARGET_MAX - 1);
        if (f[F_WHO] && !text_field(f[F_WHO], 0, REPLAY_WHO_MAX - 1, ev->who, sizeof(ev->who)))
                return refuse(why, len,
                              "who must be a string of at most %d bytes without control "
                              "characters",
                              REPLAY_WHO_MAX - 1);
        ev->kind = REPLAY_COMMAND;
        return 0;
}

static int parse_object(json_t *o, engine_time last_t, struct replay_event *ev, char *why,
                        size_t len)
{
        json_t *f[ARRAY_SIZE(fields)] = {0};
        char shown[48];
        const char *key;
        json_t *v;
        unsigned form;
        size_t i;

        if (!json_is_object(o))
                return refuse(why, len, "expected a JSON object, not %s", type_name(o));
        json_object_foreach(o, key, v)
        {
                for (i = 0; i < ARRAY_SIZE(fields); i++)
                        if (strcmp(key, fields[i].name) == 0)
                                break;
                if (i == ARRAY_SIZE(fields))
                        return refuse(why, len, "unknown field '%s'",
                                      quote(key, shown, sizeof(shown)));
                f[i] = v;
        }
        if (parse_time(f[F_T], last_t, &ev->t, why, len) < 0)
                return -EINVAL;
        if ((f[F_DETECTOR] || f[F_READING]) && f[F_COMMAND])
                return refuse(why, len,
                              "a line is a reading (detector, reading) or a command, "
                              "not both");
        form = f[F_COMMAND] ? FORM_COMMAND
                            : (f[F_DETECTOR] || f[F_READING] ? FORM_READING : FORM_TICK);
        for (i = 0; i < ARRAY_SIZE(fields); i++) {
                if (!f[i] || (fields[i].forms & form))
                        continue;
                if (form == FORM_TICK)
                        return refuse(why, len, "%s needs %s", fields[i].name,
                                      fields[i].forms & FORM_READING ? "detector and reading"
                                                                     : "command");
                return refuse(why, len, "%s belongs in a %s, not in a %s", fields[i].name,
                              form == FORM_READING ? "command" : "reading",
                              form == FORM_READING ? "reading" : "command");
        }
        if (form == FORM_READING)
                return parse_reading(f, ev, why, len);
        if (form == FORM_COMMAND)
                return parse_command(f, ev, why, len);
        ev->kind = REPLAY_TICK;
        return 0;
}

int replay_parse_line(const char *line, size_t len, engine_time last_t, struct replay_event *ev,
                      char *why, size_t why_len)
{
        json_error_t err;
        json_t *root;
        int r;

        memset(ev, 0, sizeof(*ev));
        if (why && why_len)
                why[0] = '\0';
        if (len > 0 && line[len - 1] == '\r')
                len--;
        if (blank_or_comment(line, len)) {
                ev->kind = REPLAY_SKIP;
                return 0;
        }
        if (len > REPLAY_LINE_MAX)
                return refuse(why, why_len, "line too long: %zu bytes, at most %d", len,
                              REPLAY_LINE_MAX);
        root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
        /* jansson 2.14 reports most failed allocations while parsing as syntax errors; those it
         * does say, or leave without any text, are memory. */
        if (!root && (json_error_code(&err) == json_error_out_of_memory || !err.text[0])) {
                refuse(why, why_len, "out of memory");
                return -ENOMEM;
        }
        if (!root)
                return refuse(why, why_len, "invalid JSON at column %d: %s", err.column, err.text);
        r = parse_object(root, last_t, ev, why, why_len);
        json_decref(root);
        return r;
}

/* --- formatting --- */

/* A JSON string for @s. The engine's texts are UTF-8; should one ever be cut inside a character
 * (a cause truncated to its buffer), it is shown with its non-ASCII bytes as '?' rather than
 * lost. */
static json_t *text(const char *s)
{
        json_t *j = json_string(s);
        char *copy;

        if (j || !s)
                return j;
        copy = strdup(s);
        if (!copy)
                return NULL;
        for (char *p = copy; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        *p = '?';
        j = json_string(copy);
        free(copy);
        return j;
}

/* Adds @v (taking it; NULL when it could not be made) under @key. */
static int add(json_t *o, const char *key, json_t *v)
{
        return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

static json_t *flag_names(unsigned flags)
{
        json_t *a = json_array();
        char other[16];

        for (unsigned bit = 1; a && flags; bit <<= 1) {
                const char *name;

                if (!(flags & bit))
                        continue;
                flags &= ~bit;
                name = replay_flag_name(bit);
                /* A flag this build does not know is still shown, never dropped. */
                if (!name) {
                        snprintf(other, sizeof(other), "flag_%#x", bit);
                        name = other;
                }
                if (json_array_append_new(a, json_string(name)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static int dump(json_t *o, int r, char **out)
{
        if (r == 0) {
                *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                if (!*out)
                        r = -ENOMEM;
        }
        json_decref(o);
        return r;
}

int replay_format_decision(const struct engine_decision *d, char **out)
{
        json_t *o = json_object();
        int r = 0;

        *out = NULL;
        if (!o)
                return -ENOMEM;
        r = add(o, "t", json_integer(d->time));
        if (r == 0)
                r = add(o, "decision", text(engine_decision_name(d->kind)));
        if (r == 0 && d->detector)
                r = add(o, "detector", text(d->detector));
        if (r == 0 && d->unit)
                r = add(o, "unit", text(d->unit));
        if (r == 0 && d->has_floor)
                r = add(o, "floor", json_integer(d->floor));
        if (r == 0 && d->zone)
                r = add(o, "zone", text(d->zone));
        if (r == 0 && d->output)
                r = add(o, "output", text(d->output));
        if (r == 0 && d->fault != ENGINE_FAULT_NONE)
                r = add(o, "fault", text(engine_fault_name(d->fault)));
        if (r == 0 && d->cause)
                r = add(o, "cause", text(d->cause));
        if (r == 0 && d->rule)
                r = add(o, "rule", text(d->rule));
        if (r == 0 && d->who)
                r = add(o, "who", text(d->who));
        if (r == 0 && (d->kind == ENGINE_ALARM || d->kind == ENGINE_PRE_ALARM) &&
            d->first_detection != ENGINE_NEVER)
                r = add(o, "first_detection", json_integer(d->first_detection));
        if (r == 0 && d->flags)
                r = add(o, "flags", flag_names(d->flags));
        return dump(o, r, out);
}

int replay_format_notice(engine_time t, const char *notice, const char *detector, const char *cause,
                         char **out)
{
        json_t *o = json_object();
        int r;

        *out = NULL;
        if (!o)
                return -ENOMEM;
        r = add(o, "t", json_integer(t));
        if (r == 0)
                r = add(o, "notice", text(notice));
        if (r == 0 && detector)
                r = add(o, "detector", text(detector));
        if (r == 0 && cause)
                r = add(o, "cause", text(cause));
        return dump(o, r, out);
}
