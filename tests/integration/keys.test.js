// Key rotation: `eidgw keys rotate` adds a signing pair; after a restart the newest key
// signs, the JWKS still publishes the old ones, and subjects stay the same.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as jose from 'jose';
import { startStack, startGateway, EIDGW_BIN } from './lib/harness.js';
import { discover, authRequest, loginAt, client, Agent } from './lib/rp.js';

let st;
after(async () => { await st?.stop(); });

async function login(gwUrl, c) {
  const config = await discover(gwUrl, c);
  const req = await authRequest(config, c);
  const hop = await loginAt(new Agent(), req.url, '001085012345', new URL(c.redirect[0]).origin);
  return client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
}

test('rotation: the new key signs, the old key stays published, sub is unchanged', async () => {
  st = await startStack('keys');
  const c = st.clients['portal-a'];
  const before = await login(st.gw.url, c);
  const oldKid = jose.decodeProtectedHeader(before.id_token).kid;
  const jwks1 = await (await fetch(`${st.gw.url}/jwks`)).json();
  assert.equal(jwks1.keys.length, 2);
  await new Promise((r) => setTimeout(r, 1100)); // key file names carry the second
  execFileSync(EIDGW_BIN, ['keys', 'rotate', path.join(st.dir, 'keys')]);
  st.gw.proc.kill('SIGTERM');
  await st.gw.proc.exited;
  const gw = await startGateway({ dir: st.dir, gwPort: st.gw.port, clients: Object.values(st.clients),
                                  upstream: st.sim.upstream });
  st.procs.push(gw.proc);
  const jwks2 = await (await fetch(`${gw.url}/jwks`)).json();
  assert.equal(jwks2.keys.length, 4);
  assert.ok(jwks2.keys.some((k) => k.kid === oldKid), 'the old key is still published');
  const afterRot = await login(gw.url, c);
  const newKid = jose.decodeProtectedHeader(afterRot.id_token).kid;
  assert.notEqual(newKid, oldKid);
  assert.ok(jwks2.keys.some((k) => k.kid === newKid));
  assert.equal(afterRot.claims().sub, before.claims().sub, 'the pairwise secret did not change');
  // an id_token_hint signed by the old key is still accepted at logout
  const lo = await fetch(`${gw.url}/logout?id_token_hint=${before.id_token}`, { redirect: 'manual' });
  assert.equal(lo.status, 200);
});

test('keys/gen-dev-keys.sh DIR: a relative DIR is from the caller\'s working directory', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  const script = path.join(repo, 'keys/gen-dev-keys.sh');
  if (!fs.existsSync(path.join(repo, 'build/eidgw'))) return; // the script would build the checkout first
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-gen-dev-keys-'));
  execFileSync('bash', [script, 'rel/keys'], { cwd, stdio: 'pipe' });
  for (const f of ['saml-idp.key', 'saml-idp.crt', 'cookie.key', 'pairwise.key'])
    assert.ok(fs.existsSync(path.join(cwd, 'rel/keys', f)), `${f} in the caller's rel/keys`);
  assert.ok(!fs.existsSync(path.join(repo, 'rel')), 'nothing under the checkout');
  // an absolute DIR as given
  const abs = path.join(cwd, 'abs');
  execFileSync('bash', [script, abs], { cwd: os.tmpdir(), stdio: 'pipe' });
  assert.ok(fs.existsSync(path.join(abs, 'saml-idp.crt')));
  fs.rmSync(cwd, { recursive: true, force: true });
});
