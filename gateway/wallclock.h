/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wallclock: the real-time clock as UTC milliseconds, the unit of every time in the store and
 * upstream. The engine runs on CLOCK_MONOTONIC instead, which never jumps; only what is written
 * down or sent is in wall-clock time.
 */
#ifndef FIREGATE_WALLCLOCK_H
#define FIREGATE_WALLCLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t wallclock_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
