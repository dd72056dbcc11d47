/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * web_request: the pure parts of reading the desk's requests: form fields of an
 * application/x-www-form-urlencoded body and the paths of incident actions. Everything that
 * arrives here came from the network, so every function bounds what it reads and writes.
 */
#ifndef FIREGATE_WEB_REQUEST_H
#define FIREGATE_WEB_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The largest body a request may carry: a login or an action's few fields. */
#define WEB_BODY_MAX 4096

/* Finds field @name in the urlencoded @body of @len bytes (not NUL-terminated) and writes its
 * decoded value ('+' is a space, %XX a byte) to @out of @size bytes, NUL-terminated. The first
 * field of that name counts. Returns 0, -ENOENT when there is no such field, -EINVAL for a
 * broken %-escape or a NUL byte in the value, -ENOBUFS when the value does not fit. */
int web_form_field(const char *body, size_t len, const char *name, char *out, size_t size);

/* The verbs an incident action may carry. */
#define WEB_ACTION_VERB_MAX 12

/* Parses @path as "/api/incidents/ID/VERB" with ID 1..2^53 in decimal (no sign, no leading
 * zero) and VERB acknowledge, silence or reset. Returns 0 with *@id and @verb set, -ENOENT for
 * a path of another shape, -EINVAL for a bad ID or an unknown verb. */
int web_action_path(const char *path, long long *id, char verb[WEB_ACTION_VERB_MAX]);

/* Parses a listening address, "IPv4:PORT" or "[IPv6]:PORT" with PORT 1..65535, into @addr and
 * @len. Returns 0 or -EINVAL. */
int web_parse_listen(const char *text, struct sockaddr_storage *addr, socklen_t *len);

/* Whether @addr is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104), where plain
 * HTTP never leaves the machine. */
bool web_is_loopback(const struct sockaddr *addr);

#endif
