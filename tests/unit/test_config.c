/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for config: each writes a small file into a fresh temporary directory, loads it
 * and checks the settings or the exact "file:line: message" of every error. The example
 * configuration shipped to installers is loaded too: its path comes as argv[1] or in
 * FIREGATE_EXAMPLE_CONF.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "diag.h"

#define MAX_LINE 197 /* inih's INI_MAX_LINE of 200, less "\r\n" and the NUL */

struct fixture {
        char dir[64];
        char path[PATH_MAX]; /* the file load_text() last wrote */
        struct diag *d;
        struct config *c;
};

struct example {
        const char *path;
};

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)st;
        (void)type;
        (void)ftw;
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/firegate-test-config-XXXXXX");
        f->d = diag_new();
        if (!mkdtemp(f->dir) || !f->d) {
                diag_free(f->d);
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        config_free(f->c);
        diag_free(f->d);
        nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static void write_file(const char *path, const char *text, size_t len)
{
        FILE *fp = fopen(path, "w");

        assert_non_null(fp);
        assert_int_equal(fwrite(text, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
}

/* Writes @text to <dir>/@name and loads it into f->c; returns config_load()'s result. */
static int load_named(struct fixture *f, const char *name, const char *text, size_t len)
{
        snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
        write_file(f->path, text, len);
        config_free(f->c);
        f->c = NULL;
        return config_load(f->path, f->d, &f->c);
}

static int load_text(struct fixture *f, const char *text)
{
        return load_named(f, "firegate.conf", text, strlen(text));
}

/* Asserts that message @i is exactly "<f->path>:<line>: <text>". */
static void assert_diag(const struct fixture *f, size_t i, unsigned line, const char *text)
{
        const char *msg = diag_get(f->d, i);
        char want[PATH_MAX + 1100];

        snprintf(want, sizeof(want), "%s:%u: %s", f->path, line, text);
        if (!msg)
                fail_msg("no message %zu; expected \"%s\"", i, want);
        assert_string_equal(msg, want);
}

/* Asserts that message @i starts with "<f->path>:<line>: <text>", for text that ends in a
 * library's own words. */
static void assert_diag_starts(const struct fixture *f, size_t i, unsigned line, const char *text)
{
        const char *msg = diag_get(f->d, i);
        char want[PATH_MAX + 1100];

        snprintf(want, sizeof(want), "%s:%u: %s", f->path, line, text);
        if (!msg || strncmp(msg, want, strlen(want)) != 0)
                fail_msg("message %zu is \"%s\"; expected it to start with \"%s\"", i,
                         msg ? msg : "(none)", want);
}

static void reset_diag(struct fixture *f)
{
        diag_free(f->d);
        f->d = diag_new();
        assert_non_null(f->d);
}

static void assert_load_fails(struct fixture *f, const char *text, size_t errors)
{
        assert_int_equal(load_text(f, text), -EINVAL);
        assert_null(f->c);
        if (diag_count(f->d) != errors) {
                diag_print(f->d, stderr, "  got: ");
                fail_msg("%zu messages, expected %zu", diag_count(f->d), errors);
        }
}

static void assert_load_succeeds(struct fixture *f, const char *text)
{
        int r = load_text(f, text);

        if (r != 0 || diag_count(f->d) != 0) {
                diag_print(f->d, stderr, "  got: ");
                fail_msg("config_load() returned %d with %zu messages", r, diag_count(f->d));
        }
        assert_non_null(f->c);
}

static void assert_defaults(const struct config *c)
{
        assert_string_equal(c->gateway_id, "firegate");
        assert_string_equal(c->state_dir, "/var/lib/firegate");
        assert_string_equal(c->database, "/var/lib/firegate/firegate.db");
        assert_string_equal(c->identity_secret, "/var/lib/firegate/identity.secret");
        assert_int_equal(c->log_level, LOG_INFO);
        assert_string_equal(c->authority_key, "/etc/firegate/authority.pub");
        assert_string_equal(c->location_id_pattern, "^[0-9]{12}$");
        assert_int_equal(c->bundle_max_bytes, 16L * 1024 * 1024);
        assert_string_equal(c->rules_dir, "/etc/firegate/rules");
}

static void assert_config_equal(const struct config *a, const struct config *b)
{
        assert_string_equal(a->gateway_id, b->gateway_id);
        assert_string_equal(a->state_dir, b->state_dir);
        assert_string_equal(a->database, b->database);
        assert_string_equal(a->identity_secret, b->identity_secret);
        assert_int_equal(a->log_level, b->log_level);
        assert_string_equal(a->authority_key, b->authority_key);
        assert_string_equal(a->location_id_pattern, b->location_id_pattern);
        assert_int_equal(a->bundle_max_bytes, b->bundle_max_bytes);
        assert_string_equal(a->rules_dir, b->rules_dir);
}

/* config_print() of @c as a new string (caller frees). */
static char *print_to_string(const struct config *c)
{
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);

        assert_non_null(mem);
        config_print(c, mem);
        assert_int_equal(fclose(mem), 0);
        return text;
}

static void test_embedded_defaults_are_the_documented_values(void **state)
{
        struct config *c = config_new_defaults();

        (void)state;
        assert_non_null(c);
        assert_null(c->path);
        assert_defaults(c);
        for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
                assert_int_equal(c->set_line[i], 0);
        config_free(c);
        config_free(NULL);
}

static void test_empty_file_gives_the_defaults(void **state)
{
        struct fixture *f = *state;

        assert_load_succeeds(f, "");
        assert_string_equal(f->c->path, f->path);
        assert_defaults(f->c);
}

static void test_comments_and_blank_lines_only_give_the_defaults(void **state)
{
        struct fixture *f = *state;

        assert_load_succeeds(f, "# a comment\n\n; another\n[gateway]\n\n[registry]\n");
        assert_defaults(f->c);
}

static void test_every_key_is_read_and_remembers_its_line(void **state)
{
        struct fixture *f = *state;

        assert_load_succeeds(f, "[gateway]\n"
                                "id = lobby-gw_01.b\n"
                                "state_dir = /srv/firegate\n"
                                "database = /data/fg.db\n"
                                "identity_secret = /data/secret\n"
                                "log_level = debug\n"
                                "\n"
                                "[registry]\n"
                                "authority_key = /etc/keys/authority.pem\n"
                                "location_id_pattern = ^[A-Z]{2}[0-9]{10}$\n"
                                "bundle_max_bytes = 2048\n"
                                "[rules]\n"
                                "dir = /srv/rules\n");
        assert_string_equal(f->c->gateway_id, "lobby-gw_01.b");
        assert_string_equal(f->c->state_dir, "/srv/firegate");
        assert_string_equal(f->c->database, "/data/fg.db");
        assert_string_equal(f->c->identity_secret, "/data/secret");
        assert_int_equal(f->c->log_level, LOG_DEBUG);
        assert_string_equal(f->c->authority_key, "/etc/keys/authority.pem");
        assert_string_equal(f->c->location_id_pattern, "^[A-Z]{2}[0-9]{10}$");
        assert_int_equal(f->c->bundle_max_bytes, 2048);
        assert_int_equal(f->c->set_line[0], 2);
        assert_int_equal(f->c->set_line[4], 6);
        assert_int_equal(f->c->set_line[7], 11);
        assert_string_equal(f->c->rules_dir, "/srv/rules");
        assert_int_equal(f->c->set_line[8], 13);
}

static void test_unknown_key_is_reported_at_its_line_with_a_hint(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f,
                          "[registry]\n"
                          "bundle_max_byte = 1M\n"
                          "state_dir = /srv\n"
                          "colour = red\n"
                          "Authority_Key = /k.pub\n",
                          4);
        assert_diag(f, 0, 2,
                    "unknown key 'bundle_max_byte' in [registry]; did you mean "
                    "'bundle_max_bytes'?");
        assert_diag(f, 1, 3, "unknown key 'state_dir' in [registry]; it belongs in [gateway]");
        assert_diag(f, 2, 4, "unknown key 'colour' in [registry]");
        assert_diag(f, 3, 5,
                    "unknown key 'Authority_Key' in [registry]; did you mean 'authority_key'?");
}

static void test_key_before_any_section_is_reported(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f, "log_level = debug\n[gateway]\n", 1);
        assert_diag(f, 0, 1, "key 'log_level' comes before any [section]; it belongs in [gateway]");
}

