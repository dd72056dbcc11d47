/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_session: what the desk's page server keeps about who is logged in (gateway/session.h),
 * driven by a stream of requests as the server makes them: logins that succeed or fail from
 * some address, session cookies presented (real ones, stale ones, forged ones), CSRF tokens,
 * logouts, and the monotonic clock moving on. A table of 4 sessions and a limiter of 4 names
 * and addresses, fresh per input, so eviction and forgetting are reached quickly.
 *
 * Input: a sequence of operations, each one byte (its low 3 bits say which) followed by its
 * arguments: a byte, or a string up to NUL (at most 80 bytes). Session ids are random, so an
 * input names a session it created by its index; forged ids and tokens come from the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "session.h"

#define TABLE_MAX  4
#define KEPT_MAX   8
#define STRING_MAX 80
#define OPS_MAX    64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
        const uint8_t *data;
        size_t size, pos;
        struct session_table *table;
        struct session_limiter *limiter;
        int64_t now;
        /* The ids and CSRF tokens of sessions created so far, oldest first. */
        char ids[KEPT_MAX][SESSION_TOKEN_LEN + 1], csrfs[KEPT_MAX][SESSION_TOKEN_LEN + 1];
        size_t kept;
};

static uint8_t next_byte(struct run *r)
{
        return r->pos < r->size ? r->data[r->pos++] : 0;
}

/* The next string of the input, NUL-terminated in @buf. */
static const char *next_string(struct run *r, char buf[STRING_MAX + 1])
{
        size_t n = 0;

        while (r->pos < r->size && n < STRING_MAX && r->data[r->pos] != '\0')
                buf[n++] = (char)r->data[r->pos++];
        if (r->pos < r->size && r->data[r->pos] == '\0')
                r->pos++;
        buf[n] = '\0';
        return buf;
}

static const char *kept_id(struct run *r, uint8_t which)
{
        return r->kept ? r->ids[which % r->kept] : "";
}

static void check_session(struct run *r, const struct session *s, const char *id)
{
        char buf[STRING_MAX + 1];

        fuzz_check(strcmp(session_id(s), id) == 0, "a session found by its id has that id");
        fuzz_check(strlen(session_csrf(s)) == SESSION_TOKEN_LEN, "a CSRF token of its length");
        fuzz_check(users_name_valid(session_user(s)), "a session's user is an account name");
        fuzz_check(session_csrf_ok(s, session_csrf(s)), "its own CSRF token is good");
        fuzz_check(!session_csrf_ok(s, NULL), "no CSRF token is not good");
        session_csrf_ok(s, next_string(r, buf));
        fuzz_check(session_max_age_s(r->table, s, r->now) <= SESSION_ABSOLUTE_MS / 1000,
                   "a session lives at most its absolute lifetime");
        session_may(session_role(s), (enum session_action)(next_byte(r) % 3));
}

static void create(struct run *r)
{
        char user[STRING_MAX + 1], cookie[256];
        enum users_role role = (enum users_role)(next_byte(r) % 3);
        struct session *s = NULL;
        size_t size = 1 + next_byte(r);
        int q = session_create(r->table, next_string(r, user), role, r->now, &s);

        fuzz_check(q == 0 || q == -EINVAL, "session_create: 0 or -EINVAL");
        fuzz_check(q == 0 || !users_name_valid(user), "a valid name gets a session");
        if (q < 0)
                return;
        fuzz_check(strlen(session_id(s)) == SESSION_TOKEN_LEN, "an id of its length");
        fuzz_check(strcmp(session_user(s), user) == 0 && session_role(s) == role,
                   "the session is the account's");
        if (r->kept == KEPT_MAX) {
                memmove(r->ids[0], r->ids[1], sizeof(r->ids[0]) * (KEPT_MAX - 1));
                memmove(r->csrfs[0], r->csrfs[1], sizeof(r->csrfs[0]) * (KEPT_MAX - 1));
                r->kept--;
        }
        memcpy(r->ids[r->kept], session_id(s), sizeof(r->ids[0]));
        memcpy(r->csrfs[r->kept], session_csrf(s), sizeof(r->csrfs[0]));
        r->kept++;
        q = session_cookie(cookie, size, session_id(s), session_max_age_s(r->table, s, r->now));
        fuzz_check(q == 0 || (q == -ENOBUFS && size < 128), "a session's cookie fits 128 bytes");
        fuzz_check(q != 0 || strlen(cookie) < size, "a cookie within its buffer");
}

