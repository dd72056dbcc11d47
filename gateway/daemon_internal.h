/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_internal: the running daemon's state, shared by its two halves: daemon.c (the loop,
 * the building broker, the engine, sounders, the control socket) and daemon_uplink.c (the
 * outbox, the city platform's broker, statistics, heartbeats and the platform's commands).
 * One struct, owned by the loop; nothing here is touched from another thread.
 */
#ifndef FIREGATE_DAEMON_INTERNAL_H
#define FIREGATE_DAEMON_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "control.h"
#include "decode.h"
#include "engine.h"
#include "engine_view.h"
#include "gpio.h"
#include "mqtt.h"
#include "outbox.h"
#include "ruleset.h"
#include "store.h"
#include "uplink.h"

#define N_BRIDGES 4
/* Refused messages are logged at most this often: a flooding device must not flood the
 * journal and wear the SD card. */
#define REFUSED_LOG_INTERVAL_US (10 * 1000000ULL)

struct device_entry {
        enum decode_bridge bridge;
        const char *device;
        size_t detector;
};

/* What the broker's messages did for one registry detector, kept in memory only: shown by
 * `firegate status --detectors` so an installer finds the device that sends garbage. */
struct detector_counts {
        unsigned long readings, refused;
        int64_t refused_at; /* UTC ms of the last refusal, 0 when none */
        char why[DECODE_WHY_MAX];
};

/* A sounder commanded on, with its topic filled in: sent again on every connection. */
struct sounding {
        const struct config_sounder *sounder;
        char *topic;
};

/* Messages that could not be used, by why; messages from devices the registry does not know. */
struct message_counts {
        unsigned long received, malformed, oversize, unknown_topic, unknown_device;
};

struct daemon {
        const struct config *config;
        /* The config the sounders and the rules' directory come from: config, or the last
         * one a reload read (reloaded, owned). Everything else keeps config until a restart. */
        const struct config *sounders;
        struct config *reloaded;
        bool reloading;
        struct store *store;
        sd_event *event;
        sd_event_source *deadline, *broker_fault, *checkpoint;
        uint64_t start_us;
        struct ruleset *rules;
        struct engine_view *view;
        struct engine *engine;
        struct decoder *decoders[N_BRIDGES];
        struct mqtt *mqtt;
        struct control *control;
        struct device_entry *devices;
        size_t n_devices;
        struct detector_counts *counts; /* by engine index, registry detectors only */
        struct sounding *sounding;
        size_t n_sounding;
        bool broker_fault_raised;
        struct message_counts msgs;
        unsigned long refused_unlogged;
        uint64_t refused_logged_us;

        /* the uplink: daemon_uplink.c */
        struct uplink *uplink; /* NULL when no uris are set */
        struct outbox *outbox;
        sd_event_source *stats_timer, *heartbeat_timer;
        char prefix[96]; /* firegate/v1/<gateway id>/ */
        char uplink_server[256];
        int uplink_version;
        int64_t uplink_since; /* UTC ms of the current connection, 0 while down */
        sd_event_source *drain_timer;
        uint64_t drain_until_us;
        bool draining;

        int64_t serving_since; /* UTC ms: when this daemon started serving */

        /* the installer's walk test: daemon_walk.c */
        struct walk *walk; /* NULL until the first one */

        /* decisions the store refused, waiting for it: daemon_unstored.c */
        struct unstored_decision *unstored;
        size_t n_unstored, cap_unstored;
        sd_event_source *unstored_retry;

        /* wired detectors and relays: daemon_gpio.c */
        struct gpio *gpio; /* NULL when the building has none */
        struct wired *wired;
};

/* The engine's clock: milliseconds of CLOCK_MONOTONIC since the daemon started. */
engine_time daemon_engine_now(struct daemon *d);

/* Acts on a person's or the platform's command (@verb acknowledge, silence or reset) as @who.
 * With @false_alarm (reset only), the incidents the reset closes are marked as false alarms.
 * Writes what was done, or why not, into @reply; *@incident (may be NULL) gets the incident
 * the target named (0: a zone). Returns 0, -ENOENT / -EALREADY / -EINVAL for a refusal, or
 * another negative errno. */
int daemon_act(struct daemon *d, const char *verb, const char *target, const char *who,
               bool false_alarm, char *reply, size_t reply_len, long long *incident);

/* Sets the engine's single timer to its next deadline; after every reading or command. */
void daemon_arm_deadline(struct daemon *d);

/* Commits decision @dec, taken when the real-time clock read @wall_ms, to the incident log with
 * its alerts, before anything else learns of it. Returns 0 or a negative errno (said). */
int daemon_record(struct daemon *d, const struct engine_decision *dec, int64_t wall_ms);

/* daemon_unstored.c */
/* Keeps a copy of @dec, which the store refused, to be recorded at @wall_ms when it takes writes
 * again (retried every 10 s). Returns 0 or -ENOMEM (said). */
int daemon_unstored_keep(struct daemon *d, const struct engine_decision *dec, int64_t wall_ms);
/* Records the kept decisions in order; 0 when none is left, else the store's error. */
int daemon_unstored_flush(struct daemon *d);
size_t daemon_unstored_count(const struct daemon *d);
/* Says how many were never stored, and frees them. */
void daemon_unstored_free(struct daemon *d);

/* daemon_gpio.c */
int daemon_gpio_start(struct daemon *d);
void daemon_gpio_stop(struct daemon *d);
/* Drives the relays that follow the output of @dec (an output-on or output-off). */
void daemon_gpio_outputs(struct daemon *d, const struct engine_decision *dec);
void daemon_gpio_status(struct daemon *d, json_t *root);

/* daemon_uplink.c */
/* "walk-test start TARGET [SECONDS]" | "walk-test status" | "walk-test stop" (control.h). */
void daemon_walk_control(struct daemon *d, const char *args, const char *who, FILE *reply);
/* Notes the detectors heard during a walk test; called with every decision. */
void daemon_walk_decision(struct daemon *d, const struct engine_decision *dec);
/* Ends a running walk test without the engine (a reload replaces the engine): @why is said. */
void daemon_walk_abandon(struct daemon *d, const char *why);
void daemon_walk_free(struct daemon *d);

int daemon_uplink_start(struct daemon *d);
void daemon_uplink_stop(struct daemon *d);
/* Adds the alerts for @dec to the outbox, one per incident it touched: the incident events
 * numbered above @before_event. Inside the decision's transaction. Returns 0 or a negative
 * errno. */
int daemon_uplink_alerts(struct daemon *d, const struct engine_decision *dec,
                         long long before_event);
/* The alert of a decision the store could not take, sent at once without the outbox. */
void daemon_uplink_unstored(struct daemon *d, const struct engine_decision *dec);
/* At a stop: starts waiting (at most DAEMON_DRAIN_MS) for the platform to acknowledge what is
 * pending, and returns true; false when there is nothing to wait for (no connection, nothing
 * pending), and the loop may exit now. */
#define DAEMON_DRAIN_MS 2000
bool daemon_uplink_drain(struct daemon *d);
/* The uplink's part of `firegate status`. */
void daemon_uplink_status(struct daemon *d, json_t *root);

#endif
