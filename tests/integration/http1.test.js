// eidgw's HTTP/1.1 connections, on raw sockets: keep-alive and pipelining, a request
// that arrives in pieces, Expect: 100-continue, chunked bodies, HEAD, HTTP/1.0, and the
// requests it must refuse at that layer (folded lines, Content-Length beside
// Transfer-Encoding, unknown codings, other HTTP versions), each answered, then closed.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startStack, readLog } from './lib/harness.js';

let st;
before(async () => { st = await startStack('http1'); });
after(async () => { await st?.stop(); });
afterEach(async () => {
  assert.equal(st.gw.proc.exitCode, null, 'eidgw is still running');
  const r = await fetch(`${st.gw.url}/healthz`);
  assert.equal(r.status, 200);
});

// Answers parsed from a byte stream: status, headers (lower-case), body (by Content-Length).
function parseAnswers(buf) {
  const out = [];
  let rest = buf;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.subarray(0, end).toString('latin1');
    const [line, ...fields] = head.split('\r\n');
    const m = line.match(/^HTTP\/1\.1 (\d{3}) /);
    assert.ok(m, `status line: ${line}`);
    const headers = Object.fromEntries(fields.map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    }));
    const status = Number(m[1]);
    const len = status === 100 ? 0 : Number(headers['content-length'] ?? 0);
    out.push({ status, headers, body: rest.subarray(end + 4, end + 4 + len).toString('utf8') });
    rest = rest.subarray(end + 4 + len);
  }
  return out;
}

// Sends the parts (a pause between them), collects every byte until the server closes
// or ms pass. Resolves {answers, closed, raw}.
function exchange(parts, { ms = 3000, pause = 50, waitFor } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(st.gw.port, '127.0.0.1');
    let d = Buffer.alloc(0);
    let closed = false;
    s.on('data', (c) => { d = Buffer.concat([d, c]); });
    s.on('error', (e) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? null : reject(e)));
    const finish = () => resolve({ answers: parseAnswers(d), closed, raw: d.toString('latin1') });
    s.on('close', () => { closed = true; clearTimeout(timer); finish(); });
    const timer = setTimeout(() => { s.removeAllListeners('close'); s.destroy(); finish(); }, ms);
    s.on('connect', async () => {
      for (const p of parts) {
        if (waitFor && p === waitFor.before) {
          const t0 = Date.now();
          while (!d.toString('latin1').includes(waitFor.text) && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
        }
        if (!s.destroyed) s.write(p);
        await new Promise((r) => setTimeout(r, pause));
      }
    });
  });
}

const get = (p, extra = '') => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

test('three pipelined requests on one connection: three answers in order, then the close asked for', async () => {
  const { answers, closed } = await exchange([
    get('/healthz') + get('/.well-known/openid-configuration') + get('/healthz', 'Connection: close\r\n'),
  ]);
  assert.equal(answers.length, 3);
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
  assert.equal(JSON.parse(answers[0].body).status, 'ok');
  assert.equal(JSON.parse(answers[1].body).issuer, st.gw.url);
  assert.equal(answers[0].headers.connection, undefined, 'kept alive');
  assert.equal(answers[2].headers.connection, 'close');
  assert.ok(answers.every((a) => a.headers.date && /GMT$/.test(a.headers.date)), 'a Date field');
  assert.ok(closed, 'closed after the last');
});

test('a request that arrives in pieces (and with bare LF line ends) is read whole', async () => {
  const { answers } = await exchange(['GET /heal', 'thz HTTP/1.1\r\nHo', 'st: x\r\n', '\r\n', 'GET /healthz HTTP/1.1\nHost: x\n\n'],
                                     { pause: 80, ms: 1500 });
  assert.deepEqual(answers.map((a) => a.status), [200, 200]);
});

test('HEAD: the length of the GET answer, no body, and the connection goes on', async () => {
  const g = await fetch(`${st.gw.url}/.well-known/openid-configuration`);
  const body = await g.text();
  const { raw, closed } = await exchange([
    'HEAD /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n\r\n' + get('/healthz', 'Connection: close\r\n'),
  ]);
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, end);
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.match(head, new RegExp(`\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`, 'i'));
  assert.match(raw.slice(end + 4), /^HTTP\/1\.1 200 /, 'no body: the next answer follows the head');
  assert.ok(closed);
});

