/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * users: the security desk's accounts in the store (table desk_user, docs/desk.md). Each has a
 * name, a role, a language and a password kept only as an argon2id hash (libsodium's
 * crypto_pwhash_str, OPSLIMIT/MEMLIMIT_INTERACTIVE; schema/006_users.sql says why). There is no
 * default account.
 *
 * Passwords are NUL-terminated strings the caller owns and wipes. Every function returns 0 or a
 * negative errno and says nothing, except that SQLite failures are logged by the store
 * (store_error()); the caller says what went wrong.
 */
#ifndef FIREGATE_USERS_H
#define FIREGATE_USERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "store.h"

#define USERS_NAME_MAX     32   /* [a-z0-9._-]{1,32} */
#define USERS_PASSWORD_MIN 10   /* characters (UTF-8 code points) */
#define USERS_PASSWORD_MAX 1024 /* bytes */

/* What an account may do; session_may() says which actions each role has. */
enum users_role {
        USERS_VIEWER,  /* sees */
        USERS_MANAGER, /* also acknowledges, silences, resets */
        USERS_ADMIN,   /* also manages the accounts */
};

/* The role's name in the store and on the command line ("viewer", "manager", "admin"). */
const char *users_role_name(enum users_role role);

/* Parses a role's name. Returns 0 and sets *@role, or -EINVAL. */
int users_role_parse(const char *text, enum users_role *role);

/* Whether @name is an account name: 1 to 32 of a-z 0-9 . _ - */
bool users_name_valid(const char *name);

/* Why @password is too weak for account @name (a sentence), or NULL when it will do: it needs
 * USERS_PASSWORD_MIN characters, at most USERS_PASSWORD_MAX bytes, and must not be the name. */
const char *users_password_weakness(const char *name, const char *password);

/* Adds account @name with @role, @language ("vi" or "en"; NULL for "vi") and @password, created
 * at @now_ms (UTC milliseconds). Returns 0, or -EINVAL for a name or language that is not
 * allowed, -EKEYREJECTED for a weak password (users_password_weakness() says why), -EEXIST when
 * the name is taken (disabled accounts too), -ENOMEM when the KDF cannot get its memory, or the
 * store's error. */
int users_add(struct store *s, const char *name, enum users_role role, const char *language,
              const char *password, int64_t now_ms);

/* Replaces @name's password. Returns 0, -EKEYREJECTED, -ENOENT for no such account, -ENOMEM, or
 * the store's error. */
int users_set_password(struct store *s, const char *name, const char *password);

/* Changes @name's role. Returns 0, -ENOENT, or the store's error. */
int users_set_role(struct store *s, const char *name, enum users_role role);

/* Disables @name: it can no longer log in; the row stays, so the name is never reused by someone
 * else. Returns 0 (also when it was disabled already), -ENOENT, or the store's error. */
int users_disable(struct store *s, const char *name);

/* A statement listing the accounts by name, columns name, role, language, state ("active" or
 * "disabled") and created (ISO 8601 UTC); never the hash. The caller steps and finalizes it.
 * Returns 0 and sets *@st, or the store's error. */
int users_list(struct store *s, sqlite3_stmt **st);

/* Checks @password for @name. Returns 0 and sets *@role, or -EACCES for a wrong password, an
 * unknown name or a disabled account alike, so that a login page cannot tell them apart; each
 * takes one KDF run, so neither can the time it takes. -ENOMEM or the store's error otherwise. */
int users_verify(struct store *s, const char *name, const char *password, enum users_role *role);

/* The account @name as it is now: its role and @language ("vi" or "en"). The desk asks on every
 * request, so a role taken away or an account disabled counts at once, not at the next login.
 * Returns 0, -ENOENT for no such account, -EACCES for a disabled one, or the store's error. */
int users_get(struct store *s, const char *name, enum users_role *role, char language[3]);

#endif
