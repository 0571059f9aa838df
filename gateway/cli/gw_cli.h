/* Administrative subcommands of the eidgw binary. Each returns the process exit code:
 * 0 success, 1 failure (with a message on stderr), 2 usage error. */
#ifndef GW_CLI_H
#define GW_CLI_H

/* eidgw accounts import|report|verify ... (argv[0] is "eidgw", argv[1] "accounts") */
int gw_cli_accounts(int argc, char **argv);
/* eidgw accounts verify ... (the bulk population-DB pre-check; cli_verify.c) */
int gw_cli_accounts_verify(int argc, char **argv);
/* eidgw audit verify FILE */
int gw_cli_audit(int argc, char **argv);

#endif
