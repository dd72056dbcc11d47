/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry: takes checked records into the store and lists them.
 *
 * An import is one transaction. Each record is compared with the stored one by revision and by
 * the SHA-256 of its signed content, so importing the same bundle twice writes nothing, a
 * newer revision replaces an older one, an older one is skipped and a reused revision with
 * other content is refused. References (a resident's unit, a detector's unit and zone) are
 * checked inside the transaction, after the records they may point at were written, so a
 * bundle may bring a unit and its residents together. Any refusal rolls everything back.
 */
#include "registry.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *const type_names[REGISTRY_TYPE_COUNT] = {
        [REGISTRY_BUILDING] = "building", [REGISTRY_ZONE] = "zone",
        [REGISTRY_UNIT] = "unit",         [REGISTRY_RESIDENT] = "resident",
        [REGISTRY_DETECTOR] = "detector",
};

static const char *const flag_names[REGISTRY_FLAG_COUNT] = {
        "bedridden", "mobility_impaired", "elderly", "infant", "needs_oxygen",
};

const char *registry_type_name(enum registry_type t)
{
        return t < REGISTRY_TYPE_COUNT ? type_names[t] : "?";
}

const char *registry_flag_name(unsigned i)
{
        return i < REGISTRY_FLAG_COUNT ? flag_names[i] : "?";
}

const char *registry_detector_kind_name(enum registry_detector_kind k)
{
        switch (k) {
        case REGISTRY_SMOKE:
                return "smoke";
        case REGISTRY_HEAT:
                return "heat";
        case REGISTRY_MULTI:
                return "multi";
        case REGISTRY_CALL_POINT:
                return "call_point";
        }
        return "?";
}

/* Where a record lives and how it is written. The upsert statement binds the record's own
 * columns first, then revision, verified, key_id, demo_key, record_sha256, imported_at. */
struct table {
        const char *section; /* bundle section, for messages */
        const char *select_sql;
        const char *upsert_sql;
};

#define META_COLS   "revision, verified, key_id, demo_key, record_sha256, imported_at"
#define META_VALUES "?, ?, ?, ?, ?, ?"
#define META_UPDATE                                                                                \
        "revision = excluded.revision, verified = excluded.verified, key_id = excluded.key_id, "   \
        "demo_key = excluded.demo_key, record_sha256 = excluded.record_sha256, "                   \
        "imported_at = excluded.imported_at"

static const struct table tables[REGISTRY_TYPE_COUNT] = {
        [REGISTRY_BUILDING] = {"building",
                               "SELECT revision, verified, record_sha256, key_id FROM building "
                               "WHERE location_id = ?",
                               "INSERT INTO building (location_id, name, address, floors_above, "
                               "floors_below, " META_COLS ") VALUES (?, ?, ?, ?, ?, " META_VALUES
                               ") ON CONFLICT (location_id) "
                               "DO UPDATE SET name = excluded.name, address = excluded.address, "
                               "floors_above = excluded.floors_above, floors_below = "
                               "excluded.floors_below, " META_UPDATE},
        [REGISTRY_ZONE] =
                {"zones",
                 "SELECT revision, verified, record_sha256, key_id FROM zone WHERE zone_id = ?",
                 "INSERT INTO zone (zone_id, building, name, " META_COLS
                 ") VALUES (?, ?, ?, " META_VALUES
                 ") ON CONFLICT (zone_id) DO UPDATE SET building = excluded.building, "
                 "name = excluded.name, " META_UPDATE},
        [REGISTRY_UNIT] =
                {"units",
                 "SELECT revision, verified, record_sha256, key_id FROM unit WHERE address_id = ?",
                 "INSERT INTO unit (address_id, building, floor, number, " META_COLS ") VALUES "
                 "(?, ?, ?, ?, " META_VALUES ") ON CONFLICT (address_id) DO UPDATE SET "
                 "building = excluded.building, floor = excluded.floor, number = "
                 "excluded.number, " META_UPDATE},
        [REGISTRY_RESIDENT] =
                {"residents",
                 "SELECT revision, verified, record_sha256, key_id FROM resident WHERE resident_id "
                 "= ?",
                 "INSERT INTO resident (resident_id, unit, citizen_hmac, citizen_last4, name, "
                 "phone, bedridden, mobility_impaired, elderly, infant, needs_oxygen, "
                 "moved_out, " META_COLS
                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " META_VALUES ") "
                 "ON CONFLICT (resident_id) DO UPDATE SET unit = excluded.unit, "
                 "citizen_hmac = excluded.citizen_hmac, citizen_last4 = excluded.citizen_last4, "
                 "name = excluded.name, phone = excluded.phone, bedridden = excluded.bedridden, "
                 "mobility_impaired = excluded.mobility_impaired, elderly = excluded.elderly, "
                 "infant = excluded.infant, needs_oxygen = excluded.needs_oxygen, "
                 "moved_out = excluded.moved_out, " META_UPDATE},
        [REGISTRY_DETECTOR] =
                {"detectors",
                 "SELECT revision, verified, record_sha256, key_id FROM detector WHERE detector_id "
                 "= ?",
                 "INSERT INTO detector (detector_id, building, kind, heat_class, unit, floor, "
                 "zone, "
                 "location, source, bridge, device, gpio_chip, gpio_line, gpio_active_low, "
                 "gpio_bias, gpio_debounce_ms, gpio_fault_line, report_period_s, " META_COLS ") "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " META_VALUES ") "
                 "ON CONFLICT (detector_id) DO UPDATE SET building = excluded.building, "
                 "kind = excluded.kind, heat_class = excluded.heat_class, unit = excluded.unit, "
                 "floor = excluded.floor, zone = excluded.zone, location = excluded.location, "
                 "source = excluded.source, bridge = excluded.bridge, device = excluded.device, "
                 "gpio_chip = excluded.gpio_chip, gpio_line = excluded.gpio_line, "
                 "gpio_active_low = excluded.gpio_active_low, gpio_bias = excluded.gpio_bias, "
                 "gpio_debounce_ms = excluded.gpio_debounce_ms, "
                 "gpio_fault_line = excluded.gpio_fault_line, "
                 "report_period_s = excluded.report_period_s, " META_UPDATE},
};