/* inih ends a value at ';' only after a space: "=;x" would be the value ";x", which
 * config_print() writes back as "= ;x", an empty value. */
static void test_value_beginning_with_a_semicolon_is_refused(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f, "[broker]\npassword =;secret\n", 1);
        assert_diag(f, 0, 2, "a value may not begin with ';' (after a space it starts a comment)");
}

static void test_unknown_section_is_reported_once_and_its_keys_skipped(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f,
                          "[gatway]\n"
                          "id = a\n"
                          "anything = 1\n"
                          "[mqtt]\n"
                          "host = broker\n"
                          "[gateway]\n"
                          "id = b\n",
                          2);
        assert_diag(f, 0, 1, "unknown section [gatway]; did you mean [gateway]?");
        assert_diag(f, 1, 4, "unknown section [mqtt]");
}

static void test_non_integer_is_reported_with_the_expected_range(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f, "[registry]\nbundle_max_bytes = 12abc\n", 1);
        assert_diag(f, 0, 2,
                    "invalid bundle_max_bytes '12abc': expected an integer from 1024 to "
                    "1073741824, optionally with a K, M or G suffix");
}

static void test_integer_out_of_range_is_reported_with_the_range(void **state)
{
        static const char *const values[] = {"1023", "2G", "-5", "99999999999999999999999"};
        struct fixture *f = *state;
        char text[128], want[256];

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                reset_diag(f);
                snprintf(text, sizeof(text), "[registry]\nbundle_max_bytes = %s\n", values[i]);
                assert_load_fails(f, text, 1);
                snprintf(want, sizeof(want),
                         "bundle_max_bytes %s is out of range: expected an integer from 1024 to "
                         "1073741824, optionally with a K, M or G suffix",
                         values[i]);
                assert_diag(f, 0, 2, want);
        }
}

