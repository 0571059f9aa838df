// One account per citizen per portal under concurrency and crashes, on both stores:
// 1,000 concurrent link attempts give exactly one link; a SIGKILL during a link storm
// loses no acknowledged link and leaves no half link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startVneidSim, startGateway, freePort, defaultClients, secret, sha256hex, EIDGW_BIN, ADMIN_TOKEN } from './lib/harness.js';
import { startRedis, stopRedis, haveRedis } from './lib/redis.js';

const TOKEN = ADMIN_TOKEN;
const extra = `\n[admin]\ntoken_sha256 = ${sha256hex(TOKEN)}\n`;
const id12 = (i) => '001085' + String(i).padStart(6, '0');
let dir, sim, redis, clients;
const procs = [];

async function node(name, store, gwPort) {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  if (!fs.existsSync(path.join(d, 'keys'))) fs.symlinkSync(path.join(dir, 'keys'), path.join(d, 'keys'));
  // a thousand requests at once from one address: above the default per-address cap, which
  // is not what this test is about
  const gw = await startGateway({ dir: d, gwPort: gwPort || await freePort(), clients, upstream: sim.upstream, store, extra,
                                  server: 'max_connections_per_ip = 4096\n' });
  procs.push(gw.proc);
  return gw;
}

function api(gw, method, p, body) {
  return fetch(gw.url + p, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
                             body: body && JSON.stringify(body) });
}

async function race(nodes, bodies) {
  const res = await Promise.all(bodies.map((b, i) => api(nodes[i % nodes.length], 'POST', '/admin/links', b)
    .then(async (r) => { await r.arrayBuffer(); return r.status; })));
  const count = (s) => res.filter((x) => x === s).length;
  return { created: count(201), conflict: count(409), other: res.filter((x) => x !== 201 && x !== 409) };
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-links-'));
  execFileSync(EIDGW_BIN, ['keys', 'generate', path.join(dir, 'keys')]);
  clients = defaultClients({ a: 1, b: 2 });
  sim = await startVneidSim(dir, ['http://127.0.0.1:1/callback']);
  procs.push(sim.proc);
  if (haveRedis()) redis = await startRedis(dir);
});
after(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  if (redis) await stopRedis(redis);
});

const stores = () => [
  ['sqlite, one node, many worker threads', (n) => `driver = sqlite\npath = ${dir}/${n}.db`, 1],
  ...(haveRedis() ? [['redis, two nodes', () => `driver = redis\nurl = ${redis.url}`, 2]] : []),
];

test('admin API: auth, validation and conflicts', async () => {
  const gw = await node('basic', `driver = sqlite\npath = ${dir}/basic.db`);
  let r = await fetch(gw.url + '/admin/links', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 401);
  r = await api(gw, 'POST', '/admin/links', { portal: 'portal-a', id12: '12345', account: 'x' });
  assert.equal(r.status, 400);
  r = await api(gw, 'POST', '/admin/links', { portal: 'nope', id12: id12(1), account: 'x' });
  assert.equal(r.status, 400);
  r = await api(gw, 'POST', '/admin/links', { portal: 'portal-a', id12: id12(1), account: 'acct-1' });
  assert.equal(r.status, 201);
  r = await api(gw, 'POST', '/admin/links', { portal: 'portal-a', id12: id12(1), account: 'acct-2' });
  assert.equal(r.status, 409);
  assert.equal((await r.json()).which, 'id12');
  r = await api(gw, 'POST', '/admin/links', { portal: 'portal-a', id12: id12(2), account: 'acct-1' });
  assert.equal(r.status, 409);
  assert.equal((await r.json()).which, 'account');
  // the same pair in another portal is another link
  r = await api(gw, 'POST', '/admin/links', { portal: 'portal-b', id12: id12(1), account: 'acct-2' });
  assert.equal(r.status, 201);
  // re-key (a cancelled and re-issued number) keeps the account
  r = await api(gw, 'POST', '/admin/links/rekey', { portal: 'portal-a', old_id12: id12(1), new_id12: id12(3), reason: 'GXN-123' });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).account, 'acct-1');
  r = await api(gw, 'GET', `/admin/links?portal=portal-a&account=acct-1`);
  assert.equal((await r.json()).id12, id12(3));
  r = await api(gw, 'GET', `/admin/links?portal=portal-a&id12=${id12(1)}`);
  assert.equal(r.status, 404);
  r = await api(gw, 'POST', '/admin/links/unlink', { portal: 'portal-a', id12: id12(3), reason: 'test' });
  assert.equal(r.status, 200);
  r = await api(gw, 'GET', `/admin/links?portal=portal-a&account=acct-1`);
  assert.equal(r.status, 404);
  gw.proc.kill('SIGTERM');
});

for (const [name, store, n] of stores()) {
  test(`1,000 concurrent attempts give exactly one link (${name})`, { timeout: 120000 }, async () => {
    const tag = name.startsWith('sqlite') ? 'sq' : 'rd';
    const nodes = [];
    for (let i = 0; i < n; i++) nodes.push(await node(`${tag}-race-${i}`, store(`${tag}-race`)));
    // one ID number, 1,000 different accounts
    let r = await race(nodes, Array.from({ length: 1000 }, (_, i) => ({ portal: 'portal-a', id12: id12(500), account: `a-${i}` })));
    assert.deepEqual(r, { created: 1, conflict: 999, other: [] });
    // one account, 1,000 different ID numbers
    r = await race(nodes, Array.from({ length: 1000 }, (_, i) => ({ portal: 'portal-b', id12: id12(1000 + i), account: 'the-one' })));
    assert.deepEqual(r, { created: 1, conflict: 999, other: [] });
    for (const g of nodes) g.proc.kill('SIGTERM');
  });

  test(`SIGKILL during a link storm loses no acknowledged link and leaves no half link (${name})`, { timeout: 120000 }, async () => {
    const tag = name.startsWith('sqlite') ? 'sq' : 'rd';
    const port = await freePort();
    let gw = await node(`${tag}-kill`, store(`${tag}-kill`), port);
    const acked = new Set();
    const attempted = [];
    let i = 0, stop = false;
    const worker = async () => {
      while (!stop) {
        const k = i++;
        attempted.push(k);
        try {
          const res = await api(gw, 'POST', '/admin/links', { portal: 'portal-a', id12: id12(100000 + k), account: `k-${k}` });
          await res.arrayBuffer();
          if (res.status === 201) acked.add(k);
        } catch { /* the connection died with the process */ }
      }
    };
    const workers = Array.from({ length: 32 }, worker);
    // killed in mid-storm: once it has acknowledged some links (a slow machine or a
    // sanitizer build takes longer to get there), at 400 ms at the earliest
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    while (acked.size <= 20 && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 50));
    gw.proc.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await gw.proc.exited;
    assert.ok(acked.size > 10, `the storm made progress (${acked.size} links acknowledged)`);
    gw = await node(`${tag}-kill`, store(`${tag}-kill`), port);
    for (const k of attempted) {
      const byId = await api(gw, 'GET', `/admin/links?portal=portal-a&id12=${id12(100000 + k)}`);
      const byAcct = await api(gw, 'GET', `/admin/links?portal=portal-a&account=k-${k}`);
      await byId.arrayBuffer(); await byAcct.arrayBuffer();
      if (acked.has(k)) assert.equal(byId.status, 200, `acknowledged link ${k} exists`);
      assert.equal(byId.status, byAcct.status, `link ${k}: both sides or neither`);
    }
    gw.proc.kill('SIGTERM');
  });
}
