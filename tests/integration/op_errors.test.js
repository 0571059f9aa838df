// eidgw as the portals' OpenID Provider: what it refuses at /authorize, /token and
// /userinfo, and the parameters it must carry through unchanged. openid-client plays
// the portal where a certified RP fits; raw requests build what no RP would send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startStack, kvSnapshot, newKeys, kvKeys, readLog } from './lib/harness.js';
import { discover, authRequest, loginAt, client, Agent, errorCode, toUpstreamCallback } from './lib/rp.js';

let st;
before(async () => { st = await startStack('op-errors'); });
after(async () => { await st?.stop(); });

const L1 = '056070112345'; // level-1 citizen in the simulator
const L2 = '001085012345'; // level-2 citizen
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const portalOf = (id) => `http://127.0.0.1:${id === 'portal-b' ? st.port.b : st.port.a}`;

function authorizeUrl(params) {
  const u = new URL('/authorize', st.gw.url);
  for (const [k, v] of Object.entries(params)) {
    for (const x of Array.isArray(v) ? v : [v]) u.searchParams.append(k, x);
  }
  return u.toString();
}

// Valid parameters for a client (PKCE S256), overridable.
async function params(id, extra = {}) {
  const c = st.clients[id];
  const verifier = client.randomPKCECodeVerifier();
  return {
    verifier,
    p: { client_id: id, redirect_uri: c.redirect[0], response_type: 'code', scope: c.scopes,
         state: client.randomState(), nonce: client.randomNonce(),
         code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra },
  };
}

function assertNothingNew(snap, what) {
  const n = newKeys(st.gw.db, snap);
  assert.deepEqual(n, Object.fromEntries(Object.keys(snap).map((ns) => [ns, []])),
                   `${what}: no session, code or access token may be created`);
}

function assertPage(r, status, code) {
  assert.equal(r.status, status, `status for ${r.url}`);
  assert.match(r.headers.get('content-type') || '', /^text\/html/);
  assert.equal(errorCode(r.body), code, `error code for ${r.url}`);
}

// A portal error answer: a redirect to its redirect_uri with error, state and iss.
function assertRedirectError(r, redirectUri, error, state) {
  assert.equal(r.status, 302, r.body);
  assert.ok(r.location, 'a Location header');
  const u = new URL(r.location);
  assert.equal(`${u.origin}${u.pathname}`, redirectUri);
  assert.equal(u.searchParams.get('error'), error);
  assert.equal(u.searchParams.get('state'), state ?? null);
  assert.equal(u.searchParams.get('iss'), st.gw.url);
  assert.equal(u.searchParams.get('code'), null);
}

// A full login of `citizen` at portal `id`; returns the agent (with the SSO cookie),
// the openid-client configuration, the request and the token response.
async function login(id = 'portal-a', citizen = L2, { agent = new Agent(), extra = {} } = {}) {
  const c = st.clients[id];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c, extra);
  const hop = await loginAt(agent, req.url, citizen, portalOf(id));
  assert.equal(hop.status, 302, `login of ${citizen} at ${id}: ${hop.status} ${errorCode(hop.body)}`);
  assert.ok(hop.location.startsWith(`${c.redirect[0]}?`), hop.location);
  const tokens = await client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  return { agent, config, req, hop, tokens, c };
}

// A fresh code for portal `id` from a browser that already has an SSO session.
async function ssoCode(agent, id = 'portal-a', extra = {}) {
  const { verifier, p } = await params(id, extra);
  const r = await agent.request(authorizeUrl(p));
  assert.equal(r.status, 302, `SSO authorize: ${r.status} ${errorCode(r.body)}`);
  const u = new URL(r.location);
  assert.equal(`${u.origin}${u.pathname}`, st.clients[id].redirect[0], r.location);
  assert.ok(u.searchParams.get('code'), r.location);
  return { code: u.searchParams.get('code'), verifier, p, location: r.location };
}

async function token(form, { basic, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (basic) h.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic[0])}:${encodeURIComponent(basic[1])}`).toString('base64')}`;
  if (!raw) h['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(`${st.gw.url}/token`, { method: 'POST', headers: h, body: raw ?? new URLSearchParams(form).toString() });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, json, text };
}

const basicOf = (id) => [id, st.clients[id].secret];

