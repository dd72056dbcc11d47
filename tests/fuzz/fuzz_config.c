/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_config: the config parser (gateway/config.h) on any text, read as the contents of
 * /etc/firegate/firegate.conf. A config that loads is printed, its uplink read and warned
 * about, and where each key came from asked; then what config_print() wrote must load again,
 * to the same settings, as its header promises: `check-config` output is a config an installer
 * may install.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_support.h"

#define PATH "/etc/firegate/firegate.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* config_print() of @c, as a string to free. */
static char *printed(const struct config *c, size_t *len)
{
        char *text = NULL;
        FILE *out = open_memstream(&text, len);

        if (!out)
                abort();
        config_print(c, out);
        if (fclose(out) != 0)
                abort();
        return text;
}

/* @text without its comment lines: the settings alone, which two prints of the same settings
 * share (the comments say which line of which file set them). Changes @text. */
static char *settings_of(char *text)
{
        char *w = text;

        for (const char *line = text; *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);

                if (line[0] != '#')
                        w = (char *)memmove(w, line, n) + n;
                line += n;
        }
        *w = '\0';
        return text;
}

/* What config_print() wrote loads again, to the same settings. */
static void check_printed(const struct config *c)
{
        struct config *again = NULL;
        struct diag *d = diag_new();
        size_t len = 0, len_again = 0;
        char *text = printed(c, &len), *text_again = NULL;
        bool same;
        int r;

        if (!d)
                abort();
        r = config_load_text(PATH, text, len, d, &again);
        if (r != 0) {
                fprintf(stderr, "--- printed:\n%s--- refused:\n", text);
                diag_print(d, stderr, NULL);
        }
        fuzz_check(r == 0, "config_print() writes a config that config_load() accepts");
        text_again = printed(again, &len_again);
        same = strcmp(settings_of(text), settings_of(text_again)) == 0;
        if (!same)
                fprintf(stderr, "--- settings printed:\n%s--- read back and printed:\n%s", text,
                        text_again);
        fuzz_check(same, "what config_print() writes reads back as the same settings");
        config_free(again);
        diag_free(d);
        free(text_again);
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config *c = NULL;
        struct diag *d = diag_new();
        char *owned = NULL, where[512];
        const char *uris[CONFIG_UPLINK_URIS_MAX];
        int r;

        if (!d)
                abort();
        r = config_load_text(PATH, (const char *)data, size, d, &c);
        diag_print(d, fuzz_devnull(), "config: ");
        fuzz_check((r == 0) == (c != NULL), "a config exactly when it loads");
        if (r == 0) {
                config_print(c, fuzz_devnull());
                config_uplink_warnings(c, fuzz_devnull(), "warning: ");
                fuzz_check(config_uplink_uris(c, &owned, uris, CONFIG_UPLINK_URIS_MAX) <=
                                   CONFIG_UPLINK_URIS_MAX,
                           "at most max uplink URIs");
                free(owned);
                config_where(c, "gateway", "id", where, sizeof(where));
                config_where(c, "uplink", "uris", where, sizeof(where));
                config_where(c, "sounder", "topic", where, sizeof(where));
                check_printed(c);
        }
        config_free(c);
        diag_free(d);
        return 0;
}
