// Starts real processes on loopback for integration tests: eidgw (the binary under
// test, EIDGW_BIN or build/eidgw), the VNeID simulator or another upstream, and
// returns handles. Every process is killed by stop().
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const EIDGW_BIN = process.env.EIDGW_BIN || path.join(ROOT, 'build/eidgw');
export const ARTIFACTS = process.env.EIDGW_ARTIFACTS || path.join(ROOT, 'test-artifacts');

// One plain HTTP request to 127.0.0.1:port, headers as given (Host too): the status,
// headers and body as text. For proxies in front of a portal, which route by Host.
export function rawRequest(port, p, headers = {}, method = 'GET', localAddress = undefined) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

export const secret = () => randomBytes(24).toString('base64url');
export const sha256hex = (s) => createHash('sha256').update(s).digest('hex');
// The admin API's bearer token: every gateway the harness configures enables it.
export const ADMIN_TOKEN = secret();

export async function waitHttp(url, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { const r = await fetch(url, { redirect: 'manual' }); await r.arrayBuffer(); return r.status; }
    catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not reachable: ${url}: ${last}`);
}

// Run a child process; output goes to a log file under the stack's directory.
export function run(name, cmd, args, { dir, env } = {}) {
  const log = fs.openSync(path.join(dir, `${name}.log`), 'a');
  const p = spawn(cmd, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  p.logPath = path.join(dir, `${name}.log`);
  p.exited = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig })));
  return p;
}

export function readLog(p) { try { return fs.readFileSync(p.logPath, 'utf8'); } catch { return ''; } }

// Default clients; each test may pass its own list.
export function defaultClients(port) {
  return [
    { id: 'portal-a', secret: secret(), redirect: [`http://127.0.0.1:${port.a}/callback`],
      postLogout: [`http://127.0.0.1:${port.a}/`], scopes: 'openid profile cccd', minLevel: 1 },
    { id: 'portal-b', secret: secret(), redirect: [`http://127.0.0.1:${port.b}/callback`],
      postLogout: [`http://127.0.0.1:${port.b}/`], scopes: 'openid profile', minLevel: 2, alg: 'RS256' },
    { id: 'spa', public: true, redirect: [`http://127.0.0.1:${port.a}/spa-callback`], scopes: 'openid profile',
      minLevel: 1 },
  ];
}

