/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inifile: libinih with a line reader of our own in front of it.
 *
 * inih splits lines into sections and key = value pairs; the reader we hand it does the rest.
 * It counts lines (Debian 12's inih gives the handler no line number) and reports the lines
 * inih would reject or misread: lines too long for inih's buffer, whose tail inih would take
 * for a new line; lines with no '='; unterminated [sections]. Such a line reaches inih as an
 * empty line, so each error is reported once, at its own line, and parsing goes on. It also
 * strips leading whitespace, which inih would read as a continuation of the previous key's
 * value: an indented line is an ordinary line here.
 *
 * The section and key names handed to the callbacks are the ones the reader saw, not inih's
 * copies, which inih cuts at 49 characters: "[supervision " and a 64-character rule name
 * would otherwise reach the caller as a different name.
 */
#include "inifile.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

_Static_assert(INIFILE_LINE_MAX == INI_MAX_LINE - 3, "INIFILE_LINE_MAX follows inih's buffer");

/* The state of one inifile_parse(), shared by the line reader and inih's handler. */
struct inifile_parse {
        const struct inifile_ops *ops;
        void *user;
        struct diag *d;
        const char *path; /* as the caller gave it, for messages */
        const char *pos;  /* the next line of the file's text */
        const char *end;
        unsigned line;
        bool skip_section;          /* keys under a malformed or refused [section] were
                                       reported there */
        char section[INI_MAX_LINE]; /* the current section, as written */
        char name[INI_MAX_LINE];    /* the key of the line inih is handed */
        int fatal;                  /* a callback's errno that stops the parse */
};

/* Levenshtein distance, ignoring case, for "did you mean" hints. Key and section names are
 * short; anything longer than HINT_NAME_MAX is simply "far". */
#define HINT_NAME_MAX 64

static size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b), row[HINT_NAME_MAX + 1];

        if (la > HINT_NAME_MAX || lb > HINT_NAME_MAX)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t corner = row[0];

                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        bool differ = tolower((unsigned char)a[i - 1]) !=
                                      tolower((unsigned char)b[j - 1]);
                        size_t above = row[j], best = corner + differ;

                        if (above + 1 < best)
                                best = above + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        corner = above;
                }
        }
        return row[lb];
}

/* A hint is worth giving for a typo of one or two characters, not for a different word. */
bool inifile_similar(const char *typed, const char *known)
{
        size_t dist = edit_distance(typed, known);

        return dist <= 2 && dist < strlen(known) / 2 + 1;
}

/* inih's find_chars_or_comment(): the first of @chars, or a ';' after whitespace, which starts
 * an inline comment; the end of @s when there is neither. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
        bool was_space = false;

        while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
                was_space = isspace((unsigned char)*s);
                s++;
        }
        return s;
}

/* Copies @len bytes of @s into @buf (INI_MAX_LINE bytes) as a string. */
static void copy_part(char *buf, const char *s, size_t len)
{
        if (len >= INI_MAX_LINE) /* cannot happen: the line came in a buffer of that size */
                len = INI_MAX_LINE - 1;
        memcpy(buf, s, len);
        buf[len] = '\0';
}

/* Checks a [section] line and asks the caller about its name; false when it is malformed. */
static bool inifile_check_section(struct inifile_parse *p, const char *s)
{
        const char *close = find_chars_or_comment(s + 1, "]"), *rest;
        int r;

        /* Until a well-formed header comes, the keys that follow belong to no section we can
         * name; reporting them against the previous one would mislead. */
        p->skip_section = true;
        if (*close != ']')
                return false;
        for (rest = close + 1; isspace((unsigned char)*rest); rest++)
                ;
        if (*rest && *rest != ';' && *rest != '#')
                return false;
        copy_part(p->section, s + 1, (size_t)(close - s - 1));
        r = p->ops->section_ok(p->user, p->section, p->line);
        if (r == 0)
                p->skip_section = false;
        else if (r != -EINVAL)
                p->fatal = r;
        return true;
}

/* Checks a line inih is about to parse, leading whitespace already gone; false for a line that
 * must not reach inih. Every message is added here. */
