// The eidgw command line: check-config names the file, line and key of the first error;
// serve refuses a bad configuration before listening; id check; a clean stop on SIGTERM.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EIDGW_BIN, configText, defaultClients, freePort, waitHttp, secret, writeSecretFile } from './lib/harness.js';

let dir, gwPort, good;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-config-cli-'));
  execFileSync(EIDGW_BIN, ['keys', 'generate', path.join(dir, 'keys')]);
  gwPort = await freePort();
  const up = 'http://127.0.0.1:9';
  const port = { a: 18001, b: 18002 };
  good = configText({
    gwPort, dir, clients: defaultClients(port),
    upstream: { issuer: up, authorization_endpoint: `${up}/auth`, token_endpoint: `${up}/token`,
                userinfo_endpoint: `${up}/userinfo`, jwks_uri: `${up}/jwks`, client_id: 'eidgw', client_secret: secret() },
  });
});

let n = 0;
function write(text) {
  const f = path.join(dir, `c${++n}.conf`);
  writeSecretFile(f, text);
  return f;
}

function check(file) {
  const r = spawnSync(EIDGW_BIN, ['check-config', '-c', file], { encoding: 'utf8', timeout: 60000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// 1-based number of the first line equal to `line` (after `after`, if given).
function lineOf(text, line, after) {
  const lines = text.split('\n');
  const start = after ? lines.findIndex((l) => l === after) + 1 : 0;
  const i = lines.findIndex((l, k) => k >= start && l === line);
  assert.ok(i >= 0, `line '${line}' in the config`);
  return i + 1;
}

// Replace the line `from` (first occurrence after `after`) by `to` (may be several lines).
function replaceLine(text, from, to, after) {
  const lines = text.split('\n');
  const start = after ? lines.findIndex((l) => l === after) + 1 : 0;
  const i = lines.findIndex((l, k) => k >= start && l === from);
  assert.ok(i >= 0, `line '${from}' in the config`);
  lines.splice(i, 1, ...to.split('\n'));
  return lines.join('\n');
}

const lineStarting = (text, prefix, after) => {
  const lines = text.split('\n');
  const start = after ? lines.findIndex((l) => l === after) + 1 : 0;
  return lines.find((l, k) => k >= start && l.startsWith(prefix));
};

// check-config on `text` must fail at the line `to` (its last line) naming `key`.
// Returns what went wrong, or null.
function failsAt(text, to, key, what) {
  const file = write(text);
  const r = check(file);
  const line = lineOf(text, to.split('\n').pop());
  const want = `${file}:${line}: ${key}: `;
  if (r.code !== 1) return `${what}: exit ${r.code}, not 1 (stdout: ${r.stdout.trim()}; stderr: ${r.stderr.trim()})`;
  if (!r.stderr.includes(want)) return `${what}: stderr should name '${path.basename(file)}:${line}: ${key}:', got: ${r.stderr.trim()}`;
  if (r.stdout !== '') return `${what}: stdout should be empty`;
  return null;
}
const assertFailsAt = (...a) => assert.equal(failsAt(...a), null);
const assertAll = (cases) => assert.deepEqual(cases.map((c) => failsAt(...c)).filter(Boolean), []);

test('check-config: a good configuration exits 0', () => {
  const r = check(write(good));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok/);
  assert.equal(r.stderr, '');
});

test('check-config: an unknown key names file:LINE: key', () => {
  const to = 'colour = blue';
  const text = replaceLine(good, '[session]', `[session]\n${to}`);
  assertFailsAt(text, to, 'colour', 'unknown key');
  const to2 = 'client_secrett = x';
  assertFailsAt(replaceLine(good, lineStarting(good, 'client_secret ='), `${lineStarting(good, 'client_secret =')}\n${to2}`),
                to2, 'client_secrett', 'unknown key in [upstream]');
});

test('check-config: a bad URL names file:LINE: key', () => {
  assertAll([
    ['token_endpoint =', 'token_endpoint = ftp://127.0.0.1/token', 'token_endpoint'],
    ['authorization_endpoint =', 'authorization_endpoint = /auth', 'authorization_endpoint'],
    ['public_url =', 'public_url = 127.0.0.1:8080', 'public_url'],
    ['redirect_uri =', 'redirect_uri = http://127.0.0.1:18001/callback#frag', 'redirect_uri'],
  ].map(([prefix, to, key]) => [replaceLine(good, lineStarting(good, prefix), to), to, key, to]));
});

test('check-config: a public_url with a query, a fragment or a user names file:LINE: public_url', () => {
  assertAll(['public_url = http://127.0.0.1:8080/?x=1', 'public_url = http://127.0.0.1:8080/#top',
             'public_url = http://admin:pw@127.0.0.1:8080', 'public_url = http://admin@127.0.0.1:8080/sso']
    .map((to) => [replaceLine(good, lineStarting(good, 'public_url ='), to), to, 'public_url', to]));
});

test('check-config: a trusted_proxy that is not an address or ADDRESS/BITS names file:LINE: trusted_proxy', () => {
  assertAll(['trusted_proxy = 10.0.0.0/33', 'trusted_proxy = 300.1.1.1', 'trusted_proxy = garbage',
             'trusted_proxy = 10.0.0.0/8, ::1/129', 'trusted_proxy = 10.0.0.0/8x']
    .map((to) => [replaceLine(good, '[server]', `[server]\ntrusted_proxy = 127.0.0.1\n${to}`), to, 'trusted_proxy', to]));
});

test('check-config: trusted_proxy ranges are taken; 0.0.0.0/0 with a warning at its line, logged by the daemon too', async () => {
  let r = check(write(replaceLine(good, '[server]', '[server]\ntrusted_proxy = 10.0.0.0/8, ::1/128\ntrusted_proxy = 192.0.2.7')));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const text = replaceLine(good, '[server]', '[server]\ntrusted_proxy = 0.0.0.0/0');
  const file = write(text);
  r = check(file);
  assert.equal(r.code, 0, r.stderr);
  const want = `${file}:${lineOf(text, 'trusted_proxy = 0.0.0.0/0')}: trusted_proxy: ` +
    "'0.0.0.0/0' trusts every address: every client may set X-Forwarded-For";
  assert.ok(r.stderr.includes(`warning: ${want}`), r.stderr);
  // the daemon starts, and logs it
  const port = await freePort();
  const served = write(replaceLine(text, lineStarting(text, 'listen ='), `listen = 127.0.0.1:${port}`)
    .replace(/^public_url = .*$/m, `public_url = http://127.0.0.1:${port}`));
  const p = spawn(EIDGW_BIN, ['serve', '-c', served], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  p.stderr.on('data', (d) => { log += d; });
  try {
    assert.equal(await waitHttp(`http://127.0.0.1:${port}/healthz`), 200);
    const line = log.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.module === 'config');
    assert.equal(line?.level, 'warn', log);
    assert.ok(line.msg.endsWith("trusted_proxy: '0.0.0.0/0' trusts every address: every client may set X-Forwarded-For"), line.msg);
  } finally {
    p.kill('SIGTERM');
  }
});

test('check-config: a bad duration names file:LINE: key', () => {
  assertAll([
    ['lifetime =', 'lifetime = 1 hour', 'lifetime'],
    ['code_lifetime =', 'code_lifetime = 10x', 'code_lifetime'],
    ['timeout =', 'timeout = -3s', 'timeout'],
    ['code_lifetime =', 'code_lifetime = 1h', 'code_lifetime'], // out of range
  ].map(([prefix, to, key]) => [replaceLine(good, lineStarting(good, prefix), to), to, key, to]));
});

test('check-config: no [upstream] section is refused and named', () => {
  const lines = good.split('\n');
  const s = lines.findIndex((l) => l.startsWith('[upstream '));
  const e = lines.findIndex((l, k) => k > s && l.startsWith('['));
  lines.splice(s, e - s);
  const file = write(lines.join('\n'));
  const r = check(file);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(`${file}:`), r.stderr);
  assert.match(r.stderr, /\[upstream/);
});

test('check-config: an unknown upstream plugin names file:LINE: plugin and the known ones', () => {
  const to = 'plugin = saml-idp';
  const up = lineStarting(good, '[upstream ');
  const text = replaceLine(good, up, `${up}\n${to}`);
  const file = write(text);
  const r = check(file);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(`${file}:${lineOf(text, to)}: plugin: 'saml-idp' is not an upstream plugin (known: vneid)`),
            r.stderr);
  const ok = replaceLine(good, up, `${up}\nplugin = vneid`);
  assert.equal(check(write(ok)).code, 0);
});

test('check-config: a client defined twice names file:LINE', () => {
  const dup = '[client portal-a]';
  const text = `${good}\n${dup}\nname = again\nsecret_sha256 = ${'0'.repeat(64)}\nredirect_uri = http://127.0.0.1:18003/cb\n`;
  const file = write(text);
  const r = check(file);
  assert.equal(r.code, 1, r.stderr);
  const lines = text.split('\n');
  const second = lines.findIndex((l, k) => l === dup && k > lines.indexOf(dup)) + 1;
  assert.ok(r.stderr.includes(`${file}:${second}: `), `the second [client portal-a] at line ${second}: ${r.stderr}`);
  assert.match(r.stderr, /portal-a/);
});

test('check-config: algs with HS256 or none names file:LINE: algs', () => {
  assertAll(['algs = RS256 HS256', 'algs = none', 'algs = HS512']
    .map((to) => [replaceLine(good, lineStarting(good, 'algs ='), to), to, 'algs', to]));
});

test('check-config: min_level 3 names file:LINE: min_level', () => {
  const to = 'min_level = 3';
  const text = replaceLine(good, lineStarting(good, 'min_level =', '[client portal-a]'), to, '[client portal-a]');
  assertFailsAt(text, to, 'min_level', to);
});

test('check-config: a bad listen names file:LINE: listen', () => {
  // (serve refuses a host that is not an IPv4 address; check-config must say so first)
  assertAll(['listen = 127.0.0.1', 'listen = 127.0.0.1:70000', 'listen = 127.0.0.1:http', 'listen = not-an-address:8080']
    .map((to) => [replaceLine(good, lineStarting(good, 'listen ='), to), to, 'listen', to]));
});

test('serve with a bad configuration exits non-zero without listening', async () => {
  const port = await freePort();
  let text = replaceLine(good, lineStarting(good, 'listen ='), `listen = 127.0.0.1:${port}`);
  text = replaceLine(text, '[session]', '[session]\ncolour = blue');
  const file = write(text);
  const p = spawn(EIDGW_BIN, ['serve', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig })));
  const res = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 5000))]);
  if (!res) p.kill('SIGKILL');
  assert.ok(res, 'it exits by itself');
  assert.notEqual(res.code, 0);
  assert.equal(res.sig, null);
  assert.ok(out.includes(`${file}:`), out);
  assert.ok(!/listening/.test(out), out);
  const refused = await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  });
  assert.ok(refused, `nothing listens on ${port}`);
});

