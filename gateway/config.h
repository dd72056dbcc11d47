/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config: the gateway's one configuration file, INI as systemd units are, read with libinih.
 *
 * Every key lives in one table (section, name, type, range, default, help); the parser walks
 * the table, never a chain of strcmp. Errors are "file:line: message", all of them collected in
 * a diag before config_load() fails; an unknown section or key is an error. Relative paths are
 * taken relative to the directory of the config file. Keys left unset keep the embedded
 * defaults, which are what a gateway runs with when no file exists.
 *
 * struct config is plain data, not an opaque object: it is filled once and then only read.
 */
#ifndef FIREGATE_CONFIG_H
#define FIREGATE_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"

#define CONFIG_DEFAULT_PATH "/etc/firegate/firegate.conf"
#define CONFIG_ENV          "FIREGATE_CONFIG"

/* Number of keys in config.c's table; a static assertion there keeps the two equal. */
#define CONFIG_KEY_COUNT 38
/* Keys of the sections that may appear many times, [sounder NAME] and [relay NAME]: the last
 * ones in config.c's table. */
#define CONFIG_SOUNDER_KEY_COUNT 4
#define CONFIG_RELAY_KEY_COUNT   5
#define CONFIG_ENTRY_KEYS_MAX    5
/* The most server URIs [uplink] uris may list. */
#define CONFIG_UPLINK_URIS_MAX 8
/* The most [sounder NAME] and [relay NAME] sections a config may hold, each. */
#define CONFIG_SOUNDERS_MAX 64
#define CONFIG_RELAYS_MAX   64

/* What every [KIND NAME] section has. */
struct config_entry {
        char *name;    /* NAME; for a bare [sounder], "sounder" */
        unsigned line; /* of its header */
        unsigned set_line[CONFIG_ENTRY_KEYS_MAX];
};

/* An MQTT sounder: a Zigbee2MQTT siren, or any device that takes a command on a topic. It
 * follows one of the rules' [output] sections. The topic may hold {unit} and {floor}, filled in
 * from the output's zone, so one section serves the siren of every unit when its output
 * follows each-unit (docs/daemon.md). */
struct config_sounder {
        struct config_entry head;
        char *output;      /* output = ; default building-sounder */
        char *topic;       /* topic = ; required */
        char *on_payload;  /* on_payload = ; Zigbee2MQTT's siren warning by default */
        char *off_payload; /* off_payload = */
};

/* An output on a GPIO line (a bell, a door release, a ventilation stop) that follows one of
 * the rules' [output] sections: active while it is on. */
struct config_relay {
        struct config_entry head;
        char *output;    /* output = ; default building-sounder */
        char *chip;      /* chip = ; gpiochip name, path or label; required */
        long line;       /* line = ; 0..1023, required */
        bool active_low; /* active_low = ; default no */
        bool safe_state; /* safe_state = ; on or off (default): at start and at stop */
};

struct config {
        char *path; /* the file read, or NULL when running on embedded defaults */

        /* [gateway] */
        char *gateway_id;      /* id = ; [A-Za-z0-9._-], 1..64 characters */
        char *state_dir;       /* state_dir = ; default /var/lib/firegate */
        char *database;        /* database = ; default <state_dir>/firegate.db */
        char *identity_secret; /* identity_secret = ; default <state_dir>/identity.secret */
        int log_level;         /* log_level = error|warning|notice|info|debug; default info */

        /* [registry] */
        char *authority_key;       /* authority_key = ; default /etc/firegate/authority.pub */
        char *location_id_pattern; /* location_id_pattern = ; POSIX ERE, default ^[0-9]{12}$ */
        long bundle_max_bytes;     /* bundle_max_bytes = ; 1 KiB .. 1 GiB, default 16 MiB */

        /* [rules] */
        char *rules_dir; /* dir = ; default /etc/firegate/rules */

        /* [broker]: the building's MQTT broker */
        char *broker_host;         /* host = ; default 127.0.0.1 */
        long broker_port;          /* port = ; default 1883 */
        char *broker_username;     /* username = ; empty: none */
        char *broker_password;     /* password = ; empty: none */
        char *broker_cafile;       /* cafile = ; empty: plain MQTT */
        long broker_keepalive_s;   /* keepalive_s = ; default 30 */
        long broker_fault_after_s; /* fault_after_s = ; 10..100, default 60 */

