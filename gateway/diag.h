/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diag: collects located diagnostics ("where:line: message") so that a parser or an importer
 * can report every problem in its input before it fails, as ntpd and OpenSMTPD do with their
 * configs. Library-like modules add to a diag; the command that called them prints it.
 */
#ifndef FIREGATE_DIAG_H
#define FIREGATE_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diag;

/* Returns a new, empty collection or NULL when out of memory. */
struct diag *diag_new(void);

/* Frees @d and its messages; NULL is a no-op. */
void diag_free(struct diag *d);

/* Adds one message. @where (a file name or a record position such as "units[3]") may be NULL;
 * @line is printed when it is not 0. Past DIAG_MAX messages only the count grows. Out of
 * memory is counted as a message that could not be stored, never lost silently. */
void diag_add(struct diag *d, const char *where, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Number of messages added, including those past DIAG_MAX. */
size_t diag_count(const struct diag *d);

/* Returns message @i (0-based) or NULL if it was not stored. */
const char *diag_get(const struct diag *d, size_t i);

/* Prints each stored message on its own line to @out, prefixed by @prefix (may be NULL), and a
 * final line counting any that were not stored. */
void diag_print(const struct diag *d, FILE *out, const char *prefix);

/* Logs every message of @d at @priority (log.h): on journald's stream each line then carries its
 * priority. */
void diag_log(const struct diag *d, int priority);

#define DIAG_MAX 200

#endif
