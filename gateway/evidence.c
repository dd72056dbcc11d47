/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * evidence: building and checking signed exports. Rows go out as JSON objects of their
 * columns; a checker recomputes each chained row's content with SQLite's own json_array() in
 * an in-memory database (chain.h), so a row's content is computed the same way on the gateway
 * and on any machine that checks the file. The signature covers the canonical form of the whole
 * document (keys sorted, no spaces), as the registry's records are signed.
 */
#include "evidence.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "log.h"
#include "loss.h"

/* @s, or @fallback when it is NULL (a member missing from the file). */
static const char * or (const char *s, const char *fallback)
{
        return s ? s : fallback;
}

#define ZERO_HASH_HEX "0000000000000000000000000000000000000000000000000000000000000000"

/* --- export --- */

static json_t *column_json(sqlite3_stmt *st, int c)
{
        char hex[2 * 64 + 1];

        switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER:
                return json_integer(sqlite3_column_int64(st, c));
        case SQLITE_FLOAT:
                return json_real(sqlite3_column_double(st, c));
        case SQLITE_TEXT:
                return json_stringn((const char *)sqlite3_column_text(st, c),
                                    (size_t)sqlite3_column_bytes(st, c));
        case SQLITE_BLOB:
                if (sqlite3_column_bytes(st, c) <= 64) {
                        crypto_hex(sqlite3_column_blob(st, c), (size_t)sqlite3_column_bytes(st, c),
                                   hex);
                        return json_string(hex);
                }
                return json_null();
        default:
                return json_null();
        }
}

/* The rows of @sql (bound to @a and @b) as an array of objects. */
static int rows_json(struct store *s, const char *sql, int64_t a, int64_t b, json_t **out)
{
        sqlite3_stmt *st = NULL;
        json_t *arr = json_array();
        int r = 0, rc;

        *out = NULL;
        if (!arr)
                return -ENOMEM;
        if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
                json_decref(arr);
                return store_error(s, "exporting the incident log");
        }
        sqlite3_bind_int64(st, 1, a);
        if (sqlite3_bind_parameter_count(st) > 1)
                sqlite3_bind_int64(st, 2, b);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_t *row = json_object();

                for (int c = 0; row && c < sqlite3_column_count(st); c++)
                        json_object_set_new(row, sqlite3_column_name(st, c), column_json(st, c));
                if (!row || json_array_append_new(arr, row) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = store_error(s, "exporting the incident log");
        sqlite3_finalize(st);
        if (r < 0)
                json_decref(arr);
        else
                *out = arr;
        return r;
}

/* Whether @entries (the losses' entries, or NULL) name entry @seq. */
static bool names_seq(const json_t *entries, long long seq)
{
        size_t i;
        json_t *e;

        json_array_foreach(entries, i, e)
        {
                if (json_integer_value(json_object_get(e, "seq")) == seq)
                        return true;
        }
        return false;
}

/* Whether @rep declares entry @seq lost (its lost rows are in chain order). */
static bool declared_lost(const struct chain_report *rep, long long seq)
{
        size_t lo = 0, hi = (size_t)rep->lost;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (rep->lost_rows[mid].seq < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < (size_t)rep->lost && rep->lost_rows[lo].seq == seq;
}

/* Widens [*lo, *hi] to the chain entries of the rows of @table in @rows, and takes out of
 * @rows those whose entries @rep declares lost: a row declared lost is not evidence, whatever
 * is in its place now. */
static int cover(struct store *s, const char *table, json_t *rows, const struct chain_report *rep,
                 long long *lo, long long *hi)
{
        sqlite3_stmt *st = NULL;
        size_t i = 0;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(s), "SELECT seq FROM chain WHERE tbl = ? AND row_id = ?",
                               -1, &st, NULL) != SQLITE_OK)
                return store_error(s, "reading the chain");
        while (i < json_array_size(rows)) {
                long long id = json_integer_value(json_object_get(json_array_get(rows, i), "id")),
                          seq;

                sqlite3_reset(st);
                sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, id);
                if (sqlite3_step(st) != SQLITE_ROW) {
                        log_error("%s #%lld has no chain entry: the log does not verify "
                                  "(firegate verify-log); not exported",
                                  table, id);
                        r = -EBADMSG;
                        break;
                }
                seq = sqlite3_column_int64(st, 0);
                if (declared_lost(rep, seq)) {
                        json_array_remove(rows, i);
                        continue;
                }
                if (*lo == 0 || seq < *lo)
                        *lo = seq;
                if (seq > *hi)
                        *hi = seq;
                i++;
        }
        sqlite3_finalize(st);
        return r;
}

