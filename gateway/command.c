/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * command: parsing and recording the platform's commands. Nothing from the network is trusted:
 * the payload is strict JSON (jansson, duplicate keys refused) of bounded size, every field is
 * checked for its type and characters before it is copied, and a refusal says which field.
 */
#include "command.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUEST_ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static const struct {
        const char *topic, *verb;
} verbs[] = {
        {"ack", "acknowledge"},
        {"silence", "silence"},
        {"reset", "reset"},
        {"query", "query"},
};

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static int refuse(char *why, size_t len, const char *what)
{
        snprintf(why, len, "%s", what);
        return -EINVAL;
}

/* Copies the string member @key of @o into @buf; a missing optional member leaves "". */
static int get_text(json_t *o, const char *key, bool required, char *buf, size_t size,
                    const char *charset, char *why, size_t len)
{
        json_t *v = json_object_get(o, key);
        const char *s;

        buf[0] = '\0';
        if (!v && !required)
                return 0;
        if (!json_is_string(v)) {
                snprintf(why, len, "%s must be a string", key);
                return -EINVAL;
        }
        s = json_string_value(v);
        if (!*s || strlen(s) >= size || strlen(s) != json_string_length(v) || !printable(s) ||
            (charset && s[strspn(s, charset)] != '\0')) {
                snprintf(why, len, "invalid %s", key);
                return -EINVAL;
        }
        memcpy(buf, s, strlen(s) + 1);
        return 0;
}

/* A query's filters and page. The filters are checked where they are applied (the daemon);
 * here only their shape: an object of at most a few short members. */
static int get_query(json_t *root, struct command *c, char *why, size_t len)
{
        json_t *filters = json_object_get(root, "filters"), *page = json_object_get(root, "page"),
               *size = json_object_get(root, "page_size");
        char *text;

        if (filters && !json_is_object(filters))
                return refuse(why, len, "filters must be an object");
        if ((page && (!json_is_integer(page) || json_integer_value(page) < 1)) ||
            (size && (!json_is_integer(size) || json_integer_value(size) < 1 ||
                      json_integer_value(size) > COMMAND_PAGE_SIZE_MAX)))
                return refuse(why, len, "page is 1 or more, page_size 1 to 100");
        c->page = page ? (long)json_integer_value(page) : 1;
        c->page_size = size ? (long)json_integer_value(size) : 50;
        text = filters ? json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (filters && !text)
                return -ENOMEM;
        if (text && strlen(text) >= sizeof(c->filters)) {
                free(text);
                return refuse(why, len, "the filters are too long");
        }
        snprintf(c->filters, sizeof(c->filters), "%s", text ? text : "{}");
        free(text);
        return 0;
}