// publicUrl: the issuer, when not the listener's own http URL (an https one behind a TLS proxy)
export function configText({ gwPort, dir, upstream, clients, extra = '', store, extraClient = {}, server = '',
                             session = '', publicUrl }) {
  const u = upstream;
  let s = `[server]
listen = 127.0.0.1:${gwPort}
public_url = ${publicUrl || `http://127.0.0.1:${gwPort}`}
io_threads = 2
${/^workers\s*=/m.test(server) ? '' : 'workers = 4\n'}templates = ${ROOT}/templates
${server}

[keys]
dir = ${dir}/keys

[store]
${(store || `driver = sqlite\npath = ${dir}/eidgw.db`).replaceAll('DIR/', `${dir}/`)}

[session]
lifetime = 1h
code_lifetime = ${u.codeLifetime || '60s'}
${session.replaceAll('DIR/', `${dir}/`)}

[log]
level = debug

[upstream vneid]
issuer = ${u.issuer}
authorization_endpoint = ${u.authorization_endpoint}
token_endpoint = ${u.token_endpoint}
userinfo_endpoint = ${u.userinfo_endpoint}
jwks_uri = ${u.jwks_uri}
client_id = ${u.client_id}
client_secret = ${u.client_secret}
scope = ${u.scope || 'openid'}
pkce = ${u.pkce === false ? 'no' : 'yes'}
nonce = ${u.nonce === false ? 'no' : 'yes'}
id_token = ${u.id_token || 'required'}
algs = ${u.algs || 'RS256'}
claim_id = ${u.claim_id || 'SoDinhDanh'}
claim_name = ${u.claim_name || 'HoVaTen'}
claim_birthdate = ${u.claim_birthdate || 'NgayThangNamSinh'}
birthdate_format = ${u.birthdate_format || 'YYYYMMDD'}
claim_sex = ${u.claim_sex || 'GioiTinh'}
sex_male = 1
sex_female = 2
claim_level = ${u.claim_level || 'IAL'}
level_map = 1:1
level_map = 2:2
claim_account_type = ${u.claim_account_type || 'LoaiTaiKhoan'}
claim_logout_uri = logoutUri
timeout = ${u.timeout || '3s'}
${(u.more || '').replaceAll('DIR/', `${dir}/`)}`;
  for (const c of clients) {
    s += `\n[client ${c.id}]\nname = ${c.name || 'Cổng ' + c.id}\n`;
    if (c.public) s += 'public = yes\n'; else s += `secret_sha256 = ${sha256hex(c.secret)}\n`;
    for (const r of c.redirect) s += `redirect_uri = ${r}\n`;
    for (const r of c.postLogout || []) s += `post_logout_redirect_uri = ${r}\n`;
    if (c.backchannel) s += `backchannel_logout_uri = ${c.backchannel}\n`;
    s += `scopes = ${c.scopes}\nmin_level = ${c.minLevel}\n`;
    if (c.alg) s += `token_alg = ${c.alg}\n`;
    if (c.accountTypes) s += `account_types = ${c.accountTypes}\n`;
    if (extraClient[c.id]) s += extraClient[c.id];
  }
  if (!extra.includes('[admin]')) s += `\n[admin]\ntoken_sha256 = ${sha256hex(ADMIN_TOKEN)}\n`;
  return s + extra.replaceAll('DIR/', `${dir}/`);
}

// Start the VNeID simulator. Returns {url, proc, faults(obj), stats()}.
export async function startVneidSim(dir, redirectUris, clientId = 'eidgw', clientSecret = secret(), simArgs = []) {
  const port = await freePort();
  const args = [path.join(ROOT, 'sim/vneid/server.js'), '--port', String(port), ...simArgs];
  for (const r of redirectUris) args.push('--client', `${clientId}:${clientSecret}:${r}`);
  const proc = run('vneid-sim', process.execPath, args, { dir });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/.well-known/openid-configuration`);
  const faults = async (f) => {
    const r = await fetch(`${url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' },
                                                  body: JSON.stringify(f) });
    if (r.status !== 200) throw new Error(`faults: ${r.status} ${await r.text()}`);
  };
  const stats = async () => (await fetch(`${url}/_sim/stats`)).json();
  return { url, port, proc, clientId, clientSecret, faults, stats,
    upstream: { issuer: url, authorization_endpoint: `${url}/auth`, token_endpoint: `${url}/token`,
                userinfo_endpoint: `${url}/userinfo`, jwks_uri: `${url}/jwks`, client_id: clientId,
                client_secret: clientSecret } };
}

// A configuration (it holds the upstream's client secret inline) or another secret, as an
// operator writes it: readable by its owner only, else eidgw refuses it.
export function writeSecretFile(file, text) {
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600); // also when it was there before
}

// Start eidgw with a generated config. opts: {upstream, clients, extra, gwPort, dir}
export async function startGateway(opts) {
  const dir = opts.dir;
  if (!fs.existsSync(path.join(dir, 'keys'))) execFileSync(EIDGW_BIN, ['keys', 'generate', path.join(dir, 'keys')]);
  if (opts.samlKey && !fs.existsSync(path.join(dir, 'keys/saml-idp.key'))) {
    // the SAML IdP's signing key, as keys/gen-dev-keys.sh makes it
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30', '-subj',
                             '/CN=eidgw SAML IdP', '-keyout', path.join(dir, 'keys/saml-idp.key'),
                             '-out', path.join(dir, 'keys/saml-idp.crt')], { stdio: 'pipe' });
  }
  const gwPort = opts.gwPort;
  const conf = path.join(dir, 'eidgw.conf');
  writeSecretFile(conf, configText({ ...opts, gwPort, dir }));
  // wrap: a command the daemon runs under (e.g. prlimit, for a low descriptor limit)
  const [cmd, ...args] = [...(opts.wrap || []), EIDGW_BIN, 'serve', '-c', conf];
  const proc = run('eidgw', cmd, args, { dir });
  const url = `http://127.0.0.1:${gwPort}`;
  // a daemon under ASan with full stack unwinding (tools/test.sh) and several SAML portals
  // (each one's metadata read by lasso at start) takes some 20 s to listen
  await waitHttp(`${url}/healthz`, 60000);
  gatewayOfDb.set(path.join(dir, 'eidgw.db'), { url });
  return { url, port: gwPort, proc, conf, db: path.join(dir, 'eidgw.db') };
}

// The usual stack: VNeID simulator + eidgw with the default clients.
export async function startStack(name, { clients, extra, upstreamOverrides = {}, store, extraClient, server,
                                          samlKey, simArgs, session, publicUrl, wrap } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `eidgw-${name}-`));
  const gwPort = await freePort();
  const port = { a: await freePort(), b: await freePort() };
  const sim = await startVneidSim(dir, [`http://127.0.0.1:${gwPort}/callback`], undefined, undefined,
                                  typeof simArgs === 'function' ? simArgs(dir) : simArgs);
  const cl = clients || defaultClients(port);
  const gw = await startGateway({ dir, gwPort, clients: cl, extra, store, extraClient, server, samlKey, session,
                                  publicUrl, wrap, upstream: { ...sim.upstream, ...upstreamOverrides } });
  const procs = [sim.proc, gw.proc];
  return {
    dir, gw, sim, clients: Object.fromEntries(cl.map((c) => [c.id, c])), port, procs,
    async stop() {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
      await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 3000))])));
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    },
  };
}

