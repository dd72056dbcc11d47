/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config: reads firegate.conf, every key described once in config_keys[].
 *
 * inifile reads the lines and reports those that are not INI (file:line, every one); here we
 * only say which [sections] exist (unknown ones are reported with a hint and their keys
 * skipped) and what each key accepts.
 *
 * Values go through one setter per type. The embedded defaults are text in the same table and
 * go through the same setters, so a default is always a value the file could hold. Paths
 * derived from state_dir are filled in once the whole file is read, since state_dir may come
 * after them.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "inifile.h"
#include "log.h"
#include "web_request.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A config file is a few kilobytes; the cap keeps a wrong path (a log, a disk image) from being
 * read whole into memory. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* Paths are capped so that every line config_print() writes fits within inih's line limit when
 * the output is read back. state_dir leaves room for the longest file derived under it, so a
 * derived path obeys CONFIG_PATH_MAX too. */
#define CONFIG_PATH_MAX 160
#define STATE_DIR_MAX   (CONFIG_PATH_MAX - (long)sizeof("/identity.secret") + 1)
#define LONGEST_KEY     (sizeof("location_id_pattern") - 1)
_Static_assert(LONGEST_KEY + sizeof(" = ") - 1 + CONFIG_PATH_MAX <= INIFILE_LINE_MAX,
               "a printed path must fit on one line that inih accepts");

#define GATEWAY_ID_MAX   64
#define GATEWAY_ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

enum config_type {
        CONFIG_PATH,       /* char *, max characters; relative to the config file's directory */
        CONFIG_INTEGER,    /* long within [min, max]; K, M, G suffixes if size_suffixes */
        CONFIG_LOG_LEVEL,  /* int: a syslog priority, by name */
        CONFIG_GATEWAY_ID, /* char *: GATEWAY_ID_CHARS, 1 to GATEWAY_ID_MAX of them */
        CONFIG_TEXT,       /* char *: printable text, at most max characters */
        CONFIG_REGEX,      /* char *: a POSIX extended regular expression */
        CONFIG_BOOLEAN,    /* bool: yes/no, true/false, on/off, 1/0 */
};

struct config_key {
        const char *section;
        const char *name;
        enum config_type type;
        size_t offset;
        const char *default_value; /* as it would be written in the file */
        const char *derived_file;  /* a path whose empty value means this file under state_dir */
        long min, max;             /* an integer's range; max is a path's length */
        bool size_suffixes;
        bool may_be_empty; /* an empty value is a value (no user name, no TLS) */
        bool repeated;     /* a key of [KIND NAME]: offset is into that kind's struct */
        const char *help;
};

