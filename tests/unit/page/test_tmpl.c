/* Unit tests for gw_tmpl: syntax, escaping, catalogs, load errors, and every real page in
 * templates/ rendered in both languages. */
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_tmpl.h"

#define NVARS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ----------------------------------------------------------------------------- */

/* Renders template text `text` with vars in `lang`; asserts it parses. */
static char *render_text(const char *text, const char *lang, const gw_tmpl_var_t *vars, size_t nvars)
{
    char err[256] = "";
    gw_tmpl_set_t *set = gw_tmpl_parse_one("t", text, strlen(text), err, sizeof(err));
    if (set == NULL)
        fail_msg("parse failed: %s", err);
    size_t len = 0;
    char *out = gw_tmpl_render(set, "t", lang, vars, nvars, &len);
    assert_non_null(out);
    assert_int_equal(len, strlen(out));
    gw_tmpl_free(set);
    return out;
}

static void assert_renders(const char *text, const gw_tmpl_var_t *vars, size_t nvars, const char *expect)
{
    char *out = render_text(text, "vi", vars, nvars);
    assert_string_equal(out, expect);
    free(out);
}

static void assert_parse_error(const char *text, const char *expect)
{
    char err[256] = "";
    gw_tmpl_set_t *set = gw_tmpl_parse_one("t", text, strlen(text), err, sizeof(err));
    assert_null(set);
    assert_string_equal(err, expect);
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/test_tmpl.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *dir = strdup(d);
    char i18n[512];
    snprintf(i18n, sizeof(i18n), "%s/i18n", dir);
    assert_int_equal(mkdir(i18n, 0700), 0);
    return dir;
}

static void put_file(const char *dir, const char *rel, const char *content)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) { return remove(path); }

static void remove_dir(char *dir)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* Loads dir and expects the error "<dir>/<rel>:<rest>". */
static void assert_load_error(const char *dir, const char *rel, const char *rest)
{
    char err[512] = "", expect[512];
    gw_tmpl_set_t *set = gw_tmpl_load(dir, err, sizeof(err));
    assert_null(set);
    snprintf(expect, sizeof(expect), "%s/%s:%s", dir, rel, rest);
    assert_string_equal(err, expect);
}

/* ---- escaping ---------------------------------------------------------------------------- */

static void test_escapes_each_special_char(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "&", "&amp;" }, { "<", "&lt;" },  { ">", "&gt;" },  { "\"", "&quot;" },
        { "'", "&#39;" }, { "`", "&#96;" }, { "=", "&#61;" },
    };
    for (size_t i = 0; i < NVARS(cases); i++) {
        gw_tmpl_var_t v[] = { { "v", cases[i].in } };
        char expect[32];
        snprintf(expect, sizeof(expect), "[%s]", cases[i].out);
        char *out = render_text("[{{v}}]", "vi", v, 1);
        assert_string_equal(out, expect);
        free(out);
    }
}

static void test_escapes_mixed_value_and_keeps_utf8(void **state)
{
    gw_tmpl_var_t v[] = { { "v", "<script>alert('x')</script> a=b&c \"Nguyễn Văn Á\" `q`" } };
    assert_renders("{{v}}", v, 1,
                   "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; a&#61;b&amp;c "
                   "&quot;Nguyễn Văn Á&quot; &#96;q&#96;");
}

static void test_html_escape_function(void **state)
{
    char *s = gw_html_escape("a&b<c>d\"e'f`g=h Đà Nẵng");
    assert_string_equal(s, "a&amp;b&lt;c&gt;d&quot;e&#39;f&#96;g&#61;h Đà Nẵng");
    free(s);
    s = gw_html_escape("");
    assert_string_equal(s, "");
    free(s);
    s = gw_html_escape(NULL);
    assert_string_equal(s, "");
    free(s);
}

static void test_value_with_braces_is_not_reexpanded(void **state)
{
    gw_tmpl_var_t v[] = { { "v", "{{x}} {{>t}} {{t:k}} {{#x}}" }, { "x", "BAD" } };
    assert_renders("<p>{{v}}</p>", v, 2, "<p>{{x}} {{&gt;t}} {{t:k}} {{#x}}</p>");
}

static void test_large_value_grows_buffer(void **state)
{
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    big[n / 2] = '<';
    gw_tmpl_var_t v[] = { { "v", big } };
    char *out = render_text("x{{v}}y", "vi", v, 1);
    assert_int_equal(strlen(out), n + 2 + 3);
    assert_int_equal(out[0], 'x');
    assert_memory_equal(out + 1 + n / 2, "&lt;", 4);
    assert_int_equal(out[n + 4], 'y');
    free(out);
    free(big);
}