/* Prepared statements of one import. */
struct importer {
        struct store *store;
        sqlite3_stmt *select[REGISTRY_TYPE_COUNT];
        sqlite3_stmt *upsert[REGISTRY_TYPE_COUNT];
        sqlite3_stmt *unit_floor, *zone_exists;
        struct diag *refused, *notes;
        struct registry_import_result *res;
        sqlite3_int64 now;
};

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
        if (s)
                sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, i);
}

static void bind_meta(struct importer *im, sqlite3_stmt *st, int i, const struct registry_meta *m)
{
        sqlite3_bind_int64(st, i, m->revision);
        sqlite3_bind_int(st, i + 1, m->verified);
        bind_text(st, i + 2, m->key_id);
        sqlite3_bind_int(st, i + 3, m->demo_key);
        sqlite3_bind_blob(st, i + 4, m->sha256, CRYPTO_SHA256_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, i + 5, im->now);
}

static int bind_building(struct importer *im, sqlite3_stmt *st, const void *rec)
{
        const struct registry_building *b = rec;

        bind_text(st, 1, b->location_id);
        bind_text(st, 2, b->name);
        bind_text(st, 3, b->address);
        sqlite3_bind_int(st, 4, b->floors_above);
        sqlite3_bind_int(st, 5, b->floors_below);
        bind_meta(im, st, 6, &b->meta);
        return 0;
}

static int bind_zone(struct importer *im, sqlite3_stmt *st, const void *rec)
{
        const struct registry_zone *z = rec;

        bind_text(st, 1, z->zone_id);
        bind_text(st, 2, z->building);
        bind_text(st, 3, z->name);
        bind_meta(im, st, 4, &z->meta);
        return 0;
}

static int bind_unit(struct importer *im, sqlite3_stmt *st, const void *rec)
{
        const struct registry_unit *u = rec;

        bind_text(st, 1, u->address_id);
        bind_text(st, 2, u->building);
        sqlite3_bind_int(st, 3, u->floor);
        bind_text(st, 4, u->number);
        bind_meta(im, st, 5, &u->meta);
        return 0;
}

static int bind_resident(struct importer *im, sqlite3_stmt *st, const void *rec)
{
        const struct registry_resident *r = rec;

        bind_text(st, 1, r->resident_id);
        bind_text(st, 2, r->unit);
        sqlite3_bind_blob(st, 3, r->citizen_hmac, sizeof(r->citizen_hmac), SQLITE_STATIC);
        bind_text(st, 4, r->citizen_last4);
        bind_text(st, 5, r->name);
        bind_text(st, 6, r->phone);
        for (unsigned f = 0; f < REGISTRY_FLAG_COUNT; f++)
                sqlite3_bind_int(st, 7 + (int)f, !!(r->flags & (1u << f)));
        sqlite3_bind_int(st, 12, r->moved_out);
        bind_meta(im, st, 13, &r->meta);
        return 0;
}