test('id check: a valid personal ID exits 0, a malformed one 1', () => {
  let r = spawnSync(EIDGW_BIN, ['id', 'check', '001085012345'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^001085012345: personal ID; born 1985; sex M/);
  r = spawnSync(EIDGW_BIN, ['id', 'check', '12ab'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /12ab: invalid/);
  assert.equal(r.stdout, '');
});

test('SIGTERM stops a running eidgw with exit 0 within 2 s', async () => {
  const port = await freePort();
  const text = replaceLine(good, lineStarting(good, 'listen ='), `listen = 127.0.0.1:${port}`)
    .replace(/^public_url = .*$/m, `public_url = http://127.0.0.1:${port}`);
  const file = write(text);
  const p = spawn(EIDGW_BIN, ['serve', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig })));
  try {
    assert.equal(await waitHttp(`http://127.0.0.1:${port}/healthz`), 200);
    // a connection left open (keep-alive) must not hold the stop up
    const idle = net.connect(port, '127.0.0.1');
    await new Promise((r) => idle.on('connect', r));
    idle.on('error', () => {});
    const t0 = Date.now();
    p.kill('SIGTERM');
    const res = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 2000))]);
    idle.destroy();
    assert.ok(res, 'exited within 2 s');
    assert.equal(res.code, 0);
    assert.equal(res.sig, null);
    assert.ok(Date.now() - t0 < 2000);
  } finally {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
});

