/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store: the gateway's SQLite file (registry, and in later schema versions the incident log and
 * the outbox). Opening it sets the pragmas every connection needs (WAL, foreign keys, a busy
 * timeout, synchronous=FULL so a committed alarm survives a power cut), checks its integrity
 * and brings its schema up to date with the migrations compiled into the binary.
 *
 * The store logs its own errors (it knows the file, the SQLite message and the versions) and
 * returns a negative errno; callers do not log them again.
 */
#ifndef FIREGATE_STORE_H
#define FIREGATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sqlite3.h>

struct store;

/* One schema step: applying @sql to a database at version - 1 gives version @version. */
struct store_migration {
        int version;
        const char *name;
        const char *sql;
};

/* The migrations in schema/, in order (generated at build time). */
extern const struct store_migration store_migrations[];
extern const size_t store_migration_count;

enum store_mode {
        STORE_READ_WRITE, /* creates the store where there is no file (built as PATH.new and
                             renamed into place whole), applies pending migrations */
        STORE_READ_ONLY,  /* never writes; refuses a database that still needs migrations */
        STORE_APPEND,     /* writes a few rows into an existing, current database (an audit
                             row): no whole-file check, no migrations, no creating */
};

/* Opens @path with the compiled-in migrations. Returns 0 and sets *@out, or:
 * -EPROTO   the database was written by a newer firegate (its schema version is higher);
 * -ESTALE   read-only open of a database that needs migrations;
 * -EBADMSG  not an SQLite database (an existing file shorter than a database header, an empty
 *           one too, is one: never taken for a new store, since a new store appears at its path
 *           only whole), or the integrity check failed;
 * -EIO      a migration failed (the database is left at its old version);
 * -ENOSPC   the disk is full (the database is left at its old version);
 * or the negative errno of the open, or of creating the store (which then leaves no file at
 * @path). *@out is NULL on failure. */
int store_open(const char *path, enum store_mode mode, struct store **out);

/* As store_open() with an explicit migration list (tests use it to stage failures). */
int store_open_with(const char *path, enum store_mode mode, const struct store_migration *migs,
                    size_t n_migs, struct store **out);

/* Closes the database; NULL is a no-op. */
void store_free(struct store *s);

/* The index of @st's result column named @name, or -1. */
int store_column_index(sqlite3_stmt *st, const char *name);

/* The underlying connection, for modules that run their own statements (registry). */
sqlite3 *store_db(struct store *s);

/* The file the store was opened from. */
const char *store_path(const struct store *s);

/* The schema version of the open database. */
int store_schema_version(struct store *s);

/* Transactions. store_begin() takes the write lock at once (BEGIN IMMEDIATE) so a writer never
 * fails half way with SQLITE_BUSY. Each returns 0 or -EIO, and logs the SQLite message. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Logs the connection's last SQLite error with @what ("inserting unit X") and maps it to a
 * negative errno: -ENOSPC for a full disk, -EBUSY for a lock held too long, -EIO otherwise. */
int store_error(struct store *s, const char *what);

#endif