/* A detector's floor is its unit's floor unless it names its own; a floor that contradicts the
 * unit would put a fire on the wrong floor on the desk's page and upstream. */
static int detector_floor(struct importer *im, const struct registry_detector *d, const char *where,
                          int *floor)
{
        int r = 0;

        *floor = d->floor;
        if (!d->unit)
                return 0;
        sqlite3_reset(im->unit_floor);
        bind_text(im->unit_floor, 1, d->unit);
        switch (sqlite3_step(im->unit_floor)) {
        case SQLITE_ROW:
                if (d->has_floor && d->floor != sqlite3_column_int(im->unit_floor, 0))
                        diag_add(im->refused, where, 0,
                                 "'floor' %d differs from the floor of unit %s (%d)", d->floor,
                                 d->unit, sqlite3_column_int(im->unit_floor, 0));
                *floor = sqlite3_column_int(im->unit_floor, 0);
                break;
        case SQLITE_DONE:
                diag_add(im->refused, where, 0, "unit %s is neither in this bundle nor stored",
                         d->unit);
                break;
        default:
                r = store_error(im->store, "looking up a unit");
        }
        sqlite3_reset(im->unit_floor);
        return r;
}

static int bind_detector(struct importer *im, sqlite3_stmt *st, const void *rec)
{
        const struct registry_detector *d = rec;

        (void)im;
        bind_text(st, 1, d->detector_id);
        bind_text(st, 2, d->building);
        bind_text(st, 3, registry_detector_kind_name(d->kind));
        bind_text(st, 4, d->heat_class);
        bind_text(st, 5, d->unit);
        /* A detector in a unit takes the unit's floor (see the schema). */
        if (d->unit)
                sqlite3_bind_null(st, 6);
        else
                sqlite3_bind_int(st, 6, d->floor);
        bind_text(st, 7, d->zone);
        bind_text(st, 8, d->location);
        bind_text(st, 9, d->gpio ? "gpio" : "mqtt");
        bind_text(st, 10, d->gpio ? NULL : d->bridge);
        bind_text(st, 11, d->gpio ? NULL : d->device);
        bind_text(st, 12, d->gpio ? d->gpio_chip : NULL);
        for (int i = 13; i <= 17; i++)
                sqlite3_bind_null(st, i);
        if (d->gpio) {
                sqlite3_bind_int(st, 13, d->gpio_line);
                sqlite3_bind_int(st, 14, d->gpio_active_low);
                bind_text(st, 15, d->gpio_bias);
                sqlite3_bind_int(st, 16, d->gpio_debounce_ms);
                if (d->gpio_fault_line >= 0)
                        sqlite3_bind_int(st, 17, d->gpio_fault_line);
        }
        if (d->report_period_s > 0)
                sqlite3_bind_int(st, 18, d->report_period_s);
        else
                sqlite3_bind_null(st, 18);
        bind_meta(im, st, 19, &d->meta);
        return 0;
}

typedef int (*bind_fn)(struct importer *im, sqlite3_stmt *st, const void *rec);

#define COUNT(im, t, field)                                                                        \
        do {                                                                                       \
                (im)->res->by_type[t].field++;                                                     \
                (im)->res->total.field++;                                                          \
        } while (0)

/* Compares an incoming record with the stored row @sel points at (revision, verified,
 * record_sha256, key_id). Returns 1 when the record must be written, 0 when it must not (counted,
 * noted or refused here), or a negative errno.
 *
 * Verification outranks revision: a verified record always replaces an unverified one, and an
 * unverified one never replaces a verified one (identical or older: skipped; newer: refused, as
 * it would lose verified data). Between records of the same standing the revision decides. */
