/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desk's HTTP server. Everything runs on the one loop: libmicrohttpd's callbacks, an
 * inotify watch on the store's directory that says when the daemon commits (PRAGMA
 * data_version then tells whether anything changed), the daemon's status, and the live
 * streams, which are suspended connections resumed when there is something to send. While no
 * page is open, nothing runs but libmicrohttpd's socket: the process does not wake at all. Requests
 * come from the network: every one is bounded (body size, field lengths, connection counts) and
 * answered with a status and a sentence, never a crash.
 */
#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <time.h>

#include "control.h"
#include "fileio.h"
#include "incident.h"
#include "log.h"
#include "report.h"
#include "session.h"
#include "table.h"
#include "users.h"
#include "wallclock.h"
#include "web_request.h"
#include "web_state.h"

/* How often the store is checked for commits while a page is open, when inotify cannot say. */
#define POLL_US           (200 * 1000ULL)
#define STATUS_MAX_AGE_US (2 * 1000000ULL) /* the daemon's status is asked this often */
/* A write is seen when it starts, before the commit ends (and inotify merges the commit's other
 * writes into that one event): the store is then looked at every HOT_POLL_US for HOT_US, which
 * covers a slow card's fsync. */
#define HOT_POLL_US (10 * 1000ULL)
#define HOT_US      (1000 * 1000ULL)
/* sd-event may defer a timer by up to 250 ms unless told otherwise: that would be most of the
 * second a new alarm has to reach the page. */
#define TIMER_ACCURACY_US  1000ULL
#define KEEPALIVE_US       (15 * 1000000ULL) /* a comment on every live stream */
#define SESSIONS_MAX       64
#define LIMITER_MAX        256
#define CONNECTIONS_MAX    128
#define CONNECTIONS_PER_IP 32
#define CONNECTION_TIMEOUT 60                /* s without traffic; live streams send every 15 */
#define STREAM_BACKLOG_MAX (4 * 1024 * 1024) /* a client this far behind is cut off */
#define PAGE_FILE_MAX      (2 * 1024 * 1024)
#define TEXT_FIELD_MAX     48
#define HISTORY_LIMIT_MAX  1000
#define HISTORY_LIMIT      200

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; media-src 'self'; "
                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct page_file {
        const char *path; /* in the URL */
        const char *name; /* under [web] root */
        const char *type;
        char *data;
        size_t len;
};

/* A live stream (GET /api/events): what is still to be sent, and whether the connection is
 * parked until there is more. */
struct stream {
        struct stream *next, **prev;
        struct web *w;
        struct MHD_Connection *conn;
        char session[SESSION_TOKEN_LEN + 1];
        char user[USERS_NAME_MAX + 1];
        char *buf;
        size_t len, sent;
        bool suspended, ending;
};

/* Per request: its body, kept until the last call of the handler. */
struct request {
        char body[WEB_BODY_MAX];
        size_t len;
        bool too_big;
};

struct web {
        sd_event *event;
        const struct config *config;
        struct store *store;
        struct MHD_Daemon *mhd;
        sd_event_source *io, *mhd_timer, *poll, *keepalive;
        sd_event_source *watch; /* the store's directory; NULL: polled every POLL_US */
        char db_name[256];      /* the store's file name, in that directory */
        uint64_t hot_until;     /* CLOCK_MONOTONIC µs: looked at every HOT_POLL_US until then */
        struct session_table *sessions;
        struct session_limiter *limiter;
        struct page_file files[4];
        char control[256];
        char *cert, *key;
        size_t cert_len, key_len;
        bool tls;
        bool in_mhd; /* inside MHD_run: no resuming + running from a callback */
        sqlite3_stmt *data_version;
        long long version;
        json_t *status;     /* the daemon's last status document; NULL: no answer */
        uint64_t status_at; /* CLOCK_MONOTONIC µs of that answer (or of its failure) */
        char *state;        /* the last state sent, without "now" */
        struct stream *streams;
};

/* The session clock: milliseconds on CLOCK_MONOTONIC, as session.h wants. */
static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- responses --- */

