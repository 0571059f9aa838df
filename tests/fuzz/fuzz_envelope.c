/* libFuzzer target for the envelope of VNeID's profile 7.3 (plugins/idp_vneid/vneid_envelope.h).
 * Byte 0 even: the rest is a response body as it arrives; odd: the rest is a plaintext the
 * harness seals (AES-128-ECB/PKCS#5, key wrapped with RSA-PKCS#1 v1.5 to the fixed key).
 * gw_vneid_envelope_open returns GW_OK or GW_EINVAL only; with GW_OK the plaintext is a
 * JSON object of the length given, NUL-terminated; with GW_EINVAL the output is untouched.
 * A sealed plaintext opens, and gives itself back, exactly when it is a JSON object. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "fuzz_common.h"
#include "gw_util.h"
#include "idp_vneid/vneid_envelope.h"

/* a key for this target only, small so that a run stays fast */
static const char KEY_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAOUK3+z5INk1j1SW\n"
    "i9RAt16L9bYzUgkBAUwANUlLWECLbB3FyOHPcCzkDBCimJz7iZgT0aJIHF8QOhYP\n"
    "D0TI9QI5FaCZFSv4/7S0LQs8bW2CLGgJ5RiQn1u+0NRaprfLVFI8C/9xz4G5ImYg\n"
    "XMzWeobpPK81GsfjbqyJTOKAb4kxAgMBAAECgYEAwNbZFeHjAD4SATwHWptqR9Y6\n"
    "+D5ZUW9hMiXyt1USZrV8P8zohwZqAcG3TsI3D+TQQhRdqe5gxMEaxrvDNTyk2rSI\n"
    "zPfK0o5rltCIIOe3kTp/n4/lmKxMH6QVbNqUX/3fq/LmDf8LF4J+XJjzTx3yka47\n"
    "AcIjrjoxOniKl5jFDWkCQQDy1RDgpwfUdFoLxKrH6YpwszYzoOKYxln3sSSPk3Ak\n"
    "3Nzu5kNkUelxyfogIzLDjxr5UNmdAnQ/nNJ6JXaO9WCXAkEA8XZh3E3W0ugQlSF4\n"
    "A/B+duFcctrAa+gO0F67yoNLRvfVt6lmeeIvwuMtBu8n18ReJ3Gl0fib88VI7S2s\n"
    "007VdwJBAOdFl7JuQl3Mhqoon4KQYYKenCOlucpJNwxZUPnRMQBavaxl749PGCeA\n"
    "dtE+1K090THcF7Wazb58DFW68mSLPHcCQHYqQOnXDfJYrwTMRDdpUfpLfzqV4uTr\n"
    "w5QlSDFq30PztRsUQ5oSHt1432gtUYo+BvW2oDeJOoipW272k0U1pzECQHIvbD3K\n"
    "JTl1hbiyfxSQq2DxQ9gr3ayTUdUFXdx+fbjMFgrAT62sardwGFiWS9IgYNxVkEGU\n"
    "sccHIEfo8EEhS3Y=\n"
    "-----END PRIVATE KEY-----\n";

static EVP_PKEY *key(void)
{
    static EVP_PKEY *k;
    if (!k) {
        BIO *b = BIO_new_mem_buf(KEY_PEM, -1);
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        BIO_free(b);
        CHECK(k != NULL);
    }
    return k;
}

static char *b64(const unsigned char *p, size_t n)
{
    char *o = malloc(4 * ((n + 2) / 3) + 1);
    CHECK(o != NULL);
    EVP_EncodeBlock((unsigned char *)o, p, (int)n);
    return o;
}

/* {"data","key"} around pt, or NULL when pt is over what the envelope takes */
static char *seal(const uint8_t *pt, size_t n)
{
    if (n > 16384)
        return NULL;
    unsigned char aes[16], wk[256];
    for (size_t i = 0; i < 16; i++)
        aes[i] = (unsigned char)(n * 131u + i);
    unsigned char *ct = malloc(n + 16);
    CHECK(ct != NULL);
    int n1 = 0, n2 = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    CHECK(x && EVP_EncryptInit_ex(x, EVP_aes_128_ecb(), NULL, aes, NULL) == 1);
    CHECK(EVP_EncryptUpdate(x, ct, &n1, pt, (int)n) == 1 && EVP_EncryptFinal_ex(x, ct + n1, &n2) == 1);
    EVP_CIPHER_CTX_free(x);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key(), NULL);
    size_t wklen = sizeof(wk);
    CHECK(pc && EVP_PKEY_encrypt_init(pc) == 1 && EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1);
    CHECK(EVP_PKEY_encrypt(pc, wk, &wklen, aes, sizeof(aes)) == 1);
    EVP_PKEY_CTX_free(pc);
    char *d = b64(ct, (size_t)(n1 + n2)), *k = b64(wk, wklen);
    char *env = gw_sprintf("{\"data\":\"%s\",\"key\":\"%s\"}", d, k);
    free(ct);
    free(d);
    free(k);
    return env;
}

static int is_object(const uint8_t *p, size_t n)
{
    if (memchr(p, 0, n))
        return 0;
    json_t *o = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
    int r = json_is_object(o);
    json_decref(o);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int seeded;
    if (!seeded) {
        seeded = 1;
        const char *dir = getenv("EIDGW_FUZZ_SEEDS");
        char *env = seal((const uint8_t *)"{\"citizenPid\":\"001099012345\"}", 29);
        char *raw = gw_sprintf("\x02%s", env);
        if (dir) {
            write_seed(dir, "seed-body", raw, strlen(raw));
            const char *plain = "\x01{\"fullName\":\"A\",\"accountLevel\":2}";
            write_seed(dir, "seed-plain", plain, strlen(plain));
        }
        free(raw);
        free(env);
    }
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    char *out = (char *)"untouched";
    size_t olen = 0;
    if (data[0] & 1) {
        char *env = seal(p, n);
        if (!env)
            return 0;
        int rc = gw_vneid_envelope_open(key(), env, strlen(env), &out, &olen);
        CHECK(rc == (is_object(p, n) ? GW_OK : GW_EINVAL));
        if (rc == GW_OK) {
            CHECK(olen == n && memcmp(out, p, n) == 0 && out[n] == 0);
            free(out);
        } else {
            CHECK(!strcmp(out, "untouched"));
        }
        free(env);
        return 0;
    }
    char *body = malloc(n + 1);
    CHECK(body != NULL);
    memcpy(body, p, n);
    body[n] = 0;
    int rc = gw_vneid_envelope_open(key(), body, n, &out, &olen);
    CHECK(rc == GW_OK || rc == GW_EINVAL);
    if (rc == GW_OK) {
        CHECK(strlen(out) == olen && is_object((const uint8_t *)out, olen));
        free(out);
    } else {
        CHECK(!strcmp(out, "untouched"));
    }
    free(body);
    return 0;
}