function assertTokenError(r, status, error) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') || '', /^application\/json/);
  assert.equal(r.json?.error, error, r.text);
  assert.equal(r.json?.access_token, undefined);
  assert.equal(r.headers.get('cache-control'), 'no-store');
}

// ------------------------------------------------------------------ /authorize

test('redirect_uri that is not registered exactly: 400 page invalid_redirect_uri, no Location', async () => {
  const reg = st.clients['portal-a'].redirect[0]; // http://127.0.0.1:PORT/callback
  const port = st.port.a;
  const variants = {
    unregistered: `http://127.0.0.1:${port}/elsewhere`,
    'extra path': `${reg}/more`,
    'extra query': `${reg}?next=1`,
    'other port': `http://127.0.0.1:${port + 1}/callback`,
    'other scheme': `https://127.0.0.1:${port}/callback`,
    'trailing slash': `${reg}/`,
    'other host spelling': `http://localhost:${port}/callback`,
    'other case': `http://127.0.0.1:${port}/Callback`,
    "another portal's": st.clients['portal-b'].redirect[0],
  };
  const snap = kvSnapshot(st.gw.db, ['sess', 'code', 'cux', 'atr', 'ar']);
  for (const [name, uri] of Object.entries(variants)) {
    const { p } = await params('portal-a', { redirect_uri: uri });
    const r = await new Agent().request(authorizeUrl(p));
    assertPage(r, 400, 'invalid_redirect_uri');
    assert.equal(r.location, null, `${name}: never redirect to an unverified address`);
  }
  const { p } = await params('portal-a');
  delete p.redirect_uri;
  const r = await new Agent().request(authorizeUrl(p));
  assertPage(r, 400, 'invalid_redirect_uri');
  assert.equal(r.location, null, 'missing redirect_uri: no redirect');
  assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], cux: [], atr: [], ar: [] });
});

test('unknown or missing client_id: 400 page unknown_client, no Location', async () => {
  const snap = kvSnapshot(st.gw.db);
  const { p } = await params('portal-a', { client_id: 'portal-zzz' });
  let r = await new Agent().request(authorizeUrl(p));
  assertPage(r, 400, 'unknown_client');
  assert.equal(r.location, null);
  delete p.client_id;
  r = await new Agent().request(authorizeUrl(p));
  assertPage(r, 400, 'unknown_client');
  assert.equal(r.location, null);
  assertNothingNew(snap, 'unknown client');
});

test('response_type=token: redirect with error=unsupported_response_type, state and iss', async () => {
  const snap = kvSnapshot(st.gw.db);
  const { p } = await params('portal-a', { response_type: 'token' });
  const r = await new Agent().request(authorizeUrl(p));
  assertRedirectError(r, p.redirect_uri, 'unsupported_response_type', p.state);
  assert.ok(!r.location.includes('#'), 'query response mode, no fragment');
  assertNothingNew(snap, 'response_type=token');
});

test('scope without openid: redirect with error=invalid_scope', async () => {
  const snap = kvSnapshot(st.gw.db);
  const { p } = await params('portal-a', { scope: 'profile cccd' });
  assertRedirectError(await new Agent().request(authorizeUrl(p)), p.redirect_uri, 'invalid_scope', p.state);
  assertNothingNew(snap, 'no openid scope');
});

test('public client without PKCE: invalid_request', async () => {
  const snap = kvSnapshot(st.gw.db);
  const { p } = await params('spa');
  delete p.code_challenge;
  delete p.code_challenge_method;
  assertRedirectError(await new Agent().request(authorizeUrl(p)), p.redirect_uri, 'invalid_request', p.state);
  assertNothingNew(snap, 'public client without PKCE');
});

test('code_challenge_method=plain: invalid_request', async () => {
  const snap = kvSnapshot(st.gw.db);
  const verifier = client.randomPKCECodeVerifier();
  const { p } = await params('portal-a', { code_challenge: verifier, code_challenge_method: 'plain' });
  assertRedirectError(await new Agent().request(authorizeUrl(p)), p.redirect_uri, 'invalid_request', p.state);
  // the same with a well-formed S256-length challenge: the method alone is refused
  const { p: p2 } = await params('portal-a', { code_challenge_method: 'plain' });
  assertRedirectError(await new Agent().request(authorizeUrl(p2)), p2.redirect_uri, 'invalid_request', p2.state);
  assertNothingNew(snap, 'plain PKCE');
});

