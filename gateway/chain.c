/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chain: the hash chain. The content of a row is computed by SQLite itself, json_array() over
 * its columns, so the trigger that writes an entry, chain_verify() and verify-export (which
 * loads an export's rows into an in-memory database) all serialise a row the same way. The
 * column lists are this file's table, the one place that says what a row's content is. Which
 * declarations of lost rows count is loss.c's to decide; chain_verify() asks it once per walk
 * and records the declared and the undeclared losses, which export and declare-loss then use.
 */
#include "chain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loss.h"

struct chained {
        const char *table;
        const char *columns[16]; /* NULL-terminated, in the table's order */
};

static const struct chained chained[] = {
        {"incident_event",
         {"id", "incident", "at", "decision", "detector", "place", "cause", "rule", "flags",
          "fault", "who", "output", NULL}},
        {"engine_event",
         {"id", "at", "decision", "detector", "unit", "floor", "place", "cause", "rule", "flags",
          "fault", "who", "output", NULL}},
        {"command",
         {"id", "at", "account", "verb", "request_id", "sent_at", "target", "operator", "result",
          "reason", "incident", NULL}},
        {"audit", {"id", "at", "who", "origin", "action", "params", "result", NULL}},
};

#define N_CHAINED (sizeof(chained) / sizeof(chained[0]))

static const struct chained *find_table(const char *table)
{
        for (size_t i = 0; i < N_CHAINED; i++)
                if (strcmp(chained[i].table, table) == 0)
                        return &chained[i];
        return NULL;
}

const char *const *chain_columns(const char *table)
{
        const struct chained *t = find_table(table);

        return t ? t->columns : NULL;
}

/* Appends @s to @buf (@size bytes, @o used); false when it does not fit. */
static bool append(char *buf, size_t size, size_t *o, const char *s)
{
        size_t n = strlen(s);

        if (*o + n >= size)
                return false;
        memcpy(buf + *o, s, n + 1);
        *o += n;
        return true;
}

int chain_content_sql(const char *table, const char *prefix, char *buf, size_t size)
{
        const struct chained *t = find_table(table);
        size_t o = 0;
        bool ok;

        if (!t)
                return -EINVAL;
        ok = append(buf, size, &o, "firegate_sha256(json_array('") &&
             append(buf, size, &o, t->table) && append(buf, size, &o, "'");
        for (size_t i = 0; ok && t->columns[i]; i++)
                ok = append(buf, size, &o, ", ") && append(buf, size, &o, prefix) &&
                     append(buf, size, &o, t->columns[i]);
        ok = ok && append(buf, size, &o, "))");
        return ok ? 0 : -ENOBUFS;
}

/* --- SQL functions --- */

static void fn_sha256(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
        uint8_t out[CRYPTO_SHA256_LEN];
        const void *data;
        int len;

        (void)argc;
        if (sqlite3_value_type(argv[0]) == SQLITE_BLOB)
                data = sqlite3_value_blob(argv[0]);
        else
                data = sqlite3_value_text(argv[0]);
        len = sqlite3_value_bytes(argv[0]);
        crypto_sha256(data ? data : "", (size_t)len, out);
        sqlite3_result_blob(ctx, out, sizeof(out), SQLITE_TRANSIENT);
}

static void fn_chain(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
        uint8_t in[2 * CRYPTO_SHA256_LEN], out[CRYPTO_SHA256_LEN];

        (void)argc;
        if (sqlite3_value_bytes(argv[0]) != CRYPTO_SHA256_LEN ||
            sqlite3_value_bytes(argv[1]) != CRYPTO_SHA256_LEN) {
                sqlite3_result_error(ctx, "firegate_chain: two 32-byte hashes expected", -1);
                return;
        }
        memcpy(in, sqlite3_value_blob(argv[0]), CRYPTO_SHA256_LEN);
        memcpy(in + CRYPTO_SHA256_LEN, sqlite3_value_blob(argv[1]), CRYPTO_SHA256_LEN);
        crypto_sha256(in, sizeof(in), out);
        sqlite3_result_blob(ctx, out, sizeof(out), SQLITE_TRANSIENT);
}

static int exec(sqlite3 *db, const char *sql, const char *what)
{
        char *err = NULL;

        if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
                return 0;
        log_error("the incident log's chain: %s: %s", what, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        return -EIO;
}

/* The last entry's hash, or 32 zero bytes before the first. In a TEMP trigger the target of
 * an INSERT cannot name its schema; "chain" resolves to main's, there being no temp one. */
#define LAST_HASH_SQL                                                                              \
        "coalesce((SELECT hash FROM main.chain ORDER BY seq DESC LIMIT 1), zeroblob(32))"

/* Chains, once, the rows a store held before it had a chain, in the order they were written
 * (time, then table, then id). */
static int chain_existing(sqlite3 *db)
{
        char content[1024], sql[2048];
        sqlite3_stmt *sel = NULL, *ins = NULL;
        int r, rc = SQLITE_DONE;

        r = exec(db,
                 "SAVEPOINT chain_existing; CREATE TEMP TABLE chain_todo (at, tbl, id, content)",
                 "starting");
        if (r < 0)
                return r;
        for (size_t i = 0; i < N_CHAINED && r == 0; i++) {
                chain_content_sql(chained[i].table, "", content, sizeof(content));
                snprintf(sql, sizeof(sql),
                         "INSERT INTO temp.chain_todo SELECT at, '%s', id, %s FROM main.%s",
                         chained[i].table, content, chained[i].table);
                r = exec(db, sql, "collecting the rows written before the chain");
        }
        if (r == 0 &&
            (sqlite3_prepare_v2(db,
                                "SELECT tbl, id, content FROM temp.chain_todo ORDER BY at, tbl, id",
                                -1, &sel, NULL) != SQLITE_OK ||
             sqlite3_prepare_v2(db,
                                "INSERT INTO main.chain (tbl, row_id, content, hash) SELECT ?1, "
                                "?2, ?3, firegate_chain(" LAST_HASH_SQL ", ?3)",
                                -1, &ins, NULL) != SQLITE_OK))
                r = -EIO;
        /* One entry after the other: each hash depends on the one before. */
        while (r == 0 && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
                sqlite3_reset(ins);
                for (int c = 0; c < 3; c++)
                        sqlite3_bind_value(ins, c + 1, sqlite3_column_value(sel, c));
                if (sqlite3_step(ins) != SQLITE_DONE)
                        r = -EIO;
        }
        if (r == 0 && sel && rc != SQLITE_DONE)
                r = -EIO;
        if (r == -EIO && sel)
                log_error("the incident log's chain: chaining earlier rows: %s",
                          sqlite3_errmsg(db));
        sqlite3_finalize(sel);
        sqlite3_finalize(ins);
        if (r == 0)
                r = exec(db,
                         "DROP TABLE temp.chain_todo; INSERT INTO main.meta (key, value) VALUES "
                         "('chain_started', CAST(strftime('%s', 'now') AS TEXT)); RELEASE "
                         "chain_existing",
                         "finishing");
        if (r < 0) {
                sqlite3_exec(db, "ROLLBACK TO chain_existing; RELEASE chain_existing", NULL, NULL,
                             NULL);
                sqlite3_exec(db, "DROP TABLE IF EXISTS temp.chain_todo", NULL, NULL, NULL);
        }
        return r;
}

static int query_exists(sqlite3 *db, const char *sql)
{
        sqlite3_stmt *st = NULL;
        int r = -EIO;

        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
                int rc = sqlite3_step(st);

                r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
        }
        sqlite3_finalize(st);
        return r;
}

int chain_attach(sqlite3 *db, bool writer)
{
        char content[1024], sql[2048];
        int r;

        if (sqlite3_create_function(db, "firegate_sha256", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                    fn_sha256, NULL, NULL) != SQLITE_OK ||
            sqlite3_create_function(db, "firegate_chain", 2,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                    fn_chain, NULL, NULL) != SQLITE_OK) {
                log_error("the incident log's chain: cannot register its functions: %s",
                          sqlite3_errmsg(db));
                return -ENOMEM;
        }
        r = query_exists(db, "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = "
                             "'chain'");
        if (r <= 0 || !writer)
                return r < 0 ? -EIO : 0;
        for (size_t i = 0; i < N_CHAINED; i++) {
                chain_content_sql(chained[i].table, "NEW.", content, sizeof(content));
                snprintf(sql, sizeof(sql),
                         "CREATE TEMP TRIGGER IF NOT EXISTS firegate_chain_%s AFTER INSERT ON "
                         "main.%s BEGIN INSERT INTO chain (tbl, row_id, content, hash) "
                         "SELECT '%s', NEW.id, c, firegate_chain(" LAST_HASH_SQL ", c) FROM "
                         "(SELECT %s AS c); END",
                         chained[i].table, chained[i].table, chained[i].table, content);
                r = exec(db, sql, "creating its triggers");
                if (r < 0)
                        return r;
        }
        r = query_exists(db, "SELECT 1 FROM main.meta WHERE key = 'chain_started'");
        if (r < 0)
                return r;
        return r ? 0 : chain_existing(db);
}

int chain_head(sqlite3 *db, char hex[CHAIN_HEAD_HEX], long long *seq)
{
        static const uint8_t zero[CRYPTO_SHA256_LEN];
        sqlite3_stmt *st = NULL;
        int r = 0, rc;

        crypto_hex(zero, sizeof(zero), hex);
        if (seq)
                *seq = 0;
        if (sqlite3_prepare_v2(db, "SELECT hash, seq FROM main.chain ORDER BY seq DESC LIMIT 1", -1,
                               &st, NULL) != SQLITE_OK)
                return -EIO;
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == CRYPTO_SHA256_LEN) {
                crypto_hex(sqlite3_column_blob(st, 0), CRYPTO_SHA256_LEN, hex);
                if (seq)
                        *seq = sqlite3_column_int64(st, 1);
        } else if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
                r = -EIO;
        }
        sqlite3_finalize(st);
        return r;
}