        /* [bridges] */
        char *z2m_base;       /* zigbee2mqtt_base = ; default zigbee2mqtt */
        char *esphome_prefix; /* esphome_prefix = ; empty by default */
        char *generic_prefix; /* generic_prefix = ; default firegate/detectors */

        /* [sounder NAME], any number of them in file order; none by default */
        struct config_sounder *sounders;
        size_t n_sounders;
        /* [relay NAME], any number of them in file order; none by default */
        struct config_relay *relays;
        size_t n_relays;

        /* [control] */
        char *runtime_dir; /* runtime_dir = ; default /run/firegate: the control socket's home */

        /* [uplink]: the city platform's broker (docs/uplink.md) */
        char *uplink_uris;       /* uris = ; server URIs separated by spaces; empty: off */
        char *uplink_cafile;     /* cafile = ; CA of the platform's broker */
        char *uplink_certfile;   /* certfile = ; this gateway's client certificate */
        char *uplink_keyfile;    /* keyfile = ; its key */
        char *uplink_username;   /* username = */
        char *uplink_password;   /* password = */
        bool uplink_insecure;    /* insecure = ; allows tcp:// and connections without client
                                    credentials */
        long uplink_keepalive_s; /* keepalive_s = ; default 30 */
        long heartbeat_s;        /* heartbeat_s = ; default 30 */
        long stats_interval_s;   /* stats_interval_s = ; default 300 */
        long outbox_max;         /* outbox_max = ; pending rows before statistics coalesce */
        char *platform_account;  /* platform_account = ; whose commands are accepted */
        long command_max_age_s;  /* command_max_age_s = ; default 60 */

        /* [web]: the desk page, firegate web (docs/desk.md) */
        char *web_listen;   /* listen = ; default 127.0.0.1:8443 */
        char *web_certfile; /* certfile = ; empty: plain HTTP (loopback or insecure only) */
        char *web_keyfile;  /* keyfile = */
        char *web_root;     /* root = ; the page's files, default FIREGATE_WWW_DIR */
        bool web_insecure;  /* insecure = ; plain HTTP off loopback */

        /* The line of @path that set each key, in the order config_print() writes them; 0 when
         * the key kept its default. Written by config_load(), read by config_print(). */
        unsigned set_line[CONFIG_KEY_COUNT];
};

/* Returns a new config holding the embedded defaults, or NULL when out of memory. */
struct config *config_new_defaults(void);

/* Reads @path over the embedded defaults. Each problem is added to @d as "path:line: message";
 * returns 0 with *@out set, -EINVAL when the file has errors (all of them in @d), or the
 * negative errno when the file cannot be read (also added to @d). */
int config_load(const char *path, struct diag *d, struct config **out);

/* The same over @len bytes of @text, read as the contents of @path: relative paths are taken
 * from @path's directory and messages name @path. For a config being edited, checked before it
 * is written. */
int config_load_text(const char *path, const char *text, size_t len, struct diag *d,
                     struct config **out);

/* Frees @c; NULL is a no-op. */
void config_free(struct config *c);

/* Where the value of @section.@name came from, for messages about it: "file:line: section.name",
 * or "section.name (embedded default)". Writes into @buf and returns it. */
const char *config_where(const struct config *c, const char *section, const char *name, char *buf,
                         size_t size);

/* The uplink's server URIs, split at spaces into @uris (pointers into a copy the caller frees
 * in *@owned). Returns how many, at most @max. */
size_t config_uplink_uris(const struct config *c, char **owned, const char **uris, size_t max);

/* What weakens the uplink, as lines written to @out, each prefixed by @prefix: no uplink at
 * all, and what insecure = yes allowed (a tcp:// URI, no client credentials). Returns how
 * many. */
size_t config_uplink_warnings(const struct config *c, FILE *out, const char *prefix);

/* Prints every setting as an INI file that config_load() accepts, each key with a comment that
 * says whether it is the default. */
void config_print(const struct config *c, FILE *out);

#endif