static void test_size_suffixes_multiply_by_powers_of_1024(void **state)
{
        static const struct {
                const char *text;
                long bytes;
        } cases[] = {
                {"1024", 1024},
                {"1K", 1024},
                {"3m", 3L * 1024 * 1024},
                {"1G", 1024L * 1024 * 1024},
                {"1073741824", 1073741824L},
        };
        struct fixture *f = *state;
        char text[128];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                snprintf(text, sizeof(text), "[registry]\nbundle_max_bytes = %s\n", cases[i].text);
                assert_load_succeeds(f, text);
                assert_int_equal(f->c->bundle_max_bytes, cases[i].bytes);
        }
}

static void test_bad_log_level_is_reported_with_the_accepted_names(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f, "[gateway]\nlog_level = loud\n", 1);
        assert_diag(f, 0, 2,
                    "invalid log_level 'loud': expected one of error, warning, notice, info, "
                    "debug");
}

static void test_log_level_names_are_case_insensitive(void **state)
{
        struct fixture *f = *state;

        assert_load_succeeds(f, "[gateway]\nlog_level = Warning\n");
        assert_int_equal(f->c->log_level, LOG_WARNING);
}

static void test_bad_regex_is_reported_with_the_regerror_text(void **state)
{
        struct fixture *f = *state;
        char reason[128], want[256];
        regex_t re;
        int r = regcomp(&re, "([0-9]", REG_EXTENDED | REG_NOSUB);

        assert_int_not_equal(r, 0);
        regerror(r, &re, reason, sizeof(reason));
        snprintf(want, sizeof(want), "invalid location_id_pattern '([0-9]': %s", reason);
        assert_load_fails(f, "[registry]\nlocation_id_pattern = ([0-9]\n", 1);
        assert_diag(f, 0, 2, want);
}

static void test_bad_gateway_id_is_reported(void **state)
{
        struct fixture *f = *state;
        const char *expected = "expected 1 to 64 of the characters A-Z a-z 0-9 . _ -";
        char text[256], want[256];

        assert_load_fails(f, "[gateway]\nid = gw/1\n", 1);
        snprintf(want, sizeof(want), "invalid id 'gw/1': %s", expected);
        assert_diag(f, 0, 2, want);

        reset_diag(f);
        snprintf(text, sizeof(text), "[gateway]\nid = %065d\n", 0);
        assert_load_fails(f, text, 1);
        snprintf(want, sizeof(want), "invalid id '%065d': %s", 0, expected);
        assert_diag(f, 0, 2, want);
}

static void test_gateway_id_of_64_characters_is_accepted(void **state)
{
        struct fixture *f = *state;
        char text[256];

        snprintf(text, sizeof(text), "[gateway]\nid = %064d\n", 7);
        assert_load_succeeds(f, text);
        assert_int_equal(strlen(f->c->gateway_id), 64);
}

static void test_duplicate_key_names_both_lines(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f, "[gateway]\nid = a\n\n[registry]\n[gateway]\nid = b\n", 1);
        assert_diag(f, 0, 6, "duplicate key 'id' in [gateway]: first set at line 2");
}

static void test_empty_value_for_a_required_key_is_an_error(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f, "[gateway]\nid =\nstate_dir =\n[registry]\nbundle_max_bytes = \n", 3);
        assert_diag(f, 0, 2,
                    "empty value for id: expected 1 to 64 of the characters A-Z a-z "
                    "0-9 . _ -");
        assert_diag(f, 1, 3,
                    "empty value for state_dir: expected a path of at most 144 characters");
        assert_diag(f, 2, 5,
                    "empty value for bundle_max_bytes: expected an integer from 1024 to "
                    "1073741824, optionally with a K, M or G suffix");
}

static void test_lines_that_are_not_key_value_or_section_are_syntax_errors(void **state)
{
        struct fixture *f = *state;
        const char *syntax = "expected 'key = value' or '[section]'";

        /* inih itself would take "key: value" as a key; one separator keeps files greppable. */
        assert_load_fails(f,
                          "[gateway]\n"
                          "id = a\n"
                          "just some words\n"
                          "log_level: debug\n"
                          "= value\n"
                          "[registry\n"
                          "bundle_max_bytes = 1\n"
                          "[gateway] trailing\n",
                          5);
        assert_diag(f, 0, 3, syntax);
        assert_diag(f, 1, 4, syntax);
        assert_diag(f, 2, 5, syntax);
        /* Line 7 sits under a broken header: it is not blamed on [gateway]. */
        assert_diag(f, 3, 6, syntax);
        assert_diag(f, 4, 8, syntax);
}

