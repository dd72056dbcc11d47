/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * session: the web process's sessions and login limiter, in fixed tables made once, so a flood
 * of requests cannot make it allocate. A session id and a CSRF token are 32 bytes from the
 * kernel (crypto_random) in base64url; an id is looked up by comparing it with every slot in
 * constant time, so the time a lookup takes does not tell how much of a guess was right.
 */
#include <errno.h>
/* Not <sodium.h>: its crypto_sign() would clash with ours (crypto.h). */
#include <sodium/core.h>
#include <sodium/utils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "session.h"

#define TOKEN_BYTES 32
#define KEY_MAX     64 /* an account name or a client address (INET6_ADDRSTRLEN is 46) */

static const char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct session {
        bool live;
        char id[SESSION_TOKEN_LEN + 1];
        char csrf[SESSION_TOKEN_LEN + 1];
        char user[USERS_NAME_MAX + 1];
        enum users_role role;
        int64_t created_ms, used_ms;
};

struct session_table {
        size_t max;
        int64_t idle_ms, absolute_ms;
        struct session slot[];
};

static int new_token(char out[SESSION_TOKEN_LEN + 1])
{
        unsigned char bin[TOKEN_BYTES];
        int r = crypto_random(bin, sizeof(bin));

        if (r < 0)
                return r;
        sodium_bin2base64(out, SESSION_TOKEN_LEN + 1, bin, sizeof(bin),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(bin, sizeof(bin));
        return 0;
}

static bool is_token(const char *s)
{
        return s && strlen(s) == SESSION_TOKEN_LEN && s[strspn(s, base64url)] == '\0';
}

static bool expired(const struct session_table *t, const struct session *s, int64_t now_ms)
{
        return now_ms - s->used_ms >= t->idle_ms || now_ms - s->created_ms >= t->absolute_ms;
}

static void end(struct session *s)
{
        sodium_memzero(s, sizeof(*s));
}

struct session_table *session_table_new(size_t max, int64_t idle_ms, int64_t absolute_ms)
{
        struct session_table *t;

        if (max == 0 || sodium_init() < 0)
                return NULL;
        t = calloc(1, sizeof(*t) + max * sizeof(t->slot[0]));
        if (!t)
                return NULL;
        t->max = max;
        t->idle_ms = idle_ms;
        t->absolute_ms = absolute_ms;
        return t;
}

void session_table_free(struct session_table *t)
{
        if (!t)
                return;
        sodium_memzero(t->slot, t->max * sizeof(t->slot[0]));
        free(t);
}

int session_create(struct session_table *t, const char *user, enum users_role role, int64_t now_ms,
                   struct session **out)
{
        struct session *s = NULL;
        int r;

        if (!users_name_valid(user))
                return -EINVAL;
        for (size_t i = 0; i < t->max; i++) {
                struct session *c = &t->slot[i];

                if (c->live && expired(t, c, now_ms))
                        end(c);
                if (!c->live && !s)
                        s = c;
        }
        if (!s) {
                s = &t->slot[0];
                for (size_t i = 1; i < t->max; i++)
                        if (t->slot[i].used_ms < s->used_ms)
                                s = &t->slot[i];
        }
        end(s);
        r = new_token(s->id);
        if (r == 0)
                r = new_token(s->csrf);
        if (r < 0) {
                end(s);
                return r;
        }
        memcpy(s->user, user, strlen(user) + 1);
        s->role = role;
        s->created_ms = s->used_ms = now_ms;
        s->live = true;
        *out = s;
        return 0;
}

/* The live slot whose id is @id, every slot compared in full, or NULL. */
static struct session *find(struct session_table *t, const char *id)
{
        char want[SESSION_TOKEN_LEN + 1] = "";
        struct session *found = NULL;

        if (!is_token(id))
                return NULL;
        memcpy(want, id, SESSION_TOKEN_LEN);
        for (size_t i = 0; i < t->max; i++)
                if (sodium_memcmp(t->slot[i].id, want, sizeof(want)) == 0 && t->slot[i].live)
                        found = &t->slot[i];
        return found;
}

struct session *session_lookup(struct session_table *t, const char *id, int64_t now_ms)
{
        struct session *s = find(t, id);

        if (!s)
                return NULL;
        if (expired(t, s, now_ms)) {
                end(s);
                return NULL;
        }
        s->used_ms = now_ms;
        return s;
}

int session_destroy(struct session_table *t, const char *id)
{
        struct session *s = find(t, id);

        if (!s)
                return -ENOENT;
        end(s);
        return 0;
}

size_t session_count(struct session_table *t, int64_t now_ms)
{
        size_t n = 0;

        for (size_t i = 0; i < t->max; i++)
                n += t->slot[i].live && !expired(t, &t->slot[i], now_ms);
        return n;
}

const char *session_id(const struct session *s)
{
        return s->id;
}

const char *session_user(const struct session *s)
{
        return s->user;
}

enum users_role session_role(const struct session *s)
{
        return s->role;
}

const char *session_csrf(const struct session *s)
{
        return s->csrf;
}

bool session_csrf_ok(const struct session *s, const char *token)
{
        char got[SESSION_TOKEN_LEN + 1] = "";

        /* The length is no secret: every token has the same. */
        if (!is_token(token))
                return false;
        memcpy(got, token, SESSION_TOKEN_LEN);
        return sodium_memcmp(got, s->csrf, sizeof(got)) == 0;
}

int64_t session_max_age_s(const struct session_table *t, const struct session *s, int64_t now_ms)
{
        int64_t left = s->created_ms + t->absolute_ms - now_ms;

        return left > 0 ? left / 1000 : 0;
}

/* --- login rate limiter --- */

struct attempts {
        char key[KEY_MAX];
        unsigned failures;
        int64_t last_ms;
};

struct session_limiter {
        size_t max;
        struct attempts *users, *addresses;
};

struct session_limiter *session_limiter_new(size_t max)
{
        struct session_limiter *l = calloc(1, sizeof(*l));

        if (!l || max == 0)
                goto err_free;
        l->max = max;
        l->users = calloc(max, sizeof(l->users[0]));
        l->addresses = calloc(max, sizeof(l->addresses[0]));
        if (!l->users || !l->addresses)
                goto err_free;
        return l;
err_free:
        session_limiter_free(l);
        return NULL;
}

void session_limiter_free(struct session_limiter *l)
{
        if (!l)
                return;
        free(l->users);
        free(l->addresses);
        free(l);
}

static bool forgotten(const struct attempts *a, int64_t now_ms)
{
        return a->failures == 0 || now_ms - a->last_ms >= SESSION_LOGIN_FORGET;
}

/* The entry of @key (truncated to KEY_MAX - 1 bytes), or NULL. */
static struct attempts *lookup(struct attempts *tab, size_t max, const char *key)
{
        if (!key || !*key)
                return NULL;
        for (size_t i = 0; i < max; i++)
                if (tab[i].failures && strncmp(tab[i].key, key, KEY_MAX - 1) == 0)
                        return &tab[i];
        return NULL;
}

static int64_t wait_of(const struct attempts *a, int64_t now_ms)
{
        int64_t delay = SESSION_LOGIN_MAX_MS, left;
        unsigned over;

        if (!a || forgotten(a, now_ms) || a->failures < SESSION_LOGIN_FREE)
                return 0;
        over = a->failures - SESSION_LOGIN_FREE;
        if (over < 16)
                delay = SESSION_LOGIN_DELAY_MS << over;
        if (delay > SESSION_LOGIN_MAX_MS)
                delay = SESSION_LOGIN_MAX_MS;
        left = a->last_ms + delay - now_ms;
        return left > 0 ? left : 0;
}

int64_t session_login_wait(struct session_limiter *l, const char *user, const char *address,
                           int64_t now_ms)
{
        int64_t u = wait_of(lookup(l->users, l->max, user), now_ms);
        int64_t a = wait_of(lookup(l->addresses, l->max, address), now_ms);

        return u > a ? u : a;
}

static void fail(struct attempts *tab, size_t max, const char *key, int64_t now_ms)
{
        struct attempts *a = lookup(tab, max, key);

        if (!key || !*key)
                return;
        if (!a) {
                /* A free slot, else one forgotten, else the one that failed longest ago. */
                a = &tab[0];
                for (size_t i = 0; i < max; i++) {
                        if (forgotten(&tab[i], now_ms)) {
                                a = &tab[i];
                                break;
                        }
                        if (tab[i].last_ms < a->last_ms)
                                a = &tab[i];
                }
                memset(a, 0, sizeof(*a));
                snprintf(a->key, sizeof(a->key), "%s", key);
        } else if (forgotten(a, now_ms)) {
                a->failures = 0;
        }
        a->failures++;
        a->last_ms = now_ms;
}

void session_login_failed(struct session_limiter *l, const char *user, const char *address,
                          int64_t now_ms)
{
        fail(l->users, l->max, user, now_ms);
        fail(l->addresses, l->max, address, now_ms);
}

void session_login_succeeded(struct session_limiter *l, const char *user, const char *address)
{
        struct attempts *a = lookup(l->users, l->max, user);

        if (a)
                memset(a, 0, sizeof(*a));
        a = lookup(l->addresses, l->max, address);
        if (a)
                memset(a, 0, sizeof(*a));
}

/* --- roles and the cookie --- */

bool session_may(enum users_role role, enum session_action action)
{
        switch (action) {
        case SESSION_VIEW:
                return role == USERS_VIEWER || role == USERS_MANAGER || role == USERS_ADMIN;
        case SESSION_ACT:
                return role == USERS_MANAGER || role == USERS_ADMIN;
        case SESSION_MANAGE_USERS:
                return role == USERS_ADMIN;
        }
        return false;
}

int session_cookie(char *buf, size_t size, const char *id, int64_t max_age_s)
{
        int n;

        if (!id || (*id && !is_token(id)))
                return -EINVAL;
        if (max_age_s < 0 || !*id)
                max_age_s = 0;
        n = snprintf(buf, size, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; Secure; SameSite=Strict",
                     SESSION_COOKIE_NAME, id, (long long)max_age_s);
        return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}
