/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_chain: the hash chain's verdicts when rows are lost to damage and declared so
 * (declare-loss, loss.h): a deletion or a change stays a failure until declared; a declaration
 * covers only what was missing or changed when it was made, and only in the state it recorded;
 * a declaration counts only where its row is the one chained, well formed, and not overlapping
 * an earlier one, so that it can be neither forged in a lost place, nor changed, nor widened
 * later; a log with other problems cannot be declared whole, and no empty declaration is
 * written; a head held by the platform shows declarations made after it. An export of a log
 * with losses states them, leaves the lost rows out, and its checker refuses losses that
 * disagree with the chain. Real SQLite files in a temporary directory, rows written through the
 * store's own connection (its triggers chain them) and tampered with as someone with the file
 * would.
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
#include "loss.h"
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
static void drop_append_only(struct store *s)
{
        exec_ok(s, "DROP TRIGGER IF EXISTS engine_event_append_only_delete;"
                   "DROP TRIGGER IF EXISTS engine_event_append_only_update;"
                   "DROP TRIGGER IF EXISTS audit_append_only_delete;"
                   "DROP TRIGGER IF EXISTS audit_append_only_update;");
}

static void damage(struct store *s)
{
        drop_append_only(s);
        exec_ok(s, "DELETE FROM engine_event WHERE id IN (4, 5);"
                   "UPDATE engine_event SET cause = 'heat alarm rep' || x'ffffff' WHERE id = 6;");
}

/* A verdict; its lists are freed at once (the counts and texts stay). */
static struct chain_report verify_head(struct store *s, const char *head)
{
        struct chain_report rep;

        assert_int_equal(chain_verify(store_db(s), head, &rep), 0);
        assert_int_equal(rep.ok, rep.unmatched + rep.broken == 0);
        chain_report_clear(&rep);
        return rep;
}

static struct chain_report verify(struct store *s)
{
        return verify_head(s, NULL);
}

static void declare(struct store *s, long long want)
{
        struct evidence_declared d;
        struct chain_report rep;

        assert_int_equal(evidence_declare_loss(s, LATER, WHO, BECAUSE, NULL, &rep, &d), 0);
        assert_int_equal(d.missing + d.damaged, want);
        assert_true(want ? d.audit_id > 0 : d.audit_id == 0);
        chain_report_clear(&rep);
}

/* declare-loss refused: -EBADMSG, nothing written, @why the problem it names. */
static void declare_refused(struct store *s, const char *why)
{
        long long audits = query_ll(s, "SELECT count(*) FROM audit");
        struct evidence_declared d;
        struct chain_report rep;

        assert_int_equal(evidence_declare_loss(s, LATER, WHO, BECAUSE, NULL, &rep, &d), -EBADMSG);
        assert_int_equal(d.audit_id, 0);
        assert_string_equal(rep.undeclarable, why);
        assert_int_equal(query_ll(s, "SELECT count(*) FROM audit"), audits);
        chain_report_clear(&rep);
}

/* A chained audit row written through the gateway's own connection, as a declaration. */
static void chained_declaration(struct store *s, const char *params)
{
        assert_int_equal(evidence_audit(s, LATER, WHO, "local", LOSS_ACTION, params, LOSS_RESULT),
                         0);
}

