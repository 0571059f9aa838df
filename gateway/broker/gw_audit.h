/* gw_audit: the tamper-evident audit log. Every login, link, merge, refusal, re-key, unlink
 * and population-DB call becomes one JSON line; each line carries the hash of the line before
 * it, so a changed, removed or inserted line breaks the chain and `eidgw audit verify FILE`
 * names the first broken line.
 *
 * File format (UTF-8, one JSON object per line, every line ends with "\n", no "\r"):
 *
 *   {"seq":N,"ts":"2025-01-31T08:15:02.123Z","node":"gw1","event":"login",<fields>,
 *    "prev":"<64 hex>","hash":"<64 hex>"}
 *
 *   - seq: 1 on the first line of the file, then +1 per line.
 *   - ts: UTC time of the write, milliseconds, "Z".
 *   - node, event: as given to gw_audit_open / gw_audit_write; fields follow in the order of
 *     the jansson object, then prev, then hash. Writers emit compact JSON (no spaces).
 *   - prev: the "hash" value of the previous line; 64 "0" on the first line.
 *   - hash: lowercase hex SHA-256 of the line's bytes, exactly as written, from the opening
 *     "{" up to and excluding the 75-byte tail  ,"hash":"<64 hex>"}  that ends every line.
 *
 * Canonical form, for an outside verifier: split the file at "\n" (the file ends with one).
 * For each line L (without its "\n"):
 *   1. L parses as one JSON object without duplicate keys (a string may hold \u0000), with
 *      seq (integer), ts, node, event, prev (strings) and hash;
 *   2. L ends with ,"hash":"H"} where H is 64 characters of [0-9a-f]; P is L without that
 *      75-byte tail (so P is L up to the comma before "hash");
 *   3. seq is the previous line's seq + 1 (1 for line 1);
 *   4. prev equals the previous line's H (64 "0" for line 1);
 *   5. H equals hex(SHA-256(P)).
 * No re-serialisation is involved: the hash covers the bytes as written, so any JSON writer
 * can produce lines and any verifier can check them.
 *
 * What the chain shows and what it does not: it detects a changed byte, a removed, inserted
 * or reordered line anywhere but at the end. Removing lines from the end, or rewriting the
 * whole file with new hashes, needs an outside anchor (e.g. the operator records the last
 * hash); there is no key in this scheme.
 *
 * One writer per file: gw_audit_open takes an exclusive flock, so each node writes its own
 * file (the node field names it). Retention: files are kept 5 years by default; removing old
 * files is the operator's job, to be configured by the `audit.retention` setting (not read
 * yet). eidgw never rotates, truncates or deletes an audit file itself. */
#ifndef GW_AUDIT_H
#define GW_AUDIT_H
#include <jansson.h>
#include <stddef.h>

/* Longest line gw_audit_write produces and gw_audit_verify_file accepts, "\n" included. */
#define GW_AUDIT_MAX_LINE 65536

typedef struct gw_audit gw_audit_t;

/* Opens or creates (mode 0600) the log at `path` for appending and continues its chain from
 * the last line, which must be complete and self-consistent (parses, carries a hash that
 * matches its content). The rest of the file is not read; gw_audit_verify_file checks it.
 * A last line without "\n" (a crash during a write) fails the open with
 * "PATH:LINE: last line is incomplete ..." and leaves the file unchanged for the operator.
 * Fails too when another handle holds the file's lock. node_id names this gateway in every
 * line (NULL: the host name). Returns NULL with a message in err on failure. */
gw_audit_t *gw_audit_open(const char *path, const char *node_id, char *err, size_t errlen);

/* Appends one event and waits until it is on disk (fdatasync): GW_OK means durable.
 * Thread-safe: writes from many threads are serialised, seq follows the file order; the
 * function returns once the line is on disk (fdatasync), a sync shared by the lines that
 * came meanwhile.
 * event: 1..64 characters of [A-Za-z0-9._-]. fields: a JSON object or NULL, borrowed (not
 * modified, not consumed). Rules for fields:
 *   - the keys seq, ts, node, event, prev, hash are reserved: GW_EINVAL;
 *   - secrets are refused (GW_EINVAL), at any depth: keys named password, secret, token or
 *     code, and keys ending in _password, _secret or _token;
 *   - a key ending in _id12 holds an ID number: a string value is written masked with
 *     gw_id_mask (an already masked value stays the same), null stays null, any other type is
 *     GW_EINVAL. This applies at any depth.
 * Errors: GW_EINVAL as above or a NULL argument, GW_ETOOBIG for a line over
 * GW_AUDIT_MAX_LINE, GW_ESTORE when the line could not be written or synced (a partly written
 * line is cut off again; if that fails too, every later write is GW_ESTORE), GW_ENOMEM. */
int gw_audit_write(gw_audit_t *a, const char *event, json_t *fields);

/* How many fdatasync calls the writer made: writes that come together share one
 * (gw_audit_write returns once a sync that covers its line has succeeded). */
long gw_audit_syncs(gw_audit_t *a);

/* Closes the file and frees the handle. NULL is a no-op. */
void gw_audit_close(gw_audit_t *a);

/* Checks the whole file (see the canonical form above). GW_OK: *ret_events (optional) is the
 * number of lines. GW_EINVAL: the chain is broken; *ret_bad_line (optional) is the first
 * broken line (1-based) and err the reason ("bad JSON: ...", "missing or bad field ...",
 * "seq gap: ...", "prev mismatch: ...", "hash mismatch: ...", "line too long ...",
 * "incomplete last line ...").
 * GW_ENOTFOUND / GW_ESTORE: the file cannot be opened / read (err says why). An empty file is
 * an intact chain of 0 events. ret_ parameters are only written for the results above. */
int gw_audit_verify_file(const char *path, long *ret_events, long *ret_bad_line, char *err, size_t errlen);

#endif
