// No one holds sockets or memory for free: a request head must arrive within its
// deadline however slowly it trickles in, a body at a minimum rate after it, one address
// may hold only so many connections, and the process only so many in all. Over a cap a connection gets a short 503 and is
// closed at once (not reset), and the gateway keeps serving everyone else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startStack, readLog } from './lib/harness.js';
import { Agent, authRequest, discover, loginAt } from './lib/rp.js';

let st;
before(async () => {
  st = await startStack('conns', { server: 'request_timeout = 2s\nidle_timeout = 4s\nmax_connections = 24\n' +
                                           'max_connections_per_ip = 6\nmin_body_rate = 1k\n' });
});
after(async () => { await st?.stop(); });

// A connection; resolves once connected. .closedAt is set (ms since open) when the server
// closes it; .data collects what it sent; .error is the socket's error code (ECONNRESET).
function open(localAddress, port = st.gw.port) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.data = '';
    s.closedAt = null;
    s.on('data', (c) => { s.data += c.toString('latin1'); });
    s.error = null;
    s.on('error', (e) => { s.error = e.code; });
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
// Refused over a cap: a short 503 with Retry-After and Connection: close, then a close,
// not a reset
function assertBusy(s) {
  assert.match(s.data, /^HTTP\/1\.1 503 /, `a 503, not a bare close: ${JSON.stringify(s.data.slice(0, 40))}`);
  const [head, body] = s.data.split('\r\n\r\n');
  assert.match(head, /\r\nRetry-After: 1\r\n/i);
  assert.match(head, /\r\nConnection: close\r\n/i);
  assert.equal(JSON.parse(body).error, 'server_busy');
  assert.equal(s.error, null, 'closed, not reset');
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

test('a body that keeps up min_body_rate is read in whole, past request_timeout', async () => {
  // 12,000 bytes at about 4,000 a second: 3 s, past the 2 s grace but well within the rate
  const s = await open();
  const body = 'grant_type=authorization_code&code=' + 'c'.repeat(12000 - 35);
  s.write('POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  for (let i = 0; i < body.length && s.closedAt === null; i += 400) {
    s.write(body.slice(i, i + 400));
    await sleep(100);
  }
  assert.ok(await closedWithin(s, 3000), 'answered and closed');
  assert.match(s.data, /^HTTP\/1\.1 40[01] /, 'the request was read whole and answered');
  assert.ok(s.closedAt > 2500, `it took longer than request_timeout (${s.closedAt} ms)`);
});

test('a connection that sends nothing is closed at request_timeout, not idle_timeout', async () => {
  const s = await open();
  assert.ok(await closedWithin(s, 6000), 'closed');
  assert.ok(s.closedAt >= 1500 && s.closedAt < 3500, `closed at ${s.closedAt} ms (request_timeout 2 s, idle 4 s)`);
  assert.equal(s.data, '');
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
  assertBusy(over);
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

test('over the per-address cap, a client that sent its request at once gets the 503 too', async () => {
  const held = [];
  for (let i = 0; i < 6; i++) held.push(await open('127.0.0.9'));
  await sleep(200);
  const over = await open('127.0.0.9');
  over.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(await closedWithin(over, 2000), 'closed at once');
  assert.match(over.data, /^HTTP\/1\.1 503 /);
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
    // a request answered: the connection now waits on idle_timeout, not on its first head's deadline
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(60);
    if (s.closedAt !== null) refused = s; else held.push(s);
  }
  assert.ok(refused, 'a connection past max_connections is closed at once');
  assertBusy(refused);
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

test('by default a request head is due within about 10 s of the connection, however it trickles', async () => {
  const def = await startStack('conns-default');
  try {
    const t0 = Date.now();
    const s = net.connect(def.gw.port, '127.0.0.1');
    let closedAt = null;
    s.on('error', () => {});
    s.on('close', () => { closedAt = Date.now() - t0; });
    await new Promise((r) => s.once('connect', r));
    s.write('GET /healthz HTTP/1.1\r\n');
    const drip = setInterval(() => { if (closedAt === null) s.write('X'); }, 500);
    try {
      while (closedAt === null && Date.now() - t0 < 15000) await sleep(100);
    } finally { clearInterval(drip); s.destroy(); }
    assert.ok(closedAt !== null && closedAt >= 9000 && closedAt < 11500, `closed at ${closedAt} ms`);
  } finally { await def.stop(); }
});

test('out of descriptors: accepting pauses and backs off, one warning with a count, then serves again', async () => {
  // 34 descriptors: the daemon uses about 25 of its own, so accept fails well before the
  // lowered cap (16) is reached
  const low = await startStack('conns-nofile', { wrap: ['prlimit', '--nofile=34:34', '--'],
                                                 server: 'request_timeout = 5s\n' });
  try {
    const lines = (re) => readLog(low.gw.proc).split('\n').filter((l) => re.test(l)).map((l) => JSON.parse(l));
    const held = [];
    for (let i = 0; i < 30; i++) {
      const s = net.connect({ port: low.gw.port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 6)}` });
      s.on('error', () => {});
      held.push(s);
    }
    await sleep(1500);
    const warned = lines(/cannot accept connections/);
    assert.ok(warned.length >= 1 && warned.length <= 2, `one warning per I/O thread at most (${warned.length})`);
    assert.ok(warned.every((w) => Number(w.failed) >= 1), 'with a count');
    for (const s of held) s.destroy();
    await sleep(3000); /* the longest pause is 2 s */
    const r = await fetch(`${low.gw.url}/healthz`);
    assert.equal(r.status, 200, 'serves again');
    await r.arrayBuffer();
    const again = lines(/accepting connections again/);
    assert.ok(again.length >= 1, 'says it accepts again');
    assert.ok(again.every((a) => Number.isInteger(Number(a.failed))), 'with the failures since the warning');
    assert.ok(lines(/cannot accept connections/).length <= 2, 'no warning per retry');
  } finally { await low.stop(); }
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
    // one of the three is refused (which one depends on which I/O thread accepts first)
    const t0 = Date.now();
    while (outside.every((x) => x.closedAt === null) && Date.now() - t0 < 5000) await sleep(50);
    await sleep(200);
    const refused = outside.filter((x) => x.closedAt !== null);
    assert.equal(refused.length, 1, 'exactly one connection from outside the range is closed');
    assertBusy(refused[0]);
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
