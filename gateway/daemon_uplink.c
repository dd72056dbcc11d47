/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_uplink: the daemon's side of the city platform (docs/uplink.md). Alerts go into the
 * outbox inside each decision's transaction (daemon_uplink_alerts); statistics are made on a
 * timer, sent straight while the uplink is up and stored only while it is down; heartbeats are
 * published without being stored, since the next one replaces a lost one; the platform's commands
 * act through the same path as the desk's and are answered through the outbox. Everything runs on
 * the loop: the uplink hands Paho's events over.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "command.h"
#include "evidence.h"
#include "incident.h"
#include "daemon_internal.h"
#include "log.h"
#include "message.h"
#include "wallclock.h"

static int64_t uptime_s(struct daemon *d)
{
        return daemon_engine_now(d) / 1000;
}

static enum outbox_priority alert_priority(const struct engine_decision *dec)
{
        return dec->kind == ENGINE_ALARM || dec->kind == ENGINE_PRE_ALARM ? OUTBOX_PRIORITY_FIRE
                                                                          : OUTBOX_PRIORITY_OTHER;
}

int daemon_uplink_alerts(struct daemon *d, const struct engine_decision *dec,
                         long long before_event)
{
        enum outbox_priority prio = alert_priority(dec);
        sqlite3_stmt *st = NULL;
        int64_t now = wallclock_ms();
        int r = 0, rc;

        if (sqlite3_prepare_v2(store_db(d->store),
                               /* A range of the newest rows by rowid: an index on
                                * incident would scan the whole log on every alarm. */
                               "SELECT DISTINCT incident FROM incident_event NOT INDEXED WHERE "
                               "id > ? ORDER BY incident",
                               -1, &st, NULL) != SQLITE_OK)
                return store_error(d->store, "finding the incidents of a decision");
        sqlite3_bind_int64(st, 1, before_event);
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                long long incident = sqlite3_column_int64(st, 0);
                json_t *msg = NULL;

                r = message_alert(d->store, d->config->gateway_id, dec, incident, now, &msg);
                if (r == 0)
                        r = outbox_add(d->store, OUTBOX_ALERT, prio, "alert", msg, incident, now,
                                       NULL);
                json_decref(msg);
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = store_error(d->store, "finding the incidents of a decision");
        sqlite3_finalize(st);
        return r;
}

void daemon_uplink_unstored(struct daemon *d, const struct engine_decision *dec)
{
        const char *what = dec->detector ? dec->detector : dec->zone ? dec->zone : "building";
        json_t *msg = NULL;
        int r;

        if (!d->uplink)
                return;
        /* The registry is still readable when the disk is full: only writes fail. */
        r = message_alert(d->store, d->config->gateway_id, dec, 0, wallclock_ms(), &msg);
        if (r == 0)
                r = outbox_hold(d->outbox, OUTBOX_ALERT, alert_priority(dec), "alert", msg, false);
        json_decref(msg);
        if (r < 0)
                log_error_errno(r, "%s %s: the platform cannot be told either",
                                engine_decision_name(dec->kind), what);
        else
                log_warning("%s %s: sent to the platform without being stored (no seq), and "
                            "again after each reconnect until acknowledged",
                            engine_decision_name(dec->kind), what);
}

static int count_open_alarms(struct daemon *d, long long *n)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(d->store),
                               "SELECT count(*) FROM incident WHERE kind = 'alarm' AND state <> "
                               "'closed'",
                               -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                r = store_error(d->store, "counting open alarms");
        else
                *n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return r;
}

/* --- statistics and heartbeats --- */

/* Returns 0 when the statistics were handed to the uplink, or a negative errno to store them. */
static int hold_stats(struct daemon *d, struct message_stats_in *in, int64_t now)
{
        char head[CHAIN_HEAD_HEX];
        json_t *msg = NULL;
        int r = 0;

        if (chain_head(store_db(d->store), head, NULL) == 0)
                in->chain_head = head;
        r = outbox_depth(d->store, &in->outbox_pending, &in->outbox_coalesced);
        if (r == 0)
                r = message_stats(d->store, d->config->gateway_id, in, now, &msg);
        if (r == 0)
                r = outbox_hold(d->outbox, OUTBOX_STATS, OUTBOX_PRIORITY_STATS, "stats", msg, true);
        json_decref(msg);
        in->chain_head = NULL;
        return r;
}

