/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_command: the platform's commands (gateway/command.h) as the gateway's uplink receives
 * them on firegate/v1/<gateway>/cmd/<account>/<verb>. The gateway's clock reads
 * 2026-11-23T08:00:00Z and commands may be 60 s off it, the default command_max_age_s.
 *
 * Input: `TOPIC NUL PAYLOAD`; the payload runs to the end of the input, is copied into a buffer
 * of exactly its size and is not NUL-terminated, as the MQTT client's are not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "fuzz_support.h"

#define PREFIX     "firegate/v1/gw-fuzz-01/"
#define NOW_MS     1795420800000LL
#define MAX_AGE_MS 60000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool terminated(const char *s, size_t size)
{
        return memchr(s, '\0', size) != NULL;
}

static void check_command(int r, const struct command *c, const char *why, size_t why_len)
{
        fuzz_check(r == 0 || r == -ENOENT || r == -EINVAL || r == -ENOMEM,
                   "command_parse: an errno it documents");
        fuzz_check(terminated(why, why_len), "why is NUL-terminated");
        fuzz_check(r != -EINVAL || why[0], "a refusal says why");
        fuzz_check(terminated(c->account, sizeof(c->account)) &&
                           terminated(c->verb, sizeof(c->verb)) &&
                           terminated(c->request_id, sizeof(c->request_id)) &&
                           terminated(c->target, sizeof(c->target)) &&
                           terminated(c->operator_name, sizeof(c->operator_name)) &&
                           terminated(c->filters, sizeof(c->filters)),
                   "every field is NUL-terminated");
        if (r != 0)
                return;
        fuzz_check(strcmp(c->verb, "acknowledge") == 0 || strcmp(c->verb, "silence") == 0 ||
                           strcmp(c->verb, "reset") == 0 || strcmp(c->verb, "query") == 0,
                   "an accepted command has a known verb");
        fuzz_check(c->account[0] && !strchr(c->account, '/'), "the account is one topic level");
        fuzz_check(strlen(c->request_id) >= 8, "an accepted command has its request id");
        fuzz_check(c->sent_at >= NOW_MS - MAX_AGE_MS && c->sent_at <= NOW_MS + MAX_AGE_MS,
                   "an accepted command is fresh");
        if (strcmp(c->verb, "query") == 0)
                fuzz_check(c->page >= 1 && c->page_size >= 1 &&
                                   c->page_size <= COMMAND_PAGE_SIZE_MAX && c->filters[0] == '{',
                           "a query's page and filters");
        else
                fuzz_check(c->target[0] != '\0', "an action has a target");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *nul = memchr(data, '\0', size);
        size_t topic_len = nul ? (size_t)(nul - data) : size;
        size_t payload_len = nul ? size - topic_len - 1 : 0;
        char *topic = malloc(topic_len + 1), why[256];
        uint8_t *payload = malloc(payload_len ? payload_len : 1);
        struct command c;
        int r;

        if (!topic || !payload)
                abort();
        memcpy(topic, data, topic_len);
        topic[topic_len] = '\0';
        if (payload_len)
                memcpy(payload, nul + 1, payload_len);
        memset(&c, 0x5a, sizeof(c));
        memset(why, 0x5a, sizeof(why));
        r = command_parse(PREFIX, topic, payload, payload_len, NOW_MS, MAX_AGE_MS, &c, why,
                          sizeof(why));
        check_command(r, &c, why, sizeof(why));
        free(payload);
        free(topic);
        return 0;
}