static int chain_segment(struct store *s, long long lo, long long hi, json_t **out)
{
        json_t *entries = NULL, *seg = NULL;
        char head[CHAIN_HEAD_HEX];
        sqlite3_stmt *st = NULL;
        const char *prev = ZERO_HASH_HEX;
        char prev_buf[CHAIN_HEAD_HEX];
        int r;

        r = rows_json(s,
                      "SELECT seq, tbl, row_id, lower(hex(content)) AS content, lower(hex(hash)) "
                      "AS hash FROM chain WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
                      lo, hi, &entries);
        if (r < 0)
                return r;
        if (sqlite3_prepare_v2(store_db(s),
                               "SELECT lower(hex(hash)) FROM chain WHERE seq < ? ORDER BY seq DESC "
                               "LIMIT 1",
                               -1, &st, NULL) != SQLITE_OK) {
                json_decref(entries);
                return store_error(s, "reading the chain");
        }
        sqlite3_bind_int64(st, 1, lo);
        if (sqlite3_step(st) == SQLITE_ROW) {
                snprintf(prev_buf, sizeof(prev_buf), "%s",
                         (const char *)sqlite3_column_text(st, 0));
                prev = prev_buf;
        }
        sqlite3_finalize(st);
        r = chain_head(store_db(s), head, NULL);
        seg = r == 0 ? json_pack("{s:s, s:o, s:s}", "prev", prev, "entries", entries, "head", head)
                     : NULL;
        if (!seg) {
                if (r == 0)
                        json_decref(entries);
                return r < 0 ? r : -ENOMEM;
        }
        *out = seg;
        return 0;
}

/* The losses @rep lists, {"entries": [...], "declarations": [audit rows]}, or NULL in *@out
 * when it lists none. */
static int losses_json(struct store *s, const struct chain_report *rep, json_t **out)
{
        json_t *entries = json_array(), *decls = json_array(), *one = NULL;
        int r = entries && decls ? 0 : -ENOMEM;

        *out = NULL;
        for (long long i = 0; r == 0 && i < rep->lost; i++) {
                const struct chain_lost *l = &rep->lost_rows[i];
                bool seen = false;

                if (json_array_append_new(entries,
                                          json_pack("{s:I, s:s, s:I, s:I, s:s}", "seq",
                                                    (json_int_t)l->seq, "tbl", l->tbl, "row_id",
                                                    (json_int_t)l->row_id, "declaration",
                                                    (json_int_t)l->declaration, "state",
                                                    l->damaged ? "damaged" : "missing")) < 0) {
                        r = -ENOMEM;
                        break;
                }
                for (long long k = 0; k < i && !seen; k++)
                        seen = rep->lost_rows[k].declaration == l->declaration;
                if (seen)
                        continue;
                r = rows_json(s, "SELECT * FROM audit WHERE id = ?1", l->declaration, 0, &one);
                if (r == 0 && json_array_size(one) != 1) {
                        log_error("exporting the incident log: declaration audit #%lld is gone",
                                  l->declaration);
                        r = -EIO;
                }
                if (r == 0 && json_array_extend(decls, one) < 0)
                        r = -ENOMEM;
                json_decref(one);
                one = NULL;
        }
        if (r == 0 && json_array_size(entries)) {
                *out = json_pack("{s:O, s:O}", "entries", entries, "declarations", decls);
                if (!*out)
                        r = -ENOMEM;
        }
        if (r == -ENOMEM)
                log_error("exporting the incident log: out of memory");
        json_decref(decls);
        json_decref(entries);
        return r;
}

/* The message signed: the prefix and the canonical JSON of @doc without its signature. */
static char *signed_message(const json_t *doc, size_t *len)
{
        json_t *copy = json_deep_copy(doc);
        char *canon, *msg = NULL;

        if (!copy)
                return NULL;
        json_object_del(copy, "signature");
        canon = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(copy);
        if (canon && asprintf(&msg, "%s%s", EVIDENCE_SIGNING_PREFIX, canon) < 0)
                msg = NULL;
        free(canon);
        if (msg)
                *len = strlen(msg);
        return msg;
}

