// The lock list when the database is busy: while another process holds SQLite's write
// lock past the busy timeout (5 s), a VNeID login cannot read the lock list, and it must
// be refused with a 503 page rather than let through, even when the database frees up
// a moment later (before, the lock read failed quietly and the session write then went
// through once the other writer was done).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, kvSnapshot, newKeys, holdWriteLock, ADMIN_TOKEN } from './lib/harness.js';
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
    assert.deepEqual(newKeys(st.gw.db, snap), { sess: [], code: [], at: [] }, 'no session, code or token');
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
