// A slow VNeID must not slow down what does not need it. The VNeID calls of a login are
// made on the I/O threads' event loops, so a login waiting on VNeID holds no thread at
// all; handlers that block on another server (the population DB, a portal's password
// check) run on the upstream pool. An SSO login to another portal, the token endpoint and
// the admin API answer at once, and logins waiting on VNeID wait side by side, however
// many there are, not in turns behind a few threads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, ADMIN_TOKEN } from './lib/harness.js';
import { discover, authRequest, Agent, toUpstreamCallback, errorCode } from './lib/rp.js';

const LOGINS = 40;
const DELAY = 2000;
let st;
// far fewer threads than waiting logins: with a thread per waiting login they would go
// through in turns (20 rounds of 2 s)
before(async () => { st = await startStack('upstream-slow', { server: 'workers = 2\nupstream_workers = 1' }); });
after(async () => { await st?.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// GET /admin/status: the pools
async function pools(stack) {
  const r = await fetch(`${stack.gw.url}/admin/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(r.status, 200);
  return (await r.json()).pools;
}

// n citizens' logins at portal-a, each up to VNeID's redirect back to eidgw (not followed)
async function upToCallbacks(stack, n) {
  const a = stack.clients['portal-a'];
  const config = await discover(stack.gw.url, a);
  const pending = [];
  for (let i = 0; i < n; i++) {
    const agent = new Agent();
    pending.push({ agent, cb: await toUpstreamCallback(agent, (await authRequest(config, a)).url, '001085012345') });
  }
  return { config, a, pending };
}

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
  // and one citizen who closes the browser while VNeID is slow
  const leaver = new Agent();
  const leaverCb = await toUpstreamCallback(leaver, (await authRequest(configA, a)).url, '001085012345');
  await st.sim.faults({ token_delay_ms: DELAY });
  try {
    const t0 = Date.now();
    const logins = pending.map(({ agent, cb }) => agent.request(cb.location).then((r) => ({ r, ms: Date.now() - t0 })));
    const u = new URL(leaverCb.location);
    const gone = net.connect(Number(u.port), '127.0.0.1', () => {
      gone.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nCookie: ${leaver.cookieHeader(u.href)}\r\n\r\n`);
      setTimeout(() => gone.destroy(), 200);
    });
    gone.on('error', () => {});
    await sleep(300); // every login is now waiting on VNeID's token endpoint
    const t1 = Date.now();
    const r = await sso.request((await authRequest(configB, b)).url);
    const ssoMs = Date.now() - t1;
    assert.ok(code(r), `SSO to portal-b: ${r.status} ${r.location || ''}`);
    assert.ok(ssoMs < 1000, `SSO waited ${ssoMs} ms behind the logins`);
    // what an operator sees meanwhile: the logins waiting on VNeID, no thread busy (a
    // worker counts as busy until it has handed its answer back, which may be a moment
    // after the browser has it: look again for up to half a second)
    let now = await pools(st);
    for (let i = 0; i < 10 && now.local.busy + now.upstream.busy > 0; i++) {
      await sleep(50);
      now = await pools(st);
    }
    assert.equal(now.io.waiting, LOGINS + 1, JSON.stringify(now));
    assert.equal(now.upstream.threads, 1);
    assert.equal(now.upstream.busy, 0, JSON.stringify(now));
    assert.equal(now.local.threads, 2);
    assert.equal(now.local.busy, 0, JSON.stringify(now));
    assert.equal(now.local.queued + now.upstream.queued, 0);
    assert.equal((await fetch(`${st.gw.url}/admin/status`)).status, 401, 'the admin token is required');
    const results = await Promise.all(logins);
    for (const { r: lr } of results) assert.ok(code(lr), `login: ${lr.status} ${lr.location || ''}`);
    const slowest = Math.max(...results.map((x) => x.ms));
    assert.ok(slowest < DELAY + 1500, `the logins waited in turns (${slowest} ms for the last)`);
    // the login whose browser left ended too (its answer went nowhere): nothing waits
    let after;
    for (let i = 0; i < 20; i++) {
      after = await pools(st);
      if (after.io.waiting === 0) break;
      await sleep(100);
    }
    assert.equal(after.io.waiting, 0, JSON.stringify(after));
    assert.equal((await fetch(`${st.gw.url}/healthz`)).status, 200);
  } finally {
    await st.sim.faults({});
  }
});

