/* The OpenID Provider's pure parsers, for its tests and fuzz targets. */
#ifndef GW_OP_INTERNAL_H
#define GW_OP_INTERNAL_H

/* The credentials of `Authorization: Basic <b64>` (RFC 6749 2.3.1: client id and secret
 * each form-encoded, joined by ':', then base64, either alphabet): 0 with both decoded
 * (malloc'd, the secret to be freed with gw_wipe_free), -1 when malformed (not base64, no
 * ':', a NUL byte or a bad escape), with nothing set. */
int gw_op_basic_credentials(const char *b64, char **ret_id, char **ret_secret);

#endif
