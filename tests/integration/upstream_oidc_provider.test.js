// eidgw against another implementation of the upstream side: panva's oidc-provider
// (certified) stands in for VNeID, openid-client (certified) is the portal. A full login
// must give the portal the identity the provider released.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startGateway, defaultClients, kvCount, readLog } from './lib/harness.js';
import { discover, authRequest, client, Agent, href, errorCode } from './lib/rp.js';
import { startOidcProviderUpstream, passDevInteractions, ACCOUNTS } from './lib/oidc_provider_upstream.js';

let op, gw, clients, port, dir;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-oidc-provider-'));
  const gwPort = await freePort();
  port = { a: await freePort(), b: await freePort() };
  op = await startOidcProviderUpstream({ port: await freePort(), redirectUris: [`http://127.0.0.1:${gwPort}/callback`] });
  clients = Object.fromEntries(defaultClients(port).map((c) => [c.id, c]));
  gw = await startGateway({ dir, gwPort, clients: Object.values(clients), upstream: op.upstream });
});
after(async () => {
  if (gw?.proc.exitCode === null) {
    gw.proc.kill('SIGTERM');
    await Promise.race([gw.proc.exited, new Promise((r) => setTimeout(r, 3000))]);
    if (gw.proc.exitCode === null && gw.proc.signalCode === null) gw.proc.kill('SIGKILL');
  }
  await op?.close();
});

// The browser part: portal -> eidgw login page -> provider (login, consent) -> eidgw
// /callback -> the redirect to the portal (not followed).
async function toCallback(agent, authorizeUrl, login, opts) {
  const page = await agent.follow(authorizeUrl);
  assert.equal(page.status, 200, `eidgw login page: ${page.status} ${errorCode(page.body)}`);
  const v = href(page.body, 'vneid');
  assert.ok(v, 'the VNeID button');
  const start = await agent.request(new URL(v, page.url).toString());
  assert.equal(start.status, 302);
  assert.ok(start.location.startsWith(op.upstream.authorization_endpoint), start.location);
  const back = await passDevInteractions(agent, start.location, login, opts);
  assert.ok(back.location?.startsWith(`${gw.url}/callback?`), `provider answer: ${back.status} ${back.location} ${back.body?.slice(0, 300)}`);
  return back;
}

async function browserLogin(agent, authorizeUrl, login, portalPrefix) {
  const back = await toCallback(agent, authorizeUrl, login);
  const cb = await agent.request(back.location);
  assert.ok(cb.location?.startsWith(portalPrefix), `callback: ${cb.status} ${errorCode(cb.body)} ${readLog(gw.proc).split('\n').filter((l) => /idp|upstream/.test(l)).slice(-3).join('\n')}`);
  return { back, cb };
}

test('login through oidc-provider: the portal gets the identity the provider released', async () => {
  const c = clients['portal-a'];
  const config = await discover(gw.url, c);
  const req = await authRequest(config, c);
  const agent = new Agent();
  const { back, cb } = await browserLogin(agent, req.url, '001085012345', `http://127.0.0.1:${port.a}/`);
  // the provider's answer is an RFC 9207 response with its issuer; eidgw accepted it
  assert.equal(new URL(back.location).searchParams.get('iss'), op.issuer);
  assert.equal(cb.status, 302);
  const tokens = await client.authorizationCodeGrant(config, new URL(cb.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  const claims = tokens.claims();
  const acct = ACCOUNTS['001085012345'];
  assert.equal(claims.iss, gw.url);
  assert.equal(claims.aud, 'portal-a');
  assert.equal(claims.cccd, acct.SoDinhDanh);
  assert.equal(claims.name, acct.HoVaTen);
  assert.equal(claims.birthdate, '1985-03-14');
  assert.equal(claims.gender, 'male');
  assert.equal(claims.acr, 'urn:vn:eid:level:2');
  assert.match(claims.sub, /^[A-Za-z0-9_-]{43}$/);
  const ui = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(ui.cccd, acct.SoDinhDanh);
  assert.equal(ui.name, acct.HoVaTen);
  assert.equal(ui.gender, 'male');
  assert.equal(kvCount(gw.db, 'sess'), 1);
  assert.deepEqual(op.errors, [], 'no server error at the provider');
});

test('a second citizen at the level-2 portal: female, level 2, no cccd without the scope', async () => {
  const c = clients['portal-b'];
  const config = await discover(gw.url, c);
  const req = await authRequest(config, c);
  const { cb } = await browserLogin(new Agent(), req.url, '079190023456', `http://127.0.0.1:${port.b}/`);
  const tokens = await client.authorizationCodeGrant(config, new URL(cb.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  const claims = tokens.claims();
  assert.equal(claims.name, 'Trần Thị Bình');
  assert.equal(claims.birthdate, '1990-07-22');
  assert.equal(claims.gender, 'female');
  assert.equal(claims.acr, 'urn:vn:eid:level:2');
  assert.equal(claims.cccd, undefined);
  // RS256 for this portal, verified by openid-client against eidgw's JWKS
  assert.equal(JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg, 'RS256');
});

test('the citizen cancels at the provider: access_denied comes back, eidgw shows upstream_denied, no session', async () => {
  const c = clients['portal-a'];
  const config = await discover(gw.url, c);
  const req = await authRequest(config, c);
  const agent = new Agent();
  const before = kvCount(gw.db, 'sess');
  const back = await toCallback(agent, req.url, '001085012345', { abort: true });
  assert.equal(new URL(back.location).searchParams.get('error'), 'access_denied');
  const r = await agent.request(back.location);
  assert.equal(r.status, 403);
  assert.equal(errorCode(r.body), 'upstream_denied');
  assert.equal(r.location, null);
  assert.equal(kvCount(gw.db, 'sess'), before);
  assert.equal(agent.cookie(gw.url, 'eidgw_sso'), undefined);
});
