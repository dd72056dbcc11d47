/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fileio: whole-file reads with a size cap, and durable writes (a temporary file, fsync,
 * rename, fsync of the directory) so a power cut leaves either the old file or the new one.
 */
#ifndef FIREGATE_FILEIO_H
#define FIREGATE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads @path into a new NUL-terminated buffer (*@data, caller frees; *@len excludes the NUL).
 * Returns 0, -EFBIG when the file is larger than @max bytes, or the negative errno of the
 * failing call. */
int fileio_read_all(const char *path, size_t max, char **data, size_t *len);

/* Writes @len bytes to @path durably with permissions @mode, replacing any old file.
 * Returns 0 or a negative errno. */
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Writes all @len bytes to @fd, retrying short writes and EINTR. Returns 0 or a negative errno. */
int fileio_write_all(int fd, const void *data, size_t len);

/* fsyncs the directory holding @path, so that a new or renamed entry survives a power cut.
 * Returns 0 or a negative errno. */
int fileio_fsync_dir_of(const char *path);

/* Creates @path and its missing parents with @mode (like mkdir -p). Returns 0 or a negative
 * errno. */
int fileio_mkdir_p(const char *path, mode_t mode);

#endif
