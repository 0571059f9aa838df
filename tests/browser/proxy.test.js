// Reverse-proxy mode end to end (docs/proxy.md): eidgw and the VNeID simulator, Debian's
// nginx with the eidgw module and Debian's Caddy with forward_auth, each in front of a
// backend that echoes the headers it receives, and chromium logging in through both.
// The portals have hosts of their own (*.localhost, which chromium resolves to loopback),
// so their cookies are theirs, not the gateway's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, execFileSync } from 'node:child_process';
import { startStack, freePort, secret, EIDGW_BIN, rawRequest, ADMIN_TOKEN } from '../integration/lib/harness.js';
import { loginAt, Agent } from '../integration/lib/rp.js';
import { launch, scenario as runScenario, shot, landOn, chromiumMissing } from './lib/stack.js';

const AN = { id12: '001085012345', name: 'Nguyễn Văn An' };
// the module is not built with sanitizers (Debian's nginx loads it): a daemon from the
// ASan tree is tested with the module of the normal build
const modSo = [process.env.EIDGW_NGINX_MODULE, path.join(path.dirname(EIDGW_BIN), 'ngx_http_eidgw_module.so'),
  path.join(path.dirname(new URL(import.meta.url).pathname), '../../build/ngx_http_eidgw_module.so')]
  .filter(Boolean).find((p) => fs.existsSync(p)) || path.join(path.dirname(EIDGW_BIN), 'ngx_http_eidgw_module.so');
const NGINX = '/usr/sbin/nginx', CADDY = process.env.CADDY_BIN || '/usr/bin/caddy';
const skip = chromiumMissing()
  || (!fs.existsSync(NGINX) && 'nginx is not installed (apt install nginx nginx-dev)')
  || (!fs.existsSync(modSo) && `the nginx module is not built (${modSo})`)
  || (!fs.existsSync(CADDY) && 'caddy is not installed (apt install caddy)');
if (skip) console.error(`proxy.test.js: SKIPPED: ${skip}`);

let st, browser, backend, nginx, caddy, N, C, B;
const nginxOrigin = () => `http://nginx-portal.localhost:${N}`;
const caddyOrigin = () => `http://caddy-portal.localhost:${C}`;
const upgrades = [];

function listen(server, port = 0) {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address().port)));
}

// a plain HTTP request to 127.0.0.1:port with the Host of a portal (node sends header
// names as given: X_Eidgw_Sub stays X_Eidgw_Sub on the wire)
const request = (port, host, p, headers = {}, method = 'GET') => rawRequest(port, p, { host, ...headers }, method);

// the backend's view: lower-cased header name -> every value it received
function seen(body) {
  const raw = JSON.parse(body).headers, out = {};
  for (let i = 0; i < raw.length; i += 2) (out[raw[i].toLowerCase()] ||= []).push(raw[i + 1]);
  return out;
}

