// Readiness: /readyz answers 200 when the store answers, the keys are loaded and the
// upstream's keys are usable, and 503 with Retry-After naming each failed check when not;
// /healthz (liveness) answers 200 either way. The systemd unit passes systemd-analyze.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startStack, startVneidSim, startGateway, freePort, defaultClients, ROOT, EIDGW_BIN } from './lib/harness.js';
import { startRedis, stopRedis, restartRedis, haveRedis } from './lib/redis.js';
import { discover, authRequest, Agent, toUpstreamCallback } from './lib/rp.js';

const stops = [];
after(async () => { for (const s of stops) await s(); });

async function ready(url) {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.json() };
}

test('a healthy gateway on SQLite is ready', async () => {
  const st = await startStack('readyz-sqlite');
  stops.push(() => st.stop());
  const r = await ready(st.gw.url);
  assert.equal(r.status, 200);
  assert.equal(r.body.ready, true);
  assert.equal(r.body.checks.store, 'ok');
  assert.equal(r.body.checks.keys, 'ok');
  assert.equal(r.body.checks.upstream_keys, 'ok');
  assert.equal(r.body.failed, undefined);
  assert.equal(r.retryAfter, null);
  const head = await fetch(`${st.gw.url}/readyz`, { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('redis stopped: 503 naming the store, healthz still 200; ready again after a restart',
     { skip: !haveRedis() && 'redis-server is not installed' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-readyz-redis-'));
  let redis = await startRedis(dir);
  const gp = await freePort();
  const clients = defaultClients({ a: await freePort(), b: await freePort() });
  const sim = await startVneidSim(dir, [`http://127.0.0.1:${gp}/callback`]);
  const gw = await startGateway({ dir, gwPort: gp, clients, upstream: sim.upstream,
                                  store: `driver = redis\nurl = ${redis.url}` });
  stops.push(async () => { gw.proc.kill('SIGTERM'); sim.proc.kill('SIGTERM'); if (redis) await stopRedis(redis); });

  const r0 = await ready(gw.url);
  assert.equal(r0.status, 200);
  assert.equal(r0.body.checks.store, 'ok');

  await stopRedis(redis);
  const r1 = await ready(gw.url);
  assert.equal(r1.status, 503);
  assert.equal(r1.body.ready, false);
  assert.ok(r1.retryAfter && Number(r1.retryAfter) > 0, 'Retry-After on a 503');
  assert.deepEqual(Object.keys(r1.body.failed), ['store']);
  assert.equal(r1.body.checks.keys, 'ok');
  assert.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'liveness does not depend on the store');

  redis = await restartRedis(dir, redis);
  let r2;
  const until = Date.now() + 5000;
  do {
    r2 = await ready(gw.url);
    if (r2.status === 200) break;
    await new Promise((res) => setTimeout(res, 50));
  } while (Date.now() < until);
  assert.equal(r2.status, 200, 'ready again once redis is back');
  assert.equal(r2.body.checks.store, 'ok');
  assert.equal(gw.proc.exitCode, null, 'eidgw is still running');
});

test("the upstream's JWKS unreachable: ready until a login needs it, 503 naming upstream_keys, ready once it is back",
     async () => {
  const jwksPort = await freePort();
  const st = await startStack('readyz-jwks', { upstreamOverrides: { jwks_uri: `http://127.0.0.1:${jwksPort}/jwks` } });
  stops.push(() => st.stop());
  const r0 = await ready(st.gw.url);
  assert.equal(r0.status, 200, 'the keys are fetched at the first login, not at start');
  assert.equal(r0.body.checks.upstream_keys, 'ok');

  const c = st.clients['portal-a'];
  const req = await authRequest(await discover(st.gw.url, c), c);
  const agent = new Agent();
  const cb = await toUpstreamCallback(agent, req.url);
  assert.equal((await agent.request(cb.location)).status, 503);

  const r1 = await ready(st.gw.url);
  assert.equal(r1.status, 503);
  assert.deepEqual(Object.keys(r1.body.failed), ['upstream_keys']);
  assert.equal(r1.body.checks.store, 'ok');
  assert.ok(Number(r1.retryAfter) > 0);

  // the JWKS comes back (the simulator's keys on that port): /readyz fetches them itself,
  // with no login to do it, once the 10 s between attempts are over
  const keys = await (await fetch(`${st.sim.url}/jwks`)).text();
  const srv = http.createServer((q, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(keys); });
  await new Promise((res) => srv.listen(jwksPort, '127.0.0.1', res));
  stops.push(() => new Promise((res) => srv.close(res)));
  let r2;
  const until = Date.now() + 20000;
  do {
    await new Promise((res) => setTimeout(res, 500));
    r2 = await ready(st.gw.url);
  } while (r2.status !== 200 && Date.now() < until);
  assert.equal(r2.status, 200, 'ready again without a login');
  assert.equal(r2.body.checks.upstream_keys, 'ok');
});

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => fs.existsSync(p));

test('dist/eidgw.service passes systemd-analyze verify', { skip: !analyze && 'systemd-analyze is not installed' },
     () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-unit-'));
  // the unit names /usr/bin/eidgw; verify checks that ExecStart's binary exists
  const unit = fs.readFileSync(path.join(ROOT, 'dist/eidgw.service'), 'utf8')
    .replaceAll('/usr/bin/eidgw', path.resolve(EIDGW_BIN));
  assert.ok(unit.includes(path.resolve(EIDGW_BIN)), 'the unit starts /usr/bin/eidgw');
  const file = path.join(dir, 'eidgw.service');
  fs.writeFileSync(file, unit);
  const r = spawnSync(analyze, ['verify', '--man=no', file], { encoding: 'utf8' });
  const out = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '');
  assert.deepEqual(out, [], `systemd-analyze verify reported:\n${out.join('\n')}`);
  assert.equal(r.status, 0);
});

test('dist/eidgw.sysusers and the unit agree on the user', () => {
  const unit = fs.readFileSync(path.join(ROOT, 'dist/eidgw.service'), 'utf8');
  const sysusers = fs.readFileSync(path.join(ROOT, 'dist/eidgw.sysusers'), 'utf8');
  const user = /^User=(\S+)$/m.exec(unit)?.[1];
  assert.equal(user, 'eidgw');
  assert.match(sysusers, new RegExp(`^u ${user} `, 'm'));
  assert.doesNotMatch(unit, /^ExecReload=/m, 'the daemon does not reload on SIGHUP');
});