// A stop (SIGTERM) while logins wait on a slow VNeID: the listener closes, and the logins
// under way finish and get their codes before the process exits (they wait side by side,
// so the stop takes one wait, not three). With the audit log on, each login ends on the
// one local worker, after the stop: the worker must stay until they are all done.
test('on SIGTERM the logins under way finish, new connections are refused, then it exits', async () => {
  const s2 = await startStack('upstream-stop', { server: 'workers = 1\nupstream_workers = 1',
    extra: '\n[audit]\npath = DIR/audit.log\n' });
  try {
    const { pending } = await upToCallbacks(s2, 3);
    await s2.sim.faults({ token_delay_ms: 1500 });
    const t0 = Date.now();
    // 400 ms apart, so each one's store part comes to the worker on its own, after the stop
    const logins = [];
    for (const { agent, cb } of pending) {
      logins.push(agent.request(cb.location).then((r) => ({ r, ms: Date.now() - t0 })));
      await sleep(400);
    }
    await sleep(100); // the three logins wait on VNeID
    s2.gw.proc.kill('SIGTERM');
    await sleep(500);
    const { port } = new URL(s2.gw.url);
    const refused = await new Promise((resolve) => {
      const c = net.connect(Number(port), '127.0.0.1');
      c.on('connect', () => { c.destroy(); resolve(false); });
      c.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
    });
    assert.ok(refused, 'a new connection during the stop is refused');
    const out = await Promise.all(logins);
    const exited = await s2.gw.proc.exited;
    const stopMs = Date.now() - t0;
    for (const { r } of out) assert.ok(code(r), `the login under way got its code: ${r.status} ${r.location || ''}`);
    assert.equal(exited.code, 0);
    const audit = fs.readFileSync(path.join(s2.dir, 'audit.log'), 'utf8').split('\n').filter(Boolean);
    assert.equal(audit.filter((l) => JSON.parse(l).event === 'login').length, 3, 'three logins audited');
    assert.ok(stopMs < 4000, `stopped after ${stopMs} ms (the three logins one after another take 5.3 s)`);
  } finally {
    await s2.sim.faults({}).catch(() => {});
    await s2.stop();
  }
});

// A VNeID callback that arrives after SIGTERM on a connection still open: no new VNeID
// calls are started, and the answer is a 503 page that leaves the flow in place (the
// same link works on the next start of a shared-state deployment; here it proves the
// flow was not consumed by a login that could not finish).
test('a callback arriving after SIGTERM gets a 503 without its VNeID calls', async () => {
  const s3 = await startStack('upstream-stop-late', { server: 'workers = 1\nupstream_workers = 1' });
  try {
    const { pending: [{ agent: waiting, cb: cbWaiting }, { agent: late, cb: cbLate }] } = await upToCallbacks(s3, 2);
    await s3.sim.faults({ token_delay_ms: 1500 });
    const tokenCalls = (await s3.sim.stats()).token;
    // a raw keep-alive connection, opened before the stop
    const u = new URL(cbLate.location);
    const sock = net.connect(Number(u.port), '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    const first = waiting.request(cbWaiting.location); // keeps the server draining
    await sleep(300);
    s3.gw.proc.kill('SIGTERM');
    await sleep(400);
    const answer = await new Promise((resolve, reject) => {
      let buf = '';
      sock.on('data', (d) => { buf += d; if (buf.includes('</html>')) resolve(buf); });
      sock.on('error', reject);
      sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nCookie: ${late.cookieHeader(u.href)}\r\n\r\n`);
    });
    sock.destroy();
    assert.match(answer, /^HTTP\/1\.1 503/);
    assert.match(answer, /retry-after: 1/i);
    assert.ok(code(await first), 'the login under way got its code');
    assert.equal((await s3.sim.stats()).token, tokenCalls + 1, 'only the login under way called VNeID');
    assert.equal((await s3.gw.proc.exited).code, 0);
  } finally {
    await s3.sim.faults({}).catch(() => {});
    await s3.stop();
  }
});

// How many requests may wait on VNeID at once is bounded (max_waiting): beyond it, a 503
// at once instead of yet another socket and call to a VNeID that is not keeping up.
test('beyond max_waiting, a login waiting on VNeID gets a 503 at once', async () => {
  const s4 = await startStack('upstream-max-waiting', { server: 'max_waiting = 2' });
  try {
    const { config, a, pending } = await upToCallbacks(s4, 3);
    await s4.sim.faults({ token_delay_ms: 1500 });
    const t0 = Date.now();
    const first = pending.slice(0, 2).map(({ agent, cb }) => agent.request(cb.location));
    await sleep(300); // two wait on VNeID
    const third = await pending[2].agent.request(pending[2].cb.location);
    const thirdMs = Date.now() - t0 - 300;
    assert.equal(third.status, 503);
    assert.equal(errorCode(third.body), 'server_busy');
    assert.equal(third.headers.get('retry-after'), '1');
    assert.ok(thirdMs < 1000, `refused at once (${thirdMs} ms)`);
    const now = await pools(s4);
    assert.equal(now.io.waiting, 2);
    assert.equal(now.io.max_waiting, 2);
    for (const r of await Promise.all(first)) assert.ok(code(r), `a login under the bound: ${r.status}`);
    // and room again once they are done
    const again = new Agent();
    await s4.sim.faults({});
    const cb = await toUpstreamCallback(again, (await authRequest(config, a)).url, '001085012345');
    assert.ok(code(await again.request(cb.location)), 'a new login goes through');
  } finally {
    await s4.sim.faults({}).catch(() => {});
    await s4.stop();
  }
});