async function waitUp(port, host) {
  for (let i = 0; i < 200; i++) {
    try { await request(port, host, '/.eidgw/nothing'); return; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  throw new Error(`nothing listens on ${port}`);
}

before(async () => {
  if (skip) return;
  backend = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, headers: req.rawHeaders }));
  });
  backend.on('upgrade', (req, socket) => {
    upgrades.push(req.rawHeaders);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.write(`${JSON.stringify(req.rawHeaders)}\n`);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => {});
  });
  B = await listen(backend);
  N = await freePort();
  C = await freePort();
  st = await startStack('proxy', {
    clients: [
      { id: 'px-nginx', name: 'Cổng nginx', secret: secret(), redirect: [], scopes: 'openid profile cccd', minLevel: 1 },
      { id: 'px-caddy', name: 'Cổng Caddy', secret: secret(), redirect: [], scopes: 'openid profile', minLevel: 1 },
      { id: 'px-strong', name: 'Cổng mức 2', secret: secret(), redirect: [], scopes: 'openid', minLevel: 2 },
      { id: 'px-off', name: 'Cổng tạm ngừng', secret: secret(), redirect: [], scopes: 'openid', minLevel: 1 },
    ],
    extraClient: {
      'px-nginx': `proxy_origin = ${nginxOrigin()}\n`,
      'px-caddy': `proxy_origin = ${caddyOrigin()}\nproxy_bypass = /public/\nproxy_cookie = caddy_sess\n`,
      'px-strong': `proxy_origin = http://strong-portal.localhost:${C}\n`,
      'px-off': `proxy_origin = http://off-portal.localhost:${C}\nsuspended = yes\n`,
    },
    server: 'trusted_proxy = 127.0.0.1',
    session: 'revocation_file = DIR/revoked\nrecheck = 10m',
  });
  const dir = st.dir;
  fs.chmodSync(dir, 0o755); // nginx workers (nobody, under root) read the revocation file
  fs.mkdirSync(path.join(dir, 'nginx'));
  fs.writeFileSync(path.join(dir, 'nginx/nginx.conf'), `
load_module ${modSo};
error_log ${dir}/nginx/error.log info;
pid ${dir}/nginx/nginx.pid;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/nginx/body;
  proxy_temp_path ${dir}/nginx/proxy;
  underscores_in_headers on;
  eidgw_key_file ${dir}/keys/cookie.key;
  server {
    listen 127.0.0.1:${N};
    eidgw on;
    eidgw_portal px-nginx;
    eidgw_login_url /.eidgw/start;
    eidgw_claim_header name X-Citizen-Name;
    eidgw_claim_header cccd X-Citizen-Cccd;
    eidgw_revocations ${dir}/revoked;
    location /.eidgw/ { eidgw off; proxy_pass ${st.gw.url}; proxy_set_header Host $http_host; proxy_redirect off; }
    location / { proxy_pass http://127.0.0.1:${B}; }
  }
}
`);
  execFileSync(NGINX, ['-p', `${dir}/nginx`, '-c', `${dir}/nginx/nginx.conf`, '-t'], { stdio: 'pipe' });
  nginx = spawn(NGINX, ['-p', `${dir}/nginx`, '-c', `${dir}/nginx/nginx.conf`, '-g', 'daemon off;'],
                { stdio: ['ignore', 'inherit', 'inherit'] });
  // the Caddyfile of docs/proxy.md, for two portals on one Caddy
  const site = (host) => `http://${host}:${C} {
  bind 127.0.0.1
  route {
    handle /.eidgw/* {
      reverse_proxy 127.0.0.1:${st.gw.port}
    }
    request_header -X-Eidgw*
    request_header -X_eidgw*
    request_header -X.eidgw*
    forward_auth 127.0.0.1:${st.gw.port} {
      uri /auth/check
      copy_headers X-Eidgw-Sub X-Eidgw-Level X-Eidgw-Acr X-Eidgw-Auth-Time X-Eidgw-Name X-Eidgw-Birthdate X-Eidgw-Gender X-Eidgw-Cccd X-Eidgw-Legacy-Account X-Eidgw-Assertion
    }
    reverse_proxy 127.0.0.1:${B}
  }
}
`;
  fs.mkdirSync(path.join(dir, 'caddy'));
  fs.writeFileSync(path.join(dir, 'caddy/Caddyfile'), `{
  admin off
  auto_https off
}
${site('caddy-portal.localhost')}
${site('strong-portal.localhost')}
${site('off-portal.localhost')}`);
  const cenv = { ...process.env, HOME: `${dir}/caddy`, XDG_DATA_HOME: `${dir}/caddy`, XDG_CONFIG_HOME: `${dir}/caddy` };
  execFileSync(CADDY, ['validate', '--config', `${dir}/caddy/Caddyfile`, '--adapter', 'caddyfile'],
               { stdio: 'pipe', env: cenv });
  caddy = spawn(CADDY, ['run', '--config', `${dir}/caddy/Caddyfile`, '--adapter', 'caddyfile'],
                { stdio: ['ignore', 'ignore', fs.openSync(`${dir}/caddy/caddy.log`, 'a')], env: cenv });
  await waitUp(N, `nginx-portal.localhost:${N}`);
  await waitUp(C, `caddy-portal.localhost:${C}`);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const p of [nginx, caddy]) {
    if (p && p.exitCode === null) { p.kill('SIGTERM'); await new Promise((r) => p.once('exit', r)); }
  }
  backend?.close();
  await st?.stop();
});

const scenario = (name, fn) => runScenario(browser, name, {}, fn);

// the portal page in chromium: the backend's JSON
async function backendView(page) {
  return seen(await page.locator('body').innerText());
}

