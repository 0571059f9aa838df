/* eidgw audit verify FILE: checks the hash chain of an audit log written by gw_audit. */
#include "gw_audit.h"
#include "gw_cli.h"
#include "gw_util.h"

#include <stdio.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: eidgw audit verify FILE\n"
                    "  checks the audit log's hash chain: prints \"FILE: ok, N events, chain intact\"\n"
                    "  (exit 0) or \"FILE:LINE: broken: reason\" for the first broken line (exit 1)\n");
    return 2;
}

int gw_cli_audit(int argc, char **argv)
{
    if (argc == 3 && (!strcmp(argv[2], "help") || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        usage();
        return 0;
    }
    if (argc != 4 || strcmp(argv[2], "verify") || argv[3][0] == '\0')
        return usage();
    const char *path = argv[3];
    long events = 0, bad_line = 0;
    char err[512];
    int rc = gw_audit_verify_file(path, &events, &bad_line, err, sizeof(err));
    if (rc == GW_OK) {
        printf("%s: ok, %ld events, chain intact\n", path, events);
        return 0;
    }
    if (rc == GW_EINVAL)
        fprintf(stderr, "%s:%ld: broken: %s\n", path, bad_line, err);
    else
        fprintf(stderr, "eidgw audit: %s: %s\n", path, err);
    return 1;
}