/* Keys of one section stay together: config_print() starts a section where the name changes. */
static const struct config_key config_keys[] = {
        {
                .section = "gateway",
                .name = "id",
                .type = CONFIG_GATEWAY_ID,
                .offset = offsetof(struct config, gateway_id),
                .default_value = "firegate",
                .help = "Name of this gateway in upstream topics; unique per gateway.",
        },
        {
                .section = "gateway",
                .name = "state_dir",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, state_dir),
                .default_value = "/var/lib/firegate",
                .max = STATE_DIR_MAX,
                .help = "Directory of the gateway's own files: database and identity secret.",
        },
        {
                .section = "gateway",
                .name = "database",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, database),
                .default_value = "",
                .derived_file = "firegate.db",
                .max = CONFIG_PATH_MAX,
                .help = "SQLite database; empty means firegate.db in state_dir.",
        },
        {
                .section = "gateway",
                .name = "identity_secret",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, identity_secret),
                .default_value = "",
                .derived_file = "identity.secret",
                .max = CONFIG_PATH_MAX,
                .help = "Key for hashing citizen identity numbers; empty means identity.secret in "
                        "state_dir.",
        },
        {
                .section = "gateway",
                .name = "log_level",
                .type = CONFIG_LOG_LEVEL,
                .offset = offsetof(struct config, log_level),
                .default_value = "info",
                .help = "Most verbose priority logged: error, warning, notice, info or debug.",
        },
        {
                .section = "registry",
                .name = "authority_key",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, authority_key),
                .default_value = "/etc/firegate/authority.pub",
                .max = CONFIG_PATH_MAX,
                .help = "Public key of the registry authority that signs unit and resident "
                        "records.",
        },
        {
                .section = "registry",
                .name = "location_id_pattern",
                .type = CONFIG_REGEX,
                .offset = offsetof(struct config, location_id_pattern),
                .default_value = "^[0-9]{12}$",
                .help = "POSIX extended regular expression every location identifier must match.",
        },
        {
                .section = "registry",
                .name = "bundle_max_bytes",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config, bundle_max_bytes),
                .default_value = "16M",
                .min = 1024,
                .max = 1024L * 1024 * 1024,
                .size_suffixes = true,
                .help = "Largest registry bundle accepted for import, in bytes (K, M, G allowed).",
        },
        {
                .section = "rules",
                .name = "dir",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, rules_dir),
                .default_value = "/etc/firegate/rules",
                .max = CONFIG_PATH_MAX,
                .help = "Directory of the alarm rule files (*.rules, read in name order).",
        },
        {
                .section = "broker",
                .name = "host",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, broker_host),
                .default_value = "127.0.0.1",
                .max = 253,
                .help = "The building's MQTT broker, where the bridges publish the detectors.",
        },
        {
                .section = "broker",
                .name = "port",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config, broker_port),
                .default_value = "1883",
                .min = 1,
                .max = 65535,
                .help = "Its port: 1883 plain, usually 8883 with TLS.",
        },
        {
                .section = "broker",
                .name = "username",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, broker_username),
                .default_value = "",
                .max = 128,
                .may_be_empty = true,
                .help = "User name on the broker; empty for none.",
        },
        {
                .section = "broker",
                .name = "password",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, broker_password),
                .default_value = "",
                .max = 128,
                .may_be_empty = true,
                .help = "Its password; keep this file readable only by the gateway.",
        },
        {
                .section = "broker",
                .name = "cafile",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, broker_cafile),
                .default_value = "",
                .max = CONFIG_PATH_MAX,
                .may_be_empty = true,
                .help = "CA certificate (PEM) to check the broker with TLS; empty for plain MQTT.",
        },
        {
                .section = "broker",
                .name = "keepalive_s",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config, broker_keepalive_s),
                .default_value = "30",
                .min = 5,
                .max = 600,
                .help = "MQTT keep-alive: how soon a silent connection is noticed.",
        },
        {
                .section = "broker",
                .name = "fault_after_s",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config, broker_fault_after_s),
                .default_value = "60",
                .min = 10,
                .max = 100,
                .help = "A broker gap this long is a fault (EN 54-2: faults within 100 s).",
        },
        {
                .section = "bridges",
                .name = "zigbee2mqtt_base",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, z2m_base),
                .default_value = "zigbee2mqtt",
                .max = 64,
                .help = "Zigbee2MQTT's base topic (its mqtt.base_topic).",
        },
        {
                .section = "bridges",
                .name = "esphome_prefix",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, esphome_prefix),
                .default_value = "",
                .max = 64,
                .may_be_empty = true,
                .help = "ESPHome's topic prefix; empty when each node publishes under its name.",
        },
        {
                .section = "bridges",
                .name = "generic_prefix",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, generic_prefix),
                .default_value = "firegate/detectors",
                .max = 64,
                .help = "Prefix of firegate's own generic detector messages (docs/bridges.md).",
        },
        {
                .section = "control",
                .name = "runtime_dir",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, runtime_dir),
                .default_value = "/run/firegate",
                .max = CONFIG_PATH_MAX - (long)sizeof("/control.sock"),
                .help = "Directory of the daemon's control socket (systemd's RuntimeDirectory).",
        },
        {
                .section = "uplink",
                .name = "uris",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, uplink_uris),
                .default_value = "",
                .max = 180,
                .may_be_empty = true,
                .help = "The platform's broker: server URIs (ssl://host:8883) separated by "
                        "spaces, tried in order; empty: no uplink, alerts wait in the outbox.",
        },
        {
                .section = "uplink",
                .name = "cafile",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, uplink_cafile),
                .default_value = "",
                .max = CONFIG_PATH_MAX,
                .may_be_empty = true,
                .help = "CA certificate (PEM) that signed the platform broker's certificate.",
        },
        {
                .section = "uplink",
                .name = "certfile",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, uplink_certfile),
                .default_value = "",
                .max = CONFIG_PATH_MAX,
                .may_be_empty = true,
                .help = "This gateway's client certificate (PEM), made at provisioning.",
        },
        {
                .section = "uplink",
                .name = "keyfile",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, uplink_keyfile),
                .default_value = "",
                .max = CONFIG_PATH_MAX,
                .may_be_empty = true,
                .help = "Its private key (PEM); readable only by the gateway.",
        },
        {
                .section = "uplink",
                .name = "username",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, uplink_username),
                .default_value = "",
                .max = 128,
                .may_be_empty = true,
                .help = "User name on the platform's broker; empty for none.",
        },
        {
                .section = "uplink",
                .name = "password",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, uplink_password),
                .default_value = "",
                .max = 128,
                .may_be_empty = true,
                .help = "Its password; keep this file readable only by the gateway.",
        },
        {
                .section = "uplink",
                .name = "insecure",
                .type = CONFIG_BOOLEAN,
                .offset = offsetof(struct config, uplink_insecure),
                .default_value = "no",
                .help = "yes allows tcp:// URIs and connections without client credentials "
                        "(tests only); check-config warns about it.",
        },
        {
                .section = "uplink",
                .name = "keepalive_s",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config, uplink_keepalive_s),
                .default_value = "30",
                .min = 5,
                .max = 600,
                .help = "MQTT keep-alive; the broker sends the last will after 1.5 times it.",
        },
        {
                .section = "uplink",
                .name = "heartbeat_s",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config, heartbeat_s),
                .default_value = "30",
                .min = 5,
                .max = 3600,
                .help = "Heartbeat period: the platform tells a dead gateway from a quiet "
                        "building by it (docs/uplink.md: transmission categories).",
        },
        {
                .section = "uplink",
                .name = "stats_interval_s",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config, stats_interval_s),
                .default_value = "300",
                .min = 10,
                .max = 86400,
                .help = "How often statistics are sent.",
        },
        {
                .section = "uplink",
                .name = "outbox_max",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config, outbox_max),
                .default_value = "10000",
                .min = 100,
                .max = 10000000,
                .help = "Pending messages past which older statistics are coalesced; alerts are "
                        "never dropped.",
        },
        {
                .section = "uplink",
                .name = "platform_account",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, platform_account),
                .default_value = "city-platform",
                .max = 64,
                .help = "The platform's account on its broker: only its commands are accepted.",
        },
        {
                .section = "uplink",
                .name = "command_max_age_s",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config, command_max_age_s),
                .default_value = "60",
                .min = 5,
                .max = 3600,
                .help = "A command whose time is further than this from the gateway's clock is "
                        "refused.",
        },
        {
                .section = "web",
                .name = "listen",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config, web_listen),
                .default_value = "127.0.0.1:8443",
                .max = 64,
                .help = "Address and port of the desk page (firegate web): IPv4:PORT or "
                        "[IPv6]:PORT; 0.0.0.0 or [::] for every interface.",
        },
        {
                .section = "web",
                .name = "certfile",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, web_certfile),
                .default_value = "",
                .may_be_empty = true,
                .max = CONFIG_PATH_MAX,
                .help = "The page's TLS certificate chain (PEM); empty: plain HTTP, only on "
                        "loopback or with insecure = yes.",
        },
        {
                .section = "web",
                .name = "keyfile",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, web_keyfile),
                .default_value = "",
                .may_be_empty = true,
                .max = CONFIG_PATH_MAX,
                .help = "The certificate's private key (PEM).",
        },
        {
                .section = "web",
                .name = "root",
                .type = CONFIG_PATH,
                .offset = offsetof(struct config, web_root),
                .default_value = FIREGATE_WWW_DIR,
                .max = CONFIG_PATH_MAX,
                .help = "Directory of the page's files, installed with the package.",
        },
        {
                .section = "web",
                .name = "insecure",
                .type = CONFIG_BOOLEAN,
                .offset = offsetof(struct config, web_insecure),
                .default_value = "no",
                .help = "yes allows plain HTTP on an address other than loopback, where "
                        "passwords and session cookies would cross the network in clear.",
        },
        /* [sounder NAME]: repeated sections, whose keys stay last (CONFIG_KEY_COUNT). */
        {
                .section = "sounder",
                .repeated = true,
                .name = "output",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config_sounder, output),
                .default_value = "building-sounder",
                .max = 64,
                .help = "The rules' [output] that drives this sounder.",
        },
        {
                .section = "sounder",
                .repeated = true,
                .name = "topic",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config_sounder, topic),
                .default_value = "",
                .max = 200,
                .may_be_empty = true,
                .help = "MQTT topic that commands the sounder, e.g. zigbee2mqtt/<siren>/set; "
                        "{unit} and {floor} are filled in from the output's zone.",
        },
        {
                .section = "sounder",
                .repeated = true,
                .name = "on_payload",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config_sounder, on_payload),
                .default_value = "{\"warning\":{\"mode\":\"fire\",\"level\":\"very_high\","
                                 "\"strobe\":true,\"duration\":1800}}",
                .max = 400,
                .help = "What turns it on (Zigbee2MQTT's warning for a siren by default).",
        },
        {
                .section = "sounder",
                .repeated = true,
                .name = "off_payload",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config_sounder, off_payload),
                .default_value = "{\"warning\":{\"mode\":\"stop\",\"duration\":0}}",
                .max = 400,
                .help = "What turns it off.",
        },
        /* [relay NAME] */
        {
                .section = "relay",
                .repeated = true,
                .name = "output",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config_relay, output),
                .default_value = "building-sounder",
                .max = 64,
                .help = "The rules' [output] that drives this line.",
        },
        {
                .section = "relay",
                .repeated = true,
                .name = "chip",
                .type = CONFIG_TEXT,
                .offset = offsetof(struct config_relay, chip),
                .default_value = "",
                .max = 64,
                .may_be_empty = true,
                .help = "The GPIO chip: its name (gpiochip0), path or label.",
        },
        {
                .section = "relay",
                .repeated = true,
                .name = "line",
                .type = CONFIG_INTEGER,
                .offset = offsetof(struct config_relay, line),
                .default_value = "0",
                .min = 0,
                .max = 1023,
                .help = "The line's offset on the chip.",
        },
        {
                .section = "relay",
                .repeated = true,
                .name = "active_low",
                .type = CONFIG_BOOLEAN,
                .offset = offsetof(struct config_relay, active_low),
                .default_value = "no",
                .help = "yes when the line is low while the output is on.",
        },
        {
                .section = "relay",
                .repeated = true,
                .name = "safe_state",
                .type = CONFIG_BOOLEAN,
                .offset = offsetof(struct config_relay, safe_state),
                .default_value = "off",
                .help = "on or off: the output's state at start, before the rules decide, and "
                        "when the gateway stops.",
        },
};

