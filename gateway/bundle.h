/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bundle: reads a registry bundle (docs/registry-bundle.md) and checks every record before
 * anything is stored: its fields, the references it can check inside the bundle, and its
 * Ed25519 signature against the authority key. A citizen identity number is validated here and
 * turned into its keyed hash and last four digits at once; the number itself goes no further.
 */
#ifndef FIREGATE_BUNDLE_H
#define FIREGATE_BUNDLE_H

#include <stdbool.h>

#include "crypto.h"
#include "diag.h"
#include "identity.h"
#include "registry.h"

#define BUNDLE_FORMAT         "firegate-registry-bundle"
#define BUNDLE_VERSION        1
#define BUNDLE_SIGNING_PREFIX "firegate-registry-v1\n"

struct bundle;

struct bundle_options {
        const struct crypto_key *authority; /* verifies signatures; must not be NULL */
        const char *location_id_pattern;    /* POSIX ERE that location ids must match */
        bool allow_unsigned;                /* keep unsigned records, marked unverified */
        int current_year;                   /* for the birth-year rule of identity numbers */
        const uint8_t *identity_secret;     /* IDENTITY_SECRET_LEN bytes, for the keyed hash */
        size_t max_bytes;                   /* larger files are refused */
        struct diag *warnings;              /* may be NULL: what is worth saying but refuses
                                               nothing (a bundle naming another signing key) */
};

/* Reads and checks @path. Every refused record and every problem with the file is added to @d
 * (named by file:line:column, or by section[index] and id). Returns 0 with *@out set when every
 * record passed, -EBADMSG when any did not (nothing is returned then), -EFBIG for a file over
 * max_bytes, or the negative errno of reading the file. */
int bundle_load(const char *path, const struct bundle_options *opt, struct diag *d,
                struct bundle **out);

/* Frees @b and the records it lent; NULL is a no-op. The records' key ids point into
 * opt->authority, which must outlive @b. */
void bundle_free(struct bundle *b);

/* The checked records, valid until bundle_free(). */
const struct registry_records *bundle_records(const struct bundle *b);

/* SHA-256 of the file as read. */
const uint8_t *bundle_file_sha256(const struct bundle *b);

/* Number of records, all types. */
size_t bundle_record_count(const struct bundle *b);

/* Number of records whose signature verified. */
size_t bundle_verified_count(const struct bundle *b);

#endif
