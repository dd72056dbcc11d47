/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine_view: copies the registry into the plain arrays the engine takes at start. Runs once
 * at start (and at a reload), so clarity beats speed: one query per table, strings copied.
 */
#include "engine_view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *keep(struct engine_view *v, const char *s)
{
        char *copy;

        if (!s)
                return NULL;
        if (v->n_owned == v->owned_cap) {
                size_t cap = v->owned_cap ? v->owned_cap * 2 : 256;
                char **bigger = realloc(v->owned, cap * sizeof(char *));

                if (!bigger)
                        return NULL;
                v->owned = bigger;
                v->owned_cap = cap;
        }
        copy = strdup(s);
        if (copy)
                v->owned[v->n_owned++] = copy;
        return copy;
}

void engine_view_free(struct engine_view *v)
{
        if (!v)
                return;
        for (size_t i = 0; i < v->n_owned; i++)
                free(v->owned[i]);
        free(v->owned);
        free(v->detectors);
        free(v->bridge);
        free(v->device);
        free(v->units);
        free(v->zones);
        free(v);
}

static enum engine_detector_kind kind_from_name(const char *k)
{
        if (k && strcmp(k, "heat") == 0)
                return ENGINE_HEAT;
        if (k && strcmp(k, "multi") == 0)
                return ENGINE_MULTI;
        if (k && strcmp(k, "call_point") == 0)
                return ENGINE_CALL_POINT;
        return ENGINE_SMOKE;
}

static enum engine_detector_kind kind_from_registry(enum registry_detector_kind k)
{
        switch (k) {
        case REGISTRY_SMOKE:
                return ENGINE_SMOKE;
        case REGISTRY_HEAT:
                return ENGINE_HEAT;
        case REGISTRY_MULTI:
                return ENGINE_MULTI;
        case REGISTRY_CALL_POINT:
                return ENGINE_CALL_POINT;
        }
        return ENGINE_SMOKE;
}

static int count_flags(struct engine_unit_info *u, unsigned flags)
{
        u->residents++;
        u->bedridden += !!(flags & REGISTRY_FLAG_BEDRIDDEN);
        u->mobility_impaired += !!(flags & REGISTRY_FLAG_MOBILITY_IMPAIRED);
        u->elderly += !!(flags & REGISTRY_FLAG_ELDERLY);
        u->infant += !!(flags & REGISTRY_FLAG_INFANT);
        u->needs_oxygen += !!(flags & REGISTRY_FLAG_NEEDS_OXYGEN);
        return 0;
}

static struct engine_unit_info *unit_by_id(struct engine_view *v, const char *id)
{
        for (size_t i = 0; id && i < v->n_units; i++)
                if (strcmp(v->units[i].id, id) == 0)
                        return &v->units[i];
        return NULL;
}

static int view_alloc(struct engine_view **out, size_t dets, size_t units, size_t zones)
{
        struct engine_view *v = calloc(1, sizeof(*v));

        if (!v)
                return -ENOMEM;
        v->detectors = calloc(dets + 1, sizeof(*v->detectors));
        v->bridge = calloc(dets + 1, sizeof(*v->bridge));
        v->device = calloc(dets + 1, sizeof(*v->device));
        v->units = calloc(units + 1, sizeof(*v->units));
        v->zones = calloc(zones + 1, sizeof(*v->zones));
        if (!v->detectors || !v->bridge || !v->device || !v->units || !v->zones) {
                engine_view_free(v);
                return -ENOMEM;
        }
        v->cap_detectors = dets;
        v->cap_units = units;
        v->cap_zones = zones;
        *out = v;
        return 0;
}

int engine_view_from_records(const struct registry_records *r, struct engine_view **out)
{
        struct engine_view *v;
        bool oom = false;
        int ret;

        ret = view_alloc(&v, r->n_detectors, r->n_units, r->n_zones);
        if (ret < 0)
                return ret;
        for (size_t i = 0; i < r->n_zones; i++) {
                v->zones[v->n_zones] = keep(v, r->zones[i].zone_id);
                oom |= !v->zones[v->n_zones++];
        }
        for (size_t i = 0; i < r->n_units; i++) {
                struct engine_unit_info *u = &v->units[v->n_units++];

                u->id = keep(v, r->units[i].address_id);
                u->floor = r->units[i].floor;
                u->verified = r->units[i].meta.verified;
                oom |= !u->id;
        }
        for (size_t i = 0; i < r->n_residents; i++) {
                const struct registry_resident *res = &r->residents[i];
                struct engine_unit_info *u = unit_by_id(v, res->unit);

                if (u && res->meta.verified && !res->moved_out)
                        count_flags(u, res->flags);
        }
        for (size_t i = 0; i < r->n_detectors; i++) {
                const struct registry_detector *d = &r->detectors[i];
                struct engine_detector_info *e = &v->detectors[v->n_detectors++];
                struct engine_unit_info *u = unit_by_id(v, d->unit);

                e->id = keep(v, d->detector_id);
                e->kind = kind_from_registry(d->kind);
                e->heat_class = keep(v, d->heat_class);
                e->unit = keep(v, d->unit);
                e->floor = d->has_floor ? d->floor : (u ? u->floor : 1);
                e->zone = keep(v, d->zone);
                e->report_period_s = d->report_period_s;
                e->verified = d->meta.verified;
                e->wired = d->gpio;
                if (!d->gpio) {
                        v->bridge[i] = keep(v, d->bridge);
                        v->device[i] = keep(v, d->device);
                }
                oom |= !e->id;
        }
        if (oom) {
                engine_view_free(v);
                return -ENOMEM;
        }
        *out = v;
        return 0;
}

