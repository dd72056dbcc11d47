/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loss: reading, checking and writing declarations of lost rows. A declaration is read one way
 * only, by loss_params_parse(): the book that chain_verify() consults, the export's losses and
 * verify-export's check of them all go through it, so no two of them can read a malformed
 * range differently. The book keeps every counted run of entries in one array sorted by its
 * first entry; runs never overlap, so a look-up is a binary search.
 */
#include "loss.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct loss_run {
        long long lo, hi;
};

struct loss_damaged {
        long long seq;
        uint8_t content[CRYPTO_SHA256_LEN];
};

struct loss_params {
        struct loss_run *runs; /* ascending, apart */
        size_t n_runs;
        struct loss_damaged *damaged; /* ascending, each inside a run */
        size_t n_damaged;
};

/* --- text --- */

/* The length of the valid UTF-8 character at @s, or 0 (not UTF-8, an overlong form, a
 * surrogate, beyond U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
        size_t n;
        unsigned min;
        unsigned cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, min = 0x80, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, min = 0x800, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, min = 0x10000, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* Whether the character at @s (@n bytes) is one a message must not carry as it is: C0 and C1
 * controls, DEL, and the bidirectional overrides and isolates (U+202A-U+202E,
 * U+2066-U+2069), as bundle.c refuses them in records. */
static bool forbidden(const unsigned char *s, size_t n)
{
        if (n == 1)
                return s[0] < 0x20 || s[0] == 0x7f;
        if (n == 2)
                return s[0] == 0xc2 && s[1] <= 0x9f;
        return n == 3 && s[0] == 0xe2 &&
               ((s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) ||
                (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9));
}

bool loss_text_ok(const char *s)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t n;

        if (!s || !*s || strlen(s) > LOSS_REASON_MAX)
                return false;
        for (; *u; u += n) {
                n = utf8_len(u);
                if (!n || forbidden(u, n))
                        return false;
        }
        return true;
}

const char *loss_printable(const char *s, char *buf, size_t size)
{
        const unsigned char *u = (const unsigned char *)(s ? s : "?");
        size_t o = 0, n;

        if (size < 4) {
                if (size)
                        buf[0] = '\0';
                return buf;
        }
        for (; *u; u += n) {
                size_t need;
                bool escape;

                n = utf8_len(u);
                escape = !n || forbidden(u, n);
                if (!n)
                        n = 1;
                need = escape ? 4 * n : n;
                if (o + need + 4 > size)
                        break;
                for (size_t i = 0; i < n; i++) {
                        if (escape)
                                o += (size_t)snprintf(buf + o, size - o, "\\x%02x", u[i]);
                        else
                                buf[o++] = (char)u[i];
                }
        }
        if (*u)
                memcpy(buf + o, "...", 4);
        else
                buf[o] = '\0';
        return buf;
}

void loss_appendf(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (*used >= size)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf + *used, size - *used, fmt, ap);
        va_end(ap);
        *used = n < 0 ? size : *used + (size_t)n;
}

void loss_text_end(char *buf, size_t size, size_t used)
{
        if (used >= size && size >= 4)
                memcpy(buf + size - 4, "...", 4);
}

/* --- params --- */

/* Lowercase only: the params are written by loss_params_new(), which writes it so. */
static bool unhex(const char *hex, uint8_t out[CRYPTO_SHA256_LEN])
{
        return hex && hex[strspn(hex, "0123456789abcdef")] == '\0' &&
               crypto_unhex(hex, out, CRYPTO_SHA256_LEN);
}

static int bad(char *why, size_t why_len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t why_len, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* The index of the run of @p that holds @seq, or -1. */
static long find_run(const struct loss_run *runs, size_t n, long long seq)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (runs[mid].hi < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && runs[lo].lo <= seq ? (long)lo : -1;
}

static int parse_runs(struct loss_params *p, const json_t *lost, long long own_seq, char *why,
                      size_t why_len)
{
        size_t i;
        json_t *pair;

        if (!json_is_array(lost) || !json_array_size(lost))
                return bad(why, why_len, "\"lost\" is not a list of runs of chain entries");
        p->runs = calloc(json_array_size(lost), sizeof(*p->runs));
        if (!p->runs)
                return -ENOMEM;
        json_array_foreach(lost, i, pair)
        {
                const json_t *a = json_array_get(pair, 0), *b = json_array_get(pair, 1);
                long long lo, hi;

                if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_integer(a) ||
                    !json_is_integer(b))
                        return bad(why, why_len,
                                   "\"lost\" item %zu is not a pair of chain entry numbers", i + 1);
                lo = json_integer_value(a);
                hi = json_integer_value(b);
                if (lo < 1 || hi < lo)
                        return bad(why, why_len, "\"lost\" item %zu, [%lld, %lld], is no run",
                                   i + 1, lo, hi);
                if (own_seq && hi >= own_seq)
                        return bad(why, why_len,
                                   "\"lost\" names chain entry %lld, not before the "
                                   "declaration's own entry %lld",
                                   hi, own_seq);
                if (i && lo <= p->runs[i - 1].hi)
                        return bad(why, why_len,
                                   "\"lost\" item %zu overlaps or comes before the one before it",
                                   i + 1);
                p->runs[p->n_runs++] = (struct loss_run){lo, hi};
        }
        return 0;
}

