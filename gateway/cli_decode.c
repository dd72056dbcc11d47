/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli_decode: `firegate decode --bridge B TOPIC PAYLOAD`. Runs one message through the same
 * decoder the daemon uses and prints the readings it gives, as a table or as JSON, or says why
 * it gives none or is refused. An installer checks a device with it before relying on it:
 * publish a test press, copy the message from `mosquitto_sub -v`, and see what firegate makes
 * of it. For Zigbee2MQTT, `--devices FILE` first learns the definitions the daemon would learn
 * from the retained bridge/devices, since they decide how some models' keys are read.
 *
 * Nothing is opened but the config (for the bridges' base topics) and the files named. A
 * refusal quotes no more of the payload than the decoder's short excerpt: what is typed here
 * is also what is pasted into tickets.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decode.h"
#include "fileio.h"
#include "log.h"
#include "replay.h"

struct decode_cli {
        enum decode_bridge bridge;
        bool have_bridge;
        const char *base;    /* --base, else the config's */
        const char *devices; /* --devices FILE */
        bool json;
        const char *topic;
        const char *payload; /* "-": standard input */
};

static void decode_usage(FILE *out)
{
        fprintf(out,
                "Usage: firegate [--config PATH] decode --bridge BRIDGE [--base TOPIC]\n"
                "                [--devices FILE] [--json] TOPIC PAYLOAD\n\n"
                "Shows the readings one MQTT message from a detector bridge gives the rules\n"
                "engine, exactly as the daemon decodes it, or why it gives none. PAYLOAD is the\n"
                "message's payload; - reads it from standard input. docs/bridges.md says what\n"
                "each bridge's topics and keys mean.\n\n"
                "  --bridge BRIDGE   zigbee2mqtt, tasmota, esphome or generic\n"
                "  --base TOPIC      the bridge's base topic or prefix (default: the config's\n"
                "                    [bridges] setting; none for tasmota)\n"
                "  --devices FILE    zigbee2mqtt: learn the device definitions in FILE (the\n"
                "                    retained payload of <base>/bridge/devices) first\n"
                "  --json            print the readings as JSON\n"
                "  -h, --help        show this help\n\n"
                "Exit status 0 when the message gives readings or cleanly nothing to report;\n"
                "3 when it is refused (too large, malformed, not a detector's topic) or a value\n"
                "in it means nothing (passed on as not-a-number, which the engine counts as\n"
                "invalid data); 2 for a usage error; 1 for a runtime failure.\n");
}

/* The base the daemon would use: what the config says for the bridge. */
static int config_base(struct cli *cli, struct decode_cli *opt)
{
        int r;

        if (opt->base)
                return CLI_EXIT_OK;
        r = cli_config(cli);
        if (r != CLI_EXIT_OK)
                return r;
        switch (opt->bridge) {
        case DECODE_ZIGBEE2MQTT:
                opt->base = cli->config->z2m_base;
                break;
        case DECODE_ESPHOME:
                opt->base = cli->config->esphome_prefix;
                break;
        case DECODE_GENERIC:
                opt->base = cli->config->generic_prefix;
                break;
        case DECODE_TASMOTA:
                break;
        }
        return CLI_EXIT_OK;
}

/* Reads standard input up to @max + 1 bytes: one more than any cap, so that the decoder sees
 * an oversized payload as oversized and refuses it itself. */
static int read_stdin(size_t max, char **data, size_t *len)
{
        size_t cap = 4096, n = 0, got;
        char *buf = malloc(cap), *p;

        if (!buf)
                return -ENOMEM;
        while (n <= max) {
                if (n == cap) {
                        cap *= 2;
                        p = realloc(buf, cap);
                        if (!p) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = p;
                }
                got = fread(buf + n, 1, cap - n < max + 1 - n ? cap - n : max + 1 - n, stdin);
                n += got;
                if (got == 0)
                        break;
        }
        if (ferror(stdin)) {
                free(buf);
                return -EIO;
        }
        *data = buf;
        *len = n;
        return 0;
}

static const char *refusal_name(int r)
{
        switch (r) {
        case -EMSGSIZE:
                return "too large";
        case -EBADMSG:
                return "malformed";
        case -ENOENT:
                return "not a detector's topic of this bridge";
        default:
                return "failed";
        }
}

static int learn_devices(struct decoder *dec, const struct decode_cli *opt)
{
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX], *topic = NULL, *data = NULL;
        size_t len = 0, base_len;
        int r, ret = CLI_EXIT_OK;

        r = fileio_read_all(opt->devices, DECODE_DEFAULT_MAX_DEFINITIONS, &data, &len);
        if (r == -EFBIG) {
                log_error("%s: over %d bytes, the cap for Zigbee2MQTT's device definitions",
                          opt->devices, DECODE_DEFAULT_MAX_DEFINITIONS);
                return CLI_EXIT_REFUSED;
        }
        if (r < 0) {
                log_error_errno(r, "%s: cannot read", opt->devices);
                return CLI_EXIT_FAILURE;
        }
        base_len = strlen(opt->base);
        while (base_len > 0 && opt->base[base_len - 1] == '/')
                base_len--;
        if (asprintf(&topic, "%.*s%sbridge/devices", (int)base_len, opt->base,
                     base_len ? "/" : "") < 0) {
                topic = NULL;
                log_error("out of memory");
                ret = CLI_EXIT_FAILURE;
                goto out_free;
        }
        r = decoder_message(dec, topic, data, len, out, why, sizeof(why));
        if (r < 0) {
                log_error("%s: device definitions refused (%s): %s", opt->devices, refusal_name(r),
                          why);
                ret = r == -ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_REFUSED;
                goto out_free;
        }
        log_info("%s: %s", opt->devices, why);
out_free:
        free(topic);
        free(data);
        return ret;
}

