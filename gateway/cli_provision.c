/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_provision: `firegate provision`, which an installer runs once on a freshly installed
 * gateway: its id, the city platform's brokers with this gateway's credentials on them, the
 * registry authority's key and the desk page's certificate. The files given are copied next to
 * the config and the config is edited in place (provision.h), every other line kept.
 *
 * Nothing is written until the whole result passes: the edited config loads as check-config
 * loads it, and as a production config it has an uplink over TLS whose certificates verify,
 * credentials, and an authority key that is not the demo one. Every reason to refuse is said
 * before the command leaves. Files are written first and the config last, each atomically, so
 * an interrupted run leaves the old config pointing at whole files and the next run finishes
 * the job; the same run twice changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "cli.h"
#include "cli_provision.h"
#include "diag.h"
#include "fileio.h"
#include "inifile.h"
#include "log.h"
#include "provision.h"
#include "table.h"

/* The most [uplink] password holds (config.c's table). */
#define PASSWORD_MAX 128
#define FILES_MAX    6
#define SETTINGS_MAX 12
/* The group of the daemon and of the desk page's user (systemd/firegate.sysusers): it reads
 * the keys, which no one else may. */
#define SERVICE_GROUP "firegate"

/* Where the files go, in the config's directory; the names examples/firegate.conf uses. */
#define FILE_AUTHORITY   "authority.pub"
#define FILE_UPLINK_CA   "platform-ca.pem"
#define FILE_UPLINK_CERT "gateway.crt"
#define FILE_UPLINK_KEY  "gateway.key"
#define FILE_WEB_CERT    "web.crt"
#define FILE_WEB_KEY     "web.key"
/* Where a self-signed certificate came from, in the summary. */
#define FROM_MADE "made, self-signed"
#define FROM_KEPT "kept, self-signed"

/* A file to put in the config's directory. */
struct planned_file {
        char *path;  /* absolute, in the config's directory */
        char *from;  /* for the summary: the file given, or how it was made */
        char *label; /* for messages: "--uplink-ca FILE" */
        char *data;
        size_t len;
        mode_t mode;
        bool secret;      /* a private key: wiped before it is freed */
        const char *done; /* what became of it */
};

/* A key of the config to set. */
struct setting {
        const char *section, *key;
        char *value;
        const char *option; /* the option it comes from, for messages */
        bool secret;        /* never shown */
        int changed;        /* provision_ini_set()'s answer */
};

struct provision {
        /* the command line */
        const char *gateway_id, *authority_key, *uplink, *uplink_ca, *uplink_cert, *uplink_key,
                *uplink_user, *web_cert, *web_key, *web_self_signed;
        bool dry_run;
        char password[PASSWORD_MAX + 2];

        char *config_path, *dir; /* absolute */
        struct stat config_st;   /* of the config, when it exists */
        bool config_exists;
        char *old_text;
        size_t old_len;
        struct provision_ini *ini;
        struct config *result;
        gid_t group;
        bool have_group;
        int64_t now;
        size_t refusals;
        struct planned_file files[FILES_MAX];
        size_t n_files;
        struct setting settings[SETTINGS_MAX];
        size_t n_settings;
};