static int parse_damaged(struct loss_params *p, const json_t *damaged, char *why, size_t why_len)
{
        size_t i;
        json_t *pair;

        if (!damaged)
                return 0;
        if (!json_is_array(damaged))
                return bad(why, why_len, "\"damaged\" is not a list");
        p->damaged = calloc(json_array_size(damaged) + 1, sizeof(*p->damaged));
        if (!p->damaged)
                return -ENOMEM;
        json_array_foreach(damaged, i, pair)
        {
                struct loss_damaged *d = &p->damaged[p->n_damaged];
                const json_t *seq = json_array_get(pair, 0);

                if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_integer(seq) ||
                    !unhex(json_string_value(json_array_get(pair, 1)), d->content))
                        return bad(why, why_len,
                                   "\"damaged\" item %zu is not a chain entry number and a "
                                   "SHA-256",
                                   i + 1);
                d->seq = json_integer_value(seq);
                if (i && d->seq <= p->damaged[i - 1].seq)
                        return bad(why, why_len,
                                   "\"damaged\" item %zu comes before the one before it", i + 1);
                if (find_run(p->runs, p->n_runs, d->seq) < 0)
                        return bad(why, why_len,
                                   "\"damaged\" names chain entry %lld, which \"lost\" does not",
                                   d->seq);
                p->n_damaged++;
        }
        return 0;
}

int loss_params_parse(const char *text, long long own_seq, struct loss_params **out, char *why,
                      size_t why_len)
{
        static const char *const known[] = {"lost", "damaged", "reason", "damaged_copy_sha256"};
        struct loss_params *p = calloc(1, sizeof(*p));
        json_t *doc = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
        const json_t *copy;
        const char *key;
        json_t *value;
        uint8_t raw[CRYPTO_SHA256_LEN];
        int r = 0;

        *out = NULL;
        if (!p) {
                r = -ENOMEM;
                goto out;
        }
        if (!json_is_object(doc)) {
                r = bad(why, why_len, "its params are not a JSON object");
                goto out;
        }
        json_object_foreach(doc, key, value)
        {
                size_t i = 0;
                char name[64];

                while (i < sizeof(known) / sizeof(known[0]) && strcmp(key, known[i]) != 0)
                        i++;
                if (i == sizeof(known) / sizeof(known[0])) {
                        r = bad(why, why_len, "its params hold an unknown member \"%s\"",
                                loss_printable(key, name, sizeof(name)));
                        goto out;
                }
        }
        r = parse_runs(p, json_object_get(doc, "lost"), own_seq, why, why_len);
        if (r == 0)
                r = parse_damaged(p, json_object_get(doc, "damaged"), why, why_len);
        if (r == 0 && !loss_text_ok(json_string_value(json_object_get(doc, "reason"))))
                r = bad(why, why_len,
                        "its reason is missing, too long, or holds control characters");
        copy = json_object_get(doc, "damaged_copy_sha256");
        if (r == 0 && copy && !unhex(json_string_value(copy), raw))
                r = bad(why, why_len, "\"damaged_copy_sha256\" is not a SHA-256");
out:
        json_decref(doc);
        if (r == 0)
                *out = p;
        else
                loss_params_free(p);
        return r;
}

void loss_params_free(struct loss_params *p)
{
        if (!p)
                return;
        free(p->runs);
        free(p->damaged);
        free(p);
}

int loss_params_state(const struct loss_params *p, long long seq, const uint8_t **content)
{
        size_t lo = 0, hi = p->n_damaged;

        if (find_run(p->runs, p->n_runs, seq) < 0)
                return 0;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (p->damaged[mid].seq < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < p->n_damaged && p->damaged[lo].seq == seq) {
                if (content)
                        *content = p->damaged[lo].content;
                return 2;
        }
        return 1;
}