static void format_value(const struct decode_reading *r, char *buf, size_t size)
{
        if (isnan(r->value))
                snprintf(buf, size, "nan");
        else if (isinf(r->value))
                snprintf(buf, size, "%sinf", r->value < 0 ? "-" : "");
        else
                snprintf(buf, size, "%g", r->value);
}

/* Invalid and heartbeat readings carry no value. */
static bool has_value(const struct decode_reading *r)
{
        return r->kind != ENGINE_READING_INVALID && r->kind != ENGINE_READING_HEARTBEAT;
}

static const char *device_shown(const struct decode_reading *r)
{
        /* An empty device is Zigbee2MQTT itself (decode.h). */
        return r->device[0] ? r->device : "(bridge)";
}

static int print_table(const struct decode_reading *out, size_t n)
{
        static const char *const names[] = {"device", "reading", "value", "flags"};
        struct table *t = table_new(4, names);
        char value[64];
        int r = t ? 0 : -ENOMEM;

        for (size_t i = 0; r == 0 && i < n; i++) {
                format_value(&out[i], value, sizeof(value));
                r = table_row(t);
                if (r == 0)
                        r = table_text(t, device_shown(&out[i]));
                if (r == 0)
                        r = table_text(t, replay_reading_name(out[i].kind));
                if (r == 0)
                        r = table_text(t, has_value(&out[i]) ? value : NULL);
                if (r == 0)
                        r = table_text(t, out[i].flags & ENGINE_READING_FLAG_TEST ? "test" : NULL);
        }
        if (r == 0)
                r = table_print(t, TABLE_TEXT, stdout);
        table_free(t);
        return r;
}

static json_t *json_value(const struct decode_reading *r)
{
        /* JSON has no NaN or infinity: null, which the table shows as nan or inf. */
        if (!has_value(r) || !isfinite(r->value))
                return json_null();
        if (r->value == floor(r->value) && fabs(r->value) < 1e15)
                return json_integer((json_int_t)r->value);
        return json_real(r->value);
}