_Static_assert(ARRAY_SIZE(config_keys) ==
                       CONFIG_KEY_COUNT + CONFIG_SOUNDER_KEY_COUNT + CONFIG_RELAY_KEY_COUNT,
               "CONFIG_KEY_COUNT, CONFIG_SOUNDER_KEY_COUNT and CONFIG_RELAY_KEY_COUNT in config.h");

/* The sections that may appear many times, as [KIND NAME]: each entry is a struct starting
 * with struct config_entry, in a growing array of struct config. */
struct config_repeated {
        const char *kind;
        const char *bare_name; /* the name of a bare [KIND]; NULL: a name is required */
        size_t first_key, n_keys;
        size_t entry_size, list_offset, count_offset;
        size_t max;
};

static const struct config_repeated repeated_kinds[] = {
        {"sounder", "sounder", CONFIG_KEY_COUNT, CONFIG_SOUNDER_KEY_COUNT,
         sizeof(struct config_sounder), offsetof(struct config, sounders),
         offsetof(struct config, n_sounders), CONFIG_SOUNDERS_MAX},
        {"relay", NULL, CONFIG_KEY_COUNT + CONFIG_SOUNDER_KEY_COUNT, CONFIG_RELAY_KEY_COUNT,
         sizeof(struct config_relay), offsetof(struct config, relays),
         offsetof(struct config, n_relays), CONFIG_RELAYS_MAX},
};

static size_t *repeated_count(struct config *c, const struct config_repeated *k)
{
        return (size_t *)((char *)c + k->count_offset);
}

static void **repeated_list(struct config *c, const struct config_repeated *k)
{
        return (void **)((char *)c + k->list_offset);
}

static struct config_entry *repeated_entry(struct config *c, const struct config_repeated *k,
                                           size_t i)
{
        return (struct config_entry *)((char *)*repeated_list(c, k) + i * k->entry_size);
}

static const struct config_entry *repeated_entry_const(const struct config *c,
                                                       const struct config_repeated *k, size_t i)
{
        return repeated_entry((struct config *)(uintptr_t)c, k, i);
}

static const struct config_repeated *repeated_kind_of(const char *section);

#define KEY_NONE SIZE_MAX

/* Room for a reason config_set() gives, the value quoted in it included. */
#define WHY_MAX 1024

/* The state of one config_load(), shared by the section and key callbacks. */
struct config_parse {
        struct config *c;
        struct diag *d;
        const char *path; /* as the caller gave it, for messages */
        char *dir;        /* absolute directory of path, for relative paths */
};

static bool config_key_is_string(const struct config_key *k)
{
        switch (k->type) {
        case CONFIG_PATH:
        case CONFIG_GATEWAY_ID:
        case CONFIG_REGEX:
        case CONFIG_TEXT:
                return true;
        case CONFIG_INTEGER:
        case CONFIG_LOG_LEVEL:
        case CONFIG_BOOLEAN:
                return false;
        }
        return false;
}

/* @base is the struct config, or for a repeated key its struct config_sounder. */
static void *config_field(void *base, const struct config_key *k)
{
        return (char *)base + k->offset;
}