static void test_indented_lines_are_keys_not_continuations(void **state)
{
        struct fixture *f = *state;

        /* inih would append an indented line to the key before it ("id" twice here). */
        assert_load_succeeds(f, "[gateway]\n"
                                "id = a\n"
                                "  log_level = debug\n"
                                "\f\tstate_dir = /srv\n"
                                "    # an indented comment\n");
        assert_string_equal(f->c->gateway_id, "a");
        assert_int_equal(f->c->log_level, LOG_DEBUG);
        assert_string_equal(f->c->state_dir, "/srv");
        assert_int_equal(f->c->set_line[4], 3);
}

static void test_overlong_line_is_reported_once_and_its_tail_not_parsed(void **state)
{
        struct fixture *f = *state;
        char text[1024];
        int n;

        /* inih's buffer would end this comment after 199 characters and read "bogus = 1" as a
         * line of its own. */
        n = snprintf(text, sizeof(text), "[gateway]\n#%0198d", 0);
        snprintf(text + n, sizeof(text) - (size_t)n, "bogus = 1 %0300d\nnonsense\nid = ok\n", 0);
        assert_load_fails(f, text, 2);
        assert_diag(f, 0, 2, "line too long (max 197 characters)");
        assert_diag(f, 1, 3, "expected 'key = value' or '[section]'");
}

static void test_line_of_the_maximum_length_is_accepted(void **state)
{
        struct fixture *f = *state;
        const char *key = "location_id_pattern = ^";
        char text[512], pattern[256];
        int fill = MAX_LINE - (int)strlen(key) - 1;

        pattern[0] = '^';
        memset(pattern + 1, 'a', (size_t)fill);
        pattern[fill + 1] = '$';
        pattern[fill + 2] = '\0';
        snprintf(text, sizeof(text), "[registry]\nlocation_id_pattern = %s\r\n", pattern);
        assert_int_equal(strlen(strchr(text, '\n') + 1), MAX_LINE + 2);
        assert_load_succeeds(f, text);
        assert_string_equal(f->c->location_id_pattern, pattern);

        snprintf(text, sizeof(text), "[registry]\nlocation_id_pattern = %sa\n", pattern);
        assert_load_fails(f, text, 1);
        assert_diag(f, 0, 2, "line too long (max 197 characters)");
}

static void test_several_errors_are_all_reported_with_their_own_lines(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f,
                          "[gateway]\n"
                          "id = bad id\n"
                          "log_level = chatty\n"
                          "# fine\n"
                          "colour = red\n"
                          "[registry]\n"
                          "bundle_max_bytes = 1\n"
                          "location_id_pattern = [\n"
                          "oops\n"
                          "[nowhere]\n",
                          7);
        assert_diag(f, 0, 2,
                    "invalid id 'bad id': expected 1 to 64 of the characters A-Z a-z 0-9 . _ -");
        assert_diag(f, 1, 3,
                    "invalid log_level 'chatty': expected one of error, warning, notice, info, "
                    "debug");
        assert_diag(f, 2, 5, "unknown key 'colour' in [gateway]");
        assert_diag(f, 3, 7,
                    "bundle_max_bytes 1 is out of range: expected an integer from 1024 to "
                    "1073741824, optionally with a K, M or G suffix");
        assert_diag_starts(f, 4, 8, "invalid location_id_pattern '[': ");
        assert_diag(f, 5, 9, "expected 'key = value' or '[section]'");
        assert_diag(f, 6, 10, "unknown section [nowhere]");
}

static void test_missing_file_reports_cannot_read_and_returns_the_errno(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX], want[PATH_MAX + 64];

        snprintf(path, sizeof(path), "%s/absent.conf", f->dir);
        assert_int_equal(config_load(path, f->d, &f->c), -ENOENT);
        assert_null(f->c);
        assert_int_equal(diag_count(f->d), 1);
        snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
        assert_string_equal(diag_get(f->d, 0), want);
}

static void test_directory_is_not_read_as_a_config_file(void **state)
{
        struct fixture *f = *state;
        char want[PATH_MAX + 64];

        assert_int_equal(config_load(f->dir, f->d, &f->c), -EISDIR);
        snprintf(want, sizeof(want), "%s: cannot read: Is a directory", f->dir);
        assert_string_equal(diag_get(f->d, 0), want);
}

static void test_relative_paths_are_resolved_against_the_config_directory(void **state)
{
        struct fixture *f = *state;
        const char *text = "[gateway]\n"
                           "state_dir = state/\n"
                           "database = ./db/fg.db\n"
                           "[registry]\n"
                           "authority_key = ../keys/authority.pub\n";
        char sub[PATH_MAX], want[PATH_MAX + 64], cwd[PATH_MAX];

        snprintf(sub, sizeof(sub), "%s/etc", f->dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_int_equal(load_named(f, "etc/firegate.conf", text, strlen(text)), 0);
        snprintf(want, sizeof(want), "%s/etc/state", f->dir);
        assert_string_equal(f->c->state_dir, want);
        snprintf(want, sizeof(want), "%s/etc/state/identity.secret", f->dir);
        assert_string_equal(f->c->identity_secret, want);
        snprintf(want, sizeof(want), "%s/etc/db/fg.db", f->dir);
        assert_string_equal(f->c->database, want);
        snprintf(want, sizeof(want), "%s/etc/../keys/authority.pub", f->dir);
        assert_string_equal(f->c->authority_key, want);

        /* A config named by a relative path still yields absolute paths: the daemon may
         * change directory later. */
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(f->dir), 0);
        config_free(f->c);
        f->c = NULL;
        assert_int_equal(config_load("./etc/firegate.conf", f->d, &f->c), 0);
        assert_int_equal(chdir(cwd), 0);
        assert_non_null(f->c);
        snprintf(want, sizeof(want), "%s/etc/db/fg.db", f->dir);
        assert_string_equal(f->c->database, want);
}

