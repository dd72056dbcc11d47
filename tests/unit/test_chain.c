/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_chain: the hash chain's verdicts when rows are lost to damage and declared so
 * (declare-loss): a deletion or a change stays a failure until declared, a declaration covers
 * only what was missing or changed when it was made, only one made by declare-loss counts, a
 * log with rows inserted outside the gateway cannot be declared whole; an export of a log with
 * losses states them, leaves the lost rows out, and its checker refuses losses that disagree
 * with the chain. Real SQLite files in a temporary directory, rows written through the store's
 * own connection (its triggers chain them) and tampered with as someone with the file would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain.h"
#include "crypto.h"
#include "evidence.h"
#include "log.h"
#include "store.h"
#include "testutil.h"

/* 2026-11-23T15:00:00Z; the rows are written one second apart from there. */
#define WALL0   1795446000000LL
#define N_ROWS  10
#define LATER   (WALL0 + 3600 * 1000) /* after every row, and outside the exported period */
#define WHO     "uid 0 (root)"
#define BECAUSE "SD card damage; the damaged copy is kept"

struct fixture {
        char *dir, *path;
        struct store *s;
};

static void exec_ok(struct store *s, const char *sql)
{
        char *err = NULL;

        if (sqlite3_exec(store_db(s), sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
}

static long long query_ll(struct store *s, const char *sql)
{
        sqlite3_stmt *st;
        long long v;

        assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char sql[256];

        log_setup(LOG_CRIT, false);
        assert_non_null(f);
        f->dir = tu_tempdir();
        f->path = tu_path(f->dir, "firegate.db");
        assert_int_equal(store_open(f->path, STORE_READ_WRITE, &f->s), 0);
        for (int i = 0; i < N_ROWS; i++) {
                snprintf(sql, sizeof(sql),
                         "INSERT INTO engine_event (at, decision, detector, cause) VALUES (%lld, "
                         "'alarm', 'heat-%d', 'heat alarm reported')",
                         WALL0 + i * 1000LL, i + 1);
                exec_ok(f->s, sql);
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        store_free(f->s);
        tu_rmtree(f->dir);
        free(f->path);
        free(f);
        return 0;
}

/* What the salvage of a damaged page leaves: engine events 4 and 5 gone, 6 partly
 * overwritten (the append-only triggers go with the damage: the sqlite3 shell's .dump keeps
 * them, but someone with the file can drop them, and the chain must not depend on them). */
static void damage(struct store *s)
{
        exec_ok(s, "DROP TRIGGER engine_event_append_only_delete;"
                   "DROP TRIGGER engine_event_append_only_update;"
                   "DELETE FROM engine_event WHERE id IN (4, 5);"
                   "UPDATE engine_event SET cause = 'heat alarm rep' || x'ffffff' WHERE id = 6;");
}

static struct chain_report verify(struct store *s)
{
        struct chain_report rep;

        assert_int_equal(chain_verify(store_db(s), NULL, &rep), 0);
        return rep;
}

static void declare(struct store *s, long long want)
{
        struct chain_report rep;
        long long n = -1;

        assert_int_equal(evidence_declare_loss(s, LATER, WHO, BECAUSE, &rep, &n), 0);
        assert_int_equal(n, want);
}

static void test_a_whole_log_verifies_with_nothing_lost(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep = verify(f->s);

        assert_true(rep.ok);
        assert_int_equal(rep.entries, N_ROWS);
        assert_int_equal(rep.lost + rep.unmatched + rep.broken, 0);
        assert_string_equal(rep.loss, "");
}

static void test_nothing_is_declared_in_a_whole_log(void **state)
{
        struct fixture *f = *state;

        declare(f->s, 0);
        assert_int_equal(query_ll(f->s, "SELECT count(*) FROM audit"), 0);
}

static void test_damage_fails_until_declared_then_counts_as_lost(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        damage(f->s);
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_string_equal(rep.problem, "engine_event #4 was deleted (chain entry 4)");
        assert_int_equal(rep.unmatched, 3); /* 4 and 5 deleted, 6 changed */
        assert_int_equal(rep.broken, 0);
        declare(f->s, 3);
        assert_int_equal(
                query_ll(f->s, "SELECT count(*) FROM audit WHERE action = 'declare-loss' AND "
                               "result = 'declared' AND json_extract(params, '$.missing') = 2 AND "
                               "json_extract(params, '$.damaged') = 1 AND "
                               "json_extract(params, '$.lost') = '[[4,6]]'"),
                1);
        rep = verify(f->s);
        assert_true(rep.ok);
        assert_int_equal(rep.lost, 3);
        assert_int_equal(rep.entries, N_ROWS + 1); /* the declaration is chained too */
        assert_non_null(strstr(rep.loss, "3 rows declared lost: chain entries 4 to 6 "
                                         "(engine_event #4 to #6); declared on 2026-11-23 "
                                         "16:00:00 UTC by " WHO " (audit #1): " BECAUSE));
        /* Declared once: a second declaration finds nothing left to declare. */
        declare(f->s, 0);
        assert_int_equal(query_ll(f->s, "SELECT count(*) FROM audit"), 1);
}

static void test_a_declaration_does_not_cover_a_row_deleted_after_it(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        damage(f->s);
        declare(f->s, 3);
        exec_ok(f->s, "DELETE FROM engine_event WHERE id = 8");
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_string_equal(rep.problem, "engine_event #8 was deleted (chain entry 8)");
        assert_int_equal(rep.lost, 3);
}

static void test_a_declaration_speaks_only_of_entries_before_it(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        damage(f->s);
        /* Wider than declare-loss ever writes one: every entry up to 100. */
        assert_int_equal(evidence_audit(f->s, LATER, WHO, "local", CHAIN_DECLARATION_ACTION,
                                        "{\"lost\":[[1,100]]}", CHAIN_DECLARATION_RESULT),
                         0);
        exec_ok(f->s, "INSERT INTO engine_event (at, decision, cause) VALUES (1, 'reset', 'x')");
        exec_ok(f->s, "DELETE FROM engine_event WHERE id = 11");
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_string_equal(rep.problem, "engine_event #11 was deleted (chain entry 12)");
        assert_int_equal(rep.unmatched, 1);
        assert_int_equal(rep.lost, N_ROWS); /* declared lost, whatever is in their places */
}

static void test_a_declaration_does_not_hide_a_change_to_a_kept_row(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        damage(f->s);
        declare(f->s, 3);
        exec_ok(f->s, "UPDATE engine_event SET cause = 'nothing happened' WHERE id = 3");
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_string_equal(rep.problem,
                            "engine_event #3 was changed after it was written (chain entry 3)");
        assert_int_equal(rep.lost, 3);
}

static void test_only_a_chained_declaration_by_declare_loss_counts(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;
        sqlite3 *raw = NULL;

        damage(f->s);
        /* An audit row through the control socket's audit request: no result, so no
         * declaration, whatever its action and params say. */
        assert_int_equal(evidence_audit(f->s, LATER, WHO, "local", CHAIN_DECLARATION_ACTION,
                                        "{\"lost\":[[1,100]]}", NULL),
                         0);
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_int_equal(rep.unmatched, 3);
        assert_int_equal(rep.lost, 0);
        /* One written with the sqlite3 shell has no chain entry: no declaration either, and
         * itself a row inserted outside the gateway. */
        assert_int_equal(sqlite3_open_v2(f->path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_exec(raw,
                                      "INSERT INTO audit (at, who, origin, action, params, "
                                      "result) VALUES (1, 'x', 'local', 'declare-loss', "
                                      "'{\"lost\":[[1,100]]}', 'declared')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(raw);
        rep = verify(f->s);
        assert_int_equal(rep.lost, 0);
        assert_int_equal(rep.unmatched, 3);
        assert_int_equal(rep.broken, 1);
}

static void test_declaring_is_refused_where_rows_were_inserted_outside_the_gateway(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;
        long long n = -1, audits;
        sqlite3 *raw = NULL;

        damage(f->s);
        assert_int_equal(sqlite3_open_v2(f->path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_exec(raw,
                                      "INSERT INTO engine_event (at, decision, cause) VALUES (1, "
                                      "'reset', 'staged')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(raw);
        audits = query_ll(f->s, "SELECT count(*) FROM audit");
        assert_int_equal(evidence_declare_loss(f->s, LATER, WHO, BECAUSE, &rep, &n), -EBADMSG);
        assert_int_equal(n, 0);
        assert_int_equal(rep.broken, 1);
        assert_int_equal(query_ll(f->s, "SELECT count(*) FROM audit"), audits);
}

/* The signed message of an export, as evidence.c makes it: @doc re-signed after a change. */
static void resign(json_t *doc, const struct crypto_key *key)
{
        uint8_t sig[CRYPTO_ED25519_SIG];
        char *canon, *msg, sig64[128];
        json_t *copy = json_deep_copy(doc);

        json_object_del(copy, "signature");
        canon = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
        assert_non_null(canon);
        assert_true(asprintf(&msg, "%s%s", EVIDENCE_SIGNING_PREFIX, canon) > 0);
        assert_int_equal(crypto_sign(key, msg, strlen(msg), sig), 0);
        assert_int_equal(crypto_base64_encode(sig, sizeof(sig), sig64, sizeof(sig64)), 0);
        json_object_set_new(doc, "signature", json_string(sig64));
        free(msg);
        free(canon);
        json_decref(copy);
}

static json_t *export_all(struct store *s, const struct crypto_key *key)
{
        json_t *doc = NULL;

        assert_int_equal(
                evidence_export(s, key, "gw-1", WALL0, WALL0 + N_ROWS * 1000LL, LATER + 1000, &doc),
                0);
        return doc;
}

static void test_an_export_of_a_whole_log_is_version_1(void **state)
{
        struct fixture *f = *state;
        struct evidence_summary sum;
        struct crypto_key *key = NULL;
        char why[512];
        json_t *doc;

        assert_int_equal(crypto_key_generate(&key), 0);
        doc = export_all(f->s, key);
        assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
        assert_null(json_object_get(doc, "losses"));
        assert_int_equal(evidence_verify(doc, key, &sum, why, sizeof(why)), 0);
        assert_int_equal(sum.rows, N_ROWS);
        assert_int_equal(sum.lost, 0);
        json_decref(doc);
        crypto_key_free(key);
}

static void test_an_export_states_the_losses_and_leaves_lost_rows_out(void **state)
{
        struct fixture *f = *state;
        struct evidence_summary sum;
        struct crypto_key *key = NULL;
        json_t *doc, *engine, *row;
        char why[512];
        size_t i;

        assert_int_equal(crypto_key_generate(&key), 0);
        damage(f->s);
        declare(f->s, 3);
        doc = export_all(f->s, key);
        assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
        assert_int_equal(
                json_array_size(json_object_get(json_object_get(doc, "losses"), "entries")), 3);
        engine = json_object_get(doc, "engine_events");
        /* 4 and 5 are gone; what is left of 6 is no evidence. */
        assert_int_equal(json_array_size(engine), N_ROWS - 3);
        json_array_foreach(engine, i, row)
        {
                json_int_t id = json_integer_value(json_object_get(row, "id"));

                assert_true(id < 4 || id > 6);
        }
        assert_int_equal(evidence_verify(doc, key, &sum, why, sizeof(why)), 0);
        assert_int_equal(sum.rows, N_ROWS - 3);
        assert_int_equal(sum.lost, 3);
        assert_int_equal(sum.lost_in_segment, 3);
        assert_non_null(strstr(sum.loss,
                               "3 rows of the log declared lost, 3 inside this "
                               "export's chain segment (entries 4 to 6); declared on "
                               "2026-11-23 16:00:00 UTC by " WHO " (audit #1): " BECAUSE));
        json_decref(doc);
        crypto_key_free(key);
}

static void test_verify_export_refuses_losses_that_disagree_with_the_chain(void **state)
{
        struct fixture *f = *state;
        struct evidence_summary sum;
        struct crypto_key *key = NULL;
        json_t *doc, *lost, *entry;
        char why[512];

        assert_int_equal(crypto_key_generate(&key), 0);
        damage(f->s);
        declare(f->s, 3);
        doc = export_all(f->s, key);
        lost = json_object_get(json_object_get(doc, "losses"), "entries");

        /* An exported row whose entry the losses name. */
        entry = json_array_get(lost, 0);
        json_object_set_new(entry, "seq", json_integer(3));
        json_object_set_new(entry, "row_id", json_integer(3));
        resign(doc, key);
        assert_int_equal(evidence_verify(doc, key, &sum, why, sizeof(why)), -EBADMSG);
        assert_string_equal(why, "the losses name chain entry 3, which none of their "
                                 "declarations declares lost");

        /* A loss naming an entry of the segment as another row. */
        json_object_set_new(entry, "seq", json_integer(4));
        json_object_set_new(entry, "row_id", json_integer(9));
        resign(doc, key);
        assert_int_equal(evidence_verify(doc, key, &sum, why, sizeof(why)), -EBADMSG);
        assert_string_equal(why, "the losses name chain entry 4 as engine_event #9, which the "
                                 "chain segment does not");

        /* A declaration that covers an exported row: the row may not be in the file. */
        json_object_set_new(entry, "row_id", json_integer(4));
        json_array_append_new(lost, json_pack("{s:i, s:s, s:i, s:i}", "seq", 3, "tbl",
                                              "engine_event", "row_id", 3, "declaration", 1));
        json_object_set_new(
                json_array_get(json_object_get(json_object_get(doc, "losses"), "declarations"), 0),
                "params", json_string("{\"lost\":[[3,6]]}"));
        resign(doc, key);
        assert_int_equal(evidence_verify(doc, key, &sum, why, sizeof(why)), -EBADMSG);
        assert_string_equal(why, "engine_event #3 is in the export, but its losses say it was "
                                 "lost");

        /* Losses in a version 1 file, which an older checker would not read. */
        json_object_set_new(doc, "version", json_integer(1));
        resign(doc, key);
        assert_int_equal(evidence_verify(doc, key, &sum, why, sizeof(why)), -EBADMSG);
        assert_string_equal(why, "a version 1 export states no losses");
        json_decref(doc);
        crypto_key_free(key);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_a_whole_log_verifies_with_nothing_lost),
                T(test_nothing_is_declared_in_a_whole_log),
                T(test_damage_fails_until_declared_then_counts_as_lost),
                T(test_a_declaration_does_not_cover_a_row_deleted_after_it),
                T(test_a_declaration_speaks_only_of_entries_before_it),
                T(test_a_declaration_does_not_hide_a_change_to_a_kept_row),
                T(test_only_a_chained_declaration_by_declare_loss_counts),
                T(test_declaring_is_refused_where_rows_were_inserted_outside_the_gateway),
                T(test_an_export_of_a_whole_log_is_version_1),
                T(test_an_export_states_the_losses_and_leaves_lost_rows_out),
                T(test_verify_export_refuses_losses_that_disagree_with_the_chain),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
