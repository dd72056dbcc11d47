/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chain: the hash chain over the incident log's record (schema/005_evidence.sql,
 * docs/evidence.md).
 *
 * Each row of incident_event, engine_event, command and audit gets a chain entry when it is
 * written: content = SHA-256 of the row as a JSON array (the table's name, then its columns in
 * order, as SQLite's json_array() writes them), hash = SHA-256(previous hash || content), the
 * first entry's previous hash being 32 zero bytes. The entries are written by TEMP triggers
 * that chain_attach() creates on the gateway's own read-write connections: a row written by
 * any other program has no entry, which chain_verify() names.
 *
 * A row lost to damage (a salvaged store, docs/store.md) leaves its entry behind and reads as
 * deleted, or, partly overwritten, as changed. `firegate declare-loss` states such losses in a
 * declaration (loss.h): an audit row, chained like any other, that names those entries and the
 * state of each (missing, or damaged with the content of the row left in its place). From then
 * on chain_verify() counts them apart from problems, checks that each is still in the state
 * declared, and neither they nor the rows in their places are exported. A declaration is a
 * statement: it says that rows are gone, not why; only the kept damaged copy shows damage.
 */
#ifndef FIREGATE_CHAIN_H
#define FIREGATE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "crypto.h"

#define CHAIN_HEAD_HEX (2 * CRYPTO_SHA256_LEN + 1)

/* Registers the SQL functions firegate_sha256(X) and firegate_chain(PREV, CONTENT) on @db, and
 * with @writer the triggers that chain every new row; a store written before the chain existed
 * has its rows chained once, in the order they were written. Returns 0 or a negative errno
 * (said). */
int chain_attach(sqlite3 *db, bool writer);

/* The SQL expression of a row's content (json_array of its columns) for @table, with column
 * names qualified by @prefix ("NEW." in a trigger, "" in a query). Written into @buf; returns
 * -EINVAL for a table that is not chained. */
int chain_content_sql(const char *table, const char *prefix, char *buf, size_t size);

/* The columns of chained @table in content order (NULL-terminated), or NULL for a table that is
 * not chained. */
const char *const *chain_columns(const char *table);

/* The head: the last entry's hash as hex (all zeros for an empty chain) and its seq. */
int chain_head(sqlite3 *db, char hex[CHAIN_HEAD_HEX], long long *seq);

/* An entry whose row is lost: declared so, or one a declaration could cover. */
struct chain_lost {
        long long seq;
        char tbl[16];
        long long row_id;
        bool damaged;                       /* a row is in its place, not the one chained */
        uint8_t content[CRYPTO_SHA256_LEN]; /* when damaged: the content of that row */
        long long declaration;              /* the audit id of the declaration, or 0 */
};

struct chain_report {
        long long entries;      /* entries checked */
        long long rows;         /* rows of the chained tables */
        bool ok;                /* no problem; entries may still be declared lost (@lost) */
        char problem[512];      /* the first problem, for people; "" when ok */
        char undeclarable[512]; /* the first of the @broken problems, ""  when none */
        long long unmatched;    /* problems: entries whose row is missing or changed, that no
                                   declaration covers and one could (@unmatched_rows) */
        long long broken;       /* problems no declaration can cover: rows inserted, links
                                   broken, the earlier head not in the chain, a declaration
                                   that does not count or a declared row not as declared */
        long long lost;         /* entries declared lost (@lost_rows): no problem, but the log
                                   is not whole */
        char loss[2048];        /* those, for people: which, declared when, by whom, why */
        long long late;         /* with a head: declarations made after it that declare
                                   entries at or before it lost */
        char warnings[1024];    /* those, for people, one a line */
        char head[CHAIN_HEAD_HEX];
        bool head_found; /* the head given to chain_verify() is an entry of the chain */
        struct chain_lost *lost_rows;      /* @lost entries, in chain order */
        struct chain_lost *unmatched_rows; /* @unmatched entries, in chain order */
};

/* Walks the whole chain and every chained table; names the first row changed, inserted or
 * deleted, or the first entry whose link is broken, and counts them all; lists apart the
 * entries declared lost (loss.h decides which declarations count) and those a declaration could
 * cover. With @expected_head (hex), also checks that this earlier head is still an entry of the
 * chain (a chain rewritten before it would not contain it) and names the declarations made
 * after it that reach back before it. Reads one snapshot (its own read transaction, unless the
 * caller has one open). Returns 0 (the verdict is in @out; free its lists with
 * chain_report_clear()) or a negative errno (said). */
int chain_verify(sqlite3 *db, const char *expected_head, struct chain_report *out);

/* Frees @r's lists; @r may be zeroed or already cleared. */
void chain_report_clear(struct chain_report *r);

#endif
