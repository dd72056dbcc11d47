/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_bundle: the verified registry, from a bundle file to the store. Bundles are built here
 * with jansson and signed with keys made for the test; the store is a real SQLite file. The
 * cross-check against an independent signer (scripts/fg-sign, Python) is in the integration
 * test.
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bundle.h"
#include "log.h"
#include "registry.h"
#include "store.h"
#include "testutil.h"

#define BUILDING_ID "100000000001"
/* Synthetic identity numbers that follow DOMAIN.md's rules (province, century, year). */
#define CITIZEN_A "001187004213"
#define CITIZEN_B "079301009876"

struct fixture {
        char *dir;
        struct crypto_key *key, *other_key;
        uint8_t secret[IDENTITY_SECRET_LEN];
        struct diag *d, *warnings;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        log_setup(LOG_CRIT, false);
        f->dir = tu_tempdir();
        assert_int_equal(crypto_key_generate(&f->key), 0);
        assert_int_equal(crypto_key_generate(&f->other_key), 0);
        memset(f->secret, 0x42, sizeof(f->secret));
        f->d = diag_new();
        f->warnings = diag_new();
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        crypto_key_free(f->key);
        crypto_key_free(f->other_key);
        diag_free(f->d);
        diag_free(f->warnings);
        tu_rmtree(f->dir);
        free(f);
        return 0;
}

static void sign(const struct crypto_key *key, const char *type, json_t *rec)
{
        uint8_t sig[CRYPTO_ED25519_SIG];
        char b64[100], *canon, *msg;
        json_t *copy = json_copy(rec);

        json_object_del(copy, "signature");
        canon = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
        assert_true(asprintf(&msg, "%s%s\n%s", BUNDLE_SIGNING_PREFIX, type, canon) > 0);
        assert_int_equal(crypto_sign(key, msg, strlen(msg), sig), 0);
        assert_int_equal(crypto_base64_encode(sig, sizeof(sig), b64, sizeof(b64)), 0);
        json_object_set_new(rec, "signature", json_string(b64));
        free(msg);
        free(canon);
        json_decref(copy);
}

/* A small building: 3 floors, one zone, two units, two residents, three detectors. */
static json_t *make_bundle(const struct crypto_key *key)
{
        json_t *b = json_pack("{s:s, s:i, s:s}", "format", BUNDLE_FORMAT, "version", 1, "authority",
                              crypto_key_id(key));
        json_t *rec, *arr;

        rec = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i}", "location_id", BUILDING_ID, "name",
                        "Tòa nhà Thử nghiệm", "address", "1 Phố Giả định, Hà Nội", "floors_above",
                        3, "floors_below", 1, "revision", 1);
        sign(key, "building", rec);
        json_object_set_new(b, "building", rec);

        arr = json_array();
        rec = json_pack("{s:s, s:s, s:s, s:i}", "zone_id", "stair-a", "building", BUILDING_ID,
                        "name", "Stairwell A", "revision", 1);
        sign(key, "zone", rec);
        json_array_append_new(arr, rec);
        json_object_set_new(b, "zones", arr);

        arr = json_array();
        for (int i = 0; i < 2; i++) {
                char id[16], num[8];

                snprintf(id, sizeof(id), "20000000000%d", i + 1);
                snprintf(num, sizeof(num), "%d.0%d", i + 1, i + 1);
                rec = json_pack("{s:s, s:s, s:i, s:s, s:i}", "address_id", id, "building",
                                BUILDING_ID, "floor", i + 1, "number", num, "revision", 1);
                sign(key, "unit", rec);
                json_array_append_new(arr, rec);
        }
        json_object_set_new(b, "units", arr);

        arr = json_array();
        rec = json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:i}", "resident_id", "R-1", "unit",
                        "200000000001", "citizen_id", CITIZEN_A, "name", "Nguyễn Văn Thử", "flags",
                        "bedridden", "elderly", "revision", 1);
        sign(key, "resident", rec);
        json_array_append_new(arr, rec);
        rec = json_pack("{s:s, s:s, s:s, s:s, s:i}", "resident_id", "R-2", "unit", "200000000002",
                        "citizen_id", CITIZEN_B, "status", "moved_out", "revision", 1);
        sign(key, "resident", rec);
        json_array_append_new(arr, rec);
        json_object_set_new(b, "residents", arr);

        arr = json_array();
        rec = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:i}", "detector_id", "D-1",
                        "building", BUILDING_ID, "kind", "smoke", "unit", "200000000001", "source",
                        "type", "mqtt", "bridge", "zigbee2mqtt", "device", "u1-smoke", "revision",
                        1);
        sign(key, "detector", rec);
        json_array_append_new(arr, rec);
        rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:{s:s, s:s, s:s}, s:i}", "detector_id",
                        "D-2", "building", BUILDING_ID, "kind", "heat", "heat_class", "A1R", "unit",
                        "200000000002", "floor", 2, "source", "type", "mqtt", "bridge", "tasmota",
                        "device", "u2-heat", "revision", 1);
        sign(key, "detector", rec);
        json_array_append_new(arr, rec);
        rec = json_pack("{s:s, s:s, s:s, s:i, s:s, s:{s:s, s:s, s:i, s:b, s:s}, s:i}",
                        "detector_id", "D-3", "building", BUILDING_ID, "kind", "call_point",
                        "floor", -1, "zone", "stair-a", "source", "type", "gpio", "chip",
                        "gpiochip0", "line", 17, "active_low", 1, "bias", "pull-up", "revision", 1);
        sign(key, "detector", rec);
        json_array_append_new(arr, rec);
        json_object_set_new(b, "detectors", arr);
        return b;
}

