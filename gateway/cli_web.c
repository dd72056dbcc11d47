/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_web: `firegate web`, the security desk's page. The page is its own executable,
 * firegate-web (web_main.c), so that the daemon, which is this binary too, never maps
 * libmicrohttpd and the TLS stack it brings (gnutls, nettle, gmp...). This command only runs
 * it in the process's place with the same arguments: execv keeps the PID, so systemd (which
 * takes Type=notify's READY=1 from the main PID only) and whoever signals `firegate web` deal
 * with one process.
 *
 * firegate-web is looked for beside the running binary first (the build tree, or the two
 * copied together), then where the package installs it (FIREGATE_WEB_PROGRAM, from CMake).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

/* Writes the path of firegate-web beside the running binary to @buf of @size bytes. Returns 0,
 * the negative errno of reading /proc/self/exe, or -ENAMETOOLONG. */
static int web_beside_self(char *buf, size_t size)
{
        static const char name[] = "/firegate-web";
        ssize_t n = readlink("/proc/self/exe", buf, size);
        char *slash;

        if (n < 0)
                return -errno;
        if ((size_t)n >= size)
                return -ENAMETOOLONG;
        buf[n] = '\0';
        slash = strrchr(buf, '/');
        if (!slash)
                return -EINVAL;
        if ((size_t)(slash - buf) + sizeof(name) > size)
                return -ENAMETOOLONG;
        memcpy(slash, name, sizeof(name));
        return 0;
}

int cmd_web(struct cli *cli, int argc, char **argv)
{
        char beside[PATH_MAX], installed[] = FIREGATE_WEB_PROGRAM;
        const char *where = beside;
        char *paths[2];
        size_t n = 0;
        int r;

        (void)argc; /* argv[argc] is NULL: main's argv, from the subcommand on */
        /* firegate-web reads $FIREGATE_CONFIG when --config is not given, as firegate does: the
         * global option travels there, so what follows "web" reaches it unchanged. */
        if (cli->config_path && setenv(CONFIG_ENV, cli->config_path, 1) < 0) {
                log_error_errno(-errno, "web: cannot set %s", CONFIG_ENV);
                return CLI_EXIT_FAILURE;
        }
        r = web_beside_self(beside, sizeof(beside));
        if (r < 0) {
                log_debug_errno(r, "web: cannot tell where this binary is, ignoring");
                where = "beside firegate (/proc/self/exe cannot be read)";
        } else {
                paths[n++] = beside;
        }
        paths[n++] = installed;
        for (size_t i = 0; i < n; i++) {
                argv[0] = paths[i];
                execv(paths[i], argv);
                /* Only a missing file moves on to the next place: one that is there but cannot
                 * run is a broken installation, to be said as such. */
                if (errno != ENOENT) {
                        log_error_errno(-errno, "web: cannot run %s", paths[i]);
                        return CLI_EXIT_FAILURE;
                }
        }
        log_error("web: firegate-web, the desk page's server, is neither at %s nor at %s "
                  "(it is built and installed with firegate)",
                  where, installed);
        return CLI_EXIT_FAILURE;
}