static int add_stats(struct daemon *d)
{
        struct message_stats_in in = {
                .interval_s = d->config->stats_interval_s,
                .uptime_s = uptime_s(d),
                .received = d->msgs.received,
                .malformed = d->msgs.malformed,
                .oversize = d->msgs.oversize,
                .unknown_topic = d->msgs.unknown_topic,
                .unknown_device = d->msgs.unknown_device,
                .broker_connected = d->mqtt && mqtt_connected(d->mqtt),
        };
        int64_t now = wallclock_ms();
        long long dropped = 0;
        char head[CHAIN_HEAD_HEX];
        json_t *msg = NULL;
        int r;

        for (size_t i = 0; i < engine_detector_count(d->engine); i++) {
                enum engine_state st = engine_detector_state(d->engine, i);

                if ((size_t)st <= ENGINE_STATE_TEST)
                        in.by_state[st]++;
        }
        /* While the platform is reachable the statistics go straight out, held in memory until
         * acknowledged: a row per report, its indexes and its delivery mark were nearly all that
         * a quiet gateway wrote to its SD card (about 30 MB a day). They are stored only when
         * the uplink is down, or goes down before the acknowledgement. */
        if (d->uplink && uplink_connected(d->uplink) && hold_stats(d, &in, now) == 0)
                return 0;
        r = store_begin(d->store);
        /* The chain's head as of these statistics: the platform keeps it, so a log rewritten
         * later no longer contains it (firegate verify-log --head). */
        if (r == 0 && chain_head(store_db(d->store), head, NULL) == 0)
                in.chain_head = head;
        if (r == 0)
                r = outbox_coalesce(d->store, d->config->outbox_max, now, &dropped);
        if (r == 0)
                r = outbox_depth(d->store, &in.outbox_pending, &in.outbox_coalesced);
        if (r == 0)
                r = message_stats(d->store, d->config->gateway_id, &in, now, &msg);
        if (r == 0)
                r = outbox_add(d->store, OUTBOX_STATS, OUTBOX_PRIORITY_STATS, "stats", msg, 0, now,
                               NULL);
        if (r == 0)
                r = store_commit(d->store);
        json_decref(msg);
        if (r < 0) {
                store_rollback(d->store);
                return log_error_errno(r, "statistics could not be stored; they are sent with "
                                          "the next ones");
        }
        if (dropped)
                log_warning("outbox past %ld messages: %lld pending statistics coalesced",
                            d->config->outbox_max, dropped);
        outbox_pump(d->outbox);
        return 0;
}

