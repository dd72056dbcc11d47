/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for ruleset: each writes a small rule file into a fresh temporary directory, loads
 * it and checks the rules or the exact "file:line: message" of every error, limits at their
 * edges (the limit accepted, one past it refused). The default rule files shipped in rules/ are
 * loaded too: the source tree comes from FIREGATE_SOURCE_DIR, which CTest sets, or from this
 * file's own path.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "diag.h"
#include "ruleset.h"
#include "testutil.h"

struct fixture {
        char *dir;
        char path[PATH_MAX]; /* the file load_text() last wrote */
        struct diag *d;
        struct ruleset *rs;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        f->dir = tu_tempdir();
        f->d = diag_new();
        f->rs = ruleset_new();
        if (!f->d || !f->rs) {
                diag_free(f->d);
                ruleset_free(f->rs);
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

        ruleset_free(f->rs);
        diag_free(f->d);
        tu_rmtree(f->dir);
        free(f);
        return 0;
}

/* A fresh ruleset and diag, for a test that loads several files one after the other. */
static void reset(struct fixture *f)
{
        ruleset_free(f->rs);
        diag_free(f->d);
        f->rs = ruleset_new();
        f->d = diag_new();
        assert_non_null(f->rs);
        assert_non_null(f->d);
}

static int load_named(struct fixture *f, const char *name, const char *text)
{
        snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
        tu_write(f->path, text, 0);
        return ruleset_load_file(f->rs, f->path, f->d);
}

static int load_text(struct fixture *f, const char *text)
{
        return load_named(f, "test.rules", text);
}

static void assert_loads(struct fixture *f, const char *text)
{
        int r = load_text(f, text);

        if (r != 0 || diag_count(f->d) != 0) {
                diag_print(f->d, stderr, "  got: ");
                fail_msg("ruleset_load_file() returned %d with %zu messages", r, diag_count(f->d));
        }
}

static void assert_fails(struct fixture *f, const char *text, size_t errors)
{
        int r = load_text(f, text);

        if (r != -EINVAL || diag_count(f->d) != errors) {
                diag_print(f->d, stderr, "  got: ");
                fail_msg("returned %d with %zu messages, expected -EINVAL with %zu", r,
                         diag_count(f->d), errors);
        }
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

/* Loads "[@section]\n@key = @value\n" and expects it to load, or to fail with @message at
 * line 2 when @message is not NULL. */
static void check_value(struct fixture *f, const char *section, const char *key, const char *value,
                        const char *message)
{
        char text[4200];

        reset(f);
        snprintf(text, sizeof(text), "[%s]\n%s = %s\n", section, key, value);
        if (!message) {
                assert_loads(f, text);
                return;
        }
        assert_fails(f, text, 1);
        assert_diag(f, 0, 2, message);
}

/* ---- defaults ---------------------------------------------------------------------------- */

static void test_smoke_defaults_are_the_documented_values(void **state)
{
        struct ruleset_smoke r;

        (void)state;
        memset(&r, 0xa5, sizeof(r));
        ruleset_smoke_defaults(&r);
        assert_string_equal(r.name, "");
        assert_int_equal(r.match.kinds, 0);
        assert_int_equal(r.match.n_zones, 0);
        assert_int_equal(r.match.n_detectors, 0);
        assert_int_equal(r.dependency, RULESET_DEP_NONE);
        assert_int_equal(r.retard_ms, 20000);
        assert_int_equal(r.reset_ms, 5000);
        assert_int_equal(r.confirm_ms, 120000);
        assert_int_equal(r.window_ms, 300000);
        assert_int_equal(r.scope, RULESET_SCOPE_UNIT);
        assert_false(r.pas);
        assert_int_equal(r.pas_ack_ms, 15000);
        assert_int_equal(r.pas_investigate_ms, 180000);
        assert_true(r.vulnerable_skip);
        assert_null(r.file);
        assert_int_equal(r.line, 0);
}

static void test_heat_defaults_are_the_documented_values(void **state)
{
        struct ruleset_heat r;

        (void)state;
        memset(&r, 0xa5, sizeof(r));
        ruleset_heat_defaults(&r);
        assert_int_equal(r.match.kinds, 0);
        assert_true(isnan(r.fixed_c));
        assert_int_equal(r.ror, RULESET_ROR_BY_CLASS);
        assert_true(r.ror_k_per_min == 8.0);
        assert_true(isnan(r.ror_min_rise_k));
        assert_int_equal(r.confirm_ms, 30000);
        assert_null(r.file);
}

static void test_supervision_defaults_are_the_documented_values(void **state)
{
        struct ruleset_supervision r;

        (void)state;
        memset(&r, 0xa5, sizeof(r));
        ruleset_supervision_defaults(&r);
        assert_int_equal(r.match.n_zones, 0);
        assert_int_equal(r.silent_default_ms, 300000);
        assert_true(r.silent_factor == 2.5);
        assert_int_equal(r.offline_ms, 0);
        assert_int_equal(r.battery_low_pct, 15);
        assert_int_equal(r.invalid_count, 3);
        assert_int_equal(r.test_max_ms, 30000);
}

static void test_new_ruleset_has_no_rules_and_the_building_defaults(void **state)
{
        struct ruleset *rs = ruleset_new();

        (void)state;
        assert_non_null(rs);
        assert_int_equal(rs->n_smoke + rs->n_heat + rs->n_supervision + rs->n_outputs, 0);
        assert_int_equal(rs->building.reestablish_ms, 10000);
        ruleset_free(rs);
        ruleset_free(NULL);
}

static void test_dependency_names_are_the_file_words(void **state)
{
        (void)state;
        assert_string_equal(ruleset_dependency_name(RULESET_DEP_NONE), "none");
        assert_string_equal(ruleset_dependency_name(RULESET_DEP_VERIFICATION), "verification");
        assert_string_equal(ruleset_dependency_name(RULESET_DEP_TYPE_A), "type-a");
        assert_string_equal(ruleset_dependency_name(RULESET_DEP_TYPE_B), "type-b");
        assert_string_equal(ruleset_dependency_name(RULESET_DEP_TYPE_C), "type-c");
}

static void test_empty_file_adds_no_rules(void **state)
{
        struct fixture *f = *state;

        assert_loads(f, "# only a comment\n\n");
        assert_int_equal(f->rs->n_smoke + f->rs->n_heat + f->rs->n_supervision, 0);
}

/* ---- every key read, seconds kept in ms ---------------------------------------------------- */

static void test_smoke_keys_are_read_and_seconds_kept_in_ms(void **state)
{
        struct fixture *f = *state;
        const struct ruleset_smoke *r;

        assert_loads(f, "[smoke kitchens]\n"
                        "kinds = smoke multi\n"
                        "zones = unit stair-a\n"
                        "detectors = D-1 d_2.x\n"
                        "dependency = verification\n"
                        "retard_s = 30\n"
                        "reset_s = 7\n"
                        "confirm_s = 90\n"
                        "priority_rescue_skips_delay = no\n");
        assert_int_equal(f->rs->n_smoke, 1);
        r = &f->rs->smoke[0];
        assert_string_equal(r->name, "kitchens");
        assert_string_equal(r->file, f->path);
        assert_int_equal(r->line, 1);
        assert_int_equal(r->match.kinds, RULESET_KIND_SMOKE | RULESET_KIND_MULTI);
        assert_int_equal(r->match.n_zones, 2);
        assert_string_equal(r->match.zones[0], "unit");
        assert_string_equal(r->match.zones[1], "stair-a");
        assert_int_equal(r->match.n_detectors, 2);
        assert_string_equal(r->match.detectors[1], "d_2.x");
        assert_int_equal(r->dependency, RULESET_DEP_VERIFICATION);
        assert_int_equal(r->retard_ms, 30000);
        assert_int_equal(r->reset_ms, 7000);
        assert_int_equal(r->confirm_ms, 90000);
        assert_false(r->vulnerable_skip);
}

static void test_type_a_confirm_defaults_to_thirty_minutes(void **state)
{
        struct fixture *f = *state;

        assert_loads(f, "[smoke a]\ndependency = type-a\n"
                        "[smoke b]\ndependency = type-a\nconfirm_s = 600\n"
                        "[smoke c]\ndependency = verification\n");
        assert_int_equal(f->rs->smoke[0].confirm_ms, 1800000);
        assert_int_equal(f->rs->smoke[1].confirm_ms, 600000);
        assert_int_equal(f->rs->smoke[2].confirm_ms, 120000);
}

static void test_type_b_c_and_pas_keys_are_read(void **state)
{
        struct fixture *f = *state;

        assert_loads(f, "[smoke b]\ndependency = type-b\nwindow_s = 480\nconfirm_scope = floor\n"
                        "[smoke c]\ndependency = TYPE-C\nwindow_s = 120\n"
                        "[smoke desk]\npas = yes\npas_ack_s = 10\npas_investigate_s = 120\n"
                        "confirm_scope = building\n");
        assert_int_equal(f->rs->smoke[0].dependency, RULESET_DEP_TYPE_B);
        assert_int_equal(f->rs->smoke[0].window_ms, 480000);
        assert_int_equal(f->rs->smoke[0].scope, RULESET_SCOPE_FLOOR);
        assert_int_equal(f->rs->smoke[1].dependency, RULESET_DEP_TYPE_C);
        assert_int_equal(f->rs->smoke[1].window_ms, 120000);
        assert_true(f->rs->smoke[2].pas);
        assert_int_equal(f->rs->smoke[2].pas_ack_ms, 10000);
        assert_int_equal(f->rs->smoke[2].pas_investigate_ms, 120000);
        assert_int_equal(f->rs->smoke[2].scope, RULESET_SCOPE_BUILDING);
}

static void test_heat_supervision_output_and_building_keys_are_read(void **state)
{
        struct fixture *f = *state;
        const struct ruleset_output *o;

        assert_loads(f, "[heat kitchens]\nkinds = heat\nfixed_c = 57.5\nror = no\n"
                        "ror_k_per_min = 6.5\nror_min_rise_k = 15\nconfirm_s = 20\n"
                        "[supervision battery]\nkinds = smoke heat multi call_point\n"
                        "silent_s = 600\nsilent_factor = 3\noffline_s = 60\n"
                        "battery_low_pct = 20\ninvalid_count = 5\ntest_max_s = 10\n"
                        "[output stair-bell]\nfollows = zone:stair-a\ndelay_s = 30\n"
                        "silenceable = off\nconfirm = TRUE\n"
                        "[building]\nreestablish_s = 20\n");
        assert_true(f->rs->heat[0].fixed_c == 57.5);
        assert_int_equal(f->rs->heat[0].ror, RULESET_ROR_OFF);
        assert_true(f->rs->heat[0].ror_k_per_min == 6.5);
        assert_true(f->rs->heat[0].ror_min_rise_k == 15.0);
        assert_int_equal(f->rs->heat[0].confirm_ms, 20000);
        assert_int_equal(f->rs->supervision[0].match.kinds, RULESET_KIND_SMOKE | RULESET_KIND_HEAT |
                                                                    RULESET_KIND_MULTI |
                                                                    RULESET_KIND_CALL_POINT);
        assert_int_equal(f->rs->supervision[0].silent_default_ms, 600000);
        assert_true(f->rs->supervision[0].silent_factor == 3.0);
        assert_int_equal(f->rs->supervision[0].offline_ms, 60000);
        assert_int_equal(f->rs->supervision[0].battery_low_pct, 20);
        assert_int_equal(f->rs->supervision[0].invalid_count, 5);
        assert_int_equal(f->rs->supervision[0].test_max_ms, 10000);
        o = &f->rs->outputs[0];
        assert_string_equal(o->name, "stair-bell");
        assert_string_equal(o->follows, "zone:stair-a");
        assert_int_equal(o->delay_ms, 30000);
        assert_false(o->silenceable);
        assert_true(o->confirm);
        assert_int_equal(o->line, 16);
        assert_int_equal(f->rs->building.reestablish_ms, 20000);
}

static void test_booleans_take_every_documented_spelling(void **state)
{
        static const char *const yes[] = {"yes", "true", "on", "1", "YES", "On"};
        static const char *const no[] = {"no", "false", "off", "0", "No", "FALSE"};
        struct fixture *f = *state;
        char text[128];

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                reset(f);
                snprintf(text, sizeof(text), "[output o]\nfollows = building\nconfirm = %s\n",
                         yes[i]);
                assert_loads(f, text);
                assert_true(f->rs->outputs[0].confirm);
                reset(f);
                snprintf(text, sizeof(text), "[output o]\nfollows = building\nsilenceable = %s\n",
                         no[i]);
                assert_loads(f, text);
                assert_false(f->rs->outputs[0].silenceable);
        }
        check_value(f, "smoke s", "priority_rescue_skips_delay", "maybe",
                    "invalid priority_rescue_skips_delay 'maybe': expected yes or no (or "
                    "true/false, on/off, 1/0)");
}

static void test_follows_takes_building_floor_unit_and_zone(void **state)
{
        static const char *const good[] = {"building",         "floor:1",    "floor:-20",
                                           "floor:200",        "unit:12.05", "unit:001122334455",
                                           "zone:car-park.b1", "zone:0"};
        static const char *const bad[] = {
                "floor:0", "floor:201", "floor:-21", "floor:x", "floor:", "zone:Stair",
                "zone:-a", "unit:",     "buildings", "room:3",  "zone:"};
        struct fixture *f = *state;
        char text[256], want[512];

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                reset(f);
                snprintf(text, sizeof(text), "[output o]\nfollows = %s\n", good[i]);
                assert_loads(f, text);
                assert_string_equal(f->rs->outputs[0].follows, good[i]);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(want, sizeof(want),
                         "invalid follows '%s': expected building, floor:N (-20 to 200, not 0), "
                         "unit:ID, zone:ID or each-unit",
                         bad[i]);
                check_value(f, "output o", "follows", bad[i], want);
        }
}

