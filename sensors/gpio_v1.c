/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gpio_v1: the backend on libgpiod 1.6's v1 API. Every libgpiod call of the gateway is in this
 * file. libgpiod reports failures in errno; they are returned negative, as everywhere else.
 */
#include <errno.h>
#include <gpiod.h>
#include <stdlib.h>

#include "gpio_backend.h"

struct gpio_chip_handle {
        struct gpiod_chip *chip;
};

struct gpio_line_handle {
        struct gpiod_line *line;
};

static int neg_errno(void)
{
        return errno ? -errno : -EIO;
}

static int v1_chip_open(const char *chip, struct gpio_chip_handle **out)
{
        struct gpio_chip_handle *c = calloc(1, sizeof(*c));

        *out = NULL;
        if (!c)
                return -ENOMEM;
        /* Name, path, label or number, in libgpiod's order. */
        errno = 0;
        c->chip = gpiod_chip_open_lookup(chip);
        if (!c->chip) {
                int r = errno ? -errno : -ENODEV;

                free(c);
                return r;
        }
        *out = c;
        return 0;
}

static void v1_chip_close(struct gpio_chip_handle *c)
{
        if (!c)
                return;
        gpiod_chip_close(c->chip);
        free(c);
}

static int bias_flags(enum gpio_bias bias)
{
        switch (bias) {
        case GPIO_BIAS_PULL_UP:
                return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
        case GPIO_BIAS_PULL_DOWN:
                return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
        case GPIO_BIAS_DISABLED:
                return GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
        case GPIO_BIAS_AS_IS:
                return 0;
        }
        return 0;
}

static int request(struct gpio_chip_handle *c, unsigned offset, struct gpio_line_handle **out,
                   int (*fn)(struct gpiod_line *, void *), void *arg)
{
        struct gpio_line_handle *l = calloc(1, sizeof(*l));
        int r;

        *out = NULL;
        if (!l)
                return -ENOMEM;
        errno = 0;
        l->line = gpiod_chip_get_line(c->chip, offset);
        if (!l->line || fn(l->line, arg) < 0) {
                r = l->line ? neg_errno() : (errno ? -errno : -EINVAL);
                free(l);
                return r;
        }
        *out = l;
        return 0;
}

struct request_args {
        const char *consumer;
        int flags;
        int value;
};

static int do_events(struct gpiod_line *line, void *arg)
{
        const struct request_args *a = arg;

        return gpiod_line_request_both_edges_events_flags(line, a->consumer, a->flags);
}

static int do_output(struct gpiod_line *line, void *arg)
{
        const struct request_args *a = arg;

        return gpiod_line_request_output_flags(line, a->consumer, a->flags, a->value);
}

static int v1_request_events(struct gpio_chip_handle *c, unsigned offset, bool active_low,
                             enum gpio_bias bias, const char *consumer,
                             struct gpio_line_handle **out)
{
        struct request_args a = {
                .consumer = consumer,
                .flags = bias_flags(bias) | (active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0),
        };

        return request(c, offset, out, do_events, &a);
}

static int v1_request_output(struct gpio_chip_handle *c, unsigned offset, bool active_low,
                             bool active, const char *consumer, struct gpio_line_handle **out)
{
        struct request_args a = {
                .consumer = consumer,
                .flags = active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0,
                .value = active,
        };

        return request(c, offset, out, do_output, &a);
}

static int v1_event_fd(struct gpio_line_handle *l)
{
        int fd = gpiod_line_event_get_fd(l->line);

        return fd < 0 ? neg_errno() : fd;
}

static int v1_read_event(struct gpio_line_handle *l, bool *active, uint64_t *ns)
{
        struct gpiod_line_event ev;
        const struct timespec zero = {0, 0};
        int r = gpiod_line_event_wait(l->line, &zero);

        if (r < 0)
                return neg_errno();
        if (r == 0)
                return -EAGAIN;
        if (gpiod_line_event_read(l->line, &ev) < 0)
                return neg_errno();
        /* With active-low requested, the kernel already reports the logical edge. */
        *active = ev.event_type == GPIOD_LINE_EVENT_RISING_EDGE;
        *ns = (uint64_t)ev.ts.tv_sec * 1000000000ULL + (uint64_t)ev.ts.tv_nsec;
        return 0;
}

static int v1_get(struct gpio_line_handle *l)
{
        int v = gpiod_line_get_value(l->line);

        return v < 0 ? neg_errno() : v;
}

static int v1_set(struct gpio_line_handle *l, bool active)
{
        return gpiod_line_set_value(l->line, active) < 0 ? neg_errno() : 0;
}

static void v1_release(struct gpio_line_handle *l)
{
        if (!l)
                return;
        gpiod_line_release(l->line);
        free(l);
}

const struct gpio_backend gpio_backend_v1 = {
        .name = "libgpiod v1",
        .chip_open = v1_chip_open,
        .chip_close = v1_chip_close,
        .request_events = v1_request_events,
        .request_output = v1_request_output,
        .event_fd = v1_event_fd,
        .read_event = v1_read_event,
        .get = v1_get,
        .set = v1_set,
        .release = v1_release,
};
