/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_gpio: debouncing, detector loops with fault lines, and outputs, with a fake backend.
 *
 * The fake stands in for libgpiod because this kernel has no GPIO chip; each fake line is a
 * pipe carrying events with the timestamps the test chooses, so debounce decisions do not
 * depend on how fast the machine runs. The same code runs against the kernel's gpio-sim driver
 * in tests/integration/test_gpio_vm.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpio.h"
#include "log.h"

#define MS 1000000ULL /* ns */

/* --- debouncing --- */

static void test_a_glitch_shorter_than_the_debounce_time_raises_nothing(void **state)
{
        struct gpio_debounce d;

        (void)state;
        gpio_debounce_init(&d, 50);
        gpio_debounce_edge(&d, false, 0);
        assert_true(gpio_debounce_expire(&d, 50 * MS, false));
        assert_false(d.stable);
        /* 10 ms of contact, then open again. */
        gpio_debounce_edge(&d, true, 100 * MS);
        gpio_debounce_edge(&d, false, 110 * MS);
        /* The line is read once more when the glitch would have ended, and is still open. */
        assert_false(gpio_debounce_expire(&d, 159 * MS, false));
        assert_false(gpio_debounce_expire(&d, 160 * MS, false));
        assert_false(d.stable);
        assert_int_equal(d.due_ns, UINT64_MAX);
}

static void test_a_level_held_is_accepted_at_the_debounce_time_not_before(void **state)
{
        struct gpio_debounce d;

        (void)state;
        gpio_debounce_init(&d, 50);
        gpio_debounce_edge(&d, false, 0);
        assert_true(gpio_debounce_expire(&d, 50 * MS, false));
        gpio_debounce_edge(&d, true, 100 * MS);
        assert_false(gpio_debounce_expire(&d, 150 * MS - 1, true));
        assert_true(gpio_debounce_expire(&d, 150 * MS, true));
        assert_true(d.stable);
        /* Bounces of the same level do not push the time back. */
        gpio_debounce_edge(&d, false, 200 * MS);
        gpio_debounce_edge(&d, false, 230 * MS);
        assert_true(gpio_debounce_expire(&d, 250 * MS, false));
        assert_false(d.stable);
}

static void test_a_merged_edge_is_caught_by_reading_the_line(void **state)
{
        struct gpio_debounce d;

        (void)state;
        gpio_debounce_init(&d, 50);
        gpio_debounce_edge(&d, false, 0);
        assert_true(gpio_debounce_expire(&d, 50 * MS, false));
        /* The rise was reported, its fall merged away: the line reads open at the deadline. */
        gpio_debounce_edge(&d, true, 100 * MS);
        assert_false(gpio_debounce_expire(&d, 150 * MS, false));
        assert_false(d.stable);
        assert_int_equal(d.due_ns, 200 * MS);
        /* The fall was reported and the rise lost: the line reads closed, wait it out. */
        gpio_debounce_edge(&d, false, 200 * MS);
        gpio_debounce_edge(&d, true, 300 * MS);
        gpio_debounce_edge(&d, false, 305 * MS);
        assert_false(gpio_debounce_expire(&d, 400 * MS, true));
        assert_int_equal(d.due_ns, 450 * MS);
        assert_true(gpio_debounce_expire(&d, 450 * MS, true));
        assert_true(d.stable);
}

static void test_no_debounce_accepts_at_once(void **state)
{
        struct gpio_debounce d;

        (void)state;
        gpio_debounce_init(&d, 0);
        gpio_debounce_edge(&d, true, 7);
        assert_true(gpio_debounce_expire(&d, 7, true));
        assert_true(d.stable);
}

/* --- a fake backend --- */

struct fake_event {
        bool active;
        uint64_t ns;
};

struct fake_world {
        int level[16];  /* input levels by offset */
        int driven[16]; /* output levels by offset; -1: never driven */
        bool released[16];
        int refuse_offset; /* a line that cannot be requested; -1: none */
        int fds[16][2];
};

/* The test's world, for the fake's functions, which take no context. */
static struct fake_world *world;

struct gpio_chip_handle {
        int dummy;
};

struct gpio_line_handle {
        unsigned offset;
};

static int fake_chip_open(const char *chip, struct gpio_chip_handle **out)
{
        static struct gpio_chip_handle the_chip;

        if (strcmp(chip, "fake") != 0)
                return -ENODEV;
        *out = &the_chip;
        return 0;
}

static void fake_chip_close(struct gpio_chip_handle *c)
{
        (void)c;
}

