/* eidgw accounts verify: the bulk pre-check of letter 356 before citizens log in. For every
 * account of a portal that has a CMND and an ID number but no verification, ask the
 * population DB's 3-item check (CMND + ID number + full name). A MATCH marks the ID number
 * verified (by "popdb"), so the citizen's first VNeID login links at once. Paced to the
 * service's allowance, resumable (the position is kept in the store), with a progress bar
 * on a terminal and a dry run. */
#include "gw_app.h"
#include "gw_audit.h"
#include "gw_cli.h"
#include "gw_log.h"
#include "plugin.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256
#define NOMATCH_TTL (90L * 86400)

/* A definitive NO_MATCH is remembered (90 days) so later runs do not spend the service's
 * allowance on it again; --restart forgets. */
static int known_nomatch(gw_store_t *st, const char *portal, const char *id)
{
    char *k = gw_sprintf("%s|%s", portal, id), *v = NULL;
    int hit = gw_store_get(st, "verify_nomatch", k, &v) == GW_OK;
    free(v);
    free(k);
    return hit;
}

static volatile sig_atomic_t interrupted;
static void on_int(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void progress(int tty, long done, long total, long match, long nomatch, double rate)
{
    if (!tty)
        return;
    int width = 30, fill = total ? (int)(width * done / total) : width;
    fprintf(stderr, "\r[%.*s%*s] %ld/%ld  match %ld  no match %ld  %.1f/s ", fill, "##############################",
            width - fill, "", done, total, match, nomatch, rate);
    fflush(stderr);
}

int gw_cli_accounts_verify(int argc, char **argv)
{
    const char *conf = NULL, *portal = NULL;
    int dry = 0, restart = 0;
    double per_sec = 5;
    long limit = -1;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            conf = argv[++i];
        else if (!strcmp(argv[i], "--portal") && i + 1 < argc)
            portal = argv[++i];
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            per_sec = atof(argv[++i]);
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            limit = atol(argv[++i]);
        else if (!strcmp(argv[i], "--dry-run"))
            dry = 1;
        else if (!strcmp(argv[i], "--restart"))
            restart = 1;
        else {
            fprintf(stderr, "usage: eidgw accounts verify -c CONF --portal P [--rate N] [--limit N] [--dry-run] "
                            "[--restart]\n");
            return 2;
        }
    }
    if (!conf || !portal || per_sec <= 0 || per_sec > 1000) {
        fprintf(stderr, "usage: eidgw accounts verify -c CONF --portal P [--rate N (per second, default 5)] "
                        "[--limit N] [--dry-run] [--restart]\n");
        return 2;
    }
    char err[512];
    gw_config_t *cfg = gw_app_config_load(conf, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "eidgw: %s\n", err);
        return 1;
    }
    int rc = 1;
    gw_ctx_t app = { .cfg = cfg };
    gw_audit_t *audit = NULL;
    gw_account_t *rows = gw_xcalloc(BATCH, sizeof(gw_account_t));
    gw_log_set_level(GW_LOG_WARN);
    if (!gw_config_client(cfg, portal)) {
        fprintf(stderr, "eidgw: %s: no [client %s] in the configuration\n", conf, portal);
        goto done;
    }
    if (!dry && !gw_popdb_configured(cfg->popdb)) {
        fprintf(stderr, "eidgw: %s: [popdb] url is needed to verify accounts\n", conf);
        goto done;
    }
    app.store = gw_store_open_config(cfg, err, sizeof(err));
    if (!app.store) {
        fprintf(stderr, "eidgw: %s\n", err);
        goto done;
    }
    if (!dry && cfg->audit_path) {
        /* the daemon holds the main audit file: the bulk run keeps its own chain beside it */
        char *p = gw_sprintf("%s.verify", cfg->audit_path);
        audit = gw_audit_open(p, "verify", err, sizeof(err));
        free(p);
        if (!audit) {
            fprintf(stderr, "eidgw: %s\n", err);
            goto done;
        }
    }
    /* resume where an interrupted run stopped */
    char *cursor = NULL;
    if (!restart && gw_store_get(app.store, "verify_cursor", portal, &cursor) != GW_OK)
        cursor = NULL;
    char after[129] = "";
    if (cursor)
        snprintf(after, sizeof(after), "%s", cursor);
    free(cursor);
    /* count what is left, for the progress bar */
    long total = 0;
    char scan[129];
    snprintf(scan, sizeof(scan), "%s", after);
    for (;;) {
        size_t n = 0;
        if (GW_STORE_ACCT(app.store, accounts_to_verify, portal, scan, rows, BATCH, &n) != GW_OK) {
            fprintf(stderr, "eidgw: the store does not hold accounts or is unavailable\n");
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            total += restart || !known_nomatch(app.store, portal, rows[i].id);
        if (n < BATCH)
            break;
        snprintf(scan, sizeof(scan), "%s", rows[n - 1].id);
    }
    if (limit >= 0 && total > limit)
        total = limit;
    if (dry) {
        printf("%s: %ld accounts to check against the population DB%s; at %.1f/s about %.0f minutes\n", portal, total,
               after[0] ? " (resuming)" : "", per_sec, total / per_sec / 60.0);
        rc = 0;
        goto done;
    }
    signal(SIGINT, on_int);
    signal(SIGTERM, on_int);
    int tty = isatty(2);
    long done_n = 0, match = 0, nomatch = 0;
    double started = gw_now_ms(), interval = 1000.0 / per_sec, next = started;
    int outage = 0;
    while (!interrupted && !outage && done_n < total) {
        size_t n = 0;
        if (GW_STORE_ACCT(app.store, accounts_to_verify, portal, after, rows, BATCH, &n) != GW_OK || n == 0)
            break;
        for (size_t i = 0; i < n && !interrupted && done_n < total; i++) {
            gw_account_t *a = &rows[i];
            if (!restart && known_nomatch(app.store, portal, a->id)) {
                snprintf(after, sizeof(after), "%s", a->id);
                continue;
            }
            double now = gw_now_ms();
            if (now < next)
                usleep((useconds_t)((next - now) * 1000));
            next += interval;
            char detail[160] = "";
            int r = gw_popdb_check(app.cfg->popdb, a->cmnd9, a->id12, a->full_name, detail, sizeof(detail));
            if (audit) {
                json_t *f =
                    json_pack("{s:s,s:s,s:s,s:s}", "portal", portal, "who_id12", a->id12, "account", a->id, "result",
                              r == GW_POPDB_MATCH      ? "match"
                              : r == GW_POPDB_NO_MATCH ? "no_match"
                                                       : "error");
                gw_audit_write(audit, "popdb_check", f);
                json_decref(f);
            }
            if (r == GW_POPDB_ERROR) {
                /* not a mismatch: stop here and resume later from this account */
                fprintf(stderr, "%seidgw: the population DB is unavailable (%s); run again to resume\n",
                        tty ? "\n" : "", detail);
                outage = 1;
                break;
            }
            if (r == GW_POPDB_MATCH) {
                GW_STORE_ACCT(app.store, account_update, portal, a->id, GW_ACCT_VERIFIED, a->id12, "popdb", NULL);
                match++;
            } else {
                char *k = gw_sprintf("%s|%s", portal, a->id);
                gw_store_put(app.store, "verify_nomatch", k, "1", NOMATCH_TTL, 0);
                free(k);
                nomatch++;
            }
            snprintf(after, sizeof(after), "%s", a->id);
            done_n++;
            gw_store_put(app.store, "verify_cursor", portal, after, 30L * 86400, 0);
            progress(tty, done_n, total, match, nomatch, done_n * 1000.0 / (gw_now_ms() - started + 1));
        }
    }
    if (tty)
        fputc('\n', stderr);
    int finished = !interrupted && !outage && done_n >= total;
    if (finished && limit < 0)
        gw_store_del(app.store, "verify_cursor", portal);
    printf("%s: checked %ld (match %ld, no match %ld)%s\n", portal, done_n, match, nomatch,
           finished ? "" : "; interrupted: run again to resume");
    rc = outage ? 1 : 0;
done:
    free(rows);
    gw_audit_close(audit);
    gw_store_close(app.store);
    gw_config_free(cfg);
    return rc;
}
