// eidgw as VNeID's relying party: every answer from VNeID it must not trust, every
// outage, and every callback that does not belong to the browser's own login. None of
// them may give the portal a code or create an SSO session.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, kvSnapshot, newKeys, freePort } from './lib/harness.js';
import { discover, authRequest, client, Agent, errorCode, href, toUpstreamCallback } from './lib/rp.js';

let st;
before(async () => { st = await startStack('upstream-errors'); });
after(async () => { await st?.stop(); });
afterEach(async () => { if (st.sim.proc.exitCode === null && st.sim.proc.signalCode === null) await st.sim.faults({}); });

const L2 = '001085012345';
const LOCKED = '034084190123';

// A login at `id` up to VNeID's redirect to eidgw's /callback (not followed).
async function upToCallback(id = 'portal-a', citizen = L2, agent = new Agent()) {
  const c = st.clients[id];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const cb = await toUpstreamCallback(agent, req.url, citizen);
  assert.equal(cb.status, 302, `VNeID simulator: ${cb.status} ${cb.body.slice(0, 200)}`);
  assert.ok(cb.location.startsWith(`${st.gw.url}/callback?`), cb.location);
  return { agent, cb, req, config, c };
}

function assertRefused(r, status, code) {
  assert.equal(r.status, status, `status (page ${errorCode(r.body)})`);
  assert.match(r.headers.get('content-type') || '', /^text\/html/);
  assert.equal(errorCode(r.body), code);
  assert.equal(r.location, null, 'no redirect: the portal gets no code');
}

function assertNoSession(agent, snap, what) {
  assert.equal(agent.cookie(st.gw.url, 'eidgw_sso'), undefined, `${what}: no SSO cookie`);
  assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], cux: [], atr: [] }, `${what}: no session, code or token`);
}

const ID_TOKEN_FAULTS = ['bad_signature', 'alg_none', 'hs256', 'unknown_kid', 'wrong_iss', 'wrong_aud', 'expired',
                         'wrong_nonce', 'missing', 'wrong_azp'];

for (const fault of ID_TOKEN_FAULTS) {
  test(`id_token ${fault}: 502 upstream_error, no code, no session`, async () => {
    await st.sim.faults({ id_token: fault });
    const { agent, cb } = await upToCallback();
    const snap = kvSnapshot(st.gw.db);
    const tokenCalls = (await st.sim.stats()).token;
    const r = await agent.request(cb.location);
    assertRefused(r, 502, 'upstream_error');
    assert.equal((await st.sim.stats()).token, tokenCalls + 1, 'the code was redeemed once');
    assertNoSession(agent, snap, fault);
    assert.ok(href(r.body, 'retry'), 'a retry link');
  });
}

test('token endpoint answers 500: 503 upstream_unavailable with Retry-After', async () => {
  await st.sim.faults({ token_status: 500 });
  const { agent, cb } = await upToCallback();
  const snap = kvSnapshot(st.gw.db);
  const r = await agent.request(cb.location);
  assertRefused(r, 503, 'upstream_unavailable');
  assert.match(r.headers.get('retry-after') || '', /^\d+$/);
  assertNoSession(agent, snap, 'token 500');
});

test('token endpoint slower than the upstream timeout (3s): 503 upstream_unavailable', async () => {
  await st.sim.faults({ token_delay_ms: 6000 });
  const { agent, cb } = await upToCallback();
  const snap = kvSnapshot(st.gw.db);
  const t0 = Date.now();
  const r = await agent.request(cb.location);
  const took = Date.now() - t0;
  assertRefused(r, 503, 'upstream_unavailable');
  assert.ok(took >= 2500 && took < 5500, `gave up after the 3s timeout (took ${took} ms)`);
  assert.match(r.headers.get('retry-after') || '', /^\d+$/);
  assertNoSession(agent, snap, 'token timeout');
});

