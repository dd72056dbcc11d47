/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon: the running gateway. Everything happens on one sd-event loop: broker messages are
 * decoded and fed to the engine, the engine's single timer fires its deadlines, signals stop
 * the loop, and the systemd watchdog is pinged by the loop itself (so a hung loop is restarted).
 *
 * Engine time is milliseconds of CLOCK_MONOTONIC since start: it never jumps when the wall
 * clock is set, which a gateway without a battery-backed clock does at every boot.
 *
 * Life safety first: rule files with errors do not stop the gateway, which then runs on the
 * built-in rules (the standards' defaults) and says so; a device the registry does not know is
 * heard when it reports fire.
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "daemon_internal.h"

#include "control.h"
#include "decode.h"
#include "diag.h"
#include "engine.h"
#include "engine_view.h"
#include "evidence.h"
#include "incident.h"
#include "message.h"
#include "log.h"
#include "mqtt.h"
#include "registry.h"
#include "replay.h"
#include "ruleset.h"
#include "users.h"
#include "wallclock.h"

engine_time daemon_engine_now(struct daemon *d)
{
        uint64_t now;

        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        return (engine_time)((now - d->start_us) / 1000);
}

static void append(char *buf, size_t size, size_t *o, const char *s)
{
        size_t n = strlen(s);

        if (*o + n + 1 > size)
                return;
        memcpy(buf + *o, s, n + 1);
        *o += n;
}

/* The flags' names are replay's, so the journal and replay's output say the same words. */
static void format_flags(unsigned flags, char *buf, size_t size)
{
        size_t o = 0;

        buf[0] = '\0';
        for (unsigned i = 0; i < 32; i++) {
                const char *name = replay_flag_name(1u << i);

                if (!(flags & (1u << i)) || !name)
                        continue;
                append(buf, size, &o, o ? "," : " [");
                append(buf, size, &o, name);
        }
        if (o)
                append(buf, size, &o, "]");
}

static int decision_priority(enum engine_decision_kind k)
{
        switch (k) {
        case ENGINE_ALARM:
                return LOG_CRIT;
        case ENGINE_PRE_ALARM:
        case ENGINE_FAULT:
                return LOG_WARNING;
        case ENGINE_RESTORE:
        case ENGINE_TEST:
        case ENGINE_ACKNOWLEDGED:
        case ENGINE_SILENCED:
        case ENGINE_RESET:
        case ENGINE_OUTPUT_ON:
        case ENGINE_OUTPUT_OFF:
        case ENGINE_DISABLED:
        case ENGINE_ENABLED:
                return LOG_NOTICE;
        }
        return LOG_NOTICE;
}

/* Commits the decision to the store before anything else learns of it. A store that cannot take
 * it (a full or failing disk) does not silence it: the journal line below still says it. */
/* The alerts are written in the decision's transaction, so they exist exactly when the
 * incident change does. Should they fail to be built, the incident is still committed and the
 * error said: a decision the platform does not hear of is bad, one not recorded is worse. */
int daemon_record(struct daemon *d, const struct engine_decision *dec, int64_t wall_ms)
{
        bool alert = message_alert_event(dec->kind) != NULL;
        sqlite3 *db = store_db(d->store);
        long long before = 0;
        int r = store_begin(d->store);

        if (r == 0 && alert)
                r = incident_last_event(d->store, &before);
        if (r == 0)
                r = incident_record(d->store, dec, wall_ms, NULL);
        if (r == 0 && alert) {
                int a = sqlite3_exec(db, "SAVEPOINT alerts", NULL, NULL, NULL) == SQLITE_OK
                                ? daemon_uplink_alerts(d, dec, before)
                                : store_error(d->store, "queueing alerts");

                if (a < 0) {
                        sqlite3_exec(db, "ROLLBACK TO alerts", NULL, NULL, NULL);
                        log_error_errno(a, "the platform will not be told of the next decision");
                }
                sqlite3_exec(db, "RELEASE alerts", NULL, NULL, NULL);
        }
        if (r == 0)
                r = store_commit(d->store);
        if (r < 0)
                store_rollback(d->store);
        else if (alert)
                outbox_pump(d->outbox);
        return r;
}

/* Fills {unit} and {floor} of a sounder's topic from the zone its output follows. Returns 0, or
 * -EINVAL when the zone does not give what the topic asks for (a {unit} sounder on an output
 * that follows the building) or a unit id is no topic level. */
static int fill_topic(struct daemon *d, const char *tmpl, const char *zone, char *buf, size_t size)
{
        const char *unit = NULL;
        char floor[16] = "";
        size_t o = 0;

        if (strncmp(zone, "unit:", 5) == 0) {
                unit = zone + 5;
                for (size_t i = 0; i < d->view->n_units; i++)
                        if (strcmp(d->view->units[i].id, unit) == 0)
                                snprintf(floor, sizeof(floor), "%d", d->view->units[i].floor);
        } else if (strncmp(zone, "floor:", 6) == 0) {
                snprintf(floor, sizeof(floor), "%s", zone + 6);
        }
        if (unit && strpbrk(unit, "+#/"))
                return -EINVAL;
        for (const char *p = tmpl; *p;) {
                const char *part = NULL;
                size_t n;

                if (strncmp(p, "{unit}", 6) == 0) {
                        part = unit;
                        p += 6;
                } else if (strncmp(p, "{floor}", 7) == 0) {
                        part = floor[0] ? floor : NULL;
                        p += 7;
                } else {
                        if (o + 1 >= size)
                                return -EINVAL;
                        buf[o++] = *p++;
                        continue;
                }
                if (!part)
                        return -EINVAL;
                n = strlen(part);
                if (o + n >= size)
                        return -EINVAL;
                memcpy(buf + o, part, n);
                o += n;
        }
        buf[o] = '\0';
        return 0;
}

/* Sends one sounder command. While the broker is gone it waits: the sounders that should sound
 * are commanded again when the connection returns. */
static void command_sounder(struct daemon *d, const struct config_sounder *snd, const char *topic,
                            bool on)
{
        const char *payload = on ? snd->on_payload : snd->off_payload;
        int r;

        if (!d->mqtt)
                return;
        r = mqtt_publish(d->mqtt, topic, payload, strlen(payload), 1, false);
        if (r < 0)
                log_error_errno(r, "sounder %s (%s): cannot send the %s command now%s",
                                snd->head.name, topic, on ? "on" : "off",
                                on ? "; it is sent when the broker is back" : "");
}

static void drive_sounders(struct daemon *d, const struct engine_decision *dec)
{
        bool on = dec->kind == ENGINE_OUTPUT_ON;

        for (size_t i = 0; i < d->sounders->n_sounders; i++) {
                const struct config_sounder *snd = &d->sounders->sounders[i];
                char topic[512];
                size_t k;

                if (strcmp(snd->output, dec->output) != 0)
                        continue;
                if (fill_topic(d, snd->topic, dec->zone, topic, sizeof(topic)) < 0) {
                        log_error("sounder %s: its topic %s cannot be filled in for %s, which "
                                  "output %s follows",
                                  snd->head.name, snd->topic, dec->zone, dec->output);
                        continue;
                }
                for (k = 0; k < d->n_sounding; k++)
                        if (d->sounding[k].sounder == snd &&
                            strcmp(d->sounding[k].topic, topic) == 0)
                                break;
                if (on && k == d->n_sounding) {
                        struct sounding *grown =
                                realloc(d->sounding, (d->n_sounding + 1) * sizeof(*grown));
                        char *copy = strdup(topic);

                        /* Out of memory, the command still goes now; only its repetition after
                         * a broker gap is lost. */
                        if (grown)
                                d->sounding = grown;
                        if (grown && copy)
                                d->sounding[d->n_sounding++] = (struct sounding){snd, copy};
                        else
                                free(copy);
                } else if (!on && k < d->n_sounding) {
                        free(d->sounding[k].topic);
                        d->sounding[k] = d->sounding[--d->n_sounding];
                }
                command_sounder(d, snd, topic, on);
        }
}

static void on_decision(void *ctx, const struct engine_decision *dec)
{
        struct daemon *d = ctx;
        char flags[256], subject[256];
        size_t o = 0;
        int64_t wall = wallclock_ms();
        /* Decisions the store refused earlier go first: the log keeps the engine's order. */
        int r = daemon_unstored_flush(d);

        if (r == 0)
                r = daemon_record(d, dec, wall);
        daemon_walk_decision(d, dec);

        if (r < 0) {
                log_error_errno(r,
                                "%s %s could not be stored; the journal keeps it, and it goes "
                                "into the incident log when the store takes writes again",
                                engine_decision_name(dec->kind),
                                dec->detector ? dec->detector
                                : dec->output ? dec->output
                                : dec->zone   ? dec->zone
                                              : "building");
                daemon_unstored_keep(d, dec, wall);
                /* Not stored, so the outbox cannot carry it: the platform hears it anyway. */
                if (message_alert_event(dec->kind))
                        daemon_uplink_unstored(d, dec);
        }
        subject[0] = '\0';
        append(subject, sizeof(subject), &o, engine_decision_name(dec->kind));
        if (dec->detector || dec->output) {
                append(subject, sizeof(subject), &o, " ");
                append(subject, sizeof(subject), &o, dec->detector ? dec->detector : dec->output);
        }
        if (dec->fault != ENGINE_FAULT_NONE) {
                append(subject, sizeof(subject), &o, " ");
                append(subject, sizeof(subject), &o, engine_fault_name(dec->fault));
        }
        if (dec->who) {
                append(subject, sizeof(subject), &o, " by ");
                append(subject, sizeof(subject), &o, dec->who);
        }
        format_flags(dec->flags, flags, sizeof(flags));
        log_msg(decision_priority(dec->kind), "%s in %s: %s%s (rule %s)", subject,
                dec->zone ? dec->zone : "?", dec->cause ? dec->cause : "", flags,
                dec->rule ? dec->rule : "?");
        if ((dec->kind == ENGINE_OUTPUT_ON || dec->kind == ENGINE_OUTPUT_OFF) && dec->output &&
            dec->zone) {
                drive_sounders(d, dec);
                daemon_gpio_outputs(d, dec);
        }
}

void daemon_arm_deadline(struct daemon *d)
{
        engine_time next = engine_next_deadline(d->engine);

        if (next == ENGINE_NEVER) {
                sd_event_source_set_enabled(d->deadline, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(d->deadline, d->start_us + (uint64_t)next * 1000);
        sd_event_source_set_enabled(d->deadline, SD_EVENT_ONESHOT);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        (void)s;
        (void)usec;
        engine_tick(d->engine, daemon_engine_now(d));
        daemon_arm_deadline(d);
        return 0;
}

/* --- devices --- */

static int cmp_device(const void *a, const void *b)
{
        const struct device_entry *x = a, *y = b;

        if (x->bridge != y->bridge)
                return x->bridge < y->bridge ? -1 : 1;
        return strcmp(x->device, y->device);
}

static int build_device_map(struct daemon *d)
{
        d->devices = calloc(d->view->n_detectors + 1, sizeof(*d->devices));
        d->counts = calloc(engine_detector_count(d->engine) + 1, sizeof(*d->counts));
        if (!d->devices || !d->counts)
                return -ENOMEM;
        for (size_t i = 0; i < d->view->n_detectors; i++) {
                enum decode_bridge b;
                long idx;

                if (!d->view->bridge[i] || !d->view->device[i] ||
                    decode_bridge_from_name(d->view->bridge[i], &b) < 0)
                        continue;
                idx = engine_detector_find(d->engine, d->view->detectors[i].id);
                if (idx < 0)
                        continue;
                d->devices[d->n_devices++] =
                        (struct device_entry){b, d->view->device[i], (size_t)idx};
        }
        qsort(d->devices, d->n_devices, sizeof(*d->devices), cmp_device);
        return 0;
}

static bool alarm_reading(const struct decode_reading *r)
{
        return r->value == 1 &&
               (r->kind == ENGINE_READING_SMOKE || r->kind == ENGINE_READING_HEAT_ALARM ||
                r->kind == ENGINE_READING_CALL_POINT) &&
               !(r->flags & ENGINE_READING_FLAG_TEST);
}

static void feed(struct daemon *d, size_t detector, const struct decode_reading *r)
{
        /* A refused message's invalid data is counted as refused, not as a reading. */
        if (detector < engine_detector_count(d->engine) && r->kind != ENGINE_READING_INVALID)
                d->counts[detector].readings++;

        struct engine_reading er = {.detector = detector,
                                    .kind = r->kind,
                                    .value = r->value,
                                    .flags = r->flags,
                                    .time = daemon_engine_now(d)};

        engine_reading(d->engine, &er);
}

static void route(struct daemon *d, enum decode_bridge b, const struct decode_reading *r)
{
        struct device_entry key = {b, r->device, 0}, *hit;
        size_t len = strlen(r->device), fed = 0;
        char name[DECODE_DEVICE_MAX + 16];

        hit = bsearch(&key, d->devices, d->n_devices, sizeof(*d->devices), cmp_device);
        if (hit) {
                /* Several detectors may share a device (a multi-sensor registered twice). */
                while (hit > d->devices && cmp_device(hit - 1, &key) == 0)
                        hit--;
                for (; hit < d->devices + d->n_devices && cmp_device(hit, &key) == 0; hit++, fed++)
                        feed(d, hit->detector, r);
                return;
        }
        /* Availability can speak for several detectors: an ESPHome node's for all its entities
         * ("node/entity"), a bridge's own (device "") for every device behind it. */
        if (r->kind == ENGINE_READING_AVAILABILITY)
                for (size_t i = 0; i < d->n_devices; i++) {
                        const struct device_entry *e = &d->devices[i];

                        if (e->bridge != b)
                                continue;
                        if (len == 0 ||
                            (b == DECODE_ESPHOME && strncmp(e->device, r->device, len) == 0 &&
                             e->device[len] == '/')) {
                                feed(d, e->detector, r);
                                fed++;
                        }
                }
        if (fed)
                return;
        d->msgs.unknown_device++;
        if (!alarm_reading(r))
                return;
        /* A device the registry does not know: heard only when it reports fire. */
        snprintf(name, sizeof(name), "%s:%s", decode_bridge_name(b), r->device);
        log_warning("fire reported by %s, which is not in the registry; raising it", name);
        feed(d, engine_detector_unknown(d->engine, name), r);
}

/* Counts a refusal against the detectors the topic names, if the registry knows them. */
static void count_refusal(struct daemon *d, enum decode_bridge b, const char *device,
                          const char *why)
{
        struct device_entry key = {b, device, 0}, *hit;

        hit = bsearch(&key, d->devices, d->n_devices, sizeof(*d->devices), cmp_device);
        if (!hit)
                return;
        while (hit > d->devices && cmp_device(hit - 1, &key) == 0)
                hit--;
        for (; hit < d->devices + d->n_devices && cmp_device(hit, &key) == 0; hit++) {
                struct detector_counts *c = &d->counts[hit->detector];

                c->refused++;
                c->refused_at = wallclock_ms();
                snprintf(c->why, sizeof(c->why), "%s", why);
        }
}

static void refused(struct daemon *d, const char *topic, const char *why)
{
        uint64_t now;

        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        if (now - d->refused_logged_us < REFUSED_LOG_INTERVAL_US && d->refused_logged_us) {
                d->refused_unlogged++;
                return;
        }
        log_warning("building broker: message on %.100s refused: %s%s", topic, why,
                    d->refused_unlogged ? " (and earlier ones not shown)" : "");
        d->refused_logged_us = now;
        d->refused_unlogged = 0;
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
        struct daemon *d = ctx;
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX];
        int b, n = -ENOENT;

        d->msgs.received++;
        for (b = 0; b < N_BRIDGES && n == -ENOENT; b++)
                n = decoder_message(d->decoders[b], topic, payload, len, out, why, sizeof(why));
        b--;
        if (n == -ENOENT) {
                d->msgs.unknown_topic++;
        } else if (n == -EBADMSG || n == -EMSGSIZE) {
                if (n == -EBADMSG)
                        d->msgs.malformed++;
                else
                        d->msgs.oversize++;
                refused(d, topic, why);
                count_refusal(d, (enum decode_bridge)b, out[0].device, why);
                /* Garbage that persists from a known device is its fault: counted by the engine
                 * as invalid data, never an alarm. */
                if (out[0].device[0])
                        route(d, (enum decode_bridge)b, &out[0]);
        } else if (n < 0) {
                refused(d, topic, strerror(-n));
        } else {
                for (int i = 0; i < n; i++)
                        route(d, (enum decode_bridge)b, &out[i]);
        }
        daemon_arm_deadline(d);
}

/* --- the building broker --- */

static int on_broker_fault(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        struct engine_decision dec = {
                .kind = ENGINE_FAULT,
                .time = daemon_engine_now(d),
                .zone = "building",
                .cause = "the building broker is unreachable: every wireless detector is unheard",
                .rule = "broker",
                .fault = ENGINE_FAULT_OFFLINE,
        };

        (void)s;
        (void)usec;
        d->broker_fault_raised = true;
        on_decision(d, &dec);
        return 0;
}

static void on_broker_state(void *ctx, bool connected)
{
        struct daemon *d = ctx;
        uint64_t now;

        if (!connected) {
                /* The gap is counted from when the broker was last known to be there: a broker
                 * that went silent is noticed only by the keep-alive, up to 2.5 keep-alives
                 * later, and counting from then would spend most of EN 54-2's 100 s. */
                uint64_t since = d->mqtt ? mqtt_down_since(d->mqtt) : 0;

                sd_event_now(d->event, CLOCK_MONOTONIC, &now);
                if (!since || since > now)
                        since = now;
                sd_event_source_set_time(d->broker_fault,
                                         since + (uint64_t)d->config->broker_fault_after_s *
                                                         1000000);
                sd_event_source_set_enabled(d->broker_fault, SD_EVENT_ONESHOT);
                return;
        }
        sd_event_source_set_enabled(d->broker_fault, SD_EVENT_OFF);
        for (size_t i = 0; i < d->n_sounding; i++)
                command_sounder(d, d->sounding[i].sounder, d->sounding[i].topic, true);
        if (d->broker_fault_raised) {
                struct engine_decision dec = {
                        .kind = ENGINE_RESTORE,
                        .time = daemon_engine_now(d),
                        .zone = "building",
                        .cause = "the building broker is reachable again",
                        .rule = "broker",
                        .fault = ENGINE_FAULT_OFFLINE,
                };

                d->broker_fault_raised = false;
                on_decision(d, &dec);
        }
}

static int start_broker(struct daemon *d)
{
        const char *topics[N_BRIDGES * 8];
        size_t n = 0;
        char client_id[96];
        struct mqtt_options opt = {
                .host = d->config->broker_host,
                .port = (int)d->config->broker_port,
                .client_id = client_id,
                .username = *d->config->broker_username ? d->config->broker_username : NULL,
                .password = *d->config->broker_password ? d->config->broker_password : NULL,
                .cafile = *d->config->broker_cafile ? d->config->broker_cafile : NULL,
                .keepalive_s = (int)d->config->broker_keepalive_s,
                .backoff_min_ms = 500,
                .backoff_max_ms = 30000,
        };

        snprintf(client_id, sizeof(client_id), "firegate-%s", d->config->gateway_id);
        for (int b = 0; b < N_BRIDGES; b++)
                n += decoder_subscriptions(d->decoders[b], topics + n, N_BRIDGES * 8 - n);
        opt.topics = topics;
        opt.n_topics = n;
        /* Until the first connection, the broker is as good as gone. */
        on_broker_state(d, false);
        return mqtt_new(d->event, &opt, on_message, on_broker_state, d, &d->mqtt);
}

static int start_decoders(struct daemon *d)
{
        const char *bases[N_BRIDGES] = {
                [DECODE_ZIGBEE2MQTT] = d->config->z2m_base,
                [DECODE_TASMOTA] = NULL,
                [DECODE_ESPHOME] = *d->config->esphome_prefix ? d->config->esphome_prefix : NULL,
                [DECODE_GENERIC] = d->config->generic_prefix,
        };

        for (int b = 0; b < N_BRIDGES; b++) {
                struct decode_options opt = {.base_topic = bases[b],
                                             .max_payload = DECODE_DEFAULT_MAX_PAYLOAD};
                int r = decoder_new((enum decode_bridge)b, &opt, &d->decoders[b]);

                if (r < 0)
                        return log_error_errno(r, "cannot set up the %s decoder",
                                               decode_bridge_name((enum decode_bridge)b));
        }
        return 0;
}

/* --- the engine --- */

static void load_rules(struct daemon *d)
{
        struct diag *diag = diag_new();

        d->rules = ruleset_new();
        if (!diag || !d->rules || ruleset_load_dir(d->rules, d->sounders->rules_dir, diag) < 0) {
                if (diag)
                        diag_log(diag, LOG_ERR);
                log_error("the rule files in %s have errors: running on the built-in rules (the "
                          "standards' defaults) until they are fixed",
                          d->sounders->rules_dir);
                ruleset_free(d->rules);
                d->rules = NULL;
        }
        diag_free(diag);
}

/* @fallback: rules that do not fit the building give way to the built-in ones, as at a start
 * (an engine must run); a reload refuses them instead and keeps the rules in force. */
static int start_engine(struct daemon *d, bool fallback)
{
        struct engine_setup setup = {
                .detectors = d->view->detectors,
                .n_detectors = d->view->n_detectors,
                .units = d->view->units,
                .n_units = d->view->n_units,
                .zones = d->view->zones,
                .n_zones = d->view->n_zones,
                .rules = d->rules,
                .start = daemon_engine_now(d),
                .emit = on_decision,
                .emit_ctx = d,
        };
        struct diag *diag = diag_new();
        int r;

        if (!diag)
                return -ENOMEM;
        r = engine_new(&setup, diag, &d->engine);
        diag_log(diag, LOG_NOTICE);
        if (r == -EINVAL && d->rules && fallback) {
                log_error("the rules do not fit this building: running on the built-in rules");
                setup.rules = NULL;
                r = engine_new(&setup, NULL, &d->engine);
        }
        diag_free(diag);
        if (r < 0)
                return log_error_errno(r, "cannot start the rules engine");
        for (size_t i = 0; i < d->sounders->n_sounders; i++) {
                const struct config_sounder *snd = &d->sounders->sounders[i];
                bool on;

                if (engine_output_state(d->engine, snd->output, &on) == -ENOENT)
                        log_error("sounder %s follows output %s, which the rules do not have: it "
                                  "will never sound",
                                  snd->head.name, snd->output);
        }
        for (size_t i = 0; i < engine_detector_count(d->engine); i++)
                if (!engine_detector_meets_en54_25(d->engine, i))
                        log_notice("%s: supervised every %lld s, longer than EN 54-25's 300 s",
                                   engine_detector_id(d->engine, i),
                                   engine_detector_supervision_ms(d->engine, i) / 1000);
        return 0;
}

static int restore_one(void *ctx, const char *detector, int64_t first_at, bool acked, bool silenced)
{
        struct daemon *d = ctx;
        long idx = engine_detector_find(d->engine, detector);
        engine_time first = daemon_engine_now(d) - (engine_time)(wallclock_ms() - first_at);

        /* A detector gone from the registry since: its alarm still stands, on a spare slot. */
        if (idx < 0)
                idx = (long)engine_detector_unknown(d->engine, detector);
        log_warning("alarm of %s still open from before the %s%s%s", detector,
                    d->reloading ? "reload" : "restart", acked ? ", acknowledged" : "",
                    silenced ? ", silenced" : "");
        return engine_restore_alarm(d->engine, (size_t)idx, first, acked, silenced);
}

/* --- people's actions --- */

/* An incident id names the place it lies in; the engine acts on places. Closed incidents are
 * refused: acting on one would act on whatever happens there now. */
static int incident_place(struct daemon *d, const char *id, char *place, size_t size)
{
        sqlite3_stmt *st = NULL;
        int r = -ENOENT;

        if (sqlite3_prepare_v2(store_db(d->store),
                               "SELECT place FROM incident WHERE id = ? AND state <> 'closed'", -1,
                               &st, NULL) != SQLITE_OK)
                return store_error(d->store, "looking up an incident");
        sqlite3_bind_int64(st, 1, strtoll(id, NULL, 10));
        if (sqlite3_step(st) == SQLITE_ROW) {
                snprintf(place, size, "%s", (const char *)sqlite3_column_text(st, 0));
                r = 0;
        }
        sqlite3_finalize(st);
        return r;
}

static void add_count(json_t *o, const char *key, unsigned long n)
{
        json_object_set_new(o, key, json_integer((json_int_t)n));
}

/* What the daemon sees now, for `firegate status` and the desk: docs/daemon.md. */
static void status(struct daemon *d, bool detectors, FILE *reply)
{
        size_t by_state[ENGINE_STATE_TEST + 1] = {0}, n = engine_detector_count(d->engine);
        json_t *root = json_object(), *msgs = json_object(), *states = json_object(),
               *sounding = json_array(), *list = detectors ? json_array() : NULL;
        uint64_t now;

        if (!root || !msgs || !states || !sounding || (detectors && !list)) {
                fputs("error out of memory", reply);
                goto out;
        }
        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        json_object_set_new(root, "gateway", json_string(d->config->gateway_id));
        json_object_set_new(root, "uptime_s",
                            json_integer((json_int_t)((now - d->start_us) / 1000000)));
        json_object_set_new(root, "building_broker",
                            json_pack("{s:s, s:i, s:b}", "host", d->config->broker_host, "port",
                                      (int)d->config->broker_port, "connected",
                                      d->mqtt && mqtt_connected(d->mqtt)));
        add_count(msgs, "received", d->msgs.received);
        add_count(msgs, "malformed", d->msgs.malformed);
        add_count(msgs, "oversize", d->msgs.oversize);
        add_count(msgs, "unknown_topic", d->msgs.unknown_topic);
        add_count(msgs, "unknown_device", d->msgs.unknown_device);
        json_object_set(root, "messages", msgs);
        for (size_t i = 0; i < n; i++) {
                enum engine_state st = engine_detector_state(d->engine, i);
                const struct detector_counts *c = &d->counts[i];
                const struct engine_detector_info *info = &d->view->detectors[i];

                if ((size_t)st < sizeof(by_state) / sizeof(by_state[0]))
                        by_state[st]++;
                if (!list)
                        continue;
                json_array_append_new(
                        list,
                        json_pack("{s:s, s:s?, s:i, s:s, s:s?, s:s?, s:I, s:I, s:I, s:s}", "id",
                                  info->id, "unit", info->unit, "floor", info->floor, "state",
                                  engine_state_name(st), "bridge", d->view->bridge[i], "device",
                                  d->view->device[i], "readings", (json_int_t)c->readings,
                                  "refused", (json_int_t)c->refused, "refused_at",
                                  (json_int_t)c->refused_at, "why", c->why));
        }
        for (size_t st = 0; st < sizeof(by_state) / sizeof(by_state[0]); st++)
                add_count(states, engine_state_name((enum engine_state)st), by_state[st]);
        json_object_set(root, "detectors_by_state", states);
        for (size_t i = 0; i < d->n_sounding; i++)
                json_array_append_new(sounding, json_pack("{s:s, s:s}", "sounder",
                                                          d->sounding[i].sounder->head.name,
                                                          "topic", d->sounding[i].topic));
        json_object_set(root, "sounding", sounding);
        /* Decisions a full or failing disk refused, waiting to go into the incident log. */
        json_object_set_new(root, "unstored_decisions",
                            json_integer((json_int_t)daemon_unstored_count(d)));
        daemon_uplink_status(d, root);
        daemon_gpio_status(d, root);
        if (list)
                json_object_set(root, "detectors", list);
        fputs("ok status\n", reply);
        if (json_dumpf(root, reply, JSON_COMPACT) < 0)
                fputs("\nerror cannot write the status", reply);
out:
        json_decref(list);
        json_decref(sounding);
        json_decref(states);
        json_decref(msgs);
        json_decref(root);
}

static int act(struct daemon *d, const char *verb, const char *target, const char *who, char *reply,
               size_t reply_len, long long *incident)
{
        static const struct {
                const char *verb;
                enum engine_command_kind kind;
        } verbs[] = {{"acknowledge", ENGINE_CMD_ACKNOWLEDGE},
                     {"silence", ENGINE_CMD_SILENCE},
                     {"reset", ENGINE_CMD_RESET}};
        struct engine_command cmd = {.who = who, .time = daemon_engine_now(d)};
        char place[128];
        size_t v;
        int r;

        if (incident)
                *incident = 0;
        for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
                if (strcmp(verb, verbs[v].verb) == 0)
                        break;
        if (v == sizeof(verbs) / sizeof(verbs[0])) {
                snprintf(reply, reply_len, "unknown action (acknowledge, silence, reset, status)");
                return -EINVAL;
        }
        cmd.kind = verbs[v].kind;
        cmd.target = target;
        if (target[0] && strspn(target, "0123456789") == strlen(target)) {
                if (incident_place(d, target, place, sizeof(place)) < 0) {
                        snprintf(reply, reply_len, "no open incident %.20s", target);
                        return -ENOENT;
                }
                cmd.target = place;
                if (incident)
                        *incident = strtoll(target, NULL, 10);
        }
        r = engine_command(d->engine, &cmd);
        daemon_arm_deadline(d);
        if (r == -ENOENT)
                snprintf(reply, reply_len, "%.100s is not a zone of this building", cmd.target);
        else if (r == -EALREADY)
                snprintf(reply, reply_len, "nothing to %s in %.100s", verb, cmd.target);
        else if (r < 0)
                snprintf(reply, reply_len, "%s", strerror(-r));
        else
                snprintf(reply, reply_len, "%s %.100s by %.150s", verb, cmd.target, who);
        return r;
}

/* "reset TARGET false-alarm" (control.h): the reset is recorded as any reset, then the
 * incidents it closed are marked as false alarms. Returns whether @target carried the word;
 * @bare gets the target without it. */
static bool false_alarm_reset(const char *target, char *bare, size_t size)
{
        static const char word[] = " false-alarm";
        size_t n = strlen(target);

        if (n <= sizeof(word) - 1 || n - (sizeof(word) - 1) >= size ||
            strcmp(target + n - (sizeof(word) - 1), word) != 0)
                return false;
        n -= sizeof(word) - 1;
        memcpy(bare, target, n);
        bare[n] = '\0';
        return true;
}

/* "audit ACTION PARAMS" (control.h): a local look at the log, recorded with who asked as the
 * kernel says it. */
static void audit(struct daemon *d, const char *target, const char *who, const char *origin,
                  FILE *reply)
{
        char action[32];
        const char *space = strchr(target, ' ');
        size_t n = space ? (size_t)(space - target) : strlen(target);

        if (!n || n >= sizeof(action) ||
            target[strspn(target, "abcdefghijklmnopqrstuvwxyz-")] != (space ? ' ' : '\0')) {
                fputs("refused audit ACTION PARAMS", reply);
                return;
        }
        memcpy(action, target, n);
        action[n] = '\0';
        if (evidence_audit(d->store, wallclock_ms(), who, origin, action, space ? space + 1 : "{}",
                           NULL) < 0)
                fputs("error the audit log cannot be written", reply);
        else
                fprintf(reply, "ok recorded %s by %s", action, who);
}

int daemon_act(struct daemon *d, const char *verb, const char *target, const char *who,
               bool false_alarm, char *reply, size_t reply_len, long long *incident)
{
        long long before = 0, marked = 0;
        size_t n;
        int r;

        if (false_alarm && strcmp(verb, "reset") != 0) {
                snprintf(reply, reply_len, "false-alarm goes with reset only");
                return -EINVAL;
        }
        if (false_alarm && incident_last_event(d->store, &before) < 0) {
                snprintf(reply, reply_len, "the incident log cannot be read");
                return -EIO;
        }
        r = act(d, verb, target, who, reply, reply_len, incident);
        if (r < 0 || !false_alarm)
                return r;
        /* Its own statement after the reset's commit: a mark that fails leaves the reset done
         * and says so. */
        if (incident_mark_false_alarm(d->store, before, who, &marked) < 0) {
                snprintf(reply, reply_len, "reset done, but not marked as a false alarm");
                return -EIO;
        }
        n = strlen(reply);
        snprintf(reply + n, reply_len - n, "; %lld incident%s marked as false alarm%s", marked,
                 marked == 1 ? "" : "s", marked == 1 ? "" : "s");
        return 0;
}

/* An action from the CLI or the desk: acknowledge, silence, reset [false-alarm]. Returns the
 * reply's first word. */
static const char *control_act(struct daemon *d, const char *verb, const char *target,
                               const char *who, char *text, size_t size)
{
        char bare[CONTROL_LINE_MAX];
        bool false_alarm = false_alarm_reset(target, bare, sizeof(bare));
        int r = daemon_act(d, verb, false_alarm ? bare : target, who, false_alarm, text, size,
                           NULL);

        return r == 0                                             ? "ok"
               : (r == -ENOENT || r == -EALREADY || r == -EINVAL) ? "refused"
                                                                  : "error";
}

/* "desk USER ADDRESS REQUEST" (control.h): the web process passes on what an account did on
 * the page. The socket's permissions already decide who may act at all; the account and the
 * client address say which person it was, next to the web process's own uid. */
static void desk(struct daemon *d, const char *line, const char *peer, FILE *reply)
{
        char user[USERS_NAME_MAX + 1], address[INET6_ADDRSTRLEN], verb[16], who[256], text[512];
        unsigned char raw[sizeof(struct in6_addr)];
        json_t *params = NULL;
        char *dumped = NULL;
        const char *rest, *word;
        int n = 0;

        if (sscanf(line, "%32s %45s %15s %n", user, address, verb, &n) != 3 || !n ||
            !users_name_valid(user) ||
            (inet_pton(AF_INET, address, raw) != 1 && inet_pton(AF_INET6, address, raw) != 1)) {
                fputs("refused desk USER ADDRESS REQUEST", reply);
                return;
        }
        rest = line + n;
        snprintf(who, sizeof(who), "desk %s from %s (%s)", user, address, peer);
        if (strcmp(verb, "audit") == 0) {
                audit(d, rest, who, "desk", reply);
                return;
        }
        if (strcmp(verb, "acknowledge") != 0 && strcmp(verb, "silence") != 0 &&
            strcmp(verb, "reset") != 0) {
                fputs("refused the desk may acknowledge, silence, reset or audit", reply);
                return;
        }
        word = control_act(d, verb, rest, who, text, sizeof(text));
        /* The action is in the incident's chained events already when it was done; the audit
         * row also keeps the refusals, and who tried. */
        params = json_pack("{s:s, s:s, s:s}", "target", rest, "result", word, "reply", text);
        dumped = params ? json_dumps(params, JSON_COMPACT) : NULL;
        if (!dumped ||
            evidence_audit(d->store, wallclock_ms(), who, "desk", verb, dumped, word) < 0)
                log_warning("control: the desk's %s of %s by %s is not in the audit log", verb,
                            rest, who);
        fprintf(reply, "%s %s", word, text);
        free(dumped);
        json_decref(params);
}

static void on_control(void *ctx, const char *verb, const char *target, const char *who,
                       FILE *reply)
{
        struct daemon *d = ctx;
        char text[512];
        const char *word;

        if (strcmp(verb, "status") == 0) {
                status(d, strcmp(target, "all") == 0, reply);
                return;
        }
        if (strcmp(verb, "audit") == 0) {
                audit(d, target, who, "local", reply);
                return;
        }
        if (strcmp(verb, "desk") == 0) {
                desk(d, target, who, reply);
                return;
        }
        if (strcmp(verb, "walk-test") == 0) {
                daemon_walk_control(d, target, who, reply);
                return;
        }
        word = control_act(d, verb, target, who, text, sizeof(text));
        fprintf(reply, "%s %s", word, text);
}

static int start_control(struct daemon *d)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", d->config->runtime_dir, CONTROL_SOCKET_NAME);
        return control_new(d->event, path, on_control, d, &d->control);
}

/* --- the loop --- */

/* SQLite would copy its write-ahead log into the database inside whichever commit crosses
 * 1,000 pages: inside an alarm's. The daemon does it on a timer instead, off the alarm path,
 * armed by the first commit after a checkpoint: a gateway with nothing to write never wakes
 * for it. */
#define CHECKPOINT_INTERVAL_US (30 * 1000000ULL)

static void arm_checkpoint(struct daemon *d)
{
        uint64_t now;

        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(d->checkpoint, now + CHECKPOINT_INTERVAL_US);
        sd_event_source_set_enabled(d->checkpoint, SD_EVENT_ONESHOT);
}

/* SQLite's hook after each commit in WAL mode (on the loop: the daemon's connection is used
 * nowhere else). */
static int on_wal_commit(void *ctx, sqlite3 *db, const char *name, int pages)
{
        struct daemon *d = ctx;

        (void)db;
        (void)name;
        if (pages > 0 && sd_event_source_get_enabled(d->checkpoint, NULL) == 0)
                arm_checkpoint(d);
        return SQLITE_OK;
}

static int on_checkpoint(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(store_db(d->store), NULL, SQLITE_CHECKPOINT_PASSIVE,
                                           &log, &done);

        (void)s;
        (void)usec;
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
                store_error(d->store, "checkpointing the write-ahead log");
        /* A reader (the desk, a listing) may hold frames back: try again later. */
        if (rc != SQLITE_OK || done < log)
                arm_checkpoint(d);
        return 0;
}

/* --- reload (SIGHUP) --- */

/* The settings of @c as "section key = value" lines, in config_print()'s order. */
static char *settings_text(const struct config *c)
{
        char *text = NULL, *line, *save = NULL, *out = NULL, section[64] = "";
        size_t len = 0, out_len = 0;
        FILE *f = open_memstream(&text, &len);
        FILE *o = NULL;

        if (!f)
                return NULL;
        config_print(c, f);
        if (fclose(f) != 0)
                goto out;
        o = open_memstream(&out, &out_len);
        if (!o)
                goto out;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] == '[')
                        snprintf(section, sizeof(section), "%s", line);
                else if (line[0] != '#' && strchr(line, '='))
                        fprintf(o, "%s %s\n", section, line);
        }
        if (fclose(o) != 0) {
                free(out);
                out = NULL;
        }