static void add_headers(struct web *w, struct MHD_Response *resp, bool cacheable)
{
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        MHD_add_response_header(resp, "Cache-Control", cacheable ? "no-cache" : "no-store");
        if (w->tls)
                MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

/* Queues @resp with @status and drops this code's reference. */
static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *resp)
{
        enum MHD_Result r;

        if (!resp)
                return MHD_NO;
        r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

/* Queues @len bytes of @text (allocated; taken, also on failure) as @type with @status, and
 * one more header @header: @value when @header is not NULL. */
static enum MHD_Result reply_text(struct web *w, struct MHD_Connection *conn, unsigned status,
                                  char *text, size_t len, const char *type, const char *header,
                                  const char *value)
{
        struct MHD_Response *resp =
                text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;

        if (!resp) {
                free(text);
                return MHD_NO;
        }
        add_headers(w, resp, false);
        MHD_add_response_header(resp, "Content-Type", type);
        if (header)
                MHD_add_response_header(resp, header, value);
        return queue(conn, status, resp);
}

/* A JSON answer; takes @body. @cookie, when not NULL, is a Set-Cookie value. */
static enum MHD_Result reply_json(struct web *w, struct MHD_Connection *conn, unsigned status,
                                  json_t *body, const char *cookie)
{
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

        json_decref(body);
        return reply_text(w, conn, status, text, text ? strlen(text) : 0, "application/json",
                          cookie ? "Set-Cookie" : NULL, cookie);
}

static enum MHD_Result reply_error(struct web *w, struct MHD_Connection *conn, unsigned status,
                                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result reply_error(struct web *w, struct MHD_Connection *conn, unsigned status,
                                   const char *fmt, ...)
{
        char text[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        return reply_json(w, conn, status, json_pack("{s:s}", "error", text), NULL);
}

/* --- the client, its session and its account --- */

static void client_address(struct MHD_Connection *conn, char *out, size_t size)
{
        const union MHD_ConnectionInfo *info =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = info ? info->client_addr : NULL;

        snprintf(out, size, "0.0.0.0");
        if (sa && sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                          (socklen_t)size);
        else if (sa && sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                          (socklen_t)size);
}

/* Who is asking: the live session of the request's cookie, whose account still exists, is
 * still enabled, and has the role it has now (a role taken away counts at once). NULL when
 * there is none; a session whose account went is ended. */
struct who {
        struct session *session;
        enum users_role role;
        char language[3];
        char address[INET6_ADDRSTRLEN];
};

static bool who_is(struct web *w, struct MHD_Connection *conn, struct who *who)
{
        const char *id = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, SESSION_COOKIE_NAME);
        struct session *s = id ? session_lookup(w->sessions, id, mono_ms()) : NULL;

        client_address(conn, who->address, sizeof(who->address));
        who->session = NULL;
        if (!s)
                return false;
        if (users_get(w->store, session_user(s), &who->role, who->language) < 0) {
                log_notice("web: %s's session ended: the account is gone or disabled",
                           session_user(s));
                session_destroy(w->sessions, id);
                return false;
        }
        who->session = s;
        return true;
}

static json_t *me_json(struct web *w, const struct who *who)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I}", "user", session_user(who->session),
                         "role", users_role_name(who->role), "language", who->language, "csrf",
                         session_csrf(who->session), "may_act", session_may(who->role, SESSION_ACT),
                         "expires_in_s",
                         (json_int_t)session_max_age_s(w->sessions, who->session, mono_ms()));
}

/* The CSRF token of an action: the X-CSRF-Token header, else the csrf field. */
static bool csrf_ok(struct MHD_Connection *conn, const struct request *req, const struct session *s)
{
        const char *header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
        char field[SESSION_TOKEN_LEN + 2];

        if (header)
                return session_csrf_ok(s, header);
        if (web_form_field(req->body, req->len, "csrf", field, sizeof(field)) < 0)
                return false;
        return session_csrf_ok(s, field);
}

/* Passes "desk USER ADDRESS REQUEST" to the daemon. Returns 0 with its reply (the caller frees
 * it), or the errno of control_call(). */
static int desk_call(struct web *w, const struct who *who, const char *request, char **reply)
{
        char *line = NULL;
        int n = asprintf(&line, "%s %s %s", session_user(who->session), who->address, request);
        int r;

        *reply = NULL;
        if (n < 0)
                return -ENOMEM;
        r = (size_t)n >= CONTROL_LINE_MAX - sizeof("desk \n")
                    ? -E2BIG
                    : control_call(w->control, "desk", line, reply);
        free(line);
        return r;
}

/* Records a look or a refusal in the daemon's chained audit log. Returns 0 when it is there. */
static int desk_audit(struct web *w, const struct who *who, const char *action, json_t *params)
{
        char *dumped = json_dumps(params, JSON_COMPACT), request[CONTROL_LINE_MAX], *reply = NULL;
        int r = -ENOMEM;

        json_decref(params);
        if (!dumped)
                goto out;
        r = -E2BIG;
        if (snprintf(request, sizeof(request), "audit %s %s", action, dumped) >=
            (int)sizeof(request))
                goto out;
        r = desk_call(w, who, request, &reply);
        if (r == 0 && strncmp(reply, "ok ", 3) != 0)
                r = -EIO;
out:
        if (r < 0)
                log_warning("web: %s by %s from %s is not in the audit log: %s", action,
                            session_user(who->session), who->address,
                            r == -EIO && reply ? reply : strerror(-r));
        free(reply);
        free(dumped);
        return r;
}

/* --- the state and the live streams --- */

static void pump(struct web *w);

static void stream_push(struct stream *c, const char *text, size_t len)
{
        char *grown;

        if (c->ending)
                return;
        if (c->len - c->sent + len > STREAM_BACKLOG_MAX) {
                log_notice("web: %s's live stream is too far behind; closed (the page reconnects)",
                           c->user);
                c->ending = true;
        } else {
                if (c->sent) {
                        memmove(c->buf, c->buf + c->sent, c->len - c->sent);
                        c->len -= c->sent;
                        c->sent = 0;
                }
                grown = realloc(c->buf, c->len + len);
                if (!grown) {
                        c->ending = true;
                } else {
                        c->buf = grown;
                        memcpy(c->buf + c->len, text, len);
                        c->len += len;
                }
        }
        if (c->suspended) {
                c->suspended = false;
                MHD_resume_connection(c->conn);
        }
}

static void stream_event(struct stream *c, const char *event, const char *data)
{
        char *text = NULL;
        int n = asprintf(&text, "event: %s\ndata: %s\n\n", event, data);

        if (n < 0) {
                c->ending = true;
                return;
        }
        stream_push(c, text, (size_t)n);
        free(text);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct stream *c = cls;
        size_t n = c->len - c->sent;

        (void)pos;
        if (n) {
                n = n < max ? n : max;
                memcpy(buf, c->buf + c->sent, n);
                c->sent += n;
                return (ssize_t)n;
        }
        if (c->ending)
                return MHD_CONTENT_READER_END_OF_STREAM;
        /* Nothing to send: park the connection until stream_push() has something. */
        c->suspended = true;
        MHD_suspend_connection(c->conn);
        return 0;
}

