/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store: opens the SQLite file and keeps its schema current.
 *
 * Invariants: PRAGMA user_version is the number of the last migration applied; all pending
 * migrations run in one transaction, so a crash or a failing statement leaves the database at
 * the version it had; a database from a newer firegate is never touched, since an older binary
 * cannot know what its tables mean. synchronous=FULL in WAL mode makes every commit durable
 * (the WAL is fsynced at each commit), which is what "an alarm exists once it is committed"
 * needs; docs/store.md says what that costs. A new store is built beside its path and put
 * there whole, schema and header, so a file at the path that is shorter than a header is
 * always damage, never a creation cut short.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain.h"
#include "log.h"

#define STORE_BUSY_TIMEOUT_MS 5000
/* The size of an SQLite database header: a file shorter than that holds no database. */
#define STORE_HEADER_SIZE 100

struct store {
        sqlite3 *db;
        char *path;
};

int store_error(struct store *s, const char *what)
{
        int code = sqlite3_extended_errcode(s->db);
        int r;

        switch (code & 0xff) {
        case SQLITE_FULL:
                r = -ENOSPC;
                break;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                r = -EBUSY;
                break;
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
                r = -EBADMSG;
                break;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_CANTOPEN:
                r = -EACCES;
                break;
        default:
                r = -EIO;
                break;
        }
        log_error("%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
        return r;
}

static int store_exec(struct store *s, const char *sql, const char *what)
{
        if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
                return store_error(s, what);
        return 0;
}

static int store_pragma_int(struct store *s, const char *sql, int *value)
{
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
                return store_error(s, sql);
        if (sqlite3_step(st) != SQLITE_ROW) {
                r = store_error(s, sql);
                goto out;
        }
        *value = sqlite3_column_int(st, 0);
out:
        sqlite3_finalize(st);
        return r;
}

int store_schema_version(struct store *s)
{
        int v = -1;

        if (store_pragma_int(s, "PRAGMA user_version", &v) < 0)
                return -EIO;
        return v;
}

/* One message for every way the file can be found damaged, on one journal line, pointing at
 * the recovery: the file is evidence, so it is never touched here. Returns -EBADMSG. */
static int store_damaged(struct store *s, const char *reason)
{
        char text[512];
        size_t o = 0;

        /* quick_check's report starts with a header and spans lines. */
        if (strncmp(reason, "*** in database main ***", 24) == 0)
                reason += 24;
        for (; *reason && o + 3 < sizeof(text); reason++) {
                if (*reason == '\n') {
                        if (o) {
                                text[o++] = ';';
                                text[o++] = ' ';
                        }
                } else {
                        text[o++] = *reason;
                }
        }
        text[o] = '\0';
        log_error("%s: the store is damaged (%s); refusing to start on it. Keep a copy as "
                  "evidence and follow \"Recovering a damaged store\" in store.md "
                  "(/usr/share/doc/firegate/store.md)",
                  s->path, text);
        return -EBADMSG;
}

/* quick_check is O(pages) where integrity_check also cross-checks every index (O(N log N));
 * at start-up on an SD card the former is what a gateway can afford on every boot. */
static int store_check_integrity(struct store *s)
{
        sqlite3_stmt *st = NULL;
        const unsigned char *first;
        int r = 0, rc;

        if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(5)", -1, &st, NULL) != SQLITE_OK) {
                rc = sqlite3_extended_errcode(s->db) & 0xff;
                return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB
                               ? store_damaged(s, sqlite3_errmsg(s->db))
                               : store_error(s, "checking integrity");
        }
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                rc = sqlite3_extended_errcode(s->db) & 0xff;
                r = rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB
                            ? store_damaged(s, sqlite3_errmsg(s->db))
                            : store_error(s, "checking integrity");
                goto out;
        }
        first = sqlite3_column_text(st, 0);
        if (!first || strcmp((const char *)first, "ok") != 0)
                r = store_damaged(s, first ? (const char *)first : "no result from quick_check");
out:
        sqlite3_finalize(st);
        return r;
}

static int store_migrate(struct store *s, const struct store_migration *migs, size_t n_migs,
                         int current)
{
        char sql[64];
        int r;

        r = store_exec(s, "BEGIN IMMEDIATE", "starting the migration");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_migs; i++) {
                if (migs[i].version <= current)
                        continue;
                if (sqlite3_exec(s->db, migs[i].sql, NULL, NULL, NULL) != SQLITE_OK) {
                        log_error("%s: migration %s failed: %s; the database stays at schema "
                                  "version %d",
                                  s->path, migs[i].name, sqlite3_errmsg(s->db), current);
                        r = -EIO;
                        goto out_rollback;
                }
                log_info("%s: applied migration %s", s->path, migs[i].name);
        }
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", migs[n_migs - 1].version);
        r = store_exec(s, sql, "recording the schema version");
        if (r < 0)
                goto out_rollback;
        r = store_exec(s, "COMMIT", "committing the migration");
        if (r < 0)
                goto out_rollback;
        return 0;