char *loss_params_new(const struct chain_lost *lost, size_t n, const char *reason,
                      const char *copy_sha256)
{
        json_t *runs = json_array(), *damaged = json_array(), *p = NULL;
        char hex[2 * CRYPTO_SHA256_LEN + 1], *text = NULL;
        bool ok = runs && damaged && n && loss_text_ok(reason);
        size_t i, j;

        for (i = 0; ok && i < n; i = j) {
                for (j = i + 1; j < n && lost[j].seq == lost[j - 1].seq + 1; j++)
                        ;
                ok = json_array_append_new(runs, json_pack("[I, I]", (json_int_t)lost[i].seq,
                                                           (json_int_t)lost[j - 1].seq)) == 0;
        }
        for (i = 0; ok && i < n; i++) {
                if (!lost[i].damaged)
                        continue;
                crypto_hex(lost[i].content, CRYPTO_SHA256_LEN, hex);
                ok = json_array_append_new(damaged,
                                           json_pack("[I, s]", (json_int_t)lost[i].seq, hex)) == 0;
        }
        if (ok)
                p = json_pack("{s:O, s:s}", "lost", runs, "reason", reason);
        if (p && json_array_size(damaged))
                ok = json_object_set(p, "damaged", damaged) == 0;
        if (p && ok && copy_sha256)
                ok = json_object_set_new(p, "damaged_copy_sha256", json_string(copy_sha256)) == 0;
        if (p && ok)
                text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(p);
        json_decref(damaged);
        json_decref(runs);
        return text;
}

/* --- the book --- */

struct loss_declaration {
        long long id, seq, at;
        char *who, *reason, *copy;
        struct loss_params *p;
};

struct loss_refusal {
        long long seq;
        char why[256];
};

/* A run of one counted declaration. */
struct loss_index {
        long long lo, hi;
        size_t decl;
};

struct loss_book {
        struct loss_declaration *decls;
        size_t n_decls;
        struct loss_refusal *refused;
        size_t n_refused;
        struct loss_index *index; /* every run of every counted declaration, by first entry */
        size_t n_index;
};