/* The kind of a section header: "sounder kitchen" is of kind "sounder". */
static size_t section_kind_len(const char *section)
{
        return strcspn(section, " \t");
}

static bool section_is(const char *section, const char *kind)
{
        size_t len = section_kind_len(section);

        return strlen(kind) == len && strncmp(section, kind, len) == 0;
}

static size_t config_key_find(const char *section, const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
                if (section_is(section, config_keys[i].section) &&
                    strcmp(config_keys[i].name, name) == 0)
                        return i;
        return KEY_NONE;
}

static bool config_section_known(const char *section)
{
        for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
                if (strcmp(config_keys[i].section, section) == 0)
                        return true;
        return false;
}

static void config_report_unknown_section(struct config_parse *p, const char *section,
                                          unsigned line)
{
        for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
                if (inifile_similar(section, config_keys[i].section)) {
                        diag_add(p->d, p->path, line, "unknown section [%s]; did you mean [%s]?",
                                 section, config_keys[i].section);
                        return;
                }
        }
        diag_add(p->d, p->path, line, "unknown section [%s]", section);
}

static void config_report_unknown_key(struct config_parse *p, const char *section, const char *name,
                                      unsigned line)
{
        const struct config_key *elsewhere = NULL, *typo = NULL;

        for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
                const struct config_key *k = &config_keys[i];

                if (strcmp(k->name, name) == 0)
                        elsewhere = k;
                else if (!typo && section_is(section, k->section) && inifile_similar(name, k->name))
                        typo = k;
        }
        if (!*section)
                diag_add(p->d, p->path, line, "key '%s' comes before any [section]%s%s%s", name,
                         elsewhere ? "; it belongs in [" : "", elsewhere ? elsewhere->section : "",
                         elsewhere ? "]" : "");
        else if (elsewhere)
                diag_add(p->d, p->path, line, "unknown key '%s' in [%s]; it belongs in [%s]", name,
                         section, elsewhere->section);
        else if (typo)
                diag_add(p->d, p->path, line, "unknown key '%s' in [%s]; did you mean '%s'?", name,
                         section, typo->name);
        else
                diag_add(p->d, p->path, line, "unknown key '%s' in [%s]", name, section);
}

static void config_expected(const struct config_key *k, char *buf, size_t len)
{
        switch (k->type) {
        case CONFIG_PATH:
                snprintf(buf, len, "a path of at most %ld characters%s", k->max,
                         k->derived_file ? ", or nothing for the default under state_dir" : "");
                return;
        case CONFIG_INTEGER:
                snprintf(buf, len, "an integer from %ld to %ld%s", k->min, k->max,
                         k->size_suffixes ? ", optionally with a K, M or G suffix" : "");
                return;
        case CONFIG_LOG_LEVEL:
                snprintf(buf, len, "one of error, warning, notice, info, debug");
                return;
        case CONFIG_BOOLEAN:
                snprintf(buf, len, "yes or no");
                return;
        case CONFIG_GATEWAY_ID:
                snprintf(buf, len, "1 to %d of the characters A-Z a-z 0-9 . _ -", GATEWAY_ID_MAX);
                return;
        case CONFIG_REGEX:
                snprintf(buf, len, "a POSIX extended regular expression");
                return;
        case CONFIG_TEXT:
                snprintf(buf, len, "text of at most %ld characters, without control characters",
                         k->max);
                return;
        }
}

