/* Outgoing HTTP on libcurl, for worker threads. One easy handle per thread, reused so
 * connections to the same upstream stay open. */
#include "gw_crypto.h"
#include "gw_util.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE (1u << 20)

static __thread CURL *thread_handle;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    gw_buf_t *b = ud;
    if (gw_buf_add(b, p, sz * n))
        return 0; /* over the cap: abort the transfer */
    return sz * n;
}

static int call(const char *url, const char *form, const char *basic_user, const char *basic_pass,
                const char *bearer, const char *body, const char *ctype, long timeout_ms, gw_http_result_t *ret);

int gw_http_call(const char *url, const char *form, const char *basic_user, const char *basic_pass,
                 const char *bearer, const char *json_body, long timeout_ms, gw_http_result_t *ret)
{
    return call(url, form, basic_user, basic_pass, bearer, json_body, "application/json", timeout_ms, ret);
}

int gw_http_call_type(const char *url, const char *body, const char *content_type, long timeout_ms,
                      gw_http_result_t *ret)
{
    return call(url, NULL, NULL, NULL, NULL, body, content_type, timeout_ms, ret);
}

static int call(const char *url, const char *form, const char *basic_user, const char *basic_pass,
                const char *bearer, const char *json_body, const char *ctype, long timeout_ms, gw_http_result_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!thread_handle)
        thread_handle = curl_easy_init();
    CURL *h = thread_handle;
    if (!h) {
        snprintf(ret->error, sizeof(ret->error), "curl init failed");
        return GW_EUPSTREAM;
    }
    curl_easy_reset(h);
    gw_buf_t b;
    gw_buf_init(&b, MAX_RESPONSE);
    struct curl_slist *hdrs = NULL;
    char *auth = NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_RESPONSE);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "eidgw/" EIDGW_VERSION);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (form) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
    } else if (json_body) {
        char *ct = gw_sprintf("Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, ct);
        free(ct);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body);
    }
    if (basic_user) {
        /* RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding */
        char *u = gw_url_encode(basic_user), *pw = gw_url_encode(basic_pass ? basic_pass : "");
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, u);
        curl_easy_setopt(h, CURLOPT_PASSWORD, pw);
        free(u);
        gw_wipe_free(pw);
    }
    if (bearer) {
        auth = gw_sprintf("Authorization: Bearer %s", bearer);
        hdrs = curl_slist_append(hdrs, auth);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cc = curl_easy_perform(h);
    int rc = GW_OK;
    if (cc != CURLE_OK) {
        snprintf(ret->error, sizeof(ret->error), "%s", curl_easy_strerror(cc));
        rc = GW_EUPSTREAM;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_USERNAME, NULL);
    curl_easy_setopt(h, CURLOPT_PASSWORD, NULL);
    curl_slist_free_all(hdrs);
    gw_wipe_free(auth);
    ret->len = b.len;
    ret->body = gw_buf_steal(&b);
    return rc;
}

void gw_http_result_cleanup(gw_http_result_t *r)
{
    free(r->body);
    r->body = NULL;
}

void gw_http_thread_cleanup(void)
{
    if (thread_handle)
        curl_easy_cleanup(thread_handle);
    thread_handle = NULL;
}