static bool inifile_check_line(struct inifile_parse *p, const char *s)
{
        const char *sep, *name_end;

        p->name[0] = '\0';
        if (*s == '\n' || *s == ';' || *s == '#')
                return true;
        if (*s == '[') {
                if (inifile_check_section(p, s))
                        return true;
        } else {
                /* inih also takes "key: value"; one separator keeps files greppable. */
                sep = find_chars_or_comment(s, "=:");
                if (*sep == '=' && sep > s) {
                        for (name_end = sep; name_end > s && isspace((unsigned char)name_end[-1]);
                             name_end--)
                                ;
                        copy_part(p->name, s, (size_t)(name_end - s));
                        return true;
                }
        }
        diag_add(p->d, p->path, p->line, "expected 'key = value' or '[section]'");
        return false;
}

static char *empty_line(char *str)
{
        str[0] = '\n';
        str[1] = '\0';
        return str;
}

/* inih's fgets-like reader over the file's text: one call, one line, so p->line is the line
 * inih hands to inifile_handle_key() next. @num is inih's buffer, which holds a line of
 * num - 3 characters with "\r\n" and the NUL. */
static char *inifile_read_line(char *str, int num, void *stream)
{
        struct inifile_parse *p = stream;
        size_t max = num > 3 ? (size_t)num - 3 : 0, len;
        const char *start = p->pos, *nl;

        /* A callback's fatal error ends the file for inih, so nothing more is reported. */
        if (p->pos >= p->end || p->fatal)
                return NULL;
        p->line++;
        nl = memchr(start, '\n', (size_t)(p->end - start));
        len = (size_t)((nl ? nl : p->end) - start);
        p->pos = nl ? nl + 1 : p->end;
        if (p->line == 1 && len >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
                start += 3;
                len -= 3;
        }
        if (len && start[len - 1] == '\r')
                len--;
        if (len > max) {
                diag_add(p->d, p->path, p->line, "line too long (max %zu characters)", max);
                return empty_line(str);
        }
        if (memchr(start, '\0', len)) {
                diag_add(p->d, p->path, p->line, "line holds a NUL byte");
                return empty_line(str);
        }
        /* isspace() as inih's lskip() has it: inih reads any leading whitespace as a
         * continuation of the previous key's value. */
        while (len && isspace((unsigned char)*start)) {
                start++;
                len--;
        }
        memcpy(str, start, len);
        str[len] = '\n';
        str[len + 1] = '\0';
        return inifile_check_line(p, str) ? str : empty_line(str);
}

static int inifile_handle_key(void *user, const char *section, const char *name, const char *value)
{
        struct inifile_parse *p = user;
        int r;

        (void)section; /* p->section is the uncut name */
        /* Some inih builds announce each [section] with a NULL name; the reader checked it. */
        if (!name || !value || p->skip_section || p->fatal)
                return 1;
        /* inih takes ';' for a comment only after a space: "key =;x" would be read as ";x"
         * and written back by config_print() as "key = ;x", which reads as empty. */
        if (value[0] == ';') {
                diag_add(p->d, p->path, p->line,
                         "a value may not begin with ';' (after a space it starts a comment)");
                return 1;
        }
        r = p->ops->key(p->user, p->section, p->name[0] ? p->name : name, value, p->line);
        if (r < 0 && r != -EINVAL)
                p->fatal = r;
        /* Errors are collected in the diag; a zero would only make inih count them again. */
        return 1;
}

int inifile_parse_text(const char *path, const char *text, size_t len,
                       const struct inifile_ops *ops, void *user, struct diag *d)
{
        struct inifile_parse p = {.ops = ops, .user = user, .d = d, .path = path};
        size_t errors = diag_count(d);
        int r;

        p.pos = text;
        p.end = text + len;
        r = ini_parse_stream(inifile_read_line, &p, inifile_handle_key, &p);
        if (p.fatal)
                return p.fatal;
        if (r == -2)
                return -ENOMEM;
        /* The reader hands inih only lines it accepts, so inih finds nothing more; should a
         * build disagree, its first error line still fails the parse with a message. */
        if (r > 0 && diag_count(d) == errors)
                diag_add(d, path, (unsigned)r, "expected 'key = value' or '[section]'");
        return diag_count(d) > errors ? -EINVAL : 0;
}

int inifile_parse(const char *path, size_t max_bytes, const struct inifile_ops *ops, void *user,
                  struct diag *d)
{
        char *text = NULL;
        size_t len;
        int r;

        r = fileio_read_all(path, max_bytes, &text, &len);
        if (r < 0) {
                diag_add(d, path, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        r = inifile_parse_text(path, text, len, ops, user, d);
        free(text);
        return r;
}