static int replace_string(char **field, const char *value)
{
        char *copy = strdup(value);

        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

/* Joins @value to @dir unless it is absolute; "./" prefixes are dropped so the result reads as
 * a person would write it. Returns a new string or NULL when out of memory. */
static char *path_resolve(const char *dir, const char *value)
{
        size_t dir_len = strlen(dir);
        char *out;

        if (value[0] == '/')
                return strdup(value);
        while (value[0] == '.' && value[1] == '/') {
                value += 2;
                while (*value == '/')
                        value++;
        }
        if (!*value || strcmp(value, ".") == 0)
                return strdup(dir);
        if (asprintf(&out, "%s%s%s", dir, dir_len && dir[dir_len - 1] == '/' ? "" : "/", value) < 0)
                return NULL;
        return out;
}

static int config_set_path(char **field, const struct config_key *k, const char *value,
                           const char *dir, char *why, size_t why_len)
{
        char *path;
        size_t len;

        if (!*value) {
                /* Only derived paths get here: config_derive() fills them in at the end. */
                free(*field);
                *field = NULL;
                return 0;
        }
        path = path_resolve(dir, value);
        if (!path)
                return -ENOMEM;
        len = strlen(path);
        while (len > 1 && path[len - 1] == '/')
                path[--len] = '\0';
        if (len > (size_t)k->max) {
                snprintf(why, why_len, "%s is too long: %zu characters%s, at most %ld", k->name,
                         len, value[0] == '/' ? "" : " once made absolute", k->max);
                free(path);
                return -EINVAL;
        }
        free(*field);
        *field = path;
        return 0;
}

/* Returns 0, -EINVAL for text that is not an integer, or -ERANGE. */
static int parse_integer(const struct config_key *k, const char *value, long *out)
{
        static const char units[] = "KMG";
        long n, unit = 1;
        char *end;

        errno = 0;
        n = strtol(value, &end, 10);
        if (end == value)
                return -EINVAL;
        if (k->size_suffixes && *end) {
                const char *u = strchr(units, toupper((unsigned char)*end));

                if (u) {
                        unit = 1L << (10 * (u - units + 1));
                        end++;
                }
        }
        if (*end)
                return -EINVAL;
        if (errno == ERANGE || n > LONG_MAX / unit || n < LONG_MIN / unit)
                return -ERANGE;
        n *= unit;
        if (n < k->min || n > k->max)
                return -ERANGE;
        *out = n;
        return 0;
}

/* 1 for yes, true, on, 1; 0 for no, false, off, 0 (any case); -EINVAL otherwise. */
static int parse_boolean(const char *value)
{
        static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false",
                                                                                    "off", "0"};

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                if (strcasecmp(value, yes[i]) == 0)
                        return 1;
                if (strcasecmp(value, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* Sets the field of @k from @value, text as in the file. Returns 0, -ENOMEM, or -EINVAL with
 * the reason in @why. */
static int config_set(void *base, const struct config_key *k, const char *value, const char *dir,
                      char *why, size_t why_len)
{
        void *field = config_field(base, k);
        char expected[128], reason[128];
        regex_t re;
        int r;

        config_expected(k, expected, sizeof(expected));
        if (!*value && k->may_be_empty)
                return replace_string(field, value);
        if (!*value && !k->derived_file) {
                snprintf(why, why_len, "empty value for %s: expected %s", k->name, expected);
                return -EINVAL;
        }
        switch (k->type) {
        case CONFIG_PATH:
                return config_set_path(field, k, value, dir, why, why_len);
        case CONFIG_INTEGER:
                r = parse_integer(k, value, field);
                if (r == -ERANGE)
                        snprintf(why, why_len, "%s %s is out of range: expected %s", k->name, value,
                                 expected);
                else if (r < 0)
                        snprintf(why, why_len, "invalid %s '%s': expected %s", k->name, value,
                                 expected);
                return r < 0 ? -EINVAL : 0;
        case CONFIG_LOG_LEVEL:
                r = log_level_from_string(value);
                if (r < 0) {
                        snprintf(why, why_len, "invalid %s '%s': expected %s", k->name, value,
                                 expected);
                        return -EINVAL;
                }
                *(int *)field = r;
                return 0;
        case CONFIG_BOOLEAN:
                r = parse_boolean(value);
                if (r < 0) {
                        snprintf(why, why_len, "invalid %s '%s': expected %s", k->name, value,
                                 expected);
                        return -EINVAL;
                }
                *(bool *)field = r;
                return 0;
        case CONFIG_GATEWAY_ID:
                if (strlen(value) > GATEWAY_ID_MAX ||
                    value[strspn(value, GATEWAY_ID_CHARS)] != '\0') {
                        snprintf(why, why_len, "invalid %s '%s': expected %s", k->name, value,
                                 expected);
                        return -EINVAL;
                }
                return replace_string(field, value);
        case CONFIG_TEXT:
                for (const char *p = value; *p; p++)
                        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                                snprintf(why, why_len, "invalid %s: control characters", k->name);
                                return -EINVAL;
                        }
                if ((long)strlen(value) > k->max) {
                        snprintf(why, why_len, "%s is too long: expected %s", k->name, expected);
                        return -EINVAL;
                }
                return replace_string(field, value);
        case CONFIG_REGEX:
                r = regcomp(&re, value, REG_EXTENDED | REG_NOSUB);
                if (r == REG_ESPACE)
                        return -ENOMEM;
                if (r != 0) {
                        regerror(r, &re, reason, sizeof(reason));
                        snprintf(why, why_len, "invalid %s '%s': %s", k->name, value, reason);
                        return -EINVAL;
                }
                regfree(&re);
                return replace_string(field, value);
        }
        return -EINVAL;
}

/* Fills the derived paths the file left empty or unset. Returns 0 or -ENOMEM. */
static int config_derive(struct config *c)
{
        size_t len = strlen(c->state_dir);

        for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
                const struct config_key *k = &config_keys[i];
                char **field = config_field(c, k);

                if (!k->derived_file || *field)
                        continue;
                if (asprintf(field, "%s%s%s", c->state_dir,
                             len && c->state_dir[len - 1] == '/' ? "" : "/", k->derived_file) < 0) {
                        *field = NULL;
                        return -ENOMEM;
                }
        }
        return 0;
}

/* The defaults before config_derive(), so that a state_dir from the file still moves the
 * derived paths. NULL when out of memory, or when a default in the table is invalid, which
 * the unit tests rule out. */
static struct config *config_alloc_defaults(void)
{
        struct config *c = calloc(1, sizeof(*c));
        char why[WHY_MAX];

        if (!c)
                return NULL;
        for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
                if (config_set(c, &config_keys[i], config_keys[i].default_value, "/", why,
                               sizeof(why)) < 0) {
                        config_free(c);
                        return NULL;
                }
        }
        return c;
}

struct config *config_new_defaults(void)
{
        struct config *c = config_alloc_defaults();

        if (c && config_derive(c) < 0) {
                config_free(c);
                return NULL;
        }
        return c;
}

void config_free(struct config *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
                if (config_key_is_string(&config_keys[i]))
                        free(*(char **)config_field(c, &config_keys[i]));
        for (size_t k = 0; k < ARRAY_SIZE(repeated_kinds); k++) {
                const struct config_repeated *kind = &repeated_kinds[k];

                for (size_t e = 0; e < *repeated_count(c, kind); e++) {
                        struct config_entry *entry = repeated_entry(c, kind, e);

                        for (size_t i = kind->first_key; i < kind->first_key + kind->n_keys; i++)
                                if (config_key_is_string(&config_keys[i]))
                                        free(*(char **)config_field(entry, &config_keys[i]));
                        free(entry->name);
                }
                free(*repeated_list(c, kind));
        }
        free(c->path);
        free(c);
}

static const struct config_repeated *repeated_kind_of(const char *section)
{
        for (size_t k = 0; k < ARRAY_SIZE(repeated_kinds); k++)
                if (section_is(section, repeated_kinds[k].kind))
                        return &repeated_kinds[k];
        return NULL;
}

