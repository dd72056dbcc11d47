/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_provision: what the two files of `firegate provision` share. cli_provision.c plans the
 * files and the config's keys from the command line and writes them; cli_provision_check.c
 * checks the result as a gateway in service needs it, before anything is written.
 */
#ifndef FIREGATE_CLI_PROVISION_H
#define FIREGATE_CLI_PROVISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "config.h"

/* A certificate chain, a key or a config is a few kilobytes; the cap keeps a wrong path (a disk
 * image, a log) from being read whole. */
#define PROVISION_INPUT_MAX (1024 * 1024)
/* A certificate that ends sooner is warned about, and a self-signed one is made anew. */
#define PROVISION_EXPIRY_WARN_S (30 * 24 * 3600)

/* A file as provisioning will leave it, not written yet. */
struct provision_file {
        const char *path;  /* absolute, in the config's directory */
        const char *label; /* for messages: the option and the file given ("--uplink-ca ca.pem") */
        const char *data;
        size_t len;
};

/* Checks @c, the config about to be written, as a gateway in service needs it: an id of its
 * own; an authority key that is an Ed25519 public key and not the demo key; an uplink, not
 * insecure, whose CA certificates are valid at @now, with a client certificate that matches
 * its key, is valid and is verified by that CA, or else an account; the desk page's
 * certificate, when one is named, valid and matching its key. A file @c names is taken from
 * @files when it is there, else read from the disk. Says each problem in one line and returns
 * how many. When the desk page's certificate passes, its facts are in @web and *@have_web is
 * set. */
size_t provision_check(const struct config *c, const struct provision_file *files, size_t n_files,
                       int64_t now, struct cert_info *web, bool *have_web);

#endif