static void stream_free(void *cls)
{
        struct stream *c = cls;

        if (c->prev) {
                *c->prev = c->next;
                if (c->next)
                        c->next->prev = c->prev;
        }
        free(c->buf);
        sodium_memzero(c->session, sizeof(c->session));
        free(c);
}

/* The daemon's status document, or NULL when it does not answer. */
static json_t *ask_status(struct web *w)
{
        char *reply = NULL;
        json_t *doc = NULL;
        int r = control_call(w->control, "status", "all", &reply);

        if (r == 0 && strncmp(reply, "ok status\n", 10) == 0)
                doc = json_loads(reply + 10, 0, NULL);
        if (!doc)
                log_debug("web: the daemon gave no status: %s",
                          r < 0 ? strerror(-r) : "an answer that is not a status");
        free(reply);
        return doc;
}

/* Builds the state again when the store changed or the daemon's status is old (or @force),
 * and sends it to every live stream when it differs from the last one sent. */
static void refresh(struct web *w, bool force)
{
        uint64_t now;
        long long version = -1;
        json_t *state = NULL;
        char *text = NULL, *with_now = NULL;
        bool changed;

        sd_event_now(w->event, CLOCK_MONOTONIC, &now);
        sqlite3_reset(w->data_version);
        if (sqlite3_step(w->data_version) == SQLITE_ROW)
                version = sqlite3_column_int64(w->data_version, 0);
        sqlite3_reset(w->data_version);
        changed = version != w->version;
        if (!force && !changed && now - w->status_at < STATUS_MAX_AGE_US)
                return;
        w->version = version;
        if (force || changed || now - w->status_at >= STATUS_MAX_AGE_US) {
                json_decref(w->status);
                w->status = ask_status(w);
                w->status_at = now;
        }
        if (web_state_build(w->store, w->status, &state) < 0)
                return;
        json_object_set_new(state, "gateway", json_string(w->config->gateway_id));
        text = json_dumps(state, JSON_COMPACT);
        if (!text || (w->state && strcmp(text, w->state) == 0))
                goto out;
        free(w->state);
        w->state = text;
        text = NULL;
        json_object_set_new(state, "now", json_integer((json_int_t)wallclock_ms()));
        with_now = json_dumps(state, JSON_COMPACT);
        if (!with_now)
                goto out;
        for (struct stream *c = w->streams; c; c = c->next)
                stream_event(c, "state", with_now);
        pump(w);
out:
        free(with_now);
        free(text);
        json_decref(state);
}

/* The last state with the time now, for a new stream or GET /api/state. */
static char *current_state(struct web *w)
{
        json_t *state = w->state ? json_loads(w->state, 0, NULL) : NULL;
        char *text;

        if (!state)
                return NULL;
        json_object_set_new(state, "now", json_integer((json_int_t)wallclock_ms()));
        text = json_dumps(state, JSON_COMPACT);
        json_decref(state);
        return text;
}

/* The state is pushed only while a page is open: with none, the timers stop. */
static void start_timers(struct web *w)
{
        uint64_t now;

        sd_event_now(w->event, CLOCK_MONOTONIC, &now);
        if (sd_event_source_get_enabled(w->poll, NULL) == 0) {
                sd_event_source_set_time(w->poll, now + (w->watch ? STATUS_MAX_AGE_US : POLL_US));
                sd_event_source_set_enabled(w->poll, SD_EVENT_ON);
        }
        if (sd_event_source_get_enabled(w->keepalive, NULL) == 0) {
                sd_event_source_set_time(w->keepalive, now + KEEPALIVE_US);
                sd_event_source_set_enabled(w->keepalive, SD_EVENT_ON);
        }
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct web *w = userdata;

        (void)usec;
        refresh(w, false);
        if (!w->streams)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        sd_event_now(w->event, CLOCK_MONOTONIC, &usec);
        sd_event_source_set_time(s, usec + (usec < w->hot_until ? HOT_POLL_US
                                            : w->watch          ? STATUS_MAX_AGE_US
                                                                : POLL_US));
        return 0;
}

/* A write in the store's directory: the daemon commits (the database or its write-ahead log).
 * Open pages are refreshed as soon as the commit is complete (HOT_POLL_US). */
static int on_store_write(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
        struct web *w = userdata;
        size_t n = strlen(w->db_name);

        (void)s;
        if (!w->streams || !ev->len || strncmp(ev->name, w->db_name, n) != 0 ||
            (ev->name[n] != '\0' && strcmp(ev->name + n, "-wal") != 0))
                return 0;
        sd_event_now(w->event, CLOCK_MONOTONIC, &w->hot_until);
        w->hot_until += HOT_US;
        sd_event_source_set_time(w->poll, 0);
        return 0;
}

/* Every 15 s: a comment on each stream (so proxies and the client see it alive), and the end of
 * the streams whose session or account ended. A page left open counts as used: the desk's
 * screen stays live until the session's absolute end. */
static int on_keepalive(sd_event_source *s, uint64_t usec, void *userdata)
{
        static const char comment[] = ": keepalive\n\n";
        struct web *w = userdata;
        enum users_role role;
        char language[3];

        for (struct stream *c = w->streams; c; c = c->next) {
                if (!session_lookup(w->sessions, c->session, mono_ms()) ||
                    users_get(w->store, c->user, &role, language) < 0) {
                        stream_event(c, "logout", "{}");
                        c->ending = true;
                        stream_push(c, "", 0);
                } else {
                        stream_push(c, comment, sizeof(comment) - 1);
                }
        }
        pump(w);
        if (!w->streams)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        sd_event_now(w->event, CLOCK_MONOTONIC, &usec);
        sd_event_source_set_time(s, usec + KEEPALIVE_US);
        return 0;
}

