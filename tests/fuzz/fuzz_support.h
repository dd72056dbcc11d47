/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_support: what the libFuzzer harnesses share (docs/fuzzing.md). Memory files for the
 * parsers that take a path, the fixed test authority key that signs the bundle seeds, the
 * synthetic replay building as an engine view, and the shipped rules. Everything here is made
 * once per process and kept: a harness resets only what one input changes.
 *
 * A harness never trusts the code under test to keep its contract: when a result breaks what
 * the module's header promises, fuzz_check() aborts, and libFuzzer keeps the input.
 */
#ifndef FIREGATE_FUZZ_SUPPORT_H
#define FIREGATE_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bundle.h"
#include "crypto.h"
#include "engine.h"
#include "engine_view.h"
#include "ruleset.h"

#define FUZZ_FILES_MAX 4

/* A FILE that discards what is written to it, for the printers. */
FILE *fuzz_devnull(void);

/* Writes @size bytes of @data into memory file @slot (0 .. FUZZ_FILES_MAX - 1), replacing what
 * it held, and returns a path that opens it ("/proc/self/fd/N"). Aborts on failure. */
const char *fuzz_file_put(unsigned slot, const uint8_t *data, size_t size);

/* The test authority's public key (tests/fuzz/test-authority.pub), marked as a demo key. */
const struct crypto_key *fuzz_authority(void);

/* Bundle options as `firegate import` sets them, with the test authority, a fixed identity
 * secret and the current year fixed at 2026. */
struct bundle_options fuzz_bundle_options(bool allow_unsigned, struct diag *warnings);

/* The registry of tests/replay/building.json, as replay sees it. Aborts when it cannot be
 * read: the harness would test nothing. */
const struct engine_view *fuzz_building(void);

/* The shipped rules, every .rules file of rules/. Aborts when they do not load. */
const struct ruleset *fuzz_shipped_rules(void);

/* A new engine over fuzz_building() with @rules (NULL: the built-in defaults), starting at 0,
 * whose every decision is formatted as replay prints it. Returns as engine_new(). */
int fuzz_engine_new(const struct ruleset *rules, struct diag *d, struct engine **out);

/* Aborts with @what on stderr unless @ok: a broken promise of a header. */
#define fuzz_check(ok, what) fuzz_check_at((ok), (what), __FILE__, __LINE__)
void fuzz_check_at(int ok, const char *what, const char *file, int line);

#endif