test('userinfo sub differs from the id_token sub: 502 upstream_error', async () => {
  await st.sim.faults({ userinfo_sub: '00000000-0000-0000-0000-000000000000' });
  const { agent, cb } = await upToCallback();
  const snap = kvSnapshot(st.gw.db);
  assertRefused(await agent.request(cb.location), 502, 'upstream_error');
  assertNoSession(agent, snap, 'userinfo sub');
});

test('userinfo answers 500: 503 upstream_unavailable', async () => {
  await st.sim.faults({ userinfo_status: 500 });
  const { agent, cb } = await upToCallback();
  const snap = kvSnapshot(st.gw.db);
  const r = await agent.request(cb.location);
  assertRefused(r, 503, 'upstream_unavailable');
  assertNoSession(agent, snap, 'userinfo 500');
});

test('userinfo says IAL 1 for a level-2 citizen at portal-b: level_too_low', async () => {
  await st.sim.faults({ userinfo_override: { IAL: 1 } });
  const { agent, cb } = await upToCallback('portal-b', L2);
  const snap = kvSnapshot(st.gw.db);
  const r = await agent.request(cb.location);
  assertRefused(r, 403, 'level_too_low');
  assertNoSession(agent, snap, 'IAL 1');
});

test('userinfo says LoaiTaiKhoan 3 (organisation) at a citizens-only portal: account_type_refused', async () => {
  await st.sim.faults({ userinfo_override: { LoaiTaiKhoan: '3' } });
  const { agent, cb } = await upToCallback('portal-a', L2);
  const snap = kvSnapshot(st.gw.db);
  const r = await agent.request(cb.location);
  assertRefused(r, 403, 'account_type_refused');
  assertNoSession(agent, snap, 'account type 3');
});

test('userinfo without the ID number: missing_identity, no session', async () => {
  await st.sim.faults({ userinfo_override: { SoDinhDanh: '' } });
  const { agent, cb } = await upToCallback('portal-a', L2);
  const snap = kvSnapshot(st.gw.db);
  const r = await agent.request(cb.location);
  assertRefused(r, 502, 'missing_identity');
  assertNoSession(agent, snap, 'no SoDinhDanh');
});

test('locked citizen: VNeID answers access_denied, eidgw shows upstream_denied with retry and back links', async () => {
  const { agent, cb, req, c } = await upToCallback('portal-a', LOCKED);
  assert.equal(new URL(cb.location).searchParams.get('error'), 'access_denied');
  const snap = kvSnapshot(st.gw.db);
  const r = await agent.request(cb.location);
  assertRefused(r, 403, 'upstream_denied');
  const retry = href(r.body, 'retry'), back = href(r.body, 'back');
  assert.ok(retry, 'a retry link');
  assert.ok(back, 'a back-to-portal link');
  // retry: eidgw's login page for the same request
  const again = await agent.request(new URL(retry, st.gw.url).toString());
  assert.equal(again.status, 200);
  assert.ok(href(again.body, 'vneid'), 'the login page again');
  // back: the portal's redirect_uri with an OAuth error, its state and iss
  const b = new URL(back, st.gw.url);
  assert.equal(`${b.origin}${b.pathname}`, c.redirect[0]);
  assert.equal(b.searchParams.get('error'), 'access_denied');
  assert.equal(b.searchParams.get('state'), req.state);
  assert.equal(b.searchParams.get('iss'), st.gw.url);
  assert.equal(b.searchParams.get('code'), null);
  assertNoSession(agent, snap, 'locked');
});

test('callback with a state never issued: 400 flow_expired', async () => {
  const { agent, cb } = await upToCallback();
  const snap = kvSnapshot(st.gw.db);
  const u = new URL(cb.location);
  u.searchParams.set('state', client.randomState());
  const tokenCalls = (await st.sim.stats()).token;
  assertRefused(await agent.request(u.toString()), 400, 'flow_expired');
  u.searchParams.delete('state');
  assertRefused(await agent.request(u.toString()), 400, 'flow_expired');
  assert.equal((await st.sim.stats()).token, tokenCalls, 'the code was not redeemed');
  assertNoSession(agent, snap, 'unknown state');
});