/* --- verification --- */

struct verifier {
        sqlite3 *db;
        sqlite3_stmt *content[N_CHAINED]; /* a row's content by id, and whether it declares */
        struct chain_report *out;
        struct loss_book *book;
        size_t n_lost, cap_lost, n_unmatched, cap_unmatched;
};

enum problem_kind {
        PROBLEM_UNMATCHED,
        PROBLEM_BROKEN,
};

static void problem(struct verifier *v, enum problem_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void problem(struct verifier *v, enum problem_kind kind, const char *fmt, ...)
{
        struct chain_report *out = v->out;
        va_list ap;

        if (kind == PROBLEM_UNMATCHED)
                out->unmatched++;
        else
                out->broken++;
        /* The first one is named, and the first a declaration cannot cover: what
         * declare-loss refuses for. */
        if (out->ok) {
                va_start(ap, fmt);
                vsnprintf(out->problem, sizeof(out->problem), fmt, ap);
                va_end(ap);
        }
        if (kind == PROBLEM_BROKEN && !out->undeclarable[0]) {
                va_start(ap, fmt);
                vsnprintf(out->undeclarable, sizeof(out->undeclarable), fmt, ap);
                va_end(ap);
        }
        out->ok = false;
}

/* Appends an entry to *@list (@n used, @cap allocated). */
static int keep(struct chain_lost **list, size_t *n, size_t *cap, const struct chain_lost *l)
{
        if (*n == *cap) {
                size_t more_cap = *cap ? 2 * *cap : 64;
                struct chain_lost *more = reallocarray(*list, more_cap, sizeof(*more));

                if (!more)
                        return -ENOMEM;
                *list = more;
                *cap = more_cap;
        }
        (*list)[(*n)++] = *l;
        return 0;
}

/* The entry @l's row, declared lost by audit #@l->declaration in @state, must still be in that
 * state: a row in a place declared missing, or a declared damaged row changed or deleted since,
 * is something done after the declaration. @now is the content of the row in its place, or
 * NULL. */
static int check_declared(struct verifier *v, struct chain_lost *l, int state,
                          const uint8_t *declared, const uint8_t *now)
{
        if (state == 1 && now)
                problem(v, PROBLEM_BROKEN,
                        "%s #%lld is in a place that audit #%lld declared missing (chain entry "
                        "%lld): written there after the declaration",
                        l->tbl, l->row_id, l->declaration, l->seq);
        else if (state == 2 && !now)
                problem(v, PROBLEM_BROKEN,
                        "%s #%lld, which audit #%lld declared damaged, was deleted since (chain "
                        "entry %lld)",
                        l->tbl, l->row_id, l->declaration, l->seq);
        else if (state == 2 && memcmp(now, declared, CRYPTO_SHA256_LEN) != 0)
                problem(v, PROBLEM_BROKEN,
                        "%s #%lld, which audit #%lld declared damaged, was changed since (chain "
                        "entry %lld)",
                        l->tbl, l->row_id, l->declaration, l->seq);
        l->damaged = state == 2;
        if (l->damaged)
                memcpy(l->content, declared, CRYPTO_SHA256_LEN);
        return keep(&v->out->lost_rows, &v->n_lost, &v->cap_lost, l);
}

/* The entry's row against its content: deleted, changed, declared lost, or as chained. */
static int check_row(struct verifier *v, sqlite3_stmt *st, struct chain_lost *l,
                     const uint8_t *content)
{
        static const uint8_t unreadable[CRYPTO_SHA256_LEN];
        const uint8_t *now = NULL, *declared = NULL;
        const char *refused;
        int state, rc;

        sqlite3_bind_int64(st, 1, l->row_id);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return -EIO;
        if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == CRYPTO_SHA256_LEN)
                now = sqlite3_column_blob(st, 0);
        else if (rc == SQLITE_ROW)
                now = unreadable; /* matches no content */
        refused = loss_book_refused(v->book, l->seq);
        if (refused)
                problem(v, PROBLEM_BROKEN,
                        "audit #%lld (chain entry %lld) is a declaration of lost rows that does "
                        "not count: %s",
                        l->row_id, l->seq, refused);
        l->declaration = loss_book_find(v->book, l->seq, &state, &declared);
        if (l->declaration)
                return check_declared(v, l, state, declared, now);
        if (!now) {
                problem(v, PROBLEM_UNMATCHED, "%s #%lld was deleted (chain entry %lld)", l->tbl,
                        l->row_id, l->seq);
                return keep(&v->out->unmatched_rows, &v->n_unmatched, &v->cap_unmatched, l);
        }
        if (memcmp(now, content, CRYPTO_SHA256_LEN) == 0)
                return 0;
        /* A declaration changed is never one; declaring it lost would let its change stand. */
        if (sqlite3_column_int(st, 1)) {
                problem(v, PROBLEM_BROKEN,
                        "%s #%lld was changed after it was written (chain entry %lld); it is a "
                        "declaration of lost rows, which no declaration can declare lost",
                        l->tbl, l->row_id, l->seq);
                return 0;
        }
        problem(v, PROBLEM_UNMATCHED,
                "%s #%lld was changed after it was written (chain entry %lld)", l->tbl, l->row_id,
                l->seq);
        l->damaged = true;
        memcpy(l->content, now, CRYPTO_SHA256_LEN);
        return keep(&v->out->unmatched_rows, &v->n_unmatched, &v->cap_unmatched, l);
}