static char *write_bundle(struct fixture *f, json_t *b, const char *name)
{
        char *path = tu_path(f->dir, name);

        assert_int_equal(json_dump_file(b, path, JSON_INDENT(1)), 0);
        return path;
}

static int load(struct fixture *f, const char *path, const struct crypto_key *key,
                bool allow_unsigned, struct bundle **out)
{
        struct bundle_options opt = {
                .authority = key,
                .location_id_pattern = "^[0-9]{12}$",
                .allow_unsigned = allow_unsigned,
                .current_year = 2026,
                .identity_secret = f->secret,
                .max_bytes = 1 << 20,
                .warnings = f->warnings,
        };

        *out = NULL;
        return bundle_load(path, &opt, f->d, out);
}

/* Whether any collected message contains both @a and @b. */
static bool diag_has(const struct diag *d, const char *a, const char *b)
{
        for (size_t i = 0; i < diag_count(d); i++) {
                const char *m = diag_get(d, i);

                if (m && strstr(m, a) && (!b || strstr(m, b)))
                        return true;
        }
        return false;
}

static json_t *record(json_t *b, const char *section, size_t i)
{
        return json_array_get(json_object_get(b, section), i);
}

static void test_signed_bundle_is_accepted_and_verified(void **state)
{
        struct fixture *f = *state;
        json_t *b = make_bundle(f->key);
        char *path = write_bundle(f, b, "good.json");
        uint8_t want[IDENTITY_CITIZEN_HASH_LEN];
        const struct registry_records *rr;
        struct bundle *bd;

        assert_int_equal(load(f, path, f->key, false, &bd), 0);
        assert_int_equal(diag_count(f->d), 0);
        rr = bundle_records(bd);
        assert_int_equal(bundle_record_count(bd), 1 + 1 + 2 + 2 + 3);
        assert_true(rr->building.meta.verified);
        assert_string_equal(rr->building.meta.key_id, crypto_key_id(f->key));
        assert_false(rr->building.meta.demo_key);
        assert_true(rr->residents[0].meta.verified);
        assert_string_equal(rr->residents[0].citizen_last4, "4213");
        identity_citizen_hash(f->secret, CITIZEN_A, want);
        assert_memory_equal(rr->residents[0].citizen_hmac, want, sizeof(want));
        assert_int_equal(rr->residents[0].flags, REGISTRY_FLAG_BEDRIDDEN | REGISTRY_FLAG_ELDERLY);
        assert_true(rr->residents[1].moved_out);
        assert_true(rr->detectors[2].gpio);
        assert_int_equal(rr->detectors[2].gpio_line, 17);
        assert_true(rr->detectors[2].gpio_active_low);
        assert_int_equal(rr->detectors[2].gpio_debounce_ms, 50);
        bundle_free(bd);
        json_decref(b);
        free(path);
}

static void test_one_tampered_field_refuses_that_record(void **state)
{
        struct fixture *f = *state;
        json_t *b = make_bundle(f->key);
        char *path;
        struct bundle *bd;

        /* Moving a unit one floor after signing is exactly what must not pass. */
        json_object_set_new(record(b, "units", 1), "floor", json_integer(3));
        path = write_bundle(f, b, "tampered.json");
        assert_int_equal(load(f, path, f->key, false, &bd), -EBADMSG);
        assert_null(bd);
        assert_int_equal(diag_count(f->d), 1);
        assert_true(diag_has(f->d, "units[1] (200000000002)", "signature does not verify"));
        json_decref(b);
        free(path);
}

