/* pcookie-seal: test tool for the nginx module's integration test.
 *   pcookie-seal seal KEYFILE JSON   prints the portal cookie sealed under the key derived from
 *                                    KEYFILE (a cookie.key: 64 hex characters); JSON holds the
 *                                    payload's fields (gw_pcookie.h): sid, pid, sub, lvl, acr,
 *                                    at, exp, rc and cl {name, birthdate, gender, cccd,
 *                                    legacy_account}
 *   pcookie-seal revoke PATH SID...  records each SID as revoked for an hour in the revocation
 *                                    file at PATH, with the daemon's writer (gw_revfile.c) */
#include "gw_pcookie.h"
#include "gw_revfile.h"
#include "gw_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static int seal(const char *keyfile, const char *payload) {
    char hex[2 * GW_SEAL_KEYLEN + 8] = {0};
    unsigned char raw[GW_SEAL_KEYLEN], k[GW_SEAL_KEYLEN];
    FILE *f = fopen(keyfile, "r");
    if (!f || !fgets(hex, sizeof hex, f)) {
        fprintf(stderr, "pcookie-seal: cannot read %s\n", keyfile);
        if (f) fclose(f);
        return 1;
    }
    fclose(f);
    hex[strcspn(hex, "\r\n ")] = 0;
    json_t *j = json_loads(payload, 0, NULL);
    if (gw_hex_decode(hex, raw, sizeof raw) != 0 || !json_is_object(j)) {
        fprintf(stderr, "pcookie-seal: bad key file or payload\n");
        json_decref(j);
        return 1;
    }
    gw_pcookie_key(raw, k);
    json_t *cl = json_object_get(j, "cl");
    gw_pcookie_t c = {
        .sid = (char *)str(j, "sid"),
        .portal = (char *)str(j, "pid"),
        .sub = (char *)str(j, "sub"),
        .acr = (char *)str(j, "acr"),
        .level = (int)json_integer_value(json_object_get(j, "lvl")),
        .auth_time = json_integer_value(json_object_get(j, "at")),
        .exp = json_integer_value(json_object_get(j, "exp")),
        .recheck = json_integer_value(json_object_get(j, "rc")),
        .name = (char *)str(cl, "name"),
        .birthdate = (char *)str(cl, "birthdate"),
        .gender = (char *)str(cl, "gender"),
        .cccd = (char *)str(cl, "cccd"),
        .legacy_account = (char *)str(cl, "legacy_account"),
    };
    char *v = NULL;
    int rc = gw_pcookie_seal(k, &c, &v);
    json_decref(j);
    if (rc != GW_PCOOKIE_OK) {
        fprintf(stderr, "pcookie-seal: sealing failed (%d)\n", rc);
        return 1;
    }
    printf("%s\n", v);
    free(v);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "seal") == 0) return seal(argv[2], argv[3]);
    if (argc >= 4 && strcmp(argv[1], "revoke") == 0) {
        int64_t now = (int64_t)time(NULL);
        for (int i = 3; i < argc; i++)
            if (gw_revfile_add(argv[2], argv[i], now + 3600, now) != 0) {
                fprintf(stderr, "pcookie-seal: cannot write %s\n", argv[2]);
                return 1;
            }
        return 0;
    }
    fprintf(stderr, "usage: pcookie-seal seal KEYFILE JSON | revoke PATH SID...\n");
    return 2;
}