// a portal URL -> the gateway's login -> VNeID -> the citizen -> back on the portal URL
async function loginThrough(page, url, citizen = AN) {
  await page.goto(url);
  await landOn(page, `${st.gw.url}/login?`);
  await shot(page, 'proxy-01-login');
  await page.click('#vneid');
  await landOn(page, `${st.sim.url}/auth`);
  await page.locator(`button[name="citizen"][value="${citizen.id12}"]`).click();
  await landOn(page, url);
}

function verifyJwt(jwt, jwks) {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `the assertion's kid ${header.kid} is in /jwks`);
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const ok = header.alg === 'ES256'
    ? crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))
    : crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  return ok ? JSON.parse(Buffer.from(p, 'base64url')) : null;
}

test('login through nginx and its module, SSO into a Caddy portal, logout on one ends both',
  { skip }, () => scenario('proxy-login', async (page) => {
    const pctName = encodeURIComponent(AN.name).replace(/%20/g, ' ');
    // nginx: no cookie -> the gateway's login -> VNeID -> back on the page asked for
    const want = `${nginxOrigin()}/account/docs?x=1`;
    await loginThrough(page, want);
    let v = await backendView(page);
    assert.equal(v['x-eidgw-level'][0], '2');
    assert.match(v['x-eidgw-sub'][0], /^[A-Za-z0-9_-]{20,}$/);
    assert.deepEqual(v['x-citizen-name'], [pctName]);
    assert.equal(decodeURIComponent(v['x-citizen-name'][0]), AN.name);
    assert.deepEqual(v['x-citizen-cccd'], [AN.id12]);
    const cookies = await page.context().cookies(nginxOrigin());
    const pc = cookies.find((c) => c.name === 'eidgw_portal');
    assert.ok(pc, 'the portal cookie is set on the portal host');
    assert.ok(pc.httpOnly && pc.sameSite === 'Lax' && pc.path === '/');
    assert.ok(pc.value.length < 1024, `the portal cookie is ${pc.value.length} bytes`);
    assert.ok(!(await page.context().cookies(st.gw.url)).some((c) => c.name === 'eidgw_portal'));
    // the login's binding (eidgw_login_url names /.eidgw/start on the portal's host): for
    // the gateway's paths there only, never sent to the backend
    const bind = (await page.context().cookies(`${nginxOrigin()}/.eidgw/`)).find((c) => c.name === 'eidgw_bind');
    assert.ok(bind && bind.httpOnly && bind.path === '/.eidgw/', JSON.stringify(bind));
    assert.ok(!JSON.stringify(v).includes(bind.value), 'the backend never sees the binding');
    await shot(page, 'proxy-02-nginx-backend');

    // Caddy: the SSO session carries the citizen in with no VNeID page
    const seenSim = [];
    page.on('request', (r) => { if (r.url().startsWith(st.sim.url)) seenSim.push(r.url()); });
    await page.goto(`${caddyOrigin()}/home`);
    await landOn(page, `${caddyOrigin()}/home`);
    assert.deepEqual(seenSim, [], 'no second VNeID login');
    v = await backendView(page);
    assert.equal(v['x-eidgw-level'][0], '2');
    assert.deepEqual(v['x-eidgw-name'], [pctName]);
    assert.deepEqual(v['x-eidgw-cccd'] || [''], [''], 'cccd is not released to this portal (empty or absent)');
    assert.notEqual(v['x-eidgw-sub'][0], (await backendViewOf(page, nginxOrigin()))['x-eidgw-sub'][0],
      'each portal has its own pairwise id');
    // the backend verifies the assertion against the gateway's JWKS
    const jwks = await (await fetch(`${st.gw.url}/jwks`)).json();
    const claims = verifyJwt(v['x-eidgw-assertion'][0], jwks);
    assert.ok(claims, 'the assertion verifies');
    assert.equal(claims.iss, st.gw.url);
    assert.equal(claims.aud, 'px-caddy');
    assert.equal(claims.sub, v['x-eidgw-sub'][0]);
    assert.equal(claims.name, AN.name);
    assert.ok(claims.exp > Date.now() / 1000 && claims.exp <= Date.now() / 1000 + 61);

    const caddyVal = (await page.context().cookies(caddyOrigin())).find((c) => c.name === 'caddy_sess').value;
    // logout on the Caddy portal's host ends the SSO session: the nginx portal refuses its
    // cookie within a second (the revocation file), the gateway's own session is gone
    // asked from elsewhere (a cross-site link or image, a form on another site, no Fetch
    // Metadata at all), the logout is only offered: the session lives on
    const lo = `caddy-portal.localhost:${C}`, sess = { cookie: `caddy_sess=${caddyVal}`, accept: 'text/html' };
    for (const [h, m] of [[{ 'sec-fetch-site': 'cross-site' }, 'GET'], [{ 'sec-fetch-site': 'same-site' }, 'GET'],
                          [{}, 'GET'], [{ origin: 'https://evil.example' }, 'POST'], [{}, 'POST'],
                          [{ origin: `http://strong-portal.localhost:${C}` }, 'POST'],
                          [{ origin: 'null', 'sec-fetch-site': 'cross-site' }, 'POST'],
                          [{ origin: caddyOrigin(), 'sec-fetch-site': 'cross-site' }, 'POST']]) {
      const r = await request(C, lo, '/.eidgw/logout', { ...sess, ...h }, m);
      assert.equal(r.status, 200, JSON.stringify(h));
      assert.match(r.body, /id="logout-confirm"/, JSON.stringify(h));
      assert.ok(!r.headers['set-cookie'], 'nothing cleared');
    }
    assert.equal((await request(C, lo, '/api', sess)).status, 200, 'still logged in');
    // in chromium: a link from another site shows the confirmation; its button logs out
    await page.goto(`${st.gw.url}/.well-known/openid-configuration`);
    await page.evaluate((u) => { window.location.href = u; }, `${caddyOrigin()}/.eidgw/logout`);
    await page.waitForSelector('#logout-confirm');
    await shot(page, 'proxy-04-logout-confirm');
    await page.click('#logout-confirm');
    await page.waitForSelector('#logout-done');
    assert.match(await page.locator('#logout-done').innerText(), /đăng xuất/);
    assert.ok(!(await page.context().cookies(caddyOrigin())).some((c) => c.name === 'caddy_sess'));
    await new Promise((r) => setTimeout(r, 1100));
    await page.goto(`${nginxOrigin()}/account`);
    await landOn(page, `${st.gw.url}/login?`);
    const again = await request(C, `caddy-portal.localhost:${C}`, '/api', { cookie: `caddy_sess=${caddyVal}` });
    assert.equal(again.status, 401, 'the logged-out cookie is refused');
  }));

