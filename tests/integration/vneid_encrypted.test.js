// VNeID's second relying-party profile (docs/domain.md 13.3) against the simulator in its
// encrypted mode: token and userinfo answers sealed as {"data","key"}, no id_token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startStack } from './lib/harness.js';
import { discover, authRequest, loginAt, client, Agent, errorCode } from './lib/rp.js';

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

// stops where the simulator sends the browser back to eidgw's callback
async function toCallback() {
  const c = st.clients['portal-a'];
  const req = await authRequest(await discover(st.gw.url, c), c);
  const agent = new Agent();
  const hop = await loginAt(agent, req.url, '001085012345', `${st.gw.url}/callback`);
  assert.ok(hop.location?.startsWith(`${st.gw.url}/callback?`), `at the callback: ${hop.status} ${hop.location}`);
  return { agent, url: hop.location };
}

test('an encrypted code arrives raw, with a "+", beside its encrypt_key; both go back to the token endpoint', async () => {
  const { agent, url } = await toCallback();
  const raw = url.slice(url.indexOf('?') + 1);
  const code = raw.match(/(?:^|&)code=([^&]*)/)[1];
  assert.ok(code.includes('+'), `the simulator sent a code with a '+': ${code}`);
  assert.match(raw, /(?:^|&)encrypt_key=[A-Za-z0-9+/=]{300,}(&|$)/);
  const before = await st.sim.stats();
  const r = await agent.request(url);
  assert.equal(r.status, 302, `the login ends at the portal: ${r.status} ${errorCode(r.body)}`);
  assert.ok(r.location.startsWith(st.clients['portal-a'].redirect[0] + '?'), r.location);
  assert.equal((await st.sim.stats()).token, before.token + 1);
});

test('a changed encrypt_key or an expired encrypted code ends in an error page after one token call', async () => {
  // the wrapped key altered on the way: the token endpoint refuses the code
  let { agent, url } = await toCallback();
  const altered = url.replace(/encrypt_key=([A-Za-z0-9])/, (m, ch) => `encrypt_key=${ch === 'A' ? 'B' : 'A'}`);
  assert.notEqual(altered, url);
  let before = (await st.sim.stats()).token;
  let r = await agent.request(altered);
  assert.ok(r.status >= 400, `refused: ${r.status}`);
  assert.equal(errorCode(r.body), 'upstream_error');
  assert.equal((await st.sim.stats()).token, before + 1, 'one token call, never retried');
  // a '+' read as a space is another code: the same refusal
  ({ agent, url } = await toCallback());
  r = await agent.request(url.replace(/code=([^&]*)/, (m, c) => `code=${c.replace(/\+/g, '%20')}`));
  assert.ok(r.status >= 400);
  // not base64 at all: refused by eidgw before any call
  ({ agent, url } = await toCallback());
  before = (await st.sim.stats()).token;
  r = await agent.request(url.replace(/encrypt_key=/, 'encrypt_key=%3C'));
  assert.ok(r.status >= 400);
  assert.equal(errorCode(r.body), 'upstream_error');
  assert.equal((await st.sim.stats()).token, before, 'no token call for a malformed encrypt_key');
  // codes that live a second, spent late
  await st.sim.faults({ code_ttl_s: 1 });
  try {
    ({ agent, url } = await toCallback());
    await new Promise((res) => setTimeout(res, 2100));
    r = await agent.request(url);
    assert.ok(r.status >= 400, `an expired code is refused: ${r.status}`);
    assert.equal(errorCode(r.body), 'upstream_error');
  } finally {
    await st.sim.faults({});
  }
});
