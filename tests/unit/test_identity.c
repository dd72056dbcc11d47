/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for identity: which citizen identity numbers are accepted and why others are
 * refused, the keyed hash and last four digits kept instead of the number, and the
 * per-gateway secret file. Every number here is synthetic, made by the generator below from the
 * rules in DOMAIN.md; none is copied from anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "identity.h"

/* The tests fix the year rather than read the clock, so they mean the same in any year. */
#define YEAR_NOW 2026

/* Fixed seed: a failure reproduces with the same numbers. */
struct rng {
        uint64_t state;
};

static uint32_t rng_next(struct rng *rng)
{
        /* xorshift64*: plenty for picking digits. */
        rng->state ^= rng->state >> 12;
        rng->state ^= rng->state << 25;
        rng->state ^= rng->state >> 27;
        return (uint32_t)((rng->state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Builds a 12-digit number: @province (3 digits), century digit @d4, two-digit year @yy and six
 * random digits. */
static void make_number(char out[IDENTITY_CITIZEN_LEN + 1], const char *province, int d4, int yy,
                        struct rng *rng)
{
        assert_int_equal(strlen(province), 3);
        assert_true(d4 >= 0 && d4 <= 9 && yy >= 0 && yy <= 99);
        memcpy(out, province, 3);
        out[3] = (char)('0' + d4);
        out[4] = (char)('0' + yy / 10);
        out[5] = (char)('0' + yy % 10);
        for (size_t i = 6; i < IDENTITY_CITIZEN_LEN; i++)
                out[i] = (char)('0' + rng_next(rng) % 10);
        out[IDENTITY_CITIZEN_LEN] = '\0';
}

static void make_valid_number(char out[IDENTITY_CITIZEN_LEN + 1], struct rng *rng)
{
        make_number(out, "048", (int)(rng_next(rng) % 2), (int)(rng_next(rng) % 100), rng);
        assert_int_equal(identity_citizen_check(out, YEAR_NOW, NULL), IDENTITY_CITIZEN_OK);
}

static void test_numbers_with_past_birth_year_are_accepted_in_every_century(void **state)
{
        static const char *const provinces[] = {"001", "031", "048", "079", "096"};
        struct rng rng = {0x9e3779b97f4a7c15ULL};
        char number[IDENTITY_CITIZEN_LEN + 1];
        int accepted = 0, refused = 0;

        (void)state;
        for (size_t p = 0; p < sizeof(provinces) / sizeof(provinces[0]); p++) {
                for (int d4 = 0; d4 <= 9; d4++) {
                        for (int yy = 0; yy <= 99; yy++) {
                                int year = 1900 + d4 / 2 * 100 + yy;
                                size_t pos = 99;

                                make_number(number, provinces[p], d4, yy, &rng);
                                if (year <= YEAR_NOW) {
                                        assert_int_equal(
                                                identity_citizen_check(number, YEAR_NOW, &pos),
                                                IDENTITY_CITIZEN_OK);
                                        assert_int_equal(identity_citizen_birth_year(number), year);
                                        accepted++;
                                } else {
                                        assert_int_equal(
                                                identity_citizen_check(number, YEAR_NOW, &pos),
                                                IDENTITY_CITIZEN_FUTURE_YEAR);
                                        refused++;
                                }
                        }
                }
        }
        /* Per province: 1900-1999 for digits 0 and 1, 2000-2026 for 2 and 3. */
        assert_int_equal(accepted, 5 * (2 * 100 + 2 * 27));
        assert_int_equal(refused, 5 * 1000 - accepted);
}

static void test_province_code_is_not_checked_so_births_abroad_pass(void **state)
{
        /* Codes outside 001-096: a country code for a birth registered abroad looks like this. */
        static const char *const codes[] = {"000", "097", "100", "250", "999"};
        struct rng rng = {0x243f6a8885a308d3ULL};
        char number[IDENTITY_CITIZEN_LEN + 1];

        (void)state;
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                make_number(number, codes[i], 3, 10, &rng);
                assert_int_equal(identity_citizen_check(number, YEAR_NOW, NULL),
                                 IDENTITY_CITIZEN_OK);
        }
}

static void test_birth_year_equal_to_current_year_is_accepted_and_next_is_not(void **state)
{
        struct rng rng = {0x13198a2e03707344ULL};
        char number[IDENTITY_CITIZEN_LEN + 1];

        (void)state;
        for (int d4 = 2; d4 <= 3; d4++) {
                make_number(number, "079", d4, YEAR_NOW % 100, &rng);
                assert_int_equal(identity_citizen_check(number, YEAR_NOW, NULL),
                                 IDENTITY_CITIZEN_OK);
                assert_int_equal(identity_citizen_birth_year(number), YEAR_NOW);
                make_number(number, "079", d4, YEAR_NOW % 100 + 1, &rng);
                assert_int_equal(identity_citizen_check(number, YEAR_NOW, NULL),
                                 IDENTITY_CITIZEN_FUTURE_YEAR);
        }
        /* The same rule holds at a century boundary. */
        make_number(number, "001", 4, 0, &rng);
        assert_int_equal(identity_citizen_check(number, 2100, NULL), IDENTITY_CITIZEN_OK);
        assert_int_equal(identity_citizen_check(number, 2099, NULL), IDENTITY_CITIZEN_FUTURE_YEAR);
}

static void test_future_birth_years_are_refused(void **state)
{
        struct rng rng = {0xa4093822299f31d0ULL};
        char number[IDENTITY_CITIZEN_LEN + 1];

        (void)state;
        /* 2099 for digit 2, and the 2100s to 2300s for digits 4 to 9. */
        make_number(number, "031", 2, 99, &rng);
        assert_int_equal(identity_citizen_check(number, YEAR_NOW, NULL),
                         IDENTITY_CITIZEN_FUTURE_YEAR);
        for (int d4 = 4; d4 <= 9; d4++) {
                make_number(number, "031", d4, 0, &rng);
                assert_int_equal(identity_citizen_check(number, YEAR_NOW, NULL),
                                 IDENTITY_CITIZEN_FUTURE_YEAR);
                assert_int_equal(identity_citizen_birth_year(number), 1900 + d4 / 2 * 100);
        }
}

static void test_empty_and_null_are_refused_as_empty(void **state)
{
        size_t pos = 99;

        (void)state;
        assert_int_equal(identity_citizen_check("", YEAR_NOW, &pos), IDENTITY_CITIZEN_EMPTY);
        assert_int_equal(identity_citizen_check(NULL, YEAR_NOW, &pos), IDENTITY_CITIZEN_EMPTY);
        assert_int_equal(identity_citizen_check(NULL, YEAR_NOW, NULL), IDENTITY_CITIZEN_EMPTY);
}

/* Checks that @text is refused as NOT_DIGIT at @at. */
static void assert_not_digit_at(const char *text, size_t at)
{
        size_t pos = 99;

        assert_int_equal(identity_citizen_check(text, YEAR_NOW, &pos), IDENTITY_CITIZEN_NOT_DIGIT);
        assert_int_equal(pos, at);
        assert_int_equal(identity_citizen_check(text, YEAR_NOW, NULL), IDENTITY_CITIZEN_NOT_DIGIT);
}

static void test_letter_at_any_position_is_refused_with_its_position(void **state)
{
        struct rng rng = {0x082efa98ec4e6c89ULL};
        char number[IDENTITY_CITIZEN_LEN + 1];

        (void)state;
        for (size_t i = 0; i < IDENTITY_CITIZEN_LEN; i++) {
                make_valid_number(number, &rng);
                /* 'O' and 'l' are the letters mistaken for 0 and 1 when numbers are typed. */
                number[i] = i % 2 ? 'O' : 'l';
                assert_not_digit_at(number, i);
        }
}

static void test_spaces_and_signs_are_refused_with_their_position(void **state)
{
        struct rng rng = {0x452821e638d01377ULL};
        char number[IDENTITY_CITIZEN_LEN + 1], text[32];

        (void)state;
        make_valid_number(number, &rng);

        /* A space inside, as in a number written in groups. */
        assert_true(snprintf(text, sizeof(text), "%.4s %s", number, number + 4) > 0);
        assert_not_digit_at(text, 4);
        assert_true(snprintf(text, sizeof(text), " %s", number) > 0);
        assert_not_digit_at(text, 0);
        assert_true(snprintf(text, sizeof(text), "%s ", number) > 0);
        assert_not_digit_at(text, IDENTITY_CITIZEN_LEN);
        assert_true(snprintf(text, sizeof(text), "%s\n", number) > 0);
        assert_not_digit_at(text, IDENTITY_CITIZEN_LEN);
        assert_true(snprintf(text, sizeof(text), "%.5s\t%s", number, number + 6) > 0);
        assert_not_digit_at(text, 5);
        assert_true(snprintf(text, sizeof(text), "+%s", number + 1) > 0);
        assert_not_digit_at(text, 0);
        assert_true(snprintf(text, sizeof(text), "-%s", number + 1) > 0);
        assert_not_digit_at(text, 0);
        assert_true(snprintf(text, sizeof(text), "%.3s-%s", number, number + 4) > 0);
        assert_not_digit_at(text, 3);
        assert_true(snprintf(text, sizeof(text), "%.6s.%s", number, number + 7) > 0);
        assert_not_digit_at(text, 6);
}

static void test_non_ascii_digits_are_refused(void **state)
{
        struct rng rng = {0xbe5466cf34e90c6cULL};
        char number[IDENTITY_CITIZEN_LEN + 1], text[32];

        (void)state;
        make_valid_number(number, &rng);
        /* U+FF11 FULLWIDTH DIGIT ONE, as some input methods type it. */
        assert_true(snprintf(text, sizeof(text), "%.11s\xef\xbc\x91", number) > 0);
        assert_not_digit_at(text, 11);
        /* U+0661 ARABIC-INDIC DIGIT ONE. */
        assert_true(snprintf(text, sizeof(text), "\xd9\xa1%s", number + 1) > 0);
        assert_not_digit_at(text, 0);
}

static void test_bad_character_is_reported_before_wrong_length(void **state)
{
        struct rng rng = {0xc0ac29b7c97c50ddULL};
        char number[IDENTITY_CITIZEN_LEN + 1];

        (void)state;
        make_valid_number(number, &rng);
        number[6] = 'x';
        number[7] = '\0';
        assert_not_digit_at(number, 6);

        make_valid_number(number, &rng);
        number[IDENTITY_CITIZEN_LEN - 1] = 'a';
        assert_not_digit_at(number, IDENTITY_CITIZEN_LEN - 1);

        make_valid_number(number, &rng);
        number[2] = '#';
        number[8] = '#';
        assert_not_digit_at(number, 2);
}

static void test_nine_digit_old_card_number_is_refused_as_old_card(void **state)
{
        struct rng rng = {0x3f84d5b5b5470917ULL};
        char number[IDENTITY_CITIZEN_LEN + 1];

        (void)state;
        for (int i = 0; i < 20; i++) {
                make_valid_number(number, &rng);
                number[9] = '\0';
                assert_int_equal(identity_citizen_check(number, YEAR_NOW, NULL),
                                 IDENTITY_CITIZEN_OLD_CARD);
        }
}

static void test_other_lengths_are_refused_as_length(void **state)
{
        struct rng rng = {0x9216d5d98979fb1bULL};
        char number[IDENTITY_CITIZEN_LEN + 1], text[32];

        (void)state;
        for (size_t len = 1; len < sizeof(text) - 1; len++) {
                if (len == 9 || len == IDENTITY_CITIZEN_LEN)
                        continue;
                make_valid_number(number, &rng);
                for (size_t i = 0; i < len; i++)
                        text[i] = number[i % IDENTITY_CITIZEN_LEN];
                text[len] = '\0';
                assert_int_equal(identity_citizen_check(text, YEAR_NOW, NULL),
                                 IDENTITY_CITIZEN_LENGTH);
        }
        /* The near misses named by the rules: a digit dropped or one too many. */
        make_valid_number(number, &rng);
        number[11] = '\0';
        assert_int_equal(identity_citizen_check(number, YEAR_NOW, NULL), IDENTITY_CITIZEN_LENGTH);
        make_valid_number(number, &rng);
        assert_true(snprintf(text, sizeof(text), "%s7", number) == IDENTITY_CITIZEN_LEN + 1);
        assert_int_equal(identity_citizen_check(text, YEAR_NOW, NULL), IDENTITY_CITIZEN_LENGTH);
}

static void test_strerror_gives_a_distinct_sentence_for_every_reason(void **state)
{
        static const enum identity_citizen_error all[] = {
                IDENTITY_CITIZEN_OK,     IDENTITY_CITIZEN_EMPTY,     IDENTITY_CITIZEN_OLD_CARD,
                IDENTITY_CITIZEN_LENGTH, IDENTITY_CITIZEN_NOT_DIGIT, IDENTITY_CITIZEN_FUTURE_YEAR,
        };
        const size_t n = sizeof(all) / sizeof(all[0]);

        (void)state;
        for (size_t i = 0; i < n; i++) {
                const char *msg = identity_citizen_strerror(all[i]);

                assert_non_null(msg);
                assert_true(strlen(msg) > 10);
                assert_int_equal(msg[strlen(msg) - 1], '.');
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(msg, identity_citizen_strerror(all[j]));
        }
}

static void test_hash_is_hmac_sha256_of_the_digits_and_deterministic(void **state)
{
        struct rng rng = {0xd1310ba698dfb5acULL};
        uint8_t secret[IDENTITY_SECRET_LEN], a[IDENTITY_CITIZEN_HASH_LEN],
                b[IDENTITY_CITIZEN_HASH_LEN], expected[CRYPTO_SHA256_LEN];
        char number[IDENTITY_CITIZEN_LEN + 1];

        (void)state;
        assert_int_equal(crypto_random(secret, sizeof(secret)), 0);
        make_valid_number(number, &rng);
        identity_citizen_hash(secret, number, a);
        identity_citizen_hash(secret, number, b);
        assert_memory_equal(a, b, sizeof(a));
        crypto_hmac_sha256(secret, sizeof(secret), number, IDENTITY_CITIZEN_LEN, expected);
        assert_memory_equal(a, expected, sizeof(a));
}

static void test_hash_differs_by_secret_and_by_number(void **state)
{
        struct rng rng = {0x2ffd72dbd01adfb7ULL};
        uint8_t secret[IDENTITY_SECRET_LEN], other[IDENTITY_SECRET_LEN],
                h[IDENTITY_CITIZEN_HASH_LEN], h2[IDENTITY_CITIZEN_HASH_LEN];
        char number[IDENTITY_CITIZEN_LEN + 1], changed[IDENTITY_CITIZEN_LEN + 1];

        (void)state;
        assert_int_equal(crypto_random(secret, sizeof(secret)), 0);
        make_valid_number(number, &rng);
        identity_citizen_hash(secret, number, h);

        /* One bit of the secret, in its first and its last byte. */
        memcpy(other, secret, sizeof(secret));
        other[0] ^= 0x01;
        identity_citizen_hash(other, number, h2);
        assert_memory_not_equal(h, h2, sizeof(h));
        memcpy(other, secret, sizeof(secret));
        other[IDENTITY_SECRET_LEN - 1] ^= 0x80;
        identity_citizen_hash(other, number, h2);
        assert_memory_not_equal(h, h2, sizeof(h));

        /* One digit of the number, at every position. */
        for (size_t i = 0; i < IDENTITY_CITIZEN_LEN; i++) {
                memcpy(changed, number, sizeof(number));
                changed[i] = changed[i] == '9' ? '0' : (char)(changed[i] + 1);
                identity_citizen_hash(secret, changed, h2);
                assert_memory_not_equal(h, h2, sizeof(h));
        }
}

static void test_last4_is_the_last_four_digits(void **state)
{
        struct rng rng = {0xb8e1afed6a267e96ULL};
        char number[IDENTITY_CITIZEN_LEN + 1], last4[5];

        (void)state;
        for (int i = 0; i < 10; i++) {
                make_valid_number(number, &rng);
                memset(last4, 'x', sizeof(last4));
                identity_citizen_last4(number, last4);
                assert_int_equal(strlen(last4), 4);
                assert_memory_equal(last4, number + IDENTITY_CITIZEN_LEN - 4, 4);
        }
}

/* Each secret test gets its own empty directory, removed with what the test left in it. */
static int setup_tmpdir(void **state)
{
        char *dir = strdup("/tmp/test_identity.XXXXXX");

        if (!dir || !mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        *state = dir;
        return 0;
}

static int teardown_tmpdir(void **state)
{
        char *dir = *state, path[512];
        struct dirent *e;
        DIR *d = opendir(dir);
        int r = 0;

        if (!d)
                return -1;
        while ((e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
                        r = -1;
                else if (unlink(path) < 0 && rmdir(path) < 0)
                        r = -1;
        }
        closedir(d);
        if (rmdir(dir) < 0)
                r = -1;
        free(dir);
        return r;
}

static void path_in(char *out, size_t size, void **state, const char *name)
{
        assert_true(snprintf(out, size, "%s/%s", (const char *)*state, name) < (int)size);
}

static size_t count_entries(const char *dir)
{
        struct dirent *e;
        DIR *d = opendir(dir);
        size_t n = 0;

        assert_non_null(d);
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void write_file(const char *path, const void *data, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
}

static void test_secret_is_created_with_mode_0600_and_reloaded_identical(void **state)
{
        uint8_t first[IDENTITY_SECRET_LEN], again[IDENTITY_SECRET_LEN],
                on_disk[IDENTITY_SECRET_LEN + 1], zero[IDENTITY_SECRET_LEN] = {0};
        char path[512];
        struct stat st;
        int fd;

        path_in(path, sizeof(path), state, "identity.key");
        assert_int_equal(identity_secret_load(path, first), 0);

        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, IDENTITY_SECRET_LEN);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, on_disk, sizeof(on_disk)), IDENTITY_SECRET_LEN);
        assert_int_equal(close(fd), 0);
        assert_memory_equal(on_disk, first, IDENTITY_SECRET_LEN);
        assert_memory_not_equal(first, zero, sizeof(zero));
        /* No temporary file is left beside it. */
        assert_int_equal(count_entries(*state), 1);

        assert_int_equal(identity_secret_load(path, again), 0);
        assert_memory_equal(again, first, sizeof(first));
}

static void test_secret_load_returns_an_existing_file_unchanged(void **state)
{
        uint8_t stored[IDENTITY_SECRET_LEN], loaded[IDENTITY_SECRET_LEN];
        char path[512];

        path_in(path, sizeof(path), state, "identity.key");
        for (size_t i = 0; i < sizeof(stored); i++)
                stored[i] = (uint8_t)(i * 7 + 3);
        write_file(path, stored, sizeof(stored));
        assert_int_equal(identity_secret_load(path, loaded), 0);
        assert_memory_equal(loaded, stored, sizeof(stored));
}

static void test_two_gateways_get_different_secrets(void **state)
{
        uint8_t a[IDENTITY_SECRET_LEN], b[IDENTITY_SECRET_LEN];
        char path_a[512], path_b[512];

        path_in(path_a, sizeof(path_a), state, "a.key");
        path_in(path_b, sizeof(path_b), state, "b.key");
        assert_int_equal(identity_secret_load(path_a, a), 0);
        assert_int_equal(identity_secret_load(path_b, b), 0);
        assert_memory_not_equal(a, b, sizeof(a));
}

static void test_secret_file_of_wrong_size_is_refused_and_kept(void **state)
{
        static const size_t sizes[] = {
                0,   1, IDENTITY_SECRET_LEN - 1, IDENTITY_SECRET_LEN + 1, 2 * IDENTITY_SECRET_LEN,
                4096};
        uint8_t data[4096], secret[IDENTITY_SECRET_LEN];
        char path[512];
        struct stat st;

        memset(data, 0x3c, sizeof(data));
        path_in(path, sizeof(path), state, "identity.key");
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                write_file(path, data, sizes[i]);
                assert_int_equal(identity_secret_load(path, secret), -EBADMSG);
                /* Never replaced: a new secret would orphan every stored hash. */
                assert_int_equal(stat(path, &st), 0);
                assert_int_equal(st.st_size, (off_t)sizes[i]);
        }
}

static void test_secret_load_reports_missing_directory_and_directory_path(void **state)
{
        uint8_t secret[IDENTITY_SECRET_LEN];
        char path[512];

        path_in(path, sizeof(path), state, "missing/identity.key");
        assert_int_equal(identity_secret_load(path, secret), -ENOENT);
        assert_int_equal(identity_secret_load(*state, secret), -EISDIR);
        assert_int_equal(count_entries(*state), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_numbers_with_past_birth_year_are_accepted_in_every_century),
                cmocka_unit_test(test_province_code_is_not_checked_so_births_abroad_pass),
                cmocka_unit_test(test_birth_year_equal_to_current_year_is_accepted_and_next_is_not),
                cmocka_unit_test(test_future_birth_years_are_refused),
                cmocka_unit_test(test_empty_and_null_are_refused_as_empty),
                cmocka_unit_test(test_letter_at_any_position_is_refused_with_its_position),
                cmocka_unit_test(test_spaces_and_signs_are_refused_with_their_position),
                cmocka_unit_test(test_non_ascii_digits_are_refused),
                cmocka_unit_test(test_bad_character_is_reported_before_wrong_length),
                cmocka_unit_test(test_nine_digit_old_card_number_is_refused_as_old_card),
                cmocka_unit_test(test_other_lengths_are_refused_as_length),
                cmocka_unit_test(test_strerror_gives_a_distinct_sentence_for_every_reason),
                cmocka_unit_test(test_hash_is_hmac_sha256_of_the_digits_and_deterministic),
                cmocka_unit_test(test_hash_differs_by_secret_and_by_number),
                cmocka_unit_test(test_last4_is_the_last_four_digits),
                cmocka_unit_test_setup_teardown(
                        test_secret_is_created_with_mode_0600_and_reloaded_identical, setup_tmpdir,
                        teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_secret_load_returns_an_existing_file_unchanged,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_two_gateways_get_different_secrets,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_secret_file_of_wrong_size_is_refused_and_kept,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(
                        test_secret_load_reports_missing_directory_and_directory_path, setup_tmpdir,
                        teardown_tmpdir),
        };

        /* The mode test expects 0600 exactly, which a umask can only narrow. */
        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
