#include "gw_cli.h"

#include <stdio.h>

int gw_cli_audit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "eidgw audit: not available in this build\n");
    return 2;
}
