/* libFuzzer target: the legacy-accounts import parser (CSV and JSON Lines), through
 * `eidgw accounts import --dry-run` on a throw-away configuration. The first input byte
 * picks the format. The import must never crash, whatever the file holds. */
#include "gw_cli.h"
#include "gw_crypto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static char dir[64], conf[128], csv[128], jsonl[128];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/eidgw-fuzz-import-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char keys[128], err[256];
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    FILE *devnull = freopen("/dev/null", "w", stdout);
    (void)devnull;
    if (gw_keys_generate(keys, 0, err, sizeof(err)))
        abort();
    snprintf(conf, sizeof(conf), "%s/eidgw.conf", dir);
    snprintf(csv, sizeof(csv), "%s/in.csv", dir);
    snprintf(jsonl, sizeof(jsonl), "%s/in.jsonl", dir);
    FILE *f = fopen(conf, "w");
    fprintf(f,
            "[server]\nlisten = 127.0.0.1:1\npublic_url = http://127.0.0.1:1\n"
            "[keys]\ndir = %s\n[store]\ndriver = sqlite\npath = %s/db\n"
            "[upstream vneid]\nissuer = http://127.0.0.1:2\nauthorization_endpoint = http://127.0.0.1:2/a\n"
            "token_endpoint = http://127.0.0.1:2/t\nuserinfo_endpoint = http://127.0.0.1:2/u\n"
            "jwks_uri = http://127.0.0.1:2/j\nclient_id = x\nclient_secret = y\nclaim_id = SoDinhDanh\n"
            "[client p]\npublic = yes\nredirect_uri = http://127.0.0.1:3/cb\naccounts = yes\n",
            keys, dir);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1)
        return 0;
    const char *path = data[0] & 1 ? jsonl : csv;
    FILE *f = fopen(path, "wb");
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    char *argv[] = { "eidgw", "accounts", "import", "-c", conf, "--portal", "p", (char *)path, "--dry-run", NULL };
    /* the import reports every bad row on stderr: silence it during the call (a crash is
     * still caught by libFuzzer, which keeps the input) */
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    gw_cli_accounts(9, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(null);
    return 0;
}