out:
        free(text);
        return out;
}

/* Which settings a reload does not apply: all but the log level, the rules' directory and the
 * sounders. Says each one that changed. */
static void say_restart_only(const struct config *now, const struct config *next)
{
        static const char *const applied[] = {"[gateway] log_level", "[rules] dir", "[sounder"};
        char *a = settings_text(now), *b = settings_text(next), *sa = NULL, *sb = NULL;
        const char *la, *lb;

        if (!a || !b) {
                log_warning("reload: cannot compare the settings; only the log level, rules and "
                            "sounders take effect before a restart");
                goto out;
        }
        /* Both lists have the same keys in the same order, except the repeated sections,
         * which the reload applies anyway. */
        la = strtok_r(a, "\n", &sa);
        lb = strtok_r(b, "\n", &sb);
        while (la && lb) {
                bool skip = false;

                for (size_t i = 0; i < sizeof(applied) / sizeof(applied[0]); i++)
                        skip |= strncmp(la, applied[i], strlen(applied[i])) == 0 ||
                                strncmp(lb, applied[i], strlen(applied[i])) == 0;
                if (skip) {
                        if (strncmp(la, "[sounder", 8) == 0)
                                la = strtok_r(NULL, "\n", &sa);
                        else if (strncmp(lb, "[sounder", 8) == 0)
                                lb = strtok_r(NULL, "\n", &sb);
                        else {
                                la = strtok_r(NULL, "\n", &sa);
                                lb = strtok_r(NULL, "\n", &sb);
                        }
                        continue;
                }
                if (strcmp(la, lb) != 0)
                        log_warning("reload: %s changed to %s: it takes effect at the next "
                                    "restart",
                                    la, strchr(lb, '=') ? strchr(lb, '=') + 2 : lb);
                la = strtok_r(NULL, "\n", &sa);
                lb = strtok_r(NULL, "\n", &sb);
        }
out:
        free(a);
        free(b);
}