static int compare_stored(struct importer *im, enum registry_type t, sqlite3_stmt *sel,
                          const struct registry_meta *m, const char *where)
{
        int64_t stored_rev = sqlite3_column_int64(sel, 0);
        bool stored_verified = sqlite3_column_int(sel, 1);
        bool same = sqlite3_column_bytes(sel, 2) == CRYPTO_SHA256_LEN &&
                    memcmp(sqlite3_column_blob(sel, 2), m->sha256, CRYPTO_SHA256_LEN) == 0;
        const char *stored_key = (const char *)sqlite3_column_text(sel, 3);

        if (m->verified && !stored_verified) {
                diag_add(im->notes, where, 0, "a verified record replaces the unverified one");
                COUNT(im, t, updated);
                return 1;
        }
        if (!m->verified && stored_verified) {
                if (same || m->revision <= stored_rev) {
                        diag_add(im->notes, where, 0,
                                 "unsigned copy of a verified record; kept the verified one");
                        COUNT(im, t, skipped);
                        return 0;
                }
                diag_add(im->refused, where, 0,
                         "unsigned, and a verified record is stored: an unverified record never "
                         "replaces a verified one");
                return 0;
        }
        if (m->revision < stored_rev) {
                diag_add(im->notes, where, 0,
                         "revision %" PRId64 " is older than the stored revision %" PRId64
                         "; kept the stored one",
                         m->revision, stored_rev);
                COUNT(im, t, skipped);
                return 0;
        }
        if (m->revision == stored_rev && !same) {
                diag_add(im->refused, where, 0,
                         "revision %" PRId64 " is already stored with different content; a "
                         "changed record needs a higher revision",
                         m->revision);
                return 0;
        }
        if (m->revision == stored_rev) {
                /* The same record, now verified by another key (the demo key replaced by the
                 * authority's, or a rotated key): record which key vouches for it. */
                if (m->verified && (!stored_key || strcmp(stored_key, m->key_id) != 0)) {
                        COUNT(im, t, updated);
                        return 1;
                }
                COUNT(im, t, unchanged);
                return 0;
        }
        COUNT(im, t, updated);
        return 1;
}

/* Decides what to do with one record and does it. */
static int import_one(struct importer *im, enum registry_type t, size_t index, const char *id,
                      const void *rec, const struct registry_meta *m, bind_fn bind)
{
        sqlite3_stmt *sel = im->select[t], *up = im->upsert[t];
        char where[200];
        int rc, r = 0;

        snprintf(where, sizeof(where), "%s[%zu] (%.64s)", tables[t].section, index, id);
        if (t == REGISTRY_BUILDING)
                snprintf(where, sizeof(where), "building (%.64s)", id);
        sqlite3_reset(sel);
        bind_text(sel, 1, id);
        rc = sqlite3_step(sel);
        if (rc == SQLITE_ROW) {
                int outcome = compare_stored(im, t, sel, m, where);

                sqlite3_reset(sel);
                if (outcome <= 0)
                        return outcome;
        } else if (rc == SQLITE_DONE) {
                sqlite3_reset(sel);
                COUNT(im, t, inserted);
        } else {
                sqlite3_reset(sel);
                return store_error(im->store, "reading the registry");
        }
        if (!m->verified)
                COUNT(im, t, unverified);
        sqlite3_reset(up);
        sqlite3_clear_bindings(up);
        bind(im, up, rec);
        rc = sqlite3_step(up);
        if (rc != SQLITE_DONE) {
                int ext = sqlite3_extended_errcode(store_db(im->store));

                /* A constraint names a problem with this record (two detectors on one GPIO
                 * line, say); anything else is the store failing. */
                if ((ext & 0xff) == SQLITE_CONSTRAINT)
                        diag_add(im->refused, where, 0, "cannot be stored: %s",
                                 sqlite3_errmsg(store_db(im->store)));
                else
                        r = store_error(im->store, "writing the registry");
        }
        sqlite3_reset(up);
        return r;
}

static int check_building(struct importer *im, const struct registry_building *b)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(im->store),
                               "SELECT location_id FROM building WHERE location_id <> ?", -1, &st,
                               NULL) != SQLITE_OK)
                return store_error(im->store, "reading the building");
        bind_text(st, 1, b->location_id);
        switch (sqlite3_step(st)) {
        case SQLITE_ROW:
                diag_add(im->refused, "building", 0,
                         "this gateway serves building %s; a bundle for building %s is refused",
                         (const char *)sqlite3_column_text(st, 0), b->location_id);
                break;
        case SQLITE_DONE:
                break;
        default:
                r = store_error(im->store, "reading the building");
        }
        sqlite3_finalize(st);
        return r;
}

static int check_ref(struct importer *im, sqlite3_stmt *st, const char *where, const char *what,
                     const char *id)
{
        int rc;

        sqlite3_reset(st);
        bind_text(st, 1, id);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
                diag_add(im->refused, where, 0, "%s %s is neither in this bundle nor stored", what,
                         id);
        else if (rc != SQLITE_ROW)
                return store_error(im->store, "checking a reference");
        return 0;
}

