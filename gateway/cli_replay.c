/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_replay: `firegate replay FILE`. Runs the rules engine, with the configured rules (or
 * --rules) and the stored registry (or a bundle checked as import checks it), over a file of
 * timed readings and commands on a virtual clock, and prints every decision as a JSON line
 * (replay.h formats both). Installers use it to try rule files; fire police to reconstruct a
 * night from logged readings.
 *
 * Nothing is written anywhere: the store is opened read-only and closed once the registry is
 * copied out; a bundle's identity numbers are hashed with a random secret that lives only in
 * memory, since replay never matches a resident. A malformed line is named by file and line
 * and skipped, never fatal: one garbled line in a night's log must not hide the rest.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "cli.h"
#include "engine_view.h"
#include "identity.h"
#include "log.h"
#include "replay.h"

struct replay_options {
        const char *input; /* a file, or "-" for standard input */
        const char *bundle;
        const char *rules_dir;
        bool allow_unsigned;
        bool notices;
        bool have_until;
        engine_time until;
};

struct replay_run {
        const struct replay_options *opt;
        const char *name; /* the input as messages name it */
        struct ruleset *rules;
        struct engine_view *view;
        struct engine *engine;
        size_t lines, readings, commands, skipped, decisions;
        bool output_failed;
};

static void replay_usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] replay [--bundle BUNDLE [--allow-unsigned]]\n"
                "                [--rules DIR] [--until MS] [--notices json|none] FILE\n\n"
                "Runs the alarm rules over FILE, timed readings and commands as JSON lines (t in\n"
                "milliseconds from the start; - reads standard input), on a virtual clock that\n"
                "fires every deadline in between, and prints each decision as a JSON line.\n"
                "Nothing is written: not the store, not any file. The registry is the stored\n"
                "one unless --bundle names one. Both line formats: docs/replay.md.\n\n"
                "  --bundle BUNDLE       take the registry from BUNDLE, checked as import checks\n"
                "                        it, instead of the store\n"
                "  --allow-unsigned      with --bundle: keep unsigned records, as UNVERIFIED\n"
                "  --rules DIR           the rule files (default: the config's [rules] dir)\n"
                "  --until MS            after the last line, run the clock on to MS\n"
                "  --notices json|none   print a JSON notice line for each detector that does\n"
                "                        not meet EN 54-25 before the decisions (json, the\n"
                "                        default), or none\n"
                "  -h, --help            show this help\n\n"
                "A malformed line is reported as FILE:LINE on standard error and skipped.\n"
                "Exit status 0 when FILE was replayed (even with skipped lines), 2 for a usage\n"
                "error, 3 when the rules or the bundle are refused, 1 for a runtime failure.\n");
}

static int current_year(void)
{
        time_t now = time(NULL);
        struct tm tm;

        if (!gmtime_r(&now, &tm))
                return 1970;
        return tm.tm_year + 1900;
}

/* --- setup --- */