/* Sounders that the new config still has keep sounding (their entries point at the new
 * sections); the others are told to stop. */
static void carry_sounding(struct daemon *d, const struct config *next)
{
        size_t k = 0;

        while (k < d->n_sounding) {
                const struct config_sounder *old = d->sounding[k].sounder, *found = NULL;

                for (size_t i = 0; i < next->n_sounders && !found; i++)
                        if (strcmp(next->sounders[i].head.name, old->head.name) == 0 &&
                            strcmp(next->sounders[i].output, old->output) == 0)
                                found = &next->sounders[i];
                if (found) {
                        d->sounding[k++].sounder = found;
                        continue;
                }
                command_sounder(d, old, d->sounding[k].topic, false);
                free(d->sounding[k].topic);
                d->sounding[k] = d->sounding[--d->n_sounding];
        }
}

/* SIGHUP: the config file and the rules read again. Nothing changes unless both are without
 * errors and the new engine starts; then the open alarms, with their acknowledgements and
 * silences, are restored into it from the store, as at a start, while the connections, the
 * outbox, the GPIO lines and the counters stay as they are. */
static void reload(struct daemon *d)
{
        struct diag *diag = diag_new();
        struct config *next = NULL;
        struct ruleset *old_rules = d->rules;
        struct engine *old_engine = d->engine;
        const struct config *old_sounders = d->sounders;
        int r;

        if (!diag || !d->config->path) {
                log_warning("reload: %s", diag ? "running on the embedded defaults: no config file "
                                                 "to read again"
                                               : "out of memory");
                goto out;
        }
        r = config_load(d->config->path, diag, &next);
        if (r < 0) {
                diag_log(diag, LOG_ERR);
                log_error("reload refused: %s has errors; nothing changed", d->config->path);
                goto out;
        }
        d->rules = ruleset_new();
        if (!d->rules || ruleset_load_dir(d->rules, next->rules_dir, diag) < 0) {
                diag_log(diag, LOG_ERR);
                log_error("reload refused: the rule files in %s have errors; nothing changed",
                          next->rules_dir);
                ruleset_free(d->rules);
                d->rules = old_rules;
                goto out;
        }
        say_restart_only(d->config, next);
        d->sounders = next;
        d->engine = NULL;
        r = start_engine(d, false);
        if (r < 0) {
                log_error("reload refused: the rules engine cannot start with them; nothing "
                          "changed");
                ruleset_free(d->rules);
                d->engine = old_engine;
                d->rules = old_rules;
                d->sounders = old_sounders;
                goto out;
        }
        daemon_walk_abandon(d, "the reload");
        /* Before the alarms come back, so that their outputs find what already sounds. */
        carry_sounding(d, next);
        d->reloading = true;
        r = incident_open_alarms(d->store, restore_one, d);
        d->reloading = false;
        if (r < 0) {
                log_error("reload refused: the open alarms cannot be read from the store; the "
                          "rules in force stay");
                engine_free(d->engine);
                ruleset_free(d->rules);
                d->engine = old_engine;
                d->rules = old_rules;
                d->sounders = old_sounders;
                carry_sounding(d, old_sounders);
                goto out;
        }
        engine_free(old_engine);
        ruleset_free(old_rules);
        log_setup(next->log_level, log_is_journal());
        config_free(d->reloaded);
        d->reloaded = next;
        next = NULL;
        daemon_arm_deadline(d);
        log_notice("reloaded %s and the rules in %s", d->config->path, d->sounders->rules_dir);
out:
        sd_notify(0, "READY=1");
        config_free(next);
        diag_free(diag);
}

