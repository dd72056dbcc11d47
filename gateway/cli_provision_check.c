/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_provision_check: the config `firegate provision` is about to write, checked as a gateway
 * in service needs it. The files it names are taken as they will be (the copies and the
 * certificate planned, not written yet) or, for those the run does not touch, as they are on
 * the disk; so a second run checks again what the first one put in place.
 *
 * Each problem is said in one line that names the option or the key to change.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_provision.h"
#include "crypto.h"
#include "fileio.h"
#include "log.h"

struct check {
        const struct config *c;
        const struct provision_file *files;
        size_t n_files;
        int64_t now;
        size_t problems;
};

static void problem(struct check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct check *ck, const char *fmt, ...)
{
        char msg[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_error("provision: %s", msg);
        ck->problems++;
}

/* The bytes the file at @path will hold: the planned ones, or the file as it is. @what names
 * its key ("[uplink] cafile") and @option the option that sets it, for messages. Returns 0
 * with *@data (the caller wipes and frees *@owned when set) and @label filled, or refuses and
 * returns a negative errno. */
static int content_of(struct check *ck, const char *path, const char *what, const char *option,
                      const char **data, size_t *len, char **owned, char *label, size_t label_len)
{
        int r;

        *owned = NULL;
        for (size_t i = 0; i < ck->n_files; i++)
                if (strcmp(ck->files[i].path, path) == 0) {
                        *data = ck->files[i].data;
                        *len = ck->files[i].len;
                        snprintf(label, label_len, "%s", ck->files[i].label);
                        return 0;
                }
        snprintf(label, label_len, "%s %s", what, path);
        r = fileio_read_all(path, PROVISION_INPUT_MAX, owned, len);
        if (r < 0) {
                problem(ck, "%s: cannot read it (%s); give %s", label, strerror(-r), option);
                return r;
        }
        *data = *owned;
        return 0;
}

/* What content_of() read, wiped: it may be a private key. */
static void free_content(char *owned, size_t len)
{
        if (owned)
                explicit_bzero(owned, len);
        free(owned);
}

static void check_authority_key(struct check *ck)
{
        struct crypto_key *key = NULL;
        char label[1024], *owned = NULL;
        const char *data = NULL;
        size_t len = 0;
        int r;

        if (content_of(ck, ck->c->authority_key, "[registry] authority_key", "--authority-key",
                       &data, &len, &owned, label, sizeof(label)) < 0)
                return;
        r = crypto_key_load_mem(data, len, &key);
        if (r == 0 && crypto_key_has_private(key))
                problem(ck,
                        "%s is a private key; the gateway must hold only the registry "
                        "authority's public key",
                        label);
        else if (r == 0 && crypto_key_is_demo(key))
                problem(ck,
                        "%s is a DEMO authority key (key id %s, marked '%s'): records it "
                        "verifies would pass for verified; give the registry authority's own key",
                        label, crypto_key_id(key), CRYPTO_DEMO_MARKER);
        else if (r == -EBADMSG)
                problem(ck, "%s is not a PEM Ed25519 public key", label);
        else if (r == -EPROTONOSUPPORT)
                problem(ck, "%s is not an Ed25519 key; the registry authority signs with Ed25519",
                        label);
        else if (r < 0)
                problem(ck, "%s: %s", label, strerror(-r));
        crypto_key_free(key);
        free_content(owned, len);
}

/* A certificate and its key, @section's certfile and keyfile: they parse, match, and the
 * certificate is valid now. Returns 0, or a negative errno with the problem said. */
static int check_pair(struct check *ck, const char *section, const char *cert_path,
                      const char *key_path, const char *cert_option, const char *key_option)
{
        char cert_label[1024], key_label[1024], what[64], why[1024];
        char *cert_owned = NULL, *key_owned = NULL;
        const char *cert = NULL, *key = NULL;
        size_t cert_len = 0, key_len = 0;
        int r;

        snprintf(what, sizeof(what), "[%s] certfile", section);
        r = content_of(ck, cert_path, what, cert_option, &cert, &cert_len, &cert_owned, cert_label,
                       sizeof(cert_label));
        snprintf(what, sizeof(what), "[%s] keyfile", section);
        if (r == 0)
                r = content_of(ck, key_path, what, key_option, &key, &key_len, &key_owned,
                               key_label, sizeof(key_label));
        if (r == 0) {
                r = cert_check_pair(cert, cert_len, key, key_len, ck->now, why, sizeof(why));
                if (r == -EINVAL)
                        problem(ck, "%s, %s: %s", cert_label, key_label, why);
                else if (r < 0)
                        problem(ck, "%s: %s", cert_label, strerror(-r));
        }
        free_content(cert_owned, cert_len);
        free_content(key_owned, key_len);
        return r;
}

static void check_uplink(struct check *ck)
{
        const struct config *c = ck->c;
        char ca_label[1024], cert_label[1024], why[1024], *ca_owned = NULL, *cert_owned = NULL;
        const char *ca = NULL, *cert = NULL;
        size_t ca_len = 0, cert_len = 0;
        int r;

        if (c->uplink_insecure)
                problem(ck,
                        "%s sets [uplink] insecure = yes, for tests only: a gateway in service "
                        "uses TLS and credentials; set it to no",
                        c->path);
        if (!*c->uplink_uris) {
                problem(ck, "no uplink: give --uplink ssl://HOST:PORT, the city platform's broker");
                return;
        }
        if (!*c->uplink_cafile) /* config_load() refuses an ssl:// URI without it */
                return;
        r = content_of(ck, c->uplink_cafile, "[uplink] cafile", "--uplink-ca", &ca, &ca_len,
                       &ca_owned, ca_label, sizeof(ca_label));
        if (r == 0) {
                r = cert_check_ca(ca, ca_len, ck->now, why, sizeof(why));
                if (r < 0)
                        problem(ck, "%s: %s", ca_label, r == -EINVAL ? why : strerror(-r));
        }
        if (*c->uplink_certfile) {
                if (check_pair(ck, "uplink", c->uplink_certfile, c->uplink_keyfile, "--uplink-cert",
                               "--uplink-key") == 0 &&
                    r == 0 &&
                    content_of(ck, c->uplink_certfile, "[uplink] certfile", "--uplink-cert", &cert,
                               &cert_len, &cert_owned, cert_label, sizeof(cert_label)) == 0) {
                        r = cert_check_client(ca, ca_len, cert, cert_len, ck->now, why,
                                              sizeof(why));
                        if (r < 0)
                                problem(ck, "%s: %s", cert_label,
                                        r == -EINVAL ? why : strerror(-r));
                }
        } else if (!*c->uplink_username) {
                problem(ck, "[uplink] has a password but no username: give --uplink-user NAME");
        }
        free_content(ca_owned, ca_len);
        free_content(cert_owned, cert_len);
}

/* The desk page's certificate, when the config names one; its facts into @info. */
static bool check_web(struct check *ck, struct cert_info *info)
{
        const struct config *c = ck->c;
        char label[1024], why[1024], when[32], *owned = NULL;
        const char *cert = NULL;
        size_t len = 0;
        struct tm tm;
        time_t t;

        if (!*c->web_certfile ||
            check_pair(ck, "web", c->web_certfile, c->web_keyfile,
                       "--web-cert or --web-self-signed", "--web-key or --web-self-signed") < 0 ||
            content_of(ck, c->web_certfile, "[web] certfile", "--web-cert", &cert, &len, &owned,
                       label, sizeof(label)) < 0)
                return false;
        if (cert_info(cert, len, info, why, sizeof(why)) < 0) {
                free_content(owned, len);
                return false;
        }
        t = (time_t)info->not_after;
        if (info->not_after - ck->now < PROVISION_EXPIRY_WARN_S && gmtime_r(&t, &tm) &&
            strftime(when, sizeof(when), "%Y-%m-%d", &tm))
                log_warning("provision: %s expires on %s: the desk's browsers will refuse it then",
                            label, when);
        free_content(owned, len);
        return true;
}

size_t provision_check(const struct config *c, const struct provision_file *files, size_t n_files,
                       int64_t now, struct cert_info *web, bool *have_web)
{
        struct check ck = {.c = c, .files = files, .n_files = n_files, .now = now};

        if (strcmp(c->gateway_id, "firegate") == 0)
                problem(&ck, "[gateway] id is the default 'firegate': give --gateway-id, unique "
                             "per gateway");
        check_authority_key(&ck);
        check_uplink(&ck);
        *have_web = check_web(&ck, web);
        return ck.problems;
}
