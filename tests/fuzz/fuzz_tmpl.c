/* libFuzzer target for gw_tmpl. Each input is used twice:
 * 1. as a variable value rendered by a fixed template: the output must hold no raw
 *    < > " ' ` = from the value, and decoding its entities must give the value back;
 * 2. as template text: parsing must fail cleanly or give a set that renders in both
 *    languages. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_tmpl.h"

/* Each value ends at a byte the escaped value cannot contain. */
static const char fixed[] = "<p title=\"{{v}}\">{{v}}</p>{{#v}}{{^w}}<i>{{v}}</i>{{/w}}{{/v}}";
static const char prefix[] = "<p title=\"";

/* Decodes the escaped value starting at *p up to the byte `stop`; returns the decoded
 * length written to out, and leaves *p at the stop byte. */
static size_t decode(const char **p, char stop, char *out)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = { { "&amp;", '&' },  { "&lt;", '<' },  { "&gt;", '>' }, { "&quot;", '"' },
                 { "&#39;", '\'' }, { "&#96;", '`' }, { "&#61;", '=' } };
    const char *s = *p;
    size_t n = 0;
    while (*s != stop) {
        CHECK(*s != '\0');
        CHECK(strchr("<>\"'`=", *s) == NULL);
        if (*s == '&') {
            size_t i = 0;
            for (; i < sizeof(ents) / sizeof(ents[0]); i++) {
                size_t l = strlen(ents[i].ent);
                if (strncmp(s, ents[i].ent, l) == 0) {
                    out[n++] = ents[i].c;
                    s += l;
                    break;
                }
            }
            CHECK(i < sizeof(ents) / sizeof(ents[0]));
            continue;
        }
        out[n++] = *s++;
    }
    *p = s;
    return n;
}

static void fuzz_value(const uint8_t *data, size_t size)
{
    static gw_tmpl_set_t *set;
    if (set == NULL) {
        set = gw_tmpl_parse_one("fixed", fixed, sizeof(fixed) - 1, NULL, 0);
        CHECK(set != NULL);
    }
    char *value = malloc(size + 1);
    char *dec = malloc(size + 1);
    CHECK(value && dec);
    memcpy(value, data, size);
    value[size] = '\0';
    size_t vlen = strlen(value);
    gw_tmpl_var_t vars[] = { { "v", value } };
    size_t len = 0;
    char *out = gw_tmpl_render(set, "fixed", "en", vars, 1, &len);
    CHECK(out != NULL && len == strlen(out));
    CHECK(strncmp(out, prefix, sizeof(prefix) - 1) == 0);
    const char *p = out + sizeof(prefix) - 1;
    CHECK(decode(&p, '"', dec) == vlen && memcmp(dec, value, vlen) == 0);
    CHECK(strncmp(p, "\">", 2) == 0);
    p += 2;
    CHECK(decode(&p, '<', dec) == vlen && memcmp(dec, value, vlen) == 0);
    CHECK(strncmp(p, "</p>", 4) == 0);
    p += 4;
    if (vlen > 0) {
        CHECK(strncmp(p, "<i>", 3) == 0);
        p += 3;
        CHECK(decode(&p, '<', dec) == vlen && memcmp(dec, value, vlen) == 0);
        CHECK(strncmp(p, "</i>", 4) == 0);
        p += 4;
    }
    CHECK(*p == '\0');
    free(out);
    free(dec);
    free(value);
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
    char err[256];
    err[0] = '\0';
    gw_tmpl_set_t *set = gw_tmpl_parse_one("f", (const char *)data, size, err, sizeof(err));
    if (set == NULL) {
        CHECK(strncmp(err, "f", 1) == 0);
        return;
    }
    gw_tmpl_var_t vars[] = { { "a", "<x>" }, { "b", "" }, { "c", "1" } };
    for (int l = 0; l < 2; l++) {
        size_t len = 0;
        char *out = gw_tmpl_render(set, "f", l ? "en" : "vi", vars, 3, &len);
        CHECK(out != NULL && len == strlen(out));
        free(out);
    }
    gw_tmpl_free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_value(data, size);
    fuzz_parse(data, size);
    return 0;
}
