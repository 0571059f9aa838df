/* What the subcommands expose to their tests and fuzz targets: the steps below the
 * argument parsing, on an already open store. */
#ifndef GW_CLI_INTERNAL_H
#define GW_CLI_INTERNAL_H
#include "gw_store.h"

#include <stdio.h>

/* The import of `eidgw accounts import` on an open store: reads f (named `file` in the
 * messages) as CSV or JSON Lines for `portal`, reports bad rows on stderr and writes them
 * only when dry_run is 0 and no row is bad. Returns 0, or 1 when a row or the store failed. */
int gw_cli_import_run(gw_store_t *st, const char *portal, const char *file, FILE *f, int jsonl, int dry_run);

#endif