test('a parameter given twice: invalid_request', async () => {
  const snap = kvSnapshot(st.gw.db);
  for (const [k, v] of [['nonce', ['n1', 'n2']], ['scope', ['openid', 'openid profile']],
                        ['response_type', ['code', 'code']], ['code_challenge_method', ['S256', 'S256']]]) {
    const { p } = await params('portal-a');
    p[k] = v;
    const r = await new Agent().request(authorizeUrl(p));
    assertRedirectError(r, p.redirect_uri, 'invalid_request', p.state);
  }
  assertNothingNew(snap, 'duplicated parameter');
});

test('a duplicated parameter: error_description names it only when it is one /authorize knows', async () => {
  const desc = async (k, v) => {
    const { p } = await params('portal-a');
    p[k] = v;
    const r = await new Agent().request(authorizeUrl(p));
    assertRedirectError(r, p.redirect_uri, 'invalid_request', p.state);
    return new URL(r.location).searchParams.get('error_description');
  };
  assert.equal(await desc('nonce', ['n1', 'n2']), "parameter 'nonce' given more than once");
  for (const name of ['<script>alert(1)</script>', 'evil.example/phish', 'x'.repeat(300), 'ünï']) {
    const d = await desc(name, ['1', '2']);
    assert.equal(d, 'a parameter was given more than once', `fixed text for ${name.slice(0, 20)}`);
  }
});

test('prompt=none with another value, or a bad max_age: invalid_request', async () => {
  const snap = kvSnapshot(st.gw.db, ['sess', 'code', 'cux', 'atr', 'ar']);
  for (const extra of [{ prompt: 'none login' }, { prompt: 'consent none' }, { max_age: '-1' }, { max_age: 'abc' },
                       { max_age: '' }, { max_age: '10s' }]) {
    const { p } = await params('portal-a', extra);
    assertRedirectError(await new Agent().request(authorizeUrl(p)), p.redirect_uri, 'invalid_request', p.state);
  }
  assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], cux: [], atr: [], ar: [] });
});

test('login_hint, ui_locales or acr_values beyond their byte budget: invalid_request, nothing stored', async () => {
  const snap = kvSnapshot(st.gw.db, ['sess', 'code', 'cux', 'atr', 'ar']);
  for (const extra of [{ login_hint: 'h'.repeat(257) }, { ui_locales: 'vi '.repeat(22) }, { acr_values: 'a'.repeat(257) }]) {
    const { p } = await params('portal-a', extra);
    const r = await new Agent().request(authorizeUrl(p));
    assertRedirectError(r, p.redirect_uri, 'invalid_request', p.state);
  }
  // at the budget it is accepted: the login page
  const { p } = await params('portal-a', { login_hint: 'h'.repeat(256), ui_locales: 'vi en', acr_values: 'a'.repeat(256) });
  const ok = await new Agent().request(authorizeUrl(p));
  assert.equal(ok.status, 302);
  assert.equal(new URL(ok.location, st.gw.url).pathname, '/login');
  const added = newKeys(st.gw.db, snap);
  assert.equal(added.ar.length, 1, 'one login kept, for the accepted request only');
});

test('prompt=none without a session: login_required', async () => {
  const snap = kvSnapshot(st.gw.db, ['sess', 'code', 'cux', 'atr', 'ar']);
  const { p } = await params('portal-a', { prompt: 'none' });
  assertRedirectError(await new Agent().request(authorizeUrl(p)), p.redirect_uri, 'login_required', p.state);
  assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], cux: [], atr: [], ar: [] });
});