static int print_json(const struct decode_reading *out, size_t n)
{
        json_t *rows = json_array(), *row, *flags;
        int r = rows ? 0 : -ENOMEM;

        for (size_t i = 0; r == 0 && i < n; i++) {
                flags = json_array();
                if (flags && (out[i].flags & ENGINE_READING_FLAG_TEST) &&
                    json_array_append_new(flags, json_string("test")) < 0) {
                        json_decref(flags);
                        flags = NULL;
                }
                row = json_pack("{s:s, s:s, s:o, s:o*}", "device", out[i].device, "reading",
                                replay_reading_name(out[i].kind), "value", json_value(&out[i]),
                                "flags", flags);
                if (!row || json_array_append_new(rows, row) < 0)
                        r = -ENOMEM;
        }
        if (r == 0 && json_dumpf(rows, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                r = -EIO;
        if (r == 0 && fputc('\n', stdout) == EOF)
                r = -EIO;
        json_decref(rows);
        return r;
}

/* Exit 3 for a refusal, and for readings given with a reason: a value the decoder could not
 * understand (passed on as NaN, which the engine counts as invalid data) or readings that did
 * not fit. An installer's check must not pass on a device that says such things. */
static int report(const struct decode_cli *opt, const struct decode_reading *out, int n,
                  const char *why)
{
        int r;

        if (n < 0) {
                if (n == -ENOMEM) {
                        log_error("out of memory");
                        return CLI_EXIT_FAILURE;
                }
                log_error("message refused (%s): %s", refusal_name(n), why);
                if (n == -EBADMSG)
                        log_info("it counts as invalid data from %s",
                                 out[0].device[0] ? out[0].device : "no device");
                return CLI_EXIT_REFUSED;
        }
        r = opt->json ? print_json(out, (size_t)n) : n > 0 ? print_table(out, (size_t)n) : 0;
        if (r == 0 && n == 0 && !opt->json && printf("nothing to report: %s\n", why) < 0)
                r = -EIO;
        if (r == 0 && fflush(stdout) == EOF)
                r = -EIO;
        if (r < 0) {
                log_error_errno(r, "cannot print the readings");
                return CLI_EXIT_FAILURE;
        }
        if (n == 0) {
                if (opt->json)
                        log_info("nothing to report: %s", why);
                return CLI_EXIT_OK;
        }
        if (!why[0])
                return CLI_EXIT_OK;
        log_warning("%s", why);
        return CLI_EXIT_REFUSED;
}

static int do_decode(struct cli *cli, struct decode_cli *opt)
{
        struct decode_options dopt = {0};
        struct decode_reading out[DECODE_READINGS_MAX];
        char why[DECODE_WHY_MAX], *input = NULL;
        const char *payload = opt->payload;
        struct decoder *dec = NULL;
        size_t len;
        int r, ret;

        ret = config_base(cli, opt);
        if (ret != CLI_EXIT_OK)
                return ret;
        dopt.base_topic = opt->base;
        r = decoder_new(opt->bridge, &dopt, &dec);
        if (r == -EINVAL)
                return cli_usage_error("decode", "--base must be a topic, without + or #");
        if (r < 0) {
                log_error_errno(r, "cannot set up the decoder");
                return CLI_EXIT_FAILURE;
        }
        if (opt->devices) {
                ret = learn_devices(dec, opt);
                if (ret != CLI_EXIT_OK)
                        goto out_free;
        }
        if (strcmp(payload, "-") == 0) {
                r = read_stdin(DECODE_DEFAULT_MAX_DEFINITIONS, &input, &len);
                if (r < 0) {
                        log_error_errno(r, "cannot read the payload from standard input");
                        ret = CLI_EXIT_FAILURE;
                        goto out_free;
                }
                payload = input;
        } else {
                len = strlen(payload);
        }
        r = decoder_message(dec, opt->topic, payload, len, out, why, sizeof(why));
        ret = report(opt, out, r, why);
out_free:
        free(input);
        decoder_free(dec);
        return ret;
}

int cmd_decode(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                {"bridge", required_argument, NULL, 'b'},  {"base", required_argument, NULL, 'B'},
                {"devices", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},          {0},
        };
        struct decode_cli opt = {0};
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'b':
                        if (decode_bridge_from_name(optarg, &opt.bridge) < 0)
                                return cli_usage_error("decode", "--bridge must be zigbee2mqtt, "
                                                                 "tasmota, esphome or generic");
                        opt.have_bridge = true;
                        break;
                case 'B':
                        opt.base = optarg;
                        break;
                case 'd':
                        opt.devices = optarg;
                        break;
                case 'j':
                        opt.json = true;
                        break;
                case 'h':
                        decode_usage(stdout);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("decode", "unknown option or missing argument");
                }
        }
        if (!opt.have_bridge)
                return cli_usage_error("decode", "--bridge is required");
        if (opt.devices && opt.bridge != DECODE_ZIGBEE2MQTT)
                return cli_usage_error("decode", "--devices is for --bridge zigbee2mqtt only");
        if (optind + 2 != argc)
                return cli_usage_error("decode", "expected TOPIC and PAYLOAD (- for standard "
                                                 "input)");
        opt.topic = argv[optind];
        opt.payload = argv[optind + 1];
        return do_decode(cli, &opt);
}