test('callbacks with no state or a state never issued keep no error record (a flood stores nothing)', async () => {
  const snap = kvSnapshot(st.gw.db, ['err', 'flow', 'ar']);
  const agent = new Agent();
  for (let i = 0; i < 50; i++) {
    const q = i % 2 ? `state=${client.randomState()}&code=x` : 'code=x';
    const r = await agent.request(`${st.gw.url}/callback?${q}`);
    assert.equal(r.status, 400);
    assert.equal(errorCode(r.body), 'flow_expired');
    // its language switch is the same address again: nothing single-use was spent
    const m = r.body.match(/href="([^"]*)" hreflang="en"/);
    const sw = m && m[1].replace(/&amp;/g, '&').replace(/&#x3D;|&#61;/g, '=');
    assert.ok(sw && sw.startsWith('/callback?'), `switch: ${sw}`);
  }
  assert.deepEqual(newKeys(st.gw.db, snap), { err: [], flow: [], ar: [] });
});

test('callback replayed (same state twice): the second is flow_expired', async () => {
  const { agent, cb, c } = await upToCallback();
  const first = await agent.request(cb.location);
  assert.equal(first.status, 302);
  assert.ok(first.location.startsWith(`${c.redirect[0]}?code=`), first.location);
  const snap = kvSnapshot(st.gw.db);
  const tokenCalls = (await st.sim.stats()).token;
  const second = await agent.request(cb.location);
  assertRefused(second, 400, 'flow_expired');
  assert.equal((await st.sim.stats()).token, tokenCalls, 'no second redemption');
  assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], cux: [], atr: [] });
});

test('callback from another browser (no binding cookie): flow_expired, no session', async () => {
  const { cb } = await upToCallback();
  const thief = new Agent();
  const snap = kvSnapshot(st.gw.db);
  const tokenCalls = (await st.sim.stats()).token;
  const r = await thief.request(cb.location);
  assertRefused(r, 400, 'flow_expired');
  assert.equal((await st.sim.stats()).token, tokenCalls, 'the code was not redeemed');
  assertNoSession(thief, snap, 'another browser');
  // a browser with a binding cookie of its own (it started a login too) fails the same way
  const victim = await upToCallback();
  const thief2 = new Agent();
  await upToCallback('portal-a', L2, thief2);
  assert.ok(thief2.cookie(st.gw.url, 'eidgw_bind'), 'the second browser has its own binding cookie');
  const snap2 = kvSnapshot(st.gw.db);
  const r2 = await thief2.request(victim.cb.location);
  assertRefused(r2, 400, 'flow_expired');
  assertNoSession(thief2, snap2, 'another browser with its own binding');
});

test('token endpoint answers 400 invalid_grant: 502 upstream_error', async () => {
  await st.sim.faults({ token_status: 400 });
  const { agent, cb } = await upToCallback();
  const snap = kvSnapshot(st.gw.db);
  assertRefused(await agent.request(cb.location), 502, 'upstream_error');
  assertNoSession(agent, snap, 'token 400');
});

test('userinfo answers 401: 502 upstream_error', async () => {
  await st.sim.faults({ userinfo_status: 401 });
  const { agent, cb } = await upToCallback();
  const snap = kvSnapshot(st.gw.db);
  assertRefused(await agent.request(cb.location), 502, 'upstream_error');
  assertNoSession(agent, snap, 'userinfo 401');
});

test('userinfo without a level (IAL absent): not taken for level 1, level_too_low', async () => {
  await st.sim.faults({ userinfo_override: { IAL: null } });
  const { agent, cb } = await upToCallback('portal-a', L2);
  const snap = kvSnapshot(st.gw.db);
  assertRefused(await agent.request(cb.location), 403, 'level_too_low');
  assertNoSession(agent, snap, 'no IAL');
});