static void rearm(sd_event_source *s, long period_s)
{
        uint64_t now;

        sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(s, now + (uint64_t)period_s * 1000000);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_stats(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        (void)usec;
        add_stats(d);
        rearm(s, d->config->stats_interval_s);
        return 0;
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        long long pending = 0, coalesced = 0, alarms = 0;
        char topic[128], *msg;

        (void)usec;
        rearm(s, d->config->heartbeat_s);
        if (!d->uplink || !uplink_connected(d->uplink))
                return 0;
        if (outbox_depth(d->store, &pending, &coalesced) < 0 || count_open_alarms(d, &alarms) < 0)
                return 0;
        msg = message_heartbeat(d->config->gateway_id, wallclock_ms(), uptime_s(d), pending,
                                alarms);
        snprintf(topic, sizeof(topic), "%sheartbeat", d->prefix);
        if (msg)
                uplink_publish(d->uplink, topic, msg, strlen(msg), 0, false, 0);
        free(msg);
        return 0;
}

/* --- the platform's commands --- */

static const char *result_of(int r)
{
        if (r == 0)
                return "ok";
        return r == -ENOENT || r == -EALREADY || r == -EINVAL ? "refused" : "error";
}

/* Records the command and queues its answer in one transaction. */
/* Records the command and queues its answer in one transaction; @extra (may be NULL) is
 * merged into the answer (a query's page), and a query is recorded in the audit log too. */
static void answer(struct daemon *d, const struct command *c, int64_t at, const char *result,
                   const char *reason, long long incident, json_t *extra, const char *who)
{
        char topic[128];
        json_t *msg = NULL;
        int r = store_begin(d->store);

        if (r == 0)
                r = command_record(d->store, c, at, result, reason, incident);
        if (r == 0 && strcmp(c->verb, "query") == 0 && strcmp(result, "ok") == 0)
                r = evidence_audit(d->store, at, who, "platform", "query", c->filters, reason);
        if (r == 0 && c->request_id[0]) {
                msg = message_response(d->config->gateway_id, c->request_id, result, reason,
                                       incident, wallclock_ms());
                if (msg && extra)
                        json_object_update(msg, extra);
                snprintf(topic, sizeof(topic), "resp/%s", c->request_id);
                r = msg ? outbox_add(d->store, OUTBOX_RESPONSE, OUTBOX_PRIORITY_OTHER, topic, msg,
                                     incident, at, NULL)
                        : -ENOMEM;
        }
        if (r == 0)
                r = store_commit(d->store);
        json_decref(msg);
        if (r < 0) {
                store_rollback(d->store);
                log_error_errno(r, "the command from %s could not be recorded", c->account);
                return;
        }
        outbox_pump(d->outbox);
}

/* A query's filters, as incident_filter takes them; the strings stay in @filters. Returns 0
 * or -EINVAL with the reason. */
static int query_filter(json_t *filters, struct incident_filter *f, char *why, size_t len)
{
        const char *key;
        json_t *v;

        *f = (struct incident_filter){0};
        json_object_foreach(filters, key, v)
        {
                if ((strcmp(key, "from") == 0 || strcmp(key, "to") == 0) && json_is_integer(v)) {
                        if (key[0] == 'f') {
                                f->from_ms = json_integer_value(v);
                                f->have_from = true;
                        } else {
                                f->to_ms = json_integer_value(v);
                                f->have_to = true;
                        }
                } else if (strcmp(key, "floor") == 0 && json_is_integer(v)) {
                        f->floor = (int)json_integer_value(v);
                        f->have_floor = true;
                } else if (json_is_string(v) && json_string_length(v) <= 128 &&
                           strcmp(key, "unit") == 0) {
                        f->unit = json_string_value(v);
                } else if (json_is_string(v) && json_string_length(v) <= 128 &&
                           strcmp(key, "detector") == 0) {
                        f->detector = json_string_value(v);
                } else if (json_is_string(v) && json_string_length(v) <= 128 &&
                           strcmp(key, "cause") == 0) {
                        f->cause = json_string_value(v);
                } else if (json_is_string(v) && strcmp(key, "kind") == 0) {
                        f->kind = json_string_value(v);
                } else if (json_is_string(v) && strcmp(key, "state") == 0) {
                        f->state = json_string_value(v);
                } else {
                        snprintf(why, len,
                                 "unknown or malformed filter '%.40s' (from, to: UTC ms; unit, "
                                 "detector, cause, kind, state: text; floor: integer)",
                                 key);
                        return -EINVAL;
                }
        }
        return 0;
}

/* Answers a query with one page of incidents, kept under QUERY_BYTES_MAX: a page that would be
 * larger is cut, and says so. The store is read on the daemon's own connection. */
#define QUERY_BYTES_MAX (48 * 1024)

static int query(struct daemon *d, const struct command *c, char *reason, size_t len, json_t **out)
{
        struct incident_filter f;
        json_error_t err;
        json_t *filters = json_loads(c->filters, 0, &err), *list = NULL;
        sqlite3_stmt *st = NULL;
        long long total = 0, skip = (long long)(c->page - 1) * c->page_size;
        size_t bytes = 0;
        bool cut = false;
        int r, rc;

        *out = NULL;
        if (!filters)
                return -ENOMEM;
        r = query_filter(filters, &f, reason, len);
        if (r == 0)
                r = incident_list(d->store, &f, &st);
        list = r == 0 ? json_array() : NULL;
        if (r == 0 && !list)
                r = -ENOMEM;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_t *row;
                char *text;

                if (total++ < skip || (long long)json_array_size(list) >= c->page_size || cut)
                        continue;
                row = json_object();
                for (int col = 0; row && col < sqlite3_column_count(st); col++) {
                        int type = sqlite3_column_type(st, col);

                        json_object_set_new(
                                row, sqlite3_column_name(st, col),
                                type == SQLITE_INTEGER ? json_integer(sqlite3_column_int64(st, col))
                                : type == SQLITE_TEXT
                                        ? json_string((const char *)sqlite3_column_text(st, col))
                                        : json_null());
                }
                text = row ? json_dumps(row, JSON_COMPACT) : NULL;
                if (!text) {
                        json_decref(row);
                        r = -ENOMEM;
                        break;
                }
                bytes += strlen(text);
                free(text);
                if (bytes > QUERY_BYTES_MAX) {
                        cut = true;
                        json_decref(row);
                        continue;
                }
                json_array_append_new(list, row);
        }
        sqlite3_finalize(st);
        if (r == 0)
                *out = json_pack("{s:i, s:i, s:I, s:b, s:O}", "page", (int)c->page, "page_size",
                                 (int)c->page_size, "total", (json_int_t)total, "truncated", cut,
                                 "incidents", list);
        if (r == 0 && !*out)
                r = -ENOMEM;
        if (r == 0)
                snprintf(reason, len, "%zu of %lld incidents (page %ld)%s", json_array_size(list),
                         total, c->page, cut ? ", cut to fit one message" : "");
        else if (r == -ENOMEM)
                snprintf(reason, len, "out of memory");
        json_decref(list);
        json_decref(filters);
        return r;
}