// the backend's view of origin in a second tab of the same browser
async function backendViewOf(page, origin) {
  const p2 = await page.context().newPage();
  try {
    await p2.goto(`${origin}/`);
    return seen(await p2.locator('body').innerText());
  } finally {
    await p2.close();
  }
}

// a cookie from a real login through Caddy, kept for the request-level tests below
let caddyCookie;
async function caddyLogin() {
  if (caddyCookie) return caddyCookie;
  await scenario('proxy-caddy-cookie', async (page) => {
    await loginThrough(page, `${caddyOrigin()}/me`);
    caddyCookie = (await page.context().cookies(caddyOrigin())).find((c) => c.name === 'caddy_sess').value;
  });
  return caddyCookie;
}

test('Caddy: identity headers sent by the client never reach the backend, in any spelling',
  { skip }, async () => {
    const cookie = await caddyLogin();
    const spoofed = ['X-Eidgw-Sub', 'x-eidgw-level', 'X_Eidgw_Sub', 'x_eidgw_name', 'X.Eidgw.Acr', 'x-eidgw_name',
                     'X-EIDGW-NAME', 'X-Eidgw-Extra', 'X_EIDGW-Assertion'];
    const headers = { cookie: `caddy_sess=${cookie}`, accept: 'application/json' };
    for (const h of spoofed) headers[h] = 'forged';
    let r = await request(C, `caddy-portal.localhost:${C}`, '/api', headers);
    assert.equal(r.status, 200);
    assert.ok(!r.body.includes('forged'), `a spoofed header reached the backend: ${r.body}`);
    const v = seen(r.body);
    assert.equal(v['x-eidgw-level'][0], '2');
    assert.equal(v['x-eidgw-sub'].length, 1);
    // without a session the same request never reaches the backend
    delete headers.cookie;
    r = await request(C, `caddy-portal.localhost:${C}`, '/api', headers);
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'], /^Eidgw /);
    // a bypassed path reaches the backend without a session, and without the forged headers
    r = await request(C, `caddy-portal.localhost:${C}`, '/public/x', headers);
    assert.equal(r.status, 200);
    assert.ok(!r.body.includes('forged'));
    assert.deepEqual(seen(r.body)['x-eidgw-sub'] || [''], [''], 'no identity on a bypassed path');
    // a path that only looks bypassed (a dot segment, an escape, an empty segment) is checked
    for (const p of ['/public/../api', '/public/%2e%2e/api', '/public/..%2fapi', '/public//../api', '/public/./x']) {
      r = await request(C, `caddy-portal.localhost:${C}`, p, headers);
      assert.equal(r.status, 401, `${p} passed without a session: ${r.status} ${r.body}`);
    }
  });

