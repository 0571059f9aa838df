// Redis failover through Sentinel (a primary, a replica and one sentinel on loopback):
// eidgw follows the new primary without a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startVneidSim, startGateway, freePort, defaultClients, run } from './lib/harness.js';
import { startRedis, stopRedis, haveRedis, REDIS_BIN } from './lib/redis.js';
import { discover, authRequest, loginAt, Agent } from './lib/rp.js';

let dir, primary, replica, sentinel, sentinelPort, sim, gw, clients, port;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (!haveRedis()) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-sentinel-'));
  primary = await startRedis(dir);
  replica = await startRedis(dir, { extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)] });
  sentinelPort = await freePort();
  const conf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(conf, `bind 127.0.0.1\nport ${sentinelPort}\ndir ${dir}\n` +
    `sentinel monitor eidgw 127.0.0.1 ${primary.port} 1\n` +
    'sentinel down-after-milliseconds eidgw 1000\nsentinel failover-timeout eidgw 5000\n');
  sentinel = run('sentinel', REDIS_BIN, [conf, '--sentinel'], { dir });
  // wait until the replica is in sync and the sentinel knows the primary
  for (let i = 0; i < 100; i++) {
    if (replica.cli('INFO', 'replication').includes('master_link_status:up')) break;
    await sleep(100);
  }
  const gp = await freePort();
  port = { a: await freePort(), b: await freePort() };
  clients = defaultClients(port);
  sim = await startVneidSim(dir, [`http://127.0.0.1:${gp}/callback`]);
  gw = await startGateway({ dir, gwPort: gp, clients, upstream: sim.upstream,
                            store: `driver = redis\nsentinel = 127.0.0.1:${sentinelPort}\nmaster = eidgw` });
});
after(async () => {
  gw?.proc.kill('SIGTERM'); sim?.proc.kill('SIGTERM'); sentinel?.kill('SIGTERM');
  for (const r of [primary, replica]) if (r) await stopRedis(r);
});

test('eidgw follows a Sentinel failover without restart', { skip: !haveRedis() && 'no redis-server', timeout: 60000 }, async () => {
  const c = clients.find((x) => x.id === 'portal-a');
  const config = await discover(gw.url, c);
  const agent = new Agent();
  const r0 = await authRequest(config, c);
  const h0 = await loginAt(agent, r0.url, '001085012345', 'http://127.0.0.1:' + port.a);
  assert.equal(h0.status, 302);
  assert.ok(h0.location.startsWith(c.redirect[0] + '?code='));
  // let the session reach the replica, then take the primary away
  await sleep(300);
  await stopRedis(primary);
  let promoted = false;
  for (let i = 0; i < 200 && !promoted; i++) {
    promoted = replica.cli('ROLE').startsWith('master');
    if (!promoted) await sleep(100);
  }
  assert.ok(promoted, 'sentinel promoted the replica');
  // eidgw keeps working against the new primary, with the old session
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    const r = await authRequest(config, c);
    const h = await agent.request(r.url);
    ok = h.status === 302 && h.location.startsWith(c.redirect[0] + '?code=');
    if (!ok) await sleep(100);
  }
  assert.ok(ok, 'SSO works after the failover, the session was replicated');
  assert.equal(gw.proc.exitCode, null);
  const r2 = await authRequest(config, new Agent() && c);
  const fresh = await new Agent().follow(r2.url);
  assert.equal(fresh.status, 200, 'a new login starts (writes go to the new primary)');
});