/* A [KIND NAME] header: a new entry holding the defaults of its keys. */
static int config_add_entry(struct config_parse *p, const struct config_repeated *kind,
                            const char *section, unsigned line)
{
        const char *name = section + section_kind_len(section);
        struct config *c = p->c;
        size_t *n = repeated_count(c, kind);
        struct config_entry *entry;
        char why[WHY_MAX];
        void *grown;
        int r;

        name += strspn(name, " \t");
        if (!*name && kind->bare_name)
                name = kind->bare_name;
        if (!*name || strlen(name) > GATEWAY_ID_MAX ||
            name[strspn(name, GATEWAY_ID_CHARS)] != '\0') {
                diag_add(p->d, p->path, line,
                         "invalid %s name '%s': expected 1 to %d of the characters A-Z a-z "
                         "0-9 . _ -",
                         kind->kind, name, GATEWAY_ID_MAX);
                return -EINVAL;
        }
        for (size_t i = 0; i < *n; i++)
                if (strcmp(repeated_entry(c, kind, i)->name, name) == 0) {
                        diag_add(p->d, p->path, line, "duplicate [%s %s]: first at line %u",
                                 kind->kind, name, repeated_entry(c, kind, i)->line);
                        return -EINVAL;
                }
        if (*n == kind->max) {
                diag_add(p->d, p->path, line, "too many [%s] sections: at most %zu", kind->kind,
                         kind->max);
                return -EINVAL;
        }
        grown = realloc(*repeated_list(c, kind), (*n + 1) * kind->entry_size);
        if (!grown)
                return -ENOMEM;
        *repeated_list(c, kind) = grown;
        entry = repeated_entry(c, kind, *n);
        memset(entry, 0, kind->entry_size);
        entry->line = line;
        entry->name = strdup(name);
        (*n)++;
        if (!entry->name)
                return -ENOMEM;
        for (size_t i = kind->first_key; i < kind->first_key + kind->n_keys; i++) {
                r = config_set(entry, &config_keys[i], config_keys[i].default_value, "/", why,
                               sizeof(why));
                if (r < 0)
                        return r == -EINVAL ? -ENOMEM : r;
        }
        return 0;
}

static int config_section_ok(void *user, const char *section, unsigned line)
{
        struct config_parse *p = user;

        const struct config_repeated *kind = repeated_kind_of(section);

        if (kind)
                return config_add_entry(p, kind, section, line);
        if (config_section_known(section))
                return 0;
        config_report_unknown_section(p, section, line);
        return -EINVAL;
}

static int config_handle_key(void *user, const char *section, const char *name, const char *value,
                             unsigned line)
{
        struct config_parse *p = user;
        size_t i;
        char why[WHY_MAX];
        int r;

        void *base = p->c;
        unsigned *set_line;

        i = config_key_find(section, name);
        if (i == KEY_NONE) {
                config_report_unknown_key(p, section, name, line);
                return -EINVAL;
        }
        if (config_keys[i].repeated) {
                /* Keys come under the header config_add_entry() just accepted. */
                const struct config_repeated *kind = repeated_kind_of(section);
                struct config_entry *entry;

                if (!kind || !*repeated_count(p->c, kind))
                        return -EINVAL; /* unreachable: the header was accepted */
                entry = repeated_entry(p->c, kind, *repeated_count(p->c, kind) - 1);
                base = entry;
                set_line = &entry->set_line[i - kind->first_key];
        } else {
                set_line = &p->c->set_line[i];
        }
        if (*set_line) {
                diag_add(p->d, p->path, line, "duplicate key '%s' in [%s]: first set at line %u",
                         name, section, *set_line);
                return -EINVAL;
        }
        *set_line = line;
        r = config_set(base, &config_keys[i], value, p->dir, why, sizeof(why));
        if (r == -EINVAL)
                diag_add(p->d, p->path, line, "%s", why);
        return r;
}

/* A sounder's topic: where it is published, so no wildcards; {unit} and {floor} are the only
 * placeholders. Returns 0 or -EINVAL with the reason in @why. */
static int check_sounder_topic(const char *topic, char *why, size_t len)
{
        static const char *const placeholders[] = {"{unit}", "{floor}"};

        if (!*topic) {
                snprintf(why, len, "needs topic = the MQTT topic that commands it");
                return -EINVAL;
        }
        if (strpbrk(topic, "+#")) {
                snprintf(why, len, "topic '%s' has an MQTT wildcard (+ or #)", topic);
                return -EINVAL;
        }
        for (const char *b = strchr(topic, '{'); b; b = strchr(b + 1, '{')) {
                size_t i;

                for (i = 0; i < ARRAY_SIZE(placeholders); i++)
                        if (strncmp(b, placeholders[i], strlen(placeholders[i])) == 0)
                                break;
                if (i == ARRAY_SIZE(placeholders)) {
                        snprintf(why, len,
                                 "topic '%s': unknown placeholder at '%.20s' (expected "
                                 "{unit} or {floor})",
                                 topic, b);
                        return -EINVAL;
                }
        }
        return 0;
}

static int config_check_entries(struct config_parse *p)
{
        size_t topic = config_key_find("sounder", "topic") - CONFIG_KEY_COUNT,
               chip = config_key_find("relay", "chip") - CONFIG_KEY_COUNT -
                      CONFIG_SOUNDER_KEY_COUNT,
               line_key = config_key_find("relay", "line") - CONFIG_KEY_COUNT -
                          CONFIG_SOUNDER_KEY_COUNT;
        char why[WHY_MAX];
        int r = 0;

        for (size_t i = 0; i < p->c->n_sounders; i++) {
                const struct config_sounder *snd = &p->c->sounders[i];
                unsigned line =
                        snd->head.set_line[topic] ? snd->head.set_line[topic] : snd->head.line;

                if (check_sounder_topic(snd->topic, why, sizeof(why)) < 0) {
                        diag_add(p->d, p->path, line, "[sounder %s] %s", snd->head.name, why);
                        r = -EINVAL;
                }
        }
        for (size_t i = 0; i < p->c->n_relays; i++) {
                const struct config_relay *relay = &p->c->relays[i];

                if (!*relay->chip) {
                        diag_add(p->d, p->path, relay->head.line,
                                 "[relay %s] needs chip = the GPIO chip's name or label",
                                 relay->head.name);
                        r = -EINVAL;
                }
                if (!relay->head.set_line[line_key]) {
                        diag_add(p->d, p->path, relay->head.line,
                                 "[relay %s] needs line = the line's offset on the chip",
                                 relay->head.name);
                        r = -EINVAL;
                }
                for (size_t j = 0; j < i; j++) {
                        if (!*relay->chip || strcmp(p->c->relays[j].chip, relay->chip) != 0 ||
                            p->c->relays[j].line != relay->line)
                                continue;
                        diag_add(p->d, p->path,
                                 relay->head.set_line[chip] ? relay->head.set_line[chip]
                                                            : relay->head.line,
                                 "[relay %s] drives %s:%ld, as [relay %s] does", relay->head.name,
                                 relay->chip, relay->line, p->c->relays[j].head.name);
                        r = -EINVAL;
                }
        }
        return r;
}

