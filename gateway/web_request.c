/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "web_request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/* Decodes @in of @len bytes into @out of @size bytes. */
static int decode(const char *in, size_t len, char *out, size_t size)
{
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                int c = (unsigned char)in[i];

                if (c == '+') {
                        c = ' ';
                } else if (c == '%') {
                        int hi = i + 2 < len ? crypto_hex_digit(in[i + 1]) : -1;
                        int lo = i + 2 < len ? crypto_hex_digit(in[i + 2]) : -1;

                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = hi * 16 + lo;
                        i += 2;
                }
                if (c == '\0')
                        return -EINVAL;
                if (o + 1 >= size)
                        return -ENOBUFS;
                out[o++] = (char)c;
        }
        out[o] = '\0';
        return 0;
}

int web_form_field(const char *body, size_t len, const char *name, char *out, size_t size)
{
        size_t name_len = strlen(name), start = 0;

        if (!size)
                return -ENOBUFS;
        while (start <= len) {
                const char *amp = memchr(body + start, '&', len - start);
                size_t end = amp ? (size_t)(amp - body) : len;
                const char *eq = memchr(body + start, '=', end - start);
                size_t key_end = eq ? (size_t)(eq - body) : end;

                /* Field names the page sends have no escapes, so a plain compare will do. */
                if (key_end - start == name_len && memcmp(body + start, name, name_len) == 0)
                        return decode(eq ? eq + 1 : body + end, eq ? end - key_end - 1 : 0, out,
                                      size);
                if (!amp)
                        break;
                start = end + 1;
        }
        return -ENOENT;
}

int web_action_path(const char *path, long long *id, char verb[WEB_ACTION_VERB_MAX])
{
        static const char prefix[] = "/api/incidents/";
        static const char *const verbs[] = {"acknowledge", "silence", "reset"};
        const char *p = path + sizeof(prefix) - 1, *slash;
        unsigned long long value = 0;
        size_t digits;

        if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
                return -ENOENT;
        slash = strchr(p, '/');
        if (!slash)
                return -ENOENT;
        digits = (size_t)(slash - p);
        if (!digits || digits > 16 || p[0] == '0' || strspn(p, "0123456789") != digits)
                return -EINVAL;
        for (size_t i = 0; i < digits; i++)
                value = value * 10 + (unsigned long long)(p[i] - '0');
        if (value > (1ULL << 53))
                return -EINVAL;
        for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
                if (strcmp(slash + 1, verbs[v]) == 0) {
                        *id = (long long)value;
                        snprintf(verb, WEB_ACTION_VERB_MAX, "%s", verbs[v]);
                        return 0;
                }
        }
        return -EINVAL;
}

int web_parse_listen(const char *text, struct sockaddr_storage *addr, socklen_t *len)
{
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = strrchr(text, ':');
        size_t host_len = colon ? (size_t)(colon - text) : 0;
        unsigned long port;
        char *end;

        memset(addr, 0, sizeof(*addr));
        if (!colon || !host_len || host_len >= sizeof(host) || !colon[1] ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5)
                return -EINVAL;
        port = strtoul(colon + 1, &end, 10);
        if (port < 1 || port > 65535)
                return -EINVAL;
        memcpy(host, text, host_len);
        host[host_len] = '\0';
        if (host[0] == '[') {
                struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;

                if (host_len < 3 || host[host_len - 1] != ']')
                        return -EINVAL;
                host[host_len - 1] = '\0';
                if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
                        return -EINVAL;
                a6->sin6_family = AF_INET6;
                a6->sin6_port = htons((uint16_t)port);
                *len = sizeof(*a6);
        } else {
                struct sockaddr_in *a4 = (struct sockaddr_in *)addr;

                if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
                        return -EINVAL;
                a4->sin_family = AF_INET;
                a4->sin_port = htons((uint16_t)port);
                *len = sizeof(*a4);
        }
        return 0;
}

bool web_is_loopback(const struct sockaddr *addr)
{
        if (addr->sa_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
        if (addr->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;

                return IN6_IS_ADDR_LOOPBACK(a) ||
                       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        return false;
}
