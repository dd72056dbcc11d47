/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * testutil: what several unit tests need: a private temporary directory that is removed
 * afterwards, paths inside it, and small files written into it.
 */
#ifndef FIREGATE_TESTUTIL_H
#define FIREGATE_TESTUTIL_H

#include <stddef.h>

/* Makes a new directory under $TMPDIR (or /tmp); aborts the test program if it cannot. */
char *tu_tempdir(void);

/* Removes @dir and everything in it, then frees the string. */
void tu_rmtree(char *dir);

/* Returns a new string "@dir/@name". */
char *tu_path(const char *dir, const char *name);

/* Writes @len bytes (or strlen(@text) when @len is 0) to @path, replacing it; aborts on failure. */
void tu_write(const char *path, const char *text, size_t len);

#endif
