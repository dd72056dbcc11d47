/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control: the daemon's local control socket, the one way in for people's actions
 * (acknowledge, silence, reset) from the CLI and, later, the desk page. A Unix stream socket in
 * the runtime directory; each connection sends one line and gets one line back:
 *
 *   request:  "acknowledge TARGET\n" | "silence TARGET\n" | "reset TARGET\n"
 *             TARGET is an incident id, or "building", "floor:N", "unit:ID", "zone:ID"
 *             "reset TARGET false-alarm\n": a reset by a manager who found the alarm false;
 *             the incidents it closes are marked so (incident.false_alarm_by and _at)
 *             "status all\n": what the daemon sees now
 *             "audit ACTION PARAMS\n": records a local look at the incident log (ACTION in
 *             a-z and -, PARAMS its filters as JSON) in the chained audit table
 *             "desk USER ADDRESS REQUEST\n": REQUEST (an action or an audit above) made on the
 *             desk's page by account USER from client ADDRESS (IPv4 or IPv6); recorded as
 *             "desk USER from ADDRESS" with the peer's uid, and in the audit table
 *   reply:    "ok WHAT\n" | "refused WHY\n" | "error WHY\n", for status followed by one JSON
 *             document (docs/daemon.md); the daemon closes the connection after it
 *
 * Who acts is never taken from the request: it is the caller's uid from the socket's peer
 * credentials (SO_PEERCRED), recorded with the action.
 */
#ifndef FIREGATE_CONTROL_H
#define FIREGATE_CONTROL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#define CONTROL_SOCKET_NAME "control.sock"
#define CONTROL_LINE_MAX    512
/* How long control_call() waits for the daemon to take a request and to answer it. */
#define CONTROL_CALL_TIMEOUT_S 5

struct control;

/* Handles one request from @who (e.g. "uid 1000 (alice)"): writes the reply to @reply, its
 * first line without the newline; control adds the last newline. */
typedef void (*control_request_fn)(void *ctx, const char *verb, const char *target, const char *who,
                                   FILE *reply);

/* Listens on @path (replacing a stale socket) on @event. Returns 0 or a negative errno (said). */
int control_new(sd_event *event, const char *path, control_request_fn fn, void *ctx,
                struct control **out);

/* Stops listening and removes the socket; NULL is a no-op. */
void control_free(struct control *c);

/* Client side: sends @verb @target to the daemon at @path and returns its whole reply in
 * *@reply (NUL-terminated, the caller frees it). Returns 0 when a reply came, -ECONNREFUSED /
 * -ENOENT when no daemon listens there, -ETIMEDOUT when it does not answer within
 * CONTROL_CALL_TIMEOUT_S, or another negative errno. */
int control_call(const char *path, const char *verb, const char *target, char **reply);

#endif
