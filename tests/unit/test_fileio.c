/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_fileio: the capped whole-file read that every input goes through (a bundle, a config),
 * the durable write, and the bounded diagnostics list that reports what inputs got wrong.
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

#include "diag.h"
#include "fileio.h"
#include "testutil.h"

static int setup(void **state)
{
        *state = tu_tempdir();
        return 0;
}

static int teardown(void **state)
{
        tu_rmtree(*state);
        return 0;
}

static void test_read_all_accepts_exactly_the_cap_and_refuses_one_more(void **state)
{
        char *path = tu_path(*state, "f"), *data = NULL;
        size_t len = 0;

        tu_write(path, "0123456789", 0);
        assert_int_equal(fileio_read_all(path, 10, &data, &len), 0);
        assert_int_equal(len, 10);
        assert_string_equal(data, "0123456789");
        free(data);
        data = NULL;
        assert_int_equal(fileio_read_all(path, 9, &data, &len), -EFBIG);
        assert_null(data);
        free(path);
}

static void test_read_all_of_a_pipe_stops_at_the_cap(void **state)
{
        char *data = NULL;
        size_t len = 0;
        int fds[2];
        char path[64];

        (void)state;
        assert_int_equal(pipe(fds), 0);
        assert_int_equal(write(fds[1], "abcdef", 6), 6);
        close(fds[1]);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
        /* A stream has no size to check first: it is read, and refused past the cap. */
        assert_int_equal(fileio_read_all(path, 4, &data, &len), -EFBIG);
        close(fds[0]);
        assert_int_equal(pipe(fds), 0);
        assert_int_equal(write(fds[1], "abcdef", 6), 6);
        close(fds[1]);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
        assert_int_equal(fileio_read_all(path, 100, &data, &len), 0);
        assert_int_equal(len, 6);
        assert_string_equal(data, "abcdef");
        free(data);
        close(fds[0]);
}

static void test_read_all_reports_missing_file_and_directory(void **state)
{
        char *missing = tu_path(*state, "nope"), *data = NULL;
        size_t len;

        assert_int_equal(fileio_read_all(missing, 100, &data, &len), -ENOENT);
        assert_int_equal(fileio_read_all(*state, 100, &data, &len), -EISDIR);
        free(missing);
}

static void test_write_atomic_replaces_with_mode_and_leaves_no_temporary(void **state)
{
        char *path = tu_path(*state, "out"), *data = NULL;
        struct stat st;
        size_t len;

        tu_write(path, "old contents", 0);
        assert_int_equal(fileio_write_atomic(path, "new", 3, 0600), 0);
        assert_int_equal(fileio_read_all(path, 100, &data, &len), 0);
        assert_string_equal(data, "new");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        {
                char tmp[4200];

                snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
                assert_int_equal(access(tmp, F_OK), -1);
        }
        free(data);
        free(path);
        path = tu_path(*state, "no/dir/out");
        assert_int_equal(fileio_write_atomic(path, "x", 1, 0600), -ENOENT);
        free(path);
}

static void test_mkdir_p_creates_parents_and_accepts_existing(void **state)
{
        char *path = tu_path(*state, "a/b/c");
        struct stat st;

        assert_int_equal(fileio_mkdir_p(path, 0750), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(fileio_mkdir_p(path, 0750), 0);
        assert_int_equal(fileio_mkdir_p("", 0750), -EINVAL);
        free(path);
}

static void test_diag_keeps_a_bounded_number_and_counts_the_rest(void **state)
{
        struct diag *d = diag_new();
        char *out = NULL;
        size_t len = 0;
        FILE *f;

        (void)state;
        for (int i = 0; i < DIAG_MAX + 50; i++)
                diag_add(d, "f.json", (unsigned)i + 1, "problem %d", i);
        assert_int_equal(diag_count(d), DIAG_MAX + 50);
        assert_string_equal(diag_get(d, 0), "f.json:1: problem 0");
        assert_null(diag_get(d, DIAG_MAX));
        f = open_memstream(&out, &len);
        diag_print(d, f, "> ");
        fclose(f);
        assert_non_null(strstr(out, "> ... and 50 more\n"));
        free(out);
        diag_free(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        test_read_all_accepts_exactly_the_cap_and_refuses_one_more, setup,
                        teardown),
                cmocka_unit_test(test_read_all_of_a_pipe_stops_at_the_cap),
                cmocka_unit_test_setup_teardown(test_read_all_reports_missing_file_and_directory,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_write_atomic_replaces_with_mode_and_leaves_no_temporary, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(test_mkdir_p_creates_parents_and_accepts_existing,
                                                setup, teardown),
                cmocka_unit_test(test_diag_keeps_a_bounded_number_and_counts_the_rest),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
