// Requests eidgw must refuse at the HTTP layer: too long, too large, malformed, unknown
// path or method. Each gets a clean 4xx (a page for browsers, JSON at /token), and the
// process keeps serving.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startStack, kvSnapshot, newKeys } from './lib/harness.js';
import { errorCode } from './lib/rp.js';

let st, snap;
before(async () => { st = await startStack('limits'); });
after(async () => { await st?.stop(); });

async function healthy() {
  assert.equal(st.gw.proc.exitCode, null, 'eidgw is still running');
  assert.equal(st.gw.proc.signalCode, null, 'eidgw is still running');
  const r = await fetch(`${st.gw.url}/healthz`);
  assert.equal(r.status, 200);
  assert.equal((await r.json()).status, 'ok');
}

test.beforeEach(() => { snap = kvSnapshot(st.gw.db, ['sess', 'code', 'cux', 'atr', 'ar']); });
afterEach(async () => {
  await healthy();
  assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], cux: [], atr: [], ar: [] }, 'nothing stored');
});

// One raw HTTP/1.1 exchange (for what fetch would not send). Resolves {status, headers, body}
// or {closed: true} when the server closed without an answer.
function raw(text, ms = 5000) {
  return new Promise((resolve, reject) => {
    const s = net.connect(st.gw.port, '127.0.0.1', () => s.write(text));
    let d = Buffer.alloc(0);
    s.on('data', (c) => { d = Buffer.concat([d, c]); });
    s.on('error', (e) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? null : reject(e)));
    const done = () => {
      const t = d.toString('latin1');
      const m = t.match(/^HTTP\/1\.[01] (\d{3})/);
      if (!m) return resolve({ closed: true });
      const [head, ...rest] = t.split('\r\n\r\n');
      const headers = Object.fromEntries(head.split('\r\n').slice(1).map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
      }));
      resolve({ status: Number(m[1]), headers, body: Buffer.from(rest.join('\r\n\r\n'), 'latin1').toString('utf8') });
    };
    s.on('close', done);
    setTimeout(() => s.destroy(), ms);
  });
}

test('a 20 KB query to /authorize is refused (414 or 400)', async () => {
  const r = await fetch(`${st.gw.url}/authorize?client_id=portal-a&response_type=code&x=${'a'.repeat(20 * 1024)}`,
                        { redirect: 'manual' });
  await r.arrayBuffer();
  assert.ok([414, 400].includes(r.status), `status ${r.status}`);
  assert.equal(r.headers.get('location'), null);
});

test('a 10 KB query (above max_uri, below the header limit) gets the 414 page', async () => {
  const r = await fetch(`${st.gw.url}/authorize?client_id=portal-a&x=${'a'.repeat(10 * 1024)}`, { redirect: 'manual' });
  assert.equal(r.status, 414);
  assert.match(r.headers.get('content-type') || '', /^text\/html/);
  assert.equal(errorCode(await r.text()), 'too_large');
});

test('a 100 KB POST body to /token: 413 with a JSON error', async () => {
  const r = await fetch(`${st.gw.url}/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=authorization_code&code=${'c'.repeat(100 * 1024)}`,
  });
  const text = await r.text();
  assert.equal(r.status, 413);
  assert.match(r.headers.get('content-type') || '', /^application\/json/, `content-type ${r.headers.get('content-type')}: ${text.slice(0, 120)}`);
  assert.equal(typeof JSON.parse(text).error, 'string');
});

test('40 KB of headers: a 4xx', async () => {
  const r = await raw(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\nConnection: close\r\n\r\n`);
  assert.ok(!r.closed, 'an answer, not a dropped connection');
  assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
  // many small headers too
  const many = Array.from({ length: 800 }, (_, i) => `X-H${i}: ${'v'.repeat(48)}`).join('\r\n');
  const r2 = await raw(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${many}\r\nConnection: close\r\n\r\n`);
  assert.ok(!r2.closed && r2.status >= 400 && r2.status < 500, `status ${r2.status}`);
});

test('malformed percent-encoding in the query: 400 page', async () => {
  for (const q of ['client_id=%zz', 'client_id=portal-a%4', 'client_id=portal-a&redirect_uri=%', 'x%G1=1']) {
    const r = await fetch(`${st.gw.url}/authorize?${q}`, { redirect: 'manual' });
    assert.equal(r.status, 400, q);
    assert.match(r.headers.get('content-type') || '', /^text\/html/, q);
    assert.equal(errorCode(await r.text()), 'invalid_request', q);
    assert.equal(r.headers.get('location'), null, q);
  }
});

