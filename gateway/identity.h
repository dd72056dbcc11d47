/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * identity: the identifiers that tie an alarm to people and places.
 *
 * A citizen identity number (số định danh cá nhân) is checked where it enters and then never
 * kept: the gateway stores only an HMAC-SHA-256 under a per-gateway secret (for look-ups) and
 * its last four digits (for display). Rules (DOMAIN.md): exactly 12 decimal digits; digits
 * 1-3 a province or country code; digit 4 gives the century (0/1 1900s, 2/3 2000s, ...
 * 8/9 2300s); digits 5-6 the last two digits of the birth year, which must not be in the future.
 *
 * A location identifier (mã định danh địa điểm, of a building or a unit) is an opaque string
 * assigned and signed by the registry authority; it is only matched against the pattern the
 * config sets and nothing is derived from its digits.
 */
#ifndef FIREGATE_IDENTITY_H
#define FIREGATE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#define IDENTITY_CITIZEN_LEN      12
#define IDENTITY_SECRET_LEN       32
#define IDENTITY_CITIZEN_HASH_LEN 32

/* Why a citizen identity number was refused. Numbered for good; never reuse a value. */
enum identity_citizen_error {
        IDENTITY_CITIZEN_OK = 0,
        IDENTITY_CITIZEN_EMPTY = 1,
        IDENTITY_CITIZEN_OLD_CARD = 2,    /* 9 digits: the old identity card number */
        IDENTITY_CITIZEN_LENGTH = 3,      /* not 12 characters */
        IDENTITY_CITIZEN_NOT_DIGIT = 4,   /* a letter, space, sign or other character */
        IDENTITY_CITIZEN_FUTURE_YEAR = 5, /* birth year after the current year */
};

/* Checks @number against the rules above, with @current_year the year now (UTC).
 * Returns IDENTITY_CITIZEN_OK or the reason; when @pos is not NULL and the reason is
 * IDENTITY_CITIZEN_NOT_DIGIT, *@pos is the 0-based position of the first offending character. */
enum identity_citizen_error identity_citizen_check(const char *number, int current_year,
                                                   size_t *pos);

/* A sentence saying why (for users); never NULL. */
const char *identity_citizen_strerror(enum identity_citizen_error e);

/* The birth year encoded in a number that passed identity_citizen_check(). */
int identity_citizen_birth_year(const char *number);

/* Keyed hash of a checked number under the gateway's secret. */
void identity_citizen_hash(const uint8_t secret[IDENTITY_SECRET_LEN], const char *number,
                           uint8_t out[IDENTITY_CITIZEN_HASH_LEN]);

/* Copies the last 4 digits of a checked number into @out (5 bytes with the NUL). */
void identity_citizen_last4(const char *number, char out[5]);

/* Loads the gateway's identity secret from @path, creating it (IDENTITY_SECRET_LEN random bytes,
 * mode 0600) if it does not exist. Returns 0, -EBADMSG for a file of the wrong size, or the
 * negative errno of the failing call. */
int identity_secret_load(const char *path, uint8_t secret[IDENTITY_SECRET_LEN]);

/* Reads the secret at @path without creating it. Returns 0, -ENOENT when there is none,
 * -EBADMSG for a file of the wrong size, or the negative errno of the failing call. */
int identity_secret_read(const char *path, uint8_t secret[IDENTITY_SECRET_LEN]);

/* Writes @secret to a new file @path (mode 0600, durably). Returns 0, -EEXIST when a secret is
 * already there (never replaced: the stored hashes depend on it), or a negative errno. */
int identity_secret_create(const char *path, const uint8_t secret[IDENTITY_SECRET_LEN]);

/* A short public fingerprint of @secret (16 hex digits and a NUL), kept in the store to notice a
 * lost or swapped secret before it silently breaks every look-up. */
void identity_secret_fingerprint(const uint8_t secret[IDENTITY_SECRET_LEN], char out[17]);

#endif