/* A config being edited is checked before it is written: the text stands for a file that
 * need not exist, whose directory relative paths are taken from and whose name the messages
 * carry. */
static void test_text_loads_as_the_file_it_names(void **state)
{
        struct fixture *f = *state;
        const char *text = "[gateway]\nid = gw-text\n[registry]\nauthority_key = keys/a.pub\n";
        const char *bad = "[gateway]\nid = gw/text\n";
        char path[PATH_MAX], want[PATH_MAX + 64];

        snprintf(path, sizeof(path), "%s/never-written.conf", f->dir);
        assert_int_equal(config_load_text(path, text, strlen(text), f->d, &f->c), 0);
        assert_string_equal(f->c->gateway_id, "gw-text");
        assert_string_equal(f->c->path, path);
        snprintf(want, sizeof(want), "%s/keys/a.pub", f->dir);
        assert_string_equal(f->c->authority_key, want);
        assert_int_equal(access(path, F_OK), -1);
        config_free(f->c);
        f->c = NULL;

        assert_int_equal(config_load_text(path, bad, strlen(bad), f->d, &f->c), -EINVAL);
        assert_null(f->c);
        assert_int_equal(diag_count(f->d), 1);
        snprintf(want, sizeof(want), "%s:2: invalid id 'gw/text'", path);
        assert_memory_equal(diag_get(f->d, 0), want, strlen(want));
}

static void test_derived_paths_follow_a_state_dir_set_later_in_the_file(void **state)
{
        struct fixture *f = *state;

        assert_load_succeeds(f, "[gateway]\n"
                                "database =\n"
                                "state_dir = /srv/firegate\n");
        assert_string_equal(f->c->database, "/srv/firegate/firegate.db");
        assert_string_equal(f->c->identity_secret, "/srv/firegate/identity.secret");
}

static void test_explicit_paths_are_kept_when_state_dir_moves(void **state)
{
        struct fixture *f = *state;

        assert_load_succeeds(f, "[gateway]\n"
                                "identity_secret = /secure/identity.secret\n"
                                "state_dir = /\n");
        assert_string_equal(f->c->identity_secret, "/secure/identity.secret");
        assert_string_equal(f->c->database, "/firegate.db");
}

static void test_path_too_long_to_print_back_is_refused(void **state)
{
        struct fixture *f = *state;
        char text[256];

        snprintf(text, sizeof(text), "[registry]\nauthority_key = /%0160d\n", 0);
        assert_load_fails(f, text, 1);
        assert_diag(f, 0, 2, "authority_key is too long: 161 characters, at most 160");

        /* state_dir leaves room for the files derived under it. */
        reset_diag(f);
        snprintf(text, sizeof(text), "[gateway]\nstate_dir = /%0144d\n", 0);
        assert_load_fails(f, text, 1);
        assert_diag(f, 0, 2, "state_dir is too long: 145 characters, at most 144");
}

static void test_longest_paths_print_and_load_back(void **state)
{
        struct fixture *f = *state;
        struct config *again = NULL;
        char text[256], path[PATH_MAX], *out;

        snprintf(text, sizeof(text), "[gateway]\nstate_dir = /%0143d\n", 0);
        assert_load_succeeds(f, text);
        assert_int_equal(strlen(f->c->identity_secret), 160);
        snprintf(path, sizeof(path), "%s/printed.conf", f->dir);
        out = print_to_string(f->c);
        write_file(path, out, strlen(out));
        free(out);
        assert_int_equal(config_load(path, f->d, &again), 0);
        assert_config_equal(again, f->c);
        config_free(again);
}

static void test_crlf_bom_and_inline_comments_are_accepted(void **state)
{
        struct fixture *f = *state;
        const char text[] = "\xef\xbb\xbf[gateway]\r\n"
                            "id = gw1 ; the lobby gateway\r\n"
                            "log_level = notice\r\n";

        assert_int_equal(load_named(f, "crlf.conf", text, sizeof(text) - 1), 0);
        assert_string_equal(f->c->gateway_id, "gw1");
        assert_int_equal(f->c->log_level, LOG_NOTICE);
}

static void test_nul_byte_is_reported_at_its_line(void **state)
{
        struct fixture *f = *state;
        const char text[] = "[gateway]\nid = a\0b\n";

        assert_int_equal(load_named(f, "nul.conf", text, sizeof(text) - 1), -EINVAL);
        assert_diag(f, 0, 2, "line holds a NUL byte");
}