int evidence_export(struct store *s, const struct chain_report *rep, const struct crypto_key *key,
                    const char *gateway, int64_t from, int64_t to, int64_t now, json_t **out)
{
        json_t *doc = NULL, *incidents = NULL, *engine = NULL, *commands = NULL, *audit = NULL,
               *seg = NULL, *losses = NULL, *inc;
        long long lo = 0, hi = 0;
        uint8_t sig[CRYPTO_ED25519_SIG];
        char sig64[128], *msg = NULL;
        size_t i, len = 0;
        int r;

        *out = NULL;
        if (!rep->ok)
                return -EBADMSG;
        r = losses_json(s, rep, &losses);
        if (r == 0)
                r = rows_json(s,
                              "SELECT * FROM incident WHERE first_at < ?2 AND coalesce(closed_at, "
                              "?2) >= ?1 ORDER BY id",
                              from, to, &incidents);
        if (r == 0)
                r = rows_json(s,
                              "SELECT * FROM engine_event WHERE at >= ?1 AND at < ?2 ORDER BY id",
                              from, to, &engine);
        if (r == 0)
                r = rows_json(s, "SELECT * FROM command WHERE at >= ?1 AND at < ?2 ORDER BY id",
                              from, to, &commands);
        if (r == 0)
                r = rows_json(s, "SELECT * FROM audit WHERE at >= ?1 AND at < ?2 ORDER BY id", from,
                              to, &audit);
        json_array_foreach(incidents, i, inc)
        {
                json_t *events = NULL;

                if (r < 0)
                        break;
                r = rows_json(s, "SELECT * FROM incident_event WHERE incident = ?1 ORDER BY id",
                              json_integer_value(json_object_get(inc, "id")), 0, &events);
                if (r == 0)
                        r = cover(s, "incident_event", events, rep, &lo, &hi);
                if (events)
                        json_object_set_new(inc, "events", events);
        }
        if (r == 0)
                r = cover(s, "engine_event", engine, rep, &lo, &hi);
        if (r == 0)
                r = cover(s, "command", commands, rep, &lo, &hi);
        if (r == 0)
                r = cover(s, "audit", audit, rep, &lo, &hi);
        if (r == 0)
                r = chain_segment(s, lo, hi, &seg);
        if (r < 0)
                goto out;
        doc = json_pack("{s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:O, s:O, s:O, s:O, s:O, s:O*}",
                        "format", EVIDENCE_FORMAT, "version", losses ? 2 : 1, "gateway", gateway,
                        "key_id", crypto_key_id(key), "exported_at", (json_int_t)now, "from",
                        (json_int_t)from, "to", (json_int_t)to, "incidents", incidents,
                        "engine_events", engine, "commands", commands, "audit", audit, "chain", seg,
                        "losses", losses);
        msg = doc ? signed_message(doc, &len) : NULL;
        if (!msg) {
                r = -ENOMEM;
                goto out;
        }
        r = crypto_sign(key, msg, len, sig);
        if (r == 0)
                r = crypto_base64_encode(sig, sizeof(sig), sig64, sizeof(sig64));
        if (r < 0) {
                log_error_errno(r, "cannot sign the export (is the gateway key a private key?)");
                goto out;
        }
        json_object_set_new(doc, "signature", json_string(sig64));
        *out = doc;
        doc = NULL;
out:
        free(msg);
        json_decref(doc);
        json_decref(losses);
        json_decref(seg);
        json_decref(audit);
        json_decref(commands);
        json_decref(engine);
        json_decref(incidents);
        return r;
}

/* --- checking --- */

struct checker {
        sqlite3 *mem;
        json_t *entries; /* of the segment */
        long long first_seq;
        const json_t *lost; /* the entries declared lost (version 2), or NULL */
        char *why;
        size_t why_len;
};