test('a callback with a valid state but neither code nor error: 400 invalid_request, then the state is spent', async () => {
  const { agent, cb } = await upToCallback();
  const u = new URL(cb.location);
  u.searchParams.delete('code');
  const snap = kvSnapshot(st.gw.db);
  const tokenCalls = (await st.sim.stats()).token;
  const r = await agent.request(u.toString());
  assertRefused(r, 400, 'invalid_request');
  assert.ok(href(r.body, 'retry'), 'a retry link');
  assertRefused(await agent.request(cb.location), 400, 'flow_expired');
  assert.equal((await st.sim.stats()).token, tokenCalls);
  assertNoSession(agent, snap, 'no code');
});

test("VNeID's JWKS unreachable: 503 upstream_unavailable", async () => {
  const st2 = await startStack('upstream-errors-jwks', { upstreamOverrides: { jwks_uri: `http://127.0.0.1:${await freePort()}/jwks` } });
  try {
    const c = st2.clients['portal-a'];
    const config = await discover(st2.gw.url, c);
    const req = await authRequest(config, c);
    const agent = new Agent();
    const cb = await toUpstreamCallback(agent, req.url, L2);
    const snap = kvSnapshot(st2.gw.db);
    const r = await agent.request(cb.location);
    assert.equal(r.status, 503);
    assert.equal(errorCode(r.body), 'upstream_unavailable');
    assert.equal(r.location, null);
    assert.deepEqual(newKeys(st2.gw.db, snap), { sess: [], code: [], cux: [], atr: [] });
  } finally {
    await st2.stop();
  }
});

// last: the simulator is gone afterwards
test('VNeID down (process killed): 503 upstream_unavailable', async () => {
  const { agent, cb } = await upToCallback();
  st.sim.proc.kill('SIGKILL');
  await st.sim.proc.exited;
  const snap = kvSnapshot(st.gw.db);
  const r = await agent.request(cb.location);
  assertRefused(r, 503, 'upstream_unavailable');
  assert.match(r.headers.get('retry-after') || '', /^\d+$/);
  assertNoSession(agent, snap, 'VNeID down');
  const h = await fetch(`${st.gw.url}/healthz`);
  assert.equal(h.status, 200);
});

// A callback cannot be reloaded (its state is single use), so its error page keeps the
// error for the language switch: the switch shows the same error in the other language,
// whether the page was made on the I/O thread (error records in memory) or on a worker
// (every record in the database: `memory = none`).
async function switchShowsSameError(stack) {
  const c = stack.clients['portal-a'];
  for (const fault of [{ token_status: 503 }, null]) { // VNeID down at the token call; VNeID refusing
    const agent = new Agent();
    const cb = await toUpstreamCallback(agent, (await authRequest(await discover(stack.gw.url, c), c)).url, L2);
    let url = cb.location;
    if (fault) await stack.sim.faults(fault);
    else url = url.replace(/code=[^&]*/, 'error=access_denied');
    try {
      const r = await agent.request(url);
      const want = fault ? 'upstream_unavailable' : 'upstream_denied';
      assert.equal(errorCode(r.body), want);
      const m = r.body.match(/href="([^"]*)" hreflang="en"/);
      const sw = m && m[1].replace(/&amp;/g, '&').replace(/&#x3D;|&#61;/g, '=');
      assert.ok(sw && sw.startsWith('/error?'), `the switch keeps the error: ${sw}`);
      const en = await agent.request(new URL(sw, stack.gw.url).toString());
      assert.equal(errorCode(en.body), want, 'the same error in English');
      assert.match(en.body, /<html lang="en"/);
    } finally {
      if (fault) await stack.sim.faults({});
    }
  }
}

test('the error page of a callback switches language without reloading the callback', async () => {
  // own stacks: an earlier test here stops the simulator for good
  for (const [name, store] of [['upstream-errors-mem', undefined],
    ['upstream-errors-nomem', 'driver = sqlite\npath = DIR/eidgw.db\nmemory = none']]) {
    const stack = await startStack(name, { store });
    try {
      await switchShowsSameError(stack);
    } finally {
      await stack.stop();
    }
  }
});