static unsigned config_line(const struct config *c, const char *section, const char *name)
{
        size_t i = config_key_find(section, name);

        return i == KEY_NONE ? 0 : c->set_line[i];
}

size_t config_uplink_uris(const struct config *c, char **owned, const char **uris, size_t max)
{
        size_t n = 0;
        char *save = NULL;

        *owned = strdup(c->uplink_uris);
        if (!*owned)
                return 0;
        for (char *t = strtok_r(*owned, " \t", &save); t && n < max;
             t = strtok_r(NULL, " \t", &save))
                uris[n++] = t;
        return n;
}

static bool uri_is_plain(const char *uri)
{
        return strncmp(uri, "tcp://", 6) == 0 || strncmp(uri, "mqtt://", 7) == 0;
}

/* Each URI a scheme Paho takes and a host:port after it; tcp:// and missing client credentials
 * only with insecure = yes. */
static int config_check_uplink(struct config_parse *p)
{
        static const char *const schemes[] = {"ssl://", "mqtts://", "tcp://", "mqtt://"};
        const struct config *c = p->c;
        const char *uris[CONFIG_UPLINK_URIS_MAX + 1];
        char *owned = NULL;
        size_t n = config_uplink_uris(c, &owned, uris, CONFIG_UPLINK_URIS_MAX + 1);
        unsigned line = config_line(c, "uplink", "uris");
        bool tls = false, plain = false;
        int r = 0;

        if (!owned)
                return -ENOMEM;
        if (n > CONFIG_UPLINK_URIS_MAX) {
                diag_add(p->d, p->path, line, "too many uplink uris: at most %d",
                         CONFIG_UPLINK_URIS_MAX);
                r = -EINVAL;
        }
        for (size_t i = 0; i < n && i < CONFIG_UPLINK_URIS_MAX; i++) {
                const char *rest = NULL, *colon;
                size_t k;

                for (k = 0; k < ARRAY_SIZE(schemes) && !rest; k++)
                        if (strncmp(uris[i], schemes[k], strlen(schemes[k])) == 0)
                                rest = uris[i] + strlen(schemes[k]);
                colon = rest ? strrchr(rest, ':') : NULL;
                if (!rest || !colon || colon == rest || !colon[1] ||
                    colon[1 + strspn(colon + 1, "0123456789")] != '\0' ||
                    strtol(colon + 1, NULL, 10) < 1 || strtol(colon + 1, NULL, 10) > 65535) {
                        diag_add(p->d, p->path, line,
                                 "invalid uplink uri '%s': expected ssl://HOST:PORT (or tcp://, "
                                 "with insecure = yes)",
                                 uris[i]);
                        r = -EINVAL;
                        continue;
                }
                if (uri_is_plain(uris[i]))
                        plain = true;
                else
                        tls = true;
        }
        if (r == 0 && n && !c->uplink_insecure) {
                if (plain) {
                        diag_add(p->d, p->path, line,
                                 "uplink uris include plain tcp://: alarms would cross the network "
                                 "unencrypted; use ssl:// or set insecure = yes (tests only)");
                        r = -EINVAL;
                }
                if (tls && !*c->uplink_cafile) {
                        diag_add(p->d, p->path, line,
                                 "uplink over TLS needs cafile = the CA of the platform's broker");
                        r = -EINVAL;
                }
                if (!*c->uplink_certfile && !*c->uplink_password) {
                        diag_add(p->d, p->path, line,
                                 "uplink needs client credentials: certfile and keyfile, or "
                                 "username and password (insecure = yes allows none)");
                        r = -EINVAL;
                }
        }
        if (!*c->uplink_certfile != !*c->uplink_keyfile) {
                diag_add(p->d, p->path,
                         config_line(c, "uplink", *c->uplink_certfile ? "certfile" : "keyfile"),
                         "uplink certfile and keyfile go together");
                r = -EINVAL;
        }
        free(owned);
        return r;
}

/* [web]: an address the desk can listen on, and plain HTTP only where it stays on the machine
 * or where someone said insecure = yes. */
static int config_check_web(struct config_parse *p)
{
        const struct config *c = p->c;
        struct sockaddr_storage addr;
        socklen_t len;
        int r = 0;

        if (web_parse_listen(c->web_listen, &addr, &len) < 0) {
                diag_add(p->d, p->path, config_line(c, "web", "listen"),
                         "invalid web listen '%s': expected IPv4:PORT or [IPv6]:PORT",
                         c->web_listen);
                return -EINVAL;
        }
        if (!*c->web_certfile != !*c->web_keyfile) {
                diag_add(p->d, p->path,
                         config_line(c, "web", *c->web_certfile ? "certfile" : "keyfile"),
                         "web certfile and keyfile go together");
                r = -EINVAL;
        }
        if (!*c->web_certfile && !c->web_insecure && !web_is_loopback((struct sockaddr *)&addr)) {
                diag_add(p->d, p->path, config_line(c, "web", "listen"),
                         "web listen = %s without certfile would send passwords in clear: set "
                         "certfile and keyfile, or insecure = yes",
                         c->web_listen);
                r = -EINVAL;
        }
        return r;
}

size_t config_uplink_warnings(const struct config *c, FILE *out, const char *prefix)
{
        const char *uris[CONFIG_UPLINK_URIS_MAX];
        char *owned = NULL;
        size_t n = config_uplink_uris(c, &owned, uris, CONFIG_UPLINK_URIS_MAX), said = 0;

        if (!*c->uplink_uris) {
                fprintf(out, "%sno uplink uris: alerts are kept in the outbox and reach no one\n",
                        prefix);
                said++;
        }
        for (size_t i = 0; i < n; i++)
                if (uri_is_plain(uris[i])) {
                        fprintf(out,
                                "%suplink %s is plain MQTT: alarms cross the network "
                                "unencrypted (insecure = yes)\n",
                                prefix, uris[i]);
                        said++;
                }
        if (n && !*c->uplink_certfile && !*c->uplink_password) {
                fprintf(out, "%suplink connects without client credentials (insecure = yes)\n",
                        prefix);
                said++;
        }
        free(owned);
        return said;
}

