/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diag: a bounded list of formatted messages. Bounded because the input that produces them
 * (a corrupt bundle of thousands of records) must not make the gateway print or keep
 * unbounded output.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct diag {
        char *msgs[DIAG_MAX];
        size_t stored;
        size_t count;
};

struct diag *diag_new(void)
{
        return calloc(1, sizeof(struct diag));
}

void diag_free(struct diag *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->stored; i++)
                free(d->msgs[i]);
        free(d);
}

void diag_add(struct diag *d, const char *where, unsigned line, const char *fmt, ...)
{
        char msg[1024], full[1400];
        va_list ap;

        d->count++;
        if (d->stored >= DIAG_MAX)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (where && line)
                snprintf(full, sizeof(full), "%s:%u: %s", where, line, msg);
        else if (where)
                snprintf(full, sizeof(full), "%s: %s", where, msg);
        else
                snprintf(full, sizeof(full), "%s", msg);
        d->msgs[d->stored] = strdup(full);
        if (d->msgs[d->stored])
                d->stored++;
}

size_t diag_count(const struct diag *d)
{
        return d->count;
}

const char *diag_get(const struct diag *d, size_t i)
{
        return i < d->stored ? d->msgs[i] : NULL;
}

void diag_print(const struct diag *d, FILE *out, const char *prefix)
{
        for (size_t i = 0; i < d->stored; i++)
                fprintf(out, "%s%s\n", prefix ? prefix : "", d->msgs[i]);
        if (d->count > d->stored)
                fprintf(out, "%s... and %zu more\n", prefix ? prefix : "", d->count - d->stored);
}

void diag_log(const struct diag *d, int priority)
{
        for (size_t i = 0; i < d->stored; i++)
                log_msg(priority, "%s", d->msgs[i]);
        if (d->count > d->stored)
                log_msg(priority, "... and %zu more", d->count - d->stored);
}
