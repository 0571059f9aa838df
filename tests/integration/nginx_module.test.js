// The nginx module (docs/nginx.md) in Debian's nginx, in front of a backend that echoes the
// headers it receives, beside a running gateway (its keys sign the module's assertion, its
// revocation file suspends a portal). Skips, loudly, when nginx or the built module is absent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import crypto from 'node:crypto';
import { spawn, execFileSync } from 'node:child_process';
import { rawRequest, startStack, startGateway, secret } from './lib/harness.js';

const bin = process.env.EIDGW_BIN || new URL('../../build/eidgw', import.meta.url).pathname;
// the module is not built with sanitizers (Debian's nginx loads it): a daemon from the
// ASan tree is tested with the module of the normal build
const modSo = [process.env.EIDGW_NGINX_MODULE, path.join(path.dirname(bin), 'ngx_http_eidgw_module.so'),
  path.join(path.dirname(new URL(import.meta.url).pathname), '../../build/ngx_http_eidgw_module.so')]
  .filter(Boolean).find((p) => fs.existsSync(p)) || path.join(path.dirname(bin), 'ngx_http_eidgw_module.so');
const sealBin = path.join(path.dirname(bin), 'pcookie-seal');
const nginxBin = (() => {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (fs.existsSync(p)) return p;
  return null;
})();
const skip = !nginxBin ? 'nginx is not installed (apt install nginx nginx-dev)'
  : !fs.existsSync(modSo) ? `the module is not built (${modSo}; needs nginx-dev)`
  : !fs.existsSync(sealBin) ? `the test tool is not built (${sealBin})` : false;
if (skip) console.error(`nginx_module.test.js: SKIPPED: ${skip}`);

let dir, backend, nginx, port, stack;
const now = () => Math.floor(Date.now() / 1000);
const NAME = 'Nguyễn Văn Ánh 100%';

// a portal cookie sealed under the test's cookie.key (fields as in gw_pcookie.h)
function mint(fields = {}) {
  const payload = {
    sid: 'sid-1', pid: 'demo-portal', sub: 'pairwise-sub-1', lvl: 2, acr: 'urn:vneid:level2',
    at: now() - 60, exp: now() + 600, rc: now() + 300, cl: { name: NAME, birthdate: '1990-02-03' },
    ...fields,
  };
  return execFileSync(sealBin, ['seal', path.join(dir, 'cookie.key'), JSON.stringify(payload)],
                      { encoding: 'utf8' }).trim();
}

// the backend's view: lower-cased header name -> every value it received
function seenHeaders(body) {
  const raw = JSON.parse(body), seen = {};
  for (let i = 0; i < raw.length; i += 2) (seen[raw[i].toLowerCase()] ||= []).push(raw[i + 1]);
  return seen;
}

// every byte outside printable ASCII, and '%', as %XX (docs/nginx.md)
function pctEncode(s) {
  return [...Buffer.from(s, 'utf8')].map((b) => (b < 0x20 || b >= 0x7f || b === 0x25
    ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b))).join('');
}

const request = (p, headers = {}) => rawRequest(port, p, headers);

// the gateway's portals: demo-portal behind this nginx, off-portal (suspended later) behind
// its second server, off-oidc an OIDC portal suspended with it
const gwClients = [
  { id: 'demo-portal', secret: secret(), redirect: [], scopes: 'openid profile cccd', minLevel: 1 },
  { id: 'off-portal', secret: secret(), redirect: [], scopes: 'openid profile', minLevel: 1 },
  { id: 'off-oidc', secret: secret(), redirect: ['http://127.0.0.1:9/cb'], scopes: 'openid', minLevel: 1 },
];
const gwExtra = (suspended) => ({
  'demo-portal': `proxy_origin = http://127.0.0.1:${port}\n`,
  'off-portal': `proxy_origin = http://localhost:${port}\n${suspended ? 'suspended = yes\n' : ''}`,
  'off-oidc': suspended ? 'suspended = yes\n' : '',
});
const gwOpts = () => ({ server: 'trusted_proxy = 127.0.0.1', session: `revocation_file = ${dir}/gw-revoked` });

const b64json = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