test('Caddy: a browser navigation without a session goes to the login with its URL; nothing else redirects',
  { skip }, async () => {
    const host = `caddy-portal.localhost:${C}`;
    let r = await request(C, host, '/a/b?c=%C3%A1&d=1', { accept: 'text/html' });
    assert.equal(r.status, 302);
    const loc = new URL(r.headers.location);
    assert.equal(loc.origin + loc.pathname, `${st.gw.url}/proxy/login`);
    assert.equal(loc.searchParams.get('portal'), 'px-caddy');
    assert.equal(loc.searchParams.get('return_to'), `${caddyOrigin()}/a/b?c=%C3%A1&d=1`);
    r = await request(C, host, '/a', { accept: 'text/html' }, 'POST');
    assert.equal(r.status, 401);
  });

test('Caddy: tampered, expired-looking and foreign cookies are no session', { skip }, async () => {
  const cookie = await caddyLogin();
  const host = `caddy-portal.localhost:${C}`;
  const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  for (const bad of [flip(cookie, 20), flip(cookie, cookie.length - 3), cookie.slice(0, -10), `${cookie}A`, 'x']) {
    const r = await request(C, host, '/api', { cookie: `caddy_sess=${bad}` });
    assert.equal(r.status, 401, `cookie ${bad.slice(0, 30)}...`);
  }
  // the Caddy portal's cookie is not a cookie of the level-2 portal on the same Caddy
  const r = await request(C, `strong-portal.localhost:${C}`, '/api', { cookie: `eidgw_portal=${cookie}` });
  assert.equal(r.status, 401);
  // an expired cookie: sealed with the daemon's key by the test tool, exp in the past
  const sealBin = path.join(path.dirname(EIDGW_BIN), 'pcookie-seal');
  const now = Math.floor(Date.now() / 1000);
  const old = execFileSync(sealBin, ['seal', path.join(st.dir, 'keys/cookie.key'), JSON.stringify({
    sid: 'sid-x', pid: 'px-caddy', sub: 's', lvl: 2, acr: 'urn:vn:eid:level:2', at: now - 7200, exp: now - 1,
    rc: now - 100, cl: {} })], { encoding: 'utf8' }).trim();
  const e = await request(C, host, '/api', { cookie: `caddy_sess=${old}` });
  assert.equal(e.status, 401);
});

test('Caddy: a websocket upgrade passes with the identity after the check', { skip }, async () => {
  const cookie = await caddyLogin();
  const got = await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: C, path: '/ws/chat', headers: {
      host: `caddy-portal.localhost:${C}`, cookie: `caddy_sess=${cookie}`, connection: 'Upgrade',
      upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': crypto.randomBytes(16).toString('base64'),
      'x-eidgw-sub': 'forged' } });
    req.on('upgrade', (res, socket, head) => {
      let buf = '';
      const took = (d) => { // the first bytes may come with the 101 itself (head)
        buf += d;
        if (buf.includes('\n') && !buf.includes('ping')) socket.write('ping');
        if (buf.includes('ping')) { socket.destroy(); resolve({ status: res.statusCode, buf }); }
      };
      socket.on('data', took);
      if (head && head.length) took(head);
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  assert.equal(got.status, 101);
  const first = JSON.parse(got.buf.split('\n')[0]);
  const names = first.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
  assert.ok(names.includes('x-eidgw-sub'));
  assert.ok(!got.buf.split('\n')[0].includes('forged'));
  assert.ok(got.buf.endsWith('ping'), 'the stream echoes after the upgrade');
});

// A login started on the Caddy portal's host, as a browser would (node's fetch does not
// resolve *.localhost: the portal-host hops go to Caddy by Host): the binding cookie that
// /.eidgw/start set, and the one-time code the login came back with.
async function caddyCode(rt, citizen = AN.id12) { return portalCode(C, caddyOrigin(), rt, citizen); }