static int check_entry(struct verifier *v, sqlite3_stmt *e, uint8_t prev[CRYPTO_SHA256_LEN])
{
        struct chain_lost l = {.seq = sqlite3_column_int64(e, 0),
                               .row_id = sqlite3_column_int64(e, 2)};
        const char *tbl = (const char *)sqlite3_column_text(e, 1);
        const uint8_t *content = sqlite3_column_blob(e, 3), *hash = sqlite3_column_blob(e, 4);
        uint8_t in[2 * CRYPTO_SHA256_LEN], want[CRYPTO_SHA256_LEN];
        sqlite3_stmt *st = NULL;
        int r;

        if (sqlite3_column_bytes(e, 3) != CRYPTO_SHA256_LEN ||
            sqlite3_column_bytes(e, 4) != CRYPTO_SHA256_LEN) {
                problem(v, PROBLEM_BROKEN, "chain entry %lld is damaged", l.seq);
                return 0;
        }
        memcpy(in, prev, CRYPTO_SHA256_LEN);
        memcpy(in + CRYPTO_SHA256_LEN, content, CRYPTO_SHA256_LEN);
        crypto_sha256(in, sizeof(in), want);
        if (memcmp(want, hash, CRYPTO_SHA256_LEN) != 0)
                problem(v, PROBLEM_BROKEN,
                        "chain entry %lld (%s #%lld) does not follow the entry before it: an "
                        "entry was removed, inserted or altered there",
                        l.seq, tbl ? tbl : "?", l.row_id);
        memcpy(prev, hash, CRYPTO_SHA256_LEN);
        for (size_t i = 0; i < N_CHAINED; i++)
                if (tbl && strcmp(tbl, chained[i].table) == 0)
                        st = v->content[i];
        if (!st) {
                problem(v, PROBLEM_BROKEN, "chain entry %lld names an unknown table", l.seq);
                return 0;
        }
        snprintf(l.tbl, sizeof(l.tbl), "%s", tbl);
        sqlite3_reset(st);
        r = check_row(v, st, &l, content);
        sqlite3_reset(st);
        return r;
}

