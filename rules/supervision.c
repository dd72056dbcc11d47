/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * supervision: the faults of a detector, each with its own timing, and their restores: silent
 * longer than its supervision period (EN 54-25: a lost radio component within 300 s), offline
 * as its bridge says, battery low, tamper, a device or wiring fault, and persistent invalid
 * data. Faults live beside the fire state and never change it: a detector in fault still
 * alarms (fire.c does not look at faults at all).
 *
 * Values no detector can mean (NaN, a temperature below -40 °C or above 200 °C, a battery
 * outside 0-100 %) are never an alarm; they count as invalid data.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"

/* A battery must climb this far above the threshold before its fault restores, so a value
 * wobbling around the threshold does not flood the log with faults and restores. */
#define BATTERY_HYSTERESIS_PCT 5

static void set_fault(struct engine *e, struct engine_det *d, enum engine_fault f, bool on)
{
        unsigned bit = 1u << f;

        if (on == !!(d->faults & bit))
                return;
        if (on)
                d->faults |= bit;
        else
                d->faults &= ~bit;
        engine_emit_det(e, on ? ENGINE_FAULT : ENGINE_RESTORE, d, d->sup->name, 0, f);
}

/* Invalid data is counted per kind of reading: a detector whose thermistor sends NaN in every
 * message, beside a good battery level, has lost its heat detection, and that is a fault. */
static void invalid(struct engine *e, struct engine_det *d, enum engine_reading_kind kind,
                    const char *why)
{
        if (d->invalid_run[kind] < d->sup->invalid_count)
                d->invalid_run[kind]++;
        if (d->invalid_run[kind] < d->sup->invalid_count)
                return;
        d->invalid_kinds |= 1u << kind;
        snprintf(e->cause, sizeof(e->cause), "%d invalid values in a row; the last: %s",
                 d->invalid_run[kind], why);
        set_fault(e, d, ENGINE_FAULT_INVALID_DATA, true);
}

static void valid(struct engine *e, struct engine_det *d, enum engine_reading_kind kind)
{
        d->invalid_run[kind] = 0;
        d->invalid_kinds &= ~(1u << kind);
        /* A message that could not be understood at all is answered by any good message. */
        if (kind != ENGINE_READING_HEARTBEAT) {
                d->invalid_run[ENGINE_READING_INVALID] = 0;
                d->invalid_kinds &= ~(1u << ENGINE_READING_INVALID);
        }
        if (!d->invalid_kinds && (d->faults & (1u << ENGINE_FAULT_INVALID_DATA))) {
                snprintf(e->cause, sizeof(e->cause), "valid data again");
                set_fault(e, d, ENGINE_FAULT_INVALID_DATA, false);
        }
}

static bool is_boolean(double v)
{
        return v == 0 || v == 1;
}

/* Checks a value against what its kind can mean; returns why it cannot, or NULL. */
static const char *invalid_reason(const struct engine_reading *r, char *buf, size_t len)
{
        switch (r->kind) {
        case ENGINE_READING_TEMPERATURE:
                if (isnan(r->value) || r->value < -40.0 || r->value > 200.0) {
                        snprintf(buf, len, "temperature %g °C is impossible", r->value);
                        return buf;
                }
                return NULL;
        case ENGINE_READING_BATTERY:
                if (isnan(r->value) || r->value < 0 || r->value > 100) {
                        snprintf(buf, len, "battery %g %% is impossible", r->value);
                        return buf;
                }
                return NULL;
        case ENGINE_READING_INVALID:
                return "a message that could not be understood";
        case ENGINE_READING_SMOKE:
        case ENGINE_READING_HEAT_ALARM:
        case ENGINE_READING_CALL_POINT:
        case ENGINE_READING_TEST:
        case ENGINE_READING_AVAILABILITY:
        case ENGINE_READING_BATTERY_LOW:
        case ENGINE_READING_TAMPER:
        case ENGINE_READING_DEVICE_FAULT:
                if (!is_boolean(r->value)) {
                        snprintf(buf, len, "%g where only 0 or 1 makes sense", r->value);
                        return buf;
                }
                return NULL;
        case ENGINE_READING_HEARTBEAT:
                return NULL;
        }
        return NULL;
}

static void heard(struct engine *e, struct engine_det *d)
{
        d->last_heard = e->now;
        if (d->faults & (1u << ENGINE_FAULT_SILENT)) {
                snprintf(e->cause, sizeof(e->cause), "heard from again");
                set_fault(e, d, ENGINE_FAULT_SILENT, false);
        }
}

