// A slow VNeID must not slow down what does not need it. Handlers that wait on another
// server (the VNeID callback, the population DB, a portal's password check) run on the
// upstream pool; an SSO login to another portal, the token endpoint and the admin API
// run on the local pool and answer at once. And logins waiting on VNeID wait side by
// side, not in turns behind a few workers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, ADMIN_TOKEN } from './lib/harness.js';
import { discover, authRequest, Agent, toUpstreamCallback, errorCode } from './lib/rp.js';

const LOGINS = 6;
const DELAY = 2000;
let st;
// fewer local workers than waiting logins: before the pools, those two would all be stuck
before(async () => { st = await startStack('upstream-slow', { server: 'workers = 2\nupstream_workers = 8' }); });
after(async () => { await st?.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const code = (r) => r.status === 302 && new URL(r.location).searchParams.get('code');

test(`while ${LOGINS} logins wait on a slow VNeID, SSO answers at once and the logins finish together`, async () => {
  const a = st.clients['portal-a'], b = st.clients['portal-b'];
  const configA = await discover(st.gw.url, a), configB = await discover(st.gw.url, b);
  // a citizen logged in before VNeID slows down (level 2, as portal-b asks)
  const sso = new Agent();
  const first = await toUpstreamCallback(sso, (await authRequest(configA, a)).url, '001085012345');
  assert.ok(code(await sso.request(first.location)), 'first login');
  const pending = [];
  for (let i = 0; i < LOGINS; i++) {
    const agent = new Agent();
    pending.push({ agent, cb: await toUpstreamCallback(agent, (await authRequest(configA, a)).url, '001085012345') });
  }
  await st.sim.faults({ token_delay_ms: DELAY });
  try {
    const t0 = Date.now();
    const logins = pending.map(({ agent, cb }) => agent.request(cb.location).then((r) => ({ r, ms: Date.now() - t0 })));
    await sleep(300); // every login is now waiting on VNeID's token endpoint
    const t1 = Date.now();
    const r = await sso.request((await authRequest(configB, b)).url);
    const ssoMs = Date.now() - t1;
    assert.ok(code(r), `SSO to portal-b: ${r.status} ${r.location || ''}`);
    assert.ok(ssoMs < 1000, `SSO waited ${ssoMs} ms behind the logins`);
    // what an operator sees meanwhile: the upstream pool busy, the local pool free
    const status = await fetch(`${st.gw.url}/admin/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(status.status, 200);
    const { pools } = await status.json();
    assert.equal(pools.upstream.threads, 8);
    assert.equal(pools.upstream.busy, LOGINS, JSON.stringify(pools));
    assert.equal(pools.upstream.queued, 0);
    assert.equal(pools.local.threads, 2);
    assert.equal(pools.local.busy, 0, JSON.stringify(pools));
    assert.equal((await fetch(`${st.gw.url}/admin/status`)).status, 401, 'the admin token is required');
    const results = await Promise.all(logins);
    for (const { r: lr } of results) assert.ok(code(lr), `login: ${lr.status} ${lr.location || ''}`);
    const slowest = Math.max(...results.map((x) => x.ms));
    assert.ok(slowest < DELAY + 1500, `the logins waited in turns (${slowest} ms for the last)`);
  } finally {
    await st.sim.faults({});
  }
});

// A stop (SIGTERM) while logins wait on a slow VNeID: the one under way finishes and gets
// its code; the ones not yet started are answered 503 at once instead of making their
// upstream calls one after another, so the stop takes one wait, not three.
test('on SIGTERM the login under way finishes and the queued ones get a 503 at once', async () => {
  const s2 = await startStack('upstream-stop', { server: 'workers = 1\nupstream_workers = 1' });
  try {
    const a = s2.clients['portal-a'];
    const config = await discover(s2.gw.url, a);
    const pending = [];
    for (let i = 0; i < 3; i++) {
      const agent = new Agent();
      pending.push({ agent, cb: await toUpstreamCallback(agent, (await authRequest(config, a)).url, '001085012345') });
    }
    await s2.sim.faults({ token_delay_ms: 1500 });
    const t0 = Date.now();
    const logins = pending.map(({ agent, cb }) => agent.request(cb.location).then((r) => ({ r, ms: Date.now() - t0 })));
    await sleep(300); // one login waits on VNeID, two are queued behind it
    s2.gw.proc.kill('SIGTERM');
    const out = await Promise.all(logins);
    const exited = await s2.gw.proc.exited;
    const stopMs = Date.now() - t0;
    assert.deepEqual(out.map((x) => x.r.status).sort(), [302, 503, 503]);
    assert.ok(code(out.find((x) => x.r.status === 302).r), 'the login under way got its code');
    for (const { r } of out.filter((x) => x.r.status === 503)) {
      assert.equal(errorCode(r.body), 'server_busy');
      assert.equal(r.headers.get('retry-after'), '1');
    }
    assert.equal(exited.code, 0);
    assert.ok(stopMs < 3000, `stopped after ${stopMs} ms (the three logins one after another take 4.5 s)`);
  } finally {
    await s2.sim.faults({}).catch(() => {});
    await s2.stop();
  }
});
