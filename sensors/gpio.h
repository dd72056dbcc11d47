/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gpio: wired detectors and outputs on GPIO lines, on the daemon's sd-event loop.
 *
 * An input is a conventional detector loop: a contact that changes on alarm (active-low says
 * which way), read as both-edge events from the line's descriptor (no polling), and accepted
 * only once it has held for its debounce time, so a glitch shorter than that raises nothing.
 * A loop may have a fault line beside it (end-of-line supervision): active means the loop is
 * broken or shorted. A line that cannot be requested is reported once as unavailable, which
 * the daemon turns into a fault of that detector; every other line keeps working.
 *
 * An output (a bell, a door release, a ventilation stop) is driven to its safe state when
 * requested and again when the gateway stops, and on and off by the engine's decisions in
 * between.
 */
#ifndef FIREGATE_GPIO_H
#define FIREGATE_GPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "gpio_backend.h"

#define GPIO_DEBOUNCE_MAX_MS 10000

/* --- debouncing, pure, for the unit tests --- */

/* A level is accepted as stable once it has held for the debounce time. */
struct gpio_debounce {
        uint64_t debounce_ns;
        bool known;        /* a stable level has been accepted */
        bool stable;       /* the accepted level */
        bool pending;      /* the level waiting to be accepted */
        uint64_t since_ns; /* when the line went to pending: the edge the level dates from */
        uint64_t due_ns;   /* when pending is accepted; UINT64_MAX when nothing waits */
};

void gpio_debounce_init(struct gpio_debounce *d, unsigned debounce_ms);

/* The line changed to @level at @ns. */
void gpio_debounce_edge(struct gpio_debounce *d, bool level, uint64_t ns);

/* At @now_ns, with the line reading @level now: returns true when a new stable level is
 * accepted (in d->stable); a glitch that came back to the stable level is no change. A level
 * read that differs from the one waiting means an edge was merged or lost: the wait starts
 * again from the level read. */
bool gpio_debounce_expire(struct gpio_debounce *d, uint64_t now_ns, bool level);

/* --- the lines --- */

enum gpio_signal {
        GPIO_SIGNAL_ALARM,       /* the detector's loop: active is alarm */
        GPIO_SIGNAL_FAULT,       /* its fault line: active is a fault */
        GPIO_SIGNAL_UNAVAILABLE, /* a line of it could not be requested: active */
};

struct gpio_input_spec {
        const char *id;   /* for messages: the detector id */
        const char *chip; /* name, path or label */
        unsigned line;
        bool active_low;
        enum gpio_bias bias;
        unsigned debounce_ms;
        int fault_line; /* -1: none */
};

struct gpio_output_spec {
        const char *name; /* for messages */
        const char *chip;
        unsigned line;
        bool active_low;
        bool safe_state; /* driven at start and at stop */
};

/* Input @input's @signal became @active (debounced); @edge_ns is when the line changed to it
 * (CLOCK_MONOTONIC, the kernel's stamp), 0 for GPIO_SIGNAL_UNAVAILABLE. */
typedef void (*gpio_input_fn)(void *ctx, size_t input, enum gpio_signal signal, bool active,
                              uint64_t edge_ns);

struct gpio;

/* Requests every line on @event through @backend. A line that cannot be requested is logged
 * and reported (GPIO_SIGNAL_UNAVAILABLE, from the loop, not from here); the rest work. The
 * specs are copied. Returns 0 or -ENOMEM. */
int gpio_new(sd_event *event, const struct gpio_backend *backend, const char *consumer,
             const struct gpio_input_spec *inputs, size_t n_inputs,
             const struct gpio_output_spec *outputs, size_t n_outputs, gpio_input_fn fn, void *ctx,
             struct gpio **out);

/* Drives output @output; -ENODEV when its line could not be requested. */
int gpio_output_set(struct gpio *g, size_t output, bool active);

/* Whether output @output is driven active now (false for one that is unavailable). */
bool gpio_output_get(const struct gpio *g, size_t output);

/* Drives every output to its safe state, releases the lines and frees @g; NULL is a no-op. */
void gpio_free(struct gpio *g);

#endif
