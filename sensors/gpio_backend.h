/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gpio_backend: the few GPIO calls the gateway makes, behind one table of functions, so that
 * libgpiod's v1 API (Debian 12, Raspberry Pi OS Bookworm: gpio_v1.c) and its v2 API (Debian 13)
 * are one file each, and the unit tests can stand in a backend of their own.
 *
 * Values are logical: "active" is what the line means when asserted (a closed alarm contact, a
 * bell that rings), the backend applying active-low. Event timestamps are CLOCK_MONOTONIC in
 * nanoseconds, as the kernel stamps them.
 */
#ifndef FIREGATE_GPIO_BACKEND_H
#define FIREGATE_GPIO_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

enum gpio_bias {
        GPIO_BIAS_AS_IS, /* leave the line's bias as the hardware or firmware set it */
        GPIO_BIAS_PULL_UP,
        GPIO_BIAS_PULL_DOWN,
        GPIO_BIAS_DISABLED,
};

struct gpio_chip_handle;
struct gpio_line_handle;

struct gpio_backend {
        const char *name;
        /* Opens a chip by name (gpiochip0), path or label. Returns 0 or a negative errno. */
        int (*chip_open)(const char *chip, struct gpio_chip_handle **out);
        void (*chip_close)(struct gpio_chip_handle *c);
        /* Requests line @offset as an input with both edges reported. */
        int (*request_events)(struct gpio_chip_handle *c, unsigned offset, bool active_low,
                              enum gpio_bias bias, const char *consumer,
                              struct gpio_line_handle **out);
        /* Requests line @offset as an output driven to @active at once. */
        int (*request_output)(struct gpio_chip_handle *c, unsigned offset, bool active_low,
                              bool active, const char *consumer, struct gpio_line_handle **out);
        /* The descriptor that is readable when events wait, for the event loop. */
        int (*event_fd)(struct gpio_line_handle *l);
        /* Reads one waiting event: 0 with its level and time, -EAGAIN when none waits. */
        int (*read_event)(struct gpio_line_handle *l, bool *active, uint64_t *ns);
        /* The line's level now: 0 or 1, or a negative errno. */
        int (*get)(struct gpio_line_handle *l);
        int (*set)(struct gpio_line_handle *l, bool active);
        void (*release)(struct gpio_line_handle *l);
};

/* libgpiod 1.6 (gpio_v1.c). */
extern const struct gpio_backend gpio_backend_v1;

#endif