static int fail(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct checker *c, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->why, c->why_len, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* The entries link up from the segment's prev, one seq after the other. */
static int check_segment(struct checker *c, const json_t *chain, struct evidence_summary *sum)
{
        uint8_t prev[CRYPTO_SHA256_LEN], content[CRYPTO_SHA256_LEN], hash[CRYPTO_SHA256_LEN],
                in[2 * CRYPTO_SHA256_LEN], want[CRYPTO_SHA256_LEN];
        long long expect = 0;
        size_t i;
        json_t *e;

        c->entries = json_object_get(chain, "entries");
        if (!json_is_array(c->entries) ||
            !crypto_unhex(json_string_value(json_object_get(chain, "prev")), prev,
                          CRYPTO_SHA256_LEN))
                return fail(c, "the chain segment is malformed");
        json_array_foreach(c->entries, i, e)
        {
                long long seq = json_integer_value(json_object_get(e, "seq"));

                if (!crypto_unhex(json_string_value(json_object_get(e, "content")), content,
                                  CRYPTO_SHA256_LEN) ||
                    !crypto_unhex(json_string_value(json_object_get(e, "hash")), hash,
                                  CRYPTO_SHA256_LEN))
                        return fail(c, "chain entry %lld is malformed", seq);
                if (i > 0 && seq != expect)
                        return fail(c, "the chain segment skips from entry %lld to %lld",
                                    expect - 1, seq);
                memcpy(in, prev, CRYPTO_SHA256_LEN);
                memcpy(in + CRYPTO_SHA256_LEN, content, CRYPTO_SHA256_LEN);
                crypto_sha256(in, sizeof(in), want);
                if (memcmp(want, hash, CRYPTO_SHA256_LEN) != 0)
                        return fail(c, "chain entry %lld does not follow the entry before it", seq);
                memcpy(prev, hash, CRYPTO_SHA256_LEN);
                if (i == 0)
                        c->first_seq = sum->first_seq = seq;
                sum->last_seq = seq;
                expect = seq + 1;
                sum->entries++;
        }
        crypto_hex(prev, sizeof(prev), sum->head);
        return 0;
}

/* The entry of @table #@id in the segment, or NULL. */
static const json_t *entry_of(struct checker *c, const char *table, long long id)
{
        size_t i;
        json_t *e;

        json_array_foreach(c->entries, i, e)
        {
                const char *t = json_string_value(json_object_get(e, "tbl"));

                if (t && strcmp(t, table) == 0 &&
                    json_integer_value(json_object_get(e, "row_id")) == id)
                        return e;
        }
        return NULL;
}

static int bind_json(sqlite3_stmt *st, int i, const json_t *v)
{
        if (!v || json_is_null(v))
                return sqlite3_bind_null(st, i);
        if (json_is_integer(v))
                return sqlite3_bind_int64(st, i, json_integer_value(v));
        if (json_is_real(v))
                return sqlite3_bind_double(st, i, json_real_value(v));
        if (json_is_string(v))
                return sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v),
                                         SQLITE_TRANSIENT);
        return SQLITE_MISMATCH;
}

/* The declarations of a version 2 export, parsed as the gateway reads them (loss.h). */
struct declarations {
        const json_t *rows;
        struct loss_params **params; /* one per row */
};

static void declarations_free(struct declarations *d)
{
        for (size_t i = 0; d->params && i < json_array_size(d->rows); i++)
                loss_params_free(d->params[i]);
        free(d->params);
}

