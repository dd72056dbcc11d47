/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_common: what bench_uplink, loadgen, bench_commit and bench_engine share; see
 * bench_common.h. Nothing here prints: the programs say what went wrong, under their names.
 */
#include "bench_common.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"

double bc_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

void bc_sort(double *v, size_t n)
{
        qsort(v, n, sizeof(double), cmp_double);
}

double bc_percentile(const double *sorted, size_t n, double p)
{
        size_t rank = (size_t)(p * (double)n + 0.999999);

        return sorted[rank ? rank - 1 : 0];
}

void bc_latency_of(double *v, size_t n, struct bc_latency *out)
{
        double sum = 0;

        bc_sort(v, n);
        for (size_t i = 0; i < n; i++)
                sum += v[i];
        *out = (struct bc_latency){.p50 = bc_percentile(v, n, 0.50),
                                   .p99 = bc_percentile(v, n, 0.99),
                                   .max = v[n - 1],
                                   .mean = sum / (double)n};
}

static int parse_int(const char *s, int min, int max, int *out)
{
        char *end = NULL;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || !end || *end || v < min || v > max)
                return -EINVAL;
        *out = (int)v;
        return 0;
}

/* Stores @arg (NULL for a flag) as @o says into @opts. Returns 0 or -EINVAL. */
static int store_option(const struct bc_option *o, const char *arg, void *opts)
{
        char *field = (char *)opts + o->offset;

        switch (o->type) {
        case BC_OPT_STRING:
                *(const char **)(void *)field = arg;
                return 0;
        case BC_OPT_INT:
                return parse_int(arg, o->min, o->max, (int *)(void *)field);
        case BC_OPT_FLAG:
                *(bool *)field = true;
                return 0;
        }
        return -EINVAL;
}

static bool option_set(const struct bc_option *o, const void *opts)
{
        const char *field = (const char *)opts + o->offset;

        switch (o->type) {
        case BC_OPT_STRING:
                return *(const char *const *)(const void *)field != NULL;
        case BC_OPT_INT:
                return *(const int *)(const void *)field != 0;
        case BC_OPT_FLAG:
                return *(const bool *)field;
        }
        return false;
}

int bc_parse_options(int argc, char **argv, const struct bc_option *table, size_t n, void *opts)
{
        struct option longs[BC_OPTIONS_MAX + 2];
        char shorts[2 * BC_OPTIONS_MAX + 2] = "h";
        size_t ns = 1;
        int c;

        if (n > BC_OPTIONS_MAX)
                return -E2BIG;
        /* A long option's value is its index past any character: 256 + i. */
        for (size_t i = 0; i < n; i++) {
                int has_arg = table[i].type == BC_OPT_FLAG ? no_argument : required_argument;

                longs[i] = (struct option){table[i].name, has_arg, NULL, 256 + (int)i};
                if (table[i].letter) {
                        shorts[ns++] = table[i].letter;
                        if (has_arg == required_argument)
                                shorts[ns++] = ':';
                }
        }
        shorts[ns] = '\0';
        longs[n] = (struct option){"help", no_argument, NULL, 'h'};
        longs[n + 1] = (struct option){0};
        while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
                const struct bc_option *o = NULL;

                if (c == 'h')
                        return 1;
                if (c >= 256 && (size_t)(c - 256) < n)
                        o = &table[c - 256];
                for (size_t i = 0; !o && i < n; i++) /* '?': none has that letter */
                        if (table[i].letter == c)
                                o = &table[i];
                if (!o)
                        return -ENOENT;
                if (store_option(o, optarg, opts) < 0)
                        return -EINVAL;
        }
        if (optind != argc)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i].required && !option_set(&table[i], opts))
                        return -EINVAL;
        return 0;
}

int bc_tab_fields(char *line, char **field, int max)
{
        char *save = NULL;
        int n = 0;

        line[strcspn(line, "\n")] = '\0';
        while (n < max && (field[n] = strtok_r(n ? NULL : line, "\t", &save)))
                n++;
        return n;
}

struct mosquitto *bc_client_new(const char *id, void *obj, int nodelay, bool *nodelay_ok)
{
        struct mosquitto *m = mosquitto_new(id, true, obj);

        if (!m)
                return NULL;
        if (mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, nodelay) != MOSQ_ERR_SUCCESS &&
            nodelay_ok)
                *nodelay_ok = false;
        return m;
}

int bc_upstream_connect(struct mosquitto *m, const struct bc_upstream *u, int keepalive_s)
{
        int rc = MOSQ_ERR_SUCCESS;

        if (u->cafile)
                rc = mosquitto_tls_set(m, u->cafile, NULL, u->certfile, u->keyfile, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_connect(m, u->host, u->port, keepalive_s);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_loop_start(m);
        return rc;
}

void bc_alert_read(struct bc_alert *a, const void *payload, int len)
{
        json_t *seq;

        a->msg = json_loadb(payload, (size_t)len, 0, NULL);
        a->event = json_string_value(json_object_get(a->msg, "event"));
        a->detector = json_string_value(
                json_object_get(json_array_get(json_object_get(a->msg, "detectors"), 0), "id"));
        seq = json_object_get(a->msg, "seq");
        a->has_seq = json_is_integer(seq);
        a->seq = a->has_seq ? (long long)json_integer_value(seq) : 0;
}

void bc_alert_free(struct bc_alert *a)
{
        json_decref(a->msg);
        a->msg = NULL;
}

void bc_await_start(struct bc_await *w, const char *detector)
{
        w->detector = detector;
        w->arrived = false;
}

void bc_await_fire_alarm(struct bc_await *w, const char *detector, double at_us)
{
        w->fire_alarms++;
        if (w->detector && !w->arrived && detector && strcmp(detector, w->detector) == 0) {
                w->arrived = true;
                w->arrived_us = at_us;
        } else {
                w->strays++;
        }
}

int bc_reset_building(const char *control, char *err, size_t size)
{
        char *reply = NULL;
        int r = control_call(control, "reset", "building", &reply);

        if (r < 0) {
                snprintf(err, size, "%s", strerror(-r));
                free(reply);
                return r;
        }
        if (strncmp(reply, "ok", 2) != 0) {
                snprintf(err, size, "%s", reply);
                r = -EIO;
        }
        free(reply);
        return r;
}
