// Logout at eidgw (RP-initiated logout 1.0): with id_token_hint it ends the SSO session
// at once, without it only after a CSRF-protected confirmation; a registered
// post_logout_redirect_uri only; afterwards neither the cookie nor the tokens work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, kvSnapshot, newKeys, kvKeys } from './lib/harness.js';
import { discover, authRequest, loginAt, client, Agent, errorCode, forms, href } from './lib/rp.js';

let st;
before(async () => { st = await startStack('logout'); });
after(async () => { await st?.stop(); });

const L2 = '001085012345';
const L2b = '079190023456';
const SSO = 'eidgw_sso';

const portalOf = (id) => `http://127.0.0.1:${id === 'portal-b' ? st.port.b : st.port.a}`;

async function login(id = 'portal-a', citizen = L2, agent = new Agent()) {
  const c = st.clients[id];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const hop = await loginAt(agent, req.url, citizen, portalOf(id));
  assert.equal(hop.status, 302, `login: ${hop.status} ${errorCode(hop.body)}`);
  const tokens = await client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  assert.ok(agent.cookie(st.gw.url, SSO), 'an SSO cookie');
  return { agent, config, tokens, c, sid: tokens.claims().sid };
}

// Does this browser get SSO at portal-b? 'code' (SSO), 'login' (login page) or the response.
async function ssoAt(agent, id = 'portal-b') {
  const c = st.clients[id];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const r = await agent.request(req.url);
  if (r.status === 302 && r.location.startsWith(`${c.redirect[0]}?code=`)) {
    // redeem it, so no code is left behind
    await client.authorizationCodeGrant(config, new URL(r.location), {
      pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    return 'code';
  }
  if (r.status === 302 && new URL(r.location).pathname === '/login') {
    const page = await agent.request(r.location);
    assert.equal(page.status, 200);
    assert.ok(href(page.body, 'vneid'), 'the login page');
    return 'login';
  }
  return r;
}

async function userinfoStatus(at) {
  const r = await fetch(`${st.gw.url}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
  await r.arrayBuffer();
  return r.status;
}

function logoutUrl(params) {
  const u = new URL('/logout', st.gw.url);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

const sessAlive = (sid) => kvKeys(st.gw.db, 'sess').includes(sid);

test('RP-initiated logout with id_token_hint: redirect to the registered URI with state, cookie cleared, no more SSO', async () => {
  const { agent, tokens, c, sid } = await login('portal-a');
  assert.equal(await ssoAt(agent), 'code', 'SSO works before the logout');
  assert.ok(sessAlive(sid));
  const state = 'lo-state ý&x=1';
  const r = await agent.request(logoutUrl({ id_token_hint: tokens.id_token, post_logout_redirect_uri: c.postLogout[0],
                                            state, client_id: 'portal-a' }));
  assert.equal(r.status, 302, `${r.status} ${errorCode(r.body)}`);
  const u = new URL(r.location);
  assert.equal(`${u.origin}${u.pathname}`, c.postLogout[0]);
  assert.equal(u.searchParams.get('state'), state);
  const cleared = r.headers.getSetCookie().find((x) => x.startsWith(`${SSO}=`));
  assert.ok(cleared, 'a Set-Cookie for the SSO cookie');
  assert.match(cleared, /^eidgw_sso=;.*Max-Age=0/i);
  assert.equal(agent.cookie(st.gw.url, SSO), undefined);
  assert.ok(!sessAlive(sid), 'the session record is gone');
  assert.equal(await ssoAt(agent), 'login', 'portal-b shows the login page again');
  assert.equal(await userinfoStatus(tokens.access_token), 401, 'the access token is rejected after the logout');
});

test('unregistered post_logout_redirect_uri: 400 invalid_redirect_uri, the session stays', async () => {
  const { agent, tokens, c, sid } = await login('portal-a');
  const cookie = agent.cookie(st.gw.url, SSO);
  for (const bad of [`${c.postLogout[0]}evil`, 'https://evil.example/', st.clients['portal-b'].postLogout[0],
                     `${c.postLogout[0]}?x=1`]) {
    const r = await agent.request(logoutUrl({ id_token_hint: tokens.id_token, post_logout_redirect_uri: bad, state: 's' }));
    assert.equal(r.status, 400, bad);
    assert.equal(errorCode(r.body), 'invalid_redirect_uri', bad);
    assert.equal(r.location, null, bad);
    assert.ok(!r.headers.getSetCookie().some((x) => x.startsWith(`${SSO}=`)), `${bad}: the SSO cookie is left alone`);
  }
  assert.equal(agent.cookie(st.gw.url, SSO), cookie);
  assert.ok(sessAlive(sid), 'the session is still alive');
  assert.equal(await userinfoStatus(tokens.access_token), 200);
  assert.equal(await ssoAt(agent), 'code', 'SSO still works');
});

test('logout without id_token_hint: a confirmation page with a CSRF form; a wrong csrf is refused, the right one logs out', async () => {
  const { agent, tokens, c, sid } = await login('portal-a');
  const ask = () => agent.request(logoutUrl({ client_id: 'portal-a', post_logout_redirect_uri: c.postLogout[0], state: 'st-1' }));
  let r = await ask();
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^text\/html/);
  let f = forms(r.body).find((x) => 'csrf' in x.fields);
  assert.ok(f, 'a form with a csrf field');
  assert.equal(f.method, 'post');
  assert.ok(f.fields.csrf.length >= 20 && f.fields.logout_id, JSON.stringify(f.fields));
  assert.ok(sessAlive(sid), 'nothing ended by merely showing the page');
  assert.ok(agent.cookie(st.gw.url, SSO));

  // wrong csrf
  const action = new URL(f.action, r.url).toString();
  const bad = await agent.request(action, { method: 'POST', form: { ...f.fields, csrf: `${f.fields.csrf.slice(0, -2)}xx` } });
  assert.equal(bad.status, 400);
  assert.equal(bad.location, null);
  assert.ok(errorCode(bad.body));
  assert.ok(!bad.headers.getSetCookie().some((x) => x.startsWith(`${SSO}=`)), 'the SSO cookie is left alone');
  assert.ok(sessAlive(sid), 'still logged in after a wrong csrf');
  assert.equal(await userinfoStatus(tokens.access_token), 200);
  // no csrf at all
  const none = await agent.request(action, { method: 'POST', form: { logout_id: f.fields.logout_id } });
  assert.equal(none.status, 400);
  assert.ok(sessAlive(sid));

  // the right one (from a fresh confirmation page)
  r = await ask();
  f = forms(r.body).find((x) => 'csrf' in x.fields);
  const ok = await agent.request(new URL(f.action, r.url).toString(), { method: 'POST', form: f.fields });
  assert.equal(ok.status, 302, `${ok.status} ${errorCode(ok.body)}`);
  const u = new URL(ok.location);
  assert.equal(`${u.origin}${u.pathname}`, c.postLogout[0]);
  assert.equal(u.searchParams.get('state'), 'st-1');
  assert.equal(agent.cookie(st.gw.url, SSO), undefined, 'the SSO cookie is cleared');
  assert.ok(!sessAlive(sid), 'the session is over');
  assert.equal(await userinfoStatus(tokens.access_token), 401);
  assert.equal(await ssoAt(agent), 'login');
});

test("a confirmation form from one browser does not log out another browser's session", async () => {
  const mallory = await login('portal-a', L2b);
  const r = await mallory.agent.request(logoutUrl({ client_id: 'portal-a' }));
  assert.equal(r.status, 200);
  const f = forms(r.body).find((x) => 'csrf' in x.fields);
  assert.ok(f);
  const victim = await login('portal-a', L2);
  const snap = kvSnapshot(st.gw.db, ['sess']);
  // the victim's browser is made to post Mallory's form (logout_id and csrf are Mallory's)
  const x = await victim.agent.request(new URL(f.action, r.url).toString(), { method: 'POST', form: f.fields });
  assert.equal(x.status, 400, `the form was not issued to this browser (got ${x.status})`);
  assert.ok(sessAlive(victim.sid), "the victim's session is alive");
  assert.equal(await userinfoStatus(victim.tokens.access_token), 200);
  assert.equal(await ssoAt(victim.agent), 'code');
  assert.deepEqual(newKeys(st.gw.db, snap).sess, []);
});

test('after logout the access token is rejected by /userinfo (all tokens of the session)', async () => {
  const { agent, tokens, c } = await login('portal-a');
  // a second portal's token from the same session
  const b = st.clients['portal-b'];
  const cb = await discover(st.gw.url, b);
  const rb = await authRequest(cb, b);
  const hb = await agent.request(rb.url);
  const tb = await client.authorizationCodeGrant(cb, new URL(hb.location), {
    pkceCodeVerifier: rb.verifier, expectedState: rb.state, expectedNonce: rb.nonce });
  assert.equal(await userinfoStatus(tokens.access_token), 200);
  assert.equal(await userinfoStatus(tb.access_token), 200);
  const r = await agent.request(logoutUrl({ id_token_hint: tokens.id_token, post_logout_redirect_uri: c.postLogout[0] }));
  assert.equal(r.status, 302);
  assert.equal(await userinfoStatus(tokens.access_token), 401);
  assert.equal(await userinfoStatus(tb.access_token), 401, "the other portal's token too");
});

test('a code issued before the logout cannot be redeemed after it', async () => {
  const { agent, tokens, c } = await login('portal-a');
  const b = st.clients['portal-b'];
  const cb = await discover(st.gw.url, b);
  const rb = await authRequest(cb, b);
  const hb = await agent.request(rb.url);
  assert.ok(hb.location.startsWith(`${b.redirect[0]}?code=`));
  const r = await agent.request(logoutUrl({ id_token_hint: tokens.id_token, post_logout_redirect_uri: c.postLogout[0] }));
  assert.equal(r.status, 302);
  const snap = kvSnapshot(st.gw.db);
  await assert.rejects(client.authorizationCodeGrant(cb, new URL(hb.location), {
    pkceCodeVerifier: rb.verifier, expectedState: rb.state, expectedNonce: rb.nonce }),
  (e) => e.error === 'invalid_grant');
  assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], cux: [], atr: [] });
});

test('a stale SSO cookie replayed after logout gives no SSO', async () => {
  const { agent, tokens, c } = await login('portal-a');
  const stale = agent.cookie(st.gw.url, SSO);
  const r = await agent.request(logoutUrl({ id_token_hint: tokens.id_token, post_logout_redirect_uri: c.postLogout[0] }));
  assert.equal(r.status, 302);
  const replay = new Agent();
  replay.setCookie(st.gw.url, SSO, stale);
  const snap = kvSnapshot(st.gw.db);
  assert.equal(await ssoAt(replay, 'portal-b'), 'login');
  assert.equal(await ssoAt(replay, 'portal-a'), 'login');
  // nor with prompt=none
  const a = st.clients['portal-a'];
  const config = await discover(st.gw.url, a);
  const req = await authRequest(config, a, { prompt: 'none' });
  const x = await replay.request(req.url);
  assert.equal(x.status, 302);
  assert.equal(new URL(x.location).searchParams.get('error'), 'login_required');
  assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], cux: [], atr: [] });
});