static void availability(struct engine *e, struct engine_det *d, bool online)
{
        if (online) {
                d->offline = false;
                heard(e, d);
                snprintf(e->cause, sizeof(e->cause), "online again");
                set_fault(e, d, ENGINE_FAULT_OFFLINE, false);
                return;
        }
        if (d->offline)
                return;
        d->offline = true;
        d->offline_since = e->now;
        if (d->sup->offline_ms == 0) {
                snprintf(e->cause, sizeof(e->cause), "its bridge reports it offline");
                set_fault(e, d, ENGINE_FAULT_OFFLINE, true);
        }
}

static void battery(struct engine *e, struct engine_det *d, double pct)
{
        int low = d->sup->battery_low_pct;

        if (!d->battery_pct_low && pct <= low)
                d->battery_pct_low = true;
        else if (d->battery_pct_low && pct >= low + BATTERY_HYSTERESIS_PCT)
                d->battery_pct_low = false;
        snprintf(e->cause, sizeof(e->cause), "battery %d %%", (int)pct);
        set_fault(e, d, ENGINE_FAULT_BATTERY_LOW, d->battery_pct_low || d->battery_flag_low);
}

void supervision_reading(struct engine *e, struct engine_det *d, const struct engine_reading *r)
{
        char buf[96];
        const char *why = invalid_reason(r, buf, sizeof(buf));
        bool on = r->value == 1;

        if (d->unknown)
                return; /* nothing to supervise against: no declared period, no rules */
        /* The bridge speaks for an offline device; anything else came from the device. */
        if (r->kind != ENGINE_READING_AVAILABILITY)
                heard(e, d);
        if (why) {
                invalid(e, d, r->kind, why);
                return;
        }
        valid(e, d, r->kind);
        switch (r->kind) {
        case ENGINE_READING_AVAILABILITY:
                availability(e, d, on);
                break;
        case ENGINE_READING_BATTERY:
                battery(e, d, r->value);
                break;
        case ENGINE_READING_BATTERY_LOW:
                d->battery_flag_low = on;
                snprintf(e->cause, sizeof(e->cause), "battery %s", on ? "low" : "ok");
                set_fault(e, d, ENGINE_FAULT_BATTERY_LOW, d->battery_pct_low || on);
                break;
        case ENGINE_READING_TAMPER:
                snprintf(e->cause, sizeof(e->cause), on ? "tampered with" : "tamper cleared");
                set_fault(e, d, ENGINE_FAULT_TAMPER, on);
                break;
        case ENGINE_READING_DEVICE_FAULT:
                snprintf(e->cause, sizeof(e->cause),
                         on ? "the device reports a fault" : "the device fault cleared");
                set_fault(e, d, ENGINE_FAULT_DEVICE, on);
                break;
        case ENGINE_READING_SMOKE:
        case ENGINE_READING_HEAT_ALARM:
        case ENGINE_READING_TEMPERATURE:
        case ENGINE_READING_CALL_POINT:
        case ENGINE_READING_TEST:
        case ENGINE_READING_INVALID:
        case ENGINE_READING_HEARTBEAT:
                break;
        }
}

static bool supervised(const struct engine_det *d)
{
        return !d->unknown && !d->disabled && d->silent_ms > 0;
}

void supervision_deadline(struct engine *e, struct engine_det *d)
{
        if (supervised(d) && !(d->faults & (1u << ENGINE_FAULT_SILENT)) &&
            d->last_heard + d->silent_ms <= e->now) {
                snprintf(e->cause, sizeof(e->cause), "not heard from for %lld s",
                         (long long)((e->now - d->last_heard) / 1000));
                set_fault(e, d, ENGINE_FAULT_SILENT, true);
        }
        if (d->offline && !(d->faults & (1u << ENGINE_FAULT_OFFLINE)) &&
            d->offline_since + d->sup->offline_ms <= e->now) {
                snprintf(e->cause, sizeof(e->cause),
                         "its bridge has reported it offline for %lld s",
                         (long long)((e->now - d->offline_since) / 1000));
                set_fault(e, d, ENGINE_FAULT_OFFLINE, true);
        }
}

engine_time supervision_next_deadline(const struct engine_det *d)
{
        engine_time t = ENGINE_NEVER;

        if (supervised(d) && !(d->faults & (1u << ENGINE_FAULT_SILENT)))
                t = d->last_heard + d->silent_ms;
        if (d->offline && !(d->faults & (1u << ENGINE_FAULT_OFFLINE)) &&
            d->offline_since + d->sup->offline_ms < t)
                t = d->offline_since + d->sup->offline_ms;
        return t;
}