static void test_print_marks_defaults_and_where_keys_were_set(void **state)
{
        struct fixture *f = *state;
        char *out, want[PATH_MAX + 64];

        assert_load_succeeds(f, "[registry]\n\nbundle_max_bytes = 1M\n");
        out = print_to_string(f->c);
        snprintf(want, sizeof(want), "# set in %s:3\nbundle_max_bytes = 1048576\n", f->path);
        assert_non_null(strstr(out, want));
        assert_non_null(strstr(out, "# default\nlog_level = info\n"));
        assert_non_null(strstr(out, "\n[gateway]\n"));
        assert_non_null(strstr(out, "\n[registry]\n"));
        free(out);
}

static void test_printed_settings_load_back_unchanged(void **state)
{
        struct fixture *f = *state;
        struct config *again = NULL, *defaults = config_new_defaults();
        char *out, path[PATH_MAX];

        assert_load_succeeds(f, "[gateway]\n"
                                "id = gw-7\n"
                                "state_dir = state\n"
                                "log_level = error\n"
                                "[registry]\n"
                                "location_id_pattern = ^(B|U)-[0-9]{4,8}$ ; buildings, units\n"
                                "bundle_max_bytes = 5K\n");
        snprintf(path, sizeof(path), "%s/printed.conf", f->dir);
        out = print_to_string(f->c);
        write_file(path, out, strlen(out));
        free(out);
        assert_int_equal(config_load(path, f->d, &again), 0);
        assert_config_equal(again, f->c);
        for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
                assert_int_not_equal(again->set_line[i], 0);
        config_free(again);

        /* The embedded defaults print as a file that loads too. */
        assert_non_null(defaults);
        out = print_to_string(defaults);
        write_file(path, out, strlen(out));
        free(out);
        assert_int_equal(config_load(path, f->d, &again), 0);
        assert_config_equal(again, defaults);
        assert_int_equal(diag_count(f->d), 0);
        config_free(again);
        config_free(defaults);
}

static void test_example_config_loads_and_sets_every_key(void **state)
{
        const struct example *ex = *state;
        struct config *c = NULL;
        struct diag *d;
        int r;

        if (!ex->path)
                fail_msg("give the example's path as argv[1] or in FIREGATE_EXAMPLE_CONF");
        d = diag_new();
        assert_non_null(d);
        r = config_load(ex->path, d, &c);
        if (r != 0)
                diag_print(d, stderr, "  example: ");
        diag_free(d);
        assert_int_equal(r, 0);
        for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
                assert_int_not_equal(c->set_line[i], 0);
        config_free(c);
}

static void test_sounders_are_read_in_file_order_with_defaults(void **state)
{
        struct fixture *f = *state;
        const struct config_sounder *s;

        assert_load_succeeds(f, "[sounder]\n"
                                "topic = zigbee2mqtt/lobby-siren/set\n"
                                "[sounder flats]\n"
                                "output = unit-siren\n"
                                "topic = zigbee2mqtt/siren-{floor}-{unit}/set\n"
                                "on_payload = ON\n"
                                "off_payload = OFF\n");
        assert_int_equal(f->c->n_sounders, 2);
        s = &f->c->sounders[0];
        assert_string_equal(s->head.name, "sounder");
        assert_string_equal(s->output, "building-sounder");
        assert_string_equal(s->topic, "zigbee2mqtt/lobby-siren/set");
        /* A Zigbee2MQTT siren's own commands by default. */
        assert_non_null(strstr(s->on_payload, "\"mode\":\"fire\""));
        assert_non_null(strstr(s->off_payload, "\"mode\":\"stop\""));
        assert_int_equal(s->head.line, 1);
        s = &f->c->sounders[1];
        assert_string_equal(s->head.name, "flats");
        assert_string_equal(s->output, "unit-siren");
        assert_string_equal(s->topic, "zigbee2mqtt/siren-{floor}-{unit}/set");
        assert_string_equal(s->on_payload, "ON");
        assert_string_equal(s->off_payload, "OFF");
        assert_int_equal(s->head.line, 3);
        assert_int_equal(s->head.set_line[1], 5);
}

static void test_no_sounder_section_commands_no_sounder(void **state)
{
        struct fixture *f = *state;

        assert_load_succeeds(f, "[gateway]\nid = gw\n");
        assert_int_equal(f->c->n_sounders, 0);
}

