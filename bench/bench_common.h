/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_common: what the benchmark programs share. The monotonic clock every figure is taken
 * on; latency figures (nearest-rank percentiles over sorted samples); the command line as a
 * table of options (name, type, range, required); the platform's account on the upstream broker
 * (its options, its TLS connection) and what it makes of an alert, with the one alarm awaited
 * at a time. Helpers return and leave the message to the program, which names itself.
 */
#ifndef FIREGATE_BENCH_COMMON_H
#define FIREGATE_BENCH_COMMON_H

#include <jansson.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h> /* offsetof, for the tables */

/* How long an alarm may take to reach the platform before it counts as lost. */
#define BC_ALARM_TIMEOUT_S 10
/* No alert for this long after a reset: the reset's alerts are all in. */
#define BC_QUIET_MS 300

/* ---- time and figures ---- */

/* CLOCK_MONOTONIC in µs. */
double bc_now_us(void);

/* Sorts @n values ascending. */
void bc_sort(double *v, size_t n);

/* Nearest rank: the smallest value with at least @p (0 to 1) of the @n (> 0) sorted values at
 * or below it. */
double bc_percentile(const double *sorted, size_t n, double p);

/* What a run of latencies comes to, in the samples' unit. */
struct bc_latency {
        double p50, p99, max, mean;
};

/* Sorts the @n (> 0) samples of @v in place and sums them up into *@out. */
void bc_latency_of(double *v, size_t n, struct bc_latency *out);

/* ---- options ---- */

/* What a long option takes, and what it stores at its offset of the program's options. */
enum bc_option_type {
        BC_OPT_STRING, /* a value: const char * (argv's) */
        BC_OPT_INT,    /* a whole decimal number from min to max: int */
        BC_OPT_FLAG,   /* no value: bool, set true */
};

/* One option of a program's table: --name, and -letter too where letter is set. A required
 * option must leave its field set (a string not NULL, a number not 0). */
struct bc_option {
        const char *name;
        enum bc_option_type type;
        size_t offset;
        int min, max;
        bool required;
        char letter;
};

#define BC_OPTIONS_MAX 32

/* Parses the options of @argv by @table (@n entries, at most BC_OPTIONS_MAX) into @opts, which
 * holds the defaults; --help and -h are taken too. No other arguments are allowed. Returns 0;
 * 1 for --help; -ENOENT for an option not in the table (getopt_long said so); -EINVAL for a
 * bad value, a required option missing or a stray argument (nothing said). */
int bc_parse_options(int argc, char **argv, const struct bc_option *table, size_t n, void *opts);

/* Splits @line (its newline dropped) at tabs into at most @max fields, in place. Returns how
 * many there were; 0 for an empty line. */
int bc_tab_fields(char *line, char **field, int max);

/* ---- the platform's account on the upstream broker ---- */

/* Where and as whom it connects: TLS with a client certificate when cafile is set. */
struct bc_upstream {
        const char *host, *cafile, *certfile, *keyfile;
        int port;
};

/* The table entries of the struct bc_upstream @up of the program's options struct @st: the
 * --upstream-host, --upstream-port, --cafile, --cert and --key options, all but the host
 * required when @req. */
/* clang-format off */
#define BC_UPSTREAM_OPTIONS(st, up, req)                                                        \
        {.name = "upstream-host", .type = BC_OPT_STRING, .offset = offsetof(st, up.host)},      \
        {.name = "upstream-port", .type = BC_OPT_INT, .offset = offsetof(st, up.port),          \
         .min = 1, .max = 65535, .required = (req)},                                            \
        {.name = "cafile", .type = BC_OPT_STRING, .offset = offsetof(st, up.cafile),            \
         .required = (req)},                                                                    \
        {.name = "cert", .type = BC_OPT_STRING, .offset = offsetof(st, up.certfile),            \
         .required = (req)},                                                                    \
        {.name = "key", .type = BC_OPT_STRING, .offset = offsetof(st, up.keyfile),              \
         .required = (req)}
/* clang-format on */

/* A libmosquitto client named @id with a clean session, @obj for its callbacks and
 * TCP_NODELAY as @nodelay says (Nagle would hold a small packet while an earlier one is
 * unacknowledged). *@nodelay_ok, when given, is cleared if the option did not take. Returns
 * NULL when out of memory; mosquitto_destroy frees it. */
struct mosquitto *bc_client_new(const char *id, void *obj, int nodelay, bool *nodelay_ok);

/* Connects @m to @u (TLS first, when @u has a CA file) with @keepalive_s and starts its
 * network thread. Returns a libmosquitto error code (MOSQ_ERR_SUCCESS). */
int bc_upstream_connect(struct mosquitto *m, const struct bc_upstream *u, int keepalive_s);

/* An alert as the platform receives it: its event, the first detector it names and its
 * sequence number, as far as they are there (NULL, has_seq false). The strings live as long
 * as msg: bc_alert_free. */
struct bc_alert {
        json_t *msg;
        const char *event, *detector;
        bool has_seq;
        long long seq;
};

/* Reads @payload (@len bytes) into *@a; unreadable JSON leaves every field empty. */
void bc_alert_read(struct bc_alert *a, const void *payload, int len);

/* Drops what bc_alert_read() kept; its strings go with it. */
void bc_alert_free(struct bc_alert *a);

/* The one alarm awaited at a time, under the lock of whoever shares it with the subscriber. */
struct bc_await {
        const char *detector; /* whose fire_alarm is awaited; NULL: none */
        bool arrived;
        double arrived_us;
        unsigned long fire_alarms, strays; /* strays: fire alarms not awaited */
};

/* From now on, the fire_alarm of @detector (NULL: none) is awaited. */
void bc_await_start(struct bc_await *w, const char *detector);

/* A fire_alarm naming @detector (may be NULL) was received at @at_us: the awaited one, or a
 * stray. */
void bc_await_fire_alarm(struct bc_await *w, const char *detector, double at_us);

/* Resets the building through the daemon's control socket @control. Returns 0, a negative
 * errno, or -EIO when the daemon refused; @err (@size bytes) then says why. */
int bc_reset_building(const char *control, char *err, size_t size);

#endif
