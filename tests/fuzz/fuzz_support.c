/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_support: the harnesses' shared fixtures (fuzz_support.h). Each is made on first use and
 * lives as long as the process: libFuzzer runs one input after another in one process, and a
 * fixture rebuilt per input would only slow it down. Nothing here depends on an input.
 */
#include "fuzz_support.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "diag.h"
#include "fileio.h"
#include "replay.h"

#ifndef FUZZ_SOURCE_DIR
#error "FUZZ_SOURCE_DIR names the source tree (tests/fuzz/CMakeLists.txt)"
#endif

/* The public half of tests/fuzz/test-authority.key, which signs the bundle seeds. */
static const char authority_pem[] = "# FIREGATE DEMO KEY - NOT FOR PRODUCTION\n"
                                    "-----BEGIN PUBLIC KEY-----\n"
                                    "MCowBQYDK2VwAyEAglh2ak4ZZlGmubrYpijaW4l8AiSchLmjk/sU1zlEuIk=\n"
                                    "-----END PUBLIC KEY-----\n";

/* The replay building, signed with the test key: its residents are verified, so the engine
 * sees priority rescue. It is also a seed of the bundle harness. */
#define BUILDING_BUNDLE FUZZ_SOURCE_DIR "/tests/fuzz/corpus/bundle/replay-building.json"
#define RULES_DIR       FUZZ_SOURCE_DIR "/rules"

static const uint8_t identity_secret[IDENTITY_SECRET_LEN] = {
        0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6f, 0x6e, 0x6c, 0x79, 0x2d, 0x73,
        0x65, 0x63, 0x72, 0x65, 0x74, 0x2d, 0x6e, 0x6f, 0x74, 0x2d, 0x66,
        0x6f, 0x72, 0x2d, 0x75, 0x73, 0x65, 0x21, 0x21, 0x21, 0x21,
};

void fuzz_check_at(int ok, const char *what, const char *file, int line)
{
        if (ok)
                return;
        fprintf(stderr, "%s:%d: contract broken: %s\n", file, line, what);
        abort();
}

static void die(const char *what, int err)
{
        fprintf(stderr, "fuzz_support: %s: %s\n", what, strerror(err < 0 ? -err : err));
        abort();
}

FILE *fuzz_devnull(void)
{
        static FILE *null;

        if (!null && !(null = fopen("/dev/null", "we")))
                die("/dev/null", errno);
        return null;
}

const char *fuzz_file_put(unsigned slot, const uint8_t *data, size_t size)
{
        static int fds[FUZZ_FILES_MAX];
        static char paths[FUZZ_FILES_MAX][32];
        int r;

        if (slot >= FUZZ_FILES_MAX)
                die("memory file slot", EINVAL);
        if (!fds[slot]) {
                fds[slot] = memfd_create("fuzz-input", MFD_CLOEXEC);
                if (fds[slot] < 0)
                        die("memfd_create", errno);
                snprintf(paths[slot], sizeof(paths[slot]), "/proc/self/fd/%d", fds[slot]);
        }
        if (ftruncate(fds[slot], 0) < 0 || lseek(fds[slot], 0, SEEK_SET) < 0)
                die("ftruncate", errno);
        r = fileio_write_all(fds[slot], data, size);
        if (r < 0)
                die("writing a memory file", r);
        return paths[slot];
}

const struct crypto_key *fuzz_authority(void)
{
        static struct crypto_key *key;
        int r;

        if (!key && (r = crypto_key_load_mem(authority_pem, strlen(authority_pem), &key)) < 0)
                die("the test authority key", r);
        return key;
}

struct bundle_options fuzz_bundle_options(bool allow_unsigned, struct diag *warnings)
{
        return (struct bundle_options){
                .authority = fuzz_authority(),
                .location_id_pattern = "^[0-9]{12}$",
                .allow_unsigned = allow_unsigned,
                .current_year = 2026,
                .identity_secret = identity_secret,
                .max_bytes = 1024 * 1024,
                .warnings = warnings,
        };
}

const struct engine_view *fuzz_building(void)
{
        static struct engine_view *view;
        struct diag *d;
        struct bundle *b = NULL;
        struct bundle_options opt;
        int r;

        if (view)
                return view;
        d = diag_new();
        if (!d)
                die("diag_new", ENOMEM);
        opt = fuzz_bundle_options(false, NULL);
        r = bundle_load(BUILDING_BUNDLE, &opt, d, &b);
        if (r < 0) {
                diag_print(d, stderr, BUILDING_BUNDLE ": ");
                die(BUILDING_BUNDLE, r);
        }
        r = engine_view_from_records(bundle_records(b), &view);
        if (r < 0)
                die("engine_view_from_records", r);
        bundle_free(b);
        diag_free(d);
        return view;
}

const struct ruleset *fuzz_shipped_rules(void)
{
        static struct ruleset *rules;
        struct diag *d;
        int r;

        if (rules)
                return rules;
        rules = ruleset_new();
        d = diag_new();
        if (!rules || !d)
                die("ruleset_new", ENOMEM);
        r = ruleset_load_dir(rules, RULES_DIR, d);
        if (r < 0) {
                diag_print(d, stderr, NULL);
                die(RULES_DIR, r);
        }
        diag_free(d);
        return rules;
}

/* Formats each decision as `firegate replay` prints it: its strings (rule names, unknown
 * detectors' names) come from the input. */
static void format_decision(void *ctx, const struct engine_decision *dec)
{
        char *line = NULL;
        int r = replay_format_decision(dec, &line);

        (void)ctx;
        fuzz_check(r == 0 || r == -ENOMEM, "replay_format_decision: 0 or -ENOMEM");
        fuzz_check(r < 0 || (line && !strchr(line, '\n')), "a decision is one line");
        free(line);
}

int fuzz_engine_new(const struct ruleset *rules, struct diag *d, struct engine **out)
{
        const struct engine_view *v = fuzz_building();
        const struct engine_setup setup = {
                .detectors = v->detectors,
                .n_detectors = v->n_detectors,
                .units = v->units,
                .n_units = v->n_units,
                .zones = (const char *const *)v->zones,
                .n_zones = v->n_zones,
                .rules = rules,
                .spare_detectors = 8,
                .start = 0,
                .emit = format_decision,
        };

        return engine_new(&setup, d, out);
}
