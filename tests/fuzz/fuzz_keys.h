/* A fixed upstream JWKS (an EC and an RSA signing key, and an `oct` key that must never be
 * taken from a JWKS) and two tokens signed with the private halves of its keys, shared by
 * the targets that verify upstream tokens or import a JWKS (each uses what it needs). */
#ifndef FUZZ_KEYS_H
#define FUZZ_KEYS_H

#define ES256_KID "ES256-20261123124749-c7na9Kox"
#define ES256_JWK                                                                                                      \
    "{\"kty\":\"EC\",\"kid\":\"" ES256_KID "\",\"crv\":\"P-256\","                                                     \
    "\"x\":\"DEL6JJI_9OiFLDuP9kEbY4CUC8uCebTPgq_l5ZjbeRY\",\"y\":\"t07egooLGZnHLgSsyW_MYg5_c4NJbv8rV_OXKZfD4ZI\","     \
    "\"alg\":\"ES256\",\"use\":\"sig\"}"

static const char JWKS[] __attribute__((unused)) =
    "{\"keys\":[" ES256_JWK ","
    "{\"kty\":\"RSA\",\"kid\":\"RS256-20261123124749-GrVTqxbt\",\"e\":\"AQAB\","
    "\"n\":\"p1cKGDzGGh5T-5UDCiJftjlxDZO7PJq_ODKvozzXanfL2IckfcUIe7rDXskFIn6CopKSt1RshaUyCSZjraPq-gzAeDBxHSRTVY-_"
    "tusj57LtqVm3veyrkz9jVIE4axwFcRktzc3IniP8D2hV2f-V2vU1vOvfcPGZcuwZNzwQrbMLxFiYmBZD9e1q8bT8tlok_m5VaA0Gf3__"
    "yx1eKaekHFOxawgDlymTOuYRAjPVr1Vd0HxQJubNumdgPf2qjMhU6lDUt4SEeQxHTkUbbQ8uZDLoh2v6WokveorcLSist6CWDz6k9pfMSCQg"
    "dbE3g59a1mtc8VWmK4lrW-TsBLLjJQ\",\"alg\":\"RS256\",\"use\":\"sig\"},"
    "{\"kty\":\"oct\",\"kid\":\"hmac\",\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0\",\"alg\":\"HS256\"}"
    "]}";

/* Signed with the private halves of the keys above. */
static const char TOKEN_RS256[] __attribute__((unused)) =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IlJTMjU2LTIwMjYxMTIzMTI0NzQ5LUdyVlRxeGJ0IiwidHlwIjoiSldUIn0."
    "eyJpc3MiOiJodHRwczovL3ZuZWlkLmV4YW1wbGUiLCJzdWIiOiJ1LTEiLCJhdWQiOiJlaWRndyIsImV4cCI6MTg5MzQ1NjAwMCwiaWF0IjoxNzAwMD"
    "AwMDAwfQ."
    "foIp_mFLNLzhO1ZRiFugy9724FCWnpZdD9BAUdKPShG-RtjzDDBd7cLEsJNZI62v5OFwSroFkTauNJjBqU6OeIgrVAsQp_36aodlms3JVID6vqjI"
    "UBbPpKgD4nn2nAAUEmuTq8B6DfU0gtoMeXq7SC5aEdgKFFAHcaErW_fGQrXSCgP34Z-SQiFG3NILu8qmFk1kHjfRYhjUWnjMO314VjF5BoJw0rTc"
    "vLgzU_2PqFf7JWhj92UNPC7HPpxtaR5EA9MLzKiGcRR9pAhBHpzu9Jf0XdUUsTmA7iVCpmNAHlf998huUdDzMSJIHABQNS3FsYfjdutyB_L5yCgJ"
    "zTsXXQ";
static const char TOKEN_ES256[] __attribute__((unused)) =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6IkVTMjU2LTIwMjYxMTIzMTI0NzQ5LWM3bmE5S294IiwidHlwIjoiSldUIn0."
    "eyJpc3MiOiJodHRwczovL3ZuZWlkLmV4YW1wbGUiLCJzdWIiOiJ1LTEiLCJhdWQiOiJlaWRndyIsImV4cCI6MTg5MzQ1NjAwMCwiaWF0IjoxNzAwMD"
    "AwMDAwfQ."
    "7T8tpeiyLtJl9mkCvA2mhbTjvgoUHGguMskUNuhPhjDN1lJsLYzfFVcjbRrc8ltcA-AY0VP8LiSmzgZ84wQR5w";

#endif
