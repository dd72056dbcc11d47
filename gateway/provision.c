/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * provision: a config file's text as an array of lines, each with its own line end, edited one
 * key at a time. A line keeps the bytes it came with until a key on it is set; then it remembers
 * what it was, which is all a unified diff needs, since an edit only replaces or adds lines and
 * never removes one.
 *
 * How a line reads follows inifile.c and inih: leading whitespace is dropped (isspace), '#' and
 * ';' start a comment line, a value starts after the whitespace following '=' and ends at a ';'
 * preceded by whitespace, trailing whitespace dropped.
 */
#include "provision.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inifile.h"

#define DIFF_CONTEXT 3

struct ini_line {
        char *text;          /* without its line end */
        const char *eol;     /* "\n", "\r\n", or "" for a last line without one */
        unsigned old_no;     /* 1-based line of the original text; 0 for an added line */
        char *old_text;      /* the original text of a changed line; NULL when unchanged */
        const char *old_eol; /* and its original line end */
};

struct provision_ini {
        struct ini_line *lines;
        size_t n, cap;
        const char *eol; /* for added lines */
        char *joined;    /* provision_ini_text()'s buffer */
};

/* What a line is, read as the config reader reads it. Offsets are into the line's text. */
enum line_kind {
        LINE_OTHER, /* blank, a comment, or a line the reader refuses */
        LINE_SECTION,
        LINE_KEY,
};

struct line_parse {
        enum line_kind kind;
        size_t name, name_len;   /* the section (between the brackets) or the key */
        size_t value, value_len; /* a key's value */
};

static const char *find_inline_comment(const char *s)
{
        bool was_space = false;

        while (*s && !(was_space && *s == ';')) {
                was_space = isspace((unsigned char)*s);
                s++;
        }
        return s;
}

static void line_parse(const char *text, bool first, struct line_parse *p)
{
        const char *s = text, *end, *name_end, *value;

        memset(p, 0, sizeof(*p));
        if (first && strncmp(s, "\xef\xbb\xbf", 3) == 0)
                s += 3;
        while (isspace((unsigned char)*s))
                s++;
        if (!*s || *s == '#' || *s == ';')
                return;
        if (*s == '[') {
                end = strchr(s + 1, ']');
                if (!end || find_inline_comment(s + 1) < end)
                        return;
                p->kind = LINE_SECTION;
                p->name = (size_t)(s + 1 - text);
                p->name_len = (size_t)(end - s - 1);
                return;
        }
        /* inifile refuses `key: value`, so only an '=' before any ':' makes a key. */
        end = s + strcspn(s, "=:");
        if (*end != '=' || end == s || find_inline_comment(s) < end)
                return;
        for (name_end = end; name_end > s && isspace((unsigned char)name_end[-1]); name_end--)
                ;
        for (value = end + 1; isspace((unsigned char)*value); value++)
                ;
        end = find_inline_comment(value);
        while (end > value && isspace((unsigned char)end[-1]))
                end--;
        p->kind = LINE_KEY;
        p->name = (size_t)(s - text);
        p->name_len = (size_t)(name_end - s);
        p->value = (size_t)(value - text);
        p->value_len = (size_t)(end - value);
}

static bool span_is(const char *text, size_t at, size_t len, const char *s)
{
        return strlen(s) == len && memcmp(text + at, s, len) == 0;
}

static int lines_grow(struct provision_ini *ini)
{
        struct ini_line *grown;
        size_t cap = ini->cap ? ini->cap * 2 : 64;

        if (ini->n < ini->cap)
                return 0;
        grown = realloc(ini->lines, cap * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        ini->lines = grown;
        ini->cap = cap;
        return 0;
}

int provision_ini_new(const char *text, size_t len, struct provision_ini **out)
{
        struct provision_ini *ini;
        const char *pos = text, *end = text + len;

        *out = NULL;
        if (memchr(text, '\0', len))
                return -EINVAL;
        ini = calloc(1, sizeof(*ini));
        if (!ini)
                return -ENOMEM;
        while (pos < end) {
                const char *nl = memchr(pos, '\n', (size_t)(end - pos));
                size_t line_len = (size_t)((nl ? nl : end) - pos);
                struct ini_line *l;

                if (lines_grow(ini) < 0)
                        goto fail;
                l = &ini->lines[ini->n];
                memset(l, 0, sizeof(*l));
                l->eol = "";
                if (nl) {
                        l->eol = "\n";
                        if (line_len && pos[line_len - 1] == '\r') {
                                l->eol = "\r\n";
                                line_len--;
                        }
                }
                l->text = strndup(pos, line_len);
                if (!l->text)
                        goto fail;
                l->old_no = (unsigned)++ini->n;
                if (!ini->eol && *l->eol)
                        ini->eol = l->eol;
                pos = nl ? nl + 1 : end;
        }
        if (!ini->eol)
                ini->eol = "\n";
        *out = ini;
        return 0;
fail:
        provision_ini_free(ini);
        return -ENOMEM;
}

void provision_ini_free(struct provision_ini *ini)
{
        if (!ini)
                return;
        for (size_t i = 0; i < ini->n; i++) {
                free(ini->lines[i].text);
                free(ini->lines[i].old_text);
        }
        free(ini->lines);
        free(ini->joined);
        free(ini);
}

bool provision_value_ok(const char *value)
{
        size_t len = strlen(value);

        if (len && (isspace((unsigned char)value[0]) || isspace((unsigned char)value[len - 1])))
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)value[i];

                if (c < 0x20 || c == 0x7f)
                        return false;
                if (c == ';' && i && isspace((unsigned char)value[i - 1]))
                        return false;
        }
        return true;
}