/* The absolute directory of @path into *@dir. Returns 0 or a negative errno. */
static int config_dir_of(const char *path, char **dir)
{
        const char *slash = strrchr(path, '/');
        char *cwd, *part;

        if (path[0] == '/') {
                *dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
                return *dir ? 0 : -ENOMEM;
        }
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return -errno;
        part = strndup(path, slash ? (size_t)(slash - path) : 0);
        *dir = part ? path_resolve(cwd, part) : NULL;
        free(part);
        free(cwd);
        return *dir ? 0 : -ENOMEM;
}

/* config_load() of @path, or with @text of config_load_text() when it is not NULL. */
static int config_load_from(const char *path, const char *text, size_t len, struct diag *d,
                            struct config **out)
{
        static const struct inifile_ops ops = {
                .section_ok = config_section_ok,
                .key = config_handle_key,
        };
        struct config_parse p = {.d = d, .path = path};
        int r;

        *out = NULL;
        r = config_dir_of(path, &p.dir);
        if (r < 0) {
                diag_add(d, path, 0, "cannot resolve relative paths: %s", strerror(-r));
                return r;
        }
        p.c = config_alloc_defaults();
        if (!p.c) {
                r = -ENOMEM;
                goto out_free_dir;
        }
        p.c->path = strdup(path);
        if (!p.c->path) {
                r = -ENOMEM;
                goto out_free_config;
        }
        if (!text)
                r = inifile_parse(path, CONFIG_FILE_MAX, &ops, &p, d);
        else if (len > CONFIG_FILE_MAX)
                r = -EFBIG;
        else
                r = inifile_parse_text(path, text, len, &ops, &p, d);
        if (r == -EFBIG && text)
                diag_add(d, path, 0, "too large: %zu bytes, at most %d", len, CONFIG_FILE_MAX);
        if (r == 0 || r == -EINVAL)
                r = config_check_entries(&p) < 0 ? -EINVAL : r;
        if (r == 0 || r == -EINVAL)
                r = config_check_uplink(&p) < 0 ? -EINVAL : r;
        if (r == 0 || r == -EINVAL)
                r = config_check_web(&p) < 0 ? -EINVAL : r;
        if (r < 0)
                goto out_free_config;
        r = config_derive(p.c);
        if (r < 0)
                goto out_free_config;
        *out = p.c;
        p.c = NULL;
out_free_config:
        config_free(p.c);
out_free_dir:
        free(p.dir);
        return r;
}

int config_load(const char *path, struct diag *d, struct config **out)
{
        return config_load_from(path, NULL, 0, d, out);
}

int config_load_text(const char *path, const char *text, size_t len, struct diag *d,
                     struct config **out)
{
        return config_load_from(path, text, len, d, out);
}

static void config_print_value(const void *base, const struct config_key *k, FILE *out)
{
        const void *field = (const char *)base + k->offset;
        const char *s;

        switch (k->type) {
        case CONFIG_PATH:
        case CONFIG_GATEWAY_ID:
        case CONFIG_REGEX:
        case CONFIG_TEXT:
                s = *(char *const *)field;
                fprintf(out, "%s = %s\n", k->name, s ? s : "");
                return;
        case CONFIG_INTEGER:
                fprintf(out, "%s = %ld\n", k->name, *(const long *)field);
                return;
        case CONFIG_LOG_LEVEL:
                fprintf(out, "%s = %s\n", k->name, log_level_to_string(*(const int *)field));
                return;
        case CONFIG_BOOLEAN:
                fprintf(out, "%s = %s\n", k->name, *(const bool *)field ? "yes" : "no");
                return;
        }
}

static void config_print_key(const struct config *c, const struct config_key *k, const void *base,
                             unsigned set_line, FILE *out)
{
        fprintf(out, "# %s\n", k->help);
        if (set_line)
                fprintf(out, "# set in %s:%u\n", c->path ? c->path : "?", set_line);
        else
                fprintf(out, "# default\n");
        config_print_value(base, k, out);
}

void config_print(const struct config *c, FILE *out)
{
        const char *section = NULL;

        if (c->path)
                fprintf(out, "# firegate settings in effect: %s over the embedded defaults.\n",
                        c->path);
        else
                fprintf(out, "# firegate settings in effect: the embedded defaults.\n");
        for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
                const struct config_key *k = &config_keys[i];

                if (!section || strcmp(section, k->section) != 0) {
                        section = k->section;
                        fprintf(out, "\n[%s]\n", section);
                }
                config_print_key(c, k, c, c->set_line[i], out);
        }
        for (size_t k = 0; k < ARRAY_SIZE(repeated_kinds); k++) {
                const struct config_repeated *kind = &repeated_kinds[k];
                size_t n = *repeated_count((struct config *)(uintptr_t)c, kind);

                if (!n)
                        fprintf(out, "\n# No [%s NAME] section.\n", kind->kind);
                for (size_t e = 0; e < n; e++) {
                        const struct config_entry *entry = repeated_entry_const(c, kind, e);

                        fprintf(out, "\n[%s %s]\n", kind->kind, entry->name);
                        for (size_t i = kind->first_key; i < kind->first_key + kind->n_keys; i++)
                                config_print_key(c, &config_keys[i], entry,
                                                 entry->set_line[i - kind->first_key], out);
                }
        }
}

const char *config_where(const struct config *c, const char *section, const char *name, char *buf,
                         size_t size)
{
        for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
                if (strcmp(config_keys[i].section, section) != 0 ||
                    strcmp(config_keys[i].name, name) != 0)
                        continue;
                if (c->set_line[i] && c->path)
                        snprintf(buf, size, "%s:%u: %s.%s", c->path, c->set_line[i], section, name);
                else
                        snprintf(buf, size, "%s.%s (embedded default)", section, name);
                return buf;
        }
        snprintf(buf, size, "%s.%s", section, name);
        return buf;
}