static void test_wrong_key_refuses_every_record(void **state)
{
        struct fixture *f = *state;
        json_t *b = make_bundle(f->other_key);
        char *path = write_bundle(f, b, "other.json");
        struct bundle *bd;

        assert_int_equal(load(f, path, f->key, false, &bd), -EBADMSG);
        /* All 9 records fail, and a warning says who the header claims signed them. */
        assert_true(diag_has(f->warnings, "signed by key", crypto_key_id(f->other_key)));
        assert_true(diag_has(f->d, "building", "signature does not verify"));
        assert_true(diag_has(f->d, "detectors[2] (D-3)", "signature does not verify"));
        assert_int_equal(diag_count(f->d), 9);
        json_decref(b);
        free(path);
}

static void test_missing_signature_refused_unless_allowed_then_unverified(void **state)
{
        struct fixture *f = *state;
        json_t *b = make_bundle(f->key);
        char *path;
        struct bundle *bd;

        json_object_del(record(b, "residents", 0), "signature");
        path = write_bundle(f, b, "unsigned.json");
        assert_int_equal(load(f, path, f->key, false, &bd), -EBADMSG);
        assert_true(diag_has(f->d, "residents[0] (R-1)", "not signed"));
        diag_free(f->d);
        f->d = diag_new();
        assert_int_equal(load(f, path, f->key, true, &bd), 0);
        assert_false(bundle_records(bd)->residents[0].meta.verified);
        assert_true(bundle_records(bd)->residents[1].meta.verified);
        bundle_free(bd);
        json_decref(b);
        free(path);
}

static void test_truncated_signature_refused_even_when_unsigned_allowed(void **state)
{
        struct fixture *f = *state;
        json_t *b = make_bundle(f->key);
        json_t *det = record(b, "detectors", 0);
        char sig[100], *path;
        struct bundle *bd;

        snprintf(sig, sizeof(sig), "%s", json_string_value(json_object_get(det, "signature")));
        sig[strlen(sig) - 4] = '\0';
        json_object_set_new(det, "signature", json_string(sig));
        path = write_bundle(f, b, "truncsig.json");
        assert_int_equal(load(f, path, f->key, true, &bd), -EBADMSG);
        assert_true(diag_has(f->d, "detectors[0] (D-1)", "not 64 bytes"));
        json_decref(b);
        free(path);
}

static void test_truncated_file_is_refused_with_its_line(void **state)
{
        struct fixture *f = *state;
        json_t *b = make_bundle(f->key);
        char *text = json_dumps(b, JSON_INDENT(1)), *path = tu_path(f->dir, "cut.json");
        struct bundle *bd;

        tu_write(path, text, strlen(text) / 2);
        assert_int_equal(load(f, path, f->key, false, &bd), -EBADMSG);
        assert_int_equal(diag_count(f->d), 1);
        assert_true(diag_has(f->d, path, "not valid JSON"));
        free(text);
        json_decref(b);
        free(path);
}

static void test_invalid_identity_number_refused_without_echoing_it(void **state)
{
        struct fixture *f = *state;
        json_t *b = make_bundle(f->key);
        json_t *res = record(b, "residents", 0);
        char *path;
        struct bundle *bd;

        /* Century digit 2 with year 99 is 2099: a birth in the future. Re-signed, so only the
         * number's rule can refuse it. */
        json_object_set_new(res, "citizen_id", json_string("001299004213"));
        sign(f->key, "resident", res);
        path = write_bundle(f, b, "future.json");
        assert_int_equal(load(f, path, f->key, false, &bd), -EBADMSG);
        assert_true(diag_has(f->d, "residents[0] (R-1)", "citizen_id"));
        assert_false(diag_has(f->d, "001299004213", NULL));
        json_decref(b);
        free(path);
}

static void test_unknown_field_and_duplicate_id_are_refused(void **state)
{
        struct fixture *f = *state;
        json_t *b = make_bundle(f->key);
        json_t *u = record(b, "units", 1);
        char *path;
        struct bundle *bd;

        json_object_set_new(record(b, "units", 0), "owner", json_string("x"));
        json_object_set_new(u, "address_id", json_string("200000000001"));
        sign(f->key, "unit", u);
        path = write_bundle(f, b, "dup.json");
        assert_int_equal(load(f, path, f->key, false, &bd), -EBADMSG);
        assert_true(diag_has(f->d, "units[0]", "unknown field 'owner'"));
        assert_true(diag_has(f->d, "units[1] (200000000001)", "same id as units[0]"));
        json_decref(b);
        free(path);
}

