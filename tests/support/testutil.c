/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * testutil: helpers for unit tests. They abort on failure, since a test that cannot set up its
 * files has nothing to say about the code under test.
 */
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *what)
{
        perror(what);
        abort();
}

char *tu_tempdir(void)
{
        const char *base = getenv("TMPDIR");
        char *dir;

        if (asprintf(&dir, "%s/firegate-test-XXXXXX", base && *base ? base : "/tmp") < 0)
                die("asprintf");
        if (!mkdtemp(dir))
                die("mkdtemp");
        return dir;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

void tu_rmtree(char *dir)
{
        if (!dir)
                return;
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
}

char *tu_path(const char *dir, const char *name)
{
        char *p;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                die("asprintf");
        return p;
}

void tu_write(const char *path, const char *text, size_t len)
{
        FILE *f = fopen(path, "wb");

        if (!f)
                die(path);
        if (len == 0)
                len = strlen(text);
        if (fwrite(text, 1, len, f) != len || fclose(f) != 0)
                die(path);
}