static void test_longest_ids_fit(void **state)
{
        struct fixture *f = *state;
        char id64[65], text[512];

        memset(id64, 'z', 64);
        id64[64] = '\0';
        snprintf(text, sizeof(text),
                 "[supervision %s]\nzones = %s\ndetectors = %s\n[output %s]\nfollows = zone:%s\n",
                 id64, id64, id64, id64, id64);
        assert_loads(f, text);
        assert_string_equal(f->rs->supervision[0].name, id64);
        assert_string_equal(f->rs->supervision[0].match.zones[0], id64);
        assert_string_equal(f->rs->supervision[0].match.detectors[0], id64);
        assert_int_equal(strlen(f->rs->outputs[0].follows), 69);
}

/* ---- errors, each at its line -------------------------------------------------------------- */

static void test_unknown_section_kind_is_reported_with_a_hint(void **state)
{
        struct fixture *f = *state;

        assert_fails(f,
                     "[smok units]\n"
                     "dependency = none\n"
                     "[alarm x]\n"
                     "[Smoke y]\n",
                     3);
        assert_diag(f, 0, 1, "unknown section [smok units]; did you mean [smoke units]?");
        assert_diag(f, 1, 3,
                    "unknown section [alarm x]: expected [smoke NAME], [heat NAME], "
                    "[supervision NAME], [output NAME] or [building]");
        assert_diag(f, 2, 4, "unknown section [Smoke y]; did you mean [smoke y]?");
}