test('prompt=none with a session: a code at once, no login page, no upstream call', async () => {
  const { agent, tokens: first } = await login('portal-a', L2);
  const stats = await st.sim.stats();
  const sessBefore = kvSnapshot(st.gw.db, ['sess']);
  const b = st.clients['portal-b'];
  const config = await discover(st.gw.url, b);
  const req = await authRequest(config, b, { prompt: 'none' });
  const r = await agent.request(req.url);
  assert.equal(r.status, 302);
  assert.ok(r.location.startsWith(`${b.redirect[0]}?code=`), r.location);
  const t = await client.authorizationCodeGrant(config, new URL(r.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  assert.equal(t.claims().sid, first.claims().sid, 'the same SSO session');
  assert.deepEqual(await st.sim.stats(), stats, 'VNeID was not asked again');
  assert.deepEqual(newKeys(st.gw.db, sessBefore).sess, [], 'no new session');
});

test('prompt=login with a session: the login page again', async () => {
  const { agent } = await login('portal-a', L2);
  const snap = kvSnapshot(st.gw.db);
  const { p } = await params('portal-a', { prompt: 'login' });
  const r = await agent.request(authorizeUrl(p));
  assert.equal(r.status, 302);
  assert.match(new URL(r.location).pathname, /^\/login$/, r.location);
  const page = await agent.request(r.location);
  assert.equal(page.status, 200);
  assert.match(page.body, /id="vneid"/, 'the login page with the VNeID button');
  assertNothingNew(snap, 'prompt=login');
});

test('max_age=0 right after a login: the login page again (like prompt=login)', async () => {
  // make the login and the next request fall in the same second
  while (Date.now() % 1000 > 100) await sleep(10);
  const { agent } = await login('portal-a', L2);
  const snap = kvSnapshot(st.gw.db);
  const { p } = await params('portal-a', { max_age: '0' });
  const r = await agent.request(authorizeUrl(p));
  assert.equal(r.status, 302);
  assert.equal(new URL(r.location).pathname, '/login', `max_age=0 must re-authenticate; got ${r.location}`);
  assertNothingNew(snap, 'max_age=0');
});

test('max_age after a delay: a login older than max_age is not reused', async () => {
  const { agent } = await login('portal-a', L2);
  await sleep(2100);
  const snap = kvSnapshot(st.gw.db);
  const { p } = await params('portal-a', { max_age: '1' });
  const r = await agent.request(authorizeUrl(p));
  assert.equal(r.status, 302);
  assert.equal(new URL(r.location).pathname, '/login', r.location);
  assertNothingNew(snap, 'max_age=1');
  // a generous max_age reuses the session, and the id_token carries auth_time
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c, { max_age: '3600' });
  const r2 = await agent.request(req.url);
  assert.ok(r2.location?.startsWith(`${c.redirect[0]}?code=`), r2.location);
  const t = await client.authorizationCodeGrant(config, new URL(r2.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, maxAge: 3600 });
  assert.equal(typeof t.claims().auth_time, 'number');
});

test('acr_values=urn:vn:eid:level:2: a level-1 citizen gets level_too_low and no session', async () => {
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c, { acr_values: 'urn:vn:eid:level:2' });
  const agent = new Agent();
  const snap = kvSnapshot(st.gw.db);
  const cb = await toUpstreamCallback(agent, req.url, L1);
  assert.equal(cb.status, 302);
  const r = await agent.request(cb.location);
  assertPage(r, 403, 'level_too_low');
  assert.equal(r.location, null);
  assert.equal(agent.cookie(st.gw.url, 'eidgw_sso'), undefined, 'no SSO cookie');
  assertNothingNew(snap, 'level 1 with acr_values level 2');
});

test('acr_values=urn:vn:eid:level:2: a level-2 citizen gets acr urn:vn:eid:level:2', async () => {
  const { tokens, config } = await login('portal-a', L2, { extra: { acr_values: 'urn:vn:eid:level:2' } });
  assert.equal(tokens.claims().acr, 'urn:vn:eid:level:2');
  const ui = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
  assert.equal(ui.acr, 'urn:vn:eid:level:2');
});

test('a level-1 SSO session does not satisfy a later acr_values=level:2 request', async () => {
  const { agent, tokens } = await login('portal-a', L1);
  assert.equal(tokens.claims().acr, 'urn:vn:eid:level:1');
  const snap = kvSnapshot(st.gw.db);
  const { p } = await params('portal-a', { acr_values: 'urn:vn:eid:level:2' });
  const r = await agent.request(authorizeUrl(p));
  assert.equal(r.status, 302);
  assert.equal(new URL(r.location).pathname, '/login', r.location);
  // nor a level-2 portal
  const { p: pb } = await params('portal-b');
  const rb = await agent.request(authorizeUrl(pb));
  assert.equal(new URL(rb.location).pathname, '/login', rb.location);
  assertNothingNew(snap, 'level-1 session, level-2 request');
});

