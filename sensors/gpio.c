/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gpio: wired loops and outputs on the event loop. Each requested input line has its event
 * descriptor in the loop and one timer, armed while a level waits out its debounce time; when
 * the timer fires the line is read once more, so an edge the kernel merged or dropped cannot
 * leave a wrong level standing. Chips are opened once each, however many lines they carry.
 */
#include "gpio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "log.h"

#define NS_PER_MS 1000000ULL

/* --- debouncing --- */

void gpio_debounce_init(struct gpio_debounce *d, unsigned debounce_ms)
{
        *d = (struct gpio_debounce){.debounce_ns = (uint64_t)debounce_ms * NS_PER_MS,
                                    .due_ns = UINT64_MAX};
}

void gpio_debounce_edge(struct gpio_debounce *d, bool level, uint64_t ns)
{
        if (d->due_ns != UINT64_MAX && level == d->pending)
                return; /* the same level again: it has been waiting since the first edge */
        /* Even back to the stable level it waits: the read at the deadline confirms it, which
         * catches an edge lost after a glitch. */
        d->pending = level;
        d->since_ns = ns;
        d->due_ns = ns + d->debounce_ns;
}

bool gpio_debounce_expire(struct gpio_debounce *d, uint64_t now_ns, bool level)
{
        if (d->due_ns == UINT64_MAX || now_ns < d->due_ns)
                return false;
        if (level != d->pending) {
                /* An edge was merged or lost: what is read now is the truth; wait it out. */
                d->pending = level;
                d->since_ns = now_ns;
                d->due_ns = now_ns + d->debounce_ns;
                return false;
        }
        d->due_ns = UINT64_MAX;
        if (d->known && d->stable == level)
                return false;
        d->known = true;
        d->stable = level;
        return true;
}

/* --- the lines --- */

struct gpio_chip_ref {
        char *name;
        struct gpio_chip_handle *h;
        int error; /* why it could not be opened; 0 when open */
};

struct gpio_in_line {
        struct gpio *g;
        size_t input;
        enum gpio_signal signal;
        unsigned offset;
        struct gpio_line_handle *h;
        sd_event_source *io, *timer;
        struct gpio_debounce db;
};

struct gpio_out_line {
        char *name;
        struct gpio_line_handle *h;
        bool safe, active;
};

struct gpio {
        sd_event *event;
        const struct gpio_backend *be;
        char *consumer;
        gpio_input_fn fn;
        void *ctx;
        struct gpio_chip_ref *chips;
        size_t n_chips;
        struct gpio_in_line *lines; /* at most two per input: the loop and its fault line */
        size_t n_lines;
        struct gpio_out_line *outs;
        size_t n_outs;
        size_t *unavailable; /* inputs to report as unavailable, once, from the loop */
        size_t n_unavailable;
        sd_event_source *report;
};

static uint64_t now_ns(sd_event *e)
{
        uint64_t us = 0;

        sd_event_now(e, CLOCK_MONOTONIC, &us);
        return us * 1000;
}

/* The chip named @name, opened on first use. Returns 0 or the negative errno of opening it. */
static int chip_get(struct gpio *g, const char *name, struct gpio_chip_handle **out)
{
        struct gpio_chip_ref *c;

        for (size_t i = 0; i < g->n_chips; i++)
                if (strcmp(g->chips[i].name, name) == 0) {
                        *out = g->chips[i].h;
                        return g->chips[i].error;
                }
        c = &g->chips[g->n_chips];
        c->name = strdup(name);
        if (!c->name)
                return -ENOMEM;
        g->n_chips++;
        c->error = g->be->chip_open(name, &c->h);
        if (c->error < 0)
                log_error_errno(c->error, "GPIO chip %s cannot be opened", name);
        *out = c->h;
        return c->error;
}

static void arm(struct gpio_in_line *l)
{
        if (l->db.due_ns == UINT64_MAX) {
                sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(l->timer, l->db.due_ns / 1000 + 1);
        sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct gpio_in_line *l = userdata;
        int level = l->g->be->get(l->h);

        (void)s;
        (void)usec;
        if (level < 0) {
                log_error_errno(level, "GPIO line %u cannot be read", l->offset);
                return 0;
        }
        if (gpio_debounce_expire(&l->db, now_ns(l->g->event), level))
                l->g->fn(l->g->ctx, l->input, l->signal, l->db.stable, l->db.since_ns);
        arm(l);
        return 0;
}

static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct gpio_in_line *l = userdata;
        uint64_t ns;
        bool level;
        int r;

        (void)s;
        (void)fd;
        (void)revents;
        while ((r = l->g->be->read_event(l->h, &level, &ns)) == 0)
                gpio_debounce_edge(&l->db, level, ns);
        if (r != -EAGAIN)
                log_error_errno(r, "GPIO line %u: events cannot be read", l->offset);
        arm(l);
        return 0;
}

static void mark_unavailable(struct gpio *g, size_t input)
{
        for (size_t i = 0; i < g->n_unavailable; i++)
                if (g->unavailable[i] == input)
                        return;
        g->unavailable[g->n_unavailable++] = input;
        sd_event_source_set_enabled(g->report, SD_EVENT_ONESHOT);
}

static int on_report(sd_event_source *s, void *userdata)
{
        struct gpio *g = userdata;

        (void)s;
        for (size_t i = 0; i < g->n_unavailable; i++)
                g->fn(g->ctx, g->unavailable[i], GPIO_SIGNAL_UNAVAILABLE, true, 0);
        g->n_unavailable = 0;
        return 0;
}

