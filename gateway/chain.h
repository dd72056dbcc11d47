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
 * declaration: an audit row, chained like any other, whose params list the entries whose rows
 * were missing or changed when it was made. From then on those entries are lost: their rows
 * are neither checked nor exported, and chain_verify() counts them apart from problems. A
 * declaration covers only entries before its own, never a row inserted, a broken link, or a
 * row deleted or changed after it.
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

/* The audit row of a declaration: this action, this result (which the control socket's audit
 * requests never write: only declare-loss, writing into the store itself, does), and params
 * {"lost": [[first seq, last seq], ...], "missing": N, "damaged": N, "reason": TEXT}. */
#define CHAIN_DECLARATION_ACTION "declare-loss"
#define CHAIN_DECLARATION_RESULT "declared"

struct chain_report {
        long long entries;   /* entries checked */
        long long rows;      /* rows of the chained tables */
        bool ok;             /* no problem; entries may still be declared lost (@lost) */
        char problem[512];   /* the first problem, for people; "" when ok */
        long long unmatched; /* problems: entries whose row is missing or changed, undeclared */
        long long broken;    /* problems: the others (rows inserted, links broken, the earlier
                                head not in the chain) */
        long long lost;      /* entries declared lost: no problem, but the log is not whole */
        char loss[512];      /* those, for people: which entries, declared when, by whom, why */
        char head[CHAIN_HEAD_HEX];
        bool head_found; /* the head given to chain_verify() is an entry of the chain */
};

/* Walks the whole chain and every chained table; names the first row changed, inserted or
 * deleted, or the first entry whose link is broken, and counts them all; counts apart the
 * entries declared lost. With @expected_head (hex), also checks that this earlier head is still
 * an entry of the chain (a chain rewritten before it would not contain it). Returns 0 (the
 * verdict is in @out) or a negative errno. */
int chain_verify(sqlite3 *db, const char *expected_head, struct chain_report *out);

/* An entry whose row is lost, or about to be declared so. */
struct chain_lost {
        long long seq;
        char tbl[16];
        long long row_id;
        bool damaged;          /* chain_unmatched(): a row is in its place, not the one chained */
        long long declaration; /* chain_declared(): the audit id of the declaration */
};

/* Calls @fn for every entry declared lost, in chain order, until it returns non-zero (which is
 * returned). Returns 0, that, or -EIO (said). */
int chain_declared(sqlite3 *db, int (*fn)(const struct chain_lost *l, void *ctx), void *ctx);

/* The same for every entry whose row is missing or is not the one chained, and that no
 * declaration covers: what a declaration made now would declare. Hashes every row. */
int chain_unmatched(sqlite3 *db, int (*fn)(const struct chain_lost *l, void *ctx), void *ctx);

#endif
