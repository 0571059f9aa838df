// Redis goes away under load: eidgw answers 503 with Retry-After (a page for browsers,
// JSON for APIs), never crashes or hangs, and serves again within a second of Redis
// coming back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startVneidSim, startGateway, freePort, defaultClients } from './lib/harness.js';
import { startRedis, stopRedis, restartRedis, haveRedis } from './lib/redis.js';
import { discover, authRequest, loginAt, Agent, client } from './lib/rp.js';

let dir, redis, sim, gw, clients, port;
before(async () => {
  if (!haveRedis()) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-rfault-'));
  redis = await startRedis(dir);
  const gp = await freePort();
  port = { a: await freePort(), b: await freePort() };
  clients = defaultClients(port);
  sim = await startVneidSim(dir, [`http://127.0.0.1:${gp}/callback`]);
  gw = await startGateway({ dir, gwPort: gp, clients, upstream: sim.upstream, store: `driver = redis\nurl = ${redis.url}` });
});
after(async () => {
  gw?.proc.kill('SIGTERM'); sim?.proc.kill('SIGTERM');
  if (redis) await stopRedis(redis);
});

const skip = !haveRedis() && 'redis-server is not installed';

test('redis stopped during a login storm: 503 pages and JSON, no crash, back within a second', { skip }, async () => {
  const c = clients.find((x) => x.id === 'portal-a');
  const config = await discover(gw.url, c);
  // a session from before the outage
  const agent = new Agent();
  const r0 = await authRequest(config, c);
  const h0 = await loginAt(agent, r0.url, '001085012345', 'http://127.0.0.1:' + port.a);
  assert.equal(h0.status, 302);
  // and an access token from before it
  const tk = await fetch(`${gw.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded',
               authorization: 'Basic ' + Buffer.from(`${c.id}:${c.secret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: new URL(h0.location).searchParams.get('code'),
                                redirect_uri: c.redirect[0], code_verifier: r0.verifier }) });
  assert.equal(tk.status, 200, await tk.clone().text());
  const { access_token: at } = await tk.json();

  let stop = false, total = 0;
  const statuses = new Map();
  const storm = (async () => {
    while (!stop) {
      const r = await authRequest(config, c);
      const res = await fetch(r.url, { redirect: 'manual' }).catch(() => null);
      const st = res ? res.status : 0;
      if (res) await res.arrayBuffer();
      statuses.set(st, (statuses.get(st) || 0) + 1);
      total++;
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  await stopRedis(redis);

  // browsers get an HTML page with Retry-After
  const page = await fetch((await authRequest(config, c)).url, { redirect: 'manual' });
  assert.equal(page.status, 503);
  assert.equal(page.headers.get('retry-after'), '1');
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.match(await page.text(), /id="error-code">server_busy</);
  // APIs get JSON with Retry-After
  const tok = await fetch(`${gw.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded',
               authorization: 'Basic ' + Buffer.from(`${c.id}:${c.secret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: c.redirect[0] }) });
  assert.equal(tok.status, 503);
  assert.equal(tok.headers.get('retry-after'), '1');
  assert.equal((await tok.json()).error, 'temporarily_unavailable');
  // a genuine access token cannot be checked against its revocation: 503; one that does not
  // open is invalid whatever the store's state
  const ui = await fetch(`${gw.url}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
  assert.equal(ui.status, 503);
  assert.equal(ui.headers.get('retry-after'), '1');
  assert.equal((await fetch(`${gw.url}/userinfo`, { headers: { authorization: 'Bearer abc' } })).status, 401);
  // discovery and health still answer from memory
  assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
  // the session check of the proxied path needs no store: it still answers
  const chk = await agent.request(`${gw.url}/auth/check`);
  assert.equal(chk.status, 200);
  assert.equal(chk.headers.get('x-eidgw-acr'), 'urn:vn:eid:level:2');

  redis = await restartRedis(dir, redis);
  const back = Date.now();
  let ok = false;
  while (Date.now() - back < 1000) {
    const res = await fetch((await authRequest(config, c)).url, { redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status === 302) { ok = true; break; }
    await new Promise((r) => setTimeout(r, 20));
  }
  stop = true;
  await storm;
  assert.ok(ok, 'serves again within one second');
  assert.equal(gw.proc.exitCode, null, 'eidgw is still running');
  assert.ok((statuses.get(503) || 0) > 0, 'the storm saw 503s');
  assert.equal(statuses.get(500) || 0, 0, 'never a 500');
  assert.equal(statuses.get(0) || 0, 0, 'never a dropped connection');
  // the session from before the outage survived (AOF)
  const r1 = await authRequest(config, c);
  const h1 = await agent.request(r1.url);
  assert.equal(h1.status, 302);
  assert.ok(h1.location.startsWith(c.redirect[0] + '?code='), 'SSO session persisted across the Redis restart');
});

test('a logout while Redis is down says "try again" and keeps the session and its cookie; once Redis is back it logs out', { skip }, async () => {
  const c = clients.find((x) => x.id === 'portal-a');
  const config = await discover(gw.url, c);
  const agent = new Agent();
  const req = await authRequest(config, c);
  const hop = await loginAt(agent, req.url, '001085012345', 'http://127.0.0.1:' + port.a);
  assert.equal(hop.status, 302);
  const t = await client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  const end = client.buildEndSessionUrl(config, { id_token_hint: t.id_token, post_logout_redirect_uri: c.postLogout[0] });
  const cookieBefore = agent.cookie(gw.url, 'eidgw_sso');
  assert.ok(cookieBefore);
  await stopRedis(redis);
  const lo = await agent.request(end.href);
  assert.equal(lo.status, 503, 'not "logged out" while the logout cannot be recorded');
  assert.equal(lo.headers.get('retry-after'), '1');
  assert.equal(agent.cookie(gw.url, 'eidgw_sso'), cookieBefore, 'the cookie is kept');
  redis = await restartRedis(dir, redis);
  let alive = 0;
  for (let i = 0; i < 50 && alive !== 200; i++) {
    alive = (await agent.request(`${gw.url}/auth/check`)).status;
    if (alive !== 200) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(alive, 200, 'the session was not ended by the failed logout');
  const lo2 = await agent.request(end.href);
  assert.equal(lo2.status, 302, 'the logout works once Redis is back');
  assert.ok(lo2.location.startsWith(c.postLogout[0]));
  assert.equal((await agent.request(`${gw.url}/auth/check`)).status, 401, 'and the session is gone');
});