out_rollback:
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

static int store_setup(struct store *s, enum store_mode mode)
{
        int r;

        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
        /* The first read of the file: a file that is not a database shows up here, and is said
         * once, in words an installer understands. */
        if (sqlite3_exec(s->db, "PRAGMA schema_version", NULL, NULL, NULL) != SQLITE_OK &&
            (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_NOTADB) {
                return store_damaged(s, "not an SQLite database, or damaged beyond reading");
        }
        r = store_exec(s, "PRAGMA foreign_keys = ON", "enabling foreign keys");
        if (r < 0)
                return r;
        /* The integrity check reads the whole file: the writers (the daemon at start, an
         * import) pay for it; a reader, which cannot damage the file, would pay it on every
         * query, and still gets SQLite's own error on a damaged page. */
        if (mode == STORE_READ_WRITE)
                r = store_check_integrity(s);
        if (r < 0)
                return r;
        if (mode != STORE_READ_ONLY) {
                r = store_exec(s, "PRAGMA journal_mode = WAL", "switching to WAL");
                if (r < 0)
                        return r;
        }
        /* A reader (a listing, a report) reads a month of rows and their indexes: 64 MiB of
         * page cache for its short life keeps index pages from being read again and again
         * (SQLite's default is 2 MiB). Only speed depends on it. */
        if (mode == STORE_READ_ONLY)
                sqlite3_exec(s->db, "PRAGMA cache_size = -65536", NULL, NULL, NULL);
        return store_exec(s, "PRAGMA synchronous = FULL", "setting synchronous");
}

/* Removes what an interrupted creation of @name may have left: the file and its journals. */
static int remove_stale(const char *name)
{
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        char stale[4096];

        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                snprintf(stale, sizeof(stale), "%s%s", name, suffixes[i]);
                if (unlink(stale) < 0 && errno != ENOENT) {
                        int r = -errno;

                        log_error("%s: cannot remove what an interrupted creation left: %s", stale,
                                  strerror(-r));
                        return r;
                }
        }
        return 0;
}

/* Builds a new store in @tmp->path: the schema, then WAL mode (which writes the header even
 * with nothing to migrate), then a close, which checkpoints the WAL into the file and removes
 * it, and an fsync. */
static int store_build(struct store *tmp, const struct store_migration *migs, size_t n_migs)
{
        char wal[4096];
        int fd, r;

        if (sqlite3_open_v2(tmp->path, &tmp->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
                            NULL) != SQLITE_OK)
                return tmp->db ? store_error(tmp, "creating the store") : -ENOMEM;
        sqlite3_extended_result_codes(tmp->db, 1);
        r = store_exec(tmp, "PRAGMA synchronous = FULL", "setting synchronous");
        if (r == 0 && n_migs)
                r = store_migrate(tmp, migs, n_migs, 0);
        if (r == 0)
                r = store_exec(tmp, "PRAGMA journal_mode = WAL", "switching to WAL");
        if (r < 0)
                return r;
        if (sqlite3_close(tmp->db) != SQLITE_OK)
                return store_error(tmp, "closing the new store");
        tmp->db = NULL;
        snprintf(wal, sizeof(wal), "%s-wal", tmp->path);
        if (access(wal, F_OK) == 0) {
                log_error("%s: the new store's WAL was not checkpointed", tmp->path);
                return -EIO;
        }
        fd = open(tmp->path, O_RDONLY | O_CLOEXEC);
        r = fd < 0 || fsync(fd) < 0 ? -errno : 0;
        if (fd >= 0)
                close(fd);
        if (r < 0)
                log_error("%s: cannot sync the new store: %s", tmp->path, strerror(-r));
        return r;
}

/* Puts @from in place as @to only if there is no @to: an existing store is never replaced.
 * Returns 0, -EEXIST, or the negative errno (said). */
static int store_put_in_place(const char *from, const char *to)
{
        int r = 0;

        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
                return 0;
        /* File systems without RENAME_NOREPLACE: a hard link fails the same way on an
         * existing name. */
        if (errno == EINVAL || errno == ENOSYS) {
                if (link(from, to) == 0)
                        return unlink(from) < 0 ? -errno : 0;
        }
        r = -errno;
        if (r != -EEXIST)
                log_error("%s: cannot put the new store in place: %s", to, strerror(-r));
        return r;
}

/* Creates the store @path with every migration, atomically: it is built as @path.new (what an
 * interrupted creation left there is removed first) and renamed into place whole, under a lock
 * on the directory so that two creators do not build into each other's file. Returns 0 (also
 * when another process created @path meanwhile) or a negative errno (said). */
