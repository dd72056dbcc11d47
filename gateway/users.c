/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * users: the security desk's accounts, on libsodium's argon2id (crypto_pwhash_str). The hash
 * string carries its own salt and parameters; the password itself is never stored nor logged.
 * users_verify() runs the KDF once whatever the outcome (unknown name, disabled account, wrong
 * password), and the comparison inside crypto_pwhash_str_verify() is constant-time.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "users.h"

#define USERS_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define USERS_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

static const char *const role_names[] = {
        [USERS_VIEWER] = "viewer",
        [USERS_MANAGER] = "manager",
        [USERS_ADMIN] = "admin",
};

const char *users_role_name(enum users_role role)
{
        switch (role) {
        case USERS_VIEWER:
        case USERS_MANAGER:
        case USERS_ADMIN:
                return role_names[role];
        }
        return "?";
}

int users_role_parse(const char *text, enum users_role *role)
{
        for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
                if (text && strcmp(text, role_names[i]) == 0) {
                        *role = (enum users_role)i;
                        return 0;
                }
        }
        return -EINVAL;
}

bool users_name_valid(const char *name)
{
        size_t len = name ? strlen(name) : 0;

        return len >= 1 && len <= USERS_NAME_MAX &&
               name[strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-")] == '\0';
}

/* Code points of a UTF-8 string: the bytes that do not continue a sequence. */
static size_t utf8_length(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

const char *users_password_weakness(const char *name, const char *password)
{
        if (utf8_length(password) < USERS_PASSWORD_MIN)
                return "a password needs at least 10 characters";
        if (strlen(password) > USERS_PASSWORD_MAX)
                return "a password has at most 1024 bytes";
        if (name && strcasecmp(password, name) == 0)
                return "a password must not be the account's name";
        return NULL;
}

/* Hashes @password into @out. Returns 0, or -ENOMEM when the KDF cannot get its memory. */
static int hash_password(const char *password, char out[crypto_pwhash_STRBYTES])
{
        if (sodium_init() < 0)
                return -EIO;
        if (crypto_pwhash_str_alg(out, password, strlen(password), USERS_OPSLIMIT, USERS_MEMLIMIT,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0)
                return -ENOMEM;
        return 0;
}

/* Runs @sql with text parameters (NULL ends them) and returns the rows it changed, or the
 * store's error for @what. */
static int change(struct store *s, const char *what, const char *sql, const char *const *params)
{
        sqlite3 *db = store_db(s);
        sqlite3_stmt *st = NULL;
        int r;

        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                return store_error(s, what);
        for (int i = 0; params[i]; i++)
                sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
        r = sqlite3_step(st);
        sqlite3_finalize(st);
        if (r != SQLITE_DONE)
                return sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY
                               ? -EEXIST
                               : store_error(s, what);
        return sqlite3_changes(db);
}

int users_add(struct store *s, const char *name, enum users_role role, const char *language,
              const char *password, int64_t now_ms)
{
        char hash[crypto_pwhash_STRBYTES], created[24];
        int r;

        if (!language)
                language = "vi";
        if (!users_name_valid(name) || (strcmp(language, "vi") != 0 && strcmp(language, "en") != 0))
                return -EINVAL;
        if (users_password_weakness(name, password))
                return -EKEYREJECTED;
        r = hash_password(password, hash);
        if (r < 0)
                return r;
        snprintf(created, sizeof(created), "%lld", (long long)now_ms);
        r = change(
                s, "adding a desk account",
                "INSERT INTO desk_user (name, role, password_hash, created_at, language) "
                "VALUES (?1, ?2, ?3, CAST(?4 AS INTEGER), ?5)",
                (const char *const[]){name, users_role_name(role), hash, created, language, NULL});
        sodium_memzero(hash, sizeof(hash));
        return r < 0 ? r : 0;
}

int users_set_password(struct store *s, const char *name, const char *password)
{
        char hash[crypto_pwhash_STRBYTES];
        int r;

        if (!users_name_valid(name))
                return -ENOENT;
        if (users_password_weakness(name, password))
                return -EKEYREJECTED;
        r = hash_password(password, hash);
        if (r < 0)
                return r;
        r = change(s, "changing a desk password",
                   "UPDATE desk_user SET password_hash = ?2 WHERE name = ?1",
                   (const char *const[]){name, hash, NULL});
        sodium_memzero(hash, sizeof(hash));
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int users_set_role(struct store *s, const char *name, enum users_role role)
{
        int r = change(s, "changing a desk role", "UPDATE desk_user SET role = ?2 WHERE name = ?1",
                       (const char *const[]){name, users_role_name(role), NULL});

        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int users_disable(struct store *s, const char *name)
{
        int r = change(s, "disabling a desk account",
                       "UPDATE desk_user SET disabled = 1 WHERE name = ?1",
                       (const char *const[]){name, NULL});

        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int users_list(struct store *s, sqlite3_stmt **st)
{
        static const char sql[] =
                "SELECT name, role, language, "
                "CASE disabled WHEN 0 THEN 'active' ELSE 'disabled' END AS state, "
                "strftime('%Y-%m-%dT%H:%M:%SZ', created_at / 1000, 'unixepoch') AS created "
                "FROM desk_user ORDER BY name";

        if (sqlite3_prepare_v2(store_db(s), sql, -1, st, NULL) != SQLITE_OK) {
                *st = NULL;
                return store_error(s, "listing desk accounts");
        }
        return 0;
}

int users_verify(struct store *s, const char *name, const char *password, enum users_role *role)
{
        char hash[crypto_pwhash_STRBYTES] = "";
        enum users_role found_role = USERS_VIEWER;
        bool found = false, disabled = true;
        sqlite3_stmt *st = NULL;
        size_t len = strlen(password);
        int r;

        if (sodium_init() < 0)
                return -EIO;
        if (sqlite3_prepare_v2(
                    store_db(s),
                    "SELECT password_hash, role, disabled FROM desk_user WHERE name = ?1", -1, &st,
                    NULL) != SQLITE_OK)
                return store_error(s, "reading a desk account");
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
                const char *h = (const char *)sqlite3_column_text(st, 0);

                found = h && strlen(h) < sizeof(hash) &&
                        users_role_parse((const char *)sqlite3_column_text(st, 1), &found_role) ==
                                0;
                if (found)
                        memcpy(hash, h, strlen(h) + 1);
                disabled = sqlite3_column_int(st, 2) != 0;
        }
        sqlite3_finalize(st);
        if (r != SQLITE_ROW && r != SQLITE_DONE)
                return store_error(s, "reading a desk account");
        if (!found || len > USERS_PASSWORD_MAX) {
                /* Spend what a real check spends, so the time does not say the name is unknown. */
                r = hash_password(len > USERS_PASSWORD_MAX ? "" : password, hash);
                sodium_memzero(hash, sizeof(hash));
                return r < 0 ? r : -EACCES;
        }
        r = crypto_pwhash_str_verify(hash, password, len);
        sodium_memzero(hash, sizeof(hash));
        if (r != 0 || disabled)
                return -EACCES;
        *role = found_role;
        return 0;
}

int users_get(struct store *s, const char *name, enum users_role *role, char language[3])
{
        sqlite3_stmt *st = NULL;
        int r;

        if (sqlite3_prepare_v2(store_db(s),
                               "SELECT role, disabled, language FROM desk_user WHERE name = ?1", -1,
                               &st, NULL) != SQLITE_OK)
                return store_error(s, "reading a desk account");
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE) {
                r = -ENOENT;
        } else if (r != SQLITE_ROW) {
                r = store_error(s, "reading a desk account");
        } else if (sqlite3_column_int(st, 1) != 0) {
                r = -EACCES;
        } else if (users_role_parse((const char *)sqlite3_column_text(st, 0), role) < 0) {
                r = -EIO;
        } else {
                snprintf(language, 3, "%s",
                         strcmp((const char *)sqlite3_column_text(st, 2), "en") == 0 ? "en" : "vi");
                r = 0;
        }
        sqlite3_finalize(st);
        return r;
}
