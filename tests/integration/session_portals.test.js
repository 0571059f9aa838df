// The portals of one SSO session: every portal that joins it stays in its list, even when
// several join at the same instant, so a logout reaches each of them (back-channel logout
// 1.0) — on the embedded store and on Redis. A lock set by the admin API ends the
// citizen's sessions the same way: their portals are told.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, freePort, secret, ADMIN_TOKEN } from './lib/harness.js';
import { discover, authRequest, loginAt, client, Agent, errorCode } from './lib/rp.js';

const CITIZEN = '001085012345';
const JOINERS = ['p1', 'p2', 'p3', 'p4', 'p5'];
const stacks = [];
after(async () => { for (const s of stacks) await s.stop(); });

// A listener that takes back-channel logout calls for every portal: path /bc/<portal>.
async function logoutListener() {
  const port = await freePort();
  const got = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const tok = new URLSearchParams(body).get('logout_token') || '';
      const claims = JSON.parse(Buffer.from(tok.split('.')[1] || 'e30', 'base64url').toString());
      got.push({ portal: req.url.replace('/bc/', ''), claims });
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, got, close: () => srv.close() };
}

async function stackFor(name, store) {
  const bc = await logoutListener();
  const rp = `http://127.0.0.1:${await freePort()}`;
  const clients = ['portal-a', ...JOINERS].map((id) => ({
    id, secret: secret(), redirect: [`${rp}/${id}/callback`], postLogout: [`${rp}/${id}/`],
    backchannel: `${bc.url}/bc/${id}`, scopes: 'openid profile', minLevel: 1 }));
  const st = await startStack(name, { clients, store });
  const stop = st.stop;
  st.stop = async () => { bc.close(); await stop(); };
  stacks.push(st);
  return { st, bc, rp };
}

async function tokensFor(st, id, agent, viaLogin) {
  const c = st.clients[id];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const hop = viaLogin ? await loginAt(agent, req.url, CITIZEN, c.redirect[0].replace(/\/callback$/, ''))
                       : await agent.request(req.url);
  assert.equal(hop.status, 302, `${id}: ${hop.status} ${errorCode(hop.body)}`);
  assert.ok(hop.location.startsWith(`${c.redirect[0]}?code=`), `${id}: ${hop.location}`);
  const tokens = await client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  return { config, tokens, c };
}

async function waitFor(cond, ms = 8000) {
  const end = Date.now() + ms;
  while (Date.now() < end && !cond()) await new Promise((r) => setTimeout(r, 50));
}

async function prepared(st, id) {
  const c = st.clients[id];
  const config = await discover(st.gw.url, c);
  return { c, config, req: await authRequest(config, c) };
}

async function portalsJoinAtOnceThenLogout(name, store) {
  const { st, bc } = await stackFor(name, store);
  for (let round = 0; round < 4; round++) {
    bc.got.length = 0;
    const agent = new Agent();
    const first = await tokensFor(st, 'portal-a', agent, true);
    const sid = first.tokens.claims().sid;
    // five portals ask for the same SSO session at the same instant
    const ready = await Promise.all(JOINERS.map((id) => prepared(st, id)));
    const hops = await Promise.all(ready.map((p) => agent.request(p.req.url)));
    for (const [i, hop] of hops.entries()) {
      const { c, config, req } = ready[i];
      assert.ok(hop.status === 302 && hop.location.startsWith(`${c.redirect[0]}?code=`), `${c.id}: ${hop.status}`);
      const t = await client.authorizationCodeGrant(config, new URL(hop.location), {
        pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
      assert.equal(t.claims().sid, sid, 'one SSO session');
    }
    const end = client.buildEndSessionUrl(first.config, { id_token_hint: first.tokens.id_token,
                                                          post_logout_redirect_uri: first.c.postLogout[0] });
    const lo = await agent.request(end.href);
    assert.equal(lo.status, 302, `logout: ${lo.status} ${errorCode(lo.body)}`);
    await waitFor(() => bc.got.length >= 1 + JOINERS.length);
    const told = bc.got.filter((g) => g.claims.sid === sid).map((g) => g.portal).sort();
    assert.deepEqual(told, ['portal-a', ...JOINERS].sort(), `round ${round}: every portal of the session is told of its end`);
    for (const g of bc.got) assert.equal(g.claims.aud, g.portal, 'each logout token is for its own portal');
  }
}

test('five portals joining one SSO session at once all receive its back-channel logout (SQLite)', async () => {
  await portalsJoinAtOnceThenLogout('sp-sqlite');
});

test('five portals joining one SSO session at once all receive its back-channel logout (Redis)',
  { skip: !process.env.EIDGW_TEST_REDIS_URL && 'EIDGW_TEST_REDIS_URL not set' }, async () => {
    await portalsJoinAtOnceThenLogout('sp-redis', `driver = redis\nurl = ${process.env.EIDGW_TEST_REDIS_URL}\nallow_volatile = yes`);
  });

test('a lock set through the admin API ends the citizen\'s session and tells its portals', async () => {
  const { st, bc } = await stackFor('sp-lock');
  const agent = new Agent();
  const first = await tokensFor(st, 'portal-a', agent, true);
  await tokensFor(st, 'p1', agent, false);
  const sid = first.tokens.claims().sid;
  const r = await fetch(`${st.gw.url}/admin/locks`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id12: CITIZEN, reason: 'SUBJECT_REQUEST' }) });
  assert.ok(r.status === 200 || r.status === 201, `lock: ${r.status} ${await r.text()}`);
  await waitFor(() => bc.got.length >= 2);
  assert.deepEqual(bc.got.filter((g) => g.claims.sid === sid).map((g) => g.portal).sort(), ['p1', 'portal-a']);
  // and the browser's cookie no longer gives SSO
  const c = st.clients.p2;
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const again = await agent.request(req.url);
  assert.ok(!(again.location || '').includes('code='), 'no SSO after the lock');
});

test('a second citizen logging in on the same browser (prompt=login, a shared kiosk) ends the first one\'s session everywhere; the same citizen again does not', async () => {
  const { st, bc } = await stackFor('sp-kiosk');
  const agent = new Agent();
  const first = await tokensFor(st, 'portal-a', agent, true);
  await tokensFor(st, 'p1', agent, false);
  const sid = first.tokens.claims().sid;
  const loginAs = async (portal, citizen) => {
    const c = st.clients[portal];
    const config = await discover(st.gw.url, c);
    const req = await authRequest(config, c, { prompt: 'login' });
    const hop = await loginAt(agent, req.url, citizen, c.redirect[0].replace(/\/callback$/, ''));
    assert.equal(hop.status, 302, `${portal}: ${hop.status} ${errorCode(hop.body)}`);
    const t = await client.authorizationCodeGrant(config, new URL(hop.location), {
      pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    return t.claims();
  };
  // Trần Thị Bình sits down at the same browser
  const second = await loginAs('p2', '079190023456');
  assert.notEqual(second.sid, sid);
  await waitFor(() => bc.got.filter((g) => g.claims.sid === sid).length >= 2);
  assert.deepEqual(bc.got.filter((g) => g.claims.sid === sid).map((g) => g.portal).sort(), ['p1', 'portal-a'],
                   'the first citizen\'s portals are told');
  // she logs in again herself (a step-up): her own session is not ended
  const again = await loginAs('p3', '079190023456');
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(bc.got.filter((g) => g.claims.sid === second.sid).length, 0, 'no logout for the same citizen');
  assert.ok(again.sid);
});