/* --- handlers --- */

static enum MHD_Result serve_file(struct web *w, struct MHD_Connection *conn,
                                  const struct page_file *f)
{
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);

        if (!resp)
                return MHD_NO;
        add_headers(w, resp, true);
        MHD_add_response_header(resp, "Content-Type", f->type);
        return queue(conn, MHD_HTTP_OK, resp);
}

static enum MHD_Result login(struct web *w, struct MHD_Connection *conn, const struct request *req)
{
        char user[USERS_NAME_MAX + 2] = "", password[USERS_PASSWORD_MAX + 1] = "";
        char address[INET6_ADDRSTRLEN];
        char cookie[160];
        struct session *s = NULL;
        struct who who = {0};
        int64_t wait, now = mono_ms();
        enum MHD_Result ret;
        int r;

        client_address(conn, address, sizeof(address));
        if (web_form_field(req->body, req->len, "user", user, sizeof(user)) < 0 ||
            web_form_field(req->body, req->len, "password", password, sizeof(password)) < 0) {
                ret = reply_error(w, conn, MHD_HTTP_BAD_REQUEST,
                                  "a login needs the fields user and password");
                goto out;
        }
        wait = session_login_wait(w->limiter, user, address, now);
        if (wait > 0) {
                long long seconds = (wait + 999) / 1000;
                char retry[24], *text;
                json_t *body = json_pack("{s:s, s:I}", "error",
                                         "too many failed logins: wait before trying again",
                                         "retry_after_s", (json_int_t)seconds);

                snprintf(retry, sizeof(retry), "%lld", seconds);
                text = body ? json_dumps(body, JSON_COMPACT) : NULL;
                json_decref(body);
                ret = reply_text(w, conn, MHD_HTTP_TOO_MANY_REQUESTS, text, text ? strlen(text) : 0,
                                 "application/json", "Retry-After", retry);
                goto out;
        }
        r = users_name_valid(user) ? users_verify(w->store, user, password, &who.role) : -EACCES;
        if (r == -EACCES) {
                session_login_failed(w->limiter, users_name_valid(user) ? user : "?", address, now);
                log_notice("web: failed login as %.32s from %s",
                           users_name_valid(user) ? user : "?", address);
                ret = reply_error(w, conn, MHD_HTTP_UNAUTHORIZED, "wrong name or password");
                goto out;
        }
        if (r < 0) {
                ret = reply_error(w, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                  "the accounts cannot be read: %s", strerror(-r));
                goto out;
        }
        session_login_succeeded(w->limiter, user, address);
        r = users_get(w->store, user, &who.role, who.language);
        if (r == 0)
                r = session_create(w->sessions, user, who.role, now, &s);
        if (r == 0)
                r = session_cookie(cookie, sizeof(cookie), session_id(s),
                                   session_max_age_s(w->sessions, s, now));
        if (r < 0) {
                ret = reply_error(w, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                  "no session could be made: %s", strerror(-r));
                goto out;
        }
        who.session = s;
        snprintf(who.address, sizeof(who.address), "%s", address);
        log_info("web: %s logged in from %s as %s", user, address, users_role_name(who.role));
        desk_audit(w, &who, "login", json_pack("{s:s}", "role", users_role_name(who.role)));
        ret = reply_json(w, conn, MHD_HTTP_OK, me_json(w, &who), cookie);
out:
        sodium_memzero(password, sizeof(password));
        return ret;
}

static enum MHD_Result logout(struct web *w, struct MHD_Connection *conn, const struct request *req,
                              struct who *who)
{
        char cookie[160];

        if (!csrf_ok(conn, req, who->session))
                return reply_error(w, conn, MHD_HTTP_FORBIDDEN, "a missing or wrong CSRF token");
        log_info("web: %s logged out", session_user(who->session));
        desk_audit(w, who, "logout", json_object());
        /* The session's other pages go back to the login now, not at the next keepalive. */
        for (struct stream *c = w->streams; c; c = c->next) {
                if (strcmp(c->session, session_id(who->session)) == 0) {
                        stream_event(c, "logout", "{}");
                        c->ending = true;
                }
        }
        session_destroy(w->sessions, session_id(who->session));
        session_cookie(cookie, sizeof(cookie), "", 0);
        return reply_json(w, conn, MHD_HTTP_OK, json_object(), cookie);
}

static enum MHD_Result act(struct web *w, struct MHD_Connection *conn, const struct request *req,
                           struct who *who, const char *url)
{
        char verb[WEB_ACTION_VERB_MAX], flag[8], request[160], *reply = NULL;
        const char *text;
        bool false_alarm = false;
        enum MHD_Result ret;
        long long id;
        unsigned status;
        int r = web_action_path(url, &id, verb);