static void provision_usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] provision [--gateway-id ID]\n"
                "           [--authority-key FILE.pub] [--uplink ssl://HOST:PORT[,...]]\n"
                "           [--uplink-ca CA.pem] [--uplink-cert CERT.pem --uplink-key KEY.pem |\n"
                "           --uplink-user NAME] [--web-cert CERT.pem --web-key KEY.pem |\n"
                "           --web-self-signed NAME[,NAME...]] [--dry-run]\n\n"
                "Sets a freshly installed gateway up for service: its id, the city platform's\n"
                "brokers and this gateway's credentials on them, the registry authority's key\n"
                "and the desk page's certificate. The files given are checked and copied next\n"
                "to the config (keys 0640, certificates 0644, group " SERVICE_GROUP
                " when it exists);\n"
                "the config is edited in place, every other line kept. Nothing is written\n"
                "unless the result is a config that check-config accepts, with an uplink over\n"
                "TLS, credentials that verify, and an authority key that is not the demo key.\n"
                "The same options again change nothing; new ones change only their keys.\n\n"
                "  --gateway-id ID          [gateway] id, unique per gateway: 1 to 64 of\n"
                "                           A-Z a-z 0-9 . _ -\n"
                "  --authority-key FILE     the registry authority's Ed25519 public key (PEM)\n"
                "  --uplink URI[,URI...]    the platform's brokers, ssl://HOST:PORT, in order\n"
                "  --uplink-ca FILE         the CA of the platform's brokers, which must also\n"
                "                           verify the client certificate (one file may hold\n"
                "                           several CA certificates)\n"
                "  --uplink-cert FILE       this gateway's client certificate (chain), and\n"
                "  --uplink-key FILE        its key, unencrypted\n"
                "  --uplink-user NAME       or an account on the platform's brokers; the\n"
                "                           password is one line of standard input (asked\n"
                "                           without echo on a terminal)\n"
                "  --web-cert FILE          the desk page's certificate (chain), and\n"
                "  --web-key FILE           its key\n"
                "  --web-self-signed NAMES  or make a self-signed certificate (EC P-256, %d\n"
                "                           days) for these host names and IP addresses,\n"
                "                           separated by commas; its fingerprint is printed\n"
                "  --dry-run                check everything, show the config's diff, write\n"
                "                           nothing\n"
                "  -h, --help               show this help\n\n"
                "Files written in the config's directory (/etc/firegate by default):\n"
                "  %s, %s, %s, %s, %s, %s.\n"
                "Then the gateway's own signing key (firegate gateway-key) is made if\n"
                "missing and its public half printed: register it with the platform.\n\n"
                "Exit status: 0 done or nothing to change, 1 a file could not be read or\n"
                "written, 2 usage, 3 refused (every reason said; nothing written).\n",
                CERT_SELF_SIGNED_DAYS, FILE_AUTHORITY, FILE_UPLINK_CA, FILE_UPLINK_CERT,
                FILE_UPLINK_KEY, FILE_WEB_CERT, FILE_WEB_KEY);
}

