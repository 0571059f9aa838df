// Logins started per client address ([limits] logins_per_ip): one address cannot make a node
// keep more pending logins than its share; past it a 429 page with Retry-After, nothing
// kept, and every other address still logs in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, kvKeys, rawRequest } from './lib/harness.js';
import { discover, authRequest, errorCode } from './lib/rp.js';

let st, config, c;
before(async () => {
  st = await startStack('login-limit', { extra: '\n[limits]\nlogins_per_ip = 5/1m\n' });
  c = st.clients['portal-a'];
  config = await discover(st.gw.url, c);
});
after(async () => { await st?.stop(); });

// GET url from a given loopback address
function getFrom(localAddress, url) {
  const u = new URL(url);
  return rawRequest(u.port, u.pathname + u.search, { accept: 'text/html' }, 'GET', localAddress);
}

test('past logins_per_ip an address gets 429 with Retry-After and nothing kept; others are served', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await getFrom('127.0.0.2', (await authRequest(config, c)).url);
    assert.equal(r.status, 302, `login ${i + 1}`);
    assert.match(r.headers.location, /^\/login\?ar=/);
  }
  const pending = kvKeys(st.gw.db, 'ar').length;
  const refused = await getFrom('127.0.0.2', (await authRequest(config, c)).url);
  assert.equal(refused.status, 429);
  assert.equal(errorCode(refused.body), 'too_many_logins');
  const wait = Number(refused.headers['retry-after']);
  assert.ok(wait >= 1 && wait <= 60, `Retry-After ${refused.headers['retry-after']}`);
  assert.equal(kvKeys(st.gw.db, 'ar').length, pending, 'nothing kept for the refused login');
  // another address is not affected
  const other = await getFrom('127.0.0.3', (await authRequest(config, c)).url);
  assert.equal(other.status, 302);
  assert.match(other.headers.location, /^\/login\?ar=/);
});