static int prepare(struct importer *im)
{
        sqlite3 *db = store_db(im->store);

        for (int t = 0; t < REGISTRY_TYPE_COUNT; t++)
                if (sqlite3_prepare_v2(db, tables[t].select_sql, -1, &im->select[t], NULL) !=
                            SQLITE_OK ||
                    sqlite3_prepare_v2(db, tables[t].upsert_sql, -1, &im->upsert[t], NULL) !=
                            SQLITE_OK)
                        return store_error(im->store, "preparing the import");
        if (sqlite3_prepare_v2(db, "SELECT floor FROM unit WHERE address_id = ?", -1,
                               &im->unit_floor, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db, "SELECT 1 FROM zone WHERE zone_id = ?", -1, &im->zone_exists,
                               NULL) != SQLITE_OK)
                return store_error(im->store, "preparing the import");
        return 0;
}

static void finalize(struct importer *im)
{
        for (int t = 0; t < REGISTRY_TYPE_COUNT; t++) {
                sqlite3_finalize(im->select[t]);
                sqlite3_finalize(im->upsert[t]);
        }
        sqlite3_finalize(im->unit_floor);
        sqlite3_finalize(im->zone_exists);
}

static int import_detectors(struct importer *im, const struct registry_records *recs)
{
        int r = 0;

        for (size_t i = 0; i < recs->n_detectors && r == 0; i++) {
                struct registry_detector d = recs->detectors[i];
                size_t refused = diag_count(im->refused);
                char where[200];

                snprintf(where, sizeof(where), "detectors[%zu] (%.64s)", i, d.detector_id);
                r = detector_floor(im, &d, where, &d.floor);
                if (r == 0 && d.zone)
                        r = check_ref(im, im->zone_exists, where, "zone", d.zone);
                /* A dangling reference is already said; storing would only repeat it as a
                 * foreign-key failure. */
                if (r == 0 && diag_count(im->refused) == refused)
                        r = import_one(im, REGISTRY_DETECTOR, i, d.detector_id, &d, &d.meta,
                                       bind_detector);
        }
        return r;
}

/* Checks across the whole registry as it will be after the import, for what one record cannot
 * show: floors that a changed building no longer has, and two detectors on one GPIO line. */
static int check_consistency(struct importer *im)
{
        static const char floors_sql[] =
                "SELECT 'unit ' || u.address_id || ' is on floor ' || u.floor FROM unit u, "
                "building b WHERE u.floor > b.floors_above OR u.floor < -b.floors_below UNION ALL "
                "SELECT 'detector ' || d.detector_id || ' is on floor ' || d.floor FROM detector "
                "d, building b WHERE d.floor IS NOT NULL AND (d.floor > b.floors_above OR d.floor "
                "< -b.floors_below) LIMIT 20";
        static const char gpio_sql[] =
                "SELECT 'detectors ' || a.detector_id || ' and ' || b.detector_id || ' share GPIO "
                "line ' || a.gpio_chip || ':' || CASE WHEN a.gpio_line IN (b.gpio_line, "
                "b.gpio_fault_line) THEN a.gpio_line ELSE a.gpio_fault_line END FROM detector a "
                "JOIN detector b ON a.gpio_chip = b.gpio_chip AND a.detector_id < b.detector_id "
                "WHERE a.source = 'gpio' AND b.source = 'gpio' AND (a.gpio_line IN (b.gpio_line, "
                "b.gpio_fault_line) OR a.gpio_fault_line IN (b.gpio_line, b.gpio_fault_line)) "
                "LIMIT 20";
        const char *const checks[] = {floors_sql, gpio_sql};
        const char *const why[] = {"which the building does not have", "one line, one detector"};

        for (size_t c = 0; c < 2; c++) {
                sqlite3_stmt *st = NULL;
                int rc;

                if (sqlite3_prepare_v2(store_db(im->store), checks[c], -1, &st, NULL) != SQLITE_OK)
                        return store_error(im->store, "checking the registry");
                while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                        diag_add(im->refused, "registry", 0, "%s, %s",
                                 (const char *)sqlite3_column_text(st, 0), why[c]);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE)
                        return store_error(im->store, "checking the registry");
        }
        return 0;
}

