/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_bundle: the registry bundle importer's checks (gateway/bundle.h) on any file, with the
 * test authority key (tests/fuzz/test-authority.pub) whose signatures the seeds carry. A bundle
 * that passes becomes the engine's view of the building, as `firegate replay --bundle` makes
 * it, and starts an engine with the shipped rules.
 *
 * Input: the bundle file itself. Unsigned records are kept, as with --allow-unsigned, unless
 * the file begins with a space: JSON allows it, so both ways stay reachable from one corpus.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "bundle.h"
#include "engine.h"
#include "engine_view.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_records(const struct bundle *b)
{
        const struct registry_records *recs = bundle_records(b);
        struct engine_view *view = NULL;
        struct engine *e = NULL;
        struct diag *d = diag_new();
        int r;

        if (!d)
                abort();
        fuzz_check(bundle_verified_count(b) <= bundle_record_count(b),
                   "no more verified records than records");
        r = engine_view_from_records(recs, &view);
        fuzz_check(r == 0 || r == -ENOMEM, "engine_view_from_records: 0 or -ENOMEM");
        if (r == 0) {
                const struct engine_setup setup = {
                        .detectors = view->detectors,
                        .n_detectors = view->n_detectors,
                        .units = view->units,
                        .n_units = view->n_units,
                        .zones = (const char *const *)view->zones,
                        .n_zones = view->n_zones,
                        .rules = fuzz_shipped_rules(),
                };

                r = engine_new(&setup, d, &e);
                fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM,
                           "engine_new: 0, -EINVAL, -ENOMEM");
                if (r == 0)
                        engine_tick(e, 3600 * 1000);
        }
        engine_free(e);
        engine_view_free(view);
        diag_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct diag *d = diag_new(), *warnings = diag_new();
        struct bundle_options opt;
        struct bundle *b = NULL;
        int r;

        if (!d || !warnings)
                abort();
        opt = fuzz_bundle_options(!(size > 0 && data[0] == ' '), warnings);
        r = bundle_load(fuzz_file_put(0, data, size), &opt, d, &b);
        fuzz_check(r == 0 || r == -EBADMSG || r == -EFBIG || r == -ENOMEM || r == -EINVAL,
                   "bundle_load: an errno it documents");
        fuzz_check((r == 0) == (b != NULL), "a bundle exactly when it loads");
        fuzz_check(r != -EBADMSG || diag_count(d) > 0, "a refusal says why");
        diag_print(d, fuzz_devnull(), NULL);
        diag_print(warnings, fuzz_devnull(), NULL);
        if (b)
                use_records(b);
        bundle_free(b);
        diag_free(warnings);
        diag_free(d);
        return 0;
}
