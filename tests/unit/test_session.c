/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_session: the desk's sessions, login limiter, roles and cookie, on a clock the test
 * moves: a session ends 30 minutes after its last use or 12 hours after it began, whichever
 * comes first; a CSRF token matches only itself; failed logins wait 1 s, 2 s, 4 s ... up to
 * 60 s after the third, and are forgotten after a success or 15 minutes; viewers view,
 * managers act, admins manage accounts; the cookie is HttpOnly, Secure, SameSite=Strict.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

#define T0     1000000LL
#define MINUTE (60LL * 1000)
#define HOUR   (60 * MINUTE)

static struct session_table *table(size_t max)
{
        struct session_table *t = session_table_new(max, SESSION_IDLE_MS, SESSION_ABSOLUTE_MS);

        assert_non_null(t);
        return t;
}

static void test_session_ids_are_random_base64url_of_256_bits(void **state)
{
        struct session_table *t = table(4);
        struct session *a, *b;

        (void)state;
        assert_int_equal(session_create(t, "alice", USERS_VIEWER, T0, &a), 0);
        assert_int_equal(session_create(t, "bob", USERS_ADMIN, T0, &b), 0);
        assert_int_equal(strlen(session_id(a)), 43);
        assert_int_equal(strspn(session_id(a),
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_"),
                         43);
        assert_string_not_equal(session_id(a), session_id(b));
        assert_string_not_equal(session_id(a), session_csrf(a));
        assert_string_equal(session_user(b), "bob");
        assert_int_equal(session_role(b), USERS_ADMIN);
        assert_int_equal(session_create(t, "Not A Name", USERS_VIEWER, T0, &a), -EINVAL);
        session_table_free(t);
}

static void test_session_ends_after_30_minutes_idle(void **state)
{
        struct session_table *t = table(4);
        struct session *s;
        char id[SESSION_TOKEN_LEN + 1];

        (void)state;
        assert_int_equal(session_create(t, "alice", USERS_VIEWER, T0, &s), 0);
        memcpy(id, session_id(s), sizeof(id));
        /* Each use restarts the idle clock. */
        assert_ptr_equal(session_lookup(t, id, T0 + 29 * MINUTE), s);
        assert_ptr_equal(session_lookup(t, id, T0 + 58 * MINUTE), s);
        assert_null(session_lookup(t, id, T0 + 88 * MINUTE));
        /* Gone for good, even if the clock were to go back. */
        assert_null(session_lookup(t, id, T0 + 60 * MINUTE));
        assert_int_equal(session_count(t, T0), 0);
        session_table_free(t);
}

static void test_session_ends_after_12_hours_however_used(void **state)
{
        struct session_table *t = table(4);
        struct session *s;
        char id[SESSION_TOKEN_LEN + 1];
        int64_t now;

        (void)state;
        assert_int_equal(session_create(t, "alice", USERS_MANAGER, T0, &s), 0);
        memcpy(id, session_id(s), sizeof(id));
        for (now = T0; now < T0 + 12 * HOUR; now += 20 * MINUTE)
                assert_non_null(session_lookup(t, id, now));
        assert_int_equal(session_max_age_s(t, s, T0 + 12 * HOUR - 90 * 1000), 90);
        assert_null(session_lookup(t, id, T0 + 12 * HOUR));
        session_table_free(t);
}

static void test_idle_and_absolute_limits_are_configurable(void **state)
{
        struct session_table *t = session_table_new(2, 1000, 5000);
        struct session *s;
        char id[SESSION_TOKEN_LEN + 1];

        (void)state;
        assert_non_null(t);
        assert_int_equal(session_create(t, "alice", USERS_VIEWER, 0, &s), 0);
        memcpy(id, session_id(s), sizeof(id));
        assert_non_null(session_lookup(t, id, 999));
        assert_non_null(session_lookup(t, id, 1998));
        assert_null(session_lookup(t, id, 2998));
        session_table_free(t);
}

static void test_unknown_and_malformed_ids_find_nothing(void **state)
{
        struct session_table *t = table(4);
        struct session *s;
        char id[SESSION_TOKEN_LEN + 1];

        (void)state;
        assert_int_equal(session_create(t, "alice", USERS_VIEWER, T0, &s), 0);
        memcpy(id, session_id(s), sizeof(id));
        id[0] = id[0] == 'A' ? 'B' : 'A';
        assert_null(session_lookup(t, id, T0));
        assert_null(session_lookup(t, "", T0));
        assert_null(session_lookup(t, NULL, T0));
        assert_null(session_lookup(t, "short", T0));
        session_table_free(t);
}

static void test_logout_destroys_the_session(void **state)
{
        struct session_table *t = table(4);
        struct session *s;
        char id[SESSION_TOKEN_LEN + 1];

        (void)state;
        assert_int_equal(session_create(t, "alice", USERS_VIEWER, T0, &s), 0);
        memcpy(id, session_id(s), sizeof(id));
        assert_int_equal(session_destroy(t, id), 0);
        assert_null(session_lookup(t, id, T0));
        assert_int_equal(session_destroy(t, id), -ENOENT);
        session_table_free(t);
}

static void test_full_table_ends_the_session_unused_longest(void **state)
{
        struct session_table *t = table(2);
        struct session *a, *b, *c;
        char ida[SESSION_TOKEN_LEN + 1], idb[SESSION_TOKEN_LEN + 1];

        (void)state;
        assert_int_equal(session_create(t, "a", USERS_VIEWER, T0, &a), 0);
        memcpy(ida, session_id(a), sizeof(ida));
        assert_int_equal(session_create(t, "b", USERS_VIEWER, T0 + 1, &b), 0);
        memcpy(idb, session_id(b), sizeof(idb));
        assert_non_null(session_lookup(t, ida, T0 + 2)); /* b is now the one unused longest */
        assert_int_equal(session_create(t, "c", USERS_VIEWER, T0 + 3, &c), 0);
        assert_non_null(session_lookup(t, ida, T0 + 4));
        assert_null(session_lookup(t, idb, T0 + 4));
        assert_int_equal(session_count(t, T0 + 4), 2);
        session_table_free(t);
}

static void test_csrf_token_matches_only_itself(void **state)
{
        struct session_table *t = table(4);
        struct session *a, *b;
        char token[SESSION_TOKEN_LEN + 1];

        (void)state;
        assert_int_equal(session_create(t, "alice", USERS_MANAGER, T0, &a), 0);
        assert_int_equal(session_create(t, "bob", USERS_MANAGER, T0, &b), 0);
        memcpy(token, session_csrf(a), sizeof(token));
        assert_true(session_csrf_ok(a, token));
        assert_false(session_csrf_ok(b, token));
        assert_false(session_csrf_ok(a, session_id(a)));
        token[SESSION_TOKEN_LEN - 1] = token[SESSION_TOKEN_LEN - 1] == 'A' ? 'B' : 'A';
        assert_false(session_csrf_ok(a, token));
        token[SESSION_TOKEN_LEN - 1] = '\0';
        assert_false(session_csrf_ok(a, token));
        assert_false(session_csrf_ok(a, ""));
        assert_false(session_csrf_ok(a, NULL));
        session_table_free(t);
}

static void test_failed_logins_wait_longer_and_longer_up_to_a_minute(void **state)
{
        struct session_limiter *l = session_limiter_new(8);
        static const int64_t expect[] = {0, 0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
        int64_t now = T0;

        (void)state;
        assert_non_null(l);
        for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
                assert_int_equal(session_login_wait(l, "alice", "192.0.2.1", now), 0);
                session_login_failed(l, "alice", "192.0.2.1", now);
                assert_int_equal(session_login_wait(l, "alice", "192.0.2.1", now), expect[i]);
                if (expect[i]) {
                        assert_int_equal(
                                session_login_wait(l, "alice", "192.0.2.1", now + expect[i] - 1),
                                1);
                }
                now += expect[i];
        }
        session_limiter_free(l);
}

static void test_limits_hold_per_name_and_per_address(void **state)
{
        struct session_limiter *l = session_limiter_new(8);

        (void)state;
        assert_non_null(l);
        /* One address guessing three names: the address waits, whatever name it tries. */
        session_login_failed(l, "alice", "192.0.2.1", T0);
        session_login_failed(l, "bob", "192.0.2.1", T0);
        session_login_failed(l, "carol", "192.0.2.1", T0);
        assert_int_equal(session_login_wait(l, "dave", "192.0.2.1", T0), 1000);
        assert_int_equal(session_login_wait(l, "dave", "192.0.2.2", T0), 0);
        /* Three addresses guessing one name: the name waits, from any address. */
        session_login_failed(l, "erin", "198.51.100.1", T0);
        session_login_failed(l, "erin", "198.51.100.2", T0);
        session_login_failed(l, "erin", "198.51.100.3", T0);
        assert_int_equal(session_login_wait(l, "erin", "203.0.113.9", T0), 1000);
        session_limiter_free(l);
}

static void test_failures_are_forgotten_after_success_or_15_minutes(void **state)
{
        struct session_limiter *l = session_limiter_new(8);

        (void)state;
        assert_non_null(l);
        for (int i = 0; i < 5; i++)
                session_login_failed(l, "alice", "192.0.2.1", T0);
        assert_int_equal(session_login_wait(l, "alice", "192.0.2.1", T0), 4000);
        session_login_succeeded(l, "alice", "192.0.2.1");
        assert_int_equal(session_login_wait(l, "alice", "192.0.2.1", T0), 0);
        for (int i = 0; i < 4; i++)
                session_login_failed(l, "alice", "192.0.2.1", T0);
        assert_int_equal(session_login_wait(l, "alice", "192.0.2.1", T0), 2000);
        /* 15 minutes later the count starts again from nothing. */
        session_login_failed(l, "alice", "192.0.2.1", T0 + 15 * MINUTE);
        assert_int_equal(session_login_wait(l, "alice", "192.0.2.1", T0 + 15 * MINUTE), 0);
        session_limiter_free(l);
}

static void test_a_flood_of_addresses_fits_in_the_table(void **state)
{
        struct session_limiter *l = session_limiter_new(4);
        char addr[32];

        (void)state;
        assert_non_null(l);
        for (int i = 0; i < 100; i++) {
                snprintf(addr, sizeof(addr), "10.0.0.%d", i);
                session_login_failed(l, "alice", addr, T0 + i);
        }
        assert_int_equal(session_login_wait(l, "alice", "10.0.0.200", T0 + 100), 60000 - 1);
        session_limiter_free(l);
}

static void test_viewers_view_managers_act_admins_manage_users(void **state)
{
        (void)state;
        assert_true(session_may(USERS_VIEWER, SESSION_VIEW));
        assert_false(session_may(USERS_VIEWER, SESSION_ACT));
        assert_false(session_may(USERS_VIEWER, SESSION_MANAGE_USERS));
        assert_true(session_may(USERS_MANAGER, SESSION_VIEW));
        assert_true(session_may(USERS_MANAGER, SESSION_ACT));
        assert_false(session_may(USERS_MANAGER, SESSION_MANAGE_USERS));
        assert_true(session_may(USERS_ADMIN, SESSION_VIEW));
        assert_true(session_may(USERS_ADMIN, SESSION_ACT));
        assert_true(session_may(USERS_ADMIN, SESSION_MANAGE_USERS));
}

static void test_cookie_is_httponly_secure_samesite_strict(void **state)
{
        struct session_table *t = table(2);
        struct session *s;
        char buf[256], want[256];

        (void)state;
        assert_int_equal(session_create(t, "alice", USERS_VIEWER, T0, &s), 0);
        assert_int_equal(session_cookie(buf, sizeof(buf), session_id(s), 43200), 0);
        snprintf(want, sizeof(want),
                 "__Host-firegate=%s; Path=/; Max-Age=43200; HttpOnly; Secure; SameSite=Strict",
                 session_id(s));
        assert_string_equal(buf, want);
        /* Logout clears it. */
        assert_int_equal(session_cookie(buf, sizeof(buf), "", 43200), 0);
        assert_string_equal(
                buf, "__Host-firegate=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
        /* Nothing but a token goes into the header. */
        assert_int_equal(session_cookie(buf, sizeof(buf), "x\r\nSet-Cookie: a=b", 1), -EINVAL);
        assert_int_equal(session_cookie(buf, 20, session_id(s), 1), -ENOBUFS);
        session_table_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_session_ids_are_random_base64url_of_256_bits),
                cmocka_unit_test(test_session_ends_after_30_minutes_idle),
                cmocka_unit_test(test_session_ends_after_12_hours_however_used),
                cmocka_unit_test(test_idle_and_absolute_limits_are_configurable),
                cmocka_unit_test(test_unknown_and_malformed_ids_find_nothing),
                cmocka_unit_test(test_logout_destroys_the_session),
                cmocka_unit_test(test_full_table_ends_the_session_unused_longest),
                cmocka_unit_test(test_csrf_token_matches_only_itself),
                cmocka_unit_test(test_failed_logins_wait_longer_and_longer_up_to_a_minute),
                cmocka_unit_test(test_limits_hold_per_name_and_per_address),
                cmocka_unit_test(test_failures_are_forgotten_after_success_or_15_minutes),
                cmocka_unit_test(test_a_flood_of_addresses_fits_in_the_table),
                cmocka_unit_test(test_viewers_view_managers_act_admins_manage_users),
                cmocka_unit_test(test_cookie_is_httponly_secure_samesite_strict),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