int registry_check_secret(struct store *s, const char *fingerprint, bool write)
{
        sqlite3_stmt *st = NULL;
        int rc, r = 0;

        if (sqlite3_prepare_v2(store_db(s),
                               "SELECT value FROM meta WHERE key = 'identity_secret_fingerprint'",
                               -1, &st, NULL) != SQLITE_OK)
                return store_error(s, "reading the identity secret's fingerprint");
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                if (strcmp((const char *)sqlite3_column_text(st, 0), fingerprint) != 0)
                        r = -EKEYREJECTED;
        } else if (rc != SQLITE_DONE) {
                r = store_error(s, "reading the identity secret's fingerprint");
        } else if (write) {
                sqlite3_finalize(st);
                st = NULL;
                if (sqlite3_prepare_v2(store_db(s),
                                       "INSERT INTO meta (key, value) VALUES "
                                       "('identity_secret_fingerprint', ?)",
                                       -1, &st, NULL) != SQLITE_OK)
                        return store_error(s, "recording the identity secret's fingerprint");
                bind_text(st, 1, fingerprint);
                if (sqlite3_step(st) != SQLITE_DONE)
                        r = store_error(s, "recording the identity secret's fingerprint");
        }
        sqlite3_finalize(st);
        return r;
}

static int log_run(struct importer *im, const uint8_t file_sha256[CRYPTO_SHA256_LEN],
                   const struct registry_records *recs)
{
        const struct registry_counts *c = &im->res->total;
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(im->store),
                               "INSERT INTO import_run (at, file_sha256, key_id, demo_key, "
                               "inserted, updated, unchanged, skipped, unverified) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               -1, &st, NULL) != SQLITE_OK)
                return store_error(im->store, "recording the import");
        sqlite3_bind_int64(st, 1, im->now);
        sqlite3_bind_blob(st, 2, file_sha256, CRYPTO_SHA256_LEN, SQLITE_STATIC);
        bind_text(st, 3, recs->building.meta.key_id);
        sqlite3_bind_int(st, 4, recs->building.meta.demo_key);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)c->inserted);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)c->updated);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)c->unchanged);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)c->skipped);
        sqlite3_bind_int64(st, 9, (sqlite3_int64)c->unverified);
        if (sqlite3_step(st) != SQLITE_DONE)
                r = store_error(im->store, "recording the import");
        sqlite3_finalize(st);
        return r;
}

static int import_all(struct importer *im, const struct registry_records *recs)
{
        int r;

        r = check_building(im, &recs->building);
        if (r == 0)
                r = import_one(im, REGISTRY_BUILDING, 0, recs->building.location_id,
                               &recs->building, &recs->building.meta, bind_building);
        for (size_t i = 0; i < recs->n_zones && r == 0; i++)
                r = import_one(im, REGISTRY_ZONE, i, recs->zones[i].zone_id, &recs->zones[i],
                               &recs->zones[i].meta, bind_zone);
        for (size_t i = 0; i < recs->n_units && r == 0; i++)
                r = import_one(im, REGISTRY_UNIT, i, recs->units[i].address_id, &recs->units[i],
                               &recs->units[i].meta, bind_unit);
        for (size_t i = 0; i < recs->n_residents && r == 0; i++) {
                const struct registry_resident *res = &recs->residents[i];
                size_t refused = diag_count(im->refused);
                char where[200];

                snprintf(where, sizeof(where), "residents[%zu] (%.64s)", i, res->resident_id);
                r = check_ref(im, im->unit_floor, where, "unit", res->unit);
                if (r == 0 && diag_count(im->refused) == refused)
                        r = import_one(im, REGISTRY_RESIDENT, i, res->resident_id, res, &res->meta,
                                       bind_resident);
        }
        if (r == 0)
                r = import_detectors(im, recs);
        return r;
}

int registry_import(struct store *s, const struct registry_records *recs,
                    const uint8_t file_sha256[CRYPTO_SHA256_LEN], const char *secret_fingerprint,
                    struct diag *refused, struct diag *notes, struct registry_import_result *result)
{
        struct importer im = {
                .store = s,
                .refused = refused,
                .notes = notes,
                .res = result,
                .now = (sqlite3_int64)time(NULL),
        };
        size_t refused_before = diag_count(refused);
        int r;

        memset(result, 0, sizeof(*result));
        r = prepare(&im);
        if (r < 0)
                goto out_finalize;
        r = store_begin(s);
        if (r < 0)
                goto out_finalize;
        r = secret_fingerprint ? registry_check_secret(s, secret_fingerprint, true) : 0;
        if (r == -EKEYREJECTED) {
                diag_add(refused, "identity secret", 0,
                         "not the one the stored residents' identity numbers were hashed with "
                         "(restore the identity secret from the backup of this gateway)");
                r = -EBADMSG;
                goto out_rollback;
        }
        if (r == 0)
                r = import_all(&im, recs);
        if (r == 0)
                r = check_consistency(&im);
        if (r == 0 && diag_count(refused) > refused_before)
                r = -EBADMSG;
        if (r == 0)
                r = log_run(&im, file_sha256, recs);
        if (r < 0)
                goto out_rollback;
        finalize(&im);
        r = store_commit(s);
        if (r < 0)
                store_rollback(s);
        return r;

out_rollback:
        store_rollback(s);
out_finalize:
        finalize(&im);
        return r;
}

