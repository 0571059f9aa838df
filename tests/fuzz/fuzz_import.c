/* libFuzzer target: the legacy-accounts import parser (CSV and JSON Lines), as
 * `eidgw accounts import --dry-run` runs it, on a throw-away configuration and store opened
 * once (opening them per input made the target crawl). The first input byte picks the
 * format. The import answers 0 or 1 and, being a dry run, leaves the store empty. */
#include "fuzz_common.h"
#include "gw_app.h"
#include "gw_cli_internal.h"
#include "gw_config.h"
#include "gw_crypto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static char dir[64], conf[128];
static gw_config_t *cfg;
static gw_store_t *st;

static void remove_dir(void) { fuzz_rmtree(dir); }

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/eidgw-fuzz-import-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    atexit(remove_dir);
    char keys[128], err[256];
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    FILE *devnull = freopen("/dev/null", "w", stdout);
    (void)devnull;
    if (gw_keys_generate(keys, 0, err, sizeof(err)))
        abort();
    snprintf(conf, sizeof(conf), "%s/eidgw.conf", dir);
    int fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* it holds a secret: its mode is checked */
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f)
        abort();
    fprintf(f,
            "[server]\nlisten = 127.0.0.1:1\npublic_url = http://127.0.0.1:1\n"
            "[keys]\ndir = %s\n[store]\ndriver = sqlite\npath = %s/db\n"
            "[upstream vneid]\nissuer = http://127.0.0.1:2\nauthorization_endpoint = http://127.0.0.1:2/a\n"
            "token_endpoint = http://127.0.0.1:2/t\nuserinfo_endpoint = http://127.0.0.1:2/u\n"
            "jwks_uri = http://127.0.0.1:2/j\nclient_id = x\nclient_secret = y\nclaim_id = SoDinhDanh\n"
            "[client p]\npublic = yes\nredirect_uri = http://127.0.0.1:3/cb\naccounts = yes\n",
            keys, dir);
    fclose(f);
    cfg = gw_app_config_load(conf, err, sizeof(err));
    st = cfg ? gw_store_open_config(cfg, err, sizeof(err)) : NULL;
    if (!st) {
        fprintf(stderr, "fuzz_import: %s\n", err);
        abort();
    }
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
    FILE *f = fmemopen((void *)(data + 1), size - 1, "rb");
    if (!f)
        return 0;
    /* the import reports every bad row on stderr: silence it during the call (a crash is
     * still caught by libFuzzer, which keeps the input) */
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    int rc = gw_cli_import_run(st, "p", "in", f, data[0] & 1, 1);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(null);
    fclose(f);
    CHECK(rc == 0 || rc == 1);
    gw_account_report_t r;
    CHECK(GW_STORE_ACCT(st, account_report, "p", &r) == 0);
    CHECK(r.total == 0);
    return 0;
}
