/* libFuzzer target for the page language (gw_req_lang) and the language switch's link
 * (gw_page_lang_switch_url). The input is path 0xFF query 0xFF Cookie header 0xFF
 * ui_locales. Checks: the language is "en" or "vi", the one a reference reading of RFC 5646
 * primary subtags gives (?lang=, then the lang cookie, then the first tag of ui_locales that
 * names one); the link is a path on this host (one '/', then neither '/' nor '\') that ends
 * by asking for the other language.
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_page.h"
#include "gw_page_internal.h"

static const char *const SEEDS[] = {
    "/authorize\xffscope=openid&lang=en\xff\xffvi",
    "//evil.example/x\xff\xff"
    "a=1; lang=EN-gb\xff",
    "/\\evil\xff"
    "lang=english\xfflang=vi\xff"
    "fr-FR  env en-US vi",
    "/error\xff"
    "lang=%76i&x=%zz\xff\xff"
    "de VI",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    write_text_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

/* the reference: a tag of n bytes names "en" or "vi" by its primary subtag, or NULL */
static const char *ref_tag(const char *t, size_t n)
{
    if (!t || n < 2 || (n > 2 && t[2] != '-'))
        return NULL;
    char a = (char)tolower((unsigned char)t[0]), b = (char)tolower((unsigned char)t[1]);
    return a == 'e' && b == 'n' ? "en" : a == 'v' && b == 'i' ? "vi" : NULL;
}

static const char *ref_lang(const gw_req_t *req, const char *cookie_name, const char *ui_locales)
{
    const char *q = gw_form_get(&req->q, "lang");
    const char *l = q ? ref_tag(q, strlen(q)) : NULL;
    char *c = l ? NULL : gw_cookie_get(req->cookie, cookie_name);
    if (c)
        l = ref_tag(c, strlen(c));
    free(c);
    for (size_t i = 0, n = strlen(ui_locales); !l && i < n;) {
        size_t e = i;
        while (e < n && ui_locales[e] != ' ')
            e++;
        l = ref_tag(ui_locales + i, e - i);
        i = e + 1;
    }
    return l ? l : "vi";
}

/* the i-th 0xFF-separated part of s (NUL-terminated; "" past the last) */
static char *part(const char *s, int i)
{
    for (; i > 0 && s; i--)
        if ((s = strchr(s, '\xff')))
            s++;
    if (!s)
        return strdup("");
    size_t n = strcspn(s, "\xff");
    char *p = malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void check_switch(const gw_req_t *req, const char *lang)
{
    char *u = gw_page_lang_switch_url(req, lang);
    CHECK(u[0] == '/' && u[1] != '/' && u[1] != '\\');
    const char *want = strcmp(lang, "en") ? "lang=en" : "lang=vi";
    size_t n = strlen(u);
    CHECK(n > 8 && !strcmp(u + n - 7, want) && (u[n - 8] == '?' || u[n - 8] == '&'));
    free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char *path = part(s, 0), *query = part(s, 1), *cookie = part(s, 2), *locales = part(s, 3);
    gw_req_t req;
    memset(&req, 0, sizeof(req));
    req.method = GW_M_GET;
    req.path = path;
    req.cookie = cookie;
    if (gw_form_parse(&req.q, query, strlen(query), 64) == GW_OK) {
        gw_pages_t pg = { .lang_cookie = "lang" };
        const char *lang = gw_req_lang(&req, &pg, locales);
        CHECK(!strcmp(lang, "en") || !strcmp(lang, "vi"));
        CHECK(!strcmp(lang, ref_lang(&req, "lang", locales)));
        check_switch(&req, lang);
    }
    gw_form_cleanup(&req.q);
    free(locales);
    free(cookie);
    free(query);
    free(path);
    free(s);
    return 0;
}
