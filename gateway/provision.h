/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * provision: edits the text of a config file in place, for `firegate provision`. Each key is
 * set in its section: the value of an existing `key = value` line is replaced, or the line is
 * added; every other byte stays as it was (comments, commented-out keys, blank lines, CRLF line
 * ends, a byte order mark, a last line without a line end).
 *
 * Lines are read by the rules of inifile.h, so the line changed here is the line the config
 * reader takes for that key. A value that the reader would read back differently (a control
 * character or a line end, whitespace around it, a ';' after whitespace, which starts an
 * inline comment) is refused rather than written.
 *
 * Pure: text in, text out; no file is touched.
 */
#ifndef FIREGATE_PROVISION_H
#define FIREGATE_PROVISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct provision_ini;

/* A text to edit: a copy of @len bytes of @text (which may hold no NUL byte). Returns 0 with
 * *@out set, -EINVAL for a text holding a NUL byte, or -ENOMEM. */
int provision_ini_new(const char *text, size_t len, struct provision_ini **out);

/* Frees @ini; NULL is a no-op. */
void provision_ini_free(struct provision_ini *ini);

/* Whether @value, written as `key = value`, would be read back as exactly @value. */
bool provision_value_ok(const char *value);

/* Sets @key of [@section] to @value:
 *   - the first `key = value` line of @key under a [@section] header (any of them, when the
 *     section appears more than once) gets the new value, keeping its indentation, an inline
 *     comment after the value and its line end; a line that already holds @value is left as
 *     it is;
 *   - else `key = value` is added after the last key line of the first [@section], or right
 *     under its header when it has none;
 *   - else a blank line, `[@section]` and `key = value` are appended at the end.
 * Comment lines ('#' or ';' first) are never taken for keys. Added lines end as the text's
 * first line does (CRLF or LF; LF when no line has an end); a last line without a line end
 * gets one when a line is added after it.
 * Returns 1 when the text changed, 0 when @key already held @value, -EINVAL for a value that
 * provision_value_ok() refuses or a malformed section or key name, -E2BIG when the line would
 * be longer than the config reader takes (INIFILE_LINE_MAX), or -ENOMEM. */
int provision_ini_set(struct provision_ini *ini, const char *section, const char *key,
                      const char *value);

/* The value of @key in [@section] as the config reader reads it (the first such line), as a new
 * string in *@value that the caller frees; *@value is NULL when no line sets the key. Returns 0
 * or -ENOMEM. */
int provision_ini_get(const struct provision_ini *ini, const char *section, const char *key,
                      char **value);

/* The text as it is now: NUL-terminated, *@len bytes without the NUL, owned by @ini and valid
 * until the next call on it. NULL when out of memory. */
const char *provision_ini_text(struct provision_ini *ini, size_t *len);

/* Whether the text differs from the one given to provision_ini_new(). */
bool provision_ini_changed(const struct provision_ini *ini);

/* Writes the changes as a unified diff (as `diff -u`: three lines of context), the original
 * text labelled @old_name and the text now @new_name. Writes nothing when nothing changed.
 * Returns 0 or -EIO when @out fails. */
int provision_ini_diff(const struct provision_ini *ini, const char *old_name, const char *new_name,
                       FILE *out);

#endif