        if (r == -ENOENT)
                return reply_error(w, conn, MHD_HTTP_NOT_FOUND, "no such page");
        if (r < 0)
                return reply_error(w, conn, MHD_HTTP_BAD_REQUEST,
                                   "an action is /api/incidents/ID/acknowledge, silence or reset");
        if (!csrf_ok(conn, req, who->session))
                return reply_error(w, conn, MHD_HTTP_FORBIDDEN, "a missing or wrong CSRF token");
        if (!session_may(who->role, SESSION_ACT)) {
                log_notice("web: %s (%s) from %s may not %s; refused", session_user(who->session),
                           users_role_name(who->role), who->address, verb);
                desk_audit(w, who, "refused-action",
                           json_pack("{s:s, s:I, s:s}", "action", verb, "incident", (json_int_t)id,
                                     "role", users_role_name(who->role)));
                return reply_error(w, conn, MHD_HTTP_FORBIDDEN, "a %s may not %s",
                                   users_role_name(who->role), verb);
        }
        r = web_form_field(req->body, req->len, "false_alarm", flag, sizeof(flag));
        if (r == 0)
                false_alarm = strcmp(flag, "1") == 0;
        if ((r == 0 && strcmp(flag, "1") != 0 && strcmp(flag, "0") != 0) || (r < 0 && r != -ENOENT))
                return reply_error(w, conn, MHD_HTTP_BAD_REQUEST, "false_alarm is 0 or 1");
        if (false_alarm && strcmp(verb, "reset") != 0)
                return reply_error(w, conn, MHD_HTTP_BAD_REQUEST,
                                   "false_alarm goes with reset only");
        snprintf(request, sizeof(request), "%s %lld%s", verb, id,
                 false_alarm ? " false-alarm" : "");
        r = desk_call(w, who, request, &reply);
        if (r < 0) {
                ret = reply_error(w, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "the daemon does not answer (%s): nothing was done",
                                  strerror(-r));
                goto out;
        }
        reply[strcspn(reply, "\n")] = '\0';
        text = strchr(reply, ' ') ? strchr(reply, ' ') + 1 : reply;
        if (strncmp(reply, "ok ", 3) == 0)
                status = MHD_HTTP_OK;
        else if (strncmp(reply, "refused no open incident", 24) == 0)
                status = MHD_HTTP_NOT_FOUND;
        else if (strncmp(reply, "refused ", 8) == 0)
                status = MHD_HTTP_CONFLICT;
        else
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        log_info("web: %s from %s: %s %lld: %s", session_user(who->session), who->address, verb, id,
                 reply);
        ret = status == MHD_HTTP_OK
                      ? reply_json(w, conn, status,
                                   json_pack("{s:b, s:s}", "ok", true, "message", text), NULL)
                      : reply_error(w, conn, status, "%s", text);
        /* The state changed: look at once rather than at the next poll. */
        sd_event_source_set_time(w->poll, 0);
out:
        free(reply);
        return ret;
}

static enum MHD_Result events(struct web *w, struct MHD_Connection *conn, struct who *who)
{
        struct stream *c = calloc(1, sizeof(*c));
        struct MHD_Response *resp;
        char *state;

        if (!c)
                return MHD_NO;
        c->w = w;
        c->conn = conn;
        snprintf(c->session, sizeof(c->session), "%s", session_id(who->session));
        snprintf(c->user, sizeof(c->user), "%s", session_user(who->session));
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, c,
                                                 stream_free);
        if (!resp) {
                free(c);
                return MHD_NO;
        }
        c->next = w->streams;
        if (c->next)
                c->next->prev = &c->next;
        c->prev = &w->streams;
        w->streams = c;
        /* Nothing was watched while no page was open. */
        refresh(w, false);
        start_timers(w);
        state = current_state(w);
        stream_push(c, "retry: 2000\n\n", 13);
        if (state)
                stream_event(c, "state", state);
        free(state);
        add_headers(w, resp, false);
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        return queue(conn, MHD_HTTP_OK, resp);
}

static enum MHD_Result serve_state(struct web *w, struct MHD_Connection *conn)
{
        char *text;

        refresh(w, true);
        text = current_state(w);
        if (!text)
                return reply_error(w, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                   "the state cannot be read from the store");
        return reply_text(w, conn, MHD_HTTP_OK, text, strlen(text), "application/json", NULL, NULL);
}

static bool one_of(const char *s, const char *const *list)
{
        for (; *list; list++)
                if (strcmp(s, *list) == 0)
                        return true;
        return false;
}