static void test_bad_sounders_are_reported_at_their_lines(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f,
                          "[sounder a]\n"               /* 1: no topic */
                          "output = x\n"                /* 2 */
                          "[sounder b]\n"               /* 3 */
                          "topic = sirens/+/set\n"      /* 4: wildcard */
                          "[sounder c]\n"               /* 5 */
                          "topic = sirens/{flat}/set\n" /* 6: unknown placeholder */
                          "[sounder b]\n"               /* 7: duplicate */
                          "topic = x\n"                 /* 8 */
                          "[sounder bad name!]\n"       /* 9 */
                          "[sounder d]\n"               /* 10 */
                          "topic = t\n"                 /* 11 */
                          "topc = t\n",                 /* 12 */
                          6);
        assert_diag(f, 0, 7, "duplicate [sounder b]: first at line 3");
        assert_diag(f, 1, 9,
                    "invalid sounder name 'bad name!': expected 1 to 64 of the characters A-Z "
                    "a-z 0-9 . _ -");
        assert_diag(f, 2, 12, "unknown key 'topc' in [sounder d]; did you mean 'topic'?");
        assert_diag(f, 3, 1, "[sounder a] needs topic = the MQTT topic that commands it");
        assert_diag(f, 4, 4, "[sounder b] topic 'sirens/+/set' has an MQTT wildcard (+ or #)");
        assert_diag(f, 5, 6,
                    "[sounder c] topic 'sirens/{flat}/set': unknown placeholder at '{flat}/set' "
                    "(expected {unit} or {floor})");
}

static void test_printed_sounders_load_back_unchanged(void **state)
{
        struct fixture *f = *state;
        struct config *again = NULL;
        char *out, path[PATH_MAX];

        assert_load_succeeds(f, "[sounder lobby]\ntopic = a/set\n"
                                "[sounder flats]\noutput = o\ntopic = s/{unit}/set\n"
                                "on_payload = {\"state\":\"ON\"}\n");
        out = print_to_string(f->c);
        assert_non_null(strstr(out, "\n[sounder flats]\n"));
        snprintf(path, sizeof(path), "%s/printed.conf", f->dir);
        write_file(path, out, strlen(out));
        free(out);
        assert_int_equal(config_load(path, f->d, &again), 0);
        assert_int_equal(again->n_sounders, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_string_equal(again->sounders[i].head.name, f->c->sounders[i].head.name);
                assert_string_equal(again->sounders[i].output, f->c->sounders[i].output);
                assert_string_equal(again->sounders[i].topic, f->c->sounders[i].topic);
                assert_string_equal(again->sounders[i].on_payload, f->c->sounders[i].on_payload);
                assert_string_equal(again->sounders[i].off_payload, f->c->sounders[i].off_payload);
        }
        config_free(again);
}

static void test_uplink_without_protection_is_refused_unless_insecure(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f,
                          "[uplink]\n"
                          "uris = tcp://10.0.0.1:1883 ssl://a.example:8883\n", /* 2 */
                          3);
        assert_diag(f, 0, 2,
                    "uplink uris include plain tcp://: alarms would cross the network "
                    "unencrypted; use ssl:// or set insecure = yes (tests only)");
        assert_diag(f, 1, 2, "uplink over TLS needs cafile = the CA of the platform's broker");
        assert_diag(f, 2, 2,
                    "uplink needs client credentials: certfile and keyfile, or username and "
                    "password (insecure = yes allows none)");
        reset_diag(f);
        assert_load_succeeds(f, "[uplink]\nuris = tcp://10.0.0.1:1883\ninsecure = yes\n");
        assert_true(f->c->uplink_insecure);
}

static void test_bad_uplink_uris_and_lone_certificates_are_reported(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f,
                          "[uplink]\n"
                          "uris = ssl://a.example http://b.example:80 ssl://:8883\n" /* 2 */
                          "certfile = gw.pem\n"                                      /* 3 */
                          "insecure = perhaps\n",                                    /* 4 */
                          5);
        assert_diag(f, 0, 4, "invalid insecure 'perhaps': expected yes or no");
        assert_diag(f, 1, 2,
                    "invalid uplink uri 'ssl://a.example': expected ssl://HOST:PORT (or tcp://, "
                    "with insecure = yes)");
        assert_diag(f, 2, 2,
                    "invalid uplink uri 'http://b.example:80': expected ssl://HOST:PORT (or "
                    "tcp://, with insecure = yes)");
        assert_diag(f, 3, 2,
                    "invalid uplink uri 'ssl://:8883': expected ssl://HOST:PORT (or tcp://, with "
                    "insecure = yes)");
        assert_diag(f, 4, 3, "uplink certfile and keyfile go together");
}

static void test_uplink_warnings_name_what_is_insecure(void **state)
{
        struct fixture *f = *state;
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);

        assert_load_succeeds(f, "[uplink]\nuris = tcp://10.0.0.1:1883 ssl://b.example:8883\n"
                                "insecure = yes\n");
        assert_non_null(mem);
        assert_int_equal(config_uplink_warnings(f->c, mem, "w: "), 2);
        assert_int_equal(fclose(mem), 0);
        assert_string_equal(text, "w: uplink tcp://10.0.0.1:1883 is plain MQTT: alarms cross the "
                                  "network unencrypted (insecure = yes)\n"
                                  "w: uplink connects without client credentials (insecure = "
                                  "yes)\n");
        free(text);
}