static int fake_request(unsigned offset, struct gpio_line_handle **out)
{
        if ((int)offset == world->refuse_offset)
                return -EBUSY;
        *out = calloc(1, sizeof(**out));
        assert_non_null(*out);
        (*out)->offset = offset;
        return 0;
}

static int fake_request_events(struct gpio_chip_handle *c, unsigned offset, bool active_low,
                               enum gpio_bias bias, const char *consumer,
                               struct gpio_line_handle **out)
{
        (void)c;
        (void)active_low;
        (void)bias;
        assert_string_equal(consumer, "test");
        return fake_request(offset, out);
}

static int fake_request_output(struct gpio_chip_handle *c, unsigned offset, bool active_low,
                               bool active, const char *consumer, struct gpio_line_handle **out)
{
        int r = fake_request(offset, out);

        (void)c;
        (void)active_low;
        (void)consumer;
        if (r == 0)
                world->driven[offset] = active;
        return r;
}

static int fake_event_fd(struct gpio_line_handle *l)
{
        return world->fds[l->offset][0];
}

static int fake_read_event(struct gpio_line_handle *l, bool *active, uint64_t *ns)
{
        struct fake_event ev;
        ssize_t n = read(world->fds[l->offset][0], &ev, sizeof(ev));

        if (n < 0 && errno == EAGAIN)
                return -EAGAIN;
        assert_int_equal(n, sizeof(ev));
        *active = ev.active;
        *ns = ev.ns;
        return 0;
}

static int fake_get(struct gpio_line_handle *l)
{
        return world->level[l->offset];
}

static int fake_set(struct gpio_line_handle *l, bool active)
{
        world->driven[l->offset] = active;
        return 0;
}

static void fake_release(struct gpio_line_handle *l)
{
        world->released[l->offset] = true;
        free(l);
}

static const struct gpio_backend fake_backend = {
        .name = "fake",
        .chip_open = fake_chip_open,
        .chip_close = fake_chip_close,
        .request_events = fake_request_events,
        .request_output = fake_request_output,
        .event_fd = fake_event_fd,
        .read_event = fake_read_event,
        .get = fake_get,
        .set = fake_set,
        .release = fake_release,
};

struct seen {
        size_t input;
        enum gpio_signal signal;
        bool active;
};

struct recorder {
        struct seen s[32];
        size_t n;
};

static void record(void *ctx, size_t input, enum gpio_signal signal, bool active, uint64_t edge_ns)
{
        struct recorder *rec = ctx;

        (void)edge_ns;
        assert_true(rec->n < 32);
        rec->s[rec->n++] = (struct seen){input, signal, active};
}

static uint64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The line at @offset changes to @active, stamped @ns. */
static void edge(unsigned offset, bool active, uint64_t ns)
{
        struct fake_event ev = {active, ns};

        world->level[offset] = active;
        assert_int_equal(write(world->fds[offset][1], &ev, sizeof(ev)), sizeof(ev));
}

/* Runs the loop for about @ms. */
static void run_for(sd_event *e, unsigned ms)
{
        uint64_t end = mono_ns() + ms * MS;

        while (mono_ns() < end)
                assert_true(sd_event_run(e, 5000) >= 0);
}

static int setup(void **state)
{
        struct fake_world *w = calloc(1, sizeof(*w));

        log_setup(LOG_CRIT, false); /* refused lines are said, as they should be */
        assert_non_null(w);
        w->refuse_offset = -1;
        for (int i = 0; i < 16; i++) {
                assert_int_equal(pipe2(w->fds[i], O_NONBLOCK | O_CLOEXEC), 0);
                w->driven[i] = -1;
        }
        world = w;
        *state = w;
        return 0;
}

static int teardown(void **state)
{
        struct fake_world *w = *state;

        for (int i = 0; i < 16; i++) {
                close(w->fds[i][0]);
                close(w->fds[i][1]);
        }
        free(w);
        world = NULL;
        return 0;
}