/* Rows without an entry: written by something other than the gateway. */
static int check_unchained(struct verifier *v)
{
        char sql[1024];
        int r = 0;

        for (size_t i = 0; i < N_CHAINED && r == 0; i++) {
                sqlite3_stmt *st = NULL;

                snprintf(sql, sizeof(sql),
                         "SELECT (SELECT count(*) FROM main.%s), (SELECT min(id) FROM main.%s t "
                         "WHERE NOT EXISTS (SELECT 1 FROM main.chain c WHERE c.tbl = '%s' AND "
                         "c.row_id = t.id))",
                         chained[i].table, chained[i].table, chained[i].table);
                if (sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) != SQLITE_OK ||
                    sqlite3_step(st) != SQLITE_ROW) {
                        r = -EIO;
                } else {
                        v->out->rows += sqlite3_column_int64(st, 0);
                        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
                                problem(v, PROBLEM_BROKEN,
                                        "%s #%lld was inserted outside the gateway (it has no "
                                        "chain entry)",
                                        chained[i].table, sqlite3_column_int64(st, 1));
                }
                sqlite3_finalize(st);
        }
        return r;
}

/* The earlier head @hex must be an entry of the chain; the declarations made after it that
 * reach back before it are named, since a declaration can be made by whoever runs
 * declare-loss. */
