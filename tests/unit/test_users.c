/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_users: the desk's accounts in a real store. An account verifies with its password and
 * no other; an unknown name, a wrong password and a disabled account look alike; weak
 * passwords and taken names are refused; the store holds an argon2id hash, never the password.
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

#include "store.h"
#include "testutil.h"
#include "users.h"

#define NOW      1795446000000LL /* 2026-11-23T15:00:00Z */
#define PASSWORD "correct horse battery"

struct fixture {
        char *dir;
        struct store *s;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char *path;

        assert_non_null(f);
        f->dir = tu_tempdir();
        path = tu_path(f->dir, "firegate.db");
        assert_int_equal(store_open(path, STORE_READ_WRITE, &f->s), 0);
        free(path);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        store_free(f->s);
        tu_rmtree(f->dir);
        free(f);
        return 0;
}

static void test_account_verifies_with_its_password_and_role(void **state)
{
        struct fixture *f = *state;
        enum users_role role = USERS_VIEWER;

        assert_int_equal(users_add(f->s, "guard.1", USERS_MANAGER, NULL, PASSWORD, NOW), 0);
        assert_int_equal(users_verify(f->s, "guard.1", PASSWORD, &role), 0);
        assert_int_equal(role, USERS_MANAGER);
        assert_int_equal(users_set_role(f->s, "guard.1", USERS_ADMIN), 0);
        assert_int_equal(users_verify(f->s, "guard.1", PASSWORD, &role), 0);
        assert_int_equal(role, USERS_ADMIN);
}

static void test_wrong_password_unknown_name_and_disabled_look_alike(void **state)
{
        struct fixture *f = *state;
        enum users_role role = USERS_VIEWER;

        assert_int_equal(users_add(f->s, "guard", USERS_ADMIN, "en", PASSWORD, NOW), 0);
        assert_int_equal(users_verify(f->s, "guard", "correct horse battery!", &role), -EACCES);
        assert_int_equal(users_verify(f->s, "guard", "", &role), -EACCES);
        assert_int_equal(users_verify(f->s, "nobody", PASSWORD, &role), -EACCES);
        assert_int_equal(users_verify(f->s, "NOT a name", PASSWORD, &role), -EACCES);
        assert_int_equal(users_disable(f->s, "guard"), 0);
        assert_int_equal(users_verify(f->s, "guard", PASSWORD, &role), -EACCES);
        assert_int_equal(role, USERS_VIEWER); /* untouched by a refusal */
        assert_int_equal(users_disable(f->s, "nobody"), -ENOENT);
}

static void test_new_password_replaces_the_old(void **state)
{
        struct fixture *f = *state;
        enum users_role role;

        assert_int_equal(users_add(f->s, "guard", USERS_VIEWER, "vi", PASSWORD, NOW), 0);
        assert_int_equal(users_set_password(f->s, "guard", "another long one"), 0);
        assert_int_equal(users_verify(f->s, "guard", PASSWORD, &role), -EACCES);
        assert_int_equal(users_verify(f->s, "guard", "another long one", &role), 0);
        assert_int_equal(users_set_password(f->s, "guard", "short"), -EKEYREJECTED);
        assert_int_equal(users_set_password(f->s, "nobody", PASSWORD), -ENOENT);
        assert_int_equal(users_set_role(f->s, "nobody", USERS_ADMIN), -ENOENT);
}

static void test_weak_passwords_and_bad_names_are_refused(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(users_add(f->s, "guard", USERS_VIEWER, NULL, "123456789", NOW),
                         -EKEYREJECTED);
        assert_int_equal(users_add(f->s, "frontdesk1", USERS_VIEWER, NULL, "FrontDesk1", NOW),
                         -EKEYREJECTED);
        assert_non_null(users_password_weakness("guard", "short"));
        assert_non_null(users_password_weakness("frontdesk1", "frontdesk1"));
        /* Ten characters, not ten bytes: "mật khẩu" has 8. */
        assert_non_null(users_password_weakness("guard", "mật khẩu"));
        assert_null(users_password_weakness("guard", "mật khẩu 1"));
        assert_int_equal(users_add(f->s, "Guard", USERS_VIEWER, NULL, PASSWORD, NOW), -EINVAL);
        assert_int_equal(users_add(f->s, "", USERS_VIEWER, NULL, PASSWORD, NOW), -EINVAL);
        assert_int_equal(users_add(f->s, "a234567890123456789012345678901234", USERS_VIEWER, NULL,
                                   PASSWORD, NOW),
                         -EINVAL);
        assert_int_equal(users_add(f->s, "guard", USERS_VIEWER, "fr", PASSWORD, NOW), -EINVAL);
}