/* ---- variables and sections -------------------------------------------------------------- */

static void test_missing_variable_renders_empty(void **state)
{
    gw_tmpl_var_t v[] = { { "a", "1" }, { "nullval", NULL }, { NULL, "x" } };
    assert_renders("[{{a}}|{{b}}|{{nullval}}]", v, NVARS(v), "[1||]");
    assert_renders("[{{b}}]", NULL, 0, "[]");
}

static void test_spaces_inside_tags_are_allowed(void **state)
{
    gw_tmpl_var_t v[] = { { "a", "1" } };
    assert_renders("{{ a }}{{# a }}y{{/ a }}{{ t:k.x }}", v, 1, "1yk.x");
}

static void test_first_of_duplicate_variables_wins(void **state)
{
    gw_tmpl_var_t v[] = { { "a", "first" }, { "a", "second" }, { "ab", "other" } };
    assert_renders("{{a}} {{ab}}", v, NVARS(v), "first other");
}

static void test_list_section_repeats_per_item_and_escapes(void **state)
{
    (void)state;
    gw_tmpl_var_t v[] = { { "items.0.id", "a1" },
                          { "items.0.label", "<b>An</b>" },
                          { "items.1.id", "a2" },
                          { "items.1.label", "Bình" },
                          { "title", "T" } };
    assert_renders("{{title}}:{{#items}}[{{id}}={{label}}|{{title}}]{{/items}}{{^items}}none{{/items}}", v, 5,
                   "T:[a1=&lt;b&gt;An&lt;/b&gt;|T][a2=Bình|T]");
    assert_renders("{{#items}}x{{/items}}{{^items}}none{{/items}}", v + 4, 1, "none");
}

static void test_section_renders_only_when_set_and_non_empty(void **state)
{
    const char *t = "a{{#s}}[{{s}}]{{/s}}b";
    gw_tmpl_var_t set[] = { { "s", "x" } };
    gw_tmpl_var_t empty[] = { { "s", "" } };
    gw_tmpl_var_t null[] = { { "s", NULL } };
    assert_renders(t, set, 1, "a[x]b");
    assert_renders(t, empty, 1, "ab");
    assert_renders(t, null, 1, "ab");
    assert_renders(t, NULL, 0, "ab");
}

static void test_inverted_section_renders_when_unset_or_empty(void **state)
{
    const char *t = "a{{^s}}[none]{{/s}}b";
    gw_tmpl_var_t set[] = { { "s", "x" } };
    gw_tmpl_var_t empty[] = { { "s", "" } };
    assert_renders(t, set, 1, "ab");
    assert_renders(t, empty, 1, "a[none]b");
    assert_renders(t, NULL, 0, "a[none]b");
}

static void test_nested_and_sibling_sections(void **state)
{
    const char *t = "{{#a}}A{{#b}}B{{^c}}!c{{/c}}{{/b}}{{^b}}-b{{/b}}{{#a}}a{{/a}}{{/a}}.";
    gw_tmpl_var_t ab[] = { { "a", "1" }, { "b", "1" } };
    gw_tmpl_var_t abc[] = { { "a", "1" }, { "b", "1" }, { "c", "1" } };
    gw_tmpl_var_t a[] = { { "a", "1" } };
    assert_renders(t, ab, 2, "AB!ca.");
    assert_renders(t, abc, 3, "ABa.");
    assert_renders(t, a, 1, "A-ba.");
    assert_renders(t, NULL, 0, ".");
}

static void test_lang_and_other_lang_are_added(void **state)
{
    const char *t = "{{lang}}/{{other_lang}}{{#lang}}!{{/lang}}";
    char *out = render_text(t, "vi", NULL, 0);
    assert_string_equal(out, "vi/en!");
    free(out);
    out = render_text(t, "en", NULL, 0);
    assert_string_equal(out, "en/vi!");
    free(out);
    out = render_text(t, "fr", NULL, 0);
    assert_string_equal(out, "vi/en!");
    free(out);
    out = render_text(t, NULL, NULL, 0);
    assert_string_equal(out, "vi/en!");
    free(out);
    gw_tmpl_var_t v[] = { { "lang", "xx" }, { "other_lang", "yy" } };
    out = render_text(t, "en", v, 2);
    assert_string_equal(out, "en/vi!");
    free(out);
}