static bool name_ok(const char *name, const char *extra)
{
        if (!*name)
                return false;
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("_.-", *p) && !strchr(extra, *p))
                        return false;
        return name[0] != ' ' && name[strlen(name) - 1] != ' ';
}

/* Remembers what @l was before its first change. */
static int line_keep_original(struct ini_line *l)
{
        if (!l->old_no || l->old_text)
                return 0;
        l->old_text = strdup(l->text);
        if (!l->old_text)
                return -ENOMEM;
        l->old_eol = l->eol;
        return 0;
}

static int line_replace(struct ini_line *l, char *text)
{
        if (line_keep_original(l) < 0) {
                free(text);
                return -ENOMEM;
        }
        free(l->text);
        l->text = text;
        /* Back to its original bytes (a value set back in one run): no longer a change. */
        if (l->old_text && strcmp(l->old_text, l->text) == 0 && l->old_eol == l->eol) {
                free(l->old_text);
                l->old_text = NULL;
        }
        return 0;
}

/* Inserts @text (taken) as a new line at @at. */
static int line_insert(struct provision_ini *ini, size_t at, char *text)
{
        if (!text || lines_grow(ini) < 0) {
                free(text);
                return -ENOMEM;
        }
        /* The line before gets a line end, or the new line would join it. */
        if (at && !*ini->lines[at - 1].eol) {
                if (line_keep_original(&ini->lines[at - 1]) < 0) {
                        free(text);
                        return -ENOMEM;
                }
                ini->lines[at - 1].eol = ini->eol;
        }
        memmove(&ini->lines[at + 1], &ini->lines[at], (ini->n - at) * sizeof(ini->lines[0]));
        memset(&ini->lines[at], 0, sizeof(ini->lines[0]));
        ini->lines[at].text = text;
        ini->lines[at].eol = ini->eol;
        ini->n++;
        return 0;
}

static char *key_line(const char *indent, size_t indent_len, const char *key, const char *value,
                      const char *tail)
{
        char *s;

        if (asprintf(&s, "%.*s%s =%s%s%s", (int)indent_len, indent, key, *value ? " " : "", value,
                     *value ? tail : "") < 0)
                return NULL;
        return s;
}

static int line_check_length(const char *s)
{
        return strlen(s) > INIFILE_LINE_MAX ? -E2BIG : 0;
}

/* Replaces the value on key line @l. Returns 1, or 0 when it already holds @value. */
static int set_on_line(struct ini_line *l, const struct line_parse *p, const char *key,
                       const char *value)
{
        char *s;
        int r;

        if (span_is(l->text, p->value, p->value_len, value))
                return 0;
        s = key_line(l->text, p->name, key, value, l->text + p->value + p->value_len);
        if (!s)
                return -ENOMEM;
        r = line_check_length(s);
        if (r < 0) {
                free(s);
                return r;
        }
        r = line_replace(l, s);
        return r < 0 ? r : 1;
}

int provision_ini_set(struct provision_ini *ini, const char *section, const char *key,
                      const char *value)
{
        size_t first_section = SIZE_MAX, insert_at = 0;
        bool in_section = false, in_first = false;
        struct line_parse p;
        char *s, *header;
        int r;

        if (!name_ok(section, " ") || !name_ok(key, "") || !provision_value_ok(value))
                return -EINVAL;
        for (size_t i = 0; i < ini->n; i++) {
                line_parse(ini->lines[i].text, i == 0, &p);
                if (p.kind == LINE_SECTION) {
                        in_section = span_is(ini->lines[i].text, p.name, p.name_len, section);
                        in_first = in_section && first_section == SIZE_MAX;
                        if (in_first)
                                first_section = insert_at = i + 1;
                } else if (p.kind == LINE_KEY && in_section) {
                        if (span_is(ini->lines[i].text, p.name, p.name_len, key))
                                return set_on_line(&ini->lines[i], &p, key, value);
                        if (in_first)
                                insert_at = i + 1;
                }
        }
        s = key_line("", 0, key, value, "");
        if (!s)
                return -ENOMEM;
        r = line_check_length(s);
        if (r < 0) {
                free(s);
                return r;
        }
        if (first_section != SIZE_MAX) {
                r = line_insert(ini, insert_at, s);
                return r < 0 ? r : 1;
        }
        /* A new section at the end, set apart by a blank line. */
        if (ini->n && ini->lines[ini->n - 1].text[strspn(ini->lines[ini->n - 1].text, " \t")]) {
                r = line_insert(ini, ini->n, strdup(""));
                if (r < 0)
                        goto fail;
        }
        r = asprintf(&header, "[%s]", section) < 0 ? -ENOMEM : 0;
        if (r == 0)
                r = line_insert(ini, ini->n, header);
        if (r < 0)
                goto fail;
        r = line_insert(ini, ini->n, s);
        return r < 0 ? r : 1;
fail:
        free(s);
        return r;
}