static int on_reload_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        (void)src;
        (void)si;
        log_info("received SIGHUP; reloading the config and the rules");
        sd_notify(0, "RELOADING=1");
        reload(userdata);
        return 0;
}

static int on_stop_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;

        (void)src;
        log_info("received %s; stopping", strsignal((int)si->ssi_signo));
        sd_notify(0, "STOPPING=1");
        /* What the platform has not acknowledged yet gets a moment to go; a second signal, or
         * the moment passing, stops at once. Nothing is lost either way: it stays in the
         * outbox for the next start. */
        if (!d->draining && daemon_uplink_drain(d)) {
                d->draining = true;
                return 0;
        }
        return sd_event_exit(d->event, 0);
}

static int setup_loop(struct daemon *d)
{
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "cannot block SIGTERM, SIGINT and SIGHUP");
        r = sd_event_new(&d->event);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop");
        r = sd_event_add_signal(d->event, NULL, SIGTERM, on_stop_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGINT, on_stop_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGHUP, on_reload_signal, d);
        if (r >= 0)
                r = sd_event_set_watchdog(d->event, true);
        if (r >= 0)
                r = sd_event_now(d->event, CLOCK_MONOTONIC, &d->start_us);
        if (r >= 0)
                r = sd_event_add_time(d->event, &d->deadline, CLOCK_MONOTONIC, UINT64_MAX, 1000,
                                      on_deadline, d);
        if (r >= 0)
                r = sd_event_add_time(d->event, &d->broker_fault, CLOCK_MONOTONIC, UINT64_MAX,
                                      1000000, on_broker_fault, d);
        if (r >= 0)
                r = sd_event_add_time_relative(d->event, &d->checkpoint, CLOCK_MONOTONIC,
                                               CHECKPOINT_INTERVAL_US, 1000000, on_checkpoint, d);
        if (r < 0)
                return log_error_errno(r, "cannot set up the event loop");
        sd_event_source_set_enabled(d->broker_fault, SD_EVENT_OFF);
        sd_event_source_set_enabled(d->checkpoint, SD_EVENT_OFF);
        return 0;
}

