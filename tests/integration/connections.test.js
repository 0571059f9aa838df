// No one holds sockets or memory for free: a request must arrive whole within its
// deadline however slowly it trickles in, one address may hold only so many connections,
// and the process only so many in all. Over a cap a connection is closed at once, and the
// gateway keeps serving everyone else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startStack } from './lib/harness.js';
import { Agent, authRequest, discover, loginAt } from './lib/rp.js';

let st;
before(async () => {
  st = await startStack('conns', { server: 'request_timeout = 2s\nidle_timeout = 4s\nmax_connections = 24\n' +
                                           'max_connections_per_ip = 6\n' });
});
after(async () => { await st?.stop(); });

// A connection; resolves once connected. .closedAt is set (ms since open) when the server
// closes it; .data collects what it sent.
function open(localAddress, port = st.gw.port) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.data = '';
    s.closedAt = null;
    s.on('data', (c) => { s.data += c.toString('latin1'); });
    s.on('error', () => {});
    s.on('close', () => { s.closedAt = Date.now() - t0; });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function closedWithin(s, ms) {
  const until = Date.now() + ms;
  while (s.closedAt === null && Date.now() < until) await sleep(50);
  return s.closedAt !== null;
}
async function healthz() {
  const r = await fetch(`${st.gw.url}/healthz`);
  assert.equal(r.status, 200);
  await r.arrayBuffer();
}

test('a request head trickling in a byte at a time is cut off at request_timeout', async () => {
  const s = await open();
  s.write('GET /healthz HTTP/1.1\r\n');
  const head = 'Host: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(200);
  let i = 0;
  const drip = setInterval(() => { if (s.closedAt === null && i < head.length) s.write(head[i++]); }, 250);
  try {
    assert.ok(await closedWithin(s, 6000), 'closed while it was still sending (each byte once restarted the timer)');
    assert.ok(s.closedAt >= 1500, `not before its deadline (${s.closedAt} ms)`);
    assert.equal(s.data, '', 'no answer to a request that never came in whole');
  } finally { clearInterval(drip); s.destroy(); }
  await healthz();
});

test('a body trickling in is cut off at request_timeout too; a whole request in time is answered', async () => {
  const s = await open();
  s.write('POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
          'Content-Length: 400\r\n\r\n');
  const drip = setInterval(() => { if (s.closedAt === null) s.write('a'); }, 200);
  try {
    assert.ok(await closedWithin(s, 6000), 'closed');
  } finally { clearInterval(drip); s.destroy(); }
  // the same request sent in one go within its deadline gets its answer
  const ok = await open();
  ok.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  await sleep(1000);
  ok.write('\r\n');
  for (let k = 0; k < 40 && !ok.data.includes('\r\n\r\n'); k++) await sleep(50);
  assert.match(ok.data, /^HTTP\/1\.1 200/);
  ok.destroy();
});

test('an idle keep-alive connection is closed after idle_timeout', async () => {
  const s = await open();
  s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(await closedWithin(s, 7000), 'closed when idle');
  assert.match(s.data, /^HTTP\/1\.1 200/);
  assert.ok(s.closedAt >= 3500, `after the idle timeout, not before (${s.closedAt} ms)`);
});

test('one address holds at most max_connections_per_ip connections; a freed place can be used again', async () => {
  const held = [];
  for (let i = 0; i < 6; i++) held.push(await open());
  await sleep(200);
  const over = await open();
  assert.ok(await closedWithin(over, 2000), 'the 7th connection from one address is closed at once');
  assert.equal(over.data, '');
  for (const s of held) assert.equal(s.closedAt, null, 'the first six stay open');
  held.pop().destroy();
  await sleep(300);
  const again = await open();
  again.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.ok(await closedWithin(again, 3000));
  assert.match(again.data, /^HTTP\/1\.1 200/, 'the freed place serves a new connection');
  for (const s of held) s.destroy();
  await sleep(300);
  await healthz();
});