static void test_single_braces_and_closing_braces_are_text(void **state)
{
    assert_renders("{ a } }} {x}", NULL, 0, "{ a } }} {x}");
    assert_renders("", NULL, 0, "");
}

static void test_render_unknown_template_is_null(void **state)
{
    char err[128];
    gw_tmpl_set_t *set = gw_tmpl_parse_one("t", "x", 1, err, sizeof(err));
    assert_non_null(set);
    assert_null(gw_tmpl_render(set, "nope", "vi", NULL, 0, NULL));
    assert_null(gw_tmpl_render(set, "", "vi", NULL, 0, NULL));
    assert_null(gw_tmpl_render(NULL, "t", "vi", NULL, 0, NULL));
    char *out = gw_tmpl_render(set, "t", "vi", NULL, 0, NULL);
    assert_string_equal(out, "x");
    free(out);
    gw_tmpl_free(set);
    gw_tmpl_free(NULL);
}

/* ---- parse errors ------------------------------------------------------------------------ */

static void test_unclosed_section_names_its_line(void **state)
{
    assert_parse_error("line 1\nline 2\n{{#a}}\nx\n", "t.html:3: section 'a' is never closed");
}

static void test_unknown_syntax_is_load_error(void **state)
{
    assert_parse_error("a\n{{!comment}}", "t.html:2: unsupported tag '{{!'");
    assert_parse_error("a\nb\n{{{raw}}}", "t.html:3: unsupported tag '{{{'");
    assert_parse_error("{{&raw}}", "t.html:1: unsupported tag '{{&'");
    assert_parse_error("{{=<% %>=}}", "t.html:1: unsupported tag '{{='");
}

static void test_bad_names_are_load_errors(void **state)
{
    const char *msg = "bad name in tag (letters, digits, '_', '.', '-', at most 128)";
    char expect[160];
    snprintf(expect, sizeof(expect), "t.html:1: %s", msg);
    assert_parse_error("{{}}", expect);
    assert_parse_error("{{ }}", expect);
    assert_parse_error("{{a b}}", expect);
    assert_parse_error("{{#}}", expect);
    assert_parse_error("{{t:}}", expect);
    assert_parse_error("{{>../x}}", expect);
    snprintf(expect, sizeof(expect), "t.html:2: %s", msg);
    assert_parse_error("\n{{a\tb}}", expect);
}

static void test_unterminated_tag_is_load_error(void **state)
{
    assert_parse_error("ok\n\nx {{name", "t.html:3: '{{' without '}}' on the same line");
    assert_parse_error("x {{name\n}}", "t.html:1: '{{' without '}}' on the same line");
    assert_parse_error("{{", "t.html:1: '{{' without '}}' on the same line");
    assert_parse_error("{{a}", "t.html:1: '{{' without '}}' on the same line");
}

static void test_unbalanced_sections_are_load_errors(void **state)
{
    assert_parse_error("x\n{{/a}}", "t.html:2: '{{/a}}' without an open section");
    assert_parse_error("{{#a}}\n{{^b}}\n{{/a}}\n{{/b}}", "t.html:3: '{{/a}}' closes 'b' opened at line 2");
    assert_parse_error("{{#a}}{{/a}}\n{{#b}}\n{{#c}}{{/c}}", "t.html:2: section 'b' is never closed");
}

static void test_partial_errors(void **state)
{
    assert_parse_error("x\n{{>missing}}", "t.html:2: unknown partial 'missing'");
    assert_parse_error("\n\n{{>t}}", "t.html:3: '{{>t}}' makes an include cycle");
}

static void test_invalid_utf8_is_load_error(void **state)
{
    assert_parse_error("ok\n\xc3\x28", "t.html:2: invalid UTF-8 or NUL byte");
    assert_parse_error("\xed\xa0\x80", "t.html:1: invalid UTF-8 or NUL byte");
    char err[128] = "";
    assert_null(gw_tmpl_parse_one("t", "a\0b", 3, err, sizeof(err)));
    assert_string_equal(err, "t.html:1: invalid UTF-8 or NUL byte");
}

static void test_error_buffer_is_truncated_safely(void **state)
{
    char err[8];
    memset(err, 'x', sizeof(err));
    assert_null(gw_tmpl_parse_one("t", "{{#a}}", 6, err, sizeof(err)));
    assert_int_equal(strlen(err), 7);
    assert_null(gw_tmpl_parse_one("t", "{{#a}}", 6, NULL, 0));
}

