// The whole brokered code flow, driven by openid-client as the portal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { startStack, kvCount, kvKeys } from './lib/harness.js';
import { discover, authRequest, loginAt, client, Agent } from './lib/rp.js';

let st;
before(async () => { st = await startStack('flow'); });
after(async () => { await st?.stop(); });

test('citizen logs in to portal A; openid-client validates the id_token and userinfo', async () => {
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const agent = new Agent();
  const hop = await loginAt(agent, req.url, '001085012345', 'http://127.0.0.1:' + st.port.a);
  assert.equal(hop.status, 302);
  assert.ok(hop.location.startsWith(c.redirect[0] + '?'), hop.location);
  const tokens = await client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  const claims = tokens.claims();
  assert.equal(claims.iss, st.gw.url);
  assert.equal(claims.aud, 'portal-a');
  assert.equal(claims.acr, 'urn:vn:eid:level:2');
  assert.equal(claims.cccd, '001085012345');
  assert.equal(claims.name, 'Nguyễn Văn An');
  assert.equal(claims.birthdate, '1985-03-14');
  assert.equal(claims.gender, 'male');
  assert.notEqual(claims.sub, '001085012345');
  assert.match(claims.sub, /^[A-Za-z0-9_-]{43}$/);
  const ui = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(ui.cccd, '001085012345');
  assert.equal(kvCount(st.gw.db, 'sess') >= 1, true);
  // the database (ID numbers, names, password hashes) and its WAL are the owner's only
  for (const f of [st.gw.db, `${st.gw.db}-wal`].filter((x) => fs.existsSync(x)))
    assert.equal(fs.statSync(f).mode & 0o777, 0o600, `${f} mode`);
  // the access token is sealed, not recorded: its id, a dot, and an AES-GCM seal that names
  // no identity in the clear; the code is spent, and its tombstone (for a replay to revoke
  // the token) is what the record view the other tests rely on sees
  const at = tokens.access_token;
  assert.match(at, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{200,}$/);
  assert.ok(!Buffer.from(at.split('.')[1], 'base64url').toString('latin1').includes('001085012345'), 'sealed');
  const code = new URL(hop.location).searchParams.get('code');
  const codeKey = createHash('sha256').update(code).digest('base64url');
  assert.ok(!kvKeys(st.gw.db, 'code').includes(codeKey), 'code spent');
  assert.ok(kvKeys(st.gw.db, 'cux').includes(codeKey), 'the exchanged code\'s tombstone is visible');
  // a token whose seal is tampered with, or whose id is another one's, opens nothing
  const [tid, seal] = at.split('.');
  const flip = (x, i) => x.slice(0, i) + (x[i] === 'A' ? 'B' : 'A') + x.slice(i + 1);
  for (const bad of [`${tid}.${flip(seal, 30)}`, `${flip(tid, 5)}.${seal}`, tid, `${tid}.`, `.${seal}`, `${at}A`]) {
    const r = await fetch(`${st.gw.url}/userinfo`, { headers: { authorization: `Bearer ${bad}` } });
    assert.equal(r.status, 401, bad.slice(0, 60));
  }
  // the session record, written once at the callback, already names the portal (for
  // back-channel logout) and carries none of the handler's bookkeeping
  const rec = JSON.parse(String(execFileSync('sqlite3', [st.gw.db, `SELECT v FROM kv WHERE ns='sess' AND k='${claims.sid}'`])));
  assert.deepEqual(rec.clients, ['portal-a']);
  assert.equal(rec.identity.id12, '001085012345');
  assert.equal(rec.unsaved, undefined);
  assert.equal(rec.save_failed, undefined);
  // and the citizen's session index holds it
  const idx = String(execFileSync('sqlite3', [st.gw.db, `SELECT m FROM sets WHERE ns='sidx' AND k='001085012345'`])).split('\n');
  assert.ok(idx.includes(claims.sid), idx.join(','));
});

test('second portal reuses the SSO session (no VNeID round trip), gets another sub, no cccd without the scope', async () => {
  const a = st.clients['portal-a'], b = st.clients['portal-b'];
  const agent = new Agent();
  const ca = await discover(st.gw.url, a);
  const ra = await authRequest(ca, a);
  const ha = await loginAt(agent, ra.url, '001085012345', 'http://127.0.0.1:' + st.port.a);
  const ta = await client.authorizationCodeGrant(ca, new URL(ha.location), {
    pkceCodeVerifier: ra.verifier, expectedState: ra.state, expectedNonce: ra.nonce });
  const before = (await st.sim.stats()).token;
  const cb = await discover(st.gw.url, b);
  const rb = await authRequest(cb, b);
  const hb = await agent.request(rb.url);
  assert.equal(hb.status, 302);
  assert.ok(hb.location.startsWith(b.redirect[0] + '?code='), hb.location);
  const tb = await client.authorizationCodeGrant(cb, new URL(hb.location), {
    pkceCodeVerifier: rb.verifier, expectedState: rb.state, expectedNonce: rb.nonce });
  assert.equal((await st.sim.stats()).token, before, 'no second upstream token call');
  assert.notEqual(tb.claims().sub, ta.claims().sub, 'pairwise subjects differ per portal');
  assert.equal(tb.claims().cccd, undefined);
  assert.equal(tb.claims().sid, ta.claims().sid);
});

test('the session check (/auth/check) answers from the cookie: 200 with headers, 401 without or after logout', async () => {
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const agent = new Agent();
  const hop = await loginAt(agent, req.url, '056070112345', 'http://127.0.0.1:' + st.port.a);
  const tokens = await client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  const ok = await agent.request(`${st.gw.url}/auth/check`);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('x-eidgw-acr'), 'urn:vn:eid:level:1');
  assert.equal(ok.headers.get('x-eidgw-session'), tokens.claims().sid);
  const none = await new Agent().request(`${st.gw.url}/auth/check`);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Eidgw realm="eidgw"');
  const tampered = new Agent();
  tampered.setCookie(st.gw.url, 'eidgw_sso', agent.cookie(st.gw.url, 'eidgw_sso').slice(0, -2) + 'AA');
  assert.equal((await tampered.request(`${st.gw.url}/auth/check`)).status, 401);
  const stale = new Agent();
  stale.setCookie(st.gw.url, 'eidgw_sso', agent.cookie(st.gw.url, 'eidgw_sso'));
  const lo = await agent.request(client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token }).toString());
  assert.equal(lo.status, 200);
  assert.equal((await stale.request(`${st.gw.url}/auth/check`)).status, 401, 'a copied cookie dies with the session');
});