static void test_relays_are_read_with_their_safe_state(void **state)
{
        struct fixture *f = *state;
        const struct config_relay *r;

        assert_load_succeeds(f, "[relay bell]\n"
                                "chip = firegate-io\n"
                                "line = 7\n"
                                "[relay door-release]\n"
                                "output = doors\n"
                                "chip = gpiochip0\n"
                                "line = 12\n"
                                "active_low = yes\n"
                                "safe_state = on\n");
        assert_int_equal(f->c->n_relays, 2);
        r = &f->c->relays[0];
        assert_string_equal(r->head.name, "bell");
        assert_string_equal(r->output, "building-sounder");
        assert_string_equal(r->chip, "firegate-io");
        assert_int_equal(r->line, 7);
        assert_false(r->active_low);
        assert_false(r->safe_state);
        r = &f->c->relays[1];
        assert_string_equal(r->output, "doors");
        assert_true(r->active_low);
        assert_true(r->safe_state);
}

static void test_bad_relays_are_reported_at_their_lines(void **state)
{
        struct fixture *f = *state;

        assert_load_fails(f,
                          "[relay]\n"             /* 1: a relay needs a name */
                          "[relay a]\n"           /* 2: no chip, no line */
                          "[relay b]\n"           /* 3 */
                          "chip = io\n"           /* 4 */
                          "line = 1024\n"         /* 5: out of range */
                          "[relay c]\n"           /* 6 */
                          "chip = io\n"           /* 7 */
                          "line = 3\n"            /* 8 */
                          "[relay d]\n"           /* 9 */
                          "chip = io\n"           /* 10: the same line as c */
                          "line = 3\n"            /* 11 */
                          "safe_state = maybe\n", /* 12 */
                          6);
        assert_diag(f, 0, 1,
                    "invalid relay name '': expected 1 to 64 of the characters A-Z a-z 0-9 . _ -");
        assert_diag(f, 1, 5, "line 1024 is out of range: expected an integer from 0 to 1023");
        assert_diag(f, 2, 12, "invalid safe_state 'maybe': expected yes or no");
        assert_diag(f, 3, 2, "[relay a] needs chip = the GPIO chip's name or label");
        assert_diag(f, 4, 2, "[relay a] needs line = the line's offset on the chip");
        assert_diag(f, 5, 10, "[relay d] drives io:3, as [relay c] does");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
        struct example ex = {argc > 1 ? argv[1] : getenv("FIREGATE_EXAMPLE_CONF")};
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_embedded_defaults_are_the_documented_values),
                T(test_empty_file_gives_the_defaults),
                T(test_comments_and_blank_lines_only_give_the_defaults),
                T(test_every_key_is_read_and_remembers_its_line),
                T(test_unknown_key_is_reported_at_its_line_with_a_hint),
                T(test_sounders_are_read_in_file_order_with_defaults),
                T(test_no_sounder_section_commands_no_sounder),
                T(test_bad_sounders_are_reported_at_their_lines),
                T(test_printed_sounders_load_back_unchanged),
                T(test_relays_are_read_with_their_safe_state),
                T(test_bad_relays_are_reported_at_their_lines),
                T(test_uplink_without_protection_is_refused_unless_insecure),
                T(test_bad_uplink_uris_and_lone_certificates_are_reported),
                T(test_uplink_warnings_name_what_is_insecure),
                T(test_key_before_any_section_is_reported),
                T(test_value_beginning_with_a_semicolon_is_refused),
                T(test_unknown_section_is_reported_once_and_its_keys_skipped),
                T(test_non_integer_is_reported_with_the_expected_range),
                T(test_integer_out_of_range_is_reported_with_the_range),
                T(test_size_suffixes_multiply_by_powers_of_1024),
                T(test_bad_log_level_is_reported_with_the_accepted_names),
                T(test_log_level_names_are_case_insensitive),
                T(test_bad_regex_is_reported_with_the_regerror_text),
                T(test_bad_gateway_id_is_reported),
                T(test_gateway_id_of_64_characters_is_accepted),
                T(test_duplicate_key_names_both_lines),
                T(test_empty_value_for_a_required_key_is_an_error),
                T(test_lines_that_are_not_key_value_or_section_are_syntax_errors),
                T(test_indented_lines_are_keys_not_continuations),
                T(test_overlong_line_is_reported_once_and_its_tail_not_parsed),
                T(test_line_of_the_maximum_length_is_accepted),
                T(test_several_errors_are_all_reported_with_their_own_lines),
                T(test_missing_file_reports_cannot_read_and_returns_the_errno),
                T(test_directory_is_not_read_as_a_config_file),
                T(test_relative_paths_are_resolved_against_the_config_directory),
                T(test_text_loads_as_the_file_it_names),
                T(test_derived_paths_follow_a_state_dir_set_later_in_the_file),
                T(test_explicit_paths_are_kept_when_state_dir_moves),
                T(test_path_too_long_to_print_back_is_refused),
                T(test_longest_paths_print_and_load_back),
                T(test_crlf_bom_and_inline_comments_are_accepted),
                T(test_nul_byte_is_reported_at_its_line),
                T(test_print_marks_defaults_and_where_keys_were_set),
                T(test_printed_settings_load_back_unchanged),
                cmocka_unit_test_prestate(test_example_config_loads_and_sets_every_key, &ex),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