test('a NUL (%00) in a form field: 400', async () => {
  const c = st.clients['portal-a'];
  // a browser form (POST /authorize): an error page
  let r = await fetch(`${st.gw.url}/authorize`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `client_id=portal-a&redirect_uri=${encodeURIComponent(c.redirect[0])}&response_type=code&scope=openid&state=a%00b`,
  });
  assert.equal(r.status, 400);
  assert.equal(errorCode(await r.text()), 'invalid_request');
  assert.equal(r.headers.get('location'), null);
  // in the query too
  r = await fetch(`${st.gw.url}/authorize?client_id=portal-a%00`, { redirect: 'manual' });
  assert.equal(r.status, 400);
  await r.arrayBuffer();
  // the token endpoint: JSON
  r = await fetch(`${st.gw.url}/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded',
                               authorization: `Basic ${Buffer.from(`portal-a:${c.secret}`).toString('base64')}` },
    body: 'grant_type=authorization_code&code=abc%00def&redirect_uri=x',
  });
  assert.equal(r.status, 400);
  assert.match(r.headers.get('content-type') || '', /^application\/json/);
  assert.equal((await r.json()).error, 'invalid_request');
  // a raw NUL byte in the body as well
  r = await fetch(`${st.gw.url}/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: Buffer.from('grant_type=authorization_code&code=a\0b'),
  });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, 'invalid_request');
});

test('unknown path: 404 page', async () => {
  for (const p of ['/nope', '/authorize/', '/token/x', '/.well-known/other', '/login/other']) {
    const r = await fetch(`${st.gw.url}${p}`, { redirect: 'manual' });
    assert.equal(r.status, 404, p);
    assert.match(r.headers.get('content-type') || '', /^text\/html/, p);
    assert.equal(errorCode(await r.text()), 'not_found', p);
  }
});