static void test_section_names_are_checked(void **state)
{
        struct fixture *f = *state;
        char text[256], want[512];

        assert_fails(f,
                     "[smoke]\n"
                     "retard_s = 1\n"
                     "[building main]\n"
                     "[heat two words]\n"
                     "[output a/b]\n",
                     4);
        assert_diag(f, 0, 1, "[smoke] needs a name: [smoke NAME]");
        assert_diag(f, 1, 3, "[building] takes no name: [building main]");
        assert_diag(f, 2, 4,
                    "invalid rule name 'two words' in [heat two words]: expected 1 to 64 of the "
                    "characters A-Z a-z 0-9 . _ -");
        assert_diag(f, 3, 5,
                    "invalid rule name 'a/b' in [output a/b]: expected 1 to 64 of the characters "
                    "A-Z a-z 0-9 . _ -");

        reset(f);
        snprintf(text, sizeof(text), "[heat %065d]\n", 0);
        assert_fails(f, text, 1);
        snprintf(want, sizeof(want),
                 "invalid rule name '%065d' in [heat %065d]: expected 1 to 64 of the characters "
                 "A-Z a-z 0-9 . _ -",
                 0, 0);
        assert_diag(f, 0, 1, want);
}

static void test_unknown_key_is_reported_with_a_hint_or_its_section(void **state)
{
        struct fixture *f = *state;

        assert_fails(f,
                     "[smoke units]\n"
                     "retard = 20\n"
                     "delay_s = 5\n"
                     "colour = red\n"
                     "[building]\n"
                     "silent_s = 300\n",
                     4);
        assert_diag(f, 0, 2, "unknown key 'retard' in [smoke units]; did you mean 'retard_s'?");
        assert_diag(f, 1, 3, "unknown key 'delay_s' in [smoke units]; it belongs in [output NAME]");
        assert_diag(f, 2, 4, "unknown key 'colour' in [smoke units]");
        assert_diag(f, 3, 6,
                    "unknown key 'silent_s' in [building]; it belongs in [supervision NAME]");
}

static void test_key_before_any_section_is_reported(void **state)
{
        struct fixture *f = *state;

        assert_fails(f, "retard_s = 20\n[smoke a]\n", 1);
        assert_diag(f, 0, 1, "key 'retard_s' comes before any [section]");
}

static void test_duplicate_rule_names_both_places(void **state)
{
        struct fixture *f = *state;
        char first[PATH_MAX], want[PATH_MAX * 2];

        assert_fails(f,
                     "[smoke units]\n"
                     "[heat units]\n"
                     "[smoke units]\n"
                     "retard_s = 99\n",
                     2);
        snprintf(want, sizeof(want), "duplicate rule [smoke units]: first defined at %s:1",
                 f->path);
        assert_diag(f, 0, 3, want);
        /* The duplicate's keys are still checked. */
        assert_diag(f, 1, 4,
                    "retard_s 99 is out of range: expected whole seconds from 0 to 60 (NFPA 72 / "
                    "UL 864: the whole verification delay is at most 60 s)");

        /* Across files: the first file's rule is named with its own file. */
        reset(f);
        assert_int_equal(load_named(f, "a.rules", "# one\n[output bell]\nfollows = building\n"), 0);
        snprintf(first, sizeof(first), "%s", f->path);
        assert_int_equal(load_named(f, "b.rules", "[output bell]\nfollows = building\n"), -EINVAL);
        snprintf(want, sizeof(want), "duplicate rule [output bell]: first defined at %s:2", first);
        assert_diag(f, 0, 1, want);
}

static void test_second_building_section_is_reported(void **state)
{
        struct fixture *f = *state;
        char want[PATH_MAX * 2];

        assert_fails(f, "[building]\nreestablish_s = 5\n\n[building]\n", 1);
        snprintf(want, sizeof(want), "duplicate section [building]: first at %s:1", f->path);
        assert_diag(f, 0, 4, want);
}