test('portal-b (min_level 2) refuses a level-1 citizen: level_too_low, no code, no session', async () => {
  const b = st.clients['portal-b'];
  const config = await discover(st.gw.url, b);
  const req = await authRequest(config, b);
  const agent = new Agent();
  const snap = kvSnapshot(st.gw.db);
  const cb = await toUpstreamCallback(agent, req.url, L1);
  const r = await agent.request(cb.location);
  assertPage(r, 403, 'level_too_low');
  assert.equal(r.location, null);
  assert.equal(agent.cookie(st.gw.url, 'eidgw_sso'), undefined);
  assertNothingNew(snap, 'portal-b, level 1');
});

// ------------------------------------------------------------------ /token

test('token: missing or wrong PKCE verifier is invalid_grant', async () => {
  const { agent } = await login('portal-a', L2);
  for (const v of [undefined, client.randomPKCECodeVerifier(), 'short']) {
    const { code, p } = await ssoCode(agent);
    const snap = kvSnapshot(st.gw.db);
    const form = { grant_type: 'authorization_code', code, redirect_uri: p.redirect_uri };
    if (v) form.code_verifier = v;
    assertTokenError(await token(form, { basic: basicOf('portal-a') }), 400, 'invalid_grant');
    assertNothingNew(snap, `verifier ${v}`);
  }
});