/* A text filter: at most TEXT_FIELD_MAX bytes, no control characters. */
static bool text_ok(const char *s)
{
        if (strlen(s) > TEXT_FIELD_MAX)
                return false;
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static enum MHD_Result history(struct web *w, struct MHD_Connection *conn, struct who *who)
{
        static const char *const kinds[] = {"alarm", "pre_alarm", "fault", NULL};
        static const char *const states[] = {"open", "acknowledged", "silenced", "closed", NULL};
        static const char *const names[] = {"from",  "to",   "unit",  "floor", "detector",
                                            "cause", "kind", "state", "limit", "format"};
        const char *v[sizeof(names) / sizeof(names[0])];
        struct incident_filter f = {.newest_first = true, .limit = HISTORY_LIMIT};
        json_t *params = json_object(), *rows = NULL;
        sqlite3_stmt *st = NULL;
        struct table *t = NULL;
        bool csv = false;
        enum MHD_Result ret;
        long long n = 0;
        char *end;
        int rc;

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                v[i] = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, names[i]);
                if (v[i] && !*v[i])
                        v[i] = NULL;
                if (v[i] && !text_ok(v[i])) {
                        ret = reply_error(w, conn, MHD_HTTP_BAD_REQUEST,
                                          "%s: at most %d characters, no control characters",
                                          names[i], TEXT_FIELD_MAX);
                        goto out;
                }
                if (v[i])
                        json_object_set_new(params, names[i], json_string(v[i]));
        }
        if ((v[0] && report_parse_time(v[0], false, &f.from_ms) < 0) ||
            (v[1] && report_parse_time(v[1], true, &f.to_ms) < 0)) {
                ret = reply_error(w, conn, MHD_HTTP_BAD_REQUEST,
                                  "from and to are dates (2026-11-23) or ISO 8601 times");
                goto out;
        }
        f.have_from = v[0] != NULL;
        f.have_to = v[1] != NULL;
        if (f.have_from && f.have_to && f.from_ms >= f.to_ms) {
                ret = reply_error(w, conn, MHD_HTTP_BAD_REQUEST, "from must be before to");
                goto out;
        }
        f.unit = v[2];
        if (v[3]) {
                long floor = strtol(v[3], &end, 10);

                if (*end || end == v[3] || floor == 0 || floor < -20 || floor > 200) {
                        ret = reply_error(w, conn, MHD_HTTP_BAD_REQUEST,
                                          "floor '%s' is not a whole number from -20 to "
                                          "200 other than 0",
                                          v[3]);
                        goto out;
                }
                f.floor = (int)floor;
                f.have_floor = true;
        }
        f.detector = v[4];
        f.cause = v[5];
        if ((v[6] && !one_of(v[6], kinds)) || (v[7] && !one_of(v[7], states))) {
                ret = reply_error(w, conn, MHD_HTTP_BAD_REQUEST,
                                  "kind is alarm, pre_alarm or fault; state is open, "
                                  "acknowledged, silenced or closed");
                goto out;
        }
        f.kind = v[6];
        f.state = v[7];
        if (v[8]) {
                f.limit = strtoll(v[8], &end, 10);
                if (*end || end == v[8] || f.limit < 1 || f.limit > HISTORY_LIMIT_MAX) {
                        ret = reply_error(w, conn, MHD_HTTP_BAD_REQUEST,
                                          "limit is a number from 1 to %d", HISTORY_LIMIT_MAX);
                        goto out;
                }
        }
        if (v[9] && strcmp(v[9], "csv") != 0 && strcmp(v[9], "json") != 0) {
                ret = reply_error(w, conn, MHD_HTTP_BAD_REQUEST, "format is json or csv");
                goto out;
        }
        csv = v[9] && strcmp(v[9], "csv") == 0;
        /* A look at the evidence that cannot be recorded is not given (docs/evidence.md). */
        if (desk_audit(w, who, csv ? "history-csv" : "history", json_incref(params)) < 0) {
                ret = reply_error(w, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "this look at the incident log cannot be recorded (is the "
                                  "daemon running?); the live view still works");
                goto out;
        }
        f.limit += 1; /* one more row says the listing was cut */
        if (incident_list(w->store, &f, &st) < 0) {
                ret = reply_error(w, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                  "the incident log cannot be read");
                goto out;
        }
        if (csv) {
                t = table_from_stmt(st);
                if (!t) {
                        ret = MHD_NO;
                        goto out;
                }
        } else {
                rows = json_array();
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < f.limit - 1) {
                int r = 0;

                n++;
                if (t) {
                        r = table_row(t);
                        for (int c = 0; r == 0 && c < sqlite3_column_count(st); c++)
                                r = report_add_cell(t, st, c, true);
                } else if (!rows || json_array_append_new(rows, report_row_json(st)) < 0) {
                        r = -ENOMEM;
                }
                if (r < 0) {
                        ret = MHD_NO;
                        goto out;
                }
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                ret = reply_error(w, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                  "the incident log cannot be read");
                goto out;
        }
        if (t) {
                char *text = NULL;
                size_t len = 0;
                FILE *out = open_memstream(&text, &len);
                int printed = out ? table_print(t, TABLE_CSV, out) : -ENOMEM;

                if (!out || fclose(out) != 0 || printed < 0) {
                        free(text);
                        ret = MHD_NO;
                        goto out;
                }
                ret = reply_text(w, conn, MHD_HTTP_OK, text, len, "text/csv; charset=utf-8",
                                 "Content-Disposition", "attachment; filename=\"incidents.csv\"");
                goto out;
        }
        ret = reply_json(w, conn, MHD_HTTP_OK,
                         json_pack("{s:O, s:b}", "incidents", rows, "truncated", rc == SQLITE_ROW),
                         NULL);
out:
        sqlite3_finalize(st);
        table_free(t);
        json_decref(rows);
        json_decref(params);
        return ret;
}