int command_parse(const char *prefix, const char *topic, const void *payload, size_t len,
                  int64_t now_ms, int64_t max_age_ms, struct command *c, char *why, size_t why_len)
{
        size_t plen = strlen(prefix);
        const char *rest, *slash;
        json_error_t err;
        json_t *root = NULL, *at, *value;
        const char *key;
        int r = -EINVAL;

        memset(c, 0, sizeof(*c));
        why[0] = '\0';
        if (strncmp(topic, prefix, plen) != 0 || strncmp(topic + plen, "cmd/", 4) != 0)
                return -ENOENT;
        rest = topic + plen + 4;
        slash = strchr(rest, '/');
        if (!slash || slash == rest || (size_t)(slash - rest) >= sizeof(c->account))
                return refuse(why, why_len, "the topic is not cmd/<account>/<verb>");
        memcpy(c->account, rest, (size_t)(slash - rest));
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(slash + 1, verbs[i].topic) == 0)
                        snprintf(c->verb, sizeof(c->verb), "%s", verbs[i].verb);
        if (!c->verb[0]) {
                snprintf(c->verb, sizeof(c->verb), "%.15s", slash + 1);
                return refuse(why, why_len, "unknown command (ack, silence, reset, query)");
        }
        if (len > COMMAND_PAYLOAD_MAX)
                return refuse(why, why_len, "the payload is too large");
        root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(root)) {
                refuse(why, why_len, "the payload is not a JSON object");
                goto out;
        }
        /* The request id first: with it, even a refusal can be answered. */
        r = get_text(root, "request_id", true, c->request_id, sizeof(c->request_id),
                     REQUEST_ID_CHARS, why, why_len);
        if (r == 0 && strlen(c->request_id) < 8) {
                c->request_id[0] = '\0';
                r = refuse(why, why_len, "invalid request_id");
        }
        if (r == 0 && json_object_get(root, "false_alarm")) {
                json_t *fa = json_object_get(root, "false_alarm");

                if (!json_is_boolean(fa) || strcmp(c->verb, "reset") != 0)
                        r = refuse(why, why_len, "false_alarm is true or false, with reset only");
                else
                        c->false_alarm = json_is_true(fa);
        }
        if (r == 0 && strcmp(c->verb, "query") == 0)
                r = get_query(root, c, why, why_len);
        else if (r == 0)
                r = get_text(root, "target", true, c->target, sizeof(c->target), NULL, why,
                             why_len);
        if (r == 0)
                r = get_text(root, "operator", false, c->operator_name, sizeof(c->operator_name),
                             NULL, why, why_len);
        if (r < 0)
                goto out;
        at = json_object_get(root, "at");
        if (!json_is_integer(at)) {
                r = refuse(why, why_len, "at must be an integer (UTC milliseconds)");
                goto out;
        }
        c->sent_at = json_integer_value(at);
        if (c->sent_at < now_ms - max_age_ms || c->sent_at > now_ms + max_age_ms) {
                int64_t skew;

                /* "at" comes from the network: any 64-bit value, so the difference may not fit. */
                if (__builtin_sub_overflow(c->sent_at, now_ms, &skew))
                        skew = c->sent_at < now_ms ? INT64_MIN : INT64_MAX;
                snprintf(why, why_len,
                         "stale: sent %lld ms from the gateway's clock, more than the %lld "
                         "allowed",
                         (long long)skew, (long long)max_age_ms);
                r = -EINVAL;
                goto out;
        }
        json_object_foreach(root, key, value)
        {
                static const char *const action_keys[] = {"request_id", "at", "target", "operator",
                                                          "false_alarm"},
                                         *const query_keys[] = {"request_id", "at",   "operator",
                                                                "filters",    "page", "page_size"};
                bool query = strcmp(c->verb, "query") == 0;
                const char *const *known = query ? query_keys : action_keys;
                size_t i, n = query ? 6 : 5;

                (void)value;
                for (i = 0; i < n && strcmp(key, known[i]) != 0; i++)
                        ;
                if (i == n) {
                        snprintf(why, why_len, "unknown field '%.40s'", key);
                        r = -EINVAL;
                        goto out;
                }
        }
        r = 0;
out:
        json_decref(root);
        return r;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
        if (s && *s)
                sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, i);
}

int command_record(struct store *s, const struct command *c, int64_t at, const char *result,
                   const char *reason, long long incident)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(s),
                               "INSERT INTO command (at, account, verb, request_id, sent_at, "
                               "target, operator, result, reason, incident) VALUES (?, ?, ?, ?, "
                               "?, ?, ?, ?, ?, ?)",
                               -1, &st, NULL) != SQLITE_OK) {
                r = store_error(s, "recording a command");
                goto out;
        }
        sqlite3_bind_int64(st, 1, at);
        sqlite3_bind_text(st, 2, c->account[0] ? c->account : "?", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->verb[0] ? c->verb : "?", -1, SQLITE_STATIC);
        bind_text_or_null(st, 4, c->request_id);
        if (c->sent_at)
                sqlite3_bind_int64(st, 5, c->sent_at);
        else
                sqlite3_bind_null(st, 5);
        bind_text_or_null(st, 6, c->target);
        bind_text_or_null(st, 7, c->operator_name);
        sqlite3_bind_text(st, 8, result, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, reason, -1, SQLITE_STATIC);
        if (incident > 0)
                sqlite3_bind_int64(st, 10, incident);
        else
                sqlite3_bind_null(st, 10);
        if (sqlite3_step(st) != SQLITE_DONE)
                r = store_error(s, "recording a command");
out:
        sqlite3_finalize(st);
        return r;
}

int command_previous(struct store *s, const char *account, const char *request_id, char *reason,
                     size_t reason_len, long long *incident)
{
        sqlite3_stmt *st = NULL;
        int r = -ENOENT, rc;

        if (sqlite3_prepare_v2(store_db(s),
                               "SELECT reason, coalesce(incident, 0) FROM command WHERE account = "
                               "? AND request_id = ? AND result = 'ok' ORDER BY id LIMIT 1",
                               -1, &st, NULL) != SQLITE_OK)
                return store_error(s, "looking up a command");
        sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, request_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                snprintf(reason, reason_len, "%s", (const char *)sqlite3_column_text(st, 0));
                *incident = sqlite3_column_int64(st, 1);
                r = 0;
        } else if (rc != SQLITE_DONE) {
                r = store_error(s, "looking up a command");
        }
        sqlite3_finalize(st);
        return r;
}