static int by_lo(const void *a, const void *b)
{
        const struct loss_index *x = a, *y = b;

        return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The index entry holding @seq, or NULL. */
static const struct loss_index *lookup(const struct loss_book *b, long long seq)
{
        size_t lo = 0, hi = b->n_index;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (b->index[mid].hi < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < b->n_index && b->index[lo].lo <= seq ? &b->index[lo] : NULL;
}

/* Why @p, of the declaration at entry @seq, may not join the declarations counted so far, or
 * NULL: it may name neither an entry one of them names nor one of their own entries. */
static const char *conflict(const struct loss_book *b, const struct loss_params *p, char *why,
                            size_t why_len)
{
        for (size_t i = 0; i < p->n_runs; i++) {
                size_t lo = 0, hi = b->n_index;

                /* The first counted run that ends at or after this one's start. */
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;

                        if (b->index[mid].hi < p->runs[i].lo)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                if (lo < b->n_index && b->index[lo].lo <= p->runs[i].hi) {
                        long long at =
                                b->index[lo].lo > p->runs[i].lo ? b->index[lo].lo : p->runs[i].lo;

                        snprintf(why, why_len,
                                 "it declares chain entry %lld lost, which audit #%lld declared "
                                 "already",
                                 at, b->decls[b->index[lo].decl].id);
                        return why;
                }
        }
        for (size_t i = 0; i < b->n_decls; i++) {
                if (loss_params_state(p, b->decls[i].seq, NULL)) {
                        snprintf(why, why_len,
                                 "it declares the declaration audit #%lld (chain entry %lld) "
                                 "lost, which no declaration may do",
                                 b->decls[i].id, b->decls[i].seq);
                        return why;
                }
        }
        return NULL;
}

static int refuse(struct loss_book *b, long long seq, const char *why)
{
        struct loss_refusal *more = reallocarray(b->refused, b->n_refused + 1, sizeof(*more));

        if (!more)
                return -ENOMEM;
        b->refused = more;
        more[b->n_refused].seq = seq;
        snprintf(more[b->n_refused].why, sizeof(more->why), "%s", why);
        b->n_refused++;
        return 0;
}

/* Counts the declaration @d (its params parsed): its runs join the index. */
static int count(struct loss_book *b, struct loss_declaration *d)
{
        struct loss_declaration *decls = reallocarray(b->decls, b->n_decls + 1, sizeof(*decls));
        struct loss_index *index;

        if (!decls)
                return -ENOMEM;
        b->decls = decls;
        index = reallocarray(b->index, b->n_index + d->p->n_runs, sizeof(*index));
        if (!index)
                return -ENOMEM;
        b->index = index;
        for (size_t i = 0; i < d->p->n_runs; i++)
                index[b->n_index++] =
                        (struct loss_index){d->p->runs[i].lo, d->p->runs[i].hi, b->n_decls};
        decls[b->n_decls++] = *d;
        qsort(b->index, b->n_index, sizeof(*index), by_lo);
        return 0;
}

static char *dup_column(sqlite3_stmt *st, int c)
{
        const char *s = (const char *)sqlite3_column_text(st, c);

        return strdup(s ? s : "?");
}

/* The reason and the damaged copy's hash of a declaration whose params parsed. */
static int read_texts(struct loss_declaration *d, const char *params)
{
        json_t *doc = json_loads(params, 0, NULL);
        const char *copy = json_string_value(json_object_get(doc, "damaged_copy_sha256"));

        d->reason = doc ? strdup(json_string_value(json_object_get(doc, "reason"))) : NULL;
        d->copy = copy ? strdup(copy) : NULL;
        json_decref(doc);
        return d->reason && (d->copy || !copy) ? 0 : -ENOMEM;
}

/* Decides about the declaration in the current row of @st (seq, id, at, who, params). */
static int consider(struct loss_book *b, sqlite3_stmt *st)
{
        struct loss_declaration d = {
                .seq = sqlite3_column_int64(st, 0),
                .id = sqlite3_column_int64(st, 1),
                .at = sqlite3_column_int64(st, 2),
        };
        const char *params = (const char *)sqlite3_column_text(st, 4);
        char why[256];
        int r;

        r = loss_params_parse(params, d.seq, &d.p, why, sizeof(why));
        if (r == -EBADMSG)
                return refuse(b, d.seq, why);
        if (r < 0)
                return r;
        if (conflict(b, d.p, why, sizeof(why))) {
                loss_params_free(d.p);
                return refuse(b, d.seq, why);
        }
        d.who = dup_column(st, 3);
        r = d.who ? read_texts(&d, params) : -ENOMEM;
        if (r == 0)
                r = count(b, &d);
        if (r < 0) {
                free(d.who);
                free(d.reason);
                free(d.copy);
                loss_params_free(d.p);
        }
        return r;
}

int loss_book_read(sqlite3 *db, struct loss_book **out)
{
        struct loss_book *b = calloc(1, sizeof(*b));
        char content[1024], sql[2048];
        sqlite3_stmt *st = NULL;
        int r, rc = SQLITE_DONE;

        *out = NULL;
        if (!b)
                return -ENOMEM;
        /* A declaration is read only where its row is the one chained: a row written into the
         * place of a lost audit row, or a declaration changed since, is never one (and
         * chain_verify() names it). */
        r = chain_content_sql("audit", "a.", content, sizeof(content));
        if (r < 0)
                goto out;
        snprintf(sql, sizeof(sql),
                 "SELECT c.seq, a.id, a.at, a.who, a.params FROM main.audit a JOIN main.chain c ON "
                 "c.tbl = 'audit' AND c.row_id = a.id WHERE a.action = '" LOSS_ACTION
                 "' AND a.result = '" LOSS_RESULT "' AND %s = c.content ORDER BY c.seq",
                 content);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
                r = -EIO;
                goto out;
        }
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
                r = consider(b, st);
        if (r == 0 && rc != SQLITE_DONE)
                r = -EIO;
out:
        sqlite3_finalize(st);
        if (r < 0)
                loss_book_free(b);
        else
                *out = b;
        return r;
}

void loss_book_free(struct loss_book *b)
{
        if (!b)
                return;
        for (size_t i = 0; i < b->n_decls; i++) {
                free(b->decls[i].who);
                free(b->decls[i].reason);
                free(b->decls[i].copy);
                loss_params_free(b->decls[i].p);
        }
        free(b->decls);
        free(b->refused);
        free(b->index);
        free(b);
}

long long loss_book_find(const struct loss_book *b, long long seq, int *state,
                         const uint8_t **content)
{
        const struct loss_index *i = lookup(b, seq);

        *state = 0;
        if (!i)
                return 0;
        *state = loss_params_state(b->decls[i->decl].p, seq, content);
        return b->decls[i->decl].id;
}

const char *loss_book_refused(const struct loss_book *b, long long seq)
{
        for (size_t i = 0; i < b->n_refused; i++)
                if (b->refused[i].seq == seq)
                        return b->refused[i].why;
        return NULL;
}

int loss_book_after_head(const struct loss_book *b, long long head_seq, char *buf, size_t size)
{
        size_t o = 0;
        int n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < b->n_decls; i++) {
                const struct loss_declaration *d = &b->decls[i];
                long long before = 0;

                if (d->seq <= head_seq)
                        continue;
                for (size_t k = 0; k < d->p->n_runs && d->p->runs[k].lo <= head_seq; k++)
                        before += (d->p->runs[k].hi < head_seq ? d->p->runs[k].hi : head_seq) -
                                  d->p->runs[k].lo + 1;
                if (!before)
                        continue;
                loss_appendf(
                        buf, size, &o,
                        "%saudit #%lld (chain entry %lld), declared after the head the platform "
                        "holds, declares %lld entr%s at or before that head lost: only the kept "
                        "damaged copy%s%s%s can show that %s lost to damage, not deleted",
                        n ? "\n" : "", d->id, d->seq, before, before == 1 ? "y" : "ies",
                        d->copy ? " (SHA-256 " : "", d->copy ? d->copy : "", d->copy ? ")" : "",
                        before == 1 ? "it was" : "they were");
                n++;
        }
        loss_text_end(buf, size, o);
        return n;
}