static int count_rows(struct store *s, const char *sql, size_t *n)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
                return store_error(s, "reading the registry");
        if (sqlite3_step(st) == SQLITE_ROW)
                *n = (size_t)sqlite3_column_int64(st, 0);
        else
                r = store_error(s, "reading the registry");
        sqlite3_finalize(st);
        return r;
}

static const char *col(struct engine_view *v, sqlite3_stmt *st, int i, bool *oom)
{
        const char *s;

        if (sqlite3_column_type(st, i) == SQLITE_NULL)
                return NULL;
        s = keep(v, (const char *)sqlite3_column_text(st, i));
        *oom |= !s;
        return s;
}

static int read_rows(struct store *s, struct engine_view *v, const char *sql,
                     int (*row)(struct engine_view *v, sqlite3_stmt *st, bool *oom))
{
        sqlite3_stmt *st = NULL;
        bool oom = false;
        int rc, r = 0;

        if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
                return store_error(s, "reading the registry");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && !oom && r == 0)
                r = row(v, st, &oom);
        if (oom)
                r = -ENOMEM;
        else if (r == 0 && rc != SQLITE_DONE)
                r = store_error(s, "reading the registry");
        sqlite3_finalize(st);
        return r;
}

static int zone_row(struct engine_view *v, sqlite3_stmt *st, bool *oom)
{
        if (v->n_zones == v->cap_zones)
                return -EOVERFLOW;
        v->zones[v->n_zones++] = col(v, st, 0, oom);
        return 0;
}

static int unit_row(struct engine_view *v, sqlite3_stmt *st, bool *oom)
{
        struct engine_unit_info *u;

        if (v->n_units == v->cap_units)
                return -EOVERFLOW;
        u = &v->units[v->n_units++];
        u->id = col(v, st, 0, oom);
        u->floor = sqlite3_column_int(st, 1);
        u->verified = sqlite3_column_int(st, 2);
        u->residents = (unsigned)sqlite3_column_int(st, 3);
        u->bedridden = (unsigned)sqlite3_column_int(st, 4);
        u->mobility_impaired = (unsigned)sqlite3_column_int(st, 5);
        u->elderly = (unsigned)sqlite3_column_int(st, 6);
        u->infant = (unsigned)sqlite3_column_int(st, 7);
        u->needs_oxygen = (unsigned)sqlite3_column_int(st, 8);
        return 0;
}

static int detector_row(struct engine_view *v, sqlite3_stmt *st, bool *oom)
{
        struct engine_detector_info *d;

        if (v->n_detectors == v->cap_detectors)
                return -EOVERFLOW;
        d = &v->detectors[v->n_detectors++];
        d->id = col(v, st, 0, oom);
        d->kind = kind_from_name((const char *)sqlite3_column_text(st, 1));
        d->heat_class = col(v, st, 2, oom);
        d->unit = col(v, st, 3, oom);
        d->floor = sqlite3_column_int(st, 4);
        d->zone = col(v, st, 5, oom);
        d->report_period_s = sqlite3_column_int(st, 6);
        d->verified = sqlite3_column_int(st, 7);
        d->wired = sqlite3_column_int(st, 8);
        v->bridge[v->n_detectors - 1] = col(v, st, 9, oom);
        v->device[v->n_detectors - 1] = col(v, st, 10, oom);
        return 0;
}

int engine_view_from_store(struct store *s, struct engine_view **out)
{
        size_t dets = 0, units = 0, zones = 0;
        struct engine_view *v = NULL;
        int r;

        /* One read transaction: the counts and the rows come from the same snapshot, even with
         * an import committing beside us. */
        if (sqlite3_exec(store_db(s), "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
                return store_error(s, "reading the registry");
        r = count_rows(s, "SELECT count(*) FROM detector", &dets);
        if (r == 0)
                r = count_rows(s, "SELECT count(*) FROM unit", &units);
        if (r == 0)
                r = count_rows(s, "SELECT count(*) FROM zone", &zones);
        if (r == 0)
                r = view_alloc(&v, dets, units, zones);
        if (r < 0)
                goto out_end;
        r = read_rows(s, v, "SELECT zone_id FROM zone ORDER BY zone_id", zone_row);
        if (r == 0)
                r = read_rows(s, v,
                              "SELECT u.address_id, u.floor, u.verified, "
                              "count(r.resident_id), coalesce(sum(r.bedridden), 0), "
                              "coalesce(sum(r.mobility_impaired), 0), coalesce(sum(r.elderly), 0), "
                              "coalesce(sum(r.infant), 0), coalesce(sum(r.needs_oxygen), 0) "
                              "FROM unit u LEFT JOIN resident r ON r.unit = u.address_id AND "
                              "r.verified = 1 AND r.moved_out = 0 GROUP BY u.address_id "
                              "ORDER BY u.address_id",
                              unit_row);
        if (r == 0)
                r = read_rows(s, v,
                              "SELECT d.detector_id, d.kind, d.heat_class, d.unit, "
                              "coalesce(d.floor, u.floor, 1), d.zone, "
                              "coalesce(d.report_period_s, 0), d.verified, d.source = 'gpio', "
                              "d.bridge, d.device FROM detector d "
                              "LEFT JOIN unit u ON u.address_id = d.unit ORDER BY d.detector_id",
                              detector_row);
        if (r < 0) {
                engine_view_free(v);
                goto out_end;
        }
        *out = v;
out_end:
        sqlite3_exec(store_db(s), "COMMIT", NULL, NULL, NULL);
        return r;
}