test('check-config beside a running gateway with an audit file: ok, the database, its WAL and the audit log untouched', async () => {
  const port = await freePort();
  const text = replaceLine(good, lineStarting(good, 'listen ='), `listen = 127.0.0.1:${port}`)
    .replace(/^public_url = .*$/m, `public_url = http://127.0.0.1:${port}`) +
    `\n[audit]\npath = ${dir}/beside-audit.log\n`;
  const file = write(text);
  const p = spawn(EIDGW_BIN, ['serve', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    assert.equal(await waitHttp(`http://127.0.0.1:${port}/healthz`), 200);
    const db = text.match(/^path = (.*eidgw\.db)$/m)[1];
    const stamp = () => ['', '-wal', '-shm', '-journal', '#audit'].map((s) => {
      const f = s === '#audit' ? `${dir}/beside-audit.log` : db + s;
      try { const st = fs.statSync(f); return `${s}:${st.size}:${st.mtimeMs}`; } catch { return `${s}:-`; }
    }).join(' ');
    const before = stamp();
    const r = check(file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: ok \(/);
    assert.equal(stamp(), before);
    // a second server on the same audit file is still refused: the lock holds
    const port2 = await freePort();
    const second = spawnSync(EIDGW_BIN, ['serve', '-c', write(text.replace(`listen = 127.0.0.1:${port}`, `listen = 127.0.0.1:${port2}`))],
                             { encoding: 'utf8', timeout: 60000 });
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, /in use by another writer/);
  } finally {
    p.kill('SIGTERM');
  }
});

test('check-config writes, creates and locks nothing: the store and the audit log are only checked', () => {
  const fresh = fs.mkdtempSync(path.join(dir, 'fresh-'));
  const text = good.replace(/^path = .*eidgw\.db$/m, `path = ${fresh}/eidgw.db`) + `\n[audit]\npath = ${fresh}/audit.log\n`;
  let r = check(write(text));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(fresh), [], 'neither the database nor the audit log is created');
  // what the daemon would fail on is still named: a file that is no database, a place not writable
  fs.writeFileSync(`${fresh}/eidgw.db`, 'not a database, not at all');
  r = check(write(text));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /eidgw\.db: sqlite: file is not a database/);
  fs.rmSync(`${fresh}/eidgw.db`);
  if (process.getuid() !== 0) { // root writes anywhere
    fs.chmodSync(fresh, 0o500);
    r = check(write(text));
    fs.chmodSync(fresh, 0o700);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /eidgw\.db: cannot be created: /);
  }
});