static void test_duplicate_key_names_both_lines(void **state)
{
        struct fixture *f = *state;

        assert_fails(f, "[heat h]\nconfirm_s = 10\n# again\nconfirm_s = 20\n", 1);
        assert_diag(f, 0, 4, "duplicate key 'confirm_s' in [heat h]: first set at line 2");
}

static void test_bad_numbers_are_reported_with_what_is_expected(void **state)
{
        struct fixture *f = *state;

        check_value(f, "heat h", "confirm_s", "2.5",
                    "invalid confirm_s '2.5': expected whole seconds from 0 to 60");
        check_value(f, "heat h", "confirm_s", "1e1",
                    "invalid confirm_s '1e1': expected whole seconds from 0 to 60");
        check_value(f, "heat h", "confirm_s", "10s",
                    "invalid confirm_s '10s': expected whole seconds from 0 to 60");
        check_value(f, "heat h", "confirm_s", "-1",
                    "confirm_s -1 is out of range: expected whole seconds from 0 to 60 "
                    "(firegate's bound: heat is never verified (NFPA 72); a lone hot sample "
                    "waits at most 60 s)");
        check_value(f, "heat h", "fixed_c", "hot",
                    "invalid fixed_c 'hot': expected a number from 54 to 160");
        check_value(f, "heat h", "fixed_c", "nan",
                    "invalid fixed_c 'nan': expected a number from 54 to 160");
        check_value(f, "heat h", "fixed_c", "0x40",
                    "invalid fixed_c '0x40': expected a number from 54 to 160");
        check_value(f, "heat h", "fixed_c", "1e999",
                    "fixed_c 1e999 is out of range: expected a number from 54 to 160 (EN 54-5: "
                    "static response temperatures of classes A1 to G lie from 54 to 160 °C; the "
                    "detector's class narrows this)");
        check_value(f, "supervision s", "invalid_count", "3.0",
                    "invalid invalid_count '3.0': expected an integer from 1 to 100");
        check_value(f, "supervision s", "silent_s", "99999999999999999999999",
                    "silent_s 99999999999999999999999 is out of range: expected whole seconds "
                    "from 10 to 90000 (from 10 s, the shortest report period the registry "
                    "accepts, to 25 h, Zigbee2MQTT's timeout for battery devices; EN 54-25 asks "
                    "for 300 s)");
}

static void test_empty_value_is_an_error(void **state)
{
        struct fixture *f = *state;

        assert_fails(f, "[smoke a]\nzones =\ndependency = \n", 2);
        assert_diag(f, 0, 2,
                    "empty value for zones: expected up to 16 zone ids "
                    "([a-z0-9][a-z0-9._-]{0,63}) or the words unit and common, separated by "
                    "spaces");
        assert_diag(f, 1, 3,
                    "empty value for dependency: expected one of none, verification, type-a, "
                    "type-b, type-c");
}

static void test_enum_values_are_checked(void **state)
{
        struct fixture *f = *state;

        check_value(f, "smoke a", "dependency", "type-d",
                    "invalid dependency 'type-d': expected one of none, verification, type-a, "
                    "type-b, type-c");
        check_value(f, "heat a", "ror", "maybe",
                    "invalid ror 'maybe': expected one of auto, no, yes");
        reset(f);
        assert_fails(f, "[smoke a]\ndependency = type-a\nconfirm_scope = flat\n", 1);
        assert_diag(f, 0, 3,
                    "invalid confirm_scope 'flat': expected one of unit, zone, floor, building");
}

/* Each bound at its edge: the limit loads, one past it is refused with the standard named. */
static void test_bounds_accept_the_limit_and_refuse_one_past_it(void **state)
{
        static const struct {
                const char *section, *before, *key, *ok, *past, *message;
        } cases[] = {
                {"smoke a", "dependency = verification\nreset_s = 0\n", "retard_s", "60", "61",
                 "retard_s 61 is out of range: expected whole seconds from 0 to 60 (NFPA 72 / UL "
                 "864: the whole verification delay is at most 60 s)"},
                {"smoke a", "dependency = type-a\n", "reset_s", "60", "61",
                 "reset_s 61 is out of range: expected whole seconds from 0 to 60 (NFPA 72 / UL "
                 "864: the whole verification delay is at most 60 s)"},
                {"smoke a", "dependency = type-a\n", "confirm_s", "1800", "1801",
                 "confirm_s 1801 is out of range: expected whole seconds from 0 to 1800 (EN 54-2 "
                 "7.12.1: cancelled within 30 min)"},
                {"smoke a", "pas = yes\n", "pas_ack_s", "15", "16",
                 "pas_ack_s 16 is out of range: expected whole seconds from 0 to 15 (NFPA 72: a "
                 "positive alarm sequence is acknowledged within 15 s)"},
                {"smoke a", "pas = yes\n", "pas_investigate_s", "180", "181",
                 "pas_investigate_s 181 is out of range: expected whole seconds from 0 to 180 "
                 "(NFPA 72: investigation under a positive alarm sequence is at most 180 s)"},
                {"output o", "follows = building\n", "delay_s", "600", "601",
                 "delay_s 601 is out of range: expected whole seconds from 0 to 600 (EN 54-2 "
                 "7.11: delays to outputs are at most 10 min)"},
                {"supervision s", "", "silent_factor", "10", "10.01",
                 "silent_factor 10.01 is out of range: expected a number from 1 to 10"},
                {"supervision s", "", "silent_factor", "1", "0.99",
                 "silent_factor 0.99 is out of range: expected a number from 1 to 10"},
                {"supervision s", "", "battery_low_pct", "99", "100",
                 "battery_low_pct 100 is out of range: expected an integer from 1 to 99"},
                {"supervision s", "", "battery_low_pct", "1", "0",
                 "battery_low_pct 0 is out of range: expected an integer from 1 to 99"},
                {"supervision s", "", "invalid_count", "100", "101",
                 "invalid_count 101 is out of range: expected an integer from 1 to 100"},
                {"supervision s", "", "invalid_count", "1", "0",
                 "invalid_count 0 is out of range: expected an integer from 1 to 100"},
                {"supervision s", "", "offline_s", "100", "101",
                 "offline_s 101 is out of range: expected whole seconds from 0 to 100 (EN 54-25: "
                 "a loss of transmission is shown within 100 s of its detection)"},
                {"supervision s", "", "silent_s", "10", "9",
                 "silent_s 9 is out of range: expected whole seconds from 10 to 90000 (from 10 "
                 "s, the shortest report period the registry accepts, to 25 h, Zigbee2MQTT's "
                 "timeout for battery devices; EN 54-25 asks for 300 s)"},
                {"supervision s", "", "silent_s", "90000", "90001",
                 "silent_s 90001 is out of range: expected whole seconds from 10 to 90000 (from "
                 "10 s, the shortest report period the registry accepts, to 25 h, Zigbee2MQTT's "
                 "timeout for battery devices; EN 54-25 asks for 300 s)"},
                {"supervision s", "", "test_max_s", "60", "61",
                 "test_max_s 61 is out of range: expected whole seconds from 0 to 60 (firegate's "
                 "bound: a test press hides smoke no longer than NFPA 72's 60 s)"},
                {"heat h", "", "fixed_c", "160", "160.1",
                 "fixed_c 160.1 is out of range: expected a number from 54 to 160 (EN 54-5: "
                 "static response temperatures of classes A1 to G lie from 54 to 160 °C; the "
                 "detector's class narrows this)"},
                {"heat h", "", "fixed_c", "54", "53.9",
                 "fixed_c 53.9 is out of range: expected a number from 54 to 160 (EN 54-5: "
                 "static response temperatures of classes A1 to G lie from 54 to 160 °C; the "
                 "detector's class narrows this)"},
                {"heat h", "", "ror_k_per_min", "10", "10.5",
                 "ror_k_per_min 10.5 is out of range: expected a number from 1 to 10 (EN 54-5: R "
                 "classes must respond from a cold start at 10 K/min, the slowest test rate is 1 "
                 "K/min)"},
                {"heat h", "", "ror_min_rise_k", "10", "9.5",
                 "ror_min_rise_k 9.5 is out of range: expected a number from 10 to 55 (EN 54-5: "
                 "under 10 K a fast rise alarms before A1's lower limit (0:20 at 30 K/min), over "
                 "55 K a rise at 10 K/min misses A2-G's upper limit (5:30))"},
                {"heat h", "", "confirm_s", "60", "61",
                 "confirm_s 61 is out of range: expected whole seconds from 0 to 60 (firegate's "
                 "bound: heat is never verified (NFPA 72); a lone hot sample waits at most 60 "
                 "s)"},
                {"building", "", "reestablish_s", "20", "21",
                 "reestablish_s 21 is out of range: expected whole seconds from 0 to 20 "
                 "(vendors' figure (secondary): re-established within 20 s of a reset)"},
        };
        struct fixture *f = *state;
        char text[1024];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                unsigned line = 2;

                for (const char *c = cases[i].before; *c; c++)
                        line += *c == '\n';
                reset(f);
                snprintf(text, sizeof(text), "[%s]\n%s%s = %s\n", cases[i].section, cases[i].before,
                         cases[i].key, cases[i].ok);
                assert_loads(f, text);
                reset(f);
                snprintf(text, sizeof(text), "[%s]\n%s%s = %s\n", cases[i].section, cases[i].before,
                         cases[i].key, cases[i].past);
                assert_fails(f, text, 1);
                assert_diag(f, 0, line, cases[i].message);
        }
}