test('Expect: 100-continue: "100 Continue" first, then the body is read and answered', async () => {
  const c = st.clients['portal-a'];
  const body = 'grant_type=authorization_code&code=no-such-code&redirect_uri=http%3A%2F%2Fx';
  const head = `POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
    `Authorization: Basic ${Buffer.from(`portal-a:${c.secret}`).toString('base64')}\r\n` +
    `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
  const { raw, answers } = await exchange([head, body], { waitFor: { before: body, text: '100 Continue' } });
  assert.match(raw, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
  assert.equal(answers[0].status, 100);
  assert.equal(answers[1].status, 400);
  assert.equal(JSON.parse(answers[1].body).error, 'invalid_grant', 'the body was read: grant type and code');
});

test('a chunked body reads like the same body with Content-Length', async () => {
  const c = st.clients['portal-a'];
  const body = 'grant_type=authorization_code&code=no-such-code&redirect_uri=http%3A%2F%2Fx';
  const auth = `Authorization: Basic ${Buffer.from(`portal-a:${c.secret}`).toString('base64')}\r\n`;
  const chunks = `${(20).toString(16)};x=y\r\n${body.slice(0, 20)}\r\n${(body.length - 20).toString(16)}\r\n${body.slice(20)}\r\n0\r\nX-Trailer: 1\r\n\r\n`;
  const { answers } = await exchange([
    `POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n${auth}Transfer-Encoding: chunked\r\n\r\n`,
    chunks.slice(0, 30), chunks.slice(30) + get('/healthz', 'Connection: close\r\n'),
  ]);
  assert.equal(answers.length, 2);
  assert.equal(answers[0].status, 400);
  assert.equal(JSON.parse(answers[0].body).error, 'invalid_grant');
  assert.equal(answers[1].status, 200, 'and the connection goes on after it');
});

test('a chunked body sent a few bytes at a time in many small chunks is read whole', async () => {
  const c = st.clients['portal-a'];
  const body = 'grant_type=authorization_code&code=no-such-code&redirect_uri=http%3A%2F%2Fx';
  const auth = `Authorization: Basic ${Buffer.from(`portal-a:${c.secret}`).toString('base64')}\r\n`;
  const chunks = [...body].map((ch) => `1\r\n${ch}\r\n`).join('') + '0\r\n\r\n';
  const parts = [`POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n${auth}` +
                 'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n'];
  for (let i = 0; i < chunks.length; i += 7) parts.push(chunks.slice(i, i + 7));
  const { answers } = await exchange(parts, { pause: 2, ms: 5000 });
  assert.equal(answers.length, 1);
  assert.equal(answers[0].status, 400);
  assert.equal(JSON.parse(answers[0].body).error, 'invalid_grant');
});

test('a chunked body whose framing passes the input cap is 413 in the route\'s form (JSON under /admin/), not 431', async () => {
  const head = 'POST /admin/links HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\nContent-Type: application/json\r\n' +
    'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n';
  const { answers } = await exchange([head, '1\r\na\r\n'.repeat(60000), '0\r\n\r\n'], { ms: 5000 });
  assert.equal(answers.length, 1);
  assert.equal(answers[0].status, 413);
  assert.match(answers[0].headers['content-type'], /^application\/json/);
});

test('control bytes in a chunk extension or a trailer field, or a bare CR in a chunk line: 400', async () => {
  const head = 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (const body of ['5;foo=\x00\r\ngrant\r\n0\r\n\r\n', '5;foo=\rx\r\ngrant\r\n0\r\n\r\n', '5;f\x7f\r\ngrant\r\n0\r\n\r\n',
                      '5 \r\ngrant\r\n0\r\n\r\n', '5\r\ngrant\r\n0\r\nX-T: a\x00b\r\n\r\n']) {
    const { answers, closed } = await exchange([Buffer.from(head + body, 'latin1')]);
    assert.equal(answers[0]?.status, 400, JSON.stringify(body));
    assert.ok(closed, 'and the connection is closed');
  }
});

test('a client that half-closes after its request still gets the answer, from a worker route too', async () => {
  const c = st.clients['portal-a'];
  const auth = `Authorization: Basic ${Buffer.from(`portal-a:${c.secret}`).toString('base64')}\r\n`;
  const body = 'grant_type=authorization_code&code=no-such-code&redirect_uri=http%3A%2F%2Fx';
  for (const req of [get('/readyz'), get('/healthz'),
                     `POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n${auth}` +
                     `Content-Length: ${body.length}\r\n\r\n${body}`]) {
    const got = await new Promise((resolve, reject) => {
      const s = net.connect(st.gw.port, '127.0.0.1');
      let d = Buffer.alloc(0);
      s.on('data', (x) => { d = Buffer.concat([d, x]); });
      s.on('error', reject);
      s.on('close', () => resolve(parseAnswers(d)));
      s.on('connect', () => s.end(req)); // the request, then FIN
      setTimeout(() => { s.destroy(); resolve(parseAnswers(d)); }, 5000);
    });
    assert.equal(got.length, 1, req.split('\r\n')[0]);
    assert.ok([200, 400].includes(got[0].status), `${req.split('\r\n')[0]}: ${got[0].status}`);
  }
});

test('Host as an authority: a name, an address with a port, IPv6 in brackets; HTTP/1.0 may leave it out', async () => {
  for (const host of ['gw.example', '127.0.0.1:8080', '[::1]', '[2001:db8::1]:443', 'xn--cng-dch-v-u9a.vn']) {
    const { answers } = await exchange([`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`]);
    assert.deepEqual(answers.map((a) => a.status), [200], host);
  }
  const { answers } = await exchange(['GET /healthz HTTP/1.0\r\n\r\n']);
  assert.deepEqual(answers.map((a) => a.status), [200], 'HTTP/1.0 without Host');
});

test('HTTP/1.0: answered, then closed', async () => {
  const { answers, closed } = await exchange(['GET /healthz HTTP/1.0\r\n\r\n']);
  assert.equal(answers.length, 1);
  assert.equal(answers[0].status, 200);
  assert.equal(answers[0].headers.connection, 'close');
  assert.ok(closed);
});

for (const [name, text, status] of [
  ['a folded field line', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n', 400],
  ['Content-Length beside Transfer-Encoding', 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['two different Content-Lengths', 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 400],
  ['a space before a field\'s colon', 'GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n', 400],
  ['a transfer coding other than chunked', 'POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 501],
  ['HTTP/2.0 in the request line', 'GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n', 505],
  ['a request line with no version', 'GET /healthz\r\n\r\n', 400],
  ['a bad chunk size', 'POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
  ['a body over the cap (Content-Length)', 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n', 413],
  ['HTTP/1.1 without Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400],
  ['two Host fields', 'GET /healthz HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n', 400],
  ['two Host fields in HTTP/1.0', 'GET /healthz HTTP/1.0\r\nHost: x\r\nhost: y\r\n\r\n', 400],
  ['a Host with userinfo', 'GET /healthz HTTP/1.1\r\nHost: user@127.0.0.1\r\n\r\n', 400],
  ['a Host with a space inside', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1 evil.example\r\n\r\n', 400],
  ['a Host whose port is not digits', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:80x\r\n\r\n', 400],
  ['an IPv6 Host without brackets', 'GET /healthz HTTP/1.1\r\nHost: ::1\r\n\r\n', 400],
  ['a Host with a path', 'GET /healthz HTTP/1.1\r\nHost: evil.example/x\r\n\r\n', 400],
]) {
  test(`${name}: ${status}, Connection: close, and the connection closes`, async () => {
    const { answers, closed } = await exchange([text, get('/healthz')], { pause: 100 });
    assert.equal(answers.length, 1, 'one answer: nothing after the bad request is read as a request');
    assert.equal(answers[0].status, status);
    assert.equal(answers[0].headers.connection, 'close');
    assert.ok(closed, 'closed');
  });
}

test('501 and 505 are the client\'s: logged at info, so they spend none of the warnings\' rate limit', async () => {
  await exchange(['GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n']);
  await exchange(['POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n']);
  await new Promise((r) => setTimeout(r, 200));
  const lines = readLog(st.gw.proc).split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((l) => l.msg === 'request' && ['501', '505'].includes(l.status));
  assert.ok(lines.length >= 2, `${lines.length} lines`);
  assert.ok(lines.every((l) => l.level === 'info'), JSON.stringify(lines.map((l) => l.level)));
});

test('no Strict-Transport-Security when the public URL is http', async () => {
  for (const p of ['/healthz', '/nope', '/authorize']) {
    const r = await fetch(`${st.gw.url}${p}`, { redirect: 'manual' });
    await r.arrayBuffer();
    assert.equal(r.headers.get('strict-transport-security'), null, p);
  }
});

test('an https public URL: every answer carries Strict-Transport-Security, without includeSubDomains', async () => {
  const tls = await startStack('http1-hsts', { publicUrl: 'https://gw.example' });
  try {
    const answers = [];
    for (const p of ['/healthz', '/.well-known/openid-configuration', '/nope', '/authorize', '/admin/status']) {
      const r = await fetch(`${tls.gw.url}${p}`, { redirect: 'manual' });
      await r.arrayBuffer();
      answers.push([p, r.status, r.headers.get('strict-transport-security')]);
    }
    const framing = await new Promise((resolve) => {
      const s = net.connect(tls.gw.port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\n\r\n'));
      let d = '';
      s.on('data', (c) => { d += c; });
      s.on('close', () => resolve(d));
      s.on('error', () => {});
    });
    answers.push(['no Host', Number(framing.slice(9, 12)), (framing.match(/\r\nStrict-Transport-Security: ([^\r]*)/i) || [])[1]]);
    for (const [p, status, hsts] of answers) assert.equal(hsts, 'max-age=31536000', `${p} (${status})`);
    assert.deepEqual(answers.map((a) => a[1]), [200, 200, 404, 400, 401, 400]);
  } finally { await tls.stop(); }
});