static int read_declarations(struct checker *c, struct declarations *d)
{
        char why[256];
        size_t i;
        json_t *row;
        int r;

        d->params = calloc(json_array_size(d->rows) + 1, sizeof(*d->params));
        if (!d->params)
                return -ENOMEM;
        json_array_foreach(d->rows, i, row)
        {
                long long id = json_integer_value(json_object_get(row, "id"));

                if (!json_is_integer(json_object_get(row, "id")) ||
                    strcmp(or (json_string_value(json_object_get(row, "action")), ""),
                           LOSS_ACTION) != 0 ||
                    strcmp(or (json_string_value(json_object_get(row, "result")), ""),
                           LOSS_RESULT) != 0)
                        return fail(c,
                                    "the export's losses name a declaration that is none "
                                    "(their declaration %zu)",
                                    i + 1);
                r = loss_params_parse(json_string_value(json_object_get(row, "params")), 0,
                                      &d->params[i], why, sizeof(why));
                if (r == -EBADMSG)
                        return fail(c, "the export's declaration audit #%lld is malformed: %s", id,
                                    why);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The state (loss_params_state()) in which declaration audit #@id of @d declares entry @seq. */
static int declared_state(const struct declarations *d, long long id, long long seq)
{
        size_t i;
        json_t *row;

        json_array_foreach(d->rows, i, row)
        {
                if (json_integer_value(json_object_get(row, "id")) == id)
                        return loss_params_state(d->params[i], seq, NULL);
        }
        return 0;
}

/* @sum's losses for people: how many, which inside the segment (@in_seg, @n of them), and
 * every declaration (@decls) with when, by whom and why. */
static void describe_losses(struct evidence_summary *sum, const json_t *decls,
                            const struct chain_lost *in_seg, size_t n)
{
        char rows[800], who[200], reason[4 * LOSS_REASON_MAX / 3], when[32];
        size_t o = 0, size = sizeof(sum->loss), i;
        json_t *d;

        loss_appendf(sum->loss, size, &o,
                     "%lld row%s of the log declared lost, %zu inside this export's "
                     "chain segment",
                     sum->lost, sum->lost == 1 ? "" : "s", n);
        if (n) {
                loss_describe_rows(in_seg, n, rows, sizeof(rows));
                loss_appendf(sum->loss, size, &o, " (%s)", rows);
        }
        json_array_foreach(decls, i, d)
        {
                time_t t = (time_t)(json_integer_value(json_object_get(d, "at")) / 1000);
                json_t *params = json_loads(
                        or (json_string_value(json_object_get(d, "params")), ""), 0, NULL);
                struct tm tm;

                if (!gmtime_r(&t, &tm) ||
                    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
                        snprintf(when, sizeof(when), "?");
                loss_appendf(sum->loss, size, &o, "; declared on %s by %s (audit #%lld): %s", when,
                             loss_printable(json_string_value(json_object_get(d, "who")), who,
                                            sizeof(who)),
                             (long long)json_integer_value(json_object_get(d, "id")),
                             loss_printable(json_string_value(json_object_get(params, "reason")),
                                            reason, sizeof(reason)));
                json_decref(params);
        }
        loss_text_end(sum->loss, size, o);
}

/* One loss of a version 2 export, @e (the @i-th): declared, in the state it says, by one of
 * the file's declarations, and where it falls inside the segment, the segment's entry there. */
static int check_loss(struct checker *c, const struct declarations *d, const json_t *e, size_t i,
                      long long after, struct evidence_summary *sum, struct chain_lost *l)
{
        const char *tbl = json_string_value(json_object_get(e, "tbl")),
                   *state = json_string_value(json_object_get(e, "state"));
        const json_t *in_seg;
        int declared;

        l->seq = json_integer_value(json_object_get(e, "seq"));
        l->row_id = json_integer_value(json_object_get(e, "row_id"));
        if (!json_is_integer(json_object_get(e, "seq")) || l->seq <= after || !tbl ||
            !chain_columns(tbl) || !json_is_integer(json_object_get(e, "row_id")) || !state ||
            (strcmp(state, "missing") != 0 && strcmp(state, "damaged") != 0))
                return fail(c, "the export's losses are malformed (their entry %zu)", i + 1);
        snprintf(l->tbl, sizeof(l->tbl), "%s", tbl);
        l->damaged = strcmp(state, "damaged") == 0;
        l->declaration = json_integer_value(json_object_get(e, "declaration"));
        declared = declared_state(d, l->declaration, l->seq);
        if (!declared)
                return fail(c,
                            "the losses name chain entry %lld, which none of their "
                            "declarations declares lost",
                            l->seq);
        if (declared != (l->damaged ? 2 : 1))
                return fail(c,
                            "the losses say chain entry %lld is %s, which its declaration does "
                            "not",
                            l->seq, state);
        sum->lost++;
        if (!sum->entries || l->seq < sum->first_seq || l->seq > sum->last_seq)
                return 0;
        /* The segment's entries follow one another, seq after seq. */
        in_seg = json_array_get(c->entries, (size_t)(l->seq - sum->first_seq));
        if (strcmp(or (json_string_value(json_object_get(in_seg, "tbl")), ""), tbl) != 0 ||
            json_integer_value(json_object_get(in_seg, "row_id")) != l->row_id)
                return fail(c,
                            "the losses name chain entry %lld as %s #%lld, which the chain "
                            "segment does not",
                            l->seq, tbl, l->row_id);
        return 1;
}

/* The losses of a version 2 export, each checked by check_loss(). */
static int check_losses(struct checker *c, const json_t *doc, struct evidence_summary *sum)
{
        const json_t *losses = json_object_get(doc, "losses");
        struct declarations d = {.rows = json_object_get(losses, "declarations")};
        struct chain_lost *in_seg = NULL;
        long long after = 0;
        size_t i;
        json_t *e;
        int r = 0;

        if (json_integer_value(json_object_get(doc, "version")) == 1)
                return losses ? fail(c, "a version 1 export states no losses") : 0;
        c->lost = json_object_get(losses, "entries");
        if (!json_is_array(c->lost) || !json_array_size(c->lost) || !json_is_array(d.rows) ||
            !json_array_size(d.rows))
                return fail(c, "the export's losses are malformed");
        in_seg = calloc(json_array_size(c->lost), sizeof(*in_seg));
        if (!in_seg)
                return -ENOMEM;
        r = read_declarations(c, &d);
        json_array_foreach(c->lost, i, e)
        {
                if (r < 0)
                        break;
                r = check_loss(c, &d, e, i, after, sum, &in_seg[sum->lost_in_segment]);
                after = in_seg[sum->lost_in_segment].seq;
                if (r > 0)
                        sum->lost_in_segment++;
        }
        if (r >= 0) {
                describe_losses(sum, d.rows, in_seg, (size_t)sum->lost_in_segment);
                r = 0;
        }
        declarations_free(&d);
        free(in_seg);
        return r;
}

/* Every row of @rows (of chained @table) is the one its chain entry was made from. */
static int check_rows(struct checker *c, const char *table, const json_t *rows,
                      struct evidence_summary *sum)
{
        const char *const *cols = chain_columns(table);
        char content[1024], sql[1100], hex[2 * CRYPTO_SHA256_LEN + 1];
        sqlite3_stmt *st = NULL;
        size_t i;
        json_t *row;
        int r = 0;

        if (!json_is_array(rows))
                return fail(c, "the export has no %s rows", table);
        /* The chain's own expression of a row's content, its columns as named parameters. */
        if (chain_content_sql(table, ":", content, sizeof(content)) < 0)
                return -EINVAL;
        snprintf(sql, sizeof(sql), "SELECT lower(hex(%s))", content);
        if (sqlite3_prepare_v2(c->mem, sql, -1, &st, NULL) != SQLITE_OK)
                return -ENOMEM;
        json_array_foreach(rows, i, row)
        {
                long long id = json_integer_value(json_object_get(row, "id"));
                const json_t *e = entry_of(c, table, id);

                if (!e) {
                        r = fail(c, "%s #%lld is not in the export's chain segment", table, id);
                        break;
                }
                if (names_seq(c->lost, json_integer_value(json_object_get(e, "seq")))) {
                        r = fail(c, "%s #%lld is in the export, but its losses say it was lost",
                                 table, id);
                        break;
                }
                sqlite3_reset(st);
                for (size_t k = 0; cols[k]; k++) {
                        char name[40];

                        snprintf(name, sizeof(name), ":%s", cols[k]);
                        if (bind_json(st, sqlite3_bind_parameter_index(st, name),
                                      json_object_get(row, cols[k])) == SQLITE_OK)
                                continue;
                        r = fail(c, "%s #%lld has a value of the wrong kind in %s", table, id,
                                 cols[k]);
                        break;
                }
                if (r < 0)
                        break;
                if (sqlite3_step(st) != SQLITE_ROW) {
                        r = -ENOMEM;
                        break;
                }
                snprintf(hex, sizeof(hex), "%s", (const char *)sqlite3_column_text(st, 0));
                if (strcmp(hex, or (json_string_value(json_object_get(e, "content")), "")) != 0) {
                        r = fail(c, "%s #%lld is not what the gateway chained when it wrote it",
                                 table, id);
                        break;
                }
                sum->rows++;
        }
        sqlite3_finalize(st);
        return r;
}

int evidence_verify(const json_t *doc, const struct crypto_key *key, struct evidence_summary *sum,
                    char *why, size_t why_len)
{
        struct checker c = {.why = why, .why_len = why_len};
        uint8_t sig[CRYPTO_ED25519_SIG + 3];
        const json_t *incidents, *inc;
        char *msg = NULL;
        size_t len = 0, i;
        long n;
        int r;

        *sum = (struct evidence_summary){0};
        why[0] = '\0';
        if (!json_is_object(doc) ||
            strcmp(or (json_string_value(json_object_get(doc, "format")), ""), EVIDENCE_FORMAT) !=
                    0 ||
            (json_integer_value(json_object_get(doc, "version")) != 1 &&
             json_integer_value(json_object_get(doc, "version")) != 2))
                return fail(&c, "not a firegate evidence export (format 1 or 2)");
        n = crypto_base64_decode(or (json_string_value(json_object_get(doc, "signature")), ""), sig,
                                 sizeof(sig));
        if (n != CRYPTO_ED25519_SIG)
                return fail(&c, "the signature is missing or damaged");
        msg = signed_message(doc, &len);
        if (!msg)
                return -ENOMEM;
        r = crypto_verify(key, msg, len, sig, (size_t)n);
        free(msg);
        if (r < 0)
                return fail(&c,
                            "the signature does not verify with key %s: the file was altered "
                            "after the export, or another gateway's key signed it (the file "
                            "names key %s)",
                            crypto_key_id(key),
                            or (json_string_value(json_object_get(doc, "key_id")), "?"));
        if (sqlite3_open_v2(":memory:", &c.mem, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
            chain_attach(c.mem, false) < 0) {
                sqlite3_close(c.mem);
                return -ENOMEM;
        }
        r = check_segment(&c, json_object_get(doc, "chain"), sum);
        if (r == 0)
                r = check_losses(&c, doc, sum);
        incidents = json_object_get(doc, "incidents");
        if (r == 0 && !json_is_array(incidents))
                r = fail(&c, "the export has no incidents array");
        json_array_foreach(incidents, i, inc)
        {
                if (r < 0)
                        break;
                sum->incidents++;
                r = check_rows(&c, "incident_event", json_object_get(inc, "events"), sum);
        }
        if (r == 0)
                r = check_rows(&c, "engine_event", json_object_get(doc, "engine_events"), sum);
        if (r == 0)
                r = check_rows(&c, "command", json_object_get(doc, "commands"), sum);
        if (r == 0)
                r = check_rows(&c, "audit", json_object_get(doc, "audit"), sum);
        sqlite3_close(c.mem);
        return r;
}

int evidence_audit(struct store *s, int64_t at, const char *who, const char *origin,
                   const char *action, const char *params, const char *result)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(s),
                               "INSERT INTO audit (at, who, origin, action, params, result) VALUES "
                               "(?, ?, ?, ?, ?, ?)",
                               -1, &st, NULL) != SQLITE_OK)
                return store_error(s, "recording in the audit log");
        sqlite3_bind_int64(st, 1, at);
        sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, origin, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, params, -1, SQLITE_STATIC);
        if (result)
                sqlite3_bind_text(st, 6, result, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 6);
        if (sqlite3_step(st) != SQLITE_DONE)
                r = store_error(s, "recording in the audit log");
        sqlite3_finalize(st);
        return r;
}