static int load_rules(struct cli *cli, struct replay_run *run)
{
        const char *dir = run->opt->rules_dir ? run->opt->rules_dir : cli->config->rules_dir;
        struct diag *d = diag_new();
        int r;

        run->rules = ruleset_new();
        if (!d || !run->rules) {
                diag_free(d);
                log_error("out of memory");
                return CLI_EXIT_FAILURE;
        }
        r = ruleset_load_dir(run->rules, dir, d);
        diag_log(d, LOG_ERR);
        diag_free(d);
        if (r == -EINVAL) {
                log_error("%s: the rules have errors; nothing was replayed", dir);
                return CLI_EXIT_REFUSED;
        }
        return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

/* The bundle is checked exactly as import checks it, with the configured authority key; only
 * the identity secret differs, because no hash made here is ever compared or kept. */
static int registry_from_bundle(struct cli *cli, struct replay_run *run)
{
        uint8_t secret[IDENTITY_SECRET_LEN];
        struct diag *d = diag_new(), *warnings = diag_new();
        struct crypto_key *key = NULL;
        struct bundle *b = NULL;
        struct bundle_options opt;
        int r, ret;

        if (!d || !warnings) {
                log_error("out of memory");
                ret = CLI_EXIT_FAILURE;
                goto out_free;
        }
        ret = cli_authority_key(cli, &key);
        if (ret != CLI_EXIT_OK)
                goto out_free;
        r = crypto_random(secret, sizeof(secret));
        if (r < 0) {
                log_error_errno(r, "cannot make a secret for the bundle's identity hashes");
                ret = CLI_EXIT_FAILURE;
                goto out_free;
        }
        opt = (struct bundle_options){
                .authority = key,
                .location_id_pattern = cli->config->location_id_pattern,
                .allow_unsigned = run->opt->allow_unsigned,
                .current_year = current_year(),
                .identity_secret = secret,
                .max_bytes = (size_t)cli->config->bundle_max_bytes,
                .warnings = warnings,
        };
        r = bundle_load(run->opt->bundle, &opt, d, &b);
        explicit_bzero(secret, sizeof(secret));
        diag_log(warnings, LOG_WARNING);
        diag_log(d, LOG_ERR);
        if (r == -EBADMSG || r == -EFBIG) {
                log_error("%s: refused (%zu problem%s); nothing was replayed", run->opt->bundle,
                          diag_count(d), diag_count(d) == 1 ? "" : "s");
                ret = CLI_EXIT_REFUSED;
                goto out_free;
        }
        if (r < 0) {
                ret = CLI_EXIT_FAILURE;
                goto out_free;
        }
        r = engine_view_from_records(bundle_records(b), &run->view);
        if (r < 0) {
                log_error_errno(r, "%s: cannot build the registry view", run->opt->bundle);
                ret = CLI_EXIT_FAILURE;
        }
out_free:
        bundle_free(b);
        crypto_key_free(key);
        diag_free(warnings);
        diag_free(d);
        return ret;
}

static int registry_from_store(struct cli *cli, struct replay_run *run)
{
        struct store *s = NULL;
        int r, ret;

        ret = cli_open_store(cli, STORE_READ_ONLY, &s);
        if (ret != CLI_EXIT_OK)
                return ret;
        r = engine_view_from_store(s, &run->view);
        if (r == -ENOMEM)
                log_error("out of memory");
        store_free(s);
        return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

static int cmp_detector_id(const void *a, const void *b)
{
        return strcmp(((const struct engine_detector_info *)a)->id,
                      ((const struct engine_detector_info *)b)->id);
}

static int cmp_zone_id(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The engine fires deadlines due at one moment in registry order. The store lists detectors by
 * id, a bundle in whatever order its author wrote: in id order both give the same replay, and
 * the same order as the daemon, which reads the store. */
static void sort_view(struct engine_view *v)
{
        qsort(v->detectors, v->n_detectors, sizeof(*v->detectors), cmp_detector_id);
        qsort(v->zones, v->n_zones, sizeof(*v->zones), cmp_zone_id);
}

static void on_decision(void *ctx, const struct engine_decision *d)
{
        struct replay_run *run = ctx;
        char *line = NULL;

        run->decisions++;
        /* A decision that cannot be printed must not pass unnoticed: the run then fails. */
        if (replay_format_decision(d, &line) < 0 || puts(line) == EOF)
                run->output_failed = true;
        free(line);
}

static int start_engine(struct replay_run *run)
{
        const struct engine_setup setup = {
                .detectors = run->view->detectors,
                .n_detectors = run->view->n_detectors,
                .units = run->view->units,
                .n_units = run->view->n_units,
                .zones = run->view->zones,
                .n_zones = run->view->n_zones,
                .rules = run->rules,
                .start = 0,
                .emit = on_decision,
                .emit_ctx = run,
        };
        struct diag *d = diag_new();
        int r;

        if (!d) {
                log_error("out of memory");
                return CLI_EXIT_FAILURE;
        }
        r = engine_new(&setup, d, &run->engine);
        /* On success what it says are warnings (a record it had to read leniently), each
         * marked as such. */
        diag_log(d, r < 0 ? LOG_ERR : LOG_NOTICE);
        diag_free(d);
        if (r == -EINVAL) {
                log_error("the registry and the rules do not fit together; nothing was replayed");
                return CLI_EXIT_REFUSED;
        }
        if (r < 0) {
                log_error_errno(r, "cannot start the rules engine");
                return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
}

/* One notice per registry detector that does not meet EN 54-25, before the first event. The
 * engine says whether a detector meets it; the registry says what the detector declared. */
static void print_notices(struct replay_run *run)
{
        char cause[256], *line;

        for (size_t i = 0; i < run->view->n_detectors; i++) {
                const struct engine_detector_info *info = &run->view->detectors[i];
                long idx = engine_detector_find(run->engine, info->id);

                if (idx < 0 || engine_detector_meets_en54_25(run->engine, (size_t)idx))
                        continue;
                /* EN 54-25: a lost radio component is seen within 300 s. */
                if (info->report_period_s > 300)
                        snprintf(cause, sizeof(cause),
                                 "declares a report period of %d s, over the 300 s within which "
                                 "EN 54-25 wants a lost radio detector seen",
                                 info->report_period_s);
                else if (info->report_period_s > 0)
                        snprintf(cause, sizeof(cause),
                                 "declares a report period of %d s; times its rule's "
                                 "silent_factor, that is over the 300 s within which EN 54-25 "
                                 "wants a lost radio detector seen",
                                 info->report_period_s);
                else
                        snprintf(cause, sizeof(cause),
                                 "declares no report period, and its rule's silent_s is over the "
                                 "300 s within which EN 54-25 wants a lost radio detector seen");
                line = NULL;
                if (replay_format_notice(0, "en54-25", info->id, cause, &line) < 0 ||
                    puts(line) == EOF)
                        run->output_failed = true;
                free(line);
        }
}

/* --- the input --- */

static void skip_line(struct replay_run *run, unsigned lineno, const char *why)
{
        run->skipped++;
        log_warning("%s:%u: %s; line skipped", run->name, lineno, why);
}

/* Whether @target names something a command can act on. Asked before the command, because
 * engine_command() moves the clock before it finds out that the target is unknown. */
static bool target_known(const struct engine *e, const char *target)
{
        enum engine_state st;

        return engine_zone_state(e, target, &st) == 0 || engine_detector_find(e, target) >= 0;
}

static bool run_command(struct replay_run *run, const struct replay_event *ev, unsigned lineno)
{
        const char *target = ev->target[0] ? ev->target : "building";
        const struct engine_command c = {
                .kind = ev->command,
                .target = target,
                .who = ev->who[0] ? ev->who : NULL,
                .time = ev->t,
        };
        char why[REPLAY_WHY_MAX];
        int r = -ENOENT;

        if (target_known(run->engine, target))
                r = engine_command(run->engine, &c);
        if (r == -ENOENT) {
                snprintf(why, sizeof(why),
                         "unknown target '%s': neither a zone of this building (building, "
                         "floor:N, unit:ID, zone:ID) nor a detector",
                         target);
                skip_line(run, lineno, why);
                return false;
        }
        if (r == -EALREADY) {
                /* Taken, and said: a reset of a quiet building is worth seeing in a
                 * reconstruction, though it decides nothing. */
                log_notice("%s:%u: nothing to %s in %s", run->name, lineno,
                           replay_command_name(ev->command), target);
        } else if (r < 0) {
                snprintf(why, sizeof(why), "the engine refused the command: %s", strerror(-r));
                skip_line(run, lineno, why);
                return false;
        }
        run->commands++;
        return true;
}

/* Returns 0, or -ENOMEM: a line lost to memory is not a malformed line, and a reconstruction
 * that silently misses it must not pass for complete. */
static int run_line(struct replay_run *run, const char *line, size_t len, unsigned lineno,
                    engine_time *last_t)
{
        char why[REPLAY_WHY_MAX];
        struct replay_event ev;
        struct engine_reading r;
        long idx;
        int q;

        q = replay_parse_line(line, len, *last_t, &ev, why, sizeof(why));
        if (q == -ENOMEM)
                return log_error_errno(q, "%s:%u: cannot parse the line", run->name, lineno);
        if (q < 0) {
                skip_line(run, lineno, why);
                return 0;
        }
        switch (ev.kind) {
        case REPLAY_SKIP:
                return 0;
        case REPLAY_READING:
                idx = engine_detector_find(run->engine, ev.detector);
                r = (struct engine_reading){
                        /* An unknown detector still gets a slot: its alarms are raised, marked. */
                        .detector = idx >= 0 ? (size_t)idx
                                             : engine_detector_unknown(run->engine, ev.detector),
                        .kind = ev.reading,
                        .value = ev.value,
                        .flags = ev.flags,
                        .time = ev.t,
                };
                engine_reading(run->engine, &r);
                run->readings++;
                break;
        case REPLAY_COMMAND:
                if (!run_command(run, &ev, lineno))
                        return 0;
                break;
        case REPLAY_TICK:
                engine_tick(run->engine, ev.t);
                break;
        }
        *last_t = ev.t;
        return 0;
}

static int replay_input(struct replay_run *run, FILE *in)
{
        engine_time last_t = -1, end;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (run->opt->notices)
                print_notices(run);
        while ((n = getline(&line, &cap, in)) >= 0) {
                size_t len = (size_t)n;

                run->lines++;
                if (len > 0 && line[len - 1] == '\n')
                        len--;
                if (run_line(run, line, len,
                             run->lines > UINT_MAX ? UINT_MAX : (unsigned)run->lines,
                             &last_t) < 0) {
                        free(line);
                        return CLI_EXIT_FAILURE;
                }
        }
        free(line);
        if (ferror(in)) {
                log_error("%s: cannot read: %s", run->name, strerror(errno));
                return CLI_EXIT_FAILURE;
        }
        end = run->opt->have_until && run->opt->until > last_t ? run->opt->until : last_t;
        if (end >= 0)
                engine_tick(run->engine, end);
        log_notice("%zu lines, %zu readings, %zu commands, %zu skipped, %zu decisions", run->lines,
                   run->readings, run->commands, run->skipped, run->decisions);
        return CLI_EXIT_OK;
}

static int do_replay(struct cli *cli, const struct replay_options *opt)
{
        struct replay_run run = {.opt = opt};
        bool from_stdin = strcmp(opt->input, "-") == 0;
        FILE *in = NULL;
        int ret;

        run.name = from_stdin ? "<stdin>" : opt->input;
        ret = cli_config(cli);
        if (ret != CLI_EXIT_OK)
                return ret;
        ret = load_rules(cli, &run);
        if (ret == CLI_EXIT_OK)
                ret = opt->bundle ? registry_from_bundle(cli, &run)
                                  : registry_from_store(cli, &run);
        if (ret == CLI_EXIT_OK) {
                sort_view(run.view);
                ret = start_engine(&run);
        }
        if (ret != CLI_EXIT_OK)
                goto out_free;
        in = from_stdin ? stdin : fopen(opt->input, "re");
        if (!in) {
                log_error_errno(-errno, "%s: cannot open", opt->input);
                ret = CLI_EXIT_FAILURE;
                goto out_free;
        }
        ret = replay_input(&run, in);
        if (fflush(stdout) == EOF || ferror(stdout) || run.output_failed) {
                log_error("cannot format or write the decisions on standard output");
                ret = CLI_EXIT_FAILURE;
        }
        if (!from_stdin)
                fclose(in);
out_free:
        engine_free(run.engine);
        engine_view_free(run.view);
        ruleset_free(run.rules);
        return ret;
}

static int parse_until(const char *s, engine_time *out)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < 0 || v > REPLAY_T_MAX)
                return cli_usage_error("replay",
                                       "--until expects milliseconds from the start (0 to %lld), "
                                       "not '%s'",
                                       REPLAY_T_MAX, s);
        *out = (engine_time)v;
        return CLI_EXIT_OK;
}

int cmd_replay(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"bundle", required_argument, NULL, 'b'},
                {"allow-unsigned", no_argument, NULL, 'u'},
                {"rules", required_argument, NULL, 'r'},
                {"until", required_argument, NULL, 't'},
                {"notices", required_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct replay_options opt = {.notices = true};
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'b':
                        opt.bundle = optarg;
                        break;
                case 'u':
                        opt.allow_unsigned = true;
                        break;
                case 'r':
                        opt.rules_dir = optarg;
                        break;
                case 't':
                        r = parse_until(optarg, &opt.until);
                        if (r != CLI_EXIT_OK)
                                return r;
                        opt.have_until = true;
                        break;
                case 'n':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "none") != 0)
                                return cli_usage_error("replay", "--notices must be json or none");
                        opt.notices = strcmp(optarg, "json") == 0;
                        break;
                case 'h':
                        replay_usage(stdout);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("replay", "unknown option or missing argument");
                }
        }
        if (opt.allow_unsigned && !opt.bundle)
                return cli_usage_error("replay", "--allow-unsigned needs --bundle");
        if (optind + 1 != argc)
                return cli_usage_error("replay", "expected exactly one FILE (- for standard "
                                                 "input)");
        opt.input = argv[optind];
        return do_replay(cli, &opt);
}