async function portalCode(port, origin, rt, citizen) {
  const host = new URL(origin).host;
  const start = await request(port, host, `/.eidgw/start?return_to=${encodeURIComponent(rt)}`);
  assert.equal(start.status, 302, start.body);
  const sc = [].concat(start.headers['set-cookie'] || []).find((c) => c.startsWith('eidgw_bind='));
  assert.ok(sc, 'the start sets the binding cookie');
  assert.match(sc, /; Path=\/\.eidgw\/; Max-Age=\d+; HttpOnly; SameSite=Lax/);
  const loc = new URL(start.headers.location);
  assert.equal(loc.origin + loc.pathname, `${st.gw.url}/proxy/login`);
  const x = await loginAt(new Agent(), loc.toString(), citizen, origin);
  assert.equal(x.status, 302);
  const cb = new URL(x.location);
  assert.equal(cb.origin + cb.pathname, `${origin}/.eidgw/callback`);
  const code = cb.searchParams.get('code');
  assert.ok(code, 'the login came back with a code for the portal host');
  return { code, bind: sc.split(';')[0], host };
}

test('login CSRF: a callback link from someone else\'s login sets no cookie in this browser', { skip },
  async () => {
    // /proxy/login without the binding first goes to the portal's host to get one
    const r = await fetch(`${st.gw.url}/proxy/login?portal=px-caddy&return_to=%2Fx`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    const first = new URL(r.headers.get('location'));
    assert.equal(first.origin + first.pathname, `${caddyOrigin()}/.eidgw/start`);
    assert.equal(first.searchParams.get('return_to'), `${caddyOrigin()}/x`);
    // the attacker's own login, its callback link opened in the victim's browser: without
    // the binding cookie, or with the victim's own, nothing is set
    const victim = await request(C, `caddy-portal.localhost:${C}`, '/.eidgw/start?return_to=%2F');
    const victimBind = [].concat(victim.headers['set-cookie']).find((c) => c.startsWith('eidgw_bind=')).split(';')[0];
    for (const cookie of [undefined, victimBind, 'eidgw_bind=x']) {
      const { code, host } = await caddyCode('/inbox');
      const cb = await request(C, host, `/.eidgw/callback?code=${code}`, cookie ? { cookie } : {});
      assert.equal(cb.status, 400, `cookie ${cookie}`);
      assert.match(cb.body, /id="error-code">login_other_browser</);
      assert.ok(!cb.headers['set-cookie'], 'no portal cookie set');
      assert.equal(cb.headers.location, undefined);
    }
    // the browser that started it gets its cookie; a second start in that browser keeps its
    // binding (two tabs logging in at once both finish)
    const { code, bind, host } = await caddyCode('/inbox');
    const again = await request(C, host, '/.eidgw/start?return_to=%2Fother', { cookie: bind });
    assert.equal([].concat(again.headers['set-cookie']).find((c) => c.startsWith('eidgw_bind=')).split(';')[0], bind);
    const ok = await request(C, host, `/.eidgw/callback?code=${code}`, { cookie: bind });
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.location, `${caddyOrigin()}/inbox`);
    const sc = [].concat(ok.headers['set-cookie']).find((c) => c.startsWith('caddy_sess='));
    assert.ok(sc);
    // a logout link followed on the portal's own pages (or typed) logs out at once
    const sess = { cookie: sc.split(';')[0] };
    assert.equal((await request(C, host, '/api', sess)).status, 200);
    const lo = await request(C, host, '/.eidgw/logout', { ...sess, 'sec-fetch-site': 'same-origin' });
    assert.match(lo.body, /id="logout-done"/);
    assert.equal((await request(C, host, '/api', sess)).status, 401, 'logged out');
    // a start with a return_to off this host, or naming another portal, is refused
    for (const q of [`return_to=${encodeURIComponent('https://evil.example/')}`, 'return_to=%2F&portal=px-other',
                     `return_to=${encodeURIComponent(`${nginxOrigin()}/`)}`]) {
      const bad = await request(C, host, `/.eidgw/start?${q}`, { accept: 'text/html' });
      assert.equal(bad.status, 400, q);
      assert.ok(!bad.headers['set-cookie'], q);
    }
    // a /proxy/login with a malformed binding is refused
    const badBind = await fetch(`${st.gw.url}/proxy/login?portal=px-caddy&return_to=%2F&bind=short`,
                                { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(badBind.status, 400);
  });

test('a lock set through the admin API reaches nginx\'s module and forward-auth within a second', { skip },
  async () => {
    const citizen = '079190023456'; // a citizen of her own: the other tests' citizen stays unlocked
    const cookies = {};
    for (const [port, origin, name] of [[N, nginxOrigin(), 'eidgw_portal'], [C, caddyOrigin(), 'caddy_sess']]) {
      const { code, bind, host } = await portalCode(port, origin, '/', citizen);
      const cb = await request(port, host, `/.eidgw/callback?code=${code}`, { cookie: bind });
      assert.equal(cb.status, 302, cb.body);
      cookies[port] = [].concat(cb.headers['set-cookie']).find((c) => c.startsWith(`${name}=`)).split(';')[0];
      assert.equal((await request(port, host, '/api', { cookie: cookies[port] })).status, 200);
    }
    const r = await fetch(`${st.gw.url}/admin/locks`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id12: citizen, reason: 'SUBJECT_REQUEST' }) });
    assert.ok(r.status === 200 || r.status === 201, `lock: ${r.status} ${await r.text()}`);
    await new Promise((res) => setTimeout(res, 1100));
    for (const [port, origin] of [[N, nginxOrigin()], [C, caddyOrigin()]]) {
      const after = await request(port, new URL(origin).host, '/api', { cookie: cookies[port] });
      assert.equal(after.status, 401, `${origin} after the lock`);
    }
  });