static void test_verification_delay_is_at_most_sixty_seconds_in_all(void **state)
{
        struct fixture *f = *state;

        assert_loads(f, "[smoke a]\ndependency = verification\nretard_s = 55\nreset_s = 5\n");
        reset(f);
        assert_fails(f, "[smoke a]\ndependency = verification\nreset_s = 5\nretard_s = 56\n", 1);
        assert_diag(f, 0, 4,
                    "retard_s + reset_s is 61 s in [smoke a]: at most 60 s with dependency = "
                    "verification (NFPA 72 / UL 864: the whole verification delay is at most "
                    "60 s)");
        /* With the default reset of 5 s, blamed on the key that was set. */
        reset(f);
        assert_fails(f, "[smoke a]\nretard_s = 58\ndependency = verification\n", 1);
        assert_diag(f, 0, 2,
                    "retard_s + reset_s is 63 s in [smoke a]: at most 60 s with dependency = "
                    "verification (NFPA 72 / UL 864: the whole verification delay is at most "
                    "60 s)");
}

static void test_bounds_that_depend_on_the_dependency(void **state)
{
        struct fixture *f = *state;

        assert_loads(f, "[smoke v]\ndependency = verification\nconfirm_s = 120\n"
                        "[smoke b]\ndependency = type-b\nwindow_s = 300\n"
                        "[smoke c]\ndependency = type-c\nwindow_s = 600\n");
        reset(f);
        assert_fails(f,
                     "[smoke v]\ndependency = verification\nconfirm_s = 121\n"
                     "[smoke b]\nwindow_s = 299\ndependency = type-b\n"
                     "[smoke c]\ndependency = type-c\nwindow_s = 601\n",
                     3);
        assert_diag(f, 0, 3,
                    "confirm_s 121 is out of range with dependency = verification: expected "
                    "whole seconds from 0 to 120 (NFPA 72: the confirmation window of alarm "
                    "verification is at most 120 s)");
        assert_diag(f, 1, 5,
                    "window_s 299 is out of range with dependency = type-b: expected whole "
                    "seconds from 300 to 1800 (EN 54-2: cancelled automatically after at least 5 "
                    "min)");
        assert_diag(f, 2, 9,
                    "window_s 601 is out of range with dependency = type-c: expected whole "
                    "seconds from 1 to 600 (EN 54-2 7.11: outputs are delayed at most 10 min)");
}

static void test_pas_with_a_dependency_is_an_error(void **state)
{
        struct fixture *f = *state;

        assert_fails(f, "[smoke desk]\ndependency = type-b\npas = yes\n", 1);
        assert_diag(f, 0, 3,
                    "pas = yes needs dependency = none in [smoke desk], not type-b: a positive "
                    "alarm sequence is a delay of its own (NFPA 72)");
}

static void test_keys_the_dependency_does_not_use_are_errors(void **state)
{
        struct fixture *f = *state;

        assert_fails(f,
                     "[smoke a]\n"
                     "retard_s = 20\n"
                     "window_s = 300\n"
                     "pas_ack_s = 10\n"
                     "confirm_scope = zone\n",
                     4);
        assert_diag(f, 0, 2,
                    "retard_s has no effect in [smoke a] with dependency = none; it is used "
                    "with verification");
        assert_diag(f, 1, 3,
                    "window_s has no effect in [smoke a] with dependency = none; it is used "
                    "with type-b, type-c");
        assert_diag(f, 2, 4,
                    "pas_ack_s has no effect in [smoke a] with dependency = none; it is used "
                    "with pas = yes");
        assert_diag(f, 3, 5,
                    "confirm_scope has no effect in [smoke a] with dependency = none; it is "
                    "used with type-a, type-b, type-c, pas = yes");
}

