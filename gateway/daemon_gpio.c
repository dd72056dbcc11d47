/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_gpio: the daemon's wired side. The registry's GPIO detectors become debounced inputs
 * whose changes are engine readings, taking the same path as the broker's (engine, incidents,
 * outbox); the config's [relay NAME] sections become output lines that follow the rules'
 * outputs. GPIO is opened only when the building has wired detectors or relays, so a gateway
 * without them never touches /dev/gpiochip*.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon_internal.h"
#include "gpio.h"
#include "log.h"

struct wired {
        size_t detector; /* engine index */
        enum engine_reading_kind alarm_kind;
        bool unavailable; /* a line of it could not be requested: in fault for good */
};

static enum gpio_bias bias_of(const char *name)
{
        if (!name)
                return GPIO_BIAS_AS_IS;
        if (strcmp(name, "pull-up") == 0)
                return GPIO_BIAS_PULL_UP;
        if (strcmp(name, "pull-down") == 0)
                return GPIO_BIAS_PULL_DOWN;
        if (strcmp(name, "disabled") == 0)
                return GPIO_BIAS_DISABLED;
        return GPIO_BIAS_AS_IS;
}

/* A wired contact says "alarm" in the words of its detector's kind. */
static enum engine_reading_kind alarm_kind_of(const char *kind)
{
        if (kind && strcmp(kind, "call_point") == 0)
                return ENGINE_READING_CALL_POINT;
        if (kind && strcmp(kind, "heat") == 0)
                return ENGINE_READING_HEAT_ALARM;
        return ENGINE_READING_SMOKE;
}

static const char *signal_text(enum gpio_signal signal, bool active)
{
        switch (signal) {
        case GPIO_SIGNAL_ALARM:
                return active ? "loop active (alarm contact)" : "loop normal";
        case GPIO_SIGNAL_FAULT:
                return active ? "fault line active" : "fault line normal";
        case GPIO_SIGNAL_UNAVAILABLE:
                return "line unavailable";
        }
        return "?";
}

