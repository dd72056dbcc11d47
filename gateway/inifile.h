/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inifile: reads one INI file (the config, the rule files) with libinih and reports every line
 * that inih would reject or misread as "path:line: message", so that a caller only decides
 * which sections and keys it knows. The rules of the format, shared by every INI file of the
 * gateway:
 *
 *   - a line is a comment (';' or '#' first), a [section] header, or `key = value`; anything
 *     else, `key: value` included, is an error at its own line;
 *   - leading whitespace is ignored: an indented line is an ordinary line, never the
 *     continuation of the previous value;
 *   - a value ends at an inline comment (';' after whitespace); whitespace around names and
 *     values is dropped;
 *   - lines are at most INIFILE_LINE_MAX characters (line end excluded); a UTF-8 byte order
 *     mark and CRLF line ends are accepted; a NUL byte is an error.
 *
 * Keys under a header that is malformed or that the caller refuses are skipped, since the
 * header's message already covers them; parsing goes on to the end so that every error shows.
 */
#ifndef FIREGATE_INIFILE_H
#define FIREGATE_INIFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* inih's INI_MAX_LINE of 200, less "\r\n" and the NUL. */
#define INIFILE_LINE_MAX 197

struct inifile_ops {
        /* A well-formed [section] header: @section is the text between the brackets, as
         * written. Returns 0 to accept it; -EINVAL to refuse it, having added its own message
         * (the keys up to the next header are then skipped); any other negative errno stops
         * the parse, and inifile_parse() returns it. */
        int (*section_ok)(void *user, const char *section, unsigned line);
        /* One `name = value` under an accepted header; @section is "" before any header.
         * Returns 0 or -EINVAL (its message added) to go on; any other negative errno stops the
         * parse, and inifile_parse() returns it. The strings live only for the call. */
        int (*key)(void *user, const char *section, const char *name, const char *value,
                   unsigned line);
};

/* Reads @path (at most @max_bytes) and calls @ops with @user for each header and key, in file
 * order. Messages go to @d as "path:line: message". Returns 0; -EINVAL when any message was
 * added to @d during the parse (by this reader or by the callbacks); the negative errno of
 * reading the file (added to @d as "path: cannot read: ..."); -ENOMEM; or the errno with which
 * a callback stopped the parse. */
int inifile_parse(const char *path, size_t max_bytes, const struct inifile_ops *ops, void *user,
                  struct diag *d);

/* The same over @len bytes of @text, read as the contents of @path (named in the messages): a
 * file being edited that is not written yet. */
int inifile_parse_text(const char *path, const char *text, size_t len,
                       const struct inifile_ops *ops, void *user, struct diag *d);

/* Whether @typed is a likely typo of @known (one or two characters off, ignoring case), for
 * "did you mean" hints. */
bool inifile_similar(const char *typed, const char *known);

#endif