static void test_match_lists_are_checked(void **state)
{
        struct fixture *f = *state;
        char text[2048], list[1024] = "";
        int n = 0;

        check_value(f, "smoke a", "kinds", "call_point",
                    "kinds: a [smoke] rule does not apply to call_point detectors: expected any "
                    "of smoke, multi (separated by spaces)");
        check_value(f, "heat a", "kinds", "smoke",
                    "kinds: a [heat] rule does not apply to smoke detectors: expected any of "
                    "heat, multi (separated by spaces)");
        check_value(f, "supervision a", "kinds", "smoke fire",
                    "invalid kinds 'fire': expected any of smoke, heat, multi, call_point "
                    "(separated by spaces)");
        check_value(f, "supervision a", "zones", "unit Stair-A",
                    "invalid zones 'Stair-A': expected up to 16 zone ids "
                    "([a-z0-9][a-z0-9._-]{0,63}) or the words unit and common, separated by "
                    "spaces");
        check_value(f, "supervision a", "zones", "stair-a,stair-b",
                    "invalid zones 'stair-a,stair-b': expected up to 16 zone ids "
                    "([a-z0-9][a-z0-9._-]{0,63}) or the words unit and common, separated by "
                    "spaces");
        check_value(f, "supervision a", "detectors", "D-1 D/2",
                    "invalid detectors 'D/2': expected up to 16 detector ids (1 to 64 of A-Z "
                    "a-z 0-9 . _ -), separated by spaces");
        check_value(f, "supervision a", "zones", "stair-a  stair-a", "zones lists 'stair-a' twice");
        snprintf(text, sizeof(text), "z%064d", 0);
        check_value(f, "supervision a", "zones", text,
                    "invalid zones '(too long)': expected up to 16 zone ids "
                    "([a-z0-9][a-z0-9._-]{0,63}) or the words unit and common, separated by "
                    "spaces");

        /* Sixteen entries load; seventeen are refused. */
        for (int i = 0; i < RULESET_MATCH_MAX; i++)
                n += snprintf(list + n, sizeof(list) - (size_t)n, "%sD%d", i ? " " : "", i);
        check_value(f, "supervision a", "detectors", list, NULL);
        assert_int_equal(f->rs->supervision[0].match.n_detectors, RULESET_MATCH_MAX);
        snprintf(list + n, sizeof(list) - (size_t)n, " D99");
        check_value(f, "supervision a", "detectors", list,
                    "detectors lists 17 entries: at most 16");
}

static void test_output_without_follows_is_an_error(void **state)
{
        struct fixture *f = *state;

        assert_fails(f, "[output bell]\ndelay_s = 0\n[output horn]\nfollows = building\n", 1);
        assert_diag(
                f, 0, 1,
                "[output bell] needs follows = building | floor:N | unit:ID | zone:ID | each-unit");
}

static void test_syntax_errors_come_from_the_shared_reader(void **state)
{
        struct fixture *f = *state;

        assert_fails(f, "[smoke a]\ndependency: none\n[heat b\n", 2);
        assert_diag(f, 0, 2, "expected 'key = value' or '[section]'");
        assert_diag(f, 1, 3, "expected 'key = value' or '[section]'");
}

static void test_several_errors_in_one_file_are_all_reported_in_order(void **state)
{
        struct fixture *f = *state;

        assert_fails(f,
                     "[smoke units]\n"             /* 1 */
                     "dependency = verification\n" /* 2 */
                     "retard_s = 61\n"             /* 3 */
                     "confirm_s = 200\n"           /* 4 */
                     "zones = unit Common\n"       /* 5 */
                     "[heat all]\n"                /* 6 */
                     "fixed_c = 40\n"              /* 7 */
                     "ror = sometimes\n"           /* 8 */
                     "[supervision s]\n"           /* 9 */
                     "battery_low_pct = 0\n"       /* 10 */
                     "silent_factor = 11\n"        /* 11 */
                     "nonsense\n"                  /* 12 */
                     "[output bell]\n"             /* 13 */
                     "follows = everywhere\n"      /* 14 */
                     "delay_s = 700\n"             /* 15 */
                     "[fire x]\n",                 /* 16 */
                     11);
        assert_diag(f, 0, 3,
                    "retard_s 61 is out of range: expected whole seconds from 0 to 60 (NFPA 72 / "
                    "UL 864: the whole verification delay is at most 60 s)");
        assert_diag(f, 1, 5,
                    "invalid zones 'Common': expected up to 16 zone ids "
                    "([a-z0-9][a-z0-9._-]{0,63}) or the words unit and common, separated by "
                    "spaces");
        /* Checks across keys come when the section ends. */
        assert_diag(f, 2, 4,
                    "confirm_s 200 is out of range with dependency = verification: expected "
                    "whole seconds from 0 to 120 (NFPA 72: the confirmation window of alarm "
                    "verification is at most 120 s)");
        assert_diag(f, 3, 7,
                    "fixed_c 40 is out of range: expected a number from 54 to 160 (EN 54-5: "
                    "static response temperatures of classes A1 to G lie from 54 to 160 °C; the "
                    "detector's class narrows this)");
        assert_diag(f, 4, 8, "invalid ror 'sometimes': expected one of auto, no, yes");
        assert_diag(f, 5, 10,
                    "battery_low_pct 0 is out of range: expected an integer from 1 to 99");
        assert_diag(f, 6, 11, "silent_factor 11 is out of range: expected a number from 1 to 10");
        assert_diag(f, 7, 12, "expected 'key = value' or '[section]'");
        assert_diag(f, 8, 14,
                    "invalid follows 'everywhere': expected building, floor:N (-20 to 200, not "
                    "0), unit:ID, zone:ID or each-unit");
        assert_diag(f, 9, 15,
                    "delay_s 700 is out of range: expected whole seconds from 0 to 600 (EN 54-2 "
                    "7.11: delays to outputs are at most 10 min)");
        assert_diag(f, 10, 16,
                    "unknown section [fire x]: expected [smoke NAME], [heat NAME], "
                    "[supervision NAME], [output NAME] or [building]");
}

static void test_file_with_errors_leaves_the_ruleset_unchanged(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(load_named(f, "good.rules", "[smoke a]\n[building]\nreestablish_s = 3\n"),
                         0);
        assert_int_equal(load_named(f, "bad.rules",
                                    "[smoke b]\n[heat c]\n[output d]\nfollows = building\n"
                                    "[supervision e]\nsilent_s = 1\n"),
                         -EINVAL);
        assert_int_equal(f->rs->n_smoke, 1);
        assert_string_equal(f->rs->smoke[0].name, "a");
        assert_int_equal(f->rs->n_heat + f->rs->n_supervision + f->rs->n_outputs, 0);
        assert_int_equal(f->rs->building.reestablish_ms, 3000);
}

