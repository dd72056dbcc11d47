/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * identity: checks citizen identity numbers and turns them into what the gateway may keep (a
 * keyed hash and the last four digits), and keeps the per-gateway secret that keys the hash.
 *
 * The province code (digits 1-3) is deliberately not checked: a birth registered abroad carries
 * a country code, and those cannot be listed here. The secret is created once, at first start,
 * and never replaced: a new secret would orphan every stored hash, so a file of the wrong size
 * is an error for the operator, not something to repair.
 */
#include "identity.h"

#include "crypto.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Digits of the old identity card (chứng minh nhân dân), refused with their own reason so the
 * user is told to give the new number rather than that theirs is malformed. */
#define IDENTITY_OLD_CARD_LEN 9

static bool is_ascii_digit(char c)
{
        /* Not isdigit(): that depends on the locale. */
        return c >= '0' && c <= '9';
}

enum identity_citizen_error identity_citizen_check(const char *number, int current_year,
                                                   size_t *pos)
{
        size_t len;

        if (!number || number[0] == '\0')
                return IDENTITY_CITIZEN_EMPTY;
        /* Characters before length: "a space at 12" says more than "13 characters". */
        for (len = 0; number[len] != '\0'; len++) {
                if (!is_ascii_digit(number[len])) {
                        if (pos)
                                *pos = len;
                        return IDENTITY_CITIZEN_NOT_DIGIT;
                }
        }
        if (len == IDENTITY_OLD_CARD_LEN)
                return IDENTITY_CITIZEN_OLD_CARD;
        if (len != IDENTITY_CITIZEN_LEN)
                return IDENTITY_CITIZEN_LENGTH;
        if (identity_citizen_birth_year(number) > current_year)
                return IDENTITY_CITIZEN_FUTURE_YEAR;
        return IDENTITY_CITIZEN_OK;
}

const char *identity_citizen_strerror(enum identity_citizen_error e)
{
        /* No default: the compiler then names any reason added without a message. */
        switch (e) {
        case IDENTITY_CITIZEN_OK:
                return "The citizen identity number is valid.";
        case IDENTITY_CITIZEN_EMPTY:
                return "No citizen identity number was given.";
        case IDENTITY_CITIZEN_OLD_CARD:
                return "This is a 9-digit identity card number; give the 12-digit citizen "
                       "identity number instead.";
        case IDENTITY_CITIZEN_LENGTH:
                return "A citizen identity number has exactly 12 digits.";
        case IDENTITY_CITIZEN_NOT_DIGIT:
                return "A citizen identity number has only the digits 0-9, with no letters, "
                       "spaces or signs.";
        case IDENTITY_CITIZEN_FUTURE_YEAR:
                return "The birth year in the citizen identity number is in the future.";
        }
        return "The citizen identity number was refused for an unknown reason.";
}

int identity_citizen_birth_year(const char *number)
{
        /* Digit 4 is century and sex: 0/1 the 1900s, 2/3 the 2000s, ... 8/9 the 2300s. */
        int century = number[3] - '0';
        int yy = (number[4] - '0') * 10 + (number[5] - '0');

        return 1900 + century / 2 * 100 + yy;
}

void identity_citizen_hash(const uint8_t secret[IDENTITY_SECRET_LEN], const char *number,
                           uint8_t out[IDENTITY_CITIZEN_HASH_LEN])
{
        crypto_hmac_sha256(secret, IDENTITY_SECRET_LEN, number,
                           strnlen(number, IDENTITY_CITIZEN_LEN), out);
}

void identity_citizen_last4(const char *number, char out[5])
{
        size_t len = strnlen(number, IDENTITY_CITIZEN_LEN);
        size_t from = len > 4 ? len - 4 : 0;

        memcpy(out, number + from, len - from);
        out[len - from] = '\0';
}

int identity_secret_read(const char *path, uint8_t secret[IDENTITY_SECRET_LEN])
{
        char *data;
        size_t len;
        int r;

        r = fileio_read_all(path, IDENTITY_SECRET_LEN, &data, &len);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        if (len == IDENTITY_SECRET_LEN)
                memcpy(secret, data, IDENTITY_SECRET_LEN);
        else
                r = -EBADMSG;
        explicit_bzero(data, len);
        free(data);
        return r;
}

/* Writes the secret to a private temporary file and links it into place. link(2), unlike
 * rename(2), fails when @path exists, so of two processes starting at once only one secret
 * wins (-EEXIST tells the other to read it), and a power cut never leaves a short file at
 * @path. */
int identity_secret_create(const char *path, const uint8_t secret[IDENTITY_SECRET_LEN])
{
        char tmp[PATH_MAX];
        int fd, n, r;

        n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
        if (n < 0 || (size_t)n >= sizeof(tmp))
                return -ENAMETOOLONG;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = fileio_write_all(fd, secret, IDENTITY_SECRET_LEN);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && link(tmp, path) < 0)
                r = -errno;
        unlink(tmp);
        if (r < 0)
                return r;
        return fileio_fsync_dir_of(path);
}

void identity_secret_fingerprint(const uint8_t secret[IDENTITY_SECRET_LEN], char out[17])
{
        static const char label[] = "firegate identity secret fingerprint v1";
        uint8_t mac[CRYPTO_SHA256_LEN];

        /* A MAC of a fixed label, not a hash of the secret: it identifies the secret without
         * helping anyone guess it. */
        crypto_hmac_sha256(secret, IDENTITY_SECRET_LEN, label, sizeof(label) - 1, mac);
        crypto_hex(mac, 8, out);
}

int identity_secret_load(const char *path, uint8_t secret[IDENTITY_SECRET_LEN])
{
        uint8_t fresh[IDENTITY_SECRET_LEN];
        int r;

        r = identity_secret_read(path, secret);
        if (r != -ENOENT)
                return r;
        r = crypto_random(fresh, sizeof(fresh));
        if (r < 0)
                return r;
        r = identity_secret_create(path, fresh);
        if (r == 0)
                memcpy(secret, fresh, sizeof(fresh));
        else if (r == -EEXIST)
                r = identity_secret_read(path, secret);
        explicit_bzero(fresh, sizeof(fresh));
        return r;
}