static void refuse(struct provision *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void refuse(struct provision *p, const char *fmt, ...)
{
        char msg[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_error("provision: %s", msg);
        p->refusals++;
}

static void wipe_free(char *s, size_t len)
{
        if (s)
                explicit_bzero(s, len);
        free(s);
}

static void provision_free(struct provision *p)
{
        for (size_t i = 0; i < p->n_files; i++) {
                struct planned_file *f = &p->files[i];

                free(f->path);
                free(f->from);
                free(f->label);
                if (f->secret)
                        wipe_free(f->data, f->len);
                else
                        free(f->data);
        }
        for (size_t i = 0; i < p->n_settings; i++) {
                if (p->settings[i].secret && p->settings[i].value)
                        wipe_free(p->settings[i].value, strlen(p->settings[i].value));
                else
                        free(p->settings[i].value);
        }
        explicit_bzero(p->password, sizeof(p->password));
        provision_ini_free(p->ini);
        config_free(p->result);
        free(p->old_text);
        free(p->config_path);
        free(p->dir);
}

/* --- the command line --- */

enum {
        OPT_GATEWAY_ID = 256,
        OPT_AUTHORITY_KEY,
        OPT_UPLINK,
        OPT_UPLINK_CA,
        OPT_UPLINK_CERT,
        OPT_UPLINK_KEY,
        OPT_UPLINK_USER,
        OPT_WEB_CERT,
        OPT_WEB_KEY,
        OPT_WEB_SELF_SIGNED,
        OPT_DRY_RUN,
};

/* Returns CLI_EXIT_OK, or an exit code to leave with (help shown, or a usage error said). */
static int parse_options(struct provision *p, int argc, char **argv, bool *help)
{
        static const struct option options[] = {
                {"gateway-id", required_argument, NULL, OPT_GATEWAY_ID},
                {"authority-key", required_argument, NULL, OPT_AUTHORITY_KEY},
                {"uplink", required_argument, NULL, OPT_UPLINK},
                {"uplink-ca", required_argument, NULL, OPT_UPLINK_CA},
                {"uplink-cert", required_argument, NULL, OPT_UPLINK_CERT},
                {"uplink-key", required_argument, NULL, OPT_UPLINK_KEY},
                {"uplink-user", required_argument, NULL, OPT_UPLINK_USER},
                {"web-cert", required_argument, NULL, OPT_WEB_CERT},
                {"web-key", required_argument, NULL, OPT_WEB_KEY},
                {"web-self-signed", required_argument, NULL, OPT_WEB_SELF_SIGNED},
                {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        int c;

        *help = false;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case OPT_GATEWAY_ID:
                        p->gateway_id = optarg;
                        break;
                case OPT_AUTHORITY_KEY:
                        p->authority_key = optarg;
                        break;
                case OPT_UPLINK:
                        p->uplink = optarg;
                        break;
                case OPT_UPLINK_CA:
                        p->uplink_ca = optarg;
                        break;
                case OPT_UPLINK_CERT:
                        p->uplink_cert = optarg;
                        break;
                case OPT_UPLINK_KEY:
                        p->uplink_key = optarg;
                        break;
                case OPT_UPLINK_USER:
                        p->uplink_user = optarg;
                        break;
                case OPT_WEB_CERT:
                        p->web_cert = optarg;
                        break;
                case OPT_WEB_KEY:
                        p->web_key = optarg;
                        break;
                case OPT_WEB_SELF_SIGNED:
                        p->web_self_signed = optarg;
                        break;
                case OPT_DRY_RUN:
                        p->dry_run = true;
                        break;
                case 'h':
                        *help = true;
                        provision_usage(stdout);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("provision", "unknown option or missing argument");
                }
        }
        if (optind < argc)
                return cli_unexpected("provision", optind);
        if (!p->gateway_id && !p->authority_key && !p->uplink && !p->uplink_ca && !p->uplink_cert &&
            !p->uplink_key && !p->uplink_user && !p->web_cert && !p->web_key && !p->web_self_signed)
                return cli_usage_error("provision", "nothing to provision");
        if (!p->uplink_cert != !p->uplink_key)
                return cli_usage_error("provision", "--uplink-cert and --uplink-key go together");
        if (p->uplink_cert && p->uplink_user)
                return cli_usage_error("provision",
                                       "a client certificate or --uplink-user, not both");
        if (!p->web_cert != !p->web_key)
                return cli_usage_error("provision", "--web-cert and --web-key go together");
        if (p->web_cert && p->web_self_signed)
                return cli_usage_error("provision", "--web-cert or --web-self-signed, not both");
        return CLI_EXIT_OK;
}

/* One line of standard input, asked without echo on a terminal; an empty one is none. */
static int read_password(char pw[PASSWORD_MAX + 2])
{
        int r = cli_read_secret("Password on the platform's brokers: ", pw, PASSWORD_MAX + 2);

        return r == 0 && !*pw ? -ENODATA : r;
}

/* --- what to write --- */

static int add_setting(struct provision *p, const char *section, const char *key, const char *value,
                       const char *option, bool secret)
{
        struct setting *s = &p->settings[p->n_settings];

        if (p->n_settings == SETTINGS_MAX) /* unreachable: one per option at most */
                return -ENOBUFS;
        s->section = section;
        s->key = key;
        s->option = option;
        s->secret = secret;
        s->value = strdup(value);
        if (!s->value)
                return -ENOMEM;
        p->n_settings++;
        return 0;
}

static char *path_in_dir(const struct provision *p, const char *name)
{
        char *s;

        return asprintf(&s, "%s/%s", p->dir, name) < 0 ? NULL : s;
}

/* Plans @name in the config's directory with @data (taken) and sets @section.@key to its path.
 * Returns 0 or -ENOMEM. */
static int plan_file(struct provision *p, const char *name, char *data, size_t len, mode_t mode,
                     bool secret, const char *option, const char *from, const char *section,
                     const char *key)
{
        struct planned_file *f = &p->files[p->n_files];

        if (p->n_files == FILES_MAX) { /* unreachable: one per option at most */
                wipe_free(data, len);
                return -ENOBUFS;
        }
        memset(f, 0, sizeof(*f));
        f->data = data;
        f->len = len;
        f->mode = mode;
        f->secret = secret;
        p->n_files++;
        f->path = path_in_dir(p, name);
        f->from = strdup(from);
        if (asprintf(&f->label, "%s %s", option, from) < 0)
                f->label = NULL;
        if (!f->path || !f->from || !f->label)
                return -ENOMEM;
        return add_setting(p, section, key, f->path, option, false);
}

/* Reads a file the installer gave and plans its copy. Returns an exit code, said. */
static int plan_copy(struct provision *p, const char *option, const char *source, const char *name,
                     mode_t mode, bool secret, const char *section, const char *key)
{
        char *data = NULL;
        size_t len = 0;
        int r;

        r = fileio_read_all(source, PROVISION_INPUT_MAX, &data, &len);
        if (r < 0) {
                log_error_errno(r, "provision: %s %s: cannot read it", option, source);
                return CLI_EXIT_FAILURE;
        }
        r = plan_file(p, name, data, len, mode, secret, option, source, section, key);
        if (r < 0) {
                log_error_errno(r, "provision: cannot plan %s", name);
                return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
}

/* The file at @path as it is now, when it is a regular file (never through a symbolic link);
 * NULL otherwise. */
static char *read_regular(const char *path, size_t *len)
{
        struct stat st;
        char *data = NULL;

        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
            fileio_read_all(path, PROVISION_INPUT_MAX, &data, len) < 0)
                return NULL;
        return data;
}

/* --web-self-signed: the certificate already in place when it is for these names and valid for
 * a while yet (PROVISION_EXPIRY_WARN_S) with its key, else a new one. Returns an exit code, said.
 */
static int plan_self_signed(struct provision *p)
{
        const char *names[CERT_NAMES_MAX + 1];
        char *list = strdup(p->web_self_signed), *save = NULL, *cert = NULL, *key = NULL;
        char *crt_path = path_in_dir(p, FILE_WEB_CERT), *key_path = path_in_dir(p, FILE_WEB_KEY);
        size_t n = 0, cert_len = 0, key_len = 0;
        const char *from = FROM_MADE;
        char why[512];
        int r, ret = CLI_EXIT_FAILURE;

        if (!list || !crt_path || !key_path)
                goto out;
        for (char *t = strtok_r(list, ",", &save); t && n <= CERT_NAMES_MAX;
             t = strtok_r(NULL, ",", &save)) {
                for (size_t i = 0; i < n; i++)
                        if (strcasecmp(names[i], t) == 0) {
                                refuse(p, "--web-self-signed: '%s' given twice", t);
                                ret = CLI_EXIT_OK;
                                goto out;
                        }
                names[n++] = t;
        }
        cert = read_regular(crt_path, &cert_len);
        key = read_regular(key_path, &key_len);
        if (cert && key && cert_has_names(cert, cert_len, names, n) == 1 &&
            cert_check_pair(cert, cert_len, key, key_len, p->now + PROVISION_EXPIRY_WARN_S, why,
                            sizeof(why)) == 0) {
                from = FROM_KEPT;
        } else {
                free(cert);
                if (key)
                        wipe_free(key, key_len);
                cert = key = NULL;
                r = cert_make_self_signed(names, n, p->now, &cert, &key, why, sizeof(why));
                if (r == -EINVAL) {
                        refuse(p, "--web-self-signed: %s", why);
                        ret = CLI_EXIT_OK;
                        goto out;
                }
                if (r < 0) {
                        log_error_errno(r, "provision: cannot make the self-signed certificate");
                        goto out;
                }
                cert_len = strlen(cert);
                key_len = strlen(key);
        }
        /* plan_file() takes the text, whatever it returns. */
        r = plan_file(p, FILE_WEB_CERT, cert, cert_len, 0644, false, "--web-self-signed", from,
                      "web", "certfile");
        cert = NULL;
        if (r == 0) {
                r = plan_file(p, FILE_WEB_KEY, key, key_len, 0640, true, "--web-self-signed", from,
                              "web", "keyfile");
                key = NULL;
        }
        ret = r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
out:
        free(cert);
        if (key)
                wipe_free(key, key_len);
        free(list);
        free(crt_path);
        free(key_path);
        return ret;
}

static bool starts_with(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* --uplink: comma-separated, TLS only; the form of each is config_load()'s to check. */
static int plan_uplink(struct provision *p)
{
        size_t size = strlen(p->uplink) + 1, used = 0, n = 0;
        char *list = strdup(p->uplink), *joined = calloc(1, size), *save = NULL;
        int r = -ENOMEM;

        if (!list || !joined)
                goto out;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save), n++) {
                if (starts_with(t, "tcp://") || starts_with(t, "mqtt://"))
                        refuse(p,
                               "--uplink %s is plain MQTT: alarms would cross the network "
                               "unencrypted; provision sets only ssl:// uplinks",
                               t);
                else if (!starts_with(t, "ssl://") && !starts_with(t, "mqtts://"))
                        refuse(p, "--uplink '%s': expected ssl://HOST:PORT", t);
                used += (size_t)snprintf(joined + used, size - used, "%s%s", n ? " " : "", t);
        }
        if (n == 0)
                refuse(p, "--uplink: expected ssl://HOST:PORT[,ssl://HOST:PORT...]");
        if (n > CONFIG_UPLINK_URIS_MAX)
                refuse(p, "--uplink: at most %d URIs", CONFIG_UPLINK_URIS_MAX);
        r = add_setting(p, "uplink", "uris", joined, "--uplink", false);
out:
        free(joined);
        free(list);
        return r;
}

/* Everything the command line asks for, as planned files and settings. Returns an exit
 * code, said; refusals are counted in @p. */
static int plan(struct provision *p)
{
        int r = CLI_EXIT_OK;

        if (p->gateway_id && add_setting(p, "gateway", "id", p->gateway_id, "--gateway-id", false))
                return CLI_EXIT_FAILURE;
        if (p->authority_key)
                r = plan_copy(p, "--authority-key", p->authority_key, FILE_AUTHORITY, 0644, false,
                              "registry", "authority_key");
        if (r == CLI_EXIT_OK && p->uplink && plan_uplink(p) < 0)
                r = CLI_EXIT_FAILURE;
        if (r == CLI_EXIT_OK && p->uplink_ca)
                r = plan_copy(p, "--uplink-ca", p->uplink_ca, FILE_UPLINK_CA, 0644, false, "uplink",
                              "cafile");
        if (r == CLI_EXIT_OK && p->uplink_cert)
                r = plan_copy(p, "--uplink-cert", p->uplink_cert, FILE_UPLINK_CERT, 0644, false,
                              "uplink", "certfile");
        if (r == CLI_EXIT_OK && p->uplink_key)
                r = plan_copy(p, "--uplink-key", p->uplink_key, FILE_UPLINK_KEY, 0640, true,
                              "uplink", "keyfile");
        if (r == CLI_EXIT_OK && p->uplink_user &&
            (add_setting(p, "uplink", "username", p->uplink_user, "--uplink-user", false) < 0 ||
             add_setting(p, "uplink", "password", p->password, "the password", true) < 0))
                r = CLI_EXIT_FAILURE;
        if (r == CLI_EXIT_OK && p->web_cert)
                r = plan_copy(p, "--web-cert", p->web_cert, FILE_WEB_CERT, 0644, false, "web",
                              "certfile");
        if (r == CLI_EXIT_OK && p->web_key)
                r = plan_copy(p, "--web-key", p->web_key, FILE_WEB_KEY, 0640, true, "web",
                              "keyfile");
        if (r == CLI_EXIT_OK && p->web_self_signed)
                r = plan_self_signed(p);
        return r;
}

/* --- the config --- */

/* The config's path as every command finds it (cli.h), made absolute, and its directory. */
static int config_location(struct cli *cli, struct provision *p)
{
        const char *path = cli->config_path;
        char *cwd = NULL;
        int r = 0;

        if (!path)
                path = getenv(CONFIG_ENV);
        if (!path || !*path)
                path = CONFIG_DEFAULT_PATH;
        if (path[0] == '/') {
                p->config_path = strdup(path);
        } else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        r = -errno;
                else if (asprintf(&p->config_path, "%s/%s", cwd, path) < 0)
                        p->config_path = NULL;
                free(cwd);
        }
        if (r == 0 && !p->config_path)
                r = -ENOMEM;
        if (r == 0) {
                p->dir = strndup(p->config_path,
                                 (size_t)(strrchr(p->config_path, '/') - p->config_path));
                r = p->dir ? 0 : -ENOMEM;
        }
        if (r < 0)
                log_error_errno(r, "provision: cannot resolve the config's path %s", path);
        return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

/* The config's text; none yet when the file does not exist (in a directory that does). The
 * config is edited only as a regular file: writing it through a symbolic link would replace
 * the link. Returns an exit code, said. */
static int read_config(struct cli *cli, struct provision *p)
{
        struct stat dir_st;
        int r = config_location(cli, p);

        if (r != CLI_EXIT_OK)
                return r;
        if (lstat(p->config_path, &p->config_st) == 0) {
                if (!S_ISREG(p->config_st.st_mode)) {
                        log_error("provision: %s is not a regular file%s; give --config the file "
                                  "itself",
                                  p->config_path,
                                  S_ISLNK(p->config_st.st_mode) ? " but a symbolic link" : "");
                        return CLI_EXIT_REFUSED;
                }
                p->config_exists = true;
                r = fileio_read_all(p->config_path, PROVISION_INPUT_MAX, &p->old_text, &p->old_len);
        } else if (errno != ENOENT) {
                r = -errno;
        } else if (stat(*p->dir ? p->dir : "/", &dir_st) < 0 || !S_ISDIR(dir_st.st_mode)) {
                r = -ENOENT;
        } else {
                p->old_text = strdup("");
                r = p->old_text ? 0 : -ENOMEM;
        }
        if (r < 0) {
                log_error_errno(r, "provision: cannot read %s", p->config_path);
                return CLI_EXIT_FAILURE;
        }
        r = provision_ini_new(p->old_text, p->old_len, &p->ini);
        if (r == -EINVAL) {
                log_error("provision: %s holds a NUL byte: not a config file", p->config_path);
                return CLI_EXIT_REFUSED;
        }
        return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

/* Sets every key in the text. Returns an exit code; refusals are counted. */
static int edit_config(struct provision *p)
{
        for (size_t i = 0; i < p->n_settings; i++) {
                struct setting *s = &p->settings[i];
                int r = provision_ini_set(p->ini, s->section, s->key, s->value);

                if (r >= 0) {
                        s->changed = r;
                } else if (r == -EINVAL && s->secret) {
                        refuse(p,
                               "%s cannot be written in the config: no control characters, no "
                               "spaces at either end, no ' ;'",
                               s->option);
                } else if (r == -EINVAL) {
                        refuse(p,
                               "%s '%s' cannot be written in the config: no control characters, "
                               "no spaces at either end, no ' ;'",
                               s->option, s->value);
                } else if (r == -E2BIG) {
                        refuse(p, "%s: [%s] %s would make a line longer than %d characters",
                               s->option, s->section, s->key, INIFILE_LINE_MAX);
                } else {
                        log_error_errno(r, "provision: cannot edit the config");
                        return CLI_EXIT_FAILURE;
                }
        }
        return CLI_EXIT_OK;
}

/* No universal default credentials: the uplink needs a client certificate or an account of
 * this gateway's own. Said here, before the config is loaded, as the one line it is. */
static int check_credentials(struct provision *p)
{
        char *cert = NULL, *password = NULL;
        int r = provision_ini_get(p->ini, "uplink", "certfile", &cert);

        if (r == 0)
                r = provision_ini_get(p->ini, "uplink", "password", &password);
        if (r == 0 && (!cert || !*cert) && (!password || !*password))
                refuse(p, "no upstream credentials: give --uplink-cert and --uplink-key, or "
                          "--uplink-user NAME with the password on standard input");
        free(cert);
        if (password)
                wipe_free(password, strlen(password));
        return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

/* Loads the edited text as check-config loads a file; its errors are refusals. */
static int load_result(struct provision *p)
{
        struct diag *d = diag_new();
        const char *text;
        size_t len = 0;
        int r;

        text = provision_ini_text(p->ini, &len);
        if (!d || !text) {
                diag_free(d);
                return CLI_EXIT_FAILURE;
        }
        r = config_load_text(p->config_path, text, len, d, &p->result);
        diag_print(d, stderr, "firegate: error: provision: ");
        if (r == -EINVAL) {
                p->refusals += diag_count(d);
                r = 0;
        }
        diag_free(d);
        return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

/* The files as they will be, for provision_check(). */
static void check_result(struct provision *p, struct cert_info *web, bool *have_web)
{
        struct provision_file files[FILES_MAX];

        for (size_t i = 0; i < p->n_files; i++)
                files[i] = (struct provision_file){
                        .path = p->files[i].path,
                        .label = p->files[i].label,
                        .data = p->files[i].data,
                        .len = p->files[i].len,
                };
        p->refusals += provision_check(p->result, files, p->n_files, p->now, web, have_web);
}

/* --- writing --- */

/* Gives @path (never through a symbolic link) to @uid and @gid; -1 keeps one. */
static int set_owner(const char *path, uid_t uid, gid_t gid)
{
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r = 0;

        if (fd < 0)
                return -errno;
        if (fchown(fd, uid, gid) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* Whether the file at @f's path already is @f: its bytes, mode and group. */
static bool file_in_place(const struct provision *p, const struct planned_file *f)
{
        struct stat st;
        char *data;
        size_t len = 0;
        bool same;

        if (lstat(f->path, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != f->mode ||
            (p->have_group && st.st_gid != p->group))
                return false;
        data = read_regular(f->path, &len);
        same = data && len == f->len && memcmp(data, f->data, len) == 0;
        wipe_free(data, len);
        return same;
}

static int write_file(struct provision *p, struct planned_file *f)
{
        int r;

        if (file_in_place(p, f)) {
                f->done = "unchanged";
                return CLI_EXIT_OK;
        }
        if (p->dry_run) {
                f->done = "would write";
                return CLI_EXIT_OK;
        }
        /* A rename replaces a symbolic link in the way; it never writes through one. */
        r = fileio_write_atomic(f->path, f->data, f->len, f->mode);
        if (r < 0) {
                log_error_errno(r, "provision: cannot write %s", f->path);
                return CLI_EXIT_FAILURE;
        }
        if (p->have_group) {
                r = set_owner(f->path, (uid_t)-1, p->group);
                if (r < 0)
                        log_warning_errno(r, "provision: cannot give %s to group %s, ignoring",
                                          f->path, SERVICE_GROUP);
        }
        f->done = "written";
        return CLI_EXIT_OK;
}

/* The config, atomically, with its mode and owner; a config that now holds a password is kept
 * from other users. */
static int write_config(struct provision *p)
{
        mode_t mode = p->config_exists ? p->config_st.st_mode & 07777 : 0640;
        const char *text;
        size_t len = 0;
        bool secret = *p->result->uplink_password || *p->result->broker_password;
        int r;

        text = provision_ini_text(p->ini, &len);
        if (!text)
                return CLI_EXIT_FAILURE;
        if (secret && (mode & 0007))
                mode &= ~(mode_t)0007;
        r = fileio_write_atomic(p->config_path, text, len, mode);
        if (r < 0) {
                log_error_errno(r, "provision: cannot write %s", p->config_path);
                return CLI_EXIT_FAILURE;
        }
        if (p->config_exists)
                r = set_owner(p->config_path, p->config_st.st_uid,
                              secret && p->have_group ? p->group : p->config_st.st_gid);
        else if (p->have_group)
                r = set_owner(p->config_path, (uid_t)-1, p->group);
        if (r < 0)
                log_warning_errno(r, "provision: cannot give %s its owner back, ignoring",
                                  p->config_path);
        if (p->config_exists && mode != (p->config_st.st_mode & 07777))
                log_notice("provision: %s holds a password now: mode %04o, no longer readable "
                           "by every user",
                           p->config_path, (unsigned)mode);
        return CLI_EXIT_OK;
}

/* --- what was done --- */

static size_t count_settings_changed(const struct provision *p)
{
        size_t n = 0;

        for (size_t i = 0; i < p->n_settings; i++)
                n += p->settings[i].changed == 1;
        return n;
}

static size_t count_files_changed(const struct provision *p)
{
        size_t n = 0;

        for (size_t i = 0; i < p->n_files; i++)
                n += strcmp(p->files[i].done, "unchanged") != 0;
        return n;
}

static int print_summary(const struct provision *p)
{
        static const char *const setting_cols[] = {"setting", "value", "change"};
        static const char *const file_cols[] = {"file", "mode", "group", "from", "change"};
        struct table *settings = table_new(3, setting_cols), *files = table_new(5, file_cols);
        char key[128], mode[16];
        int r = -ENOMEM;

        if (!settings || !files)
                goto out;
        for (size_t i = 0; i < p->n_settings; i++) {
                const struct setting *s = &p->settings[i];

                snprintf(key, sizeof(key), "[%s] %s", s->section, s->key);
                if (table_row(settings) < 0 || table_text(settings, key) < 0 ||
                    table_text(settings, s->secret ? "(hidden)" : s->value) < 0 ||
                    table_text(settings, s->changed == 0 ? "unchanged"
                                         : p->dry_run    ? "would set"
                                                         : "set") < 0)
                        goto out;
        }
        for (size_t i = 0; i < p->n_files; i++) {
                const struct planned_file *f = &p->files[i];

                snprintf(mode, sizeof(mode), "%04o", (unsigned)f->mode);
                if (table_row(files) < 0 || table_text(files, f->path) < 0 ||
                    table_text(files, mode) < 0 ||
                    table_text(files, p->have_group ? SERVICE_GROUP : NULL) < 0 ||
                    table_text(files, f->from) < 0 || table_text(files, f->done) < 0)
                        goto out;
        }
        r = table_print(settings, TABLE_TEXT, stdout);
        if (r == 0 && p->n_files) {
                putchar('\n');
                r = table_print(files, TABLE_TEXT, stdout);
        }
out:
        table_free(settings);
        table_free(files);
        return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

/* The gateway's own signing key, as `firegate gateway-key` makes and prints it, now that the
 * config names its state directory. Made by root in the daemon's state directory, it is given
 * to the directory's owner, who signs exports with it. */
static int gateway_key(struct cli *cli, struct provision *p)
{
        char name[] = "gateway-key", *argv[] = {name, NULL}, *path = NULL;
        struct stat st, dir_st;
        bool existed;
        int r;

        if (asprintf(&path, "%s/gateway.key", p->result->state_dir) < 0)
                return CLI_EXIT_FAILURE;
        existed = lstat(path, &st) == 0;
        if (p->dry_run) {
                printf("%s: %s\n", path,
                       existed ? "the gateway's signing key"
                               : "would make the gateway's signing key");
                free(path);
                return CLI_EXIT_OK;
        }
        cli->config = p->result; /* main() frees it */
        p->result = NULL;
        r = cmd_gateway_key(cli, 1, argv);
        if (r == CLI_EXIT_OK && !existed && geteuid() == 0 &&
            stat(cli->config->state_dir, &dir_st) == 0 && dir_st.st_uid != 0 &&
            set_owner(path, dir_st.st_uid, dir_st.st_gid) < 0)
                log_warning("provision: cannot give %s to the owner of %s, ignoring", path,
                            cli->config->state_dir);
        free(path);
        return r;
}

static void print_web_certificate(const struct provision *p, const struct cert_info *web)
{
        char until[32];
        struct tm tm;
        time_t t = (time_t)web->not_after;

        /* A dry run's new certificate is never written: its fingerprint would mislead. */
        for (size_t i = 0; i < p->n_files; i++)
                if (p->dry_run && strcmp(p->files[i].path, p->result->web_certfile) == 0 &&
                    strcmp(p->files[i].from, FROM_MADE) == 0) {
                        printf("\ndesk page certificate %s: a new self-signed one would be "
                               "made\n",
                               p->result->web_certfile);
                        return;
                }
        if (!gmtime_r(&t, &tm) || !strftime(until, sizeof(until), "%Y-%m-%d", &tm))
                snprintf(until, sizeof(until), "?");
        printf("\ndesk page certificate %s: %s, valid until %s\nSHA-256 fingerprint %s\n",
               p->result->web_certfile, web->subject, until, web->sha256);
}

int cmd_provision(struct cli *cli, int argc, char **argv)
{
        struct provision p = {0};
        struct cert_info web;
        struct group *g;
        bool help, have_web = false;
        size_t settings, files;
        int r;

        r = parse_options(&p, argc, argv, &help);
        if (r != CLI_EXIT_OK || help)
                return r;
        if (p.uplink_user) {
                r = read_password(p.password);
                if (r == -ENODATA || r == -E2BIG) {
                        log_error("provision: --uplink-user needs its password, at most %d "
                                  "characters, as one line of standard input; nothing written",
                                  PASSWORD_MAX);
                        return CLI_EXIT_REFUSED;
                }
                if (r < 0) {
                        log_error_errno(r, "provision: cannot read the password");
                        return CLI_EXIT_FAILURE;
                }
        }
        p.now = (int64_t)time(NULL);
        g = getgrnam(SERVICE_GROUP);
        if (g) {
                p.group = g->gr_gid;
                p.have_group = true;
        }
        r = read_config(cli, &p);
        if (r == CLI_EXIT_OK)
                r = plan(&p);
        if (r == CLI_EXIT_OK && !p.refusals)
                r = edit_config(&p);
        if (r == CLI_EXIT_OK && !p.refusals)
                r = check_credentials(&p);
        if (r == CLI_EXIT_OK && !p.refusals)
                r = load_result(&p);
        if (r == CLI_EXIT_OK && !p.refusals)
                check_result(&p, &web, &have_web);
        if (r == CLI_EXIT_OK && p.refusals) {
                log_error("provision: refused (%zu problem%s); nothing written", p.refusals,
                          p.refusals == 1 ? "" : "s");
                r = CLI_EXIT_REFUSED;
        }
        if (r != CLI_EXIT_OK)
                goto out;
        if (p.dry_run && provision_ini_diff(p.ini, p.config_path, "(provisioned)", stdout) < 0) {
                r = CLI_EXIT_FAILURE;
                goto out;
        }
        for (size_t i = 0; i < p.n_files && r == CLI_EXIT_OK; i++)
                r = write_file(&p, &p.files[i]);
        if (r == CLI_EXIT_OK && !p.dry_run && provision_ini_changed(p.ini))
                r = write_config(&p);
        if (r != CLI_EXIT_OK)
                goto out;
        settings = count_settings_changed(&p);
        files = count_files_changed(&p);
        if (p.dry_run)
                printf("%sdry run, nothing written: %zu setting%s and %zu file%s would change\n",
                       provision_ini_changed(p.ini) ? "\n" : "", settings, settings == 1 ? "" : "s",
                       files, files == 1 ? "" : "s");
        else if (settings || files)
                printf("provisioned %s: %zu setting%s and %zu file%s changed\n", p.config_path,
                       settings, settings == 1 ? "" : "s", files, files == 1 ? "" : "s");
        else
                printf("nothing changed: %s and its files already hold these settings\n",
                       p.config_path);
        r = print_summary(&p);
        if (r == CLI_EXIT_OK && have_web)
                print_web_certificate(&p, &web);
        if (r == CLI_EXIT_OK) {
                putchar('\n');
                r = gateway_key(cli, &p);
        }
out:
        provision_free(&p);
        return r;
}