static void on_uplink_message(void *ctx, const char *topic, const void *payload, size_t len)
{
        struct daemon *d = ctx;
        int64_t now = wallclock_ms();
        struct command c;
        char why[256], reason[512], who[320];
        long long incident = 0;
        int r;

        r = command_parse(d->prefix, topic, payload, len, now,
                          (int64_t)d->config->command_max_age_s * 1000, &c, why, sizeof(why));
        if (r == -ENOENT) {
                log_debug("uplink: a message on %.100s, which is no command; ignored", topic);
                return;
        }
        if (r < 0) {
                snprintf(reason, sizeof(reason), "%s", why);
        } else if (strcmp(c.account, d->config->platform_account) != 0) {
                r = -EINVAL;
                snprintf(reason, sizeof(reason), "%s is not the platform account", c.account);
        } else if (command_previous(d->store, c.account, c.request_id, reason, sizeof(reason),
                                    &incident) == 0) {
                /* Delivered twice (at least once means that): acted on once, answered again. */
                log_info("uplink: request %s of %s again; answered as before", c.request_id,
                         c.account);
                answer(d, &c, now, "ok", reason, incident, NULL, NULL);
                return;
        } else if (strcmp(c.verb, "query") == 0) {
                json_t *page = NULL;

                snprintf(who, sizeof(who), "platform:%s%s%s%s", c.account,
                         c.operator_name[0] ? " (" : "", c.operator_name,
                         c.operator_name[0] ? ")" : "");
                r = query(d, &c, reason, sizeof(reason), &page);
                log_info("uplink: query from %s: %s", who, reason);
                answer(d, &c, now, result_of(r), reason, 0, page, who);
                json_decref(page);
                return;
        } else {
                snprintf(who, sizeof(who), "platform:%s%s%s%s", c.account,
                         c.operator_name[0] ? " (" : "", c.operator_name,
                         c.operator_name[0] ? ")" : "");
                r = daemon_act(d, c.verb, c.target, who, c.false_alarm, reason, sizeof(reason),
                               &incident);
        }
        if (r < 0)
                log_warning("uplink: command %s from %s refused: %s", c.verb[0] ? c.verb : "?",
                            c.account[0] ? c.account : "?", reason);
        else
                log_notice("uplink: %s", reason);
        answer(d, &c, now, result_of(r), reason, incident, NULL, NULL);
}

/* --- the connection --- */

static void on_uplink_state(void *ctx, bool up, const char *uri, int version)
{
        struct daemon *d = ctx;

        snprintf(d->uplink_server, sizeof(d->uplink_server), "%s", uri ? uri : "");
        d->uplink_version = version;
        d->uplink_since = up ? wallclock_ms() : 0;
        outbox_connection(d->outbox, up);
}

static void on_uplink_delivered(void *ctx, uint64_t tag)
{
        struct daemon *d = ctx;

        outbox_delivered(d->outbox, tag);
}

static int start_timers(struct daemon *d)
{
        int r = sd_event_add_time_relative(d->event, &d->stats_timer, CLOCK_MONOTONIC,
                                           (uint64_t)d->config->stats_interval_s * 1000000, 1000000,
                                           on_stats, d);

        if (r >= 0)
                r = sd_event_add_time_relative(d->event, &d->heartbeat_timer, CLOCK_MONOTONIC,
                                               (uint64_t)d->config->heartbeat_s * 1000000, 100000,
                                               on_heartbeat, d);
        return r < 0 ? log_error_errno(r, "cannot set the uplink's timers") : 0;
}

