/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_commit: what synchronous=FULL costs. It commits small transactions (one row each, the
 * size of an incident change) into a store opened as the gateway opens it, once with
 * synchronous=FULL (what firegate uses: each commit's WAL frames are fsynced before COMMIT
 * returns) and once with NORMAL (WAL synced only at checkpoints: the last commits can be lost
 * on a power cut). Prints one markdown table: commits per second and latency percentiles.
 *
 * Usage: bench_commit [DIR] [COMMITS]; DIR defaults to the current directory, which should be
 * on the medium the gateway will use (on a Raspberry Pi, the SD card or its SSD).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "log.h"
#include "store.h"

static int run(const char *dir, const char *mode, int commits, double *lat)
{
        char path[4096];
        struct store *s = NULL;
        sqlite3_stmt *ins = NULL;
        char pragma[64];
        int r = 0;

        snprintf(path, sizeof(path), "%s/bench-commit-%s.db", dir, mode);
        unlink(path);
        if (store_open(path, STORE_READ_WRITE, &s) < 0)
                return -EIO;
        snprintf(pragma, sizeof(pragma), "PRAGMA synchronous = %s", mode);
        if (sqlite3_exec(store_db(s), pragma, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(store_db(s), "CREATE TABLE t (at INTEGER, payload TEXT)", NULL, NULL,
                         NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(store_db(s), "INSERT INTO t VALUES (?, ?)", -1, &ins, NULL) !=
                    SQLITE_OK) {
                r = store_error(s, "setting up");
                goto out;
        }
        for (int i = 0; i < commits; i++) {
                double t0 = bc_now_us();

                if (store_begin(s) < 0) {
                        r = -EIO;
                        goto out;
                }
                sqlite3_bind_int(ins, 1, i);
                sqlite3_bind_text(ins, 2, "{\"kind\":\"alarm\",\"detector\":\"u0101-smoke\"}", -1,
                                  SQLITE_STATIC);
                if (sqlite3_step(ins) != SQLITE_DONE) {
                        r = store_error(s, "inserting");
                        goto out;
                }
                sqlite3_reset(ins);
                if (store_commit(s) < 0) {
                        r = -EIO;
                        goto out;
                }
                lat[i] = bc_now_us() - t0;
        }
out:
        sqlite3_finalize(ins);
        store_free(s);
        unlink(path);
        snprintf(path, sizeof(path), "%s/bench-commit-%s.db-wal", dir, mode);
        unlink(path);
        snprintf(path, sizeof(path), "%s/bench-commit-%s.db-shm", dir, mode);
        unlink(path);
        return r;
}

int main(int argc, char **argv)
{
        const char *dir = argc > 1 ? argv[1] : ".";
        int commits = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 500;
        static const char *const modes[] = {"FULL", "NORMAL"};
        double *lat;

        if (commits < 10 || commits > 1000000) {
                fprintf(stderr, "bench_commit: COMMITS must be from 10 to 1000000\n");
                return 2;
        }
        lat = calloc((size_t)commits, sizeof(double));
        if (!lat)
                return 1;
        log_setup(LOG_WARNING, false);
        printf("\nSmall durable commits into %s, %d per mode\n\n", dir, commits);
        printf("| synchronous | commits/s | p50 (µs) | p99 (µs) | max (µs) | survives power cut "
               "|\n");
        printf("|---|---:|---:|---:|---:|---|\n");
        for (int m = 0; m < 2; m++) {
                double total = 0;

                if (run(dir, modes[m], commits, lat) < 0) {
                        fprintf(stderr, "bench_commit: %s run failed\n", modes[m]);
                        free(lat);
                        return 1;
                }
                for (int i = 0; i < commits; i++)
                        total += lat[i];
                bc_sort(lat, (size_t)commits);
                printf("| %s | %.0f | %.0f | %.0f | %.0f | %s |\n", modes[m],
                       (double)commits / (total / 1e6), lat[commits / 2], lat[commits * 99 / 100],
                       lat[commits - 1],
                       m == 0 ? "yes: every commit" : "no: the last commits may be lost");
        }
        free(lat);
        return 0;
}