/* ---- files, partials, catalogs ----------------------------------------------------------- */

static void test_include_renders_partial(void **state)
{
    char *dir = make_dir();
    put_file(dir, "page.html", "<b>{{>_part}}</b>{{#x}}{{>_part}}{{/x}}");
    put_file(dir, "_part.html", "[{{x}}:{{lang}}]");
    char err[512] = "";
    gw_tmpl_set_t *set = gw_tmpl_load(dir, err, sizeof(err));
    assert_non_null(set);
    assert_string_equal(err, "");
    gw_tmpl_var_t v[] = { { "x", "<1>" } };
    char *out = gw_tmpl_render(set, "page", "en", v, 1, NULL);
    assert_string_equal(out, "<b>[&lt;1&gt;:en]</b>[&lt;1&gt;:en]");
    free(out);
    out = gw_tmpl_render(set, "_part", "vi", NULL, 0, NULL);
    assert_string_equal(out, "[:vi]");
    free(out);
    gw_tmpl_free(set);
    remove_dir(dir);
}

static void test_includes_nest_at_most_four_deep(void **state)
{
    char *dir = make_dir();
    put_file(dir, "a.html", "a{{>b}}");
    put_file(dir, "b.html", "b{{>c}}");
    put_file(dir, "c.html", "c{{>d}}");
    put_file(dir, "d.html", "d{{>e}}");
    put_file(dir, "e.html", "e");
    char err[512] = "";
    gw_tmpl_set_t *set = gw_tmpl_load(dir, err, sizeof(err));
    assert_non_null(set);
    char *out = gw_tmpl_render(set, "a", "vi", NULL, 0, NULL);
    assert_string_equal(out, "abcde");
    free(out);
    gw_tmpl_free(set);

    put_file(dir, "e.html", "e\n{{>f}}");
    put_file(dir, "f.html", "f");
    char expect[64];
    snprintf(expect, sizeof(expect), "1: '{{>b}}' nests includes deeper than 4");
    assert_load_error(dir, "a.html", expect);
    remove_dir(dir);
}

static void test_include_cycle_is_load_error(void **state)
{
    char *dir = make_dir();
    put_file(dir, "a.html", "a{{>b}}");
    put_file(dir, "b.html", "b\n\n{{>a}}");
    assert_load_error(dir, "b.html", "3: '{{>a}}' makes an include cycle");
    remove_dir(dir);
}

static void test_template_error_names_file_and_line(void **state)
{
    char *dir = make_dir();
    put_file(dir, "good.html", "fine");
    put_file(dir, "bad.html", "<p>\n{{#open}}\n</p>\n");
    assert_load_error(dir, "bad.html", "2: section 'open' is never closed");
    remove_dir(dir);
}