/* How a record's verification is shown: against the authority key configured now, so records
 * verified by a demo key or a retired key never pass for verified by the current one. */
#define VERIFICATION(a)                                                                            \
        "CASE WHEN " a ".verified = 0 THEN 'UNVERIFIED' WHEN :key IS NOT NULL AND " a              \
        ".key_id IS NOT :key THEN 'verified by another key (' || " a ".key_id || ')' WHEN " a      \
        ".demo_key = 1 THEN 'verified (DEMO key)' ELSE 'verified' END AS verification"

struct listing_sql {
        const char *select, *unit_col, *floor_col, *order;
};

static const struct listing_sql listings[REGISTRY_TYPE_COUNT] = {
        [REGISTRY_BUILDING] = {"SELECT b.location_id, b.name, b.address, b.floors_above, "
                               "b.floors_below, b.revision, " VERIFICATION(
                                       "b") " FROM building b WHERE 1 = 1",
                               NULL, NULL, ""},
        [REGISTRY_ZONE] = {"SELECT z.zone_id, z.name, (SELECT count(*) FROM detector d WHERE "
                           "d.zone = z.zone_id) AS detectors, z.revision, " VERIFICATION(
                                   "z") " FROM zone z WHERE 1 = 1",
                           NULL, NULL, " ORDER BY z.zone_id"},
        [REGISTRY_UNIT] = {"SELECT u.address_id, u.floor, u.number, (SELECT count(*) FROM "
                           "resident r WHERE r.unit = u.address_id AND r.moved_out = 0) AS "
                           "residents, (SELECT count(*) FROM detector d WHERE d.unit = "
                           "u.address_id) AS detectors, u.revision, " VERIFICATION(
                                   "u") " FROM unit u WHERE 1 = 1",
                           "u.address_id", "u.floor", " ORDER BY u.floor, u.number, u.address_id"},
        [REGISTRY_RESIDENT] =
                {"SELECT r.resident_id, r.unit, u.floor, u.number, '********' || r.citizen_last4 "
                 "AS citizen_id, r.name, r.phone, nullif(rtrim(CASE WHEN r.bedridden THEN "
                 "'bedridden,' ELSE '' END || CASE WHEN r.mobility_impaired THEN "
                 "'mobility_impaired,' ELSE '' END || CASE WHEN r.elderly THEN 'elderly,' ELSE '' "
                 "END || CASE WHEN r.infant THEN 'infant,' ELSE '' END || CASE WHEN r.needs_oxygen "
                 "THEN 'needs_oxygen,' ELSE '' END, ','), '') AS flags, CASE WHEN r.moved_out "
                 "THEN 'moved_out' ELSE 'active' END AS status, r.revision, " VERIFICATION(
                         "r") " FROM resident r JOIN unit u ON u.address_id = r.unit WHERE 1 = 1",
                 "r.unit", "u.floor", " ORDER BY u.floor, u.number, r.resident_id"},
        [REGISTRY_DETECTOR] =
                {"SELECT d.detector_id, d.kind, d.heat_class, d.unit, coalesce(d.floor, u.floor) "
                 "AS floor, d.zone, d.source, CASE d.source WHEN 'mqtt' THEN d.bridge || ':' || "
                 "d.device ELSE d.gpio_chip || ':' || d.gpio_line || CASE WHEN d.gpio_active_low "
                 "THEN ' (active low)' ELSE '' END END AS address, d.location, d.report_period_s, "
                 "d.revision, " VERIFICATION("d") " FROM detector d LEFT JOIN unit u ON "
                                                  "u.address_id = d.unit WHERE 1 = 1",
                 "d.unit", "coalesce(d.floor, u.floor)",
                 " ORDER BY coalesce(d.floor, u.floor), d.unit, d.detector_id"},
};