int provision_ini_get(const struct provision_ini *ini, const char *section, const char *key,
                      char **value)
{
        bool in_section = false;
        struct line_parse p;

        *value = NULL;
        for (size_t i = 0; i < ini->n; i++) {
                const char *text = ini->lines[i].text;

                line_parse(text, i == 0, &p);
                if (p.kind == LINE_SECTION)
                        in_section = span_is(text, p.name, p.name_len, section);
                else if (p.kind == LINE_KEY && in_section &&
                         span_is(text, p.name, p.name_len, key)) {
                        *value = strndup(text + p.value, p.value_len);
                        return *value ? 0 : -ENOMEM;
                }
        }
        return 0;
}

const char *provision_ini_text(struct provision_ini *ini, size_t *len)
{
        size_t total = 0;
        char *p;

        for (size_t i = 0; i < ini->n; i++)
                total += strlen(ini->lines[i].text) + strlen(ini->lines[i].eol);
        free(ini->joined);
        ini->joined = malloc(total + 1);
        if (!ini->joined)
                return NULL;
        p = ini->joined;
        for (size_t i = 0; i < ini->n; i++) {
                p = stpcpy(p, ini->lines[i].text);
                p = stpcpy(p, ini->lines[i].eol);
        }
        *p = '\0';
        *len = total;
        return ini->joined;
}

static bool line_changed(const struct ini_line *l)
{
        return !l->old_no || l->old_text;
}

bool provision_ini_changed(const struct provision_ini *ini)
{
        for (size_t i = 0; i < ini->n; i++)
                if (line_changed(&ini->lines[i]))
                        return true;
        return false;
}

/* One side of a diff line; a line without a line end is marked as diff marks it. */
static void diff_line(char mark, const char *text, const char *eol, FILE *out)
{
        fprintf(out, "%c%s\n", mark, text);
        if (!*eol)
                fputs("\\ No newline at end of file\n", out);
}

/* Lines [from, to) of the text now as one hunk. */
static void diff_hunk(const struct provision_ini *ini, size_t from, size_t to, FILE *out)
{
        size_t old_start = 0, old_count = 0, new_count = to - from;

        for (size_t i = 0; i < from; i++)
                old_start += ini->lines[i].old_no != 0;
        for (size_t i = from; i < to; i++)
                old_count += ini->lines[i].old_no != 0;
        /* diff -u numbers an empty range by the line before it. */
        fprintf(out, "@@ -%zu,%zu +%zu,%zu @@\n", old_count ? old_start + 1 : old_start, old_count,
                from + 1, new_count);
        for (size_t i = from; i < to;) {
                size_t run = i;

                if (!line_changed(&ini->lines[i])) {
                        diff_line(' ', ini->lines[i].text, ini->lines[i].eol, out);
                        i++;
                        continue;
                }
                while (run < to && line_changed(&ini->lines[run]))
                        run++;
                for (size_t k = i; k < run; k++)
                        if (ini->lines[k].old_no)
                                diff_line('-', ini->lines[k].old_text, ini->lines[k].old_eol, out);
                for (size_t k = i; k < run; k++)
                        diff_line('+', ini->lines[k].text, ini->lines[k].eol, out);
                i = run;
        }
}

int provision_ini_diff(const struct provision_ini *ini, const char *old_name, const char *new_name,
                       FILE *out)
{
        size_t i = 0;

        if (!provision_ini_changed(ini))
                return 0;
        fprintf(out, "--- %s\n+++ %s\n", old_name, new_name);
        while (i < ini->n) {
                size_t first, last, from, to;

                while (i < ini->n && !line_changed(&ini->lines[i]))
                        i++;
                if (i == ini->n)
                        break;
                first = last = i;
                /* Changes closer than twice the context share a hunk. */
                for (size_t k = i + 1; k < ini->n && k <= last + 2 * DIFF_CONTEXT + 1; k++)
                        if (line_changed(&ini->lines[k]))
                                last = k;
                from = first > DIFF_CONTEXT ? first - DIFF_CONTEXT : 0;
                to = last + DIFF_CONTEXT + 1 < ini->n ? last + DIFF_CONTEXT + 1 : ini->n;
                diff_hunk(ini, from, to, out);
                i = to;
        }
        return ferror(out) ? -EIO : 0;
}
