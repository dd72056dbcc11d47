/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for inifile, the INI reader shared by the config and the rule files: each test
 * writes a file, parses it with callbacks that record what they are handed ("[name]@line" for a
 * header, "section|name=value@line" for a key) and checks the record and every
 * "file:line: message".
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"
#include "inifile.h"
#include "testutil.h"

#define EVENTS_MAX 32

struct fixture {
        char *dir;
        char path[PATH_MAX];
        struct diag *d;
        char events[EVENTS_MAX][512];
        size_t n_events;
        const char *refuse;   /* a section name section_ok() refuses */
        const char *stop_key; /* a key name at which key() stops with -ENOMEM */
        int stop_section;     /* returned by section_ok() for "[stop]" when not 0 */
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        f->dir = tu_tempdir();
        f->d = diag_new();
        if (!f->d) {
                tu_rmtree(f->dir);
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        diag_free(f->d);
        tu_rmtree(f->dir);
        free(f);
        return 0;
}

static void record(struct fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void record(struct fixture *f, const char *fmt, ...)
{
        va_list ap;

        assert_true(f->n_events < EVENTS_MAX);
        va_start(ap, fmt);
        vsnprintf(f->events[f->n_events++], sizeof(f->events[0]), fmt, ap);
        va_end(ap);
}

static int on_section(void *user, const char *section, unsigned line)
{
        struct fixture *f = user;

        record(f, "[%s]@%u", section, line);
        if (f->stop_section && strcmp(section, "stop") == 0)
                return f->stop_section;
        if (f->refuse && strcmp(section, f->refuse) == 0) {
                diag_add(f->d, f->path, line, "refused [%s]", section);
                return -EINVAL;
        }
        return 0;
}

static int on_key(void *user, const char *section, const char *name, const char *value,
                  unsigned line)
{
        struct fixture *f = user;

        record(f, "%s|%s=%s@%u", section, name, value, line);
        if (f->stop_key && strcmp(name, f->stop_key) == 0)
                return -ENOMEM;
        return 0;
}

static const struct inifile_ops ops = {.section_ok = on_section, .key = on_key};

static int parse_bytes(struct fixture *f, const char *text, size_t len)
{
        snprintf(f->path, sizeof(f->path), "%s/test.ini", f->dir);
        tu_write(f->path, text, len);
        return inifile_parse(f->path, 4096, &ops, f, f->d);
}

static int parse(struct fixture *f, const char *text)
{
        return parse_bytes(f, text, strlen(text));
}

static void assert_events(const struct fixture *f, const char *const *want, size_t n)
{
        for (size_t i = 0; i < n && i < f->n_events; i++)
                assert_string_equal(f->events[i], want[i]);
        if (f->n_events != n) {
                for (size_t i = 0; i < f->n_events; i++)
                        fprintf(stderr, "  event: %s\n", f->events[i]);
                fail_msg("%zu events, expected %zu", f->n_events, n);
        }
}

static void assert_diag(const struct fixture *f, size_t i, unsigned line, const char *text)
{
        const char *msg = diag_get(f->d, i);
        char want[PATH_MAX + 600];

        snprintf(want, sizeof(want), "%s:%u: %s", f->path, line, text);
        if (!msg)
                fail_msg("no message %zu; expected \"%s\"", i, want);
        assert_string_equal(msg, want);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_headers_and_keys_reach_the_callbacks_in_order_with_lines(void **state)
{
        static const char *const want[] = {
                "|early=1@1",    "[one]@3",
                "one|a=b c@4",   "one|key with spaces=x@5",
                "[two words]@7", "two words|empty=@8",
        };
        struct fixture *f = *state;

        assert_int_equal(parse(f, "early = 1\n"
                                  "; comment\n"
                                  "[one] # a comment\n"
                                  "a = b c   ; inline comment\n"
                                  "key with spaces=x\n"
                                  "# comment\n"
                                  "[two words]\n"
                                  "empty =\n"),
                         0);
        assert_events(f, want, N(want));
        assert_int_equal(diag_count(f->d), 0);
}

static void test_refused_section_skips_its_keys_until_the_next_header(void **state)
{
        static const char *const want[] = {"[bad]@1", "[good]@3", "good|b=2@4"};
        struct fixture *f = *state;

        f->refuse = "bad";
        assert_int_equal(parse(f, "[bad]\na = 1\n[good]\nb = 2\n"), -EINVAL);
        assert_events(f, want, N(want));
        assert_int_equal(diag_count(f->d), 1);
        assert_diag(f, 0, 1, "refused [bad]");
}

static void test_malformed_lines_are_reported_and_keys_under_a_broken_header_skipped(void **state)
{
        static const char *const want[] = {"[s]@1"};
        struct fixture *f = *state;
        const char *syntax = "expected 'key = value' or '[section]'";

        assert_int_equal(parse(f, "[s]\n"
                                  "key: value\n"
                                  "words only\n"
                                  "= value\n"
                                  "[s] trailing\n"
                                  "under = broken\n"
                                  "[unterminated\n"
                                  "also = skipped\n"),
                         -EINVAL);
        /* The keys after a broken header are not handed on. */
        assert_events(f, want, N(want));
        assert_int_equal(diag_count(f->d), 5);
        assert_diag(f, 0, 2, syntax);
        assert_diag(f, 1, 3, syntax);
        assert_diag(f, 2, 4, syntax);
        assert_diag(f, 3, 5, syntax);
        assert_diag(f, 4, 7, syntax);
}

static void test_names_longer_than_inih_keeps_reach_the_callbacks_whole(void **state)
{
        struct fixture *f = *state;
        char text[512], section[128], key[128], want[2][512];
        const char *const events[] = {want[0], want[1]};

        /* inih cuts section and key names at 49 characters. */
        snprintf(section, sizeof(section), "supervision %064d", 0);
        snprintf(key, sizeof(key), "k%069d", 0);
        snprintf(text, sizeof(text), "[%s]\n%s = v\n", section, key);
        snprintf(want[0], sizeof(want[0]), "[%s]@1", section);
        snprintf(want[1], sizeof(want[1]), "%s|%s=v@2", section, key);
        assert_int_equal(parse(f, text), 0);
        assert_events(f, events, 2);
}

static void test_indented_lines_are_lines_of_their_own(void **state)
{
        static const char *const want[] = {"[s]@1", "s|a=1@2", "s|b=2@3", "[t]@4"};
        struct fixture *f = *state;

        assert_int_equal(parse(f, "[s]\na = 1\n    b = 2\n\t[t]\n   # comment\n"), 0);
        assert_events(f, want, N(want));
}

static void test_overlong_line_is_reported_once_and_the_limit_accepted(void **state)
{
        struct fixture *f = *state;
        char text[1024], value[256];
        int fill = INIFILE_LINE_MAX - (int)strlen("k = ");

        memset(value, 'v', (size_t)fill);
        value[fill] = '\0';
        snprintf(text, sizeof(text), "[s]\nk = %s\r\n", value);
        assert_int_equal(parse(f, text), 0);
        assert_int_equal(f->n_events, 2);

        f->n_events = 0;
        snprintf(text, sizeof(text), "[s]\nk = %sv\nnext = 1\n", value);
        assert_int_equal(parse(f, text), -EINVAL);
        assert_int_equal(diag_count(f->d), 1);
        assert_diag(f, 0, 2, "line too long (max 197 characters)");
        assert_string_equal(f->events[f->n_events - 1], "s|next=1@3");
}

static void test_bom_crlf_and_nul(void **state)
{
        static const char *const want[] = {"[s]@1", "s|a=1@2"};
        struct fixture *f = *state;
        const char text[] = "\xef\xbb\xbf[s]\r\na = 1\r\nb = x\0y\r\n";

        assert_int_equal(parse_bytes(f, text, sizeof(text) - 1), -EINVAL);
        assert_events(f, want, N(want));
        assert_diag(f, 0, 3, "line holds a NUL byte");
}

static void test_callback_errno_stops_the_parse_and_is_returned(void **state)
{
        static const char *const want[] = {"[s]@1", "s|a=1@2", "s|stop=2@3"};
        struct fixture *f = *state;

        f->stop_key = "stop";
        assert_int_equal(parse(f, "[s]\na = 1\nstop = 2\nnever = 3\n[t]\n"), -ENOMEM);
        assert_events(f, want, N(want));

        f->n_events = 0;
        f->stop_key = NULL;
        f->stop_section = -EIO;
        assert_int_equal(parse(f, "[s]\n[stop]\na = 1\n"), -EIO);
        assert_int_equal(f->n_events, 2);
        assert_int_equal(diag_count(f->d), 0);
}

static void test_unreadable_file_is_reported_with_its_errno(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX], want[PATH_MAX + 64];
        char big[5000];

        snprintf(path, sizeof(path), "%s/absent.ini", f->dir);
        assert_int_equal(inifile_parse(path, 4096, &ops, f, f->d), -ENOENT);
        snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
        assert_string_equal(diag_get(f->d, 0), want);

        memset(big, '#', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(parse(f, big), -EFBIG);
        snprintf(want, sizeof(want), "%s: cannot read: File too large", f->path);
        assert_string_equal(diag_get(f->d, 1), want);
        assert_int_equal(f->n_events, 0);
}

static void test_similar_names_are_typos_not_other_words(void **state)
{
        (void)state;
        assert_true(inifile_similar("retard", "retard_s"));
        assert_true(inifile_similar("Smoke", "smoke"));
        assert_true(inifile_similar("gatway", "gateway"));
        assert_false(inifile_similar("heat", "smoke"));
        assert_false(inifile_similar("ab", "cd"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_headers_and_keys_reach_the_callbacks_in_order_with_lines),
                T(test_refused_section_skips_its_keys_until_the_next_header),
                T(test_malformed_lines_are_reported_and_keys_under_a_broken_header_skipped),
                T(test_names_longer_than_inih_keeps_reach_the_callbacks_whole),
                T(test_indented_lines_are_lines_of_their_own),
                T(test_overlong_line_is_reported_once_and_the_limit_accepted),
                T(test_bom_crlf_and_nul),
                T(test_callback_errno_stops_the_parse_and_is_returned),
                T(test_unreadable_file_is_reported_with_its_errno),
                cmocka_unit_test(test_similar_names_are_typos_not_other_words),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
