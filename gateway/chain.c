/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chain: the hash chain. The content of a row is computed by SQLite itself, json_array() over
 * its columns, so the trigger that writes an entry, chain_verify() and verify-export (which
 * loads an export's rows into an in-memory database) all serialise a row the same way. The
 * column lists are this file's table, the one place that says what a row's content is.
 */
#include "chain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

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

/* --- declarations --- */

/* The declarations' ranges, each with its own place in the chain: a declaration speaks only of
 * entries before it. A declaration that is not chained is none (and verify names its row as
 * inserted outside the gateway). */
#define DECLARED_SQL                                                                               \
        "WITH decl (id, at_seq, lo, hi) AS MATERIALIZED (SELECT a.id, c.seq, "                     \
        "json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') "                            \
        "FROM main.audit a JOIN main.chain c ON c.tbl = 'audit' AND c.row_id = a.id, "             \
        "json_each(CASE WHEN json_valid(a.params) THEN a.params ELSE '{}' END, '$.lost') j "       \
        "WHERE a.action = '" CHAIN_DECLARATION_ACTION                                              \
        "' AND a.result = '" CHAIN_DECLARATION_RESULT "') "
#define IS_DECLARED_SQL                                                                            \
        "EXISTS (SELECT 1 FROM decl d WHERE e.seq BETWEEN d.lo AND d.hi AND e.seq < d.at_seq)"

/* Runs @sql, whose rows are seq, tbl, row_id, damaged, declaration, through @fn. */
static int each_lost(sqlite3 *db, const char *sql, int (*fn)(const struct chain_lost *l, void *ctx),
                     void *ctx)
{
        sqlite3_stmt *st = NULL;
        int r = 0, rc;

        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
                r = -EIO;
                goto out;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct chain_lost l = {
                        .seq = sqlite3_column_int64(st, 0),
                        .row_id = sqlite3_column_int64(st, 2),
                        .damaged = sqlite3_column_int(st, 3),
                        .declaration = sqlite3_column_int64(st, 4),
                };

                snprintf(l.tbl, sizeof(l.tbl), "%s", (const char *)sqlite3_column_text(st, 1));
                r = fn(&l, ctx);
                if (r)
                        goto out;
        }
        if (rc != SQLITE_DONE)
                r = -EIO;
out:
        if (r == -EIO)
                log_error("the incident log's chain: finding lost rows: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return r;
}

int chain_declared(sqlite3 *db, int (*fn)(const struct chain_lost *l, void *ctx), void *ctx)
{
        return each_lost(db,
                         DECLARED_SQL
                         "SELECT e.seq, e.tbl, e.row_id, 0, min(d.id) FROM decl d JOIN "
                         "main.chain e ON e.seq BETWEEN d.lo AND d.hi AND e.seq < "
                         "d.at_seq GROUP BY e.seq ORDER BY e.seq",
                         fn, ctx);
}

int chain_unmatched(sqlite3 *db, int (*fn)(const struct chain_lost *l, void *ctx), void *ctx)
{
        char sql[8192], content[1024];
        size_t o = 0;
        bool ok;

        ok = append(sql, sizeof(sql), &o, DECLARED_SQL "SELECT e.seq, e.tbl, e.row_id, CASE e.tbl");
        for (size_t i = 0; ok && i < N_CHAINED; i++)
                ok = append(sql, sizeof(sql), &o, " WHEN '") &&
                     append(sql, sizeof(sql), &o, chained[i].table) &&
                     append(sql, sizeof(sql), &o, "' THEN EXISTS (SELECT 1 FROM main.") &&
                     append(sql, sizeof(sql), &o, chained[i].table) &&
                     append(sql, sizeof(sql), &o, " t WHERE t.id = e.row_id)");
        ok = ok && append(sql, sizeof(sql), &o,
                          " END, 0 FROM main.chain e WHERE NOT " IS_DECLARED_SQL " AND CASE e.tbl");
        for (size_t i = 0; ok && i < N_CHAINED; i++)
                ok = chain_content_sql(chained[i].table, "t.", content, sizeof(content)) == 0 &&
                     append(sql, sizeof(sql), &o, " WHEN '") &&
                     append(sql, sizeof(sql), &o, chained[i].table) &&
                     append(sql, sizeof(sql), &o, "' THEN NOT EXISTS (SELECT 1 FROM main.") &&
                     append(sql, sizeof(sql), &o, chained[i].table) &&
                     append(sql, sizeof(sql), &o, " t WHERE t.id = e.row_id AND ") &&
                     append(sql, sizeof(sql), &o, content) &&
                     append(sql, sizeof(sql), &o, " = e.content)");
        if (!ok || !append(sql, sizeof(sql), &o, " ELSE 0 END ORDER BY e.seq"))
                return -ENOBUFS;
        return each_lost(db, sql, fn, ctx);
}

/* --- verification --- */

struct declared_range {
        long long lo, hi, at_seq, id;
};

struct verifier {
        sqlite3 *db;
        sqlite3_stmt *content[N_CHAINED]; /* a row's content by id */
        struct chain_report *out;
        struct declared_range *ranges; /* of every declaration */
        size_t n_ranges;
        struct chain_lost *lost; /* the entries declared lost, in chain order */
        size_t n_lost, cap_lost;
};

enum problem_kind {
        PROBLEM_UNMATCHED,
        PROBLEM_BROKEN,
};

static void problem(struct verifier *v, enum problem_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void problem(struct verifier *v, enum problem_kind kind, const char *fmt, ...)
{
        va_list ap;

        if (kind == PROBLEM_UNMATCHED)
                v->out->unmatched++;
        else
                v->out->broken++;
        if (!v->out->ok)
                return; /* the first one is named */
        v->out->ok = false;
        va_start(ap, fmt);
        vsnprintf(v->out->problem, sizeof(v->out->problem), fmt, ap);
        va_end(ap);
}

static int read_ranges(struct verifier *v)
{
        sqlite3_stmt *st = NULL;
        size_t cap = 0;
        int r = 0, rc;

        if (sqlite3_prepare_v2(v->db, DECLARED_SQL "SELECT lo, hi, at_seq, id FROM decl", -1, &st,
                               NULL) != SQLITE_OK)
                return -EIO;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (v->n_ranges == cap) {
                        struct declared_range *more;

                        cap = cap ? 2 * cap : 8;
                        more = reallocarray(v->ranges, cap, sizeof(*more));
                        if (!more) {
                                r = -ENOMEM;
                                break;
                        }
                        v->ranges = more;
                }
                v->ranges[v->n_ranges++] = (struct declared_range){
                        sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                        sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3)};
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = -EIO;
        sqlite3_finalize(st);
        return r;
}

/* The declaration that declares entry @seq lost, or 0. */
static long long declared(const struct verifier *v, long long seq)
{
        for (size_t i = 0; i < v->n_ranges; i++)
                if (v->ranges[i].lo <= seq && seq <= v->ranges[i].hi && seq < v->ranges[i].at_seq)
                        return v->ranges[i].id;
        return 0;
}

static int keep_lost(struct verifier *v, long long seq, const char *tbl, long long row,
                     long long declaration)
{
        struct chain_lost *l;

        if (v->n_lost == v->cap_lost) {
                size_t cap = v->cap_lost ? 2 * v->cap_lost : 64;
                struct chain_lost *more = reallocarray(v->lost, cap, sizeof(*more));

                if (!more)
                        return -ENOMEM;
                v->lost = more;
                v->cap_lost = cap;
        }
        l = &v->lost[v->n_lost++];
        *l = (struct chain_lost){.seq = seq, .row_id = row, .declaration = declaration};
        snprintf(l->tbl, sizeof(l->tbl), "%s", tbl);
        v->out->lost++;
        return 0;
}

/* Appends printf-style to @buf of @size, which holds @*o bytes; stops quietly when full. */
static void add(char *buf, size_t size, size_t *o, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void add(char *buf, size_t size, size_t *o, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (*o >= size)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf + *o, size - *o, fmt, ap);
        va_end(ap);
        *o = n < 0 ? size : *o + (size_t)n;
}

/* The declared losses for people: the runs of entries, then the first declaration. */
static int describe_losses(struct verifier *v)
{
        char *buf = v->out->loss;
        size_t size = sizeof(v->out->loss), o = 0, i, j, n_decl = 0;
        sqlite3_stmt *st = NULL;
        int r = 0;

        add(buf, size, &o, "%zu row%s declared lost: chain entr%s ", v->n_lost,
            v->n_lost == 1 ? "" : "s", v->n_lost == 1 ? "y" : "ies");
        for (i = 0; i < v->n_lost; i = j) {
                const struct chain_lost *a = &v->lost[i], *b;

                for (j = i + 1; j < v->n_lost && v->lost[j].seq == v->lost[j - 1].seq + 1; j++)
                        ;
                b = &v->lost[j - 1];
                add(buf, size, &o, "%s", i ? ", " : "");
                if (a == b)
                        add(buf, size, &o, "%lld (%s #%lld)", a->seq, a->tbl, a->row_id);
                else if (strcmp(a->tbl, b->tbl) == 0)
                        add(buf, size, &o, "%lld to %lld (%s #%lld to #%lld)", a->seq, b->seq,
                            a->tbl, a->row_id, b->row_id);
                else
                        add(buf, size, &o, "%lld to %lld (%s #%lld to %s #%lld)", a->seq, b->seq,
                            a->tbl, a->row_id, b->tbl, b->row_id);
        }
        for (i = 0; i < v->n_lost; i++)
                if (i == 0 || v->lost[i].declaration != v->lost[i - 1].declaration)
                        n_decl++;
        if (sqlite3_prepare_v2(v->db,
                               "SELECT strftime('%Y-%m-%d %H:%M:%S UTC', at / 1000, 'unixepoch'), "
                               "who, json_extract(params, '$.reason') FROM main.audit WHERE id = ?",
                               -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        sqlite3_bind_int64(st, 1, v->lost[0].declaration);
        if (sqlite3_step(st) == SQLITE_ROW)
                add(buf, size, &o, "; declared on %s by %s (audit #%lld): %s",
                    (const char *)sqlite3_column_text(st, 0),
                    (const char *)sqlite3_column_text(st, 1), v->lost[0].declaration,
                    sqlite3_column_type(st, 2) == SQLITE_TEXT
                            ? (const char *)sqlite3_column_text(st, 2)
                            : "no reason given");
        else
                r = -EIO;
        sqlite3_finalize(st);
        if (n_decl > 1)
                add(buf, size, &o, "; and in %zu more declarations", n_decl - 1);
        if (o >= size)
                memcpy(buf + size - 4, "...", 4);
        return r;
}

static int check_entry(struct verifier *v, sqlite3_stmt *e, uint8_t prev[CRYPTO_SHA256_LEN])
{
        long long seq = sqlite3_column_int64(e, 0);
        const char *tbl = (const char *)sqlite3_column_text(e, 1);
        long long row = sqlite3_column_int64(e, 2);
        const uint8_t *content = sqlite3_column_blob(e, 3), *hash = sqlite3_column_blob(e, 4);
        uint8_t in[2 * CRYPTO_SHA256_LEN], want[CRYPTO_SHA256_LEN];
        sqlite3_stmt *st = NULL;
        long long declaration;
        int rc;

        if (sqlite3_column_bytes(e, 3) != CRYPTO_SHA256_LEN ||
            sqlite3_column_bytes(e, 4) != CRYPTO_SHA256_LEN) {
                problem(v, PROBLEM_BROKEN, "chain entry %lld is damaged", seq);
                return 0;
        }
        memcpy(in, prev, CRYPTO_SHA256_LEN);
        memcpy(in + CRYPTO_SHA256_LEN, content, CRYPTO_SHA256_LEN);
        crypto_sha256(in, sizeof(in), want);
        if (memcmp(want, hash, CRYPTO_SHA256_LEN) != 0)
                problem(v, PROBLEM_BROKEN,
                        "chain entry %lld (%s #%lld) does not follow the entry before it: an "
                        "entry was removed, inserted or altered there",
                        seq, tbl ? tbl : "?", row);
        memcpy(prev, hash, CRYPTO_SHA256_LEN);
        for (size_t i = 0; i < N_CHAINED; i++)
                if (tbl && strcmp(tbl, chained[i].table) == 0)
                        st = v->content[i];
        if (!st) {
                problem(v, PROBLEM_BROKEN, "chain entry %lld names an unknown table", seq);
                return 0;
        }
        /* A row declared lost is not evidence, whatever is in its place now. */
        declaration = declared(v, seq);
        if (declaration)
                return keep_lost(v, seq, tbl, row, declaration);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, row);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                problem(v, PROBLEM_UNMATCHED, "%s #%lld was deleted (chain entry %lld)", tbl, row,
                        seq);
        else if (rc != SQLITE_ROW)
                return -EIO;
        else if (sqlite3_column_bytes(st, 0) != CRYPTO_SHA256_LEN ||
                 memcmp(sqlite3_column_blob(st, 0), content, CRYPTO_SHA256_LEN) != 0)
                problem(v, PROBLEM_UNMATCHED,
                        "%s #%lld was changed after it was written (chain entry %lld)", tbl, row,
                        seq);
        sqlite3_reset(st);
        return 0;
}

int chain_verify(sqlite3 *db, const char *expected_head, struct chain_report *out)
{
        struct verifier v = {.db = db, .out = out};
        uint8_t prev[CRYPTO_SHA256_LEN] = {0};
        char content[1024], sql[2048];
        sqlite3_stmt *e = NULL;
        int r = 0, rc;

        *out = (struct chain_report){.ok = true};
        r = read_ranges(&v);
        for (size_t i = 0; i < N_CHAINED && r == 0; i++) {
                chain_content_sql(chained[i].table, "", content, sizeof(content));
                snprintf(sql, sizeof(sql), "SELECT %s FROM main.%s WHERE id = ?", content,
                         chained[i].table);
                if (sqlite3_prepare_v2(db, sql, -1, &v.content[i], NULL) != SQLITE_OK)
                        r = -EIO;
        }
        if (r == 0 && sqlite3_prepare_v2(db,
                                         "SELECT seq, tbl, row_id, content, hash FROM main.chain "
                                         "ORDER BY seq",
                                         -1, &e, NULL) != SQLITE_OK)
                r = -EIO;
        while (r == 0 && (rc = sqlite3_step(e)) == SQLITE_ROW) {
                out->entries++;
                r = check_entry(&v, e, prev);
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = -EIO;
        /* Rows without an entry: written by something other than the gateway. */
        for (size_t i = 0; i < N_CHAINED && r == 0; i++) {
                sqlite3_stmt *st = NULL;

                snprintf(sql, sizeof(sql),
                         "SELECT (SELECT count(*) FROM main.%s), (SELECT min(id) FROM main.%s t "
                         "WHERE NOT EXISTS (SELECT 1 FROM main.chain c WHERE c.tbl = '%s' AND "
                         "c.row_id = t.id))",
                         chained[i].table, chained[i].table, chained[i].table);
                if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
                    sqlite3_step(st) != SQLITE_ROW) {
                        r = -EIO;
                } else {
                        out->rows += sqlite3_column_int64(st, 0);
                        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
                                problem(&v, PROBLEM_BROKEN,
                                        "%s #%lld was inserted outside the gateway (it has no "
                                        "chain entry)",
                                        chained[i].table, sqlite3_column_int64(st, 1));
                }
                sqlite3_finalize(st);
        }
        if (r == 0)
                r = chain_head(db, out->head, NULL);
        if (r == 0 && expected_head) {
                uint8_t raw[CRYPTO_SHA256_LEN];
                sqlite3_stmt *st = NULL;
                bool hex_ok = strlen(expected_head) == 2 * CRYPTO_SHA256_LEN;

                for (size_t i = 0; hex_ok && i < CRYPTO_SHA256_LEN; i++) {
                        unsigned b;

                        hex_ok = sscanf(expected_head + 2 * i, "%2x", &b) == 1;
                        raw[i] = (uint8_t)b;
                }
                if (!hex_ok) {
                        r = -EINVAL;
                } else if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.chain WHERE hash = ?", -1,
                                              &st, NULL) != SQLITE_OK) {
                        r = -EIO;
                } else {
                        sqlite3_bind_blob(st, 1, raw, sizeof(raw), SQLITE_STATIC);
                        out->head_found = sqlite3_step(st) == SQLITE_ROW;
                        if (!out->head_found)
                                problem(&v, PROBLEM_BROKEN,
                                        "the head exported earlier, %.16s..., is not in the "
                                        "chain: the log was rewritten before it",
                                        expected_head);
                }
                sqlite3_finalize(st);
        }
        if (r == 0 && out->lost)
                r = describe_losses(&v);
        sqlite3_finalize(e);
        for (size_t i = 0; i < N_CHAINED; i++)
                sqlite3_finalize(v.content[i]);
        free(v.lost);
        free(v.ranges);
        if (r == -EIO)
                log_error("the incident log's chain cannot be read: %s", sqlite3_errmsg(db));
        else if (r == -ENOMEM)
                log_error("the incident log's chain: out of memory");
        return r;
}
