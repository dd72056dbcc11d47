/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry: the building's records as the store keeps them (building, installer zones, units,
 * residents, detectors) and the rules for taking a checked bundle into the store: all records
 * or none, a newer revision replaces an older one and never the reverse, an unsigned record
 * never replaces a verified one.
 *
 * The record structs are plain data. Their strings are borrowed from whoever made the record
 * (the bundle keeps its parsed JSON alive for as long as its records are used).
 */
#ifndef FIREGATE_REGISTRY_H
#define FIREGATE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto.h"
#include "diag.h"
#include "identity.h"
#include "store.h"

enum registry_type {
        REGISTRY_BUILDING,
        REGISTRY_ZONE,
        REGISTRY_UNIT,
        REGISTRY_RESIDENT,
        REGISTRY_DETECTOR,
        REGISTRY_TYPE_COUNT,
};

/* "building", "zone", ... as used in signed messages and messages to people. */
const char *registry_type_name(enum registry_type t);

/* Rescue-relevant flags of a resident, as bits. */
enum registry_flag {
        REGISTRY_FLAG_BEDRIDDEN = 1u << 0,
        REGISTRY_FLAG_MOBILITY_IMPAIRED = 1u << 1,
        REGISTRY_FLAG_ELDERLY = 1u << 2,
        REGISTRY_FLAG_INFANT = 1u << 3,
        REGISTRY_FLAG_NEEDS_OXYGEN = 1u << 4,
};
#define REGISTRY_FLAG_COUNT 5

/* The bundle name of flag bit @i (0-based), e.g. "mobility_impaired". */
const char *registry_flag_name(unsigned i);

/* What every record carries besides its fields. */
struct registry_meta {
        int64_t revision;
        bool verified; /* signed, and the signature verified with the authority key */
        bool demo_key; /* ... and that key is a demo key */
        const char *key_id;
        uint8_t sha256[CRYPTO_SHA256_LEN]; /* over the signed message, signature excluded */
};

struct registry_building {
        const char *location_id, *name, *address;
        int floors_above, floors_below;
        struct registry_meta meta;
};

struct registry_zone {
        const char *zone_id, *building, *name;
        struct registry_meta meta;
};

struct registry_unit {
        const char *address_id, *building, *number;
        int floor;
        struct registry_meta meta;
};

struct registry_resident {
        const char *resident_id, *unit, *name, *phone; /* name and phone may be NULL */
        uint8_t citizen_hmac[IDENTITY_CITIZEN_HASH_LEN];
        char citizen_last4[5];
        unsigned flags; /* enum registry_flag bits */
        bool moved_out;
        struct registry_meta meta;
};

enum registry_detector_kind {
        REGISTRY_SMOKE,
        REGISTRY_HEAT,
        REGISTRY_MULTI,
        REGISTRY_CALL_POINT,
};

struct registry_detector {
        const char *detector_id, *building;
        enum registry_detector_kind kind;
        const char *heat_class; /* NULL unless heat or multi */
        const char *unit;       /* NULL for common areas */
        bool has_floor;
        int floor;
        const char *zone, *location; /* may be NULL */
        bool gpio;                   /* source: false = MQTT, true = GPIO */
        const char *bridge, *device; /* MQTT */
        const char *gpio_chip, *gpio_bias;
        int gpio_line, gpio_debounce_ms, gpio_fault_line; /* fault line -1 when none */
        bool gpio_active_low;
        int report_period_s; /* 0 when not declared */
        struct registry_meta meta;
};

/* The kind's name as in bundles and the store ("smoke", "heat", "multi", "call_point"). */
const char *registry_detector_kind_name(enum registry_detector_kind k);

/* Everything one import brings. */
struct registry_records {
        struct registry_building building;
        struct registry_zone *zones;
        size_t n_zones;
        struct registry_unit *units;
        size_t n_units;
        struct registry_resident *residents;
        size_t n_residents;
        struct registry_detector *detectors;
        size_t n_detectors;
};

/* What an import did, per record type. */
struct registry_counts {
        size_t inserted, updated, unchanged, skipped, unverified;
};

struct registry_import_result {
        struct registry_counts by_type[REGISTRY_TYPE_COUNT];
        struct registry_counts total;
};

/* Takes @recs into the store in one transaction. Records that cannot be taken (an unsigned
 * record over a verified one, a revision reused with other content, a unit or zone that is
 * neither in @recs nor stored, another building, an identity secret whose @secret_fingerprint
 * differs from the one the stored residents were hashed with) are each added to @refused, and then
 * nothing is written and -EBADMSG is returned. Older revisions are skipped, each noted in @notes.
 * @file_sha256 identifies the bundle in the import log. Returns 0, -EBADMSG, or the negative
 * errno of a store failure (logged by the store). */
int registry_import(struct store *s, const struct registry_records *recs,
                    const uint8_t file_sha256[CRYPTO_SHA256_LEN], const char *secret_fingerprint,
                    struct diag *refused, struct diag *notes,
                    struct registry_import_result *result);

/* Listings for people and programs. A filter field left NULL (or INT_MIN for floor) is not
 * applied. */
struct registry_filter {
        const char *unit;
        const char *kind;
        const char *zone;
        int floor;
        bool have_floor;
        const uint8_t *citizen_hmac; /* residents only: match this keyed hash */
};

/* Prepares the listing query for @type with @filter on the store's connection; the result's
 * column names are the field names shown to people and in JSON. A record verified by another key
 * than @key_id (the authority key configured now; NULL: not known) is shown as such. Returns 0
 * or a negative errno. */
int registry_list(struct store *s, enum registry_type type, const struct registry_filter *filter,
                  const char *key_id, sqlite3_stmt **out);

/* Counts for a summary line: units, residents (active), detectors, and how many of all records
 * are unverified, verified by a demo key, or verified by another key than @key_id (NULL: not
 * known). Returns 0 or a negative errno. */
struct registry_summary {
        char location_id[128];
        char name[256];
        bool have_building;
        long units, residents, detectors, zones, unverified, demo_verified, other_key;
};
int registry_summary(struct store *s, const char *key_id, struct registry_summary *out);

/* Checks that @fingerprint (of the identity secret in use) is the one the stored residents'
 * hashes were made with, and records it when the store has none yet (@write). Returns 0,
 * -EKEYREJECTED when it differs, or a negative errno from the store. */
int registry_check_secret(struct store *s, const char *fingerprint, bool write);

#endif