static void on_input(void *ctx, size_t input, enum gpio_signal signal, bool active,
                     uint64_t edge_ns)
{
        struct daemon *d = ctx;
        struct wired *w = &d->wired[input];
        struct engine_reading r = {.detector = w->detector, .time = daemon_engine_now(d)};

        switch (signal) {
        case GPIO_SIGNAL_ALARM:
                r.kind = w->alarm_kind;
                r.value = active;
                break;
        case GPIO_SIGNAL_FAULT:
                r.kind = ENGINE_READING_DEVICE_FAULT;
                r.value = active || w->unavailable;
                break;
        case GPIO_SIGNAL_UNAVAILABLE:
                w->unavailable = true;
                r.kind = ENGINE_READING_DEVICE_FAULT;
                r.value = 1;
                break;
        }
        if (w->detector < engine_detector_count(d->engine))
                d->counts[w->detector].readings++;
        engine_reading(d->engine, &r);
        daemon_arm_deadline(d);
        /* Said after the engine has decided and the incident is committed: the delay is what
         * an installer checks the wiring and debounce time with. */
        if (edge_ns) {
                struct timespec ts;

                clock_gettime(CLOCK_MONOTONIC, &ts);
                log_info("%s: %s, %.1f ms after the edge (debounce included)",
                         engine_detector_id(d->engine, w->detector), signal_text(signal, active),
                         (double)((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec -
                                  edge_ns) /
                                 1e6);
        }
}

/* The registry's wired detectors, as gpio inputs. The strings live in the statement's rows,
 * so they are copied into @owned. */
static int load_inputs(struct daemon *d, struct gpio_input_spec **specs, size_t *n, char ***owned,
                       size_t *n_owned)
{
        sqlite3_stmt *st = NULL;
        size_t cap = 0;
        int r = 0, rc;

        *specs = NULL;
        *n = 0;
        if (sqlite3_prepare_v2(store_db(d->store),
                               "SELECT detector_id, gpio_chip, gpio_line, gpio_active_low, "
                               "gpio_bias, coalesce(gpio_debounce_ms, 50), "
                               "coalesce(gpio_fault_line, -1), kind FROM detector WHERE source = "
                               "'gpio' ORDER BY detector_id",
                               -1, &st, NULL) != SQLITE_OK)
                return store_error(d->store, "reading the wired detectors");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *id = (const char *)sqlite3_column_text(st, 0);
                long idx = engine_detector_find(d->engine, id);
                struct gpio_input_spec *s;
                char *id_copy, *chip_copy;

                if (idx < 0)
                        continue;
                if (*n == cap) {
                        size_t want = cap ? 2 * cap : 16;
                        void *a = realloc(*specs, want * sizeof(**specs)),
                             *b = a ? realloc(d->wired, want * sizeof(*d->wired)) : NULL,
                             *c = b ? realloc(*owned, 2 * want * sizeof(**owned)) : NULL;

                        if (a)
                                *specs = a;
                        if (b)
                                d->wired = b;
                        if (c)
                                *owned = c;
                        if (!a || !b || !c) {
                                r = -ENOMEM;
                                break;
                        }
                        cap = want;
                }
                id_copy = strdup(id);
                chip_copy = strdup((const char *)sqlite3_column_text(st, 1));
                if (!id_copy || !chip_copy) {
                        free(id_copy);
                        free(chip_copy);
                        r = -ENOMEM;
                        break;
                }
                (*owned)[(*n_owned)++] = id_copy;
                (*owned)[(*n_owned)++] = chip_copy;
                s = &(*specs)[*n];
                *s = (struct gpio_input_spec){
                        .id = id_copy,
                        .chip = chip_copy,
                        .line = (unsigned)sqlite3_column_int(st, 2),
                        .active_low = sqlite3_column_int(st, 3) != 0,
                        .bias = bias_of((const char *)sqlite3_column_text(st, 4)),
                        .debounce_ms = (unsigned)sqlite3_column_int(st, 5),
                        .fault_line = sqlite3_column_int(st, 6),
                };
                d->wired[*n] = (struct wired){
                        .detector = (size_t)idx,
                        .alarm_kind = alarm_kind_of((const char *)sqlite3_column_text(st, 7)),
                };
                (*n)++;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = store_error(d->store, "reading the wired detectors");
        sqlite3_finalize(st);
        return r;
}

int daemon_gpio_start(struct daemon *d)
{
        struct gpio_input_spec *inputs = NULL;
        struct gpio_output_spec *outputs = NULL;
        char **owned = NULL;
        size_t n_inputs = 0, n_owned = 0;
        int r;

        r = load_inputs(d, &inputs, &n_inputs, &owned, &n_owned);
        if (r < 0)
                goto out;
        if (!n_inputs && !d->config->n_relays)
                goto out;
        outputs = calloc(d->config->n_relays + 1, sizeof(*outputs));
        if (!outputs) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < d->config->n_relays; i++) {
                const struct config_relay *relay = &d->config->relays[i];
                bool on;

                outputs[i] = (struct gpio_output_spec){
                        .name = relay->head.name,
                        .chip = relay->chip,
                        .line = (unsigned)relay->line,
                        .active_low = relay->active_low,
                        .safe_state = relay->safe_state,
                };
                if (engine_output_state(d->engine, relay->output, &on) == -ENOENT)
                        log_error("relay %s follows output %s, which the rules do not have: it "
                                  "stays in its safe state",
                                  relay->head.name, relay->output);
        }
        r = gpio_new(d->event, &gpio_backend_v1, "firegate", inputs, n_inputs, outputs,
                     d->config->n_relays, on_input, d, &d->gpio);
        if (r == 0)
                log_info("wired: %zu detectors and %zu relays on GPIO (%s)", n_inputs,
                         d->config->n_relays, gpio_backend_v1.name);
        /* Alarms restored from before a restart drive the relays again at once. */
        for (size_t i = 0; r == 0 && i < d->config->n_relays; i++) {
                bool on = false;

                if (engine_output_state(d->engine, d->config->relays[i].output, &on) == 0 &&
                    on != gpio_output_get(d->gpio, i))
                        gpio_output_set(d->gpio, i, on);
        }
out:
        for (size_t i = 0; i < n_owned; i++)
                free(owned[i]);
        free(owned);
        free(inputs);
        free(outputs);
        return r < 0 ? log_error_errno(r, "cannot set up the wired detectors") : 0;
}

void daemon_gpio_stop(struct daemon *d)
{
        gpio_free(d->gpio);
        d->gpio = NULL;
        free(d->wired);
        d->wired = NULL;
}

void daemon_gpio_outputs(struct daemon *d, const struct engine_decision *dec)
{
        for (size_t i = 0; d->gpio && i < d->config->n_relays; i++) {
                const struct config_relay *relay = &d->config->relays[i];
                bool on = false;

                /* The output's state as a whole: an each-unit output is on while any unit's is. */
                if (strcmp(relay->output, dec->output) != 0 ||
                    engine_output_state(d->engine, relay->output, &on) < 0)
                        continue;
                if (gpio_output_get(d->gpio, i) != on)
                        gpio_output_set(d->gpio, i, on);
        }
}

void daemon_gpio_status(struct daemon *d, json_t *root)
{
        json_t *relays = json_array();

        for (size_t i = 0; relays && i < d->config->n_relays; i++)
                json_array_append_new(relays, json_pack("{s:s, s:s, s:i, s:b}", "relay",
                                                        d->config->relays[i].head.name, "chip",
                                                        d->config->relays[i].chip, "line",
                                                        (int)d->config->relays[i].line, "on",
                                                        gpio_output_get(d->gpio, i)));
        json_object_set_new(root, "relays", relays);
}