int registry_list(struct store *s, enum registry_type type, const struct registry_filter *f,
                  const char *key_id, sqlite3_stmt **out)
{
        const struct registry_filter none = {0};
        const struct listing_sql *l;
        char sql[4096];
        int n, i;

        if (type >= REGISTRY_TYPE_COUNT)
                return -EINVAL;
        l = &listings[type];
        f = f ? f : &none;
        n = snprintf(
                sql, sizeof(sql), "%s%s%s%s%s%s%s%s%s%s%s", l->select,
                f->unit && l->unit_col ? " AND " : "", f->unit && l->unit_col ? l->unit_col : "",
                f->unit && l->unit_col ? " = :unit" : "",
                f->have_floor && l->floor_col ? " AND " : "",
                f->have_floor && l->floor_col ? l->floor_col : "",
                f->have_floor && l->floor_col ? " = :floor" : "",
                f->kind && type == REGISTRY_DETECTOR ? " AND d.kind = :kind" : "",
                f->zone && type == REGISTRY_DETECTOR ? " AND d.zone = :zone" : "",
                f->citizen_hmac && type == REGISTRY_RESIDENT ? " AND r.citizen_hmac = :hmac" : "",
                l->order);
        if (n < 0 || (size_t)n >= sizeof(sql))
                return -E2BIG;
        if (sqlite3_prepare_v2(store_db(s), sql, -1, out, NULL) != SQLITE_OK)
                return store_error(s, "preparing a listing");
        if ((i = sqlite3_bind_parameter_index(*out, ":key")) > 0)
                bind_text(*out, i, key_id);
        if ((i = sqlite3_bind_parameter_index(*out, ":unit")) > 0)
                bind_text(*out, i, f->unit);
        if ((i = sqlite3_bind_parameter_index(*out, ":floor")) > 0)
                sqlite3_bind_int(*out, i, f->floor);
        if ((i = sqlite3_bind_parameter_index(*out, ":kind")) > 0)
                bind_text(*out, i, f->kind);
        if ((i = sqlite3_bind_parameter_index(*out, ":zone")) > 0)
                bind_text(*out, i, f->zone);
        if ((i = sqlite3_bind_parameter_index(*out, ":hmac")) > 0)
                sqlite3_bind_blob(*out, i, f->citizen_hmac, IDENTITY_CITIZEN_HASH_LEN,
                                  SQLITE_STATIC);
        return 0;
}

#define ALL_RECORDS(cond)                                                                          \
        "(SELECT (SELECT count(*) FROM building WHERE " cond ") + (SELECT count(*) FROM zone "     \
        "WHERE " cond ") + (SELECT count(*) FROM unit WHERE " cond ") + (SELECT count(*) FROM "    \
        "resident WHERE " cond ") + (SELECT count(*) FROM detector WHERE " cond "))"

#define UNVERIFIED_COND "verified = 0"
#define DEMO_COND       "verified = 1 AND demo_key = 1 AND (:key IS NULL OR key_id IS :key)"
#define OTHER_KEY_COND  "verified = 1 AND :key IS NOT NULL AND key_id IS NOT :key"

int registry_summary(struct store *s, const char *key_id, struct registry_summary *out)
{
        static const char sql[] =
                "SELECT (SELECT count(*) FROM unit), (SELECT count(*) FROM "
                "resident WHERE moved_out = 0), (SELECT count(*) FROM detector), "
                "(SELECT count(*) FROM zone), " ALL_RECORDS(UNVERIFIED_COND) ", " ALL_RECORDS(
                        DEMO_COND) ", " ALL_RECORDS(OTHER_KEY_COND) ", (SELECT location_id FROM "
                                                                    "building), (SELECT name FROM "
                                                                    "building)";
        sqlite3_stmt *st = NULL;
        int r = 0;

        memset(out, 0, sizeof(*out));
        if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
                return store_error(s, "summarising the registry");
        bind_text(st, sqlite3_bind_parameter_index(st, ":key"), key_id);
        if (sqlite3_step(st) != SQLITE_ROW) {
                r = store_error(s, "summarising the registry");
                goto out;
        }
        out->units = sqlite3_column_int64(st, 0);
        out->residents = sqlite3_column_int64(st, 1);
        out->detectors = sqlite3_column_int64(st, 2);
        out->zones = sqlite3_column_int64(st, 3);
        out->unverified = sqlite3_column_int64(st, 4);
        out->demo_verified = sqlite3_column_int64(st, 5);
        out->other_key = key_id ? sqlite3_column_int64(st, 6) : 0;
        out->have_building = sqlite3_column_type(st, 7) != SQLITE_NULL;
        if (out->have_building) {
                snprintf(out->location_id, sizeof(out->location_id), "%s",
                         (const char *)sqlite3_column_text(st, 7));
                snprintf(out->name, sizeof(out->name), "%s",
                         (const char *)sqlite3_column_text(st, 8));
        }
out:
        sqlite3_finalize(st);
        return r;
}
