/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * outbox: the store's outbox table and the sender that empties it through the uplink.
 *
 * The sender keeps two small sets in memory: the sequence numbers published on this connection
 * and not yet acknowledged (in flight), and those acknowledged but not yet marked delivered in
 * the store (acked). Pumping reads the first pending rows in sending order and skips both sets,
 * so a fire alarm committed while statistics are in flight still goes out next, and nothing is
 * published twice on one connection. Acknowledgements are written by a deferred event, once per
 * loop iteration, so a burst of PUBACKs is one transaction.
 *
 * Held messages have no row: each is a JSON object in memory until its PUBACK, published before
 * any row (there are few, and an unstored alert is the most urgent thing the gateway has), again
 * after every reconnect. Their tags have the top bit set, which no sequence number reaches.
 */
#include "outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "wallclock.h"

/* Rows published and not yet committed as delivered: the uplink's window (at most a few
 * hundred) plus one loop iteration's acknowledgements. */
#define OUTBOX_TRACK_MAX 1024
/* Delivered statistics older than this are removed: alerts and responses stay for ever. */
#define STATS_KEEP_MS (24LL * 3600 * 1000)
/* Held messages: unstored alerts during a disk failure, the statistics of a few intervals. */
#define OUTBOX_HELD_MAX 256
#define HELD_TAG_BIT    (UINT64_C(1) << 63)

static const char *const kind_names[] = {
        [OUTBOX_ALERT] = "alert",
        [OUTBOX_STATS] = "stats",
        [OUTBOX_RESPONSE] = "response",
};

struct held {
        uint64_t tag;
        enum outbox_kind kind;
        enum outbox_priority priority;
        bool spill; /* stored when the connection is lost before its acknowledgement */
        bool sent;  /* published on this connection */
        char topic[64];
        json_t *msg;
};

struct outbox {
        sd_event *event;
        sd_event_source *flush;
        struct store *store;
        struct uplink *uplink;
        char *prefix;
        sqlite3_stmt *pending;
        uint64_t inflight[OUTBOX_TRACK_MAX], acked[OUTBOX_TRACK_MAX];
        size_t n_inflight, n_acked;
        struct held held[OUTBOX_HELD_MAX]; /* in the order given */
        size_t n_held;
        uint64_t next_held;
        bool refused_logged; /* a publish error is said once per connection */
};

/* A random (version 4) UUID: unique without coordination, and says nothing about the gateway. */
static int make_uuid(char out[37])
{
        unsigned char b[16];

        if (getrandom(b, sizeof(b), 0) != sizeof(b))
                return -errno ? -errno : -EIO;
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                 b[13], b[14], b[15]);
        return 0;
}

/* The next sequence number, inside the caller's write transaction: AUTOINCREMENT's own
 * counter, so a number is never given twice even after rows are removed. */
static int next_seq(struct store *s, long long *seq)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(s),
                               "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
                               "'outbox'), 0) + 1",
                               -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                r = store_error(s, "numbering an outbox message");
        else
                *seq = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return r;
}

int outbox_add(struct store *s, enum outbox_kind kind, enum outbox_priority priority,
               const char *topic, json_t *msg, long long incident, int64_t now_ms,
               long long *seq_out)
{
        sqlite3_stmt *st = NULL;
        char id[37], *payload = NULL;
        long long seq = 0;
        int r = 0;

        /* A held message stored after all keeps its id, so the platform sees one message even
         * if the held copy did arrive before the connection was lost. */
        if (json_is_string(json_object_get(msg, "id")))
                snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(msg, "id")));
        else
                r = make_uuid(id);
        if (r == 0)
                r = next_seq(s, &seq);
        if (r < 0)
                return r;
        json_object_del(msg, "stored");
        if (json_object_set_new(msg, "id", json_string(id)) < 0 ||
            json_object_set_new(msg, "seq", json_integer(seq)) < 0)
                return -ENOMEM;
        payload = json_dumps(msg, JSON_COMPACT);
        if (!payload)
                return -ENOMEM;
        if (sqlite3_prepare_v2(store_db(s),
                               "INSERT INTO outbox (seq, id, kind, priority, topic, payload, "
                               "incident, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               -1, &st, NULL) != SQLITE_OK) {
                r = store_error(s, "adding to the outbox");
                goto out;
        }
        sqlite3_bind_int64(st, 1, seq);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, kind_names[kind], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, (int)priority);
        sqlite3_bind_text(st, 5, topic, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, payload, -1, SQLITE_STATIC);
        if (incident > 0)
                sqlite3_bind_int64(st, 7, incident);
        else
                sqlite3_bind_null(st, 7);
        sqlite3_bind_int64(st, 8, now_ms);
        if (sqlite3_step(st) != SQLITE_DONE) {
                r = store_error(s, "adding to the outbox");
                goto out;
        }
        if (seq_out)
                *seq_out = seq;
