/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay: the two line formats of `firegate replay` (docs/replay.md). One input line (a JSON
 * object) is parsed into a reading, a command or a move of the clock; one engine decision is
 * formatted as one JSON line with its keys in a fixed order. No I/O and no engine here: the
 * command (cli_replay.c) reads the file, drives the engine and prints, so both formats can be
 * tested without the binary.
 *
 * A line that cannot be taken is refused with a reason for people ("unknown reading 'smok'"),
 * never guessed at: a replay that quietly reads a line differently from what the log said would
 * reconstruct another night.
 */
#ifndef FIREGATE_REPLAY_H
#define FIREGATE_REPLAY_H

#include <stddef.h>

#include "engine.h"

#define REPLAY_ID_MAX     65   /* a detector id or name: 64 bytes and the NUL, as the engine */
#define REPLAY_TARGET_MAX 80   /* "unit:ID", "zone:ID", "floor:N", "building" or a detector id */
#define REPLAY_WHO_MAX    65   /* who gave a command: 64 bytes and the NUL */
#define REPLAY_WHY_MAX    256  /* a reason for refusing a line, with its NUL */
#define REPLAY_LINE_MAX   4096 /* longer lines are refused unread */

/* The latest time a line may carry, in ms: about 317 years, far past any log, and far enough
 * from INT64_MAX that the engine's deadlines (now + a delay) cannot overflow. */
#define REPLAY_T_MAX 10000000000000LL

enum replay_line_kind {
        REPLAY_SKIP,    /* a blank line or a comment: nothing to do */
        REPLAY_READING, /* {"t", "detector", "reading", "value", "test"} */
        REPLAY_COMMAND, /* {"t", "command", "target", "who"} */
        REPLAY_TICK,    /* {"t"} alone: only moves the clock */
};

struct replay_event {
        enum replay_line_kind kind;
        engine_time t; /* ms from the start */

        /* REPLAY_READING */
        char detector[REPLAY_ID_MAX];
        enum engine_reading_kind reading;
        double value;   /* true 1, false 0, "online" 1, "offline" 0; 0 when not given */
        unsigned flags; /* ENGINE_READING_FLAG_TEST for "test": true */

        /* REPLAY_COMMAND */
        enum engine_command_kind command;
        char target[REPLAY_TARGET_MAX]; /* empty: the building */
        char who[REPLAY_WHO_MAX];       /* empty: not said */
};

/* Parses one line of @len bytes (its newline already removed; a trailing CR is ignored).
 * @last_t is the time of the last line taken, or -1 before the first: a line earlier than it is
 * refused, since the engine's clock never goes back. Returns 0 with *@ev filled (kind
 * REPLAY_SKIP for a blank line or one whose first non-blank character is '#'), -EINVAL with
 * the reason in @why (REPLAY_WHY_MAX bytes are enough), or -ENOMEM. Keeps no allocation past
 * the call. */
int replay_parse_line(const char *line, size_t len, engine_time last_t, struct replay_event *ev,
                      char *why, size_t why_len);

/* Formats @d as one JSON object on one line, without the newline, keys in this order and those
 * that do not apply left out: t, decision, detector, unit, floor, zone, output, fault, cause,
 * rule, who, first_detection (alarms and pre-alarms), flags. Returns 0 with *@out a string to
 * free(), or -ENOMEM. */
int replay_format_decision(const struct engine_decision *d, char **out);

/* Formats a notice line: {"t", "notice", "detector", "cause"}; as replay_format_decision(). */
int replay_format_notice(engine_time t, const char *notice, const char *detector, const char *cause,
                         char **out);

/* The names used in input lines; NULL for a value outside the enum. */
const char *replay_reading_name(enum engine_reading_kind k);
const char *replay_command_name(enum engine_command_kind k);

/* The name of one decision flag bit (ENGINE_FLAG_*), or NULL for a bit the engine does not
 * define. */
const char *replay_flag_name(unsigned bit);

#endif