/* A row written with another program (the sqlite3 shell): no chain entry is made for it. */
static void exec_raw(const char *path, const char *sql)
{
        sqlite3 *raw = NULL;

        assert_int_equal(sqlite3_open_v2(path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(raw);
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
        /* Each entry in its state: 4 and 5 missing, 6 damaged with what is in its place. */
        assert_int_equal(
                query_ll(f->s,
                         "SELECT count(*) FROM audit a, engine_event e WHERE a.action = "
                         "'declare-loss' AND a.result = 'declared' AND json_extract(a.params, "
                         "'$.lost') = '[[4,6]]' AND json_array_length(a.params, '$.damaged') "
                         "= 1 AND json_extract(a.params, '$.damaged[0][0]') = 6 AND e.id = 6 "
                         "AND json_extract(a.params, '$.damaged[0][1]') = lower(hex("
                         "firegate_sha256(json_array('engine_event', e.id, e.at, e.decision, "
                         "e.detector, e.unit, e.floor, e.place, e.cause, e.rule, e.flags, "
                         "e.fault, e.who, e.output))))"),
                1);
        rep = verify(f->s);
        assert_true(rep.ok);
        assert_int_equal(rep.lost, 3);
        assert_int_equal(rep.entries, N_ROWS + 1); /* the declaration is chained too */
        assert_string_equal(rep.loss, "3 rows declared lost (2 missing, 1 damaged), chain entries "
                                      "4 to 6: engine_event #4 to #6; declared on 2026-11-23 "
                                      "16:00:00 UTC by " WHO " (audit #1): " BECAUSE);
        /* Declared once: a second declaration finds nothing left to declare. */
        declare(f->s, 0);
        assert_int_equal(query_ll(f->s, "SELECT count(*) FROM audit"), 1);
}

static void test_the_loss_names_the_rows_of_every_table_it_spans(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        /* Entries 11 (audit #1) and 12 (engine_event #11) after the ten engine events. */
        assert_int_equal(evidence_audit(f->s, LATER, WHO, "local", "verify-log", "{}", NULL), 0);
        exec_ok(f->s, "INSERT INTO engine_event (at, decision, cause) VALUES (1, 'reset', 'x')");
        drop_append_only(f->s);
        exec_ok(f->s, "DELETE FROM engine_event WHERE id IN (10, 11); DELETE FROM audit WHERE id "
                      "= 1");
        declare(f->s, 3);
        rep = verify(f->s);
        assert_true(rep.ok);
        assert_non_null(strstr(rep.loss, "3 rows declared lost (3 missing, 0 damaged), chain "
                                         "entries 10 to 12: engine_event #10 to #11, audit #1; "));
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

static void test_a_declaration_naming_entries_after_its_own_is_a_problem(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        damage(f->s);
        /* Wider than declare-loss ever writes one: every entry up to 100. */
        chained_declaration(f->s, "{\"lost\":[[1,100]],\"reason\":\"x\"}");
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_int_equal(rep.lost, 0);
        assert_int_equal(rep.unmatched, 3);
        assert_string_equal(rep.undeclarable,
                            "audit #1 (chain entry 11) is a declaration of lost rows that does "
                            "not count: \"lost\" names chain entry 100, not before the "
                            "declaration's own entry 11");
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

static void test_a_declaration_needs_its_action_result_and_chain_entry(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        damage(f->s);
        /* An audit row through the control socket's audit request: no result, so no
         * declaration, whatever its action and params say. */
        assert_int_equal(evidence_audit(f->s, LATER, WHO, "local", LOSS_ACTION,
                                        "{\"lost\":[[4,6]],\"reason\":\"x\"}", NULL),
                         0);
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_int_equal(rep.unmatched, 3);
        assert_int_equal(rep.lost, 0);
        /* One written with the sqlite3 shell has no chain entry: no declaration either, and
         * itself a row inserted outside the gateway. */
        exec_raw(f->path, "INSERT INTO audit (at, who, origin, action, params, result) VALUES "
                          "(1, 'x', 'local', 'declare-loss', '{\"lost\":[[4,6]],\"reason\":"
                          "\"x\"}', 'declared')");
        rep = verify(f->s);
        assert_int_equal(rep.lost, 0);
        assert_int_equal(rep.unmatched, 3);
        assert_int_equal(rep.broken, 1);
}

/* H1: a genuine declaration covers the missing audit #1; a row written into its place that
 * looks like a declaration of entries 1 to 10 must not count, nor sit there unnoticed. */
static void test_a_declaration_forged_in_a_lost_audit_rows_place_is_none(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        assert_int_equal(evidence_audit(f->s, LATER, WHO, "local", "verify-log", "{}", NULL), 0);
        exec_ok(f->s, "INSERT INTO engine_event (at, decision, cause) VALUES (1, 'reset', 'x')");
        drop_append_only(f->s);
        exec_ok(f->s, "DELETE FROM audit WHERE id = 1");
        declare(f->s, 1); /* audit #2, entry 13: entry 11 missing */
        exec_raw(f->path, "INSERT INTO audit (id, at, who, origin, action, params, result) VALUES "
                          "(1, 1, 'x', 'local', 'declare-loss', '{\"lost\":[[1,10]],\"reason\":"
                          "\"x\"}', 'declared')");
        exec_ok(f->s, "DELETE FROM engine_event WHERE id = 3");
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_int_equal(rep.lost, 1);
        assert_string_equal(rep.problem, "engine_event #3 was deleted (chain entry 3)");
        assert_string_equal(rep.undeclarable, "audit #1 is in a place that audit #2 declared "
                                              "missing (chain entry 11): written there after "
                                              "the declaration");
}

/* H2: a declaration widened after it was made no longer counts, and cannot be declared lost
 * itself to make its change stand. */
static void test_a_changed_declaration_stops_counting_and_cannot_be_declared_lost(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;
        const char *changed = "audit #1 was changed after it was written (chain entry 11); it "
                              "is a declaration of lost rows, which no declaration can declare "
                              "lost";

        damage(f->s);
        declare(f->s, 3);
        exec_ok(f->s, "UPDATE audit SET params = '{\"lost\":[[1,10]],\"reason\":\"x\"}' WHERE id "
                      "= 1; DELETE FROM engine_event WHERE id = 8");
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_int_equal(rep.lost, 0);
        assert_string_equal(rep.problem, "engine_event #4 was deleted (chain entry 4)");
        assert_string_equal(rep.undeclarable, changed);
        assert_string_equal(rep.loss, "");
        declare_refused(f->s, changed);
}

/* H3: one reading of a declaration's runs; a malformed one is a problem, never a declaration,
 * and nothing is exported from such a log. */
static void malformed_declaration_is_a_problem(struct store *s, const char *params, const char *why)
{
        struct crypto_key *key = NULL;
        struct chain_report rep;
        json_t *doc = NULL;
        char want[512];

        assert_int_equal(crypto_key_generate(&key), 0);
        drop_append_only(s);
        exec_ok(s, "DELETE FROM engine_event WHERE id = 4");
        chained_declaration(s, params);
        assert_int_equal(chain_verify(store_db(s), NULL, &rep), 0);
        assert_false(rep.ok);
        assert_int_equal(rep.lost, 0);
        snprintf(want, sizeof(want),
                 "audit #1 (chain entry 11) is a declaration of lost rows that does not count: %s",
                 why);
        assert_string_equal(rep.undeclarable, want);
        assert_int_equal(evidence_export(s, &rep, key, "gw-1", WALL0, LATER, LATER, &doc),
                         -EBADMSG);
        assert_null(doc);
        chain_report_clear(&rep);
        /* Nor is it a declaration for declare-loss to build on: refused, nothing written. */
        declare_refused(s, want);
        crypto_key_free(key);
}

static void test_a_declaration_with_a_null_in_its_runs_is_a_problem(void **state)
{
        struct fixture *f = *state;

        malformed_declaration_is_a_problem(f->s, "{\"lost\":[[null,5]],\"reason\":\"x\"}",
                                           "\"lost\" item 1 is not a pair of chain entry numbers");
}

static void test_a_declaration_with_text_in_its_runs_is_a_problem(void **state)
{
        struct fixture *f = *state;

        /* Before, verify-log read "abc" as 0 (nothing declared) and declare-loss's SQL as
         * above every number (all declared): declare-loss then wrote an empty declaration. */
        malformed_declaration_is_a_problem(f->s, "{\"lost\":[[4,\"abc\"]],\"reason\":\"x\"}",
                                           "\"lost\" item 1 is not a pair of chain entry numbers");
        assert_int_equal(query_ll(f->s, "SELECT count(*) FROM audit"), 1);
}

static void test_a_declaration_with_a_fraction_in_its_runs_is_a_problem(void **state)
{
        struct fixture *f = *state;

        malformed_declaration_is_a_problem(f->s, "{\"lost\":[[4.5,5]],\"reason\":\"x\"}",
                                           "\"lost\" item 1 is not a pair of chain entry numbers");
}

static void test_a_later_declaration_cannot_widen_or_take_over_an_earlier_one(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        damage(f->s);
        declare(f->s, 3); /* audit #1, entry 11 */
        chained_declaration(f->s, "{\"lost\":[[3,5]],\"reason\":\"x\"}");
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_int_equal(rep.lost, 3);
        assert_string_equal(rep.undeclarable,
                            "audit #2 (chain entry 12) is a declaration of lost rows that does "
                            "not count: it declares chain entry 4 lost, which audit #1 declared "
                            "already");
        chained_declaration(f->s, "{\"lost\":[[11,11]],\"reason\":\"x\"}");
        rep = verify(f->s);
        assert_int_equal(rep.broken, 2);
        assert_int_equal(rep.lost, 3);
        assert_string_equal(rep.loss, "3 rows declared lost (2 missing, 1 damaged), chain entries "
                                      "4 to 6: engine_event #4 to #6; declared on 2026-11-23 "
                                      "16:00:00 UTC by " WHO " (audit #1): " BECAUSE);
}

/* M1: a declared place keeps its declared state. */
static void test_a_row_written_into_a_place_declared_missing_fails(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        damage(f->s);
        declare(f->s, 3);
        exec_raw(f->path, "INSERT INTO engine_event (id, at, decision, cause) VALUES (4, 1, "
                          "'reset', 'staged')");
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_int_equal(rep.lost, 3);
        assert_string_equal(rep.problem, "engine_event #4 is in a place that audit #1 declared "
                                         "missing (chain entry 4): written there after the "
                                         "declaration");
}

static void test_a_row_declared_damaged_changed_later_fails(void **state)
{
        struct fixture *f = *state;
        struct chain_report rep;

        damage(f->s);
        declare(f->s, 3);
        exec_ok(f->s, "UPDATE engine_event SET cause = 'nothing happened' WHERE id = 6");
        rep = verify(f->s);
        assert_false(rep.ok);
        assert_string_equal(rep.problem, "engine_event #6, which audit #1 declared damaged, was "
                                         "changed since (chain entry 6)");
        exec_ok(f->s, "DELETE FROM engine_event WHERE id = 6");
        rep = verify(f->s);
        assert_string_equal(rep.problem, "engine_event #6, which audit #1 declared damaged, was "
                                         "deleted since (chain entry 6)");
}

/* M2: the refusal names what a declaration cannot cover, not the first deletion. */
static void test_declaring_is_refused_where_rows_were_inserted_outside_the_gateway(void **state)
{
        struct fixture *f = *state;
        struct evidence_declared d;
        struct chain_report rep;

        damage(f->s);
        exec_raw(f->path, "INSERT INTO engine_event (at, decision, cause) VALUES (1, 'reset', "
                          "'staged')");
        declare_refused(f->s, "engine_event #11 was inserted outside the gateway (it has no "
                              "chain entry)");
        assert_int_equal(evidence_declare_loss(f->s, LATER, WHO, BECAUSE, NULL, &rep, &d),
                         -EBADMSG);
        assert_string_equal(rep.problem, "engine_event #4 was deleted (chain entry 4)");
        assert_int_equal(rep.broken, 1);
        chain_report_clear(&rep);
}

/* L1: the reason is printed by every verdict: no terminal escapes in it. */
static void test_a_reason_with_control_characters_is_refused(void **state)
{
        struct fixture *f = *state;
        struct evidence_declared d;
        struct chain_report rep;
        char out[64];

        damage(f->s);
        assert_int_equal(evidence_declare_loss(f->s, LATER, WHO, "damage\x1b[2J", NULL, &rep, &d),
                         -EINVAL);
        assert_int_equal(query_ll(f->s, "SELECT count(*) FROM audit"), 0);
        assert_false(loss_text_ok("a\nb"));
        assert_false(loss_text_ok("\xc2\x9b"
                                  "2J")); /* C1 CSI */
        assert_false(loss_text_ok("\xe2\x80\xae"
                                  "abc")); /* right-to-left override */
        assert_false(loss_text_ok("\xff"));
        assert_false(loss_text_ok(""));
        assert_true(loss_text_ok("SD card damage, copy in /var/lib/firegate.damaged (Hà Nội)"));
        assert_string_equal(loss_printable("uid 0 (\x1b[31mroot)", out, sizeof(out)),
                            "uid 0 (\\x1b[31mroot)");
}

/* H4: a declaration can be made by whoever runs declare-loss, so a check against a head the
 * platform holds names every declaration made after it that reaches back before it. */
static void test_a_check_against_a_head_names_declarations_made_after_it(void **state)
{
        struct fixture *f = *state;
        struct evidence_declared d;
        struct chain_report rep;
        char before[CHAIN_HEAD_HEX], after[CHAIN_HEAD_HEX];
        const char *copy = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

        assert_int_equal(chain_head(store_db(f->s), before, NULL), 0);
        damage(f->s);
        assert_int_equal(evidence_declare_loss(f->s, LATER, WHO, BECAUSE, copy, &rep, &d), 0);
        chain_report_clear(&rep);
        assert_int_equal(query_ll(f->s, "SELECT count(*) FROM audit WHERE json_extract(params, "
                                        "'$.damaged_copy_sha256') = "
                                        "'00112233445566778899aabbccddeeff00112233445566778899aab"
                                        "bccddeeff'"),
                         1);
        rep = verify_head(f->s, before);
        assert_true(rep.ok);
        assert_true(rep.head_found);
        assert_int_equal(rep.late, 1);
        assert_string_equal(rep.warnings,
                            "audit #1 (chain entry 11), declared after the head the platform "
                            "holds, declares 3 entries at or before that head lost: only the kept "
                            "damaged copy (SHA-256 "
                            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff) "
                            "can show that they were lost to damage, not deleted");
        assert_int_equal(chain_head(store_db(f->s), after, NULL), 0);
        rep = verify_head(f->s, after);
        assert_int_equal(rep.late, 0);
        assert_string_equal(rep.warnings, "");
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
        struct chain_report rep;
        json_t *doc = NULL;

        assert_int_equal(chain_verify(store_db(s), NULL, &rep), 0);
        assert_int_equal(evidence_export(s, &rep, key, "gw-1", WALL0, WALL0 + N_ROWS * 1000LL,
                                         LATER + 1000, &doc),
                         0);
        chain_report_clear(&rep);
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
        json_t *doc, *engine, *row, *lost;
        char why[512];
        size_t i;

        assert_int_equal(crypto_key_generate(&key), 0);
        damage(f->s);
        declare(f->s, 3);
        doc = export_all(f->s, key);
        assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
        lost = json_object_get(json_object_get(doc, "losses"), "entries");
        assert_int_equal(json_array_size(lost), 3);
        assert_string_equal(json_string_value(json_object_get(json_array_get(lost, 0), "state")),
                            "missing");
        assert_string_equal(json_string_value(json_object_get(json_array_get(lost, 2), "state")),
                            "damaged");
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
        assert_string_equal(sum.loss, "3 rows of the log declared lost, 3 inside this export's "
                                      "chain segment (chain entries 4 to 6: engine_event #4 to "
                                      "#6); declared on 2026-11-23 16:00:00 UTC by " WHO
                                      " (audit #1): " BECAUSE);
        json_decref(doc);
        crypto_key_free(key);
}

static void test_verify_export_refuses_losses_that_disagree_with_the_chain(void **state)
{
        struct fixture *f = *state;
        struct evidence_summary sum;
        struct crypto_key *key = NULL;
        json_t *doc, *lost, *entry, *decl;
        char why[512], *params;

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
        json_array_insert_new(lost, 0,
                              json_pack("{s:i, s:s, s:i, s:i, s:s}", "seq", 3, "tbl",
                                        "engine_event", "row_id", 3, "declaration", 1, "state",
                                        "missing"));
        decl = json_array_get(json_object_get(json_object_get(doc, "losses"), "declarations"), 0);
        params = strdup(json_string_value(json_object_get(decl, "params")));
        assert_non_null(params);
        assert_non_null(strstr(params, "[[4,6]]"));
        strstr(params, "[[4,6]]")[2] = '3';
        json_object_set_new(decl, "params", json_string(params));
        resign(doc, key);
        assert_int_equal(evidence_verify(doc, key, &sum, why, sizeof(why)), -EBADMSG);
        assert_string_equal(why, "engine_event #3 is in the export, but its losses say it was "
                                 "lost");
        json_array_remove(lost, 0);

        /* A damaged row stated as missing. */
        json_object_set_new(json_array_get(lost, 2), "state", json_string("missing"));
        resign(doc, key);
        assert_int_equal(evidence_verify(doc, key, &sum, why, sizeof(why)), -EBADMSG);
        assert_string_equal(why, "the losses say chain entry 6 is missing, which its declaration "
                                 "does not");

        /* A declaration read as the gateway reads one: a malformed run is refused. */
        json_object_set_new(decl, "params", json_string("{\"lost\":[[null,6]],\"reason\":\"x\"}"));
        resign(doc, key);
        assert_int_equal(evidence_verify(doc, key, &sum, why, sizeof(why)), -EBADMSG);
        assert_string_equal(why, "the export's declaration audit #1 is malformed: \"lost\" item 1 "
                                 "is not a pair of chain entry numbers");
        free(params);

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
                T(test_the_loss_names_the_rows_of_every_table_it_spans),
                T(test_a_declaration_does_not_cover_a_row_deleted_after_it),
                T(test_a_declaration_naming_entries_after_its_own_is_a_problem),
                T(test_a_declaration_does_not_hide_a_change_to_a_kept_row),
                T(test_a_declaration_needs_its_action_result_and_chain_entry),
                T(test_a_declaration_forged_in_a_lost_audit_rows_place_is_none),
                T(test_a_changed_declaration_stops_counting_and_cannot_be_declared_lost),
                T(test_a_declaration_with_a_null_in_its_runs_is_a_problem),
                T(test_a_declaration_with_text_in_its_runs_is_a_problem),
                T(test_a_declaration_with_a_fraction_in_its_runs_is_a_problem),
                T(test_a_later_declaration_cannot_widen_or_take_over_an_earlier_one),
                T(test_a_row_written_into_a_place_declared_missing_fails),
                T(test_a_row_declared_damaged_changed_later_fails),
                T(test_declaring_is_refused_where_rows_were_inserted_outside_the_gateway),
                T(test_a_reason_with_control_characters_is_refused),
                T(test_a_check_against_a_head_names_declarations_made_after_it),
                T(test_an_export_of_a_whole_log_is_version_1),
                T(test_an_export_states_the_losses_and_leaves_lost_rows_out),
                T(test_verify_export_refuses_losses_that_disagree_with_the_chain),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
