/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_store: the store's promises about its file: migrations from nothing, a new store appearing
 * at its path whole or not at all, a newer database refused, a failing migration leaves the old
 * version intact, a damaged file (an emptied one too) stops start-up, and the pragmas that make
 * a commit durable are set on every connection. Real SQLite files in a temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "store.h"
#include "testutil.h"

static const struct store_migration two_steps[] = {
        {1, "001_first", "CREATE TABLE a (x INTEGER);"},
        {2, "002_second", "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (7);"},
};

/* The second statement fails after the first succeeded: the whole step must roll back. */
static const struct store_migration broken_third[] = {
        {1, "001_first", "CREATE TABLE a (x INTEGER);"},
        {2, "002_second", "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (7);"},
        {3, "003_broken", "CREATE TABLE c (z INTEGER); INSERT INTO no_such_table VALUES (1);"},
};

static int setup(void **state)
{
        log_setup(LOG_CRIT, false); /* the store's error lines are expected here */
        *state = tu_tempdir();
        return 0;
}

static int teardown(void **state)
{
        tu_rmtree(*state);
        return 0;
}

static int query_int(struct store *s, const char *sql)
{
        sqlite3_stmt *st;
        int v;

        assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return v;
}

static void test_missing_file_is_created_with_every_migration(void **state)
{
        char *path = tu_path(*state, "a.db");
        struct store *s = NULL;

        assert_int_equal(store_open_with(path, STORE_READ_WRITE, two_steps, 2, &s), 0);
        assert_int_equal(store_schema_version(s), 2);
        assert_int_equal(query_int(s, "SELECT x FROM a"), 7);
        assert_int_equal(query_int(s, "SELECT count(*) FROM b"), 0);
        store_free(s);
        free(path);
}

/* What a creation cut short by a power cut leaves is a file beside the path, never a short
 * file at it: the next creation removes it and builds the store again. */
static void test_a_creation_cut_short_leaves_nothing_at_the_path(void **state)
{
        char *path = tu_path(*state, "new.db"), *tmp = tu_path(*state, "new.db.new"),
             *journal = tu_path(*state, "new.db.new-journal");
        struct store *s = NULL;

        tu_write(tmp, "SQLite format 3", 0);
        tu_write(journal, "stale", 0);
        assert_int_equal(store_open_with(path, STORE_READ_WRITE, two_steps, 2, &s), 0);
        assert_int_equal(store_schema_version(s), 2);
        assert_int_equal(query_int(s, "SELECT x FROM a"), 7);
        store_free(s);
        assert_int_equal(access(tmp, F_OK), -1);
        assert_int_equal(access(journal, F_OK), -1);
        free(journal);
        free(tmp);
        free(path);
}

/* A creation that fails half way (here a migration; a power cut alike) leaves no file at the
 * path: the store appears there in one step, header and schema, or not at all. */
static void test_a_failed_creation_leaves_no_file_at_the_path(void **state)
{
        char *path = tu_path(*state, "failed.db"), *tmp = tu_path(*state, "failed.db.new");
        struct store *s = NULL;
        struct stat st;

        assert_int_equal(store_open_with(path, STORE_READ_WRITE, broken_third, 3, &s), -EIO);
        assert_null(s);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(access(tmp, F_OK), -1);
        /* Made whole: the header is in the file before the file has its name. */
        assert_int_equal(store_open_with(path, STORE_READ_WRITE, two_steps, 2, &s), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size >= 100);
        store_free(s);
        free(tmp);
        free(path);
}

/* A reader and an appender never create a store. */
static void test_only_a_writer_creates_a_store(void **state)
{
        char *path = tu_path(*state, "none.db");
        struct store *s = NULL;

        assert_int_not_equal(store_open_with(path, STORE_READ_ONLY, two_steps, 2, &s), 0);
        assert_int_not_equal(store_open_with(path, STORE_APPEND, two_steps, 2, &s), 0);
        assert_null(s);
        assert_int_equal(access(path, F_OK), -1);
        free(path);
}

