/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log: the gateway's messages, one line each, with syslog priorities that journald
 * understands. Under systemd (JOURNAL_STREAM set) each line carries a "<N>" prefix so the
 * journal files it at the right priority; on a terminal it carries the program name.
 *
 * Errors are said once, where the most is known: the log_*_errno() helpers log and return
 * the negative errno they were given, so `return log_error_errno(r, "...")` is one step.
 */
#ifndef FIREGATE_LOG_H
#define FIREGATE_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Sets the highest priority that is written (LOG_ERR .. LOG_DEBUG) and whether lines are
 * prefixed for journald. Called once by main before anything logs. */
void log_setup(int max_priority, bool journal);

/* Whether lines go to journald's stream with their priority (log_setup()'s @journal). */
bool log_is_journal(void);

/* Parses "error", "warning", "notice", "info" or "debug"; returns the priority or -EINVAL. */
int log_level_from_string(const char *s);

/* Returns the name of a priority as log_level_from_string() accepts it. */
const char *log_level_to_string(int priority);

/* Writes one line at @priority. */
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes one line at @priority with ": <strerror(-err)>" appended; returns @err, which must be a
 * negative errno. */
int log_msg_errno(int priority, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define log_error(...)              log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...)            log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)             log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)               log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)              log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_error_errno(err, ...)   log_msg_errno(LOG_ERR, (err), __VA_ARGS__)
#define log_warning_errno(err, ...) log_msg_errno(LOG_WARNING, (err), __VA_ARGS__)
#define log_debug_errno(err, ...)   log_msg_errno(LOG_DEBUG, (err), __VA_ARGS__)

#endif
