/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rss_floor: the memory firegate's daemon cannot go below, whatever its own code does. It links
 * the libraries the daemon links (bench/CMakeLists.txt takes firegate_core's list), sets each
 * up once the way the daemon does, with the least data, and prints what is then resident, one
 * line in KiB:
 *
 *   VmRSS N RssAnon N RssFile N Pss N Threads N
 *
 * VmRSS, RssAnon, RssFile and Threads from /proc/self/status, Pss from /proc/self/smaps_rollup.
 * PSS divides each shared page among the processes that map it at that moment, so it depends on
 * what else runs beside. Threads shows that nothing runs in the background: Paho's MQTTAsync
 * client is created for an ssl:// URI but not connected, and Paho (1.3.12) starts its two
 * threads only in MQTTAsync_connect(); libmosquitto has no thread unless asked for one.
 * Everything is freed before exit, so that the program runs clean under the sanitizers.
 *
 * Usage: rss_floor [DIR]: the SQLite file goes in DIR (default $TMPDIR, else /tmp) and is
 * removed. Exits 0; 1 saying which library's set-up failed; 2 for a bad command line.
 */
#include <MQTTAsync.h>
#include <errno.h>
#include <gpiod.h>
#include <ini.h>
#include <jansson.h>
#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#define PATH_LEN 4096

/* RFC 8032, 7.1, test 1: an Ed25519 public key and its signature of the empty message. */
static const unsigned char ed25519_public[32] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7,
                                                 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
                                                 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
                                                 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
static const unsigned char ed25519_signature[64] = {
        0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc, 0x80,
        0x6e, 0x82, 0x8a, 0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74, 0xd8, 0x73,
        0xe0, 0x65, 0x22, 0x49, 0x01, 0x55, 0x5f, 0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b,
        0xac, 0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b, 0xd2, 0x5b, 0xf5, 0xf0,
        0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b};

/* What stays set up until the figures are read, as the daemon keeps it for its life. */
struct libraries {
        const char *dir;
        char db_path[PATH_LEN];
        sqlite3 *db;
        EVP_PKEY *key;
        SSL_CTX *tls;
        bool mosquitto_initialised;
        struct mosquitto *mosq;
        MQTTAsync uplink;
        sd_event *event;
        sd_event_source *timer;
        json_t *json;
        char *json_text;
        int ini_keys;
        const char *gpiod_version;
        char why[PATH_LEN + 256]; /* what a failed step knows beyond its errno, for main to say */
};

/* The store: one file in WAL mode with synchronous=FULL, a table, a row and a query. */
static int setup_sqlite(struct libraries *f)
{
        sqlite3_stmt *st = NULL;
        int rc;

        snprintf(f->db_path, sizeof(f->db_path), "%s/rss-floor-%ld.db", f->dir, (long)getpid());
        rc = sqlite3_open_v2(f->db_path, &f->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
                                     SQLITE_OPEN_FULLMUTEX,
                             NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(f->db,
                                  "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                                  "CREATE TABLE reading (detector TEXT NOT NULL, at INTEGER);"
                                  "INSERT INTO reading VALUES ('u0101-smoke', 1);",
                                  NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(f->db, "SELECT count(*) FROM reading WHERE at > ?", -1, &st,
                                        NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_int(st, 1, 0);
                rc = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1
                             ? SQLITE_OK
                             : SQLITE_ERROR;
        }
        sqlite3_finalize(st);
        if (rc == SQLITE_OK)
                return 0;
        snprintf(f->why, sizeof(f->why), "%s: %s", f->db_path,
                 f->db ? sqlite3_errmsg(f->db) : "out of memory");
        return -EIO;
}

/* The bundle's hash and its signature's check: SHA-256, then an Ed25519 verify through EVP. */
static int setup_crypto(struct libraries *f)
{
        static const char bundle[] = "{\"building\":\"rss-floor\"}";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        EVP_MD_CTX *ctx;
        int ok;

        if (EVP_Digest(bundle, sizeof(bundle) - 1, md, &md_len, EVP_sha256(), NULL) != 1 ||
            md_len != 32)
                return -EIO;
        f->key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, ed25519_public,
                                             sizeof(ed25519_public));
        if (!f->key)
                return -EIO;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, f->key) == 1 &&
             EVP_DigestVerify(ctx, ed25519_signature, sizeof(ed25519_signature),
                              (const unsigned char *)"", 0) == 1;
        EVP_MD_CTX_free(ctx);
        return ok ? 0 : -EIO;
}

/* A TLS client's context, as Paho makes one for the uplink (TLS 1.2 at least). */
static int setup_tls(struct libraries *f)
{
        if (OPENSSL_init_ssl(0, NULL) != 1)
                return -EIO;
        f->tls = SSL_CTX_new(TLS_client_method());
        if (!f->tls)
                return -EIO;
        return SSL_CTX_set_cipher_list(f->tls, "DEFAULT:!SSLv3:!TLSv1") == 1 ? 0 : -EIO;
}

/* The building broker's client, not connected: no thread, TCP_NODELAY as sensors/mqtt.c. */
static int setup_mosquitto(struct libraries *f)
{
        if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
                return -EIO;
        f->mosquitto_initialised = true;
        f->mosq = mosquitto_new("rss-floor", true, f);
        if (!f->mosq)
                return -ENOMEM;
        return mosquitto_int_option(f->mosq, MOSQ_OPT_TCP_NODELAY, 1) == MOSQ_ERR_SUCCESS ? 0
                                                                                          : -EIO;
}

/* The uplink's Paho client, created as gateway/uplink.c does and never connected. */
static int setup_paho(struct libraries *f)
{
        MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer5;

        create.MQTTVersion = MQTTVERSION_5;
        create.sendWhileDisconnected = 0;
        create.maxBufferedMessages = 80;
        return MQTTAsync_createWithOptions(&f->uplink, "ssl://127.0.0.1:8883", "rss-floor",
                                           MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                           &create) == MQTTASYNC_SUCCESS
                       ? 0
                       : -EIO;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        (void)userdata;
        return 0;
}

/* The event loop with one timer; it never runs. */
static int setup_event(struct libraries *f)
{
        int r = sd_event_default(&f->event);

        if (r < 0)
                return r;
        return sd_event_add_time_relative(f->event, &f->timer, CLOCK_MONOTONIC, 30000000, 1000000,
                                          on_timer, f);
}

/* A detector's message read and an alert written. */
static int setup_json(struct libraries *f)
{
        json_error_t err;

        f->json = json_loads("{\"smoke\":false,\"battery\":97,\"linkquality\":120,"
                             "\"temperature\":24.5}",
                             0, &err);
        if (!f->json)
                return -EINVAL;
        f->json_text = json_dumps(f->json, JSON_COMPACT);
        return f->json_text ? 0 : -ENOMEM;
}

static int setup_sodium(struct libraries *f)
{
        (void)f;
        return sodium_init() < 0 ? -EIO : 0;
}

static int on_ini_key(void *user, const char *section, const char *name, const char *value)
{
        struct libraries *f = user;

        (void)section;
        (void)name;
        (void)value;
        f->ini_keys++;
        return 1;
}

/* A configuration file's worth of parsing. */
static int setup_ini(struct libraries *f)
{
        if (ini_parse_string("[gateway]\nid = gw-rss-floor\n[mqtt]\nhost = 127.0.0.1\n", on_ini_key,
                             f) != 0)
                return -EINVAL;
        return f->ini_keys == 2 ? 0 : -EINVAL;
}

static int setup_gpiod(struct libraries *f)
{
        f->gpiod_version = gpiod_version_string();
        return f->gpiod_version ? 0 : -EIO;
}

static void unlink_db(const struct libraries *f)
{
        static const char *const suffix[] = {"", "-wal", "-shm"};
        char path[sizeof(f->db_path) + 8];

        for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
                snprintf(path, sizeof(path), "%s%s", f->db_path, suffix[i]);
                unlink(path);
        }
}