test('token: a replayed code is invalid_grant and revokes the access token of its first use', async () => {
  const { agent } = await login('portal-a', L2);
  const { code, verifier, p } = await ssoCode(agent);
  const form = { grant_type: 'authorization_code', code, redirect_uri: p.redirect_uri, code_verifier: verifier };
  const first = await token(form, { basic: basicOf('portal-a') });
  assert.equal(first.status, 200, first.text);
  const at = first.json.access_token;
  let ui = await fetch(`${st.gw.url}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
  assert.equal(ui.status, 200);
  const snap = kvSnapshot(st.gw.db, ['sess', 'code', 'cux']);
  const revokedBefore = new Set(kvKeys(st.gw.db, 'atr'));
  assertTokenError(await token(form, { basic: basicOf('portal-a') }), 400, 'invalid_grant');
  ui = await fetch(`${st.gw.url}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
  assert.equal(ui.status, 401, 'the first access token is revoked');
  assert.equal((await ui.json()).error, 'invalid_token');
  assert.match(ui.headers.get('www-authenticate') || '', /^Bearer\b.*error="invalid_token"/);
  assertNothingNew(snap, 'code replay');
  // what the replay leaves is the token's revocation, by the hash of its id, and only that
  const tidKey = createHash('sha256').update(at.split('.')[0]).digest('base64url');
  assert.deepEqual(kvKeys(st.gw.db, 'atr').filter((k) => !revokedBefore.has(k)), [tidKey]);
  // a second replay adds nothing more
  assertTokenError(await token(form, { basic: basicOf('portal-a') }), 400, 'invalid_grant');
  assert.deepEqual(kvKeys(st.gw.db, 'atr').filter((k) => !revokedBefore.has(k)), [tidKey]);
});

test("token: a code redeemed with another portal's credentials is invalid_grant", async () => {
  const { agent } = await login('portal-a', L2);
  const { code, verifier, p } = await ssoCode(agent);
  const snap = kvSnapshot(st.gw.db);
  for (const ru of [p.redirect_uri, st.clients['portal-b'].redirect[0]]) {
    const r = await token({ grant_type: 'authorization_code', code, redirect_uri: ru, code_verifier: verifier },
                          { basic: basicOf('portal-b') });
    assertTokenError(r, 400, 'invalid_grant');
  }
  assertNothingNew(snap, 'code of another client');
});

test('token: an expired code is invalid_grant (code_lifetime 5s, redeemed after 6s)', async () => {
  const st2 = await startStack('op-errors-exp', { upstreamOverrides: { codeLifetime: '5s' } });
  try {
    const c = st2.clients['portal-a'];
    const config = await discover(st2.gw.url, c);
    const req = await authRequest(config, c);
    const hop = await loginAt(new Agent(), req.url, L2, `http://127.0.0.1:${st2.port.a}`);
    assert.equal(hop.status, 302);
    const code = new URL(hop.location).searchParams.get('code');
    assert.ok(code);
    await sleep(6000);
    const snap = kvSnapshot(st2.gw.db);
    const res = await fetch(`${st2.gw.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded',
                 authorization: `Basic ${Buffer.from(`portal-a:${c.secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: c.redirect[0],
                                  code_verifier: req.verifier }).toString(),
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'invalid_grant');
    assert.deepEqual(newKeys(st2.gw.db, snap), { sess: [], code: [], cux: [], atr: [] });
  } finally {
    await st2.stop();
  }
});

test('token: wrong client secret is 401 invalid_client with WWW-Authenticate', async () => {
  const { agent } = await login('portal-a', L2);
  const { code, verifier, p } = await ssoCode(agent);
  const snap = kvSnapshot(st.gw.db);
  const form = { grant_type: 'authorization_code', code, redirect_uri: p.redirect_uri, code_verifier: verifier };
  let r = await token(form, { basic: ['portal-a', 'not-the-secret'] });
  assertTokenError(r, 401, 'invalid_client');
  assert.match(r.headers.get('www-authenticate') || '', /^Basic\b/);
  r = await token({ ...form, client_id: 'portal-a', client_secret: 'not-the-secret' });
  assertTokenError(r, 401, 'invalid_client');
  assert.ok(r.headers.get('www-authenticate'), 'WWW-Authenticate on 401');
  r = await token({ ...form, client_id: 'portal-a' }); // no secret at all
  assertTokenError(r, 401, 'invalid_client');
  r = await token(form, { basic: ['nobody', 'x'] });
  assertTokenError(r, 401, 'invalid_client');
  assertNothingNew(snap, 'wrong secret');
});

test('token: Basic and client_secret_post together is invalid_request', async () => {
  const { agent } = await login('portal-a', L2);
  const { code, verifier, p } = await ssoCode(agent);
  const snap = kvSnapshot(st.gw.db);
  const c = st.clients['portal-a'];
  const r = await token({ grant_type: 'authorization_code', code, redirect_uri: p.redirect_uri, code_verifier: verifier,
                          client_id: 'portal-a', client_secret: c.secret }, { basic: basicOf('portal-a') });
  assertTokenError(r, 400, 'invalid_request');
  assertNothingNew(snap, 'two client authentication methods');
});

test('token: client_secret_post works (openid-client with ClientSecretPost)', async () => {
  const c = st.clients['portal-a'];
  const config = await client.discovery(new URL(st.gw.url), c.id, c.secret, client.ClientSecretPost(c.secret),
                                        { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] });
  const req = await authRequest(config, c);
  const hop = await loginAt(new Agent(), req.url, L2, portalOf('portal-a'));
  const t = await client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  assert.equal(t.claims().aud, 'portal-a');
  assert.equal(t.token_type.toLowerCase(), 'bearer');
  assert.equal(t.claims().cccd, L2);
  // at_hash binds the id_token to this access token (left half of its SHA-256)
  const half = createHash('sha256').update(t.access_token).digest().subarray(0, 16).toString('base64url');
  assert.equal(t.claims().at_hash, half);
});

test('token: a redirect_uri other than the authorization request is invalid_grant', async () => {
  const { agent } = await login('portal-a', L2);
  for (const ru of [`${st.clients['portal-a'].redirect[0]}/`, `http://127.0.0.1:${st.port.a}/other`,
                    st.clients['portal-b'].redirect[0]]) {
    const { code, verifier } = await ssoCode(agent);
    const snap = kvSnapshot(st.gw.db);
    const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: ru };
    assertTokenError(await token(form, { basic: basicOf('portal-a') }), 400, 'invalid_grant');
    assertNothingNew(snap, `redirect_uri ${ru}`);
  }
  // left out although the authorization request had one: refused too
  const { code, verifier } = await ssoCode(agent);
  const snap = kvSnapshot(st.gw.db);
  const r = await token({ grant_type: 'authorization_code', code, code_verifier: verifier }, { basic: basicOf('portal-a') });
  assert.equal(r.status, 400, r.text);
  assert.ok(['invalid_grant', 'invalid_request'].includes(r.json?.error), r.text);
  assertNothingNew(snap, 'no redirect_uri');
});

test('token: grant_type=password is unsupported_grant_type', async () => {
  const snap = kvSnapshot(st.gw.db);
  const r = await token({ grant_type: 'password', username: L2, password: 'x' }, { basic: basicOf('portal-a') });
  assertTokenError(r, 400, 'unsupported_grant_type');
  for (const gt of ['client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code']) {
    assertTokenError(await token({ grant_type: gt, refresh_token: 'x' }, { basic: basicOf('portal-a') }),
                     400, 'unsupported_grant_type');
  }
  assertNothingNew(snap, 'other grant types');
});

test('token: a JSON body is invalid_request', async () => {
  const { agent } = await login('portal-a', L2);
  const { code, verifier, p } = await ssoCode(agent);
  const snap = kvSnapshot(st.gw.db);
  const r = await token(null, {
    basic: basicOf('portal-a'), headers: { 'content-type': 'application/json' },
    raw: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: p.redirect_uri, code_verifier: verifier }),
  });
  assertTokenError(r, 400, 'invalid_request');
  assertNothingNew(snap, 'JSON body');
});

