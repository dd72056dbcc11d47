/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control: the control socket's two ends. The server side lives on the daemon's loop: the
 * listening socket and each connection are I/O sources, reads and writes are non-blocking, a
 * request is one short line, and a connection lives at most CONTROL_CONNECTION_TIMEOUT_US, so a
 * slow or hostile client can hold neither the loop nor a connection slot nor much memory. At
 * most CONTROL_CONNECTIONS_MAX connections are served at once; more wait in the kernel's
 * backlog.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"

#define CONTROL_CONNECTIONS_MAX       16
#define CONTROL_CONNECTION_TIMEOUT_US (10 * 1000000ULL)
/* A status reply for the largest building is a few hundred KiB; more is a broken daemon. */
#define CONTROL_REPLY_MAX (16 * 1024 * 1024)

struct control;

struct conn {
        struct control *c;
        int fd;
        sd_event_source *io, *timeout;
        char buf[CONTROL_LINE_MAX];
        size_t used;
        char who[96];
        char *out; /* the reply, once the request is read */
        size_t out_len, out_sent;
};

struct control {
        sd_event *event;
        sd_event_source *listen_io;
        int listen_fd;
        char *path;
        control_request_fn fn;
        void *ctx;
        struct conn *conns[CONTROL_CONNECTIONS_MAX];
};

static void conn_close(struct conn *k)
{
        struct control *c = k->c;

        for (size_t i = 0; i < CONTROL_CONNECTIONS_MAX; i++)
                if (c->conns[i] == k)
                        c->conns[i] = NULL;
        sd_event_source_disable_unref(k->io);
        sd_event_source_disable_unref(k->timeout);
        close(k->fd);
        free(k->out);
        free(k);
        sd_event_source_set_enabled(c->listen_io, SD_EVENT_ON);
}

/* Sends what the socket takes now; the rest when it is writable again. Returns true when the
 * connection is done with (all sent, or the client gone). */
static bool conn_flush(struct conn *k)
{
        while (k->out_sent < k->out_len) {
                ssize_t n = send(k->fd, k->out + k->out_sent, k->out_len - k->out_sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        sd_event_source_set_io_events(k->io, EPOLLOUT);
                        return false;
                }
                if (n <= 0) {
                        log_debug("control: a client went away before its reply");
                        return true;
                }
                k->out_sent += (size_t)n;
        }
        return true;
}

static void conn_request(struct conn *k, bool too_long)
{
        char *space, *verb = k->buf, *target;
        FILE *reply = open_memstream(&k->out, &k->out_len);

        if (!reply) {
                log_error_errno(-errno, "control: cannot answer a request");
                return;
        }
        space = strchr(k->buf, ' ');
        if (too_long) {
                fputs("refused the request is too long", reply);
        } else if (!space) {
                fputs("refused a request is a verb and a target", reply);
        } else {
                *space = '\0';
                target = space + 1;
                k->c->fn(k->c->ctx, verb, target, k->who, reply);
        }
        fputc('\n', reply);
        if (fclose(reply) != 0) {
                /* Out of memory: the client gets no answer, and says so. */
                free(k->out);
                k->out = NULL;
                k->out_len = 0;
        }
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct conn *k = userdata;

        (void)s;
        (void)usec;
        log_debug("control: %s held a connection too long; closed", k->who);
        conn_close(k);
        return 0;
}

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct conn *k = userdata;
        ssize_t n;
        char *nl;

        (void)s;
        if (k->out) {
                if (revents & EPOLLOUT && conn_flush(k))
                        conn_close(k);
                else if (revents & (EPOLLHUP | EPOLLERR))
                        conn_close(k);
                return 0;
        }
        n = read(fd, k->buf + k->used, sizeof(k->buf) - 1 - k->used);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                conn_close(k);
                return 0;
        }
        k->used += (size_t)n;
        k->buf[k->used] = '\0';
        nl = strchr(k->buf, '\n');
        if (!nl && k->used < sizeof(k->buf) - 1)
                return 0;
        if (nl)
                *nl = '\0';
        conn_request(k, !nl);
        if (!k->out || conn_flush(k))
                conn_close(k);
        return 0;
}

/* The caller's identity from the kernel, never from what it says. */
static void peer_name(int fd, char *who, size_t size)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);
        struct passwd *pw;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                snprintf(who, size, "unknown local user");
                return;
        }
        pw = getpwuid(cred.uid);
        if (pw)
                snprintf(who, size, "uid %u (%.60s)", (unsigned)cred.uid, pw->pw_name);
        else
                snprintf(who, size, "uid %u", (unsigned)cred.uid);
}

