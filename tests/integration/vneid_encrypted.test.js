// VNeID's second relying-party profile (docs/domain.md 13.3) against the simulator in its
// encrypted mode: token and userinfo answers sealed as {"data","key"}, no id_token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startStack } from './lib/harness.js';
import { discover, authRequest, loginAt, client, Agent } from './lib/rp.js';

let st;
before(async () => {
  st = await startStack('vneid-enc', {
    simArgs: (dir) => {
      execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048',
                               '-out', path.join(dir, 'rp.pem')], { stdio: 'pipe' });
      execFileSync('openssl', ['pkey', '-in', path.join(dir, 'rp.pem'), '-pubout', '-out', path.join(dir, 'rp.pub')],
                   { stdio: 'pipe' });
      return ['--encrypt-to', path.join(dir, 'rp.pub')];
    },
    upstreamOverrides: {
      id_token: 'absent', nonce: false, claim_id: 'citizenPid', claim_name: 'fullName',
      claim_birthdate: 'birthDate', birthdate_format: 'YYYY-MM-DD', claim_level: 'accountLevel',
      claim_account_type: 'accountType', more: 'profile = encrypted\ndecryption_key = DIR/rp.pem\n',
    },
  });
});
after(async () => { await st?.stop(); });

test('a citizen logs in through the encrypted profile: identity from the sealed userinfo alone', async () => {
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const hop = await loginAt(new Agent(), req.url, '001085012345', 'http://127.0.0.1:' + st.port.a);
  assert.equal(hop.status, 302);
  assert.ok(hop.location.startsWith(c.redirect[0] + '?'), hop.location);
  const tokens = await client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  const claims = tokens.claims();
  assert.equal(claims.cccd, '001085012345');
  assert.equal(claims.name, 'Nguyễn Văn An');
  assert.equal(claims.birthdate, '1985-03-14');
  assert.equal(claims.acr, 'urn:vn:eid:level:2');
});

test('a tampered envelope gives the citizen an error page, the daemon stays up, the code is not sent again', async () => {
  await st.sim.faults({ seal_tamper: 'key' });
  try {
    const c = st.clients['portal-a'];
    const config = await discover(st.gw.url, c);
    const req = await authRequest(config, c);
    const before = (await st.sim.stats()).token;
    const hop = await loginAt(new Agent(), req.url, '001085012345', 'http://127.0.0.1:' + st.port.a);
    assert.notEqual(hop.status, 302, 'no code for the portal');
    assert.ok(hop.status >= 400, String(hop.status));
    assert.equal((await st.sim.stats()).token, before + 1, 'one token call, never retried');
    assert.equal((await fetch(`${st.gw.url}/healthz`)).status, 200);
  } finally {
    await st.sim.faults({});
  }
});
