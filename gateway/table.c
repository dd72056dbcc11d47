/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * table: keeps cells until printing, since aligning columns needs every row's width. Widths are
 * counted in characters, not bytes, so Vietnamese names (two or three UTF-8 bytes a letter)
 * line up.
 */
#include "table.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cell {
        char *text; /* NULL for an empty cell */
        bool is_int;
        long long value;
};

struct table {
        size_t ncols;
        char **names;
        struct cell *cells; /* rows * ncols, filled row by row */
        size_t used, cap;
};

struct table *table_new(size_t ncols, const char *const *names)
{
        struct table *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->ncols = ncols;
        t->names = calloc(ncols, sizeof(char *));
        if (!t->names)
                goto out_free;
        for (size_t i = 0; i < ncols; i++) {
                t->names[i] = strdup(names[i] ? names[i] : "");
                if (!t->names[i])
                        goto out_free;
        }
        return t;

out_free:
        table_free(t);
        return NULL;
}

void table_free(struct table *t)
{
        if (!t)
                return;
        for (size_t i = 0; t->names && i < t->ncols; i++)
                free(t->names[i]);
        free(t->names);
        for (size_t i = 0; i < t->used; i++)
                free(t->cells[i].text);
        free(t->cells);
        free(t);
}

static int table_push(struct table *t, struct cell c)
{
        if (t->used == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 64 * (t->ncols ? t->ncols : 1);
                struct cell *cells = realloc(t->cells, cap * sizeof(*cells));

                if (!cells) {
                        free(c.text);
                        return -ENOMEM;
                }
                t->cells = cells;
                t->cap = cap;
        }
        t->cells[t->used++] = c;
        return 0;
}

int table_row(struct table *t)
{
        /* Pad a short row so that cells never shift into the next one. */
        while (t->ncols && t->used % t->ncols != 0)
                if (table_push(t, (struct cell){0}) < 0)
                        return -ENOMEM;
        return 0;
}

int table_text(struct table *t, const char *s)
{
        struct cell c = {0};

        if (s) {
                c.text = strdup(s);
                if (!c.text)
                        return -ENOMEM;
        }
        return table_push(t, c);
}

int table_int(struct table *t, long long v)
{
        char buf[32];
        struct cell c = {.is_int = true, .value = v};

        snprintf(buf, sizeof(buf), "%lld", v);
        c.text = strdup(buf);
        if (!c.text)
                return -ENOMEM;
        return table_push(t, c);
}

struct table *table_from_stmt(sqlite3_stmt *st)
{
        size_t n = (size_t)sqlite3_column_count(st);
        const char **names = calloc(n ? n : 1, sizeof(char *));
        struct table *t;

        if (!names)
                return NULL;
        for (size_t i = 0; i < n; i++)
                names[i] = sqlite3_column_name(st, (int)i);
        t = table_new(n, names);
        free(names);
        return t;
}

int table_fill(struct table *t, sqlite3_stmt *st)
{
        int rc, rows = 0, r;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = table_row(t);
                for (size_t i = 0; r == 0 && i < t->ncols; i++) {
                        switch (sqlite3_column_type(st, (int)i)) {
                        case SQLITE_INTEGER:
                                r = table_int(t, sqlite3_column_int64(st, (int)i));
                                break;
                        case SQLITE_NULL:
                                r = table_text(t, NULL);
                                break;
                        default:
                                r = table_text(t, (const char *)sqlite3_column_text(st, (int)i));
                                break;
                        }
                }
                if (r < 0)
                        return r;
                rows++;
        }
        return rc == SQLITE_DONE ? rows : -EIO;
}

size_t table_rows(const struct table *t)
{
        return t->ncols ? (t->used + t->ncols - 1) / t->ncols : 0;
}

static size_t chars(const char *s)
{
        size_t n = 0;

        for (; s && *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        n++;
        return n;
}

static int print_text(const struct table *t, FILE *out)
{
        size_t *width = calloc(t->ncols ? t->ncols : 1, sizeof(size_t));

        if (!width)
                return -ENOMEM;
        for (size_t c = 0; c < t->ncols; c++)
                width[c] = chars(t->names[c]);
        for (size_t i = 0; i < t->used; i++) {
                size_t w = t->cells[i].text ? chars(t->cells[i].text) : 1;

                if (w > width[i % t->ncols])
                        width[i % t->ncols] = w;
        }
        for (size_t c = 0; c < t->ncols; c++)
                fprintf(out, "%s%s%*s", c ? "  " : "", t->names[c],
                        c + 1 < t->ncols ? (int)(width[c] - chars(t->names[c])) : 0, "");
        fputc('\n', out);
        for (size_t i = 0; i < t->used; i++) {
                size_t c = i % t->ncols;
                const char *s = t->cells[i].text ? t->cells[i].text : "-";
                int pad = c + 1 < t->ncols ? (int)(width[c] - chars(s)) : 0;

                /* Numbers align right, as people compare them by magnitude. */
                if (t->cells[i].is_int)
                        fprintf(out, "%s%*s%s", c ? "  " : "", pad, "", s);
                else
                        fprintf(out, "%s%s%*s", c ? "  " : "", s, pad, "");
                if (c + 1 == t->ncols)
                        fputc('\n', out);
        }
        if (t->ncols && t->used % t->ncols != 0)
                fputc('\n', out);
        free(width);
        return 0;
}

static int print_json(const struct table *t, FILE *out)
{
        json_t *rows = json_array(), *row = NULL;
        int r = 0;

        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < t->used; i++) {
                const struct cell *c = &t->cells[i];
                json_t *v;

                if (i % t->ncols == 0) {
                        row = json_object();
                        if (!row || json_array_append_new(rows, row) < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
                if (!c->text)
                        v = json_null();
                else if (c->is_int)
                        v = json_integer(c->value);
                else
                        v = json_string(c->text);
                if (!v || json_object_set_new(row, t->names[i % t->ncols], v) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        if (json_dumpf(rows, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                r = -EIO;
        fputc('\n', out);
out:
        json_decref(rows);
        return r;
}

/* RFC 4180 2.6 and 2.7: a field holding a comma, a quote or a line break is quoted, and a quote
 * inside it doubled. */
static void print_csv_field(const char *s, FILE *out)
{
        if (!s)
                return;
        if (!strpbrk(s, ",\"\r\n")) {
                fputs(s, out);
                return;
        }
        fputc('"', out);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', out);
                fputc(*s, out);
        }
        fputc('"', out);
}

static int print_csv(const struct table *t, FILE *out)
{
        size_t rows = table_rows(t);

        for (size_t c = 0; c < t->ncols; c++) {
                if (c)
                        fputc(',', out);
                print_csv_field(t->names[c], out);
        }
        fputs("\r\n", out);
        for (size_t r = 0; r < rows; r++) {
                for (size_t c = 0; c < t->ncols; c++) {
                        size_t i = r * t->ncols + c;

                        if (c)
                                fputc(',', out);
                        /* A short last row ends in empty fields, so every record has as many
                         * fields as the header (RFC 4180 2.4). */
                        print_csv_field(i < t->used ? t->cells[i].text : NULL, out);
                }
                fputs("\r\n", out);
        }
        return 0;
}

int table_print(const struct table *t, enum table_format fmt, FILE *out)
{
        int r;

        switch (fmt) {
        case TABLE_JSON:
                r = print_json(t, out);
                break;
        case TABLE_CSV:
                r = print_csv(t, out);
                break;
        case TABLE_TEXT:
        default:
                r = print_text(t, out);
                break;
        }
        if (r == 0 && (fflush(out) != 0 || ferror(out)))
                r = -EIO;
        return r;
}