static int check_head(struct verifier *v, const char *hex)
{
        uint8_t raw[CRYPTO_SHA256_LEN];
        sqlite3_stmt *st = NULL;
        int r = 0, rc;

        if (!crypto_unhex(hex, raw, sizeof(raw)))
                return -EINVAL;
        if (sqlite3_prepare_v2(v->db, "SELECT seq FROM main.chain WHERE hash = ?", -1, &st, NULL) !=
            SQLITE_OK)
                return -EIO;
        sqlite3_bind_blob(st, 1, raw, sizeof(raw), SQLITE_STATIC);
        rc = sqlite3_step(st);
        v->out->head_found = rc == SQLITE_ROW;
        if (rc == SQLITE_ROW)
                v->out->late = loss_book_after_head(v->book, sqlite3_column_int64(st, 0),
                                                    v->out->warnings, sizeof(v->out->warnings));
        else if (rc == SQLITE_DONE)
                problem(v, PROBLEM_BROKEN,
                        "the head exported earlier, %.16s..., is not in the chain: the log was "
                        "rewritten before it",
                        hex);
        else
                r = -EIO;
        sqlite3_finalize(st);
        return r;
}

static int walk(struct verifier *v)
{
        uint8_t prev[CRYPTO_SHA256_LEN] = {0};
        char content[1024], sql[2048];
        sqlite3_stmt *e = NULL;
        int r = 0, rc = SQLITE_DONE;

        for (size_t i = 0; i < N_CHAINED && r == 0; i++) {
                chain_content_sql(chained[i].table, "", content, sizeof(content));
                snprintf(sql, sizeof(sql), "SELECT %s, %s FROM main.%s WHERE id = ?", content,
                         strcmp(chained[i].table, "audit") == 0 ? "action = '" LOSS_ACTION "'"
                                                                : "0",
                         chained[i].table);
                if (sqlite3_prepare_v2(v->db, sql, -1, &v->content[i], NULL) != SQLITE_OK)
                        r = -EIO;
        }
        if (r == 0 && sqlite3_prepare_v2(v->db,
                                         "SELECT seq, tbl, row_id, content, hash FROM main.chain "
                                         "ORDER BY seq",
                                         -1, &e, NULL) != SQLITE_OK)
                r = -EIO;
        while (r == 0 && (rc = sqlite3_step(e)) == SQLITE_ROW) {
                v->out->entries++;
                r = check_entry(v, e, prev);
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = -EIO;
        sqlite3_finalize(e);
        for (size_t i = 0; i < N_CHAINED; i++)
                sqlite3_finalize(v->content[i]);
        return r;
}

int chain_verify(sqlite3 *db, const char *expected_head, struct chain_report *out)
{
        struct verifier v = {.db = db, .out = out};
        /* One snapshot: the daemon may append while the walk reads. */
        bool own = sqlite3_get_autocommit(db);
        int r = 0;

        *out = (struct chain_report){.ok = true};
        if (own && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
                r = -EIO;
        if (r == 0)
                r = loss_book_read(db, &v.book);
        if (r == 0)
                r = walk(&v);
        out->lost = (long long)v.n_lost;
        if (r == 0)
                r = check_unchained(&v);
        if (r == 0)
                r = chain_head(db, out->head, NULL);
        if (r == 0 && expected_head)
                r = check_head(&v, expected_head);
        if (r == 0 && out->lost)
                loss_describe(v.book, out->lost_rows, (size_t)out->lost, out->loss,
                              sizeof(out->loss));
        if (r == -EIO)
                log_error("the incident log's chain cannot be read: %s", sqlite3_errmsg(db));
        else if (r == -ENOMEM)
                log_error("the incident log's chain: out of memory");
        if (own && !sqlite3_get_autocommit(db))
                sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        loss_book_free(v.book);
        if (r < 0)
                chain_report_clear(out);
        return r;
}

void chain_report_clear(struct chain_report *r)
{
        free(r->lost_rows);
        free(r->unmatched_rows);
        r->lost_rows = r->unmatched_rows = NULL;
}