static void libraries_free(struct libraries *f)
{
        free(f->json_text);
        json_decref(f->json);
        sd_event_source_unref(f->timer);
        sd_event_unref(f->event);
        if (f->uplink)
                MQTTAsync_destroy(&f->uplink);
        mosquitto_destroy(f->mosq);
        if (f->mosquitto_initialised)
                mosquitto_lib_cleanup();
        SSL_CTX_free(f->tls);
        EVP_PKEY_free(f->key);
        if (f->db)
                sqlite3_close(f->db);
        if (f->db_path[0])
                unlink_db(f);
}

/* The numbers after "@key[i]:" in the /proc file @path, into @value[i] (-1 when not there). */
static void proc_fields(const char *path, const char *const *key, long *value, size_t n)
{
        char line[256];
        FILE *fp = fopen(path, "re");

        for (size_t i = 0; i < n; i++)
                value[i] = -1;
        if (!fp)
                return;
        while (fgets(line, sizeof(line), fp))
                for (size_t i = 0; i < n; i++) {
                        size_t len = strlen(key[i]);

                        if (strncmp(line, key[i], len) == 0 && line[len] == ':')
                                value[i] = strtol(line + len + 1, NULL, 10);
                }
        fclose(fp);
}

static const struct step {
        const char *what;
        int (*setup)(struct libraries *f);
} steps[] = {
        {"SQLite", setup_sqlite},          {"libcrypto", setup_crypto}, {"libssl", setup_tls},
        {"libmosquitto", setup_mosquitto}, {"Paho", setup_paho},        {"sd-event", setup_event},
        {"jansson", setup_json},           {"libsodium", setup_sodium}, {"inih", setup_ini},
        {"libgpiod", setup_gpiod},
};

int main(int argc, char **argv)
{
        const char *tmp = getenv("TMPDIR");
        struct libraries f = {.dir = argc > 1 ? argv[1] : tmp && *tmp ? tmp : "/tmp"};
        static const char *const status_fields[] = {"VmRSS", "RssAnon", "RssFile", "Threads"};
        long status_values[4], pss_kib;
        int status = 1;

        if (argc > 2) {
                fprintf(stderr, "usage: rss_floor [DIR]\n");
                return 2;
        }
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                int r = steps[i].setup(&f);

                if (r < 0) {
                        fprintf(stderr, "rss_floor: setting up %s failed: %s\n", steps[i].what,
                                f.why[0] ? f.why : strerror(-r));
                        ERR_print_errors_fp(stderr);
                        goto out_free;
                }
        }
        proc_fields("/proc/self/status", status_fields, status_values, 4);
        proc_fields("/proc/self/smaps_rollup", (const char *const[]){"Pss"}, &pss_kib, 1);
        printf("VmRSS %ld RssAnon %ld RssFile %ld Pss %ld Threads %ld\n", status_values[0],
               status_values[1], status_values[2], pss_kib, status_values[3]);
        status = 0;

out_free:
        libraries_free(&f);
        return status;
}