static void test_real_migrations_apply_and_reopen_unchanged(void **state)
{
        char *path = tu_path(*state, "real.db");
        struct store *s = NULL;

        assert_true(store_migration_count >= 1);
        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), 0);
        assert_int_equal(store_schema_version(s),
                         store_migrations[store_migration_count - 1].version);
        assert_int_equal(query_int(s, "SELECT count(*) FROM sqlite_master WHERE name = 'unit'"), 1);
        store_free(s);
        /* A second open finds nothing to do and keeps the data. */
        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), 0);
        assert_int_equal(store_schema_version(s),
                         store_migrations[store_migration_count - 1].version);
        store_free(s);
        free(path);
}

static void test_connection_pragmas_make_commits_durable(void **state)
{
        char *path = tu_path(*state, "p.db");
        struct store *s = NULL;
        sqlite3_stmt *st;

        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), 0);
        assert_int_equal(query_int(s, "PRAGMA foreign_keys"), 1);
        assert_int_equal(query_int(s, "PRAGMA synchronous"), 2); /* FULL */
        assert_int_equal(sqlite3_prepare_v2(store_db(s), "PRAGMA journal_mode", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        store_free(s);
        free(path);
}

static void test_newer_database_is_refused_untouched(void **state)
{
        char *path = tu_path(*state, "newer.db");
        struct store *s = NULL;

        assert_int_equal(store_open_with(path, STORE_READ_WRITE, two_steps, 2, &s), 0);
        store_free(s);
        /* A build that knows only migration 1 meets a version-2 database. */
        assert_int_equal(store_open_with(path, STORE_READ_WRITE, two_steps, 1, &s), -EPROTO);
        assert_null(s);
        assert_int_equal(store_open_with(path, STORE_READ_WRITE, two_steps, 2, &s), 0);
        assert_int_equal(store_schema_version(s), 2);
        assert_int_equal(query_int(s, "SELECT x FROM a"), 7);
        store_free(s);
        free(path);
}

static void test_failed_migration_leaves_old_version_intact(void **state)
{
        char *path = tu_path(*state, "broken.db");
        struct store *s = NULL;

        assert_int_equal(store_open_with(path, STORE_READ_WRITE, two_steps, 1, &s), 0);
        assert_int_equal(sqlite3_exec(store_db(s), "INSERT INTO a VALUES (1)", NULL, NULL, NULL),
                         SQLITE_OK);
        store_free(s);
        /* Migrations 2 and 3 are pending; 3 fails, so 2 must not stay applied either. */
        assert_int_equal(store_open_with(path, STORE_READ_WRITE, broken_third, 3, &s), -EIO);
        assert_int_equal(store_open_with(path, STORE_READ_WRITE, two_steps, 1, &s), 0);
        assert_int_equal(store_schema_version(s), 1);
        assert_int_equal(query_int(s, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                      "('b', 'c')"),
                         0);
        assert_int_equal(query_int(s, "SELECT count(*) FROM a"), 1);
        assert_int_equal(query_int(s, "SELECT x FROM a"), 1);
        store_free(s);
        free(path);
}

static void test_read_only_open_refuses_database_needing_migration(void **state)
{
        char *path = tu_path(*state, "stale.db");
        struct store *s = NULL;

        assert_int_equal(store_open_with(path, STORE_READ_WRITE, two_steps, 1, &s), 0);
        store_free(s);
        assert_int_equal(store_open_with(path, STORE_READ_ONLY, two_steps, 2, &s), -ESTALE);
        assert_int_equal(store_open_with(path, STORE_READ_ONLY, two_steps, 1, &s), 0);
        /* Read-only means read-only: a write is refused by SQLite itself. */
        assert_int_not_equal(
                sqlite3_exec(store_db(s), "INSERT INTO a VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
        store_free(s);
        free(path);
}

static void test_file_that_is_not_a_database_is_refused(void **state)
{
        char *path = tu_path(*state, "junk.db");
        struct store *s = NULL;
        char junk[8192];

        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (char)('A' + i % 26);
        tu_write(path, junk, sizeof(junk));
        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), -EBADMSG);
        assert_null(s);
        free(path);
}

/* Bytes 0..@len-1 of a real store's first page: its header, cut short. */
static void write_cut_store(const char *dir, const char *path, size_t len)
{
        char *whole = tu_path(dir, "whole.db"), head[4096];
        struct store *s = NULL;
        FILE *f;

        assert_int_equal(store_open(whole, STORE_READ_WRITE, &s), 0);
        store_free(s);
        f = fopen(whole, "rb");
        assert_non_null(f);
        assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
        fclose(f);
        assert_true(len < sizeof(head));
        tu_write(path, head, len);
        free(whole);
}

static long long file_size(const char *path)
{
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        return (long long)st.st_size;
}

static void test_emptied_file_is_refused_untouched_not_taken_for_a_new_store(void **state)
{
        static const enum store_mode modes[] = {STORE_READ_WRITE, STORE_APPEND, STORE_READ_ONLY};
        char *path = tu_path(*state, "emptied.db"), *wal = tu_path(*state, "emptied.db-wal");
        struct store *s = NULL;

        tu_write(path, "", 0);
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                assert_int_equal(store_open(path, modes[i], &s), -EBADMSG);
                assert_null(s);
                assert_int_equal(file_size(path), 0);
                assert_int_equal(access(wal, F_OK), -1);
        }
        free(wal);
        free(path);
}

