/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loss: declarations of rows lost to damage (docs/evidence.md, "Rows lost to damage").
 *
 * A declaration is an audit row, chained like any other, with action "declare-loss", result
 * "declared" and params
 *   {"lost": [[first seq, last seq], ...], "damaged": [[seq, "SHA-256 hex"], ...],
 *    "reason": TEXT, "damaged_copy_sha256": HEX}
 * "lost" names chain entries in ascending runs that do not overlap, all before the
 * declaration's own entry; each is missing (no row in its place) unless "damaged" names it with
 * the content (chain.h) of the row that was in its place when it was declared. "damaged" and
 * "damaged_copy_sha256" (the kept damaged store file) may be absent.
 *
 * Which declarations count is decided here, once, for verify-log, export and declare-loss
 * alike. In chain order, a declaration counts only if its row is the one its chain entry was
 * made from (a row written into a lost place, or a declaration changed later, never counts)
 * and its params are as above, naming no entry that an earlier counted declaration names and no
 * counted declaration's own entry: so a later declaration can neither widen, undo nor take over
 * an earlier one. A chained declaration that fails those is a problem of the log, never a
 * declaration. What counts is still a statement, not a proof: whoever can run declare-loss can
 * delete rows and declare them lost; only the kept damaged copy shows damage.
 */
#ifndef FIREGATE_LOSS_H
#define FIREGATE_LOSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "chain.h"
#include "crypto.h"

#define LOSS_ACTION     "declare-loss"
#define LOSS_RESULT     "declared"
#define LOSS_REASON_MAX 1000

/* One declaration's params, parsed. */
struct loss_params;

/* Parses @text, the params of the declaration whose own chain entry is @own_seq (0 when it is
 * not known, as in an export: then entries are only checked to be positive). Returns 0 with
 * *@out (free with loss_params_free()), -EBADMSG with why in @why, or -ENOMEM. */
int loss_params_parse(const char *text, long long own_seq, struct loss_params **out, char *why,
                      size_t why_len);

void loss_params_free(struct loss_params *p);

/* The state @p declares entry @seq in: 0 not declared, 1 missing, 2 damaged (and then, with
 * @content, the content of the row declared). */
int loss_params_state(const struct loss_params *p, long long seq, const uint8_t **content);

/* The params of a new declaration of @n entries (@lost, in chain order: chain_report's
 * unmatched rows), with @reason and, when not NULL, @copy_sha256 (64 hex digits), as compact
 * JSON (caller frees). Returns NULL when out of memory, when @n is 0 (a declaration never
 * declares nothing), or when @reason is not loss_text_ok(). */
char *loss_params_new(const struct chain_lost *lost, size_t n, const char *reason,
                      const char *copy_sha256);

/* Whether @s is text a declaration may hold: valid UTF-8, 1 to LOSS_REASON_MAX bytes, and no
 * control characters (C0, DEL, C1) or bidirectional overrides, which could make a verdict on
 * a terminal show other text than the log holds. */
bool loss_text_ok(const char *s);

/* Copies @s for a message to people, each byte of a character that loss_text_ok() refuses
 * written as \xHH and anything beyond @size cut with "..."; NULL reads as "?". Returns @buf. */
const char *loss_printable(const char *s, char *buf, size_t size);

/* Appends printf-style to @buf of @size, which holds *@used bytes; past the end *@used is
 * @size or more and nothing more is written: end the text with loss_text_end(). */
void loss_appendf(char *buf, size_t size, size_t *used, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Ends @buf with "..." when loss_appendf() found it full. */
void loss_text_end(char *buf, size_t size, size_t used);

/* The declarations that count in one log, with what each declares. */
struct loss_book;

/* Reads every chained declaration of @db in chain order and decides which count. Returns 0
 * with *@out (free with loss_book_free()), -EIO or -ENOMEM (not said: chain_verify() says
 * it). */
int loss_book_read(sqlite3 *db, struct loss_book **out);

void loss_book_free(struct loss_book *b);

/* The audit id of the counted declaration that declares entry @seq lost, with its state (as
 * loss_params_state()), or 0. */
long long loss_book_find(const struct loss_book *b, long long seq, int *state,
                         const uint8_t **content);

/* Why the declaration whose own chain entry is @seq, chained and unchanged, does not count, or
 * NULL (it counts, or entry @seq is no such declaration). */
const char *loss_book_refused(const struct loss_book *b, long long seq);

/* One line per counted declaration made after entry @head_seq (the head the platform holds)
 * that declares entries at or before it lost, separated by '\n', into @buf. Returns how many. */
int loss_book_after_head(const struct loss_book *b, long long head_seq, char *buf, size_t size);

/* @n entries (in chain order) for people: "chain entries 4 to 6, 11: engine_event #4 to #6,
 * audit #1", every table named with the runs of its rows. Written into @buf (cut with "..."). */
void loss_describe_rows(const struct chain_lost *l, size_t n, char *buf, size_t size);

/* The losses @l (@n entries declared lost, in chain order) for people: how many, which, and
 * every declaration with when, by whom and why. Written into @buf (cut with "..."). */
void loss_describe(const struct loss_book *b, const struct chain_lost *l, size_t n, char *buf,
                   size_t size);

#endif
