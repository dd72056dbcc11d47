/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * outputs: what the sounders, bells, door releases and ventilation stops should do, and the
 * state a detector shows.
 *
 * An output is on while some detector in the zone it follows is in alarm, the alarm is not
 * silenced (for a silenceable output), its delay has passed (EN 54-2 7.11; a manual call point
 * never waits) and, for an output that waits for type C confirmation, the alarm is confirmed.
 * Deriving the state from the detectors each time, rather than keeping counters, means a new
 * alarm after a silence sounds again by construction.
 */
#include <stdio.h>

#include "engine_internal.h"

void outputs_update(struct engine *e)
{
        e->outputs_deadline = ENGINE_NEVER;
        for (size_t o = 0; o < e->n_outputs; o++) {
                struct engine_output *out = &e->outputs[o];
                const struct ruleset_output *r = out->rule;
                engine_time pending = ENGINE_NEVER;
                bool want = false;

                for (size_t i = 0; i < e->n_dets && !want; i++) {
                        const struct engine_det *d = &e->dets[i];
                        engine_time on_at;

                        if (d->fire != FIRE_ALARM || !engine_det_in_zone(d, out->zone))
                                continue;
                        if ((r->silenceable && d->silenced) || (r->confirm && !d->confirmed))
                                continue;
                        on_at = d->call_point_alarm ? d->alarm_time : d->alarm_time + r->delay_ms;
                        if (on_at <= e->now)
                                want = true;
                        else if (on_at < pending)
                                pending = on_at;
                }
                out->pending = want ? ENGINE_NEVER : pending;
                if (out->pending < e->outputs_deadline)
                        e->outputs_deadline = out->pending;
                if (want == out->on)
                        continue;
                out->on = want;
                snprintf(e->cause, sizeof(e->cause), "%s %s",
                         want ? "alarm in" : "no alarm to sound in", e->zones[out->zone].name);
                engine_emit_zone(e, want ? ENGINE_OUTPUT_ON : ENGINE_OUTPUT_OFF,
                                 e->zones[out->zone].name, e->cause, NULL, r->name);
        }
}

enum engine_state engine_det_state(const struct engine_det *d)
{
        if (d->fire == FIRE_ALARM) {
                if (d->silenced)
                        return ENGINE_STATE_SILENCED;
                return d->acked ? ENGINE_STATE_ACKNOWLEDGED : ENGINE_STATE_ALARM;
        }
        if (d->fire == FIRE_HELD)
                return ENGINE_STATE_PRE_ALARM;
        if (d->faults)
                return ENGINE_STATE_FAULT;
        if (d->walk_test || d->test_smoke || d->test_button)
                return ENGINE_STATE_TEST;
        if (d->disabled)
                return ENGINE_STATE_DISABLED;
        return ENGINE_STATE_NORMAL;
}