static void daemon_free(struct daemon *d)
{
        /* A last try: space may have come back since the last retry. */
        daemon_unstored_flush(d);
        daemon_unstored_free(d);
        daemon_walk_free(d);
        config_free(d->reloaded);
        daemon_gpio_stop(d);
        daemon_uplink_stop(d);
        control_free(d->control);
        mqtt_free(d->mqtt);
        for (int b = 0; b < N_BRIDGES; b++)
                decoder_free(d->decoders[b]);
        free(d->devices);
        free(d->counts);
        for (size_t i = 0; i < d->n_sounding; i++)
                free(d->sounding[i].topic);
        free(d->sounding);
        engine_free(d->engine);
        engine_view_free(d->view);
        ruleset_free(d->rules);
        sd_event_source_disable_unref(d->deadline);
        sd_event_source_disable_unref(d->broker_fault);
        sqlite3_wal_hook(store_db(d->store), NULL, NULL);
        sd_event_source_disable_unref(d->checkpoint);
        sd_event_unref(d->event);
}

int daemon_run(const struct config *config, struct store *store, const char *authority_key_id)
{
        struct daemon d = {.config = config, .store = store};
        struct registry_summary sum;
        int r;

        d.sounders = config;
        r = setup_loop(&d);
        if (r < 0)
                goto out;
        /* Replaces SQLite's own checkpoints after 1,000 pages (see on_checkpoint). */
        sqlite3_wal_hook(store_db(store), on_wal_commit, &d);
        r = registry_summary(store, authority_key_id, &sum);
        if (r == 0)
                r = engine_view_from_store(store, &d.view);
        if (r < 0)
                goto out;
        d.serving_since = wallclock_ms();
        r = daemon_uplink_start(&d);
        if (r < 0)
                goto out;
        load_rules(&d);
        r = start_engine(&d, true);
        if (r == 0)
                r = incident_open_alarms(store, restore_one, &d);
        if (r == 0)
                r = build_device_map(&d);
        if (r == 0)
                r = daemon_gpio_start(&d);
        if (r == 0)
                r = start_decoders(&d);
        if (r == 0)
                r = start_broker(&d);
        if (r == 0)
                r = start_control(&d);
        if (r < 0)
                goto out;
        if (sum.have_building)
                log_info("serving building %s (%s): %ld units, %ld residents, %ld detectors%s",
                         sum.location_id, sum.name, sum.units, sum.residents, sum.detectors,
                         sum.demo_verified ? "; registry verified by a DEMO key" : "");
        else
                log_warning("no building registry imported yet (firegate import BUNDLE); "
                            "alarms can only be raised for unknown detectors");
        if (sum.unverified)
                log_warning("%ld registry records are UNVERIFIED (imported unsigned)",
                            sum.unverified);
        if (sum.other_key)
                log_warning("%ld registry records were verified by another key than the authority "
                            "key configured now; import the authority's current bundle",
                            sum.other_key);
        daemon_arm_deadline(&d);
        sd_notifyf(0, "READY=1\nSTATUS=Serving %ld units, %ld detectors", sum.units, sum.detectors);
        log_info("ready");
        r = sd_event_loop(d.event);
        if (r < 0)
                log_error_errno(r, "event loop failed");
        log_info("stopped: %lu broker messages, %lu malformed, %lu over the size cap",
                 d.msgs.received, d.msgs.malformed, d.msgs.oversize);
out:
        daemon_free(&d);
        return r < 0 ? r : 0;
}