static void test_missing_file_reports_cannot_read(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX], want[PATH_MAX + 64];

        snprintf(path, sizeof(path), "%s/absent.rules", f->dir);
        assert_int_equal(ruleset_load_file(f->rs, path, f->d), -ENOENT);
        snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
        assert_int_equal(diag_count(f->d), 1);
        assert_string_equal(diag_get(f->d, 0), want);
}

/* ---- directories ---------------------------------------------------------------------------- */

static void test_directory_is_read_in_name_order_rules_files_only(void **state)
{
        struct fixture *f = *state;
        char *sub = tu_path(f->dir, "rules.d"), *p;

        assert_int_equal(mkdir(sub, 0700), 0);
        p = tu_path(sub, "20-b.rules");
        tu_write(p, "[output second]\nfollows = building\n", 0);
        free(p);
        p = tu_path(sub, "10-a.rules");
        tu_write(p, "[output first]\nfollows = floor:2\n", 0);
        free(p);
        p = tu_path(sub, "B-upper.rules"); /* byte order, whatever the locale: after digits */
        tu_write(p, "[output third]\nfollows = unit:0101\n", 0);
        free(p);
        p = tu_path(sub, "notes.txt");
        tu_write(p, "not a rule file\n", 0);
        free(p);
        p = tu_path(sub, ".hidden.rules");
        tu_write(p, "garbage\n", 0);
        free(p);
        p = tu_path(sub, "30-c.rules~");
        tu_write(p, "garbage\n", 0);
        free(p);

        assert_int_equal(ruleset_load_dir(f->rs, sub, f->d), 0);
        assert_int_equal(diag_count(f->d), 0);
        assert_int_equal(f->rs->n_outputs, 3);
        assert_string_equal(f->rs->outputs[0].name, "first");
        assert_string_equal(f->rs->outputs[1].name, "second");
        assert_string_equal(f->rs->outputs[2].name, "third");
        assert_non_null(strstr(f->rs->outputs[0].file, "/rules.d/10-a.rules"));
        free(sub);
}

static void test_errors_in_several_files_of_a_directory_are_all_reported(void **state)
{
        struct fixture *f = *state;
        char *sub = tu_path(f->dir, "rules.d"), *a, *b, want[PATH_MAX + 128];

        assert_int_equal(mkdir(sub, 0700), 0);
        a = tu_path(sub, "a.rules");
        b = tu_path(sub, "b.rules");
        tu_write(a, "[smoke x]\ndependency = maybe\n", 0);
        tu_write(b, "\n[heat y]\nconfirm_s = 61\n", 0);
        assert_int_equal(ruleset_load_dir(f->rs, sub, f->d), -EINVAL);
        assert_int_equal(diag_count(f->d), 2);
        snprintf(want, sizeof(want),
                 "%s:2: invalid dependency 'maybe': expected one of none, verification, type-a, "
                 "type-b, type-c",
                 a);
        assert_string_equal(diag_get(f->d, 0), want);
        snprintf(want, sizeof(want), "%s:3: confirm_s 61 is out of range: ", b);
        assert_memory_equal(diag_get(f->d, 1), want, strlen(want));
        free(a);
        free(b);
        free(sub);
}

static void test_missing_directory_is_an_error_that_says_so(void **state)
{
        struct fixture *f = *state;
        char *sub = tu_path(f->dir, "no-such-dir"), want[PATH_MAX + 128];

        assert_int_equal(ruleset_load_dir(f->rs, sub, f->d), -ENOENT);
        snprintf(want, sizeof(want),
                 "%s: cannot read the rules directory: No such file or directory", sub);
        assert_int_equal(diag_count(f->d), 1);
        assert_string_equal(diag_get(f->d, 0), want);
        free(sub);
}

/* ---- matching ------------------------------------------------------------------------------ */

static void test_empty_match_selects_every_detector(void **state)
{
        struct ruleset_match m;

        (void)state;
        memset(&m, 0, sizeof(m));
        assert_true(ruleset_match(&m, RULESET_KIND_SMOKE, NULL, false, "D-1"));
        assert_true(ruleset_match(&m, RULESET_KIND_CALL_POINT, "stair-a", true, NULL));
}

static void test_match_lists_combine_with_and_entries_with_or(void **state)
{
        struct fixture *f = *state;
        const struct ruleset_match *m;

        assert_loads(f, "[supervision s]\nkinds = smoke heat\nzones = stair-a car-park\n"
                        "detectors = D-1 D-2\n");
        m = &f->rs->supervision[0].match;
        assert_true(ruleset_match(m, RULESET_KIND_SMOKE, "stair-a", false, "D-1"));
        assert_true(ruleset_match(m, RULESET_KIND_HEAT, "car-park", false, "D-2"));
        assert_false(ruleset_match(m, RULESET_KIND_MULTI, "stair-a", false, "D-1"));
        assert_false(ruleset_match(m, RULESET_KIND_SMOKE, "stair-b", false, "D-1"));
        assert_false(ruleset_match(m, RULESET_KIND_SMOKE, NULL, false, "D-1"));
        assert_false(ruleset_match(m, RULESET_KIND_SMOKE, "stair-a", false, "D-3"));
        assert_false(ruleset_match(m, RULESET_KIND_SMOKE, "stair-a", false, NULL));
}

static void test_unit_and_common_match_by_whether_a_detector_is_in_a_unit(void **state)
{
        struct fixture *f = *state;

        assert_loads(f, "[supervision u]\nzones = unit\n"
                        "[supervision c]\nzones = common\n"
                        "[supervision uz]\nzones = unit stair-a\n");
        assert_true(
                ruleset_match(&f->rs->supervision[0].match, RULESET_KIND_SMOKE, NULL, true, "D"));
        assert_false(ruleset_match(&f->rs->supervision[0].match, RULESET_KIND_SMOKE, "stair-a",
                                   false, "D"));
        assert_true(ruleset_match(&f->rs->supervision[1].match, RULESET_KIND_SMOKE, "stair-a",
                                  false, "D"));
        assert_false(
                ruleset_match(&f->rs->supervision[1].match, RULESET_KIND_SMOKE, NULL, true, "D"));
        assert_true(ruleset_match(&f->rs->supervision[2].match, RULESET_KIND_SMOKE, "stair-a",
                                  false, "D"));
        assert_true(
                ruleset_match(&f->rs->supervision[2].match, RULESET_KIND_SMOKE, NULL, true, "D"));
        assert_false(ruleset_match(&f->rs->supervision[2].match, RULESET_KIND_SMOKE, "lobby", false,
                                   "D"));
}