// A raw request (no URL normalisation on the client side), the whole answer as text.
function rawGet(target) {
  return new Promise((resolve, reject) => {
    const u = new URL(st.gw.url);
    const sock = net.connect(Number(u.port), u.hostname, () => {
      sock.write(`GET ${target} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`);
    });
    let out = '';
    sock.on('data', (d) => { out += d; });
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

test('a 404 page for a path like //host or /\\host links only to this host', async () => {
  for (const p of ['//evil.example/x', '/\\evil.example/x', '///evil.example', '/\\/evil.example?a=1']) {
    const r = await rawGet(p);
    assert.match(r, /^HTTP\/1\.1 404 /, p);
    const hrefs = [...r.matchAll(/href="([^"]*)"/g)].map((m) => m[1].replaceAll('&amp;', '&').replaceAll('&#61;', '='));
    const sw = hrefs.find((h) => h.includes('lang='));
    assert.ok(sw, `${p}: a language link`);
    for (const h of hrefs) {
      if (/^[a-z]+:/i.test(h)) continue; // absolute links are the page's own (none to evil.example)
      assert.ok(h.startsWith('/') && !h.startsWith('//') && !h.startsWith('/\\'), `${p}: ${h}`);
    }
    assert.ok(!hrefs.some((h) => /^(https?:)?\/\/evil/.test(h)), p);
  }
});

test('PUT /token: 405 with Allow naming the methods /token supports', async () => {
  for (const m of ['PUT', 'DELETE', 'PATCH']) {
    const r = await fetch(`${st.gw.url}/token`, { method: m, headers: { 'content-type': 'application/x-www-form-urlencoded' },
                                                  body: m === 'DELETE' ? undefined : 'grant_type=authorization_code' });
    assert.equal(r.status, 405, m);
    assert.match(r.headers.get('content-type') || '', /^application\/json/, m);
    assert.equal(typeof (await r.json()).error, 'string');
    assert.equal(r.headers.get('allow'), 'POST', `${m}: Allow for /token`);
  }
  const g = await fetch(`${st.gw.url}/token`);
  assert.equal(g.status, 405, 'GET /token');
  assert.equal(g.headers.get('allow'), 'POST');
  await g.arrayBuffer();
});

test('after all of these /healthz still answers 200', async () => {
  await healthy();
  const d = await fetch(`${st.gw.url}/.well-known/openid-configuration`);
  assert.equal(d.status, 200);
  assert.equal((await d.json()).issuer, st.gw.url);
});

// The language switch's link on a page, its HTML entities decoded.
const langSwitch = (body) => ((body.match(/<a href="([^"]*)" hreflang=/) || [])[1] || '')
  .replace(/&#61;/g, '=').replace(/&amp;/g, '&');

test('the 431 page (request head too large) has its language switch and honours ?lang=', async () => {
  // 20 KB: over max_headers, read in full; 40 KB: beyond what is read of a head
  for (const size of [20 * 1024, 40 * 1024]) {
    const big = `X-Big: ${'a'.repeat(size)}\r\n`;
    const vi = await raw(`GET /authorize?client_id=portal-a HTTP/1.1\r\nHost: 127.0.0.1\r\n${big}Connection: close\r\n\r\n`);
    assert.equal(vi.status, 431, `${size}: ${vi.status}`);
    assert.equal(errorCode(vi.body), 'too_large');
    assert.match(vi.body, /<html lang="vi"/, `${size}`);
    assert.equal(langSwitch(vi.body), '/authorize?client_id=portal-a&lang=en', `${size}`);
    const en = await raw(`GET /authorize?client_id=portal-a&lang=en HTTP/1.1\r\nHost: 127.0.0.1\r\n${big}Connection: close\r\n\r\n`);
    assert.equal(en.status, 431);
    assert.match(en.body, /<html lang="en"/, `${size}`);
    assert.match(en.body, /Request too large/);
    assert.equal(langSwitch(en.body), '/authorize?client_id=portal-a&lang=vi', `${size}`);
  }
});

// Under /admin/ every answer is JSON, the server's own refusals included: an operator's
// script reads it, and no page is sent where none is read.
function assertAdminJson(r, status, what) {
  assert.ok(!r.closed, `${what}: an answer`);
  assert.equal(r.status, status, what);
  assert.match(r.headers['content-type'] || '', /^application\/json/, `${what}: ${r.body.slice(0, 80)}`);
  assert.equal(typeof JSON.parse(r.body).error, 'string', what);
}

test('/admin/: 404, 405 (with Allow), 413, 414, 431 and 400 framing errors are JSON', async () => {
  const host = 'Host: 127.0.0.1\r\n';
  assertAdminJson(await raw(`GET /admin/nope HTTP/1.1\r\n${host}Connection: close\r\n\r\n`), 404, '404');
  assertAdminJson(await raw(`GET /admin HTTP/1.1\r\n${host}Connection: close\r\n\r\n`), 404, '404 /admin');
  for (const [m, p, allow] of [['PUT', '/admin/locks', 'POST'], ['DELETE', '/admin/links', 'GET, HEAD, POST'],
                               ['POST', '/admin/status', 'GET, HEAD']]) {
    const r = await raw(`${m} ${p} HTTP/1.1\r\n${host}Content-Length: 0\r\nConnection: close\r\n\r\n`);
    assertAdminJson(r, 405, `${m} ${p}`);
    assert.equal(r.headers.allow, allow, `${m} ${p}: Allow`);
  }
  // a body over max_body (64 KB) that is read, and one refused from its head
  for (const size of [100 * 1024, 1024 * 1024]) {
    const head = `POST /admin/locks HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: ${size}\r\n` +
                 'Connection: close\r\n\r\n';
    assertAdminJson(await raw(head + (size < 200 * 1024 ? 'a'.repeat(size) : '')), 413, `413 (${size} bytes)`);
  }
  assertAdminJson(await raw(`GET /admin/links?portal=${'a'.repeat(10 * 1024)} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`),
                  414, '414');
  for (const size of [20 * 1024, 40 * 1024]) {
    assertAdminJson(await raw(`GET /admin/status HTTP/1.1\r\n${host}X-Big: ${'a'.repeat(size)}\r\nConnection: close\r\n\r\n`),
                    431, `431 (${size})`);
  }
  for (const [what, text] of [['no Host', 'GET /admin/status HTTP/1.1\r\n\r\n'],
                              ['a folded line', `GET /admin/status HTTP/1.1\r\n${host}X-A: 1\r\n 2\r\n\r\n`],
                              ['a bad escape', `GET /admin/links?portal=%zz HTTP/1.1\r\n${host}Connection: close\r\n\r\n`]]) {
    const r = await raw(text);
    assertAdminJson(r, 400, what);
  }
});

test('/admin/ on a stopping server: 503 JSON with Retry-After', async () => {
  const own = await startStack('limits-stop');
  try {
    const s = net.connect(own.gw.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let d = '';
    s.on('data', (c) => { d += c.toString('latin1'); });
    s.on('error', () => {});
    const ask = `GET /admin/records HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x\r\n\r\n`;
    s.write(ask);
    for (let k = 0; k < 100 && !d.includes('\r\n\r\n'); k++) await new Promise((r) => setTimeout(r, 20));
    assert.match(d, /^HTTP\/1\.1 401 /, 'served while running');
    d = '';
    own.gw.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    s.write(ask);
    for (let k = 0; k < 100 && !d.includes('\r\n\r\n'); k++) await new Promise((r) => setTimeout(r, 20));
    s.destroy();
    const [head, body] = d.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 503 /, head);
    assert.match(head, /\r\nRetry-After: \d+/i);
    assert.match(head, /\r\nContent-Type: application\/json/i);
    assert.equal(JSON.parse(body).error, 'server_busy');
  } finally { await own.stop(); }
});
