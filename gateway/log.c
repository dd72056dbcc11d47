/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log: writes each message as one line on stderr. The settings below are the one piece of
 * process-wide mutable state outside main.c: logging is process-wide by nature (as syslog(3)
 * is), and threading a context through every helper only to print would obscure the code.
 * They are written once by log_setup() before any thread exists and only read afterwards.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int log_max_priority = LOG_INFO;
static bool log_journal;

static const char *const log_level_names[] = {
        [LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_setup(int max_priority, bool journal)
{
        log_max_priority = max_priority;
        log_journal = journal;
}

bool log_is_journal(void)
{
        return log_journal;
}

int log_level_from_string(const char *s)
{
        for (int p = LOG_ERR; p <= LOG_DEBUG; p++)
                if (strcasecmp(s, log_level_names[p]) == 0)
                        return p;
        return -EINVAL;
}

const char *log_level_to_string(int priority)
{
        if (priority < LOG_ERR || priority > LOG_DEBUG)
                return "?";
        return log_level_names[priority];
}

static const char *log_prefix(int priority)
{
        if (priority < LOG_ERR)
                return "critical: ";
        if (priority == LOG_ERR)
                return "error: ";
        return priority == LOG_WARNING ? "warning: " : "";
}

static void log_write(int priority, const char *suffix, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

static void log_write(int priority, const char *suffix, const char *fmt, va_list ap)
{
        char line[2048];

        if (priority > log_max_priority)
                return;
        vsnprintf(line, sizeof(line), fmt, ap);
        if (log_journal)
                fprintf(stderr, "<%d>%s%s\n", priority, line, suffix ? suffix : "");
        else
                fprintf(stderr, "firegate: %s%s%s\n", log_prefix(priority), line,
                        suffix ? suffix : "");
}

void log_msg(int priority, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_write(priority, NULL, fmt, ap);
        va_end(ap);
}

int log_msg_errno(int priority, int err, const char *fmt, ...)
{
        char suffix[256];
        va_list ap;

        snprintf(suffix, sizeof(suffix), ": %s", strerror(err < 0 ? -err : err));
        va_start(ap, fmt);
        log_write(priority, suffix, fmt, ap);
        va_end(ap);
        return err;
}