static void test_oversized_file_is_refused_unread(void **state)
{
        struct fixture *f = *state;
        char *path = tu_path(f->dir, "big.json");
        char *big = malloc((1 << 20) + 2);
        struct bundle *bd;

        memset(big, ' ', (1 << 20) + 1);
        big[(1 << 20) + 1] = '\0';
        tu_write(path, big, 0);
        assert_int_equal(load(f, path, f->key, false, &bd), -EFBIG);
        assert_true(diag_has(f->d, path, "bundle_max_bytes); refused"));
        free(big);
        free(path);
}

/* --- from bundle to store --- */

static int import(struct fixture *f, struct store *s, json_t *b, bool allow_unsigned,
                  struct registry_import_result *res)
{
        char *path = write_bundle(f, b, "import.json");
        struct diag *notes = diag_new();
        struct bundle *bd;
        int r;

        diag_free(f->d);
        f->d = diag_new();
        r = load(f, path, f->key, allow_unsigned, &bd);
        if (r == 0)
                r = registry_import(s, bundle_records(bd), bundle_file_sha256(bd), NULL, f->d,
                                    notes, res);
        for (size_t i = 0; i < diag_count(notes); i++)
                diag_add(f->d, "note", 0, "%s", diag_get(notes, i));
        bundle_free(bd);
        diag_free(notes);
        free(path);
        return r;
}

static long count_rows(struct store *s, const char *sql)
{
        sqlite3_stmt *st;
        long n;

        assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        n = (long)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return n;
}

static struct store *open_store(struct fixture *f)
{
        char *path = tu_path(f->dir, "store.db");
        struct store *s = NULL;

        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), 0);
        free(path);
        return s;
}

static void test_import_twice_changes_nothing(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_store(f);
        struct registry_import_result res;
        json_t *b = make_bundle(f->key);

        assert_int_equal(import(f, s, b, false, &res), 0);
        assert_int_equal(res.total.inserted, 9);
        assert_int_equal(count_rows(s, "SELECT count(*) FROM resident"), 2);
        /* A detector in a unit has no floor of its own: it takes the unit's. */
        assert_int_equal(count_rows(s, "SELECT floor IS NULL FROM detector WHERE detector_id = "
                                       "'D-1'"),
                         1);
        assert_int_equal(count_rows(s, "SELECT coalesce(d.floor, u.floor) FROM detector d JOIN "
                                       "unit u ON u.address_id = d.unit WHERE d.detector_id = "
                                       "'D-1'"),
                         1);
        assert_int_equal(import(f, s, b, false, &res), 0);
        assert_int_equal(res.total.inserted, 0);
        assert_int_equal(res.total.updated, 0);
        assert_int_equal(res.total.unchanged, 9);
        assert_int_equal(count_rows(s, "SELECT count(*) FROM import_run"), 2);
        store_free(s);
        json_decref(b);
}

static void test_newer_revision_replaces_and_older_never_does(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_store(f);
        struct registry_import_result res;
        json_t *b = make_bundle(f->key), *old = make_bundle(f->key);
        json_t *u = record(b, "units", 0);

        assert_int_equal(import(f, s, b, false, &res), 0);
        json_object_set_new(u, "number", json_string("1.99"));
        json_object_set_new(u, "revision", json_integer(2));
        sign(f->key, "unit", u);
        assert_int_equal(import(f, s, b, false, &res), 0);
        assert_int_equal(res.by_type[REGISTRY_UNIT].updated, 1);
        assert_int_equal(count_rows(s, "SELECT count(*) FROM unit WHERE number = '1.99' AND "
                                       "revision = 2"),
                         1);
        /* The first bundle again: revision 1 is older and is skipped, with a note. */
        assert_int_equal(import(f, s, old, false, &res), 0);
        assert_int_equal(res.by_type[REGISTRY_UNIT].skipped, 1);
        assert_true(diag_has(f->d, "units[0] (200000000001)", "older than the stored"));
        assert_int_equal(count_rows(s, "SELECT count(*) FROM unit WHERE number = '1.99'"), 1);
        store_free(s);
        json_decref(b);
        json_decref(old);
}

static void test_reused_revision_with_other_content_is_refused_whole(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_store(f);
        struct registry_import_result res;
        json_t *b = make_bundle(f->key);
        json_t *u = record(b, "units", 1), *z = record(b, "zones", 0);

        assert_int_equal(import(f, s, b, false, &res), 0);
        /* A good change to the zone and a bad one to a unit: neither may land. */
        json_object_set_new(z, "name", json_string("Stairwell A (north)"));
        json_object_set_new(z, "revision", json_integer(2));
        sign(f->key, "zone", z);
        json_object_set_new(u, "number", json_string("2.77"));
        sign(f->key, "unit", u);
        assert_int_equal(import(f, s, b, false, &res), -EBADMSG);
        assert_true(diag_has(f->d, "units[1] (200000000002)", "different content"));
        assert_int_equal(count_rows(s, "SELECT count(*) FROM zone WHERE name = 'Stairwell A'"), 1);
        assert_int_equal(count_rows(s, "SELECT count(*) FROM import_run"), 1);
        store_free(s);
        json_decref(b);
}

