/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_web_request: what the desk's page server reads from the network before anything acts on
 * it (gateway/web_request.h): a form field of a urlencoded body, an incident action's path, and
 * the listening address of the config (an installer's text, checked by the same code).
 *
 * Input: one byte that sizes the output buffer (1 to 128 bytes), then `NAME NUL BODY`; the
 * body runs to the end of the input and is not NUL-terminated, as libmicrohttpd's upload data
 * is not. The body is also taken, NUL-terminated, as a path and as a listening address.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "web_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void form_field(const uint8_t *body, size_t len, const char *name, size_t out_size)
{
        uint8_t *copy = malloc(len ? len : 1);
        char *out = malloc(out_size);
        int r;

        if (!copy || !out)
                abort();
        memcpy(copy, body, len);
        memset(out, 0x5a, out_size);
        r = web_form_field((const char *)copy, len, name, out, out_size);
        fuzz_check(r == 0 || r == -ENOENT || r == -EINVAL || r == -ENOBUFS,
                   "web_form_field: an errno it documents");
        fuzz_check(r != 0 || memchr(out, '\0', out_size), "a field's value is NUL-terminated");
        free(out);
        free(copy);
}

static void action_path(const char *path)
{
        char verb[WEB_ACTION_VERB_MAX];
        long long id = -1;
        int r;

        memset(verb, 0x5a, sizeof(verb));
        r = web_action_path(path, &id, verb);
        fuzz_check(r == 0 || r == -ENOENT || r == -EINVAL,
                   "web_action_path: an errno it documents");
        if (r != 0)
                return;
        fuzz_check(id >= 1 && id <= (1LL << 53), "an action's id is 1 .. 2^53");
        fuzz_check(memchr(verb, '\0', sizeof(verb)) &&
                           (strcmp(verb, "acknowledge") == 0 || strcmp(verb, "silence") == 0 ||
                            strcmp(verb, "reset") == 0),
                   "an action's verb is one of three");
        fuzz_check(strncmp(path, "/api/incidents/", 15) == 0, "an action's path");
}

static void listen_address(const char *text)
{
        struct sockaddr_storage addr;
        socklen_t len = 0;
        int r;

        memset(&addr, 0x5a, sizeof(addr));
        r = web_parse_listen(text, &addr, &len);
        fuzz_check(r == 0 || r == -EINVAL, "web_parse_listen: 0 or -EINVAL");
        if (r != 0)
                return;
        fuzz_check((addr.ss_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
                           (addr.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6)),
                   "an IPv4 or IPv6 address of its size");
        fuzz_check(ntohs(((const struct sockaddr_in *)&addr)->sin_port) != 0, "a port 1..65535");
        web_is_loopback((const struct sockaddr *)&addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *nul, *body;
        size_t out_size, name_len, body_len;
        char *name, *text;

        if (size < 1)
                return 0;
        out_size = 1 + data[0] % 128;
        nul = memchr(data + 1, '\0', size - 1);
        name_len = nul ? (size_t)(nul - (data + 1)) : 0;
        body = nul ? nul + 1 : data + 1;
        body_len = (size_t)(data + size - body);
        name = strndup((const char *)data + 1, name_len);
        text = strndup((const char *)body, body_len);
        if (!name || !text)
                abort();
        form_field(body, body_len, name, out_size);
        action_path(text);
        listen_address(text);
        free(text);
        free(name);
        return 0;
}