static int on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct control *c = userdata;
        struct conn *k;
        size_t slot = CONTROL_CONNECTIONS_MAX;
        int cfd, r;

        (void)revents;
        for (size_t i = 0; i < CONTROL_CONNECTIONS_MAX && slot == CONTROL_CONNECTIONS_MAX; i++)
                if (!c->conns[i])
                        slot = i;
        if (slot == CONTROL_CONNECTIONS_MAX) {
                /* Busy: leave the rest in the backlog until a connection ends. */
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;
        k = calloc(1, sizeof(*k));
        if (!k) {
                close(cfd);
                return 0;
        }
        k->c = c;
        k->fd = cfd;
        peer_name(cfd, k->who, sizeof(k->who));
        r = sd_event_add_io(c->event, &k->io, cfd, EPOLLIN, on_conn, k);
        if (r >= 0)
                r = sd_event_add_time_relative(c->event, &k->timeout, CLOCK_MONOTONIC,
                                               CONTROL_CONNECTION_TIMEOUT_US, 0, on_timeout, k);
        if (r < 0) {
                sd_event_source_disable_unref(k->io);
                close(cfd);
                free(k);
                return 0;
        }
        c->conns[slot] = k;
        return 0;
}

int control_new(sd_event *event, const char *path, control_request_fn fn, void *ctx,
                struct control **out)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        struct control *c;
        char *dir = NULL;
        int r;

        *out = NULL;
        if (strlen(path) >= sizeof(addr.sun_path))
                return log_error_errno(-ENAMETOOLONG, "control socket %s", path);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->listen_fd = -1;
        c->event = sd_event_ref(event);
        c->fn = fn;
        c->ctx = ctx;
        c->path = strdup(path);
        dir = strdup(path);
        if (!c->path || !dir) {
                r = -ENOMEM;
                goto out_free;
        }
        *strrchr(dir, '/') = '\0';
        r = fileio_mkdir_p(dir, 0755);
        if (r < 0) {
                log_error_errno(r, "cannot create the runtime directory %s", dir);
                goto out_free;
        }
        memcpy(addr.sun_path, path, strlen(path) + 1);
        c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->listen_fd < 0) {
                r = log_error_errno(-errno, "cannot create the control socket");
                goto out_free;
        }
        /* A socket left by a daemon that died is stale: nothing else may listen here. */
        unlink(path);
        if (bind(c->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
            chmod(path, 0660) < 0 || listen(c->listen_fd, 8) < 0) {
                r = log_error_errno(-errno, "cannot listen on the control socket %s", path);
                goto out_free;
        }
        r = sd_event_add_io(event, &c->listen_io, c->listen_fd, EPOLLIN, on_listen, c);
        if (r < 0) {
                log_error_errno(r, "cannot watch the control socket");
                goto out_free;
        }
        free(dir);
        *out = c;
        return 0;

out_free:
        free(dir);
        control_free(c);
        return r;
}

void control_free(struct control *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < CONTROL_CONNECTIONS_MAX; i++)
                if (c->conns[i]) {
                        sd_event_source_disable_unref(c->conns[i]->io);
                        sd_event_source_disable_unref(c->conns[i]->timeout);
                        close(c->conns[i]->fd);
                        free(c->conns[i]->out);
                        free(c->conns[i]);
                }
        sd_event_source_disable_unref(c->listen_io);
        if (c->listen_fd >= 0) {
                close(c->listen_fd);
                unlink(c->path);
        }
        free(c->path);
        sd_event_unref(c->event);
        free(c);
}

int control_call(const char *path, const char *verb, const char *target, char **reply)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        struct timeval timeout = {.tv_sec = CONTROL_CALL_TIMEOUT_S};
        char line[CONTROL_LINE_MAX], *buf = NULL;
        size_t used = 0, size = 0;
        int fd, n, r = 0;

        *reply = NULL;
        if (strlen(path) >= sizeof(addr.sun_path))
                return -ENAMETOOLONG;
        n = snprintf(line, sizeof(line), "%s %s\n", verb, target);
        if (n < 0 || (size_t)n >= sizeof(line))
                return -E2BIG;
        memcpy(addr.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* A daemon that stopped answering must not hang its callers: the desk's page runs on
         * one loop. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0) {
                r = -errno;
                goto out;
        }
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
            fileio_write_all(fd, line, (size_t)n) < 0) {
                r = -errno;
                goto out;
        }
        for (;;) {
                ssize_t got;

                if (used + 1 >= size) {
                        char *grown;

                        if (size >= CONTROL_REPLY_MAX) {
                                r = -EMSGSIZE;
                                goto out;
                        }
                        size = size ? size * 2 : 4096;
                        grown = realloc(buf, size);
                        if (!grown) {
                                r = -ENOMEM;
                                goto out;
                        }
                        buf = grown;
                }
                got = read(fd, buf + used, size - 1 - used);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0) {
                        r = errno == EAGAIN ? -ETIMEDOUT : -errno;
                        goto out;
                }
                if (got == 0)
                        break;
                used += (size_t)got;
        }
        if (used == 0) {
                r = -EPIPE;
                goto out;
        }
        buf[used] = '\0';
        *reply = buf;
        buf = NULL;
out:
        free(buf);
        close(fd);
        return r;
}