static enum MHD_Result dispatch(struct web *w, struct MHD_Connection *conn, const char *url,
                                const char *method, const struct request *req)
{
        bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
        bool post = strcmp(method, "POST") == 0;
        struct who who;

        if (req->too_big)
                return reply_error(w, conn, MHD_HTTP_CONTENT_TOO_LARGE,
                                   "a request body is at most %d bytes", WEB_BODY_MAX);
        if (strncmp(url, "/api/", 5) != 0) {
                for (size_t i = 0; i < sizeof(w->files) / sizeof(w->files[0]); i++)
                        if (strcmp(url, w->files[i].path) == 0 ||
                            (i == 0 && strcmp(url, "/index.html") == 0))
                                return get ? serve_file(w, conn, &w->files[i])
                                           : reply_error(w, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                                         "%s is read with GET", url);
                return reply_error(w, conn, MHD_HTTP_NOT_FOUND, "no such page");
        }
        if (post && strcmp(url, "/api/login") == 0)
                return login(w, conn, req);
        if (!get && !post)
                return reply_error(w, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                   "the desk takes GET and POST only");
        if (!who_is(w, conn, &who))
                return reply_error(w, conn, MHD_HTTP_UNAUTHORIZED,
                                   "not logged in, or the session has ended");
        if (get && strcmp(url, "/api/me") == 0)
                return reply_json(w, conn, MHD_HTTP_OK, me_json(w, &who), NULL);
        if (get && strcmp(url, "/api/state") == 0)
                return serve_state(w, conn);
        if (get && strcmp(url, "/api/events") == 0)
                return events(w, conn, &who);
        if (get && strcmp(url, "/api/history") == 0)
                return history(w, conn, &who);
        if (post && strcmp(url, "/api/logout") == 0)
                return logout(w, conn, req, &who);
        if (post)
                return act(w, conn, req, &who, url);
        return reply_error(w, conn, MHD_HTTP_NOT_FOUND, "no such page");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct web *w = cls;
        struct request *req = *con_cls;

        (void)version;
        if (!req) {
                const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);

                req = calloc(1, sizeof(*req));
                if (!req)
                        return MHD_NO;
                *con_cls = req;
                /* Refused before the body is read, so a huge one is never taken in. */
                if (length && strtoull(length, NULL, 10) > WEB_BODY_MAX) {
                        req->too_big = true;
                        return reply_error(w, conn, MHD_HTTP_CONTENT_TOO_LARGE,
                                           "a request body is at most %d bytes", WEB_BODY_MAX);
                }
                return MHD_YES;
        }
        if (*upload_data_size) {
                if (!req->too_big && req->len + *upload_data_size <= sizeof(req->body)) {
                        memcpy(req->body + req->len, upload_data, *upload_data_size);
                        req->len += *upload_data_size;
                } else {
                        req->too_big = true;
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        return dispatch(w, conn, url, method, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
        struct request *req = *con_cls;

        (void)cls;
        (void)conn;
        (void)code;
        if (req) {
                /* It may have held a password. */
                sodium_memzero(req, sizeof(*req));
                free(req);
                *con_cls = NULL;
        }
}

/* What libmicrohttpd says is about one connection (a client's TLS quirk, a page closed
 * mid-stream): the network's noise, not the operator's concern. What stops the server is said
 * by web_new(). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        char text[256];

        (void)cls;
        vsnprintf(text, sizeof(text), fmt, ap);
        text[strcspn(text, "\n")] = '\0';
        log_debug("web: %s", text);
}

/* --- the loop --- */

static int on_mhd_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Lets libmicrohttpd do what is ready, then arms the timer for what it waits on. */
static void pump(struct web *w)
{
        MHD_UNSIGNED_LONG_LONG timeout;
        uint64_t now;

        if (w->in_mhd)
                return;
        w->in_mhd = true;
        MHD_run(w->mhd);
        w->in_mhd = false;
        if (MHD_get_timeout(w->mhd, &timeout) == MHD_YES) {
                sd_event_now(w->event, CLOCK_MONOTONIC, &now);
                sd_event_source_set_time(w->mhd_timer, now + (uint64_t)timeout * 1000);
                sd_event_source_set_enabled(w->mhd_timer, SD_EVENT_ONESHOT);
        } else {
                sd_event_source_set_enabled(w->mhd_timer, SD_EVENT_OFF);
        }
}

static int on_mhd_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        pump(userdata);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        (void)s;
        (void)fd;
        (void)revents;
        pump(userdata);
        return 0;
}

/* --- start and stop --- */

static int load_files(struct web *w)
{
        static const struct page_file files[] = {
                {"/", "index.html", "text/html; charset=utf-8", NULL, 0},
                {"/app.js", "app.js", "text/javascript; charset=utf-8", NULL, 0},
                {"/style.css", "style.css", "text/css; charset=utf-8", NULL, 0},
                {"/favicon.svg", "favicon.svg", "image/svg+xml", NULL, 0},
        };
        char path[512];
        int r;

        _Static_assert(sizeof(files) == sizeof(w->files), "one slot per page file");
        memcpy(w->files, files, sizeof(files));
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", w->config->web_root, files[i].name);
                r = fileio_read_all(path, PAGE_FILE_MAX, &w->files[i].data, &w->files[i].len);
                if (r < 0)
                        return log_error_errno(r,
                                               "web: cannot read the page's file %s ([web] "
                                               "root = %s)",
                                               path, w->config->web_root);
        }
        return 0;
}

static int load_tls(struct web *w)
{
        const struct config *c = w->config;
        int r;

        if (!*c->web_certfile && !*c->web_keyfile)
                return 0;
        if (!*c->web_certfile || !*c->web_keyfile)
                return log_error_errno(-EINVAL, "web: certfile and keyfile go together");
        r = fileio_read_all(c->web_certfile, 1024 * 1024, &w->cert, &w->cert_len);
        if (r < 0)
                return log_error_errno(r, "web: cannot read the certificate %s", c->web_certfile);
        r = fileio_read_all(c->web_keyfile, 1024 * 1024, &w->key, &w->key_len);
        if (r < 0)
                return log_error_errno(r, "web: cannot read the key %s", c->web_keyfile);
        w->tls = true;
        return 0;
}

/* Watches the directory rather than the files: SQLite creates the write-ahead log when the
 * first connection opens and removes it when the last one closes, so it comes and goes. */
static void watch_store(struct web *w)
{
        const char *path = sqlite3_db_filename(store_db(w->store), "main");
        char dir[PATH_MAX], base[PATH_MAX];
        int r;

        if (!path || !*path || strlen(path) >= sizeof(dir))
                return;
        snprintf(dir, sizeof(dir), "%s", path);
        snprintf(base, sizeof(base), "%s", path);
        snprintf(w->db_name, sizeof(w->db_name), "%s", basename(base));
        r = sd_event_add_inotify(w->event, &w->watch, dirname(dir),
                                 IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_ONLYDIR, on_store_write,
                                 w);
        if (r < 0)
                log_warning("web: cannot watch %s for the daemon's commits (%s): open pages look "
                            "every %llu ms instead",
                            dir, strerror(-r), (unsigned long long)(POLL_US / 1000));
}