static void test_missing_dir_is_load_error(void **state)
{
    char err[512] = "";
    assert_null(gw_tmpl_load("/nonexistent/eidgw-templates", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/eidgw-templates: cannot open directory: "
                             "No such file or directory");
}

static gw_tmpl_set_t *load_catalog_dir(char **ret_dir)
{
    char *dir = make_dir();
    put_file(dir, "page.html", "{{t:both}}|{{t:only_vi}}|{{t:none}}|{{t:html}}");
    put_file(dir, "i18n/vi.txt",
             "# comment\n"
             "\n"
             "both = Cả hai\n"
             "  # indented comment\n"
             "only_vi = Chỉ tiếng Việt\n"
             "html = <b>&amp; \"x\"</b>\n"
             "spaced   =   a = b   \r\n"
             "empty = \n");
    put_file(dir, "i18n/en.txt", "both = Both\nhtml = <i>\n");
    char err[512] = "";
    gw_tmpl_set_t *set = gw_tmpl_load(dir, err, sizeof(err));
    if (set == NULL)
        fail_msg("load failed: %s", err);
    *ret_dir = dir;
    return set;
}

static void test_t_falls_back_to_vi_then_key(void **state)
{
    char *dir;
    gw_tmpl_set_t *set = load_catalog_dir(&dir);
    char *out = gw_tmpl_render(set, "page", "vi", NULL, 0, NULL);
    assert_string_equal(out, "Cả hai|Chỉ tiếng Việt|none|&lt;b&gt;&amp;amp; &quot;x&quot;&lt;/b&gt;");
    free(out);
    out = gw_tmpl_render(set, "page", "en", NULL, 0, NULL);
    assert_string_equal(out, "Both|Chỉ tiếng Việt|none|&lt;i&gt;");
    free(out);
    gw_tmpl_free(set);
    remove_dir(dir);
}

static void test_msg_returns_raw_value_with_fallback(void **state)
{
    char *dir;
    gw_tmpl_set_t *set = load_catalog_dir(&dir);
    assert_string_equal(gw_tmpl_msg(set, "vi", "html"), "<b>&amp; \"x\"</b>");
    assert_string_equal(gw_tmpl_msg(set, "en", "both"), "Both");
    assert_string_equal(gw_tmpl_msg(set, "en", "only_vi"), "Chỉ tiếng Việt");
    assert_string_equal(gw_tmpl_msg(set, "xx", "both"), "Cả hai");
    assert_string_equal(gw_tmpl_msg(set, "vi", "spaced"), "a = b");
    assert_string_equal(gw_tmpl_msg(set, "vi", "empty"), "");
    assert_string_equal(gw_tmpl_msg(set, "vi", "nope"), "nope");
    assert_string_equal(gw_tmpl_msg(set, "vi", "bot"), "bot");
    assert_string_equal(gw_tmpl_msg(set, "vi", "both.x"), "both.x");
    assert_string_equal(gw_tmpl_msg(NULL, "vi", "k"), "k");
    gw_tmpl_free(set);
    remove_dir(dir);
}

static void test_catalog_line_without_separator_is_error(void **state)
{
    char *dir = make_dir();
    put_file(dir, "page.html", "x");
    put_file(dir, "i18n/en.txt", "# c\na = b\nkey=value\n");
    assert_load_error(dir, "i18n/en.txt", "3: expected 'key = value'");
    put_file(dir, "i18n/en.txt", "a = b\n\n\nkey value\n");
    assert_load_error(dir, "i18n/en.txt", "4: expected 'key = value'");
    remove_dir(dir);
}

static void test_catalog_duplicate_key_is_error(void **state)
{
    char *dir = make_dir();
    put_file(dir, "page.html", "x");
    put_file(dir, "i18n/vi.txt", "z = 1\na = 1\n# c\nb = 2\na = 3\nz = 4\n");
    assert_load_error(dir, "i18n/vi.txt", "5: duplicate key 'a' (first at line 2)");
    remove_dir(dir);
}

static void test_catalog_bad_key_and_utf8_are_errors(void **state)
{
    char *dir = make_dir();
    put_file(dir, "page.html", "x");
    put_file(dir, "i18n/vi.txt", "a = 1\nmột = 2\n");
    assert_load_error(dir, "i18n/vi.txt", "2: bad key (letters, digits, '_', '.', '-', at most 128)");
    put_file(dir, "i18n/vi.txt", "a = 1\nb = \xe1\xba\n");
    assert_load_error(dir, "i18n/vi.txt", "2: invalid UTF-8 or NUL byte");
    remove_dir(dir);
}

/* ---- the real templates ------------------------------------------------------------------ */

static gw_tmpl_set_t *load_real(void)
{
    const char *src = getenv("EIDGW_SOURCE_DIR");
#ifdef EIDGW_SOURCE_DIR
    if (src == NULL)
        src = EIDGW_SOURCE_DIR;
#endif
    assert_non_null(src);
    char dir[1024], err[512] = "";
    snprintf(dir, sizeof(dir), "%s/templates", src);
    gw_tmpl_set_t *set = gw_tmpl_load(dir, err, sizeof(err));
    if (set == NULL)
        fail_msg("loading %s: %s", dir, err);
    return set;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("missing %s", needle);
}

static void assert_page_shape(const char *out, const char *lang)
{
    char want[64];
    assert_null(strstr(out, "{{"));
    assert_int_equal(strncmp(out, "<!DOCTYPE html>\n", 16), 0);
    snprintf(want, sizeof(want), "<html lang=\"%s\">", lang);
    assert_contains(out, want);
    assert_contains(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    assert_contains(out, "<title>");
    assert_contains(out, "</style>");
    assert_contains(out, "</html>");
    assert_null(strstr(out, "<script"));
    assert_null(strstr(out, "src=\""));
    assert_null(strstr(out, "<link"));
}

static const char *const required_keys[] = {
    "lang.switch",         "app.name",
    "login.title",         "login.heading",
    "login.portal_label",  "login.vneid_button",
    "login.explain",       "login.help",
    "error.title",         "error.request_id",
    "error.try_again",     "error.back",
    "logout.title",        "logout.done",
    "logout.back",         "logout.confirm_title",
    "logout.confirm_text", "logout.confirm_button",
};

static const char *const error_codes[] = {
    "invalid_request",
    "unknown_client",
    "malformed_request",
    "invalid_redirect_uri",
    "upstream_unavailable",
    "upstream_error",
    "upstream_denied",
    "flow_expired",
    "level_too_low",
    "account_type_refused",
    "locked",
    "missing_identity",
    "session_expired",
    "server_busy",
    "not_found",
    "method_not_allowed",
    "too_large",
    "internal",
};

static void assert_key_in_both(const gw_tmpl_set_t *set, const char *key)
{
    const char *vi = gw_tmpl_msg(set, "vi", key);
    const char *en = gw_tmpl_msg(set, "en", key);
    if (vi == key || strcmp(vi, key) == 0)
        fail_msg("vi.txt lacks %s", key);
    if (en == key || strcmp(en, key) == 0)
        fail_msg("en.txt lacks %s", key);
    if (strcmp(key, "app.name") != 0 && strcmp(vi, en) == 0)
        fail_msg("en.txt falls back to or repeats the Vietnamese text of %s", key);
}

static void test_catalogs_have_every_required_key(void **state)
{
    gw_tmpl_set_t *set = load_real();
    for (size_t i = 0; i < NVARS(required_keys); i++)
        assert_key_in_both(set, required_keys[i]);
    for (size_t i = 0; i < NVARS(error_codes); i++) {
        char key[96];
        snprintf(key, sizeof(key), "err.%s", error_codes[i]);
        assert_key_in_both(set, key);
        snprintf(key, sizeof(key), "err.%s.title", error_codes[i]);
        assert_key_in_both(set, key);
    }
    assert_string_equal(gw_tmpl_msg(set, "vi", "login.vneid_button"), "Đăng nhập bằng VNeID");
    assert_string_equal(gw_tmpl_msg(set, "en", "login.vneid_button"), "Log in with VNeID");
    assert_string_equal(gw_tmpl_msg(set, "vi", "lang.switch"), "English");
    assert_string_equal(gw_tmpl_msg(set, "en", "lang.switch"), "Tiếng Việt");
    assert_string_equal(gw_tmpl_msg(set, "vi", "login.portal_label"), "Bạn đang đăng nhập vào");
    assert_contains(gw_tmpl_msg(set, "vi", "logout.done"), "Bạn đã đăng xuất");
    assert_contains(gw_tmpl_msg(set, "vi", "login.explain"), "69/2024");
    assert_contains(gw_tmpl_msg(set, "en", "login.explain"), "1 July 2024");
    gw_tmpl_free(set);
}

/* Every {{t:key}} in a real template exists in both catalogs, so no page shows a raw key. */
static void test_every_message_a_template_uses_exists_in_both_catalogs(void **state)
{
    gw_tmpl_set_t *set = load_real();
    const char *src = getenv("EIDGW_SOURCE_DIR");
#ifdef EIDGW_SOURCE_DIR
    if (src == NULL)
        src = EIDGW_SOURCE_DIR;
#endif
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/templates", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    size_t nkeys = 0;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".html") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        static char text[1 << 16];
        size_t len = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[len] = '\0';
        for (const char *p = text; (p = strstr(p, "{{t:")) != NULL;) {
            p += 4;
            const char *e = strstr(p, "}}");
            assert_non_null(e);
            char key[128];
            snprintf(key, sizeof(key), "%.*s", (int)(e - p), p);
            assert_key_in_both(set, key);
            nkeys++;
        }
    }
    closedir(d);
    assert_true(nkeys >= 20);
    gw_tmpl_free(set);
}

static char *render_real(const gw_tmpl_set_t *set, const char *name, const char *lang, const gw_tmpl_var_t *vars,
                         size_t nvars)
{
    size_t len = 0;
    char *out = gw_tmpl_render(set, name, lang, vars, nvars, &len);
    if (out == NULL)
        fail_msg("rendering %s failed", name);
    assert_int_equal(len, strlen(out));
    assert_page_shape(out, lang);
    return out;
}

static void test_login_page_in_both_languages(void **state)
{
    gw_tmpl_set_t *set = load_real();
    gw_tmpl_var_t v[] = {
        { "client_name", "Cổng DVC <tỉnh> & \"A\"" },
        { "vneid_url", "https://vneid.example/auth?a=1&b=2" },
        { "lang_switch_url", "/login?f=1&lang=en" },
        { "notice", "Phiên đã hết hạn <b>" },
    };
    char *out = render_real(set, "login", "vi", v, NVARS(v));
    assert_contains(out, "<a class=\"btn-vneid\" id=\"vneid\" "
                         "href=\"https://vneid.example/auth?a&#61;1&amp;b&#61;2\">"
                         "Đăng nhập bằng VNeID</a>");
    assert_contains(out, "Bạn đang đăng nhập vào");
    assert_contains(out, "Cổng DVC &lt;tỉnh&gt; &amp; &quot;A&quot;");
    assert_contains(out, "Phiên đã hết hạn &lt;b&gt;");
    assert_contains(out, "href=\"/login?f&#61;1&amp;lang&#61;en\"");
    assert_contains(out, ">English</a>");
    assert_contains(out, "lang=\"en\"");
    assert_contains(out, "Nghị định số 69/2024/NĐ-CP");
    assert_contains(out, ">eidgw<");
    free(out);

    out = render_real(set, "login", "en", v, NVARS(v));
    assert_contains(out, "Log in with VNeID</a>");
    assert_contains(out, "You are logging in to");
    assert_contains(out, ">Tiếng Việt</a>");
    assert_contains(out, "1 July 2024");
    free(out);

    /* Without the optional notice there is no notice box. */
    out = render_real(set, "login", "vi", v, 3);
    assert_null(strstr(out, "class=\"notice\""));
    free(out);
    gw_tmpl_free(set);
}

static void test_error_page_in_both_languages(void **state)
{
    gw_tmpl_set_t *set = load_real();
    for (int l = 0; l < 2; l++) {
        const char *lang = l ? "en" : "vi";
        for (size_t i = 0; i < NVARS(error_codes); i++) {
            char key[96];
            snprintf(key, sizeof(key), "err.%s.title", error_codes[i]);
            const char *title = gw_tmpl_msg(set, lang, key);
            snprintf(key, sizeof(key), "err.%s", error_codes[i]);
            const char *msg = gw_tmpl_msg(set, lang, key);
            gw_tmpl_var_t v[] = {
                { "error_title", title },           { "error_message", msg },
                { "error_code", error_codes[i] },   { "request_id", "req-<42>" },
                { "retry_url", "/retry?x=1" },      { "back_url", "https://portal.example/" },
                { "lang_switch_url", "/e?lang=x" },
            };
            char *out = render_real(set, "error", lang, v, NVARS(v));
            char *emsg = gw_html_escape(msg), *etitle = gw_html_escape(title);
            char want[2048];
            snprintf(want, sizeof(want), "<p id=\"error-message\">%s</p>", emsg);
            assert_contains(out, want);
            snprintf(want, sizeof(want), "<h1>%s</h1>", etitle);
            assert_contains(out, want);
            snprintf(want, sizeof(want), "<code id=\"error-code\">%s</code>", error_codes[i]);
            assert_contains(out, want);
            assert_contains(out, "req-&lt;42&gt;");
            assert_contains(out, "href=\"/retry?x&#61;1\"");
            assert_contains(out, "href=\"https://portal.example/\"");
            free(emsg);
            free(etitle);
            free(out);
        }
        /* Only the required variables: no retry or back link, generic title. */
        gw_tmpl_var_t v[] = { { "error_message", "m" }, { "error_code", "internal" }, { "request_id", "r1" } };
        char *out = render_real(set, "error", lang, v, NVARS(v));
        assert_null(strstr(out, "id=\"retry\""));
        assert_null(strstr(out, "id=\"back\""));
        assert_contains(out, gw_tmpl_msg(set, lang, "error.title"));
        free(out);
    }
    gw_tmpl_free(set);
}

static void test_logout_pages_in_both_languages(void **state)
{
    gw_tmpl_set_t *set = load_real();
    gw_tmpl_var_t v[] = {
        { "client_name", "Cổng A" },      { "back_url", "https://a.example/" },
        { "lang_switch_url", "/logout" }, { "action_url", "/logout/confirm" },
        { "csrf", "tok\"en=" },           { "logout_id", "L1" },
    };
    char *out = render_real(set, "logout", "vi", v, 3);
    assert_contains(out, "Bạn đã đăng xuất");
    assert_contains(out, "href=\"https://a.example/\"");
    assert_contains(out, "Cổng A");
    free(out);
    out = render_real(set, "logout", "en", NULL, 0);
    assert_contains(out, "logged out");
    assert_null(strstr(out, "id=\"back\""));
    free(out);

    for (int l = 0; l < 2; l++) {
        const char *lang = l ? "en" : "vi";
        out = render_real(set, "logout_confirm", lang, v, NVARS(v));
        assert_contains(out, "<form method=\"post\" action=\"/logout/confirm\">");
        assert_contains(out, "<input type=\"hidden\" name=\"csrf\" value=\"tok&quot;en&#61;\">");
        assert_contains(out, "<input type=\"hidden\" name=\"logout_id\" value=\"L1\">");
        char want[256];
        snprintf(want, sizeof(want), ">%s</button>", gw_tmpl_msg(set, lang, "logout.confirm_button"));
        assert_contains(out, want);
        free(out);
    }
    gw_tmpl_free(set);
}

static void test_every_real_template_renders_in_both_languages(void **state)
{
    gw_tmpl_set_t *set = load_real();
    static const char *const pages[] = { "login", "error", "logout", "logout_confirm" };
    for (size_t i = 0; i < NVARS(pages); i++) {
        for (int l = 0; l < 2; l++) {
            char *out = render_real(set, pages[i], l ? "en" : "vi", NULL, 0);
            free(out);
        }
    }
    /* The partials render on their own too. */
    static const char *const partials[] = { "_head", "_header", "_foot" };
    for (size_t i = 0; i < NVARS(partials); i++) {
        char *out = gw_tmpl_render(set, partials[i], "en", NULL, 0, NULL);
        assert_non_null(out);
        assert_null(strstr(out, "{{"));
        free(out);
    }
    gw_tmpl_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_each_special_char),
        cmocka_unit_test(test_escapes_mixed_value_and_keeps_utf8),
        cmocka_unit_test(test_html_escape_function),
        cmocka_unit_test(test_value_with_braces_is_not_reexpanded),
        cmocka_unit_test(test_large_value_grows_buffer),
        cmocka_unit_test(test_missing_variable_renders_empty),
        cmocka_unit_test(test_spaces_inside_tags_are_allowed),
        cmocka_unit_test(test_first_of_duplicate_variables_wins),
        cmocka_unit_test(test_section_renders_only_when_set_and_non_empty),
        cmocka_unit_test(test_list_section_repeats_per_item_and_escapes),
        cmocka_unit_test(test_inverted_section_renders_when_unset_or_empty),
        cmocka_unit_test(test_nested_and_sibling_sections),
        cmocka_unit_test(test_lang_and_other_lang_are_added),
        cmocka_unit_test(test_single_braces_and_closing_braces_are_text),
        cmocka_unit_test(test_render_unknown_template_is_null),
        cmocka_unit_test(test_unclosed_section_names_its_line),
        cmocka_unit_test(test_unknown_syntax_is_load_error),
        cmocka_unit_test(test_bad_names_are_load_errors),
        cmocka_unit_test(test_unterminated_tag_is_load_error),
        cmocka_unit_test(test_unbalanced_sections_are_load_errors),
        cmocka_unit_test(test_partial_errors),
        cmocka_unit_test(test_invalid_utf8_is_load_error),
        cmocka_unit_test(test_error_buffer_is_truncated_safely),
        cmocka_unit_test(test_include_renders_partial),
        cmocka_unit_test(test_includes_nest_at_most_four_deep),
        cmocka_unit_test(test_include_cycle_is_load_error),
        cmocka_unit_test(test_template_error_names_file_and_line),
        cmocka_unit_test(test_missing_dir_is_load_error),
        cmocka_unit_test(test_t_falls_back_to_vi_then_key),
        cmocka_unit_test(test_msg_returns_raw_value_with_fallback),
        cmocka_unit_test(test_catalog_line_without_separator_is_error),
        cmocka_unit_test(test_catalog_duplicate_key_is_error),
        cmocka_unit_test(test_catalog_bad_key_and_utf8_are_errors),
        cmocka_unit_test(test_catalogs_have_every_required_key),
        cmocka_unit_test(test_every_message_a_template_uses_exists_in_both_catalogs),
        cmocka_unit_test(test_login_page_in_both_languages),
        cmocka_unit_test(test_error_page_in_both_languages),
        cmocka_unit_test(test_logout_pages_in_both_languages),
        cmocka_unit_test(test_every_real_template_renders_in_both_languages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