/* Requests one input line; a failure is said once and the input marked unavailable. */
static int start_input(struct gpio *g, size_t input, const struct gpio_input_spec *spec,
                       enum gpio_signal signal, unsigned offset)
{
        struct gpio_in_line *l = &g->lines[g->n_lines];
        struct gpio_chip_handle *chip = NULL;
        int r = chip_get(g, spec->chip, &chip), level;

        if (r == -ENOMEM)
                return r;
        *l = (struct gpio_in_line){.g = g, .input = input, .signal = signal, .offset = offset};
        if (r == 0)
                r = g->be->request_events(chip, offset, spec->active_low, spec->bias, g->consumer,
                                          &l->h);
        if (r < 0) {
                log_error_errno(r,
                                "%s: GPIO line %s:%u cannot be requested; the detector is "
                                "in fault until it can",
                                spec->id, spec->chip, offset);
                mark_unavailable(g, input);
                return 0;
        }
        g->n_lines++;
        gpio_debounce_init(&l->db, spec->debounce_ms);
        r = sd_event_add_io(g->event, &l->io, g->be->event_fd(l->h), EPOLLIN, on_event, l);
        if (r >= 0)
                r = sd_event_add_time(g->event, &l->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000,
                                      on_timer, l);
        if (r < 0)
                return log_error_errno(r, "%s: cannot watch GPIO line %u", spec->id, offset);
        /* The level at start is reported once it has held for the debounce time, as any. */
        level = g->be->get(l->h);
        gpio_debounce_edge(&l->db, level > 0, now_ns(g->event));
        arm(l);
        return 0;
}

static int start_output(struct gpio *g, const struct gpio_output_spec *spec)
{
        struct gpio_out_line *o = &g->outs[g->n_outs++];
        struct gpio_chip_handle *chip = NULL;
        int r = chip_get(g, spec->chip, &chip);

        if (r == -ENOMEM)
                return r;
        o->name = strdup(spec->name);
        if (!o->name)
                return -ENOMEM;
        o->safe = o->active = spec->safe_state;
        if (r == 0)
                r = g->be->request_output(chip, spec->line, spec->active_low, spec->safe_state,
                                          g->consumer, &o->h);
        if (r < 0)
                log_error_errno(r,
                                "output %s: GPIO line %s:%u cannot be requested; it cannot "
                                "be driven",
                                spec->name, spec->chip, spec->line);
        return 0;
}

int gpio_new(sd_event *event, const struct gpio_backend *backend, const char *consumer,
             const struct gpio_input_spec *inputs, size_t n_inputs,
             const struct gpio_output_spec *outputs, size_t n_outputs, gpio_input_fn fn, void *ctx,
             struct gpio **out)
{
        struct gpio *g = calloc(1, sizeof(*g));
        int r = -ENOMEM;

        *out = NULL;
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(event);
        g->be = backend;
        g->fn = fn;
        g->ctx = ctx;
        g->consumer = strdup(consumer);
        g->chips = calloc(2 * n_inputs + n_outputs + 1, sizeof(*g->chips));
        g->lines = calloc(2 * n_inputs + 1, sizeof(*g->lines));
        g->outs = calloc(n_outputs + 1, sizeof(*g->outs));
        g->unavailable = calloc(n_inputs + 1, sizeof(*g->unavailable));
        if (!g->consumer || !g->chips || !g->lines || !g->outs || !g->unavailable)
                goto fail;
        r = sd_event_add_defer(event, &g->report, on_report, g);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(g->report, SD_EVENT_OFF);
        for (size_t i = 0; i < n_inputs && r >= 0; i++) {
                r = start_input(g, i, &inputs[i], GPIO_SIGNAL_ALARM, inputs[i].line);
                if (r >= 0 && inputs[i].fault_line >= 0)
                        r = start_input(g, i, &inputs[i], GPIO_SIGNAL_FAULT,
                                        (unsigned)inputs[i].fault_line);
        }
        for (size_t i = 0; i < n_outputs && r >= 0; i++)
                r = start_output(g, &outputs[i]);
        if (r < 0)
                goto fail;
        *out = g;
        return 0;
fail:
        gpio_free(g);
        return r;
}

int gpio_output_set(struct gpio *g, size_t output, bool active)
{
        struct gpio_out_line *o;
        int r;

        if (!g || output >= g->n_outs)
                return -EINVAL;
        o = &g->outs[output];
        if (!o->h)
                return -ENODEV;
        r = g->be->set(o->h, active);
        if (r < 0)
                return log_error_errno(r, "output %s cannot be driven %s", o->name,
                                       active ? "on" : "off");
        o->active = active;
        return 0;
}

bool gpio_output_get(const struct gpio *g, size_t output)
{
        return g && output < g->n_outs && g->outs[output].h && g->outs[output].active;
}

void gpio_free(struct gpio *g)
{
        if (!g)
                return;
        for (size_t i = 0; i < g->n_outs; i++) {
                struct gpio_out_line *o = &g->outs[i];

                if (o->h) {
                        if (g->be->set(o->h, o->safe) < 0)
                                log_error("output %s cannot be driven to its safe state", o->name);
                        g->be->release(o->h);
                }
                free(o->name);
        }
        for (size_t i = 0; i < g->n_lines; i++) {
                sd_event_source_disable_unref(g->lines[i].io);
                sd_event_source_disable_unref(g->lines[i].timer);
                g->be->release(g->lines[i].h);
        }
        for (size_t i = 0; i < g->n_chips; i++) {
                if (g->chips[i].h)
                        g->be->chip_close(g->chips[i].h);
                free(g->chips[i].name);
        }
        sd_event_source_disable_unref(g->report);
        sd_event_unref(g->event);
        free(g->unavailable);
        free(g->outs);
        free(g->lines);
        free(g->chips);
        free(g->consumer);
        free(g);
}