test('the nonce is echoed in the id_token exactly', async () => {
  const nonce = 'n-0S6_WzA2Mj+/= ñ&é?#%20"<x>' + 'z'.repeat(100);
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c, { nonce });
  const hop = await loginAt(new Agent(), req.url, L2, portalOf('portal-a'));
  const t = await client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: nonce, idTokenExpected: true });
  assert.equal(t.claims().nonce, nonce);
  const payload = JSON.parse(Buffer.from(t.id_token.split('.')[1], 'base64url').toString('utf8'));
  assert.equal(payload.nonce, nonce);
});

test('state round-trips unchanged; the authorization response carries iss (RFC 9207)', async () => {
  const state = 'st=1&x=2 ý+/%41#frag' + '-'.repeat(200);
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  assert.equal(config.serverMetadata().authorization_response_iss_parameter_supported, true);
  const req = await authRequest(config, c, { state });
  const hop = await loginAt(new Agent(), req.url, L2, portalOf('portal-a'));
  const u = new URL(hop.location);
  assert.equal(u.searchParams.get('state'), state);
  assert.equal(u.searchParams.get('iss'), st.gw.url);
  assert.equal(u.searchParams.getAll('iss').length, 1);
  await client.authorizationCodeGrant(config, u, {
    pkceCodeVerifier: req.verifier, expectedState: state, expectedNonce: req.nonce });
  // error responses carry them too
  const { p } = await params('portal-a', { state, prompt: 'none' });
  assertRedirectError(await new Agent().request(authorizeUrl(p)), p.redirect_uri, 'login_required', state);
});

test('userinfo without a token: 401 with WWW-Authenticate: Bearer', async () => {
  for (const init of [{}, { method: 'POST' }, { headers: { authorization: 'Basic eDp5' } }]) {
    const r = await fetch(`${st.gw.url}/userinfo`, init);
    assert.equal(r.status, 401);
    const wa = r.headers.get('www-authenticate') || '';
    assert.match(wa, /^Bearer\b/);
    assert.ok(!/error=/.test(wa), `no error code when no token was sent (RFC 6750 3.1): ${wa}`);
    await r.arrayBuffer();
  }
  const r = await fetch(`${st.gw.url}/userinfo`, { headers: { authorization: 'Bearer not-a-token' } });
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate') || '', /^Bearer error="invalid_token"/);
});

test('a flood of bad /authorize requests: each value logged cut at 200 bytes, 100 lines, then one "suppressed K similar"', async () => {
  const fl = await startStack('log-flood');
  try {
    const bad = `https://evil.example/${'x'.repeat(5000)}`;
    const url = `${fl.gw.url}/authorize?client_id=portal-a&response_type=code&redirect_uri=${encodeURIComponent(bad)}`;
    for (let i = 0; i < 150; i++) {
      const r = await fetch(url);
      assert.equal(r.status, 400);
      await r.arrayBuffer();
    }
    const refused = () => readLog(fl.gw.proc).split('\n').filter(Boolean).map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'authorize: redirect_uri not registered');
    assert.equal(refused().length, 100, 'at most 100 alike in 10 s');
    for (const l of refused()) assert.equal(l.redirect_uri, `${bad.slice(0, 200)}...[${bad.length} bytes]`);
    await new Promise((r) => setTimeout(r, 10500)); // the window passes: the next line says what was dropped
    await (await fetch(`${fl.gw.url}/healthz`)).arrayBuffer();
    const said = readLog(fl.gw.proc).split('\n').filter((l) => l.includes('suppressed'));
    assert.equal(said.length, 1, said.join('\n'));
    const line = JSON.parse(said[0]);
    assert.deepEqual([line.level, line.module, line.msg, line.of, line.count],
                     ['warn', 'oidc_op', 'suppressed 50 similar', 'authorize: redirect_uri not registered', '50']);
  } finally {
    await fl.stop();
  }
});