// A copy of the test's keys directory, and a configuration that uses it.
function ownKeys(name) {
  const keys = path.join(dir, name);
  fs.cpSync(path.join(dir, 'keys'), keys, { recursive: true });
  return { keys, text: good.replace(/^dir = .*\/keys$/m, `dir = ${keys}`) };
}

test('check-config: a configuration holding a secret and readable by others is refused with its mode and the chmod', () => {
  const file = write(good);
  fs.chmodSync(file, 0o644);
  let r = check(file);
  assert.equal(r.code, 1, r.stdout);
  assert.ok(r.stderr.includes(`${file}: mode 0644 lets every user of this machine read or change it, and it holds a ` +
                              `secret: run chmod o-rwx ${file}`), r.stderr);
  assert.equal(r.stdout, '');
  // the daemon reads it the same way: it does not start
  const serve = spawnSync(EIDGW_BIN, ['serve', '-c', file], { encoding: 'utf8', timeout: 20000 });
  assert.equal(serve.status, 1, serve.stderr);
  assert.ok(serve.stderr.includes(`${file}: mode 0644 lets every user`), serve.stderr);
  fs.chmodSync(file, 0o602); // written by others is as bad
  assert.equal(check(file).code, 1);
  // secret_file_mode = warn: a warning; off: nothing
  const warn = write(replaceLine(good, '[server]', '[server]\nsecret_file_mode = warn'));
  fs.chmodSync(warn, 0o644);
  r = check(warn);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .*: mode 0644 lets every user of this machine read or change it/);
  const off = write(replaceLine(good, '[server]', '[server]\nsecret_file_mode = off'));
  fs.chmodSync(off, 0o644);
  r = check(off);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assertFailsAt(replaceLine(good, '[server]', '[server]\nsecret_file_mode = loose'), 'secret_file_mode = loose',
                'secret_file_mode', 'not a mode');
});