/* ---- the shipped rules --------------------------------------------------------------------- */

/* A rule the test cannot do without: aborts rather than let a NULL through, which also tells the
 * compiler what cmocka's assert_non_null() cannot. */
static const struct ruleset_smoke *must(const struct ruleset_smoke *s)
{
        if (!s) {
                print_error("expected a smoke rule, found none\n");
                abort();
        }
        return s;
}

static const struct ruleset_smoke *first_smoke(const struct ruleset *rs, unsigned kind,
                                               const char *zone, bool in_unit)
{
        for (size_t i = 0; i < rs->n_smoke; i++)
                if (ruleset_match(&rs->smoke[i].match, kind, zone, in_unit, "D-1"))
                        return &rs->smoke[i];
        return NULL;
}

static void test_default_rules_load_clean_and_follow_the_standards(void **state)
{
        struct fixture *f = *state;
        const char *source = getenv("FIREGATE_SOURCE_DIR");
        const struct ruleset_smoke *s;
        char dir[PATH_MAX];
        const char *slash;
        int r;

        if (source && *source) {
                snprintf(dir, sizeof(dir), "%s/rules", source);
        } else {
                /* tests/unit/test_ruleset.c -> rules/ */
                slash = strstr(__FILE__, "tests/unit/");
                if (!slash)
                        fail_msg("set FIREGATE_SOURCE_DIR to the source tree");
                snprintf(dir, sizeof(dir), "%.*srules", (int)(slash - __FILE__), __FILE__);
        }
        r = ruleset_load_dir(f->rs, dir, f->d);
        if (r != 0 || diag_count(f->d) != 0) {
                diag_print(f->d, stderr, "  rules: ");
                fail_msg("%s: ruleset_load_dir() returned %d", dir, r);
        }

        /* Smoke in a flat: NFPA 72 verification, 20 + 5 s, 120 s, rescue units skip it. */
        s = must(first_smoke(f->rs, RULESET_KIND_SMOKE, NULL, true));
        assert_int_equal(s->dependency, RULESET_DEP_VERIFICATION);
        assert_int_equal(s->retard_ms, 20000);
        assert_int_equal(s->reset_ms, 5000);
        assert_int_equal(s->confirm_ms, 120000);
        assert_true(s->vulnerable_skip);
        assert_false(s->pas);
        assert_true(first_smoke(f->rs, RULESET_KIND_MULTI, "x", true) == s);
        /* Smoke in common areas: alarm at once. */
        s = must(first_smoke(f->rs, RULESET_KIND_SMOKE, "stair-a", false));
        assert_int_equal(s->dependency, RULESET_DEP_NONE);
        /* No smoke rule reaches a call point or a heat detector. */
        assert_null(first_smoke(f->rs, RULESET_KIND_CALL_POINT, NULL, true));
        assert_null(first_smoke(f->rs, RULESET_KIND_HEAT, NULL, false));

        assert_int_equal(f->rs->n_heat, 1);
        assert_true(isnan(f->rs->heat[0].fixed_c));
        assert_int_equal(f->rs->heat[0].ror, RULESET_ROR_BY_CLASS);
        assert_int_equal(f->rs->n_supervision, 1);
        assert_int_equal(f->rs->supervision[0].silent_default_ms, 300000);
        assert_int_equal(f->rs->n_outputs, 1);
        assert_string_equal(f->rs->outputs[0].follows, "building");
        assert_int_equal(f->rs->outputs[0].delay_ms, 0);
        assert_true(f->rs->outputs[0].silenceable);
        assert_false(f->rs->outputs[0].confirm);
        assert_int_equal(f->rs->building.reestablish_ms, 10000);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_smoke_defaults_are_the_documented_values),
                cmocka_unit_test(test_heat_defaults_are_the_documented_values),
                cmocka_unit_test(test_supervision_defaults_are_the_documented_values),
                cmocka_unit_test(test_new_ruleset_has_no_rules_and_the_building_defaults),
                cmocka_unit_test(test_dependency_names_are_the_file_words),
                T(test_empty_file_adds_no_rules),
                T(test_smoke_keys_are_read_and_seconds_kept_in_ms),
                T(test_type_a_confirm_defaults_to_thirty_minutes),
                T(test_type_b_c_and_pas_keys_are_read),
                T(test_heat_supervision_output_and_building_keys_are_read),
                T(test_booleans_take_every_documented_spelling),
                T(test_follows_takes_building_floor_unit_and_zone),
                T(test_longest_ids_fit),
                T(test_unknown_section_kind_is_reported_with_a_hint),
                T(test_section_names_are_checked),
                T(test_unknown_key_is_reported_with_a_hint_or_its_section),
                T(test_key_before_any_section_is_reported),
                T(test_duplicate_rule_names_both_places),
                T(test_second_building_section_is_reported),
                T(test_duplicate_key_names_both_lines),
                T(test_bad_numbers_are_reported_with_what_is_expected),
                T(test_empty_value_is_an_error),
                T(test_enum_values_are_checked),
                T(test_bounds_accept_the_limit_and_refuse_one_past_it),
                T(test_verification_delay_is_at_most_sixty_seconds_in_all),
                T(test_bounds_that_depend_on_the_dependency),
                T(test_pas_with_a_dependency_is_an_error),
                T(test_keys_the_dependency_does_not_use_are_errors),
                T(test_match_lists_are_checked),
                T(test_output_without_follows_is_an_error),
                T(test_syntax_errors_come_from_the_shared_reader),
                T(test_several_errors_in_one_file_are_all_reported_in_order),
                T(test_file_with_errors_leaves_the_ruleset_unchanged),
                T(test_missing_file_reports_cannot_read),
                T(test_directory_is_read_in_name_order_rules_files_only),
                T(test_errors_in_several_files_of_a_directory_are_all_reported),
                T(test_missing_directory_is_an_error_that_says_so),
                cmocka_unit_test(test_empty_match_selects_every_detector),
                T(test_match_lists_combine_with_and_entries_with_or),
                T(test_unit_and_common_match_by_whether_a_detector_is_in_a_unit),
                T(test_default_rules_load_clean_and_follow_the_standards),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