static void test_unsigned_record_never_replaces_verified_one(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_store(f);
        struct registry_import_result res;
        json_t *b = make_bundle(f->key);
        json_t *r = record(b, "residents", 0);

        assert_int_equal(import(f, s, b, false, &res), 0);
        json_object_set_new(r, "revision", json_integer(5));
        json_object_set_new(r, "flags", json_array());
        json_object_del(r, "signature");
        assert_int_equal(import(f, s, b, true, &res), -EBADMSG);
        assert_true(diag_has(f->d, "residents[0] (R-1)", "never replaces a verified"));
        assert_int_equal(count_rows(s, "SELECT bedridden FROM resident WHERE resident_id = 'R-1'"),
                         1);
        store_free(s);
        json_decref(b);
}

static void test_unsigned_records_are_stored_marked_unverified(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_store(f);
        struct registry_import_result res;
        json_t *b = make_bundle(f->key);

        json_object_del(record(b, "detectors", 1), "signature");
        assert_int_equal(import(f, s, b, true, &res), 0);
        assert_int_equal(res.total.unverified, 1);
        assert_int_equal(count_rows(s, "SELECT verified FROM detector WHERE detector_id = 'D-2'"),
                         0);
        assert_int_equal(count_rows(s, "SELECT verified FROM detector WHERE detector_id = 'D-1'"),
                         1);
        store_free(s);
        json_decref(b);
}

static void test_dangling_references_and_other_building_are_refused(void **state)
{
        struct fixture *f = *state;
        struct store *s = open_store(f);
        struct registry_import_result res;
        json_t *b = make_bundle(f->key), *other;
        json_t *r = record(b, "residents", 1), *d = record(b, "detectors", 1);

        json_object_set_new(r, "unit", json_string("299999999999"));
        sign(f->key, "resident", r);
        json_object_set_new(d, "floor", json_integer(1)); /* its unit is on floor 2 */
        sign(f->key, "detector", d);
        assert_int_equal(import(f, s, b, false, &res), -EBADMSG);
        assert_true(diag_has(f->d, "residents[1] (R-2)", "unit 299999999999 is neither"));
        assert_true(diag_has(f->d, "detectors[1] (D-2)", "differs from the floor of unit"));
        assert_int_equal(count_rows(s, "SELECT count(*) FROM unit"), 0);

        other = make_bundle(f->key);
        assert_int_equal(import(f, s, other, false, &res), 0);
        json_object_set_new(json_object_get(other, "building"), "location_id",
                            json_string("100000000002"));
        sign(f->key, "building", json_object_get(other, "building"));
        /* Its records still name the first building, so the bundle fails already on those; the
         * building itself must be refused for serving another building. */
        json_object_set_new(other, "zones", json_array());
        json_object_set_new(other, "units", json_array());
        json_object_set_new(other, "residents", json_array());
        json_object_set_new(other, "detectors", json_array());
        assert_int_equal(import(f, s, other, false, &res), -EBADMSG);
        assert_true(diag_has(f->d, "this gateway serves building " BUILDING_ID, NULL));
        store_free(s);
        json_decref(b);
        json_decref(other);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_signed_bundle_is_accepted_and_verified),
                T(test_one_tampered_field_refuses_that_record),
                T(test_wrong_key_refuses_every_record),
                T(test_missing_signature_refused_unless_allowed_then_unverified),
                T(test_truncated_signature_refused_even_when_unsigned_allowed),
                T(test_truncated_file_is_refused_with_its_line),
                T(test_invalid_identity_number_refused_without_echoing_it),
                T(test_unknown_field_and_duplicate_id_are_refused),
                T(test_oversized_file_is_refused_unread),
                T(test_import_twice_changes_nothing),
                T(test_newer_revision_replaces_and_older_never_does),
                T(test_reused_revision_with_other_content_is_refused_whole),
                T(test_unsigned_record_never_replaces_verified_one),
                T(test_unsigned_records_are_stored_marked_unverified),
                T(test_dangling_references_and_other_building_are_refused),
        };
#undef T

        return cmocka_run_group_tests(tests, NULL, NULL);
}
