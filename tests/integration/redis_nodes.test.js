// Many gateway nodes on one Redis: codes, sessions and revocations are shared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startVneidSim, startGateway, freePort, defaultClients, EIDGW_BIN } from './lib/harness.js';
import { startRedis, stopRedis, haveRedis } from './lib/redis.js';
import { discover, authRequest, loginAt, client, Agent } from './lib/rp.js';

let dir, redis, sim, nodeA, nodeB, clients, port;
const procs = [];

before(async () => {
  if (!haveRedis()) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-nodes-'));
  redis = await startRedis(dir);
  const pa = await freePort(), pb = await freePort();
  port = { a: await freePort(), b: await freePort() };
  clients = defaultClients(port);
  // both nodes share keys (as a cluster would) and one public URL per node
  execFileSync(EIDGW_BIN, ['keys', 'generate', path.join(dir, 'keys')]);
  sim = await startVneidSim(dir, [`http://127.0.0.1:${pa}/callback`, `http://127.0.0.1:${pb}/callback`]);
  const store = `driver = redis\nurl = ${redis.url}`;
  const dA = path.join(dir, 'a'), dB = path.join(dir, 'b');
  for (const d of [dA, dB]) { fs.mkdirSync(d); fs.symlinkSync(path.join(dir, 'keys'), path.join(d, 'keys')); }
  nodeA = await startGateway({ dir: dA, gwPort: pa, clients, upstream: sim.upstream, store });
  nodeB = await startGateway({ dir: dB, gwPort: pb, clients, upstream: sim.upstream, store });
  procs.push(sim.proc, nodeA.proc, nodeB.proc);
});

after(async () => {
  for (const p of procs) p.kill('SIGTERM');
  if (redis) await stopRedis(redis);
});

const skip = !haveRedis() && 'redis-server is not installed';

// Node B has a different issuer URL; portals talk to one issuer, so this test checks
// the shared state directly: a code minted on A is redeemed on B's token endpoint.
test('authorize on node A, token on node B', { skip }, async () => {
  const c = clients.find((x) => x.id === 'portal-a');
  const cfgA = await discover(nodeA.url, c);
  const req = await authRequest(cfgA, c);
  const agent = new Agent();
  const hop = await loginAt(agent, req.url, '001085012345', 'http://127.0.0.1:' + port.a);
  const code = new URL(hop.location).searchParams.get('code');
  assert.ok(code);
  const res = await fetch(`${nodeB.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded',
               authorization: 'Basic ' + Buffer.from(`${c.id}:${c.secret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: c.redirect[0],
                                code_verifier: req.verifier }) });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.ok(body.id_token && body.access_token);
  // userinfo on node A accepts the access token issued by node B
  const ui = await fetch(`${nodeA.url}/userinfo`, { headers: { authorization: `Bearer ${body.access_token}` } });
  assert.equal(ui.status, 200);
  assert.equal((await ui.json()).cccd, '001085012345');
  // the same code on node A now fails: taken once across nodes
  const again = await fetch(`${nodeA.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded',
               authorization: 'Basic ' + Buffer.from(`${c.id}:${c.secret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: c.redirect[0],
                                code_verifier: req.verifier }) });
  assert.equal(again.status, 400);
  assert.equal((await again.json()).error, 'invalid_grant');
  // and the replay, seen on another node, revoked the token issued from that code
  const ui2 = await fetch(`${nodeA.url}/userinfo`, { headers: { authorization: `Bearer ${body.access_token}` } });
  assert.equal(ui2.status, 401);
});

test('SSO session made on A is honoured on B, and logout on A revokes it on B within a second', { skip }, async () => {
  const a = clients.find((x) => x.id === 'portal-a'), b = clients.find((x) => x.id === 'portal-b');
  const agent = new Agent();
  const cfgA = await discover(nodeA.url, a);
  const ra = await authRequest(cfgA, a);
  const ha = await loginAt(agent, ra.url, '001085012345', 'http://127.0.0.1:' + port.a);
  const ta = await client.authorizationCodeGrant(cfgA, new URL(ha.location), {
    pkceCodeVerifier: ra.verifier, expectedState: ra.state, expectedNonce: ra.nonce });
  // carry A's SSO cookie to B (behind one load balancer they share a host name)
  const sso = agent.cookie(nodeA.url, 'eidgw_sso');
  assert.ok(sso);
  agent.setCookie(nodeB.url, 'eidgw_sso', sso);
  const cfgB = await discover(nodeB.url, b);
  const rb = await authRequest(cfgB, b);
  const hb = await agent.request(rb.url);
  assert.equal(hb.status, 302);
  assert.ok(hb.location.startsWith(b.redirect[0] + '?code='), 'B issues a code from A\'s session');
  // logout on A
  const lo = await agent.request(client.buildEndSessionUrl(cfgA, {
    id_token_hint: ta.id_token, post_logout_redirect_uri: a.postLogout[0], state: 'x' }).toString());
  assert.equal(lo.status, 302);
  const t0 = Date.now();
  let refused = false;
  while (Date.now() - t0 < 1000) {
    const rb2 = await authRequest(cfgB, b);
    const h = await agent.request(rb2.url);
    if (h.status === 302 && h.location.includes('/login?')) { refused = true; break; }
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(refused, 'node B stopped honouring the session within one second');
});

test('eidgw refuses a Redis without persistence unless allowed', { skip }, async () => {
  const volatile = await startRedis(dir, { appendonly: false });
  try {
    const d = fs.mkdtempSync(path.join(dir, 'v-'));
    fs.symlinkSync(path.join(dir, 'keys'), path.join(d, 'keys'));
    const conf = path.join(d, 'bad.conf');
    const { configText, writeSecretFile } = await import('./lib/harness.js');
    writeSecretFile(conf, configText({ gwPort: await freePort(), dir: d, upstream: sim.upstream, clients,
                                       store: `driver = redis\nurl = ${volatile.url}` }));
    let err;
    try { execFileSync(EIDGW_BIN, ['check-config', '-c', conf], { stdio: 'pipe' }); } catch (e) { err = e; }
    assert.ok(err, 'check-config must fail');
    assert.equal(err.status, 1);
    assert.match(String(err.stderr), /append-only file/);
    writeSecretFile(conf, configText({ gwPort: await freePort(), dir: d, upstream: sim.upstream, clients,
                                       store: `driver = redis\nurl = ${volatile.url}\nallow_volatile = yes` }));
    execFileSync(EIDGW_BIN, ['check-config', '-c', conf], { stdio: 'pipe' });
  } finally { await stopRedis(volatile); }
});
