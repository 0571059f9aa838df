// The lock list when the database is busy: while another process holds SQLite's write
// lock past the busy timeout (5 s), a VNeID login cannot read the lock list, and it must
// be refused with a 503 page rather than let through, even when the database frees up
// a moment later (before, the lock read failed quietly and the session write then went
// through once the other writer was done).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, kvSnapshot, newKeys, holdWriteLock, readLog, ADMIN_TOKEN } from './lib/harness.js';
import { discover, authRequest, Agent, errorCode, toUpstreamCallback } from './lib/rp.js';

let st;
before(async () => { st = await startStack('store-busy'); });
after(async () => { await st?.stop(); });

const LOCKED = '001085012345'; // a level-2 citizen in the simulator, put on the lock list below

async function lock(id12, on) {
  const r = await fetch(`${st.gw.url}/admin/locks${on ? '' : '/remove'}`, { method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(on ? { id12, reason: 'AUTHORITY_REQUEST' } : { id12 }) });
  assert.equal(r.status, 200, await r.text());
}

test('a lock list that cannot be read refuses the login (503), even when the database frees up just after', async () => {
  await lock(LOCKED, true);
  try {
    const c = st.clients['portal-a'];
    const config = await discover(st.gw.url, c);
    const agent = new Agent();
    const cb = await toUpstreamCallback(agent, (await authRequest(config, c)).url, LOCKED);
    assert.equal(cb.status, 302);
    const snap = kvSnapshot(st.gw.db);
    const holder = holdWriteLock(st.gw.db);
    await holder.ready;
    // freed 1.5 s after eidgw's busy timeout gives up on the lock list
    const freed = new Promise((r) => setTimeout(r, 6500)).then(() => holder.release());
    const t0 = Date.now();
    const r = await agent.request(cb.location);
    const waited = Date.now() - t0;
    await freed;
    assert.equal(r.status, 503, `status ${r.status} after ${waited} ms: ${r.location || ''}`);
    assert.equal(errorCode(r.body), 'server_busy');
    assert.equal(r.headers.get('retry-after'), '1');
    assert.ok(waited >= 4500, `refused after the busy timeout, not before (${waited} ms)`);
    assert.ok(!r.headers.getSetCookie().some((x) => /^(__Host-)?eidgw_sso=/.test(x)), 'no SSO cookie');
    assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], cux: [], atr: [] }, 'no session, code or token');
    // the database is free again: the same citizen is now refused for the lock itself
    const a2 = new Agent();
    const again = await toUpstreamCallback(a2, (await authRequest(config, c)).url, LOCKED);
    const r2 = await a2.request(again.location);
    assert.equal(r2.status, 403);
    assert.equal(errorCode(r2.body), 'locked');
  } finally {
    await lock(LOCKED, false);
  }
});

// Where a VNeID login ends: on the I/O thread when the database's write connection is
// free (the usual case: no trip through a worker), and on a worker, which may wait for
// the lock, when another process is writing; both give the code and store the session.
test('a login ends on the I/O thread when the database is free, on a worker that waits when it is not', async () => {
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const callbackLines = () => readLog(st.gw.proc).split('\n').filter((l) => l.includes('"path":"/callback"'));
  async function login(hold) {
    const agent = new Agent();
    const cb = await toUpstreamCallback(agent, (await authRequest(config, c)).url, '001085012345');
    assert.equal(cb.status, 302, `VNeID simulator: ${cb.status}`);
    const before = callbackLines().length;
    const snap = kvSnapshot(st.gw.db);
    const holder = hold ? holdWriteLock(st.gw.db) : null;
    if (holder) await holder.ready;
    const freed = holder && new Promise((r) => setTimeout(r, 1000)).then(() => holder.release());
    const t0 = Date.now();
    const r = await agent.request(cb.location);
    const ms = Date.now() - t0;
    await freed;
    assert.equal(r.status, 302, `${r.status} ${r.location || ''}`);
    assert.ok(new URL(r.location).searchParams.get('code'), 'a code');
    assert.equal(newKeys(st.gw.db, snap).sess.length, 1, 'the session is stored');
    for (let i = 0; i < 50 && callbackLines().length === before; i++) await new Promise((res) => setTimeout(res, 20));
    const line = JSON.parse(callbackLines().at(-1));
    assert.equal(line.calls, '2', 'token and userinfo calls');
    return { ranOn: line.ran_on, ms };
  }
  assert.equal((await login(false)).ranOn, 'io');
  const busy = await login(true);
  assert.equal(busy.ranOn, 'local');
  assert.ok(busy.ms >= 900, `it waited for the other writer (${busy.ms} ms)`);
  assert.equal((await login(false)).ranOn, 'io', 'and back on the I/O thread once free');
});
