/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * web: the security desk's page, `firegate web` (docs/desk.md). An HTTP(S) server on
 * libmicrohttpd, driven from the process's sd-event loop (libmicrohttpd's epoll descriptor and
 * its timeout; no thread of its own). It serves the page's files, logs people in (users,
 * session), shows the store read-only and pushes changes by Server-Sent Events, and passes
 * every action to the daemon's control socket: the life-safety daemon never parses HTTP, and
 * alarms whether this process runs or not.
 */
#ifndef FIREGATE_WEB_H
#define FIREGATE_WEB_H

#include <systemd/sd-event.h>

#include "config.h"
#include "store.h"

struct web;

/* Starts serving on @c's [web] listen address, with the store @s (opened read-only; borrowed)
 * and the daemon's control socket under @c's runtime directory. Returns 0 and sets *@out, or a
 * negative errno (said): -EINVAL for a config that does not allow it (plain HTTP off loopback
 * without insecure = yes, a missing page file), the errno of a certificate that cannot be read
 * or an address that cannot be bound. */
int web_new(sd_event *event, const struct config *c, struct store *s, struct web **out);

/* Ends every live stream, closes every connection and frees @w; NULL is a no-op. */
void web_free(struct web *w);

#endif