static void test_loops_report_debounced_alarms_and_faults(void **state)
{
        const struct gpio_input_spec in[] = {
                {.id = "cp-1", .chip = "fake", .line = 1, .debounce_ms = 20, .fault_line = 2},
                {.id = "heat-2", .chip = "fake", .line = 3, .debounce_ms = 20, .fault_line = -1},
        };
        struct recorder rec = {0};
        struct gpio *g = NULL;
        sd_event *e = NULL;
        uint64_t t;

        (void)state;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(gpio_new(e, &fake_backend, "test", in, 2, NULL, 0, record, &rec, &g), 0);
        /* The levels at start, once they held: no alarm, no fault. */
        run_for(e, 60);
        assert_int_equal(rec.n, 3);
        for (size_t i = 0; i < 3; i++)
                assert_false(rec.s[i].active);
        rec.n = 0;
        /* A 5 ms glitch on the call point's loop: nothing. */
        t = mono_ns();
        edge(1, true, t);
        edge(1, false, t + 5 * MS);
        run_for(e, 60);
        assert_int_equal(rec.n, 0);
        /* The contact held: an alarm of input 0. */
        edge(1, true, mono_ns());
        run_for(e, 60);
        assert_int_equal(rec.n, 1);
        assert_int_equal(rec.s[0].input, 0);
        assert_int_equal(rec.s[0].signal, GPIO_SIGNAL_ALARM);
        assert_true(rec.s[0].active);
        /* Its end-of-line supervision: a fault of the same input. */
        edge(2, true, mono_ns());
        run_for(e, 60);
        assert_int_equal(rec.n, 2);
        assert_int_equal(rec.s[1].input, 0);
        assert_int_equal(rec.s[1].signal, GPIO_SIGNAL_FAULT);
        assert_true(rec.s[1].active);
        gpio_free(g);
        assert_true(world->released[1] && world->released[2] && world->released[3]);
        sd_event_unref(e);
}

static void test_a_line_that_cannot_be_requested_faults_only_its_detector(void **state)
{
        const struct gpio_input_spec in[] = {
                {.id = "a", .chip = "fake", .line = 4, .debounce_ms = 10, .fault_line = -1},
                {.id = "b", .chip = "no-such-chip", .line = 1, .debounce_ms = 10, .fault_line = -1},
                {.id = "c", .chip = "fake", .line = 5, .debounce_ms = 10, .fault_line = -1},
        };
        struct recorder rec = {0};
        struct gpio *g = NULL;
        sd_event *e = NULL;
        bool unavailable[3] = {false};

        (void)state;
        world->refuse_offset = 4;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(gpio_new(e, &fake_backend, "test", in, 3, NULL, 0, record, &rec, &g), 0);
        run_for(e, 40);
        for (size_t i = 0; i < rec.n; i++)
                if (rec.s[i].signal == GPIO_SIGNAL_UNAVAILABLE)
                        unavailable[rec.s[i].input] = true;
        assert_true(unavailable[0]); /* its line is busy */
        assert_true(unavailable[1]); /* its chip does not exist */
        assert_false(unavailable[2]);
        /* The one left still alarms. */
        rec.n = 0;
        edge(5, true, mono_ns());
        run_for(e, 40);
        assert_int_equal(rec.n, 1);
        assert_int_equal(rec.s[0].input, 2);
        assert_true(rec.s[0].active);
        gpio_free(g);
        sd_event_unref(e);
}

static void test_outputs_start_and_stop_in_their_safe_state(void **state)
{
        const struct gpio_output_spec out[] = {
                {.name = "bell", .chip = "fake", .line = 8, .safe_state = false},
                {.name = "door", .chip = "fake", .line = 9, .safe_state = true},
                {.name = "gone", .chip = "nowhere", .line = 1, .safe_state = false},
        };
        struct gpio *g = NULL;
        sd_event *e = NULL;

        (void)state;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(gpio_new(e, &fake_backend, "test", NULL, 0, out, 3, record, NULL, &g), 0);
        assert_int_equal(world->driven[8], 0);
        assert_int_equal(world->driven[9], 1);
        assert_int_equal(gpio_output_set(g, 0, true), 0);
        assert_int_equal(gpio_output_set(g, 1, false), 0);
        assert_int_equal(world->driven[8], 1);
        assert_int_equal(world->driven[9], 0);
        assert_true(gpio_output_get(g, 0));
        assert_int_equal(gpio_output_set(g, 2, true), -ENODEV);
        assert_false(gpio_output_get(g, 2));
        gpio_free(g);
        /* Back to safe: the bell silent, the door released. */
        assert_int_equal(world->driven[8], 0);
        assert_int_equal(world->driven[9], 1);
        sd_event_unref(e);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_glitch_shorter_than_the_debounce_time_raises_nothing),
                cmocka_unit_test(test_a_level_held_is_accepted_at_the_debounce_time_not_before),
                cmocka_unit_test(test_a_merged_edge_is_caught_by_reading_the_line),
                cmocka_unit_test(test_no_debounce_accepts_at_once),
                T(test_loops_report_debounced_alarms_and_faults),
                T(test_a_line_that_cannot_be_requested_faults_only_its_detector),
                T(test_outputs_start_and_stop_in_their_safe_state),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