test('the callback refuses a used code, a code on another host, and a return_to off the portal', { skip },
  async () => {
    // /proxy/login with a return_to on another host is refused before any login
    for (const rt of ['https://evil.example/x', `${caddyOrigin()}.evil.example/`, '//evil.example/', '/\\evil.example',
                      `http://caddy-portal.localhost:${C}@evil.example/`]) {
      const r = await fetch(`${st.gw.url}/proxy/login?portal=px-caddy&return_to=${encodeURIComponent(rt)}`,
                            { redirect: 'manual', headers: { accept: 'text/html' } });
      assert.equal(r.status, 400, rt);
      assert.match(await r.text(), /<html/);
    }
    const r = await fetch(`${st.gw.url}/proxy/login?portal=px-oidc-none&return_to=/`, { redirect: 'manual' });
    assert.equal(r.status, 400);
    // a code is taken once, and only on its own host: one carried to another portal's host
    // sets nothing there and is spent
    {
      const { code, bind } = await caddyCode('/c');
      const wrong = await request(C, `strong-portal.localhost:${C}`, `/.eidgw/callback?code=${code}`,
                                  { cookie: bind });
      assert.equal(wrong.status, 400);
      assert.ok(!wrong.headers['set-cookie']);
      const used = await request(C, `caddy-portal.localhost:${C}`, `/.eidgw/callback?code=${code}`,
                                 { cookie: bind });
      assert.equal(used.status, 400);
      assert.ok(!used.headers['set-cookie']);
      const none = await request(C, `caddy-portal.localhost:${C}`, '/.eidgw/callback?code=nonsense');
      assert.equal(none.status, 400);
    }
  });

test('a suspended portal answers 403 through Caddy, in chromium too, and never reaches the backend',
  { skip }, () => scenario('proxy-suspended', async (page) => {
    const host = `off-portal.localhost:${C}`;
    for (const accept of ['text/html', 'application/json']) {
      const r = await request(C, host, '/page', { accept });
      assert.equal(r.status, 403, accept);
      assert.equal(r.body, 'portal suspended\n');
      assert.equal(r.headers.location, undefined, 'no login redirect');
    }
    const res = await page.goto(`http://${host}/account`);
    assert.equal(res.status(), 403);
    assert.match(await page.locator('body').innerText(), /portal suspended/);
    await shot(page, 'proxy-03-suspended');
    // its login is closed at the gateway too
    const login = await rawRequest(st.gw.port, `/proxy/login?portal=px-off&return_to=%2F`, { accept: 'text/html' });
    assert.equal(login.status, 403);
    assert.match(login.body, /id="error-code">portal_suspended</);
    // the other portals on the same Caddy are untouched
    const other = await request(C, `caddy-portal.localhost:${C}`, '/public/x', { accept: 'application/json' });
    assert.equal(other.status, 200);
  }));
