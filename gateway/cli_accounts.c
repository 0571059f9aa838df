#include "gw_cli.h"

#include <stdio.h>

int gw_cli_accounts(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "eidgw accounts: not available in this build\n");
    return 2;
}