out:
        sqlite3_finalize(st);
        free(payload);
        return r;
}

static int query_count(struct store *s, const char *sql, long long *out)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                r = store_error(s, "counting the outbox");
        else
                *out = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return r;
}

int outbox_depth(struct store *s, long long *pending, long long *coalesced)
{
        int r = query_count(s, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL", pending);

        if (r == 0)
                r = query_count(s,
                                "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE "
                                "key = 'outbox_coalesced'), 0)",
                                coalesced);
        return r;
}

static int exec_int(struct store *s, const char *sql, long long a, const char *what)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
                r = store_error(s, what);
                goto out;
        }
        if (sqlite3_bind_parameter_count(st) > 0)
                sqlite3_bind_int64(st, 1, a);
        if (sqlite3_step(st) != SQLITE_DONE)
                r = store_error(s, what);
out:
        sqlite3_finalize(st);
        return r;
}

int outbox_coalesce(struct store *s, long long max, int64_t now_ms, long long *dropped)
{
        long long pending = 0, coalesced = 0, n = 0;
        int r;

        if (dropped)
                *dropped = 0;
        r = exec_int(s,
                     "DELETE FROM outbox WHERE kind = 'stats' AND delivered_at IS NOT NULL AND "
                     "delivered_at < ?",
                     now_ms - STATS_KEEP_MS, "removing delivered statistics");
        if (r == 0)
                r = outbox_depth(s, &pending, &coalesced);
        if (r < 0 || pending < max)
                return r;
        r = exec_int(s, "DELETE FROM outbox WHERE kind = 'stats' AND delivered_at IS NULL", 0,
                     "coalescing statistics");
        if (r < 0)
                return r;
        n = sqlite3_changes(store_db(s));
        r = exec_int(s,
                     "INSERT INTO meta (key, value) VALUES ('outbox_coalesced', CAST(? AS TEXT)) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     coalesced + n, "counting coalesced statistics");
        if (r == 0 && dropped)
                *dropped = n;
        return r;
}

/* --- the sender --- */

static bool contains(const uint64_t *set, size_t n, uint64_t seq)
{
        for (size_t i = 0; i < n; i++)
                if (set[i] == seq)
                        return true;
        return false;
}

static void remove_from(uint64_t *set, size_t *n, uint64_t seq)
{
        for (size_t i = 0; i < *n; i++)
                if (set[i] == seq) {
                        set[i] = set[--*n];
                        return;
                }
}

size_t outbox_inflight(const struct outbox *o)
{
        return o ? o->n_inflight + o->n_acked : 0;
}

/* Publishes the held messages not yet sent on this connection, in the order given. Returns 0,
 * or -EAGAIN when the window is full (rows wait too). */
static int publish_held(struct outbox *o)
{
        char topic[512], *text;
        int r;

        for (size_t i = 0; i < o->n_held; i++) {
                struct held *h = &o->held[i];

                if (h->sent)
                        continue;
                text = json_dumps(h->msg, JSON_COMPACT);
                if (!text)
                        return -ENOMEM;
                snprintf(topic, sizeof(topic), "%s%s", o->prefix, h->topic);
                r = uplink_publish(o->uplink, topic, text, strlen(text), 1, false, h->tag);
                free(text);
                if (r == -EAGAIN || r == -ENOTCONN)
                        return -EAGAIN;
                if (r < 0 && !o->refused_logged) {
                        log_error_errno(r, "uplink: cannot publish a held %s message",
                                        kind_names[h->kind]);
                        o->refused_logged = true;
                }
                /* A refused one is tried again after the next reconnect, like a row. */
                h->sent = true;
        }
        return 0;
}

void outbox_pump(struct outbox *o)
{
        sqlite3_stmt *st = o ? o->pending : NULL;
        char topic[512];
        int rc;

        if (!o || !o->uplink || !uplink_connected(o->uplink))
                return;
        if (publish_held(o) < 0)
                return;
        sqlite3_reset(st);
        /* Enough rows to pass every one in flight or acked and still fill the window. */
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(o->n_inflight + o->n_acked + 64));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
               o->n_inflight + o->n_acked < OUTBOX_TRACK_MAX) {
                uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
                const char *rel = (const char *)sqlite3_column_text(st, 1);
                const void *payload = sqlite3_column_blob(st, 2);
                int len = sqlite3_column_bytes(st, 2), r;

                if (contains(o->inflight, o->n_inflight, seq) ||
                    contains(o->acked, o->n_acked, seq))
                        continue;
                snprintf(topic, sizeof(topic), "%s%s", o->prefix, rel ? rel : "");
                r = uplink_publish(o->uplink, topic, payload, (size_t)len, 1, false, seq);
                if (r == -EAGAIN || r == -ENOTCONN)
                        break;
                if (r < 0) {
                        /* Left pending, and tried again after the next reconnect. */
                        if (!o->refused_logged)
                                log_error_errno(r, "uplink: cannot publish outbox message %llu",
                                                (unsigned long long)seq);
                        o->refused_logged = true;
                }
                o->inflight[o->n_inflight++] = seq;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                store_error(o->store, "reading the outbox");
        sqlite3_reset(st);
}