static void lookup(struct run *r, bool forged)
{
        char buf[STRING_MAX + 1];
        const char *id = forged ? next_string(r, buf) : kept_id(r, next_byte(r));
        struct session *s = session_lookup(r->table, id, r->now);

        if (s)
                check_session(r, s, id);
}

static void destroy(struct run *r, bool forged)
{
        char buf[STRING_MAX + 1];
        const char *id = forged ? next_string(r, buf) : kept_id(r, next_byte(r));
        int q = session_destroy(r->table, id);

        fuzz_check(q == 0 || q == -ENOENT, "session_destroy: 0 or -ENOENT");
        fuzz_check(!session_lookup(r->table, id, r->now), "a destroyed session is gone");
}

/* The clock moves on by up to 65535 units of 1 ms, 1 s, 1 min or 15 min. */
static void advance(struct run *r)
{
        static const int64_t units[] = {1, 1000, 60 * 1000, 15 * 60 * 1000};
        uint8_t unit = next_byte(r), high = next_byte(r), low = next_byte(r);
        int64_t n = (int64_t)high << 8 | low;

        r->now += n * units[unit % 4];
}

static void login(struct run *r)
{
        char user[STRING_MAX + 1], address[STRING_MAX + 1];
        uint8_t outcome = next_byte(r);
        int64_t wait;

        next_string(r, user);
        next_string(r, address);
        wait = session_login_wait(r->limiter, user, address, r->now);
        fuzz_check(wait >= 0 && wait <= SESSION_LOGIN_MAX_MS, "a login waits 0 .. 60 s");
        if (outcome & 1)
                session_login_failed(r->limiter, user, address, r->now);
        else
                session_login_succeeded(r->limiter, user, address);
}

static void cookie(struct run *r)
{
        char id[STRING_MAX + 1], buf[256];
        size_t size = 1 + next_byte(r);
        int64_t max_age = ((int64_t)next_byte(r) << 24) - (1 << 30);
        int q = session_cookie(buf, size, next_string(r, id), max_age);

        fuzz_check(q == 0 || q == -EINVAL || q == -ENOBUFS,
                   "session_cookie: an errno it documents");
        fuzz_check(q != 0 || strlen(buf) < size, "a cookie within its buffer");
        fuzz_check(session_count(r->table, r->now) <= TABLE_MAX, "at most the table's sessions");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct run r = {.data = data, .size = size, .now = 1000};

        r.table = session_table_new(TABLE_MAX, SESSION_IDLE_MS, SESSION_ABSOLUTE_MS);
        r.limiter = session_limiter_new(TABLE_MAX);
        if (!r.table || !r.limiter)
                abort();
        for (int n = 0; n < OPS_MAX && r.pos < r.size; n++) {
                switch (next_byte(&r) & 7) {
                case 0:
                        create(&r);
                        break;
                case 1:
                        lookup(&r, false);
                        break;
                case 2:
                        lookup(&r, true);
                        break;
                case 3:
                        destroy(&r, false);
                        break;
                case 4:
                        destroy(&r, true);
                        break;
                case 5:
                        advance(&r);
                        break;
                case 6:
                        login(&r);
                        break;
                case 7:
                        cookie(&r);
                        break;
                }
        }
        session_limiter_free(r.limiter);
        session_table_free(r.table);
        return 0;
}