int daemon_uplink_start(struct daemon *d)
{
        const char *uris[CONFIG_UPLINK_URIS_MAX];
        char *owned = NULL, *online = NULL, *offline = NULL, client_id[96], status_topic[128],
             commands[128];
        const char *subs[1] = {commands};
        size_t n;
        int r;

        snprintf(d->prefix, sizeof(d->prefix), "firegate/v1/%s/", d->config->gateway_id);
        n = config_uplink_uris(d->config, &owned, uris, CONFIG_UPLINK_URIS_MAX);
        if (!owned)
                return -ENOMEM;
        if (n == 0) {
                log_warning("no uplink uris configured: alerts are kept in the outbox until one "
                            "is set");
        } else {
                struct uplink_options opt = {
                        .uris = uris,
                        .n_uris = n,
                        .client_id = client_id,
                        .username = *d->config->uplink_username ? d->config->uplink_username : NULL,
                        .password = *d->config->uplink_password ? d->config->uplink_password : NULL,
                        .cafile = *d->config->uplink_cafile ? d->config->uplink_cafile : NULL,
                        .certfile = *d->config->uplink_certfile ? d->config->uplink_certfile : NULL,
                        .keyfile = *d->config->uplink_keyfile ? d->config->uplink_keyfile : NULL,
                        .keepalive_s = (int)d->config->uplink_keepalive_s,
                        .status_topic = status_topic,
                        .subscriptions = subs,
                        .n_subscriptions = 1,
                        .backoff_min_ms = 500,
                        .backoff_max_ms = 60000,
                };

                if (d->config->uplink_insecure)
                        config_uplink_warnings(d->config, stderr, "firegate: warning: ");
                snprintf(client_id, sizeof(client_id), "firegate-%s", d->config->gateway_id);
                snprintf(status_topic, sizeof(status_topic), "%sstatus", d->prefix);
                snprintf(commands, sizeof(commands), "%scmd/+/+", d->prefix);
                online = message_status(d->config->gateway_id, true, d->serving_since);
                offline = message_status(d->config->gateway_id, false, wallclock_ms());
                opt.status_online = online;
                opt.status_offline = offline;
                r = online && offline
                            ? uplink_new(d->event, &opt, on_uplink_state, on_uplink_delivered,
                                         on_uplink_message, d, &d->uplink)
                            : -ENOMEM;
                if (r < 0)
                        goto out;
        }
        r = outbox_new(d->event, d->store, d->uplink, d->prefix, &d->outbox);
        if (r == 0)
                r = start_timers(d);
out:
        free(online);
        free(offline);
        free(owned);
        return r;
}

static int on_drain(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        long long pending = 0, coalesced = 0;

        if (outbox_depth(d->store, &pending, &coalesced) == 0)
                pending += (long long)outbox_held(d->outbox);
        if (pending == 0 || !uplink_connected(d->uplink) || usec >= d->drain_until_us) {
                if (pending)
                        log_notice("stopping with %lld messages still for the platform; they go "
                                   "at the next start",
                                   pending);
                return sd_event_exit(d->event, 0);
        }
        sd_event_source_set_time(s, usec + 50000);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

bool daemon_uplink_drain(struct daemon *d)
{
        long long pending = 0, coalesced = 0;
        uint64_t now;

        if (!d->uplink || !uplink_connected(d->uplink) ||
            outbox_depth(d->store, &pending, &coalesced) < 0 ||
            pending + (long long)outbox_held(d->outbox) == 0)
                return false;
        pending += (long long)outbox_held(d->outbox);
        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        d->drain_until_us = now + DAEMON_DRAIN_MS * 1000ULL;
        if (sd_event_add_time(d->event, &d->drain_timer, CLOCK_MONOTONIC, now + 50000, 10000,
                              on_drain, d) < 0)
                return false;
        log_info("waiting up to %d ms for the platform to acknowledge %lld messages",
                 DAEMON_DRAIN_MS, pending);
        return true;
}

void daemon_uplink_stop(struct daemon *d)
{
        sd_event_source_disable_unref(d->drain_timer);
        sd_event_source_disable_unref(d->stats_timer);
        sd_event_source_disable_unref(d->heartbeat_timer);
        uplink_free(d->uplink);
        outbox_free(d->outbox);
}

void daemon_uplink_status(struct daemon *d, json_t *root)
{
        long long pending = 0, coalesced = 0;

        outbox_depth(d->store, &pending, &coalesced);
        json_object_set_new(root, "uplink",
                            json_pack("{s:b, s:b, s:s, s:i}", "configured", d->uplink != NULL,
                                      "connected", d->uplink && uplink_connected(d->uplink),
                                      "server", d->uplink_server, "mqtt_version",
                                      d->uplink_version));
        json_object_set_new(root, "outbox",
                            json_pack("{s:I, s:I, s:I, s:I}", "pending", (json_int_t)pending,
                                      "coalesced", (json_int_t)coalesced, "inflight",
                                      (json_int_t)outbox_inflight(d->outbox), "held",
                                      (json_int_t)outbox_held(d->outbox)));
}