/* --- for people --- */

static int by_value(const void *a, const void *b)
{
        long long x = *(const long long *)a, y = *(const long long *)b;

        return x < y ? -1 : x > y;
}

/* Appends the runs of the @n sorted numbers @v: "4 to 6, 9" with @mark before each number. */
static void add_runs(char *buf, size_t size, size_t *o, const long long *v, size_t n,
                     const char *mark)
{
        for (size_t i = 0, j; i < n; i = j) {
                for (j = i + 1; j < n && v[j] == v[j - 1] + 1; j++)
                        ;
                loss_appendf(buf, size, o, "%s%s%lld", i ? ", " : "", mark, v[i]);
                if (j - 1 > i)
                        loss_appendf(buf, size, o, " to %s%lld", mark, v[j - 1]);
        }
}

void loss_describe_rows(const struct chain_lost *l, size_t n, char *buf, size_t size)
{
        long long *v = calloc(n + 1, sizeof(*v));
        size_t o = 0, k;

        buf[0] = '\0';
        if (!v) {
                loss_appendf(buf, size, &o, "%zu chain entries", n);
                return;
        }
        for (size_t i = 0; i < n; i++)
                v[i] = l[i].seq;
        loss_appendf(buf, size, &o, "chain entr%s ", n == 1 ? "y" : "ies");
        add_runs(buf, size, &o, v, n, "");
        loss_appendf(buf, size, &o, ":");
        /* Each table once, in the order the chain first names it, with the runs of its rows. */
        for (size_t i = 0; i < n; i++) {
                bool seen = false;

                for (size_t j = 0; j < i && !seen; j++)
                        seen = strcmp(l[j].tbl, l[i].tbl) == 0;
                if (seen)
                        continue;
                k = 0;
                for (size_t j = i; j < n; j++)
                        if (strcmp(l[j].tbl, l[i].tbl) == 0)
                                v[k++] = l[j].row_id;
                qsort(v, k, sizeof(*v), by_value);
                loss_appendf(buf, size, &o, "%s %s ", i ? "," : "", l[i].tbl);
                add_runs(buf, size, &o, v, k, "#");
        }
        free(v);
        loss_text_end(buf, size, o);
}

void loss_describe(const struct loss_book *b, const struct chain_lost *l, size_t n, char *buf,
                   size_t size)
{
        char rows[800], who[200], reason[4 * LOSS_REASON_MAX / 3], when[32];
        size_t o = 0, damaged = 0;

        for (size_t i = 0; i < n; i++)
                damaged += l[i].damaged;
        loss_describe_rows(l, n, rows, sizeof(rows));
        loss_appendf(buf, size, &o, "%zu row%s declared lost (%zu missing, %zu damaged), %s", n,
                     n == 1 ? "" : "s", n - damaged, damaged, rows);
        for (size_t i = 0; i < b->n_decls; i++) {
                const struct loss_declaration *d = &b->decls[i];
                time_t t = (time_t)(d->at / 1000);
                struct tm tm;
                bool used = false;

                for (size_t k = 0; k < n && !used; k++)
                        used = l[k].declaration == d->id;
                if (!used)
                        continue;
                if (!gmtime_r(&t, &tm) ||
                    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
                        snprintf(when, sizeof(when), "?");
                loss_appendf(buf, size, &o, "; declared on %s by %s (audit #%lld): %s", when,
                             loss_printable(d->who, who, sizeof(who)), d->id,
                             loss_printable(d->reason, reason, sizeof(reason)));
                if (d->copy)
                        loss_appendf(buf, size, &o, " (damaged copy SHA-256 %s)", d->copy);
        }
        loss_text_end(buf, size, o);
}