// the assertion's header and claims, once its signature verifies against the gateway's /jwks
async function verifiedAssertion(jwt) {
  const [h, p, sig] = jwt.split('.');
  const header = b64json(h);
  const jwks = await (await fetch(`${stack.gw.url}/jwks`)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is in the gateway's JWKS`);
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`),
                           header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
                           Buffer.from(sig, 'base64url'));
  assert.ok(ok, 'the signature verifies against the JWKS');
  return { header, claims: b64json(p) };
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

before(async () => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-nginx-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  fs.chmodSync(dir, 0o755); // nginx workers (nobody, under root) stat the revocation file in it
  backend = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.rawHeaders));
  });
  // a websocket-style upgrade: 101, the headers it was sent as the first frame, then an echo
  backend.on('upgrade', (req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.write(`${JSON.stringify(req.rawHeaders)}\n`);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => {});
  });
  const bport = await listen(backend);
  const probe = http.createServer();
  port = await listen(probe);
  await new Promise((r) => probe.close(r));
  // the gateway: its cookie key seals the test's cookies, its ES256 key signs the module's
  // assertions, and it keeps the revocation file of the second portal's server
  stack = await startStack('nginx-module', { clients: gwClients, extraClient: gwExtra(false), ...gwOpts() });
  fs.copyFileSync(path.join(stack.dir, 'keys/cookie.key'), path.join(dir, 'cookie.key'));
  const sigKey = fs.readdirSync(path.join(stack.dir, 'keys')).filter((f) => f.endsWith('-ES256.jwk')).sort().pop();
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `
load_module ${modSo};
error_log ${dir}/logs/error.log info;
pid ${dir}/nginx.pid;
events {}
http {
  access_log off;
  eidgw_key_file ${dir}/cookie.key;
  eidgw_signing_key ${stack.dir}/keys/${sigKey};
  eidgw_issuer ${stack.gw.url};
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  underscores_in_headers on;
  server {
    listen 127.0.0.1:${port};
    eidgw on;
    eidgw_portal demo-portal;
    eidgw_login_url http://login.example/portal/start;
    eidgw_claim_header name X-Citizen-Name;
    eidgw_claim_header birthdate X-Citizen-Birthdate;
    eidgw_claim_header cccd X-Citizen-Cccd;
    eidgw_revocations ${dir}/revoked;
    location / { proxy_pass http://127.0.0.1:${bport}; }
    location /strong/ { eidgw_min_level 2; proxy_pass http://127.0.0.1:${bport}; }
    location /ws/ {
      proxy_pass http://127.0.0.1:${bport};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
    }
    location /public/ { eidgw_bypass; proxy_pass http://127.0.0.1:${bport}; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    eidgw on;
    eidgw_portal off-portal;
    eidgw_login_url http://login.example/portal/start;
    eidgw_revocations ${dir}/gw-revoked;
    location / { proxy_pass http://127.0.0.1:${bport}; }
  }
}
`);
  execFileSync(nginxBin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-t'], { stdio: 'pipe' });
  nginx = spawn(nginxBin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'],
                { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try { await request('/public/'); return; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  throw new Error('nginx did not start listening');
});

after(async () => {
  if (nginx) { nginx.kill('SIGTERM'); await new Promise((r) => nginx.once('exit', r)); }
  if (stack) { await stack.stop(); fs.rmSync(stack.dir, { recursive: true, force: true }); }
  if (backend) backend.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('identity headers sent by the client are stripped in every spelling', { skip }, async () => {
  const spoofed = ['X-Eidgw-Sub', 'x-eidgw-level', 'X_EIDGW_SUB', 'x.eidgw.acr', 'X-EIDGW_Auth-Time',
                   'X-Citizen-Name', 'x_citizen.name', 'X.CITIZEN_NAME'];
  const headers = { 'X-Kept': 'yes' };
  for (const h of spoofed) headers[h] = 'forged';
  const res = await request('/public/page', headers);
  assert.strictEqual(res.status, 200);
  const seen = JSON.parse(res.body).filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
  assert.ok(seen.includes('x-kept'), 'other headers reach the backend');
  for (const h of spoofed) assert.ok(!seen.includes(h.toLowerCase()), `${h} reached the backend`);
  assert.ok(!JSON.parse(res.body).includes('forged'));
});

test('browser navigation without a session is sent to the login start', { skip }, async () => {
  const res = await request('/account/docs?x=1&y=%C3%A1', { accept: 'text/html,application/xhtml+xml' });
  assert.strictEqual(res.status, 302);
  const loc = new URL(res.headers.location);
  assert.strictEqual(loc.origin + loc.pathname, 'http://login.example/portal/start');
  assert.strictEqual(loc.searchParams.get('portal'), 'demo-portal');
  assert.strictEqual(loc.searchParams.get('return_to'), `http://127.0.0.1:${port}/account/docs?x=1&y=%C3%A1`);
});

test('a non-browser request without a session gets 401 and never reaches the backend', { skip }, async () => {
  const res = await request('/api/data', { accept: 'application/json', 'x-eidgw-sub': 'forged' });
  assert.strictEqual(res.status, 401);
  assert.match(res.headers['www-authenticate'], /^Eidgw /);
  assert.ok(!res.body.includes('forged'));
});

test('a valid portal cookie reaches the backend as identity headers', { skip }, async () => {
  const at = now() - 120;
  const res = await request('/account', { cookie: `other=1; eidgw_portal=${mint({ at })}; last=2` });
  assert.strictEqual(res.status, 200);
  const seen = seenHeaders(res.body);
  assert.deepStrictEqual(seen['x-eidgw-sub'], ['pairwise-sub-1']);
  assert.deepStrictEqual(seen['x-eidgw-level'], ['2']);
  assert.deepStrictEqual(seen['x-eidgw-acr'], ['urn:vneid:level2']);
  assert.deepStrictEqual(seen['x-eidgw-auth-time'], [String(at)]);
  assert.deepStrictEqual(seen['x-citizen-name'], [pctEncode(NAME)]);
  assert.strictEqual(decodeURIComponent(seen['x-citizen-name'][0]), NAME);
  assert.deepStrictEqual(seen['x-citizen-birthdate'], ['1990-02-03']);
  assert.strictEqual(seen['x-citizen-cccd'], undefined, 'a claim not released is not injected');
});

test('spoofed identity headers in every spelling are replaced by the real ones', { skip }, async () => {
  const spoofed = ['X-Eidgw-Sub', 'x-eidgw-level', 'X_EIDGW_SUB', 'x.eidgw.acr', 'X-EIDGW_Auth-Time',
                   'X-Eidgw-Extra', 'X-Citizen-Name', 'x_citizen.name', 'X.CITIZEN_NAME', 'x-citizen-cccd'];
  const headers = { cookie: `eidgw_portal=${mint()}` };
  for (const h of spoofed) headers[h] = 'forged';
  const res = await request('/account', headers);
  assert.strictEqual(res.status, 200);
  assert.ok(!res.body.includes('forged'));
  const seen = seenHeaders(res.body);
  for (const h of ['x_eidgw_sub', 'x.eidgw.acr', 'x-eidgw_auth-time', 'x-eidgw-extra', 'x_citizen.name',
                   'x.citizen_name', 'x-citizen-cccd'])
    assert.strictEqual(seen[h], undefined, `${h} reached the backend`);
  assert.deepStrictEqual(seen['x-eidgw-sub'], ['pairwise-sub-1']);
  assert.deepStrictEqual(seen['x-eidgw-level'], ['2']);
  assert.deepStrictEqual(seen['x-citizen-name'], [pctEncode(NAME)]);
});

test('expired, tampered, wrong-portal and too-weak cookies are no session', { skip }, async () => {
  const good = mint();
  const flip = good.slice(0, 40) + (good[40] === 'A' ? 'B' : 'A') + good.slice(41);
  const bad = {
    expired: ['/account', mint({ exp: now() - 1 })],
    tampered: ['/account', flip],
    'another portal': ['/account', mint({ pid: 'other-portal' })],
    truncated: ['/account', good.slice(0, -4)],
    'level 1 where 2 is needed': ['/strong/page', mint({ lvl: 1 })],
  };
  for (const [what, [p, c]] of Object.entries(bad)) {
    const api = await request(p, { accept: 'application/json', cookie: `eidgw_portal=${c}`, 'x-eidgw-sub': 'forged' });
    assert.strictEqual(api.status, 401, what);
    assert.ok(!api.body.includes('forged'), what);
    const nav = await request(p, { accept: 'text/html', cookie: `eidgw_portal=${c}` });
    assert.strictEqual(nav.status, 302, what);
    assert.match(nav.headers.location, /^http:\/\/login\.example\/portal\/start\?portal=demo-portal&/, what);
  }
  const strong = await request('/strong/page', { cookie: `eidgw_portal=${mint({ lvl: 2 })}` });
  assert.strictEqual(strong.status, 200, 'level 2 opens the level-2 location');
  const past = await request('/account', { cookie: `eidgw_portal=${mint({ rc: now() - 10 })}` });
  assert.strictEqual(past.status, 200, 'a cookie past its re-check time is honoured until it expires');
});

test('a session written to the revocation file is refused within a second', { skip }, async () => {
  const revoked = mint({ sid: 'sid-revoked' }), other = mint({ sid: 'sid-kept' });
  assert.strictEqual((await request('/account', { cookie: `eidgw_portal=${revoked}` })).status, 200);
  execFileSync(sealBin, ['revoke', path.join(dir, 'revoked'), 'sid-revoked']);
  const t0 = Date.now();
  let status;
  while (Date.now() - t0 < 3000) {
    status = (await request('/account', { cookie: `eidgw_portal=${revoked}` })).status;
    if (status === 401) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.strictEqual(status, 401);
  assert.ok(Date.now() - t0 <= 1500, `refused after ${Date.now() - t0} ms`);
  assert.strictEqual((await request('/account', { cookie: `eidgw_portal=${other}` })).status, 200,
                     'another session is still accepted');
});

test('a websocket upgrade with a valid cookie passes through with the identity headers', { skip }, async () => {
  const socket = await new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path: '/ws/chat',
      headers: { connection: 'Upgrade', upgrade: 'websocket', cookie: `eidgw_portal=${mint()}`, 'x-eidgw-sub': 'forged' },
    });
    req.on('upgrade', (res, sock, head) => {
      assert.strictEqual(res.statusCode, 101);
      if (head.length) sock.unshift(head);
      resolve(sock);
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  let buf = '';
  const line = () => new Promise((resolve) => {
    const on = () => {
      const i = buf.indexOf('\n');
      if (i < 0) return;
      socket.off('data', onData);
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      resolve(l);
    };
    const onData = (d) => { buf += d; on(); };
    socket.on('data', onData);
    on();
  });
  const seen = seenHeaders(await line());
  assert.deepStrictEqual(seen['x-eidgw-sub'], ['pairwise-sub-1']);
  socket.write('ping over the upgraded connection\n');
  assert.strictEqual(await line(), 'ping over the upgraded connection');
  socket.destroy();
});

test('a websocket upgrade without a session is refused', { skip }, async () => {
  const res = await request('/ws/chat', { connection: 'Upgrade', upgrade: 'websocket' });
  assert.strictEqual(res.status, 401);
});

test('with eidgw_signing_key the backend gets an assertion that verifies against the gateway JWKS', { skip },
     async () => {
  const at = now() - 30;
  const cookie = mint({ at, cl: { name: NAME, cccd: '001090000001' } });
  const t0 = now();
  const res = await request('/account', { cookie: `eidgw_portal=${cookie}` });
  assert.strictEqual(res.status, 200);
  const seen = seenHeaders(res.body);
  assert.strictEqual(seen['x-eidgw-assertion']?.length, 1);
  const jwt = seen['x-eidgw-assertion'][0];
  const { header, claims } = await verifiedAssertion(jwt);
  assert.strictEqual(header.alg, 'ES256');
  assert.strictEqual(header.typ, 'JWT');
  assert.strictEqual(claims.iss, stack.gw.url);
  assert.strictEqual(claims.aud, 'demo-portal');
  assert.strictEqual(claims.sub, 'pairwise-sub-1');
  assert.strictEqual(claims.acr, 'urn:vneid:level2');
  assert.strictEqual(claims.eid_level, 2);
  assert.strictEqual(claims.auth_time, at);
  assert.ok(claims.iat >= t0 - 1 && claims.iat <= now() + 1, `iat ${claims.iat}`);
  assert.strictEqual(claims.exp, claims.iat + 60);
  assert.strictEqual(claims.name, NAME);
  assert.strictEqual(claims.cccd, '001090000001');
  assert.deepStrictEqual(Object.keys(claims).sort(),
                         ['acr', 'aud', 'auth_time', 'cccd', 'eid_level', 'exp', 'iat', 'iss', 'name', 'sub']);
  // the same cookie again: the worker's signed assertion is reused
  const again = seenHeaders((await request('/account', { cookie: `eidgw_portal=${cookie}` })).body);
  assert.deepStrictEqual(again['x-eidgw-assertion'], [jwt]);
  // another cookie, another assertion
  const other = seenHeaders((await request('/account', { cookie: `eidgw_portal=${mint({ sub: 'sub-2' })}` })).body);
  assert.strictEqual((await verifiedAssertion(other['x-eidgw-assertion'][0])).claims.sub, 'sub-2');
  // the daemon's forward-auth answer for the same cookie carries the same claims
  const fa = await rawRequest(stack.gw.port, '/auth/check', {
    'x-forwarded-host': `127.0.0.1:${port}`, 'x-forwarded-uri': '/account', 'x-forwarded-method': 'GET',
    cookie: `eidgw_portal=${cookie}` });
  assert.strictEqual(fa.status, 200);
  const daemon = await verifiedAssertion(fa.headers['x-eidgw-assertion']);
  const strip = ({ iat, exp, ...rest }) => rest;
  assert.deepStrictEqual(strip(daemon.claims), strip(claims));
  assert.deepStrictEqual(daemon.header, header);
});

test('a client-sent X-Eidgw-Assertion never arrives', { skip }, async () => {
  const forged = { 'X-Eidgw-Assertion': 'forged-1', x_eidgw_assertion: 'forged-2', 'X.EIDGW.ASSERTION': 'forged-3' };
  const withCookie = await request('/account', { ...forged, cookie: `eidgw_portal=${mint()}` });
  assert.strictEqual(withCookie.status, 200);
  const seen = seenHeaders(withCookie.body);
  assert.strictEqual(seen['x-eidgw-assertion'].length, 1);
  assert.ok(!withCookie.body.includes('forged'));
  await verifiedAssertion(seen['x-eidgw-assertion'][0]);
  const bypassed = await request('/public/page', forged);
  assert.strictEqual(bypassed.status, 200);
  assert.ok(!bypassed.body.includes('forged'), 'a bypassed location gets none either');
  assert.strictEqual(seenHeaders(bypassed.body)['x-eidgw-assertion'], undefined);
});

test('a bypassed location whose raw path a backend could read as another one is checked', { skip }, async () => {
  // nginx matches /public/ on its normalised path; proxy_pass sends these as they came
  for (const p of ['/public/..%5cpage', '/public/..;/page', '/public/x%2f..%2f..%2fpage', '/public//page']) {
    const r = await request(p);
    assert.strictEqual(r.status, 401, `${p} reached the backend without a session: ${r.status}`);
  }
  assert.strictEqual((await request('/public/page')).status, 200, 'a plain bypassed path still passes');
  assert.strictEqual((await request('/public/page', { cookie: `eidgw_portal=${mint()}` })).status, 200);
});

test('a portal suspended at the gateway is refused by nginx within a second, without restarting nginx',
     { skip }, async () => {
  const host = `localhost:${port}`;
  const cookie = `eidgw_portal=${mint({ pid: 'off-portal', sid: 'sid-off' })}`;
  assert.strictEqual((await request('/page', { host, cookie })).status, 200, 'not yet suspended');
  // the gateway starts again with the portal suspended; nginx runs on
  stack.gw.proc.kill('SIGTERM');
  await stack.gw.proc.exited;
  const gw = await startGateway({ dir: stack.dir, gwPort: stack.gw.port, clients: gwClients,
                                  extraClient: gwExtra(true), upstream: stack.sim.upstream, ...gwOpts() });
  stack.procs.push(gw.proc);
  const t0 = Date.now();
  let res;
  while (Date.now() - t0 < 3000) {
    res = await request('/page', { host, cookie });
    if (res.status === 403) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.strictEqual(res.status, 403);
  assert.ok(Date.now() - t0 <= 1500, `refused after ${Date.now() - t0} ms`);
  assert.strictEqual(res.body, 'portal suspended\n');
  assert.match(res.headers['content-type'], /^text\/plain/);
  assert.ok(!res.body.includes('sid-off'));
  const nav = await request('/page', { host, accept: 'text/html' });
  assert.strictEqual(nav.status, 403, 'no login redirect for a suspended portal');
  assert.strictEqual(nav.headers.location, undefined);
  assert.strictEqual((await request('/account', { cookie: `eidgw_portal=${mint()}` })).status, 200,
                     'another portal is still served');
  // the gateway itself: forward-auth, the proxied login, OIDC authorize and token
  const fa = await rawRequest(gw.port, '/auth/check', { 'x-forwarded-host': host, 'x-forwarded-uri': '/page',
                                                        cookie });
  assert.strictEqual(fa.status, 403);
  assert.strictEqual(fa.body, 'portal suspended\n');
  const login = await rawRequest(gw.port, `/proxy/login?portal=off-portal&return_to=${encodeURIComponent('/')}`,
                                 { accept: 'text/html' });
  assert.strictEqual(login.status, 403);
  assert.match(login.body, /id="error-code">portal_suspended</);
  const authz = await rawRequest(gw.port, `/authorize?client_id=off-oidc&redirect_uri=${
    encodeURIComponent('http://127.0.0.1:9/cb')}&response_type=code&scope=openid&state=s1&ui_locales=en`);
  assert.strictEqual(authz.status, 403);
  assert.match(authz.body, /<h1>Portal suspended<\/h1>/);
  assert.match(authz.body, /id="error-code">portal_suspended</);
  const off = gwClients.find((c) => c.id === 'off-oidc');
  const tok = await fetch(`${gw.url}/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: 'http://127.0.0.1:9/cb',
                                client_id: 'off-oidc', client_secret: off.secret }) });
  assert.strictEqual(tok.status, 400);
  assert.deepStrictEqual(await tok.json(), { error: 'access_denied', error_description: 'this portal is suspended' });
});
