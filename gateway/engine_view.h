/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine_view: the registry as the rules engine reads it (rules/engine.h: detectors, units with
 * the counts of their verified residents' rescue-relevant flags, installer zones), built from
 * the store or from a checked bundle. The view owns every string it hands the engine.
 *
 * Only verified, active residents count towards a unit's flags: a priority that lets an alarm
 * skip its verification delay must rest on data the registry authority signed.
 */
#ifndef FIREGATE_ENGINE_VIEW_H
#define FIREGATE_ENGINE_VIEW_H

#include "engine.h"
#include "registry.h"
#include "store.h"

struct engine_view {
        struct engine_detector_info *detectors;
        size_t n_detectors;
        /* How each detector is heard, beside detectors[i]: MQTT bridge and device, or NULL
         * for a GPIO detector. Not the engine's business, the daemon's. */
        const char **bridge, **device;
        struct engine_unit_info *units;
        size_t n_units;
        const char **zones;
        size_t n_zones;
        size_t cap_detectors, cap_units, cap_zones;
        char **owned; /* every string above is one of these */
        size_t n_owned, owned_cap;
};

/* Reads the registry of @s. Returns 0 or a negative errno (the store logs its errors). */
int engine_view_from_store(struct store *s, struct engine_view **out);

/* Builds the view from checked records (a bundle given on the command line). */
int engine_view_from_records(const struct registry_records *r, struct engine_view **out);

/* Frees @v; NULL is a no-op. */
void engine_view_free(struct engine_view *v);

#endif