// On SQLite the short-lived records (authorization requests, flows, codes, access
// tokens, ...) live in the gateway's memory, not in the file: which namespaces, and their
// keys, are read through the admin API (GET /admin/records), the rest with the sqlite3
// CLI from the file.
const gatewayOfDb = new Map();

function adminRecords(url, ns) {
  const out = execFileSync('curl', ['-sS', '--fail-with-body', '-H', `Authorization: Bearer ${ADMIN_TOKEN}`,
                                    `${url}/admin/records${ns ? `?ns=${ns}` : ''}`]);
  return JSON.parse(String(out));
}

// the keys of ns when the gateway holds it in memory, else null
function memoryKeys(db, ns) {
  const gw = gatewayOfDb.get(db);
  if (!gw) return null;
  gw.memory ??= new Set(Object.keys(adminRecords(gw.url).records));
  return gw.memory.has(ns) ? adminRecords(gw.url, ns).keys.sort() : null;
}

// Count live records of namespace ns, e.g. kvCount(db, 'sess').
export function kvCount(db, ns) {
  const mem = memoryKeys(db, ns);
  if (mem) return mem.length;
  const out = execFileSync('sqlite3', [db, `SELECT count(*) FROM kv WHERE ns='${ns.replace(/'/g, "''")}' AND exp > strftime('%s','now')`]);
  return Number(String(out).trim());
}

// Keys of the live records in namespace ns (sorted), e.g. to show that a request
// created no session, code or token: compare kvKeys before and after.
export function kvKeys(db, ns) {
  const mem = memoryKeys(db, ns);
  if (mem) return mem;
  const out = execFileSync('sqlite3', [db, `SELECT k FROM kv WHERE ns='${ns.replace(/'/g, "''")}' AND exp > strftime('%s','now') ORDER BY k`]);
  return String(out).split('\n').filter(Boolean);
}

// Snapshot of several namespaces; newKeys(db, snap) lists what appeared since.
// Another process (the sqlite3 CLI) takes the database's write lock and keeps it until
// release(); ready resolves once it holds it.
export function holdWriteLock(db) {
  const p = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => { out += d; if (out.includes('held')) resolve(); });
    p.on('exit', (code) => reject(new Error(`sqlite3 exited (${code}) before holding the lock`)));
  });
  p.stdin.write("BEGIN IMMEDIATE;\nSELECT 'held';\n");
  const exited = new Promise((r) => p.on('exit', r));
  return { ready, release: () => { p.stdin.end('ROLLBACK;\n.quit\n'); return exited; } };
}

export function kvSnapshot(db, nss = ['sess', 'code', 'cux', 'atr']) {
  return Object.fromEntries(nss.map((ns) => [ns, new Set(kvKeys(db, ns))]));
}
export function newKeys(db, snap) {
  return Object.fromEntries(Object.entries(snap).map(([ns, before]) => [ns, kvKeys(db, ns).filter((k) => !before.has(k))]));
}