int web_new(sd_event *event, const struct config *c, struct store *s, struct web **out)
{
        struct sockaddr_storage addr;
        socklen_t addr_len;
        struct web *w = calloc(1, sizeof(*w));
        unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        const union MHD_DaemonInfo *info;
        int r;

        if (!w)
                return log_error_errno(-ENOMEM, "web: out of memory");
        w->event = sd_event_ref(event);
        w->config = c;
        w->store = s;
        w->version = -1;
        snprintf(w->control, sizeof(w->control), "%s/%s", c->runtime_dir, CONTROL_SOCKET_NAME);
        if (web_parse_listen(c->web_listen, &addr, &addr_len) < 0) {
                r = log_error_errno(-EINVAL, "web: listen = %s is not IPv4:PORT or [IPv6]:PORT",
                                    c->web_listen);
                goto fail;
        }
        r = load_tls(w);
        if (r < 0)
                goto fail;
        if (!w->tls && !web_is_loopback((struct sockaddr *)&addr) && !c->web_insecure) {
                r = log_error_errno(-EINVAL,
                                    "web: plain HTTP on %s would send passwords and sessions in "
                                    "clear: set certfile and keyfile, or insecure = yes",
                                    c->web_listen);
                goto fail;
        }
        r = load_files(w);
        if (r < 0)
                goto fail;
        w->sessions = session_table_new(SESSIONS_MAX, SESSION_IDLE_MS, SESSION_ABSOLUTE_MS);
        w->limiter = session_limiter_new(LIMITER_MAX);
        if (!w->sessions || !w->limiter) {
                r = log_error_errno(-ENOMEM, "web: out of memory");
                goto fail;
        }
        if (sqlite3_prepare_v2(store_db(s), "PRAGMA data_version", -1, &w->data_version, NULL) !=
            SQLITE_OK) {
                r = store_error(s, "preparing the store's change counter");
                goto fail;
        }
        if (addr.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        if (w->tls)
                flags |= MHD_USE_TLS;
        {
                struct MHD_OptionItem tls[] = {
                        {MHD_OPTION_HTTPS_MEM_KEY, 0, w->key},
                        {MHD_OPTION_HTTPS_MEM_CERT, 0, w->cert},
                        {MHD_OPTION_HTTPS_PRIORITIES, 0,
                         (void *)(uintptr_t) "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
                        {MHD_OPTION_END, 0, NULL},
                };

                /* The logger first, or libmicrohttpd prints what comes before it itself. */
                w->mhd = MHD_start_daemon(
                        flags, 0, NULL, NULL, on_request, w, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
                        w, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)CONNECTIONS_PER_IP,
                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w, MHD_OPTION_ARRAY,
                        w->tls ? tls : tls + 3, MHD_OPTION_END);
        }
        if (!w->mhd) {
                r = log_error_errno(-EADDRNOTAVAIL,
                                    "web: cannot listen on %s (in use, or not an address of "
                                    "this machine)",
                                    c->web_listen);
                goto fail;
        }
        info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info) {
                r = log_error_errno(-EIO, "web: libmicrohttpd has no epoll descriptor");
                goto fail;
        }
        r = sd_event_add_io(event, &w->io, info->epoll_fd, EPOLLIN, on_io, w);
        if (r >= 0)
                r = sd_event_add_time(event, &w->mhd_timer, CLOCK_MONOTONIC, 0, TIMER_ACCURACY_US,
                                      on_mhd_timer, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->mhd_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &w->poll, CLOCK_MONOTONIC, 0,
                                               TIMER_ACCURACY_US, on_poll, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->poll, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &w->keepalive, CLOCK_MONOTONIC, KEEPALIVE_US,
                                               0, on_keepalive, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->keepalive, SD_EVENT_OFF);
        if (r < 0) {
                log_error_errno(r, "web: cannot join the event loop");
                goto fail;
        }
        watch_store(w);
        log_notice("web: listening on %s://%s", w->tls ? "https" : "http", c->web_listen);
        if (!w->tls && !web_is_loopback((struct sockaddr *)&addr))
                log_warning("web: plain HTTP off loopback (insecure = yes): passwords cross the "
                            "network in clear");
        *out = w;
        return 0;
fail:
        web_free(w);
        return r;
}

void web_free(struct web *w)
{
        if (!w)
                return;
        /* Every stream ends before the server stops, so none is left suspended. */
        for (struct stream *c = w->streams; c; c = c->next) {
                c->ending = true;
                if (c->suspended) {
                        c->suspended = false;
                        MHD_resume_connection(c->conn);
                }
        }
        if (w->mhd) {
                w->in_mhd = true;
                MHD_run(w->mhd);
                MHD_stop_daemon(w->mhd);
        }
        for (struct stream *c = w->streams; c; c = c->next)
                c->prev = NULL;
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->mhd_timer);
        sd_event_source_disable_unref(w->poll);
        sd_event_source_disable_unref(w->keepalive);
        sd_event_source_disable_unref(w->watch);
        sqlite3_finalize(w->data_version);
        session_table_free(w->sessions);
        session_limiter_free(w->limiter);
        for (size_t i = 0; i < sizeof(w->files) / sizeof(w->files[0]); i++)
                free(w->files[i].data);
        if (w->key) {
                sodium_memzero(w->key, w->key_len);
                free(w->key);
        }
        free(w->cert);
        json_decref(w->status);
        free(w->state);
        sd_event_unref(w->event);
        free(w);
}
