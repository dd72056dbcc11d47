/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * session: what the desk's web process keeps in memory about who is logged in: the sessions
 * (random 256-bit ids, an idle timeout and an absolute lifetime, a CSRF token each), the login
 * rate limiter (per account name and per client address), which role may do what, and the
 * session cookie's attributes. Pure logic: every function that needs the time takes it (@now_ms,
 * milliseconds on CLOCK_MONOTONIC), so it can be tested without sleeping; nothing here is global.
 */
#ifndef FIREGATE_SESSION_H
#define FIREGATE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "users.h"

#define SESSION_IDLE_MS     (30LL * 60 * 1000)      /* default idle timeout: 30 min */
#define SESSION_ABSOLUTE_MS (12LL * 60 * 60 * 1000) /* default absolute lifetime: 12 h */
#define SESSION_TOKEN_LEN   43 /* 32 random bytes in base64url without padding */
/* The __Host- prefix makes browsers refuse the cookie unless it is Secure, has Path=/ and no
 * Domain, so no other host and no plain-HTTP page can set it. */
#define SESSION_COOKIE_NAME "__Host-firegate"

/* --- sessions --- */

struct session_table;
struct session;

/* A table of at most @max sessions, each ending @idle_ms after its last use or @absolute_ms
 * after its creation, whichever comes first. Returns NULL when out of memory. */
struct session_table *session_table_new(size_t max, int64_t idle_ms, int64_t absolute_ms);

/* Frees @t and wipes its ids and tokens; NULL is a no-op. */
void session_table_free(struct session_table *t);

/* Starts a session for account @user with @role. When the table is full, expired sessions go
 * first, then the one unused the longest (a guard must always be able to log in during a fire).
 * Returns 0 and sets *@out (owned by @t, valid until the session ends or the next
 * session_create()), or -EINVAL for a name that is not an account's, or the errno of the random
 * source. */
int session_create(struct session_table *t, const char *user, enum users_role role, int64_t now_ms,
                   struct session **out);

/* The live session with id @id (compared in constant time), its idle clock restarted; NULL when
 * there is none or it has expired (an expired session is removed). */
struct session *session_lookup(struct session_table *t, const char *id, int64_t now_ms);

/* Ends the session with id @id (logout). Returns 0, or -ENOENT when there was none. */
int session_destroy(struct session_table *t, const char *id);

/* The number of live sessions at @now_ms. */
size_t session_count(struct session_table *t, int64_t now_ms);

/* A session's id (the cookie's value), account, role, and CSRF token (for the forms). */
const char *session_id(const struct session *s);
const char *session_user(const struct session *s);
enum users_role session_role(const struct session *s);
const char *session_csrf(const struct session *s);

/* Whether @token (from a form or header; NULL is not) is @s's CSRF token, in constant time. */
bool session_csrf_ok(const struct session *s, const char *token);

/* The seconds left until @s ends by its absolute lifetime (the cookie's Max-Age). */
int64_t session_max_age_s(const struct session_table *t, const struct session *s, int64_t now_ms);

/* --- login rate limiter --- */

#define SESSION_LOGIN_FREE     3                  /* failures before any delay */
#define SESSION_LOGIN_DELAY_MS 1000LL             /* the first delay; doubles each failure */
#define SESSION_LOGIN_MAX_MS   (60LL * 1000)      /* the longest delay */
#define SESSION_LOGIN_FORGET   (15LL * 60 * 1000) /* failures forgotten after this */

struct session_limiter;

/* A limiter that remembers at most @max account names and @max client addresses (the oldest is
 * forgotten first). Returns NULL when out of memory. */
struct session_limiter *session_limiter_new(size_t max);

/* Frees @l; NULL is a no-op. */
void session_limiter_free(struct session_limiter *l);

/* Milliseconds before a login for @user from @address may be tried (0: now). After
 * SESSION_LOGIN_FREE failures in a row of either, each failure waits twice as long as the one
 * before: 1 s, 2 s, 4 s ... up to 60 s, counted from the last failure. A refused attempt (one
 * that came too early) is not counted, and need not be checked against the password. */
int64_t session_login_wait(struct session_limiter *l, const char *user, const char *address,
                           int64_t now_ms);

/* Records a failed login for @user from @address. */
void session_login_failed(struct session_limiter *l, const char *user, const char *address,
                          int64_t now_ms);

/* Forgets the failures of @user and of @address after a login that succeeded. */
void session_login_succeeded(struct session_limiter *l, const char *user, const char *address);

/* --- roles --- */

enum session_action {
        SESSION_VIEW,         /* "view": the page, incidents, status */
        SESSION_ACT,          /* "act": acknowledge, silence, reset */
        SESSION_MANAGE_USERS, /* "manage-users": accounts */
};

/* Whether @role may do @action: viewers view, managers also act, admins also manage users. */
bool session_may(enum users_role role, enum session_action action);

/* --- the cookie --- */

/* Writes the Set-Cookie header value for session id @id (HttpOnly; Secure; SameSite=Strict;
 * Path=/; Max-Age=@max_age_s) into @buf of @size bytes; an empty @id with @max_age_s 0 clears the
 * cookie (logout). Returns 0, or -EINVAL for an id that is not a token, or -ENOBUFS. */
int session_cookie(char *buf, size_t size, const char *id, int64_t max_age_s);

#endif
