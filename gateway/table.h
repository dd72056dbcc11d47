/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * table: output of listings, for people as an aligned table and for programs as JSON (an array
 * of objects whose keys are the column names) or CSV (RFC 4180: a header row, CRLF line ends,
 * fields quoted when they hold a comma, a quote or a line break). Every listing of the CLI goes
 * through here so that `--json` and `--csv` mean the same everywhere.
 */
#ifndef FIREGATE_TABLE_H
#define FIREGATE_TABLE_H

#include <sqlite3.h>
#include <stdio.h>

enum table_format {
        TABLE_TEXT,
        TABLE_JSON,
        TABLE_CSV, /* an empty cell is an empty field */
};

struct table;

/* A table with @ncols columns named by @names (copied). Returns NULL when out of memory. */
struct table *table_new(size_t ncols, const char *const *names);

/* Frees @t; NULL is a no-op. */
void table_free(struct table *t);

/* Starts a new row; the cells that follow fill it left to right. Returns 0 or -ENOMEM. */
int table_row(struct table *t);

/* Appends a text cell (NULL for an empty cell, shown as "-" and as JSON null), an integer cell. */
int table_text(struct table *t, const char *s);
int table_int(struct table *t, long long v);

/* Appends every row of a prepared statement (stepping it to the end), with the statement's
 * column names; @t must have been made by table_from_stmt(). Returns the number of rows, or a
 * negative errno (-EIO when a step fails; the statement's error is then in its connection). */
int table_fill(struct table *t, sqlite3_stmt *st);

/* A table whose columns are the result columns of @st. */
struct table *table_from_stmt(sqlite3_stmt *st);

/* Number of rows so far. */
size_t table_rows(const struct table *t);

/* Writes the table. Returns 0 or -EIO when @out fails. */
int table_print(const struct table *t, enum table_format fmt, FILE *out);

#endif