static void test_taken_name_is_refused_even_when_disabled(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(users_add(f->s, "guard", USERS_VIEWER, NULL, PASSWORD, NOW), 0);
        assert_int_equal(users_add(f->s, "guard", USERS_ADMIN, NULL, "something else", NOW),
                         -EEXIST);
        assert_int_equal(users_disable(f->s, "guard"), 0);
        assert_int_equal(users_add(f->s, "guard", USERS_ADMIN, NULL, "something else", NOW),
                         -EEXIST);
}

static void test_store_holds_an_argon2id_hash_never_the_password(void **state)
{
        struct fixture *f = *state;
        sqlite3_stmt *st;
        int rows = 0;

        assert_int_equal(users_add(f->s, "guard", USERS_MANAGER, NULL, PASSWORD, NOW), 0);
        assert_int_equal(users_add(f->s, "guard2", USERS_MANAGER, NULL, PASSWORD, NOW), 0);
        assert_int_equal(sqlite3_prepare_v2(store_db(f->s),
                                            "SELECT password_hash, created_at, language, disabled "
                                            "FROM desk_user ORDER BY name",
                                            -1, &st, NULL),
                         SQLITE_OK);
        const char *first = NULL;
        char prev[256] = "";
        while (sqlite3_step(st) == SQLITE_ROW) {
                first = (const char *)sqlite3_column_text(st, 0);
                assert_non_null(strstr(first, "$argon2id$v=19$m=65536,t=2,p=1$"));
                assert_null(strstr(first, PASSWORD));
                /* A salt of its own: the same password hashes differently. */
                assert_string_not_equal(first, prev);
                snprintf(prev, sizeof(prev), "%s", first);
                assert_int_equal(sqlite3_column_int64(st, 1), NOW);
                assert_string_equal((const char *)sqlite3_column_text(st, 2), "vi");
                assert_int_equal(sqlite3_column_int(st, 3), 0);
                rows++;
        }
        sqlite3_finalize(st);
        assert_int_equal(rows, 2);
}

static void test_listing_shows_no_hash(void **state)
{
        struct fixture *f = *state;
        sqlite3_stmt *st;

        assert_int_equal(users_add(f->s, "guard", USERS_MANAGER, "en", PASSWORD, NOW), 0);
        assert_int_equal(users_list(f->s, &st), 0);
        assert_int_equal(sqlite3_column_count(st), 5);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "guard");
        assert_string_equal((const char *)sqlite3_column_text(st, 1), "manager");
        assert_string_equal((const char *)sqlite3_column_text(st, 2), "en");
        assert_string_equal((const char *)sqlite3_column_text(st, 3), "active");
        assert_string_equal((const char *)sqlite3_column_text(st, 4), "2026-11-23T15:00:00Z");
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
}

static void test_roles_have_their_names(void **state)
{
        enum users_role r;

        (void)state;
        assert_int_equal(users_role_parse("viewer", &r), 0);
        assert_int_equal(r, USERS_VIEWER);
        assert_int_equal(users_role_parse("admin", &r), 0);
        assert_string_equal(users_role_name(r), "admin");
        assert_int_equal(users_role_parse("root", &r), -EINVAL);
        assert_int_equal(users_role_parse(NULL, &r), -EINVAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_account_verifies_with_its_password_and_role),
                T(test_wrong_password_unknown_name_and_disabled_look_alike),
                T(test_new_password_replaces_the_old),
                T(test_weak_passwords_and_bad_names_are_refused),
                T(test_taken_name_is_refused_even_when_disabled),
                T(test_store_holds_an_argon2id_hash_never_the_password),
                T(test_listing_shows_no_hash),
                cmocka_unit_test(test_roles_have_their_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