/* Marks what the broker acknowledged as delivered, in one transaction. A store that cannot
 * take it keeps them in memory (they are not sent again on this connection) and tries at the
 * next acknowledgement; after a restart they are sent again, which at-least-once allows. */
static int on_flush(sd_event_source *src, void *userdata)
{
        struct outbox *o = userdata;
        sqlite3_stmt *st = NULL;
        int64_t now;
        int r;

        (void)src;
        if (!o->n_acked)
                return 0;
        now = wallclock_ms();
        /* A delivery mark lost to a power cut only sends that message again, which the
         * platform de-duplicates: it need not wait for the disk. The next alarm's commit
         * (synchronous FULL) syncs it anyway, in order. */
        sqlite3_exec(store_db(o->store), "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
        r = store_begin(o->store);
        if (r == 0 && sqlite3_prepare_v2(store_db(o->store),
                                         "UPDATE outbox SET delivered_at = ? WHERE seq = ? AND "
                                         "delivered_at IS NULL",
                                         -1, &st, NULL) != SQLITE_OK)
                r = store_error(o->store, "marking outbox messages delivered");
        for (size_t i = 0; r == 0 && i < o->n_acked; i++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, now);
                sqlite3_bind_int64(st, 2, (sqlite3_int64)o->acked[i]);
                if (sqlite3_step(st) != SQLITE_DONE)
                        r = store_error(o->store, "marking an outbox message delivered");
        }
        sqlite3_finalize(st);
        if (r == 0)
                r = store_commit(o->store);
        if (r < 0)
                store_rollback(o->store);
        sqlite3_exec(store_db(o->store), "PRAGMA synchronous = FULL", NULL, NULL, NULL);
        if (r < 0)
                return 0;
        o->n_acked = 0;
        outbox_pump(o);
        return 0;
}

static void drop_held(struct outbox *o, size_t i)
{
        json_decref(o->held[i].msg);
        memmove(&o->held[i], &o->held[i + 1], (o->n_held - i - 1) * sizeof(o->held[0]));
        o->n_held--;
}

int outbox_hold(struct outbox *o, enum outbox_kind kind, enum outbox_priority priority,
                const char *topic, json_t *msg, bool spill)
{
        struct held *h;
        char id[37];
        int r;

        if (!o || !o->uplink)
                return -ENOTCONN;
        if (strlen(topic) >= sizeof(h->topic))
                return -EINVAL;
        if (o->n_held == OUTBOX_HELD_MAX) {
                /* An alert is worth more than the oldest held statistics, which the next ones
                 * replace; nothing else is pushed out. */
                size_t i = 0;

                while (kind == OUTBOX_ALERT && i < o->n_held && o->held[i].kind != OUTBOX_STATS)
                        i++;
                if (kind != OUTBOX_ALERT || i == o->n_held)
                        return -ENOBUFS;
                drop_held(o, i);
        }
        r = make_uuid(id);
        if (r < 0)
                return r;
        if (json_object_set_new(msg, "id", json_string(id)) < 0 ||
            json_object_set_new(msg, "seq", json_null()) < 0 ||
            json_object_set_new(msg, "stored", json_false()) < 0)
                return -ENOMEM;
        h = &o->held[o->n_held++];
        *h = (struct held){
                .tag = HELD_TAG_BIT | ++o->next_held,
                .kind = kind,
                .priority = priority,
                .spill = spill,
                .msg = json_incref(msg),
        };
        snprintf(h->topic, sizeof(h->topic), "%s", topic);
        if (uplink_connected(o->uplink))
                publish_held(o);
        return 0;
}

