/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fileio: small file helpers that every module would otherwise repeat. They return negative
 * errno values and leave the message to the caller, which knows what the file was for.
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_read_all(const char *path, size_t max, char **data, size_t *len)
{
        struct stat st;
        char *buf = NULL;
        size_t used = 0, cap;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out_close;
        }
        if (S_ISDIR(st.st_mode)) {
                r = -EISDIR;
                goto out_close;
        }
        if (st.st_size < 0 || (size_t)st.st_size > max) {
                r = -EFBIG;
                goto out_close;
        }
        /* Read until EOF rather than trusting st_size: the file may be a pipe or still growing;
         * one byte of room beyond @max tells an oversized stream from one that fits exactly. */
        cap = (size_t)st.st_size + 1;
        for (;;) {
                ssize_t n;

                if (used == cap) {
                        char *bigger;

                        if (cap > max) {
                                r = -EFBIG;
                                goto out_free;
                        }
                        cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
                        bigger = realloc(buf, cap);
                        if (!bigger) {
                                r = -ENOMEM;
                                goto out_free;
                        }
                        buf = bigger;
                } else if (!buf) {
                        buf = malloc(cap);
                        if (!buf) {
                                r = -ENOMEM;
                                goto out_close;
                        }
                }
                n = read(fd, buf + used, cap - used);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out_free;
                }
                if (n == 0)
                        break;
                used += (size_t)n;
        }
        if (used > max) {
                r = -EFBIG;
                goto out_free;
        }
        if (used == cap) {
                char *bigger = realloc(buf, cap + 1);

                if (!bigger) {
                        r = -ENOMEM;
                        goto out_free;
                }
                buf = bigger;
        }
        buf[used] = '\0';
        *data = buf;
        *len = used;
        close(fd);
        return 0;

out_free:
        free(buf);
out_close:
        close(fd);
        return r;
}

int fileio_fsync_dir_of(const char *path)
{
        char *copy = strdup(path);
        int fd, r = 0;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                goto out_free;
        }
        if (fsync(fd) < 0)
                r = -errno;
        close(fd);
out_free:
        free(copy);
        return r;
}

int fileio_write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        char tmp[4096];
        int fd, r;

        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
                return -ENAMETOOLONG;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        r = fileio_write_all(fd, data, len);
        if (r < 0)
                goto out_unlink;
        if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
                r = -errno;
                goto out_unlink;
        }
        if (close(fd) < 0) {
                fd = -1;
                r = -errno;
                goto out_unlink;
        }
        fd = -1;
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto out_unlink;
        }
        return fileio_fsync_dir_of(path);

out_unlink:
        if (fd >= 0)
                close(fd);
        unlink(tmp);
        return r;
}

int fileio_mkdir_p(const char *path, mode_t mode)
{
        char buf[4096];
        size_t n = strlen(path);

        if (n == 0)
                return -EINVAL;
        if (n >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (char *s = buf + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}