static void test_file_cut_inside_the_header_is_refused_untouched(void **state)
{
        char *path = tu_path(*state, "cut.db");
        struct store *s = NULL;

        write_cut_store(*state, path, 99);
        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), -EBADMSG);
        assert_null(s);
        assert_int_equal(file_size(path), 99);
        /* A whole header with its pages lost is SQLite's to judge, and damaged too. */
        write_cut_store(*state, path, 100);
        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), -EBADMSG);
        assert_null(s);
        assert_int_equal(file_size(path), 100);
        free(path);
}

static void test_damaged_page_fails_integrity_check(void **state)
{
        char *path = tu_path(*state, "damaged.db");
        struct store *s = NULL;
        FILE *f;
        char garbage[4096];

        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), 0);
        assert_int_equal(sqlite3_exec(store_db(s),
                                      "PRAGMA journal_mode = DELETE; CREATE TABLE filler (v TEXT);"
                                      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                                      "FROM n WHERE i < 2000) INSERT INTO filler SELECT "
                                      "printf('%0200d', i) FROM n;",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        store_free(s);
        /* Overwrite one whole page well inside the file (its b-tree header too), leaving the
         * file's header intact, as a failing SD card would. */
        memset(garbage, 0x5a, sizeof(garbage));
        f = fopen(path, "r+b");
        assert_non_null(f);
        assert_int_equal(fseek(f, 4096 * 19, SEEK_SET), 0);
        assert_int_equal(fwrite(garbage, 1, sizeof(garbage), f), sizeof(garbage));
        assert_int_equal(fclose(f), 0);
        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), -EBADMSG);
        assert_null(s);
        free(path);
}

static void test_unwritable_location_reports_errno(void **state)
{
        char *path = tu_path(*state, "no/such/dir/x.db");
        struct store *s = NULL;

        assert_int_equal(store_open(path, STORE_READ_WRITE, &s), -ENOENT);
        assert_null(s);
        free(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_missing_file_is_created_with_every_migration,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_creation_cut_short_leaves_nothing_at_the_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_failed_creation_leaves_no_file_at_the_path,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_only_a_writer_creates_a_store, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_real_migrations_apply_and_reopen_unchanged,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_connection_pragmas_make_commits_durable, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_newer_database_is_refused_untouched, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_failed_migration_leaves_old_version_intact,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_read_only_open_refuses_database_needing_migration, setup, teardown),
                cmocka_unit_test_setup_teardown(test_file_that_is_not_a_database_is_refused, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_emptied_file_is_refused_untouched_not_taken_for_a_new_store, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        test_file_cut_inside_the_header_is_refused_untouched, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_page_fails_integrity_check, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_unwritable_location_reports_errno, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