static int store_create(const char *path, const struct store_migration *migs, size_t n_migs)
{
        struct store tmp = {0};
        struct stat st;
        char *dir = strdup(path);
        int dfd = -1, r;

        if (!dir || asprintf(&tmp.path, "%s.new", path) < 0) {
                tmp.path = NULL;
                r = -ENOMEM;
                goto out;
        }
        dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || flock(dfd, LOCK_EX) < 0) {
                r = -errno;
                log_error("%s: cannot create the store there: %s", path, strerror(-r));
                goto out;
        }
        if (lstat(path, &st) == 0) {
                r = 0; /* made by another process while this one waited for the lock */
                goto out;
        }
        r = remove_stale(tmp.path);
        if (r == 0)
                r = store_build(&tmp, migs, n_migs);
        if (r == 0)
                r = store_put_in_place(tmp.path, path);
        if (r == -EEXIST)
                r = 0;
        if (r == 0 && fsync(dfd) < 0) {
                r = -errno;
                log_error("%s: cannot sync its directory: %s", path, strerror(-r));
        }
out:
        if (tmp.db)
                sqlite3_close(tmp.db);
        if (tmp.path && r < 0)
                remove_stale(tmp.path);
        else if (tmp.path)
                unlink(tmp.path); /* still there when another process won the race */
        if (dfd >= 0)
                close(dfd); /* and the lock with it */
        free(tmp.path);
        free(dir);
        return r;
}

int store_open_with(const char *path, enum store_mode mode, const struct store_migration *migs,
                    size_t n_migs, struct store **out)
{
        struct store *s;
        struct stat st;
        char reason[160];
        int flags, r, version, latest = n_migs ? migs[n_migs - 1].version : 0;

        *out = NULL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->path = strdup(path);
        if (!s->path) {
                r = -ENOMEM;
                goto out_free;
        }
        /* SQLite takes an empty file for an empty database, and a writer would give it a fresh
         * schema: a store emptied by a failing card or a bad copy would silently become a new
         * install with no registry and no incident log. A store firegate creates appears at
         * its path whole (store_create()), so a short file there is damage. */
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < STORE_HEADER_SIZE) {
                snprintf(reason, sizeof(reason),
                         "%lld bytes long, shorter than an SQLite header: truncated or badly "
                         "copied; a new store is made only where there is no file",
                         (long long)st.st_size);
                r = store_damaged(s, reason);
                goto out_free;
        }
        if (mode == STORE_READ_WRITE && lstat(path, &st) < 0 && errno == ENOENT) {
                r = store_create(path, migs, n_migs);
                if (r < 0)
                        goto out_free;
        }
        flags = (mode == STORE_READ_ONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX;
        if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
                r = s->db ? store_error(s, "opening") : -ENOMEM;
                goto out_free;
        }
        r = store_setup(s, mode);
        if (r < 0)
                goto out_free;
        version = store_schema_version(s);
        if (version < 0) {
                r = -EIO;
                goto out_free;
        }
        if (version > latest) {
                log_error("%s: written by a newer firegate (schema version %d; this build knows "
                          "up to %d); refusing to open it. Install that version or newer.",
                          path, version, latest);
                r = -EPROTO;
                goto out_free;
        }
        if (version < latest) {
                if (mode != STORE_READ_WRITE) {
                        log_error("%s: schema version %d needs migrating to %d; start the daemon "
                                  "or run a command that writes (such as import) first",
                                  path, version, latest);
                        r = -ESTALE;
                        goto out_free;
                }
                r = store_migrate(s, migs, n_migs, version);
                if (r < 0)
                        goto out_free;
        }
        *out = s;
        return 0;

out_free:
        store_free(s);
        return r;
}

int store_open(const char *path, enum store_mode mode, struct store **out)
{
        int r = store_open_with(path, mode, store_migrations, store_migration_count, out);

        /* Every row of the record the gateway writes is chained (chain.h); a reader gets the
         * functions that check the chain. */
        if (r == 0) {
                r = chain_attach((*out)->db, mode != STORE_READ_ONLY);
                if (r < 0) {
                        store_free(*out);
                        *out = NULL;
                }
        }
        return r;
}

void store_free(struct store *s)
{
        if (!s)
                return;
        sqlite3_close_v2(s->db);
        free(s->path);
        free(s);
}

sqlite3 *store_db(struct store *s)
{
        return s->db;
}

const char *store_path(const struct store *s)
{
        return s->path;
}

int store_begin(struct store *s)
{
        return store_exec(s, "BEGIN IMMEDIATE", "starting a transaction");
}

int store_commit(struct store *s)
{
        return store_exec(s, "COMMIT", "committing");
}

void store_rollback(struct store *s)
{
        if (!sqlite3_get_autocommit(s->db))
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_column_index(sqlite3_stmt *st, const char *name)
{
        for (int c = 0; c < sqlite3_column_count(st); c++)
                if (strcmp(sqlite3_column_name(st, c), name) == 0)
                        return c;
        return -1;
}