test('the process holds at most max_connections in all, and serves again once they go', async () => {
  // 24 in all: from 127.0.0.x addresses, 6 each, so the per-address cap is not what trips
  const held = [];
  const from = open; /* from another loopback address */
  // fill up from five addresses, 5 each at most (under the per-address cap), until the
  // server closes one at once; the other clients' idle keep-alive sockets count too
  let refused = null;
  for (let i = 0; i < 30 && !refused; i++) {
    const s = await from(`127.0.0.${2 + (i % 6)}`);
    await sleep(60);
    if (s.closedAt !== null) refused = s; else held.push(s);
  }
  assert.ok(refused, 'a connection past max_connections is closed at once');
  assert.equal(refused.data, '');
  assert.ok(held.length <= 24 && held.length >= 20, `${held.length} held open (max_connections = 24)`);
  for (const s of held) assert.equal(s.closedAt, null, 'those already open stay open');
  for (const s of held) s.destroy();
  await sleep(300);
  await healthz();
});

test('a request that came in two parts leaves its connection on the idle timeout, not on its old deadline', async () => {
  const s = await open();
  s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  await sleep(300);
  s.write('\r\n');
  for (let k = 0; k < 40 && !s.data.includes('\r\n\r\n'); k++) await sleep(50);
  assert.match(s.data, /^HTTP\/1\.1 200/);
  // past the first request's deadline (2 s), before the idle timeout (4 s): still open
  await sleep(2600);
  assert.equal(s.closedAt, null, 'kept alive');
  s.data = '';
  s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  for (let k = 0; k < 40 && !s.data.includes('\r\n\r\n'); k++) await sleep(50);
  assert.match(s.data, /^HTTP\/1\.1 200/, 'the next request on it is answered');
  s.destroy();
});

test('trusted_proxy ranges (CIDR, comma-separated) exempt their addresses from max_connections_per_ip', async () => {
  const px = await startStack('conns-proxy', { server: 'max_connections_per_ip = 2\n' +
                                                       'trusted_proxy = 127.0.0.8/30, ::1/128\n' });
  const held = [];
  try {
    for (let i = 0; i < 5; i++) held.push(await open('127.0.0.9', px.gw.port));
    await sleep(300);
    for (const s of held) assert.equal(s.closedAt, null, '127.0.0.9 is in 127.0.0.8/30: no cap');
    // 127.0.0.12 is past the range: capped at 2
    const outside = [];
    for (let i = 0; i < 3; i++) outside.push(await open('127.0.0.12', px.gw.port));
    held.push(...outside);
    assert.ok(await closedWithin(outside[2], 2000), 'the third connection from outside the range is closed');
    assert.equal(outside[0].closedAt, null);
  } finally {
    for (const s of held) s.destroy();
    await px.stop();
  }
});

test('X-Forwarded-For is read from the right past every hop in a trusted_proxy range: the audit names the client', async () => {
  const px = await startStack('xff-range', { server: 'trusted_proxy = 127.0.0.0/8, 10.0.0.0/8\n',
                                             extra: '\n[audit]\npath = DIR/audit.log\n' });
  try {
    // the client, then an inner proxy (in 10.0.0.0/8), then the TCP peer 127.0.0.1 (in 127.0.0.0/8)
    class Forwarded extends Agent {
      request(url, o = {}) {
        return super.request(url, { ...o, headers: { ...o.headers, 'x-forwarded-for': '203.0.113.7, 10.1.2.3' } });
      }
    }
    const c = px.clients['portal-a'];
    const hop = await loginAt(new Forwarded(), (await authRequest(await discover(px.gw.url, c), c)).url,
                              '001085012345', c.redirect[0]);
    assert.ok(hop.url.startsWith(c.redirect[0]) || hop.location?.startsWith(c.redirect[0]), `${hop.status}`);
    const logins = fs.readFileSync(path.join(px.dir, 'audit.log'), 'utf8').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l)).filter((e) => JSON.stringify(e).includes('"login"'));
    assert.equal(logins.length, 1, JSON.stringify(logins));
    assert.match(JSON.stringify(logins[0]), /"ip":"203\.0\.113\.7"/);
  } finally {
    await px.stop();
  }
});
