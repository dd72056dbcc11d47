/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_web_request: what the desk reads from the network before anything acts on it. Form
 * fields decode '+' and %XX, the first of a name counts, a broken escape or a NUL byte is
 * refused, a value that does not fit is refused rather than cut; action paths take a decimal id
 * and one of three verbs and nothing else; listen addresses parse for IPv4 and IPv6, and
 * loopback is told from the rest, since plain HTTP is allowed only there.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "web_request.h"

static int field(const char *body, const char *name, char *out, size_t size)
{
        return web_form_field(body, strlen(body), name, out, size);
}

static void test_form_fields_decode_plus_and_percent(void **state)
{
        char out[64];

        (void)state;
        assert_int_equal(
                field("user=b%C3%A1o.v%E1%BB%87&password=a+b%2Bc%26d%3D", "user", out, sizeof(out)),
                0);
        assert_string_equal(out, "báo.vệ");
        assert_int_equal(field("user=x&password=a+b%2Bc%26d%3D", "password", out, sizeof(out)), 0);
        assert_string_equal(out, "a b+c&d=");
        /* The first field of a name counts; a name is matched whole. */
        assert_int_equal(field("csrfx=1&csrf=2&csrf=3", "csrf", out, sizeof(out)), 0);
        assert_string_equal(out, "2");
        /* A field without '=' is an empty value; an empty body has no field. */
        assert_int_equal(field("a&b=1", "a", out, sizeof(out)), 0);
        assert_string_equal(out, "");
        assert_int_equal(field("", "a", out, sizeof(out)), -ENOENT);
        assert_int_equal(field("ab=1&b", "a", out, sizeof(out)), -ENOENT);
}

static void test_form_fields_refuse_broken_escapes_nul_and_overflow(void **state)
{
        char out[8];

        (void)state;
        assert_int_equal(field("a=%4", "a", out, sizeof(out)), -EINVAL);
        assert_int_equal(field("a=%", "a", out, sizeof(out)), -EINVAL);
        assert_int_equal(field("a=%zz", "a", out, sizeof(out)), -EINVAL);
        assert_int_equal(field("a=x%00y", "a", out, sizeof(out)), -EINVAL);
        /* Seven bytes fit with their NUL; eight do not, and nothing is cut to fit. */
        assert_int_equal(field("a=1234567", "a", out, sizeof(out)), 0);
        assert_string_equal(out, "1234567");
        assert_int_equal(field("a=12345678", "a", out, sizeof(out)), -ENOBUFS);
        /* The body is not NUL-terminated: nothing past its length is read. */
        assert_int_equal(web_form_field("a=12&b=3", 4, "b", out, sizeof(out)), -ENOENT);
        assert_int_equal(web_form_field("a=12&b=3", 4, "a", out, sizeof(out)), 0);
        assert_string_equal(out, "12");
}

static void test_action_paths(void **state)
{
        char verb[WEB_ACTION_VERB_MAX];
        long long id = 0;

        (void)state;
        assert_int_equal(web_action_path("/api/incidents/42/acknowledge", &id, verb), 0);
        assert_int_equal(id, 42);
        assert_string_equal(verb, "acknowledge");
        assert_int_equal(web_action_path("/api/incidents/9007199254740992/reset", &id, verb), 0);
        assert_string_equal(verb, "reset");
        assert_int_equal(web_action_path("/api/incidents/7/silence", &id, verb), 0);
        assert_string_equal(verb, "silence");
        assert_int_equal(web_action_path("/api/incidents/7", &id, verb), -ENOENT);
        assert_int_equal(web_action_path("/api/state", &id, verb), -ENOENT);
        assert_int_equal(web_action_path("/api/incidents/7/delete", &id, verb), -EINVAL);
        assert_int_equal(web_action_path("/api/incidents/7/reset/x", &id, verb), -EINVAL);
        assert_int_equal(web_action_path("/api/incidents//reset", &id, verb), -EINVAL);
        assert_int_equal(web_action_path("/api/incidents/07/reset", &id, verb), -EINVAL);
        assert_int_equal(web_action_path("/api/incidents/-1/reset", &id, verb), -EINVAL);
        assert_int_equal(web_action_path("/api/incidents/1 OR 1/reset", &id, verb), -EINVAL);
        assert_int_equal(web_action_path("/api/incidents/9007199254740993/reset", &id, verb),
                         -EINVAL);
        assert_int_equal(web_action_path("/api/incidents/99999999999999999/reset", &id, verb),
                         -EINVAL);
}

static void test_listen_addresses_and_loopback(void **state)
{
        struct sockaddr_storage a;
        socklen_t len;

        (void)state;
        assert_int_equal(web_parse_listen("127.0.0.1:8443", &a, &len), 0);
        assert_int_equal(a.ss_family, AF_INET);
        assert_int_equal(ntohs(((struct sockaddr_in *)&a)->sin_port), 8443);
        assert_true(web_is_loopback((struct sockaddr *)&a));
        assert_int_equal(web_parse_listen("127.8.9.1:1", &a, &len), 0);
        assert_true(web_is_loopback((struct sockaddr *)&a));
        assert_int_equal(web_parse_listen("0.0.0.0:443", &a, &len), 0);
        assert_false(web_is_loopback((struct sockaddr *)&a));
        assert_int_equal(web_parse_listen("192.0.2.10:65535", &a, &len), 0);
        assert_false(web_is_loopback((struct sockaddr *)&a));
        assert_int_equal(web_parse_listen("[::1]:8443", &a, &len), 0);
        assert_int_equal(a.ss_family, AF_INET6);
        assert_int_equal(len, sizeof(struct sockaddr_in6));
        assert_true(web_is_loopback((struct sockaddr *)&a));
        assert_int_equal(web_parse_listen("[::ffff:127.0.0.1]:80", &a, &len), 0);
        assert_true(web_is_loopback((struct sockaddr *)&a));
        assert_int_equal(web_parse_listen("[::]:8443", &a, &len), 0);
        assert_false(web_is_loopback((struct sockaddr *)&a));
        assert_int_equal(web_parse_listen("[2001:db8::1]:8443", &a, &len), 0);
        assert_false(web_is_loopback((struct sockaddr *)&a));
        static const char *const bad[] = {
                "127.0.0.1",      "127.0.0.1:",     "127.0.0.1:0", "127.0.0.1:65536",
                "127.0.0.1:-1",   "127.0.0.1:8a",   ":8443",       "localhost:8443",
                "::1:8443",       "[::1:8443",      "[]:8443",     "[127.0.0.1]:80",
                "1.2.3.4:123456", "1.2.3.4.5:8443", "[::1]x:8443",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(web_parse_listen(bad[i], &a, &len), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_form_fields_decode_plus_and_percent),
                cmocka_unit_test(test_form_fields_refuse_broken_escapes_nul_and_overflow),
                cmocka_unit_test(test_action_paths),
                cmocka_unit_test(test_listen_addresses_and_loopback),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