/* --- declaring losses --- */

int evidence_declare_loss(struct store *s, int64_t at, const char *who, const char *reason,
                          const char *copy_sha256, struct chain_report *rep,
                          struct evidence_declared *out)
{
        char *params = NULL;
        int r;

        *out = (struct evidence_declared){0};
        *rep = (struct chain_report){0};
        if (!loss_text_ok(reason) ||
            (copy_sha256 && (strlen(copy_sha256) != 2 * CRYPTO_SHA256_LEN ||
                             copy_sha256[strspn(copy_sha256, "0123456789abcdef")] != '\0')))
                return -EINVAL;
        /* What is declared is what this verdict found, and nothing is written in between. */
        r = store_begin(s);
        if (r < 0)
                return r;
        r = chain_verify(store_db(s), NULL, rep);
        if (r < 0)
                goto out;
        /* What damage and a salvage leave are rows missing, or partly overwritten, in their
         * places of an intact chain; anything else is not covered (chain.h: broken). */
        if (rep->broken) {
                r = -EBADMSG;
                goto out;
        }
        if (!rep->unmatched)
                goto out;
        params = loss_params_new(rep->unmatched_rows, (size_t)rep->unmatched, reason, copy_sha256);
        if (!params) {
                log_error("declaring lost rows: out of memory");
                r = -ENOMEM;
                goto out;
        }
        r = evidence_audit(s, at, who, "local", LOSS_ACTION, params, LOSS_RESULT);
        if (r == 0) {
                out->audit_id = sqlite3_last_insert_rowid(store_db(s));
                r = store_commit(s);
        }
        if (r < 0) {
                out->audit_id = 0;
                goto out;
        }
        for (long long i = 0; i < rep->unmatched; i++) {
                if (rep->unmatched_rows[i].damaged)
                        out->damaged++;
                else
                        out->missing++;
        }
out:
        store_rollback(s);
        free(params);
        return r;
}