test('check-config: a secret file open to a group other than the daemon\'s is a warning', { skip: process.getuid() !== 0 }, () => {
  const file = write(good);
  fs.chmodSync(file, 0o640);
  assert.equal(check(file).stderr, '', 'the group is the process\'s own: as installed, root:eidgw 0640');
  fs.chownSync(file, 0, 65534);
  const r = check(file);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(`warning: ${file}: mode 0640 lets its group (gid 65534) read it, and it holds a secret: ` +
                              `run chmod g-rwx ${file}, or give it the daemon's group`), r.stderr);
});

test('check-config: cookie.key or a signing key readable by others is refused, naming the file', () => {
  for (const name of ['cookie.key', 'pairwise.key']) {
    const { keys, text } = ownKeys(`keys-${name}`);
    fs.chmodSync(path.join(keys, name), 0o644);
    const r = check(write(text));
    assert.equal(r.code, 1, `${name}: ${r.stdout}`);
    assert.ok(r.stderr.includes(`${keys}/${name}: mode 0644 lets every user of this machine read or change it, and ` +
                                `it holds a secret: run chmod o-rwx ${keys}/${name}`), r.stderr);
  }
  const { keys, text } = ownKeys('keys-jwk');
  const jwk = fs.readdirSync(keys).find((f) => f.endsWith('.jwk'));
  fs.chmodSync(path.join(keys, jwk), 0o604);
  const r = check(write(text));
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${keys}/${jwk}: mode 0604`), r.stderr);
  // as eidgw keys generate writes them: accepted
  assert.equal(check(write(ownKeys('keys-ok').text)).code, 0);
});

test('check-config: a decryption_key readable by others is refused at file:LINE: decryption_key', () => {
  const pem = path.join(dir, 'rp-open.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', pem], { stdio: 'pipe' });
  let text = replaceLine(good, lineStarting(good, 'id_token ='), 'id_token = absent');
  text = replaceLine(text, lineStarting(text, 'nonce ='), 'nonce = no');
  const to = `decryption_key = ${pem}`;
  text = replaceLine(text, lineStarting(text, 'timeout ='), `${lineStarting(text, 'timeout =')}\nprofile = encrypted\n${to}`);
  assert.equal(check(write(text)).code, 0, 'openssl writes it 0600');
  fs.chmodSync(pem, 0o644);
  assertFailsAt(text, to, 'decryption_key', 'decryption_key 0644');
  const r = check(write(text));
  assert.ok(r.stderr.includes(`${pem}: mode 0644 lets every user`), r.stderr);
});

test('check-config: accounts = yes without a [popdb] url passes with a warning that names the client', () => {
  const text = good.replace(/^\[client portal-a\]$/m, '[client portal-a]\naccounts = yes');
  const r = check(write(text));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: client 'portal-a' has accounts = yes but there is no \[popdb\] url/);
  assert.doesNotMatch(check(write(good)).stderr, /warning/);
});

// The IdP's SAML key pair in the keys dir (made once); its certificate's base64 body.
function samlCert() {
  const keys = path.join(dir, 'keys');
  if (!fs.existsSync(path.join(keys, 'saml-idp.key'))) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30', '-subj',
                             '/CN=eidgw SAML IdP', '-keyout', path.join(keys, 'saml-idp.key'),
                             '-out', path.join(keys, 'saml-idp.crt')], { stdio: 'pipe' });
  }
  return fs.readFileSync(path.join(keys, 'saml-idp.crt'), 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

// SP metadata for a SAML portal; keyDescriptor: the KeyDescriptor element(s) (may be '').
function spMetadata(keyDescriptor) {
  return `<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="http://127.0.0.1:18009/sp">
  <SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    ${keyDescriptor}
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="http://127.0.0.1:18009/acs" index="0"/>
  </SPSSODescriptor>
</EntityDescriptor>
`;
}

test('check-config: SP metadata without a signing certificate, a directory, an empty file: file:LINE: saml_metadata says which', () => {
  const cert = samlCert();
  const kd = (use) => `<KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}` +
    '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>';
  const md = (name, text) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const withSp = (p) => {
    const line = `saml_metadata = ${p}`;
    const text = `${good}\n[client saml-portal]\nname = Cổng SAML\n${line}\nscopes = openid profile\nmin_level = 1\n`;
    return { file: write(text), at: lineOf(text, line) };
  };
  // the controls: a signing key, or a key for no use in particular
  for (const ok of [kd('signing'), kd('')]) {
    const r = check(withSp(md('sp-ok.xml', spMetadata(ok))).file);
    assert.equal(r.code, 0, r.stderr);
  }
  const noKey = 'has no signing certificate';
  const cases = [
    ['no KeyDescriptor', md('sp-nokey.xml', spMetadata('')), noKey],
    ['an encryption key only', md('sp-enc.xml', spMetadata(kd('encryption'))), noKey],
    ['an empty certificate', md('sp-emptycert.xml', spMetadata(kd('signing').replace(cert, ' '))), noKey],
    ['a directory', fs.mkdirSync(path.join(dir, 'sp-dir'), { recursive: true }) || path.join(dir, 'sp-dir'),
     'is a directory, not a file'],
    ['an empty file', md('sp-empty.xml', ''), 'is empty'],
    ['a missing file', path.join(dir, 'sp-missing.xml'), 'cannot open'],
  ];
  for (const [what, p, says] of cases) {
    const { file, at } = withSp(p);
    const r = check(file);
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`${file}:${at}: saml_metadata: `), `${what}: ${r.stderr}`);
    assert.ok(r.stderr.includes(says), `${what}: ${r.stderr}`);
    if (says !== 'is empty') assert.ok(!r.stderr.includes('is empty'), `${what}: ${r.stderr}`);
  }
});

test('check-config: saml_idp_initiated = yes on a portal without saml_metadata names file:LINE: saml_idp_initiated', () => {
  const to = 'saml_idp_initiated = yes';
  const text = replaceLine(good, lineStarting(good, 'min_level =', '[client portal-a]'),
                           `${lineStarting(good, 'min_level =', '[client portal-a]')}\n${to}`, '[client portal-a]');
  const file = write(text);
  const r = check(file);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(`${file}:${lineOf(text, to)}: saml_idp_initiated: `), r.stderr);
  assert.match(r.stderr, /not a SAML portal/);
  // the control: "no" is a portal's default and is taken anywhere
  const off = check(write(text.replace(to, 'saml_idp_initiated = no')));
  assert.equal(off.code, 0, off.stderr);
});

test('check-config: saml_idp_initiated = yes on a SAML portal is taken', () => {
  const cert = samlCert();
  const f = path.join(dir, 'sp-idp-init.xml');
  fs.writeFileSync(f, spMetadata(`<KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}` +
    '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>'));
  const text = `${good}\n[client saml-init]\nsaml_metadata = ${f}\nsaml_idp_initiated = yes\nscopes = openid profile\n`;
  const r = check(write(text));
  assert.equal(r.code, 0, r.stderr);
});