size_t outbox_held(const struct outbox *o)
{
        return o ? o->n_held : 0;
}

/* The connection was lost: what may be stored is, in one transaction, so that a power cut
 * during the outage does not lose it; the rest is published again at the next connection. */
static void spill_held(struct outbox *o)
{
        int64_t now = wallclock_ms();
        size_t n = 0;
        int r;

        for (size_t i = 0; i < o->n_held; i++)
                n += o->held[i].spill;
        if (!n)
                return;
        r = store_begin(o->store);
        for (size_t i = 0; r == 0 && i < o->n_held; i++)
                if (o->held[i].spill)
                        r = outbox_add(o->store, o->held[i].kind, o->held[i].priority,
                                       o->held[i].topic, o->held[i].msg, 0, now, NULL);
        if (r == 0)
                r = store_commit(o->store);
        if (r < 0) {
                store_rollback(o->store);
                log_warning("uplink down: %zu held messages could not be stored; they stay in "
                            "memory until the next connection",
                            n);
                /* outbox_add may have numbered some: they go as held messages again. */
                for (size_t i = 0; i < o->n_held; i++)
                        if (o->held[i].spill) {
                                json_object_set_new(o->held[i].msg, "seq", json_null());
                                json_object_set_new(o->held[i].msg, "stored", json_false());
                        }
                return;
        }
        for (size_t i = o->n_held; i-- > 0;)
                if (o->held[i].spill)
                        drop_held(o, i);
}

void outbox_delivered(struct outbox *o, uint64_t seq)
{
        if (o && (seq & HELD_TAG_BIT)) {
                for (size_t i = 0; i < o->n_held; i++)
                        if (o->held[i].tag == seq) {
                                drop_held(o, i);
                                break;
                        }
                return;
        }
        if (!o || !contains(o->inflight, o->n_inflight, seq))
                return;
        remove_from(o->inflight, &o->n_inflight, seq);
        o->acked[o->n_acked++] = seq;
        sd_event_source_set_enabled(o->flush, SD_EVENT_ONESHOT);
}

void outbox_connection(struct outbox *o, bool up)
{
        if (!o)
                return;
        o->n_inflight = 0;
        o->refused_logged = false;
        for (size_t i = 0; i < o->n_held; i++)
                o->held[i].sent = false;
        if (up)
                outbox_pump(o);
        else
                spill_held(o);
}

int outbox_new(sd_event *event, struct store *s, struct uplink *uplink, const char *prefix,
               struct outbox **out)
{
        struct outbox *o = calloc(1, sizeof(*o));
        int r = -ENOMEM;

        *out = NULL;
        if (!o)
                return -ENOMEM;
        o->event = sd_event_ref(event);
        o->store = s;
        o->uplink = uplink;
        o->prefix = strdup(prefix);
        if (!o->prefix)
                goto out_free;
        r = sd_event_add_defer(event, &o->flush, on_flush, o);
        if (r < 0)
                goto out_free;
        sd_event_source_set_enabled(o->flush, SD_EVENT_OFF);
        if (sqlite3_prepare_v3(store_db(s),
                               "SELECT seq, topic, payload FROM outbox WHERE delivered_at IS NULL "
                               "ORDER BY priority, seq LIMIT ?",
                               -1, SQLITE_PREPARE_PERSISTENT, &o->pending, NULL) != SQLITE_OK) {
                r = store_error(s, "preparing the outbox");
                goto out_free;
        }
        *out = o;
        return 0;

out_free:
        outbox_free(o);
        return r;
}

void outbox_free(struct outbox *o)
{
        if (!o)
                return;
        /* Held statistics are stored for the next start; unstored alerts cannot be (their
         * decisions are kept by the daemon, which says what it could not store). */
        spill_held(o);
        if (o->n_held)
                log_warning("%zu held messages were not acknowledged before the stop: lost",
                            o->n_held);
        while (o->n_held)
                drop_held(o, o->n_held - 1);
        sqlite3_finalize(o->pending);
        sd_event_source_disable_unref(o->flush);
        sd_event_unref(o->event);
        free(o->prefix);
        free(o);
}
