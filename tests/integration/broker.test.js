// The state machines of docs/domain.md sections 9 and 10, driven over HTTP against real processes:
// eidgw (SQLite), the VNeID simulator, the population-DB simulator, openid-client as
// the portal. Legacy accounts come in through `eidgw accounts import`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startStack, freePort, run, waitHttp, readLog, ROOT, EIDGW_BIN, secret, sha256hex, holdWriteLock, ADMIN_TOKEN } from './lib/harness.js';
import http from 'node:http';
import * as jose from 'jose';
import { discover, authRequest, loginAt, client, Agent, hidden, href, errorCode, toUpstreamCallback } from './lib/rp.js';

// The portal's own password check (legacy_callback): cbuser / cbpass is account CB-1.
let callbackDown = false;
const checker = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (callbackDown) { res.writeHead(502); res.end(); return; }
    const { username, password } = JSON.parse(body);
    const ok = username === 'cbuser' && password === 'cbpass';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { result: 'ok', account_id: 'CB-1' } : { result: 'denied' }));
  });
});

// The portal's events endpoint: answers 500 to the first delivery, then 202.
const received = [];
let deliveries = 0;
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    deliveries++;
    if (deliveries === 1) { res.writeHead(500); res.end(); return; }
    received.push({ type: req.headers['content-type'], jwt: body });
    res.writeHead(202); res.end();
  });
});

const PW = 'matkhau123';
const HASH = String(execFileSync('openssl', ['passwd', '-6', '-salt', 'tSALT', PW])).trim();
const ADMIN = ADMIN_TOKEN;
let st, popdb, popdbUrl;

const rows = [
  // id, username, name, dob, sex, cmnd, id12, verified, class
  ['A-1', 'an', 'Nguyễn Văn An', '1985-03-14', 'M', '012345678', '001085012345', 'true', 'individual'],
  ['B-1', 'binh1', 'Trần Thị Bình', '1990-07-22', 'F', '023456789', '079190023456', 'true', 'individual'],
  ['B-2', 'binh2', 'Trần Thị Bình', '1990-07-22', 'F', '', '079190023456', 'true', 'individual'],
  ['C-1', 'cuong', 'Lê Văn Cường', '1978-11-05', 'M', '201234567', '', 'false', 'individual'],
  ['D-1', 'dung', 'Phạm Thị Dung', '1995-01-30', 'F', '', '', 'false', 'individual'],
  ['E-1', 'duc', 'Hoàng Minh Đức', '1988-09-09', 'M', '031234567', '', 'false', 'individual'],
  ['F-1', 'ha', 'Nguyễn Thị Thu Hà', '1992-04-18', 'F', '186789012', '040192067890', 'true', 'individual'],
  ['G-1', 'hoa', 'Võ Thanh Hoà', '1965-12-01', 'M', '191234567', '', 'false', 'individual'],
  ['H-1', 'thuy', 'Đặng Thị Thuỷ', '1987-06-25', 'F', '361234567', '', 'false', 'individual'],
  ['O-1', 'org', 'Công ty TNHH Phần mềm Sông Hồng', '', '', '', '', 'false', 'organisation'],
  ['K-1', 'khoa', 'Phan Văn Khoa', '2005-02-02', 'M', '', '', 'false', 'individual'],
];

before(async () => {
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  await new Promise((r) => checker.listen(0, '127.0.0.1', r));
  const port = { a: await freePort(), b: await freePort() };
  const pport = await freePort();
  popdbUrl = `http://127.0.0.1:${pport}`;
  const clients = [
    { id: 'portal-a', secret: secret(), redirect: [`http://127.0.0.1:${port.a}/callback`], scopes: 'openid profile cccd',
      minLevel: 1 },
    { id: 'portal-closed', secret: secret(), redirect: [`http://127.0.0.1:${port.b}/callback`], scopes: 'openid profile',
      minLevel: 1 },
    { id: 'portal-cb', secret: secret(), redirect: [`http://127.0.0.1:${port.b}/cb`], scopes: 'openid profile',
      minLevel: 1 },
    { id: 'portal-org', secret: secret(), redirect: [`http://127.0.0.1:${port.b}/org`], scopes: 'openid profile',
      minLevel: 1, accountTypes: '1 3' },
    { id: 'portal-name', secret: secret(), redirect: [`http://127.0.0.1:${port.b}/name`], scopes: 'openid profile',
      minLevel: 1 },
  ];
  // accounts settings per client go through `extra` (appended after the client sections)
  st = await startStack('broker', {
    clients,
    extraClient: {
      'portal-a': 'accounts = yes\nlegacy_login = yes\ncutoff_individual = 2099-01-01T00:00:00+07:00\n' +
                  'cutoff_organisation = 2099-01-01T00:00:00+07:00\n' +
                  `events_uri = http://127.0.0.1:${receiver.address().port}/events\n`,
      'portal-closed': 'accounts = yes\nlegacy_login = yes\ncutoff_individual = 2024-07-01T00:00:00+07:00\n' +
                       'cutoff_organisation = 2099-01-01T00:00:00+07:00\n',
      'portal-name': 'accounts = yes\nmatch_by_name = yes\n',
      'portal-cb': 'accounts = yes\nlegacy_login = yes\ncutoff_individual = 2099-01-01T00:00:00+07:00\n' +
                   `legacy_callback = http://127.0.0.1:${checker.address().port}/check\n`,
    },
    extra: `\n[popdb]\nurl = ${popdbUrl}/check\ntimeout = 2s\n\n[limits]\nlegacy_per_account = 4/3s\n` +
           `legacy_per_ip = 1000/1m\nverify_per_account = 50/1m\nverify_per_ip = 1000/1m\nverify_per_id12 = 50/1m\n` +
           `\n[admin]\ntoken_sha256 = ${sha256hex(ADMIN)}\n\n[audit]\npath = DIR/audit.log\n`,
  });
  popdb = run('popdb-sim', process.execPath, [path.join(ROOT, 'sim/popdb/server.js'), '--port', String(pport)], { dir: st.dir });
  st.procs.push(popdb);
  await waitHttp(`${popdbUrl}/_sim/stats`);
  for (const portal of ['portal-a', 'portal-closed']) {
    const csv = path.join(st.dir, `${portal}.csv`);
    fs.writeFileSync(csv, 'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified,password_hash,account_class\n' +
      rows.map((r) => [...r.slice(0, 8), HASH, r[8]].join(',')).join('\n') + '\n');
    execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', portal, csv], { stdio: 'pipe' });
  }
});
after(async () => { await st?.stop(); receiver.close(); checker.close(); });

const popdbFaults = (f) => fetch(`${popdbUrl}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' },
                                                              body: JSON.stringify(f) });
const report = (portal = 'portal-a') =>
  JSON.parse(String(execFileSync(EIDGW_BIN, ['accounts', 'report', '-c', st.gw.conf, '--portal', portal, '--json'])));

async function portalLogin(agent, citizen, portal = 'portal-a') {
  const c = st.clients[portal];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const hop = await loginAt(agent, req.url, citizen, new URL(c.redirect[0]).origin + '/');
  return { c, config, req, hop };
}

async function redeem({ config, req }, location) {
  const t = await client.authorizationCodeGrant(config, new URL(location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  return t.claims();
}

// Post a form found on the page (by form id) with extra fields.
async function submit(agent, page, formId, fields) {
  const m = page.body.match(new RegExp(`<form[^>]*action="([^"]+)"[^>]*id="${formId}"`)) ||
            page.body.match(new RegExp(`<form[^>]*id="${formId}"[^>]*action="([^"]+)"`));
  assert.ok(m, `form ${formId} on the page`);
  const form = { ar: hidden(page.body, 'ar'), csrf: hidden(page.body, 'csrf'), ...fields };
  return agent.request(new URL(m[1], page.url).toString(), { method: 'POST', form });
}

// Start at the portal, land on eidgw's login page.
async function loginPage(agent, portal = 'portal-a', extra = {}) {
  const c = st.clients[portal];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c, extra);
  const page = await agent.follow(req.url);
  return { c, config, req, page };
}

async function legacySubmit(agent, lp, username, password) {
  const m = lp.page.body.match(/name="csrf" value="([^"]+)"/);
  return agent.request(new URL('/login/legacy', lp.page.url).toString(), { method: 'POST',
    form: { ar: hidden(lp.page.body, 'ar'), csrf: m && m[1], username, password } });
}

test('B: exactly one legacy account with the verified ID number is linked and named in the tokens', async () => {
  const agent = new Agent();
  const s = await portalLogin(agent, '001085012345');
  assert.equal(s.hop.status, 302);
  const claims = await redeem(s, s.hop.location);
  assert.equal(claims.legacy_account, 'A-1');
  assert.equal(claims.cccd, '001085012345');
  const l = await fetch(`${st.gw.url}/admin/links?portal=portal-a&id12=001085012345`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal((await l.json()).account, 'A-1');
  // a second login finds the link
  const s2 = await portalLogin(new Agent(), '001085012345');
  assert.equal((await redeem(s2, s2.hop.location)).legacy_account, 'A-1');
});

// The portal has legacy accounts, so the lock list and the link are read outside any write
// transaction and the session's write is the first to need the database's write lock.
test('B: a session that cannot be written gives a 503 and no cookie, and "try again" works once the database is free', async () => {
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const agent = new Agent();
  const cb = await toUpstreamCallback(agent, (await authRequest(config, c)).url, '001085012345'); // linked above
  assert.equal(cb.status, 302);
  const holder = holdWriteLock(st.gw.db);
  await holder.ready;
  let r;
  try { r = await agent.request(cb.location); } finally { await holder.release(); }
  assert.equal(r.status, 503, `status ${r.status}: ${r.location || ''}`);
  assert.equal(errorCode(r.body), 'server_busy');
  assert.ok(!r.headers.getSetCookie().some((x) => /^(__Host-)?eidgw_sso=/.test(x)), 'no SSO cookie');
  const retry = href(r.body, 'retry');
  assert.ok(retry, 'a "try again" link');
  const page = await agent.follow(new URL(retry, st.gw.url).toString());
  assert.equal(page.status, 200, `the login page again, not ${errorCode(page.body)}`);
  const again = await toUpstreamCallback(agent, new URL(retry, st.gw.url).toString(), '001085012345');
  const done = await agent.request(again.location);
  assert.equal(done.status, 302);
  assert.ok(done.location.startsWith(c.redirect[0]) && new URL(done.location).searchParams.get('code'), done.location);
});

test('B: several accounts -> the citizen chooses one, the others are merged into it (never deleted)', async () => {
  const agent = new Agent();
  const s = await portalLogin(agent, '079190023456');
  assert.equal(s.hop.status, 200, 'the choose page');
  assert.match(s.hop.body, /id="choose-form"/);
  assert.match(s.hop.body, /value="B-1"/);
  assert.match(s.hop.body, /value="B-2"/);
  // a second login of hers, left on its choose page in another tab
  const tab2 = new Agent();
  const s2 = await portalLogin(tab2, '079190023456');
  assert.match(s2.hop.body, /id="choose-form"/);
  const r = await submit(agent, s.hop, 'choose-form', { account: 'B-2' });
  assert.equal(r.status, 302);
  const claims = await redeem(s, r.location);
  assert.equal(claims.legacy_account, 'B-2');
  assert.deepEqual(claims.merged_accounts, ['B-1']);
  // the other tab's choice comes too late: it logs her in to the account she chose first
  const r2 = await submit(tab2, s2.hop, 'choose-form', { account: 'B-1' });
  assert.equal(r2.status, 302, `the second tab: ${r2.status}`);
  assert.equal((await redeem(s2, r2.location)).legacy_account, 'B-2');
  const rep = report();
  assert.ok(rep.merged >= 1);
  // the merged account's password no longer logs in
  const agent2 = new Agent();
  const lp = await loginPage(agent2);
  const res = await legacySubmit(agent2, lp, 'binh1', PW);
  assert.equal(res.status, 403);
  assert.match(res.body, /data-result="password_retired"/);
  // and a form posted with another browser's csrf token is refused
  const forged = await legacySubmit(new Agent(), lp, 'an', PW);
  assert.equal(forged.status, 400);
});

test('B: no legacy account -> claim an old one by its credentials (wrong password first), or continue as new', async () => {
  // Lê Văn Cường's account C-1 has no ID number: VNeID login finds nothing
  const agent = new Agent();
  const s = await portalLogin(agent, '048078034567');
  assert.equal(s.hop.status, 200);
  assert.match(s.hop.body, /id="claim-form"/);
  const bad = await submit(agent, s.hop, 'claim-form', { username: 'cuong', password: 'wrong' });
  assert.equal(bad.status, 200);
  assert.match(bad.body, /id="claim-error"/);
  const ok = await submit(agent, bad, 'claim-form', { username: 'cuong', password: PW });
  assert.equal(ok.status, 302);
  const claims = await redeem(s, ok.location);
  assert.equal(claims.legacy_account, 'C-1');
  // someone else cannot claim C-1 any more
  const other = new Agent();
  const s2 = await portalLogin(other, '038195045678'); // Phạm Thị Dung: no verified account
  const refused = await submit(other, s2.hop, 'claim-form', { username: 'cuong', password: PW });
  assert.equal(refused.status, 409);
  // ... she continues as a new account: no legacy_account claim
  const s3 = await portalLogin(new Agent(), '038195045678');
  const agent3 = new Agent();
  const s4 = await portalLogin(agent3, '038195045678');
  const fresh = await submit(agent3, s4.hop, 'new-form', {});
  assert.equal(fresh.status, 302);
  const c3 = await redeem(s4, fresh.location);
  assert.equal(c3.legacy_account, undefined);
  assert.ok(s3);
});

test('B: a claim with the right password is refused when the account holds another person or an organisation', async () => {
  // Phạm Thị Dung knows the passwords of Võ Thanh Hoà's account and of a company's account
  for (const [username, why] of [['hoa', 'refused_name_differs'], ['org', 'refused_account_type']]) {
    const agent = new Agent();
    const s = await portalLogin(agent, '038195045678');
    assert.match(s.hop.body, /id="claim-form"/);
    const r = await submit(agent, s.hop, 'claim-form', { username, password: PW });
    assert.equal(r.status, 409, username);
    assert.match(r.body, /data-result="claim_mismatch"/);
    const audit = fs.readFileSync(path.join(st.dir, 'audit.log'), 'utf8');
    assert.match(audit, new RegExp(`"event":"claim".*"result":"${why}"`), `audited as ${why}`);
  }
  for (const acct of ['G-1', 'O-1']) {
    const l = await fetch(`${st.gw.url}/admin/links?portal=portal-a&account=${acct}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = await l.json();
    assert.equal(body.id12, undefined, `${acct} stays unlinked: ${l.status} ${JSON.stringify(body)}`);
  }
});

test('A: legacy login with a verified ID number logs in with acr legacy', async () => {
  const agent = new Agent();
  const lp = await loginPage(agent);
  assert.match(lp.page.body, /id="legacy-form"/);
  const r = await legacySubmit(agent, lp, 'ha', PW);
  assert.equal(r.status, 302);
  const claims = await redeem(lp, r.location);
  assert.equal(claims.acr, 'urn:vn:eid:legacy');
  assert.equal(claims.legacy_account, 'F-1');
});

test('A: a portal that checks passwords itself (legacy_callback): good, wrong, and down', async () => {
  const csv = path.join(st.dir, 'cb.csv');
  fs.writeFileSync(csv, 'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified\n' +
    'CB-1,cbuser,Ngô Thị Mai,1982-01-01,F,,027182123456,true\n');
  execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', 'portal-cb', csv], { stdio: 'pipe' });
  const agent = new Agent();
  const lp = await loginPage(agent, 'portal-cb');
  const bad = await legacySubmit(agent, lp, 'cbuser', 'nope');
  assert.equal(bad.status, 401);
  callbackDown = true;
  const down = await legacySubmit(agent, lp, 'cbuser', 'cbpass');
  assert.equal(down.status, 503);
  assert.match(down.body, /data-result="legacy_unavailable"/);
  callbackDown = false;
  const ok = await legacySubmit(agent, lp, 'cbuser', 'cbpass');
  assert.equal(ok.status, 302);
  assert.equal((await redeem(lp, ok.location)).legacy_account, 'CB-1');
});

test('A: wrong password and unknown user get the same answer; the per-account limit trips and resets', async () => {
  const agent = new Agent();
  const lp = await loginPage(agent);
  const a = await legacySubmit(agent, lp, 'dung', 'wrong');
  const b = await legacySubmit(agent, lp, 'nobody-here', 'wrong');
  assert.equal(a.status, 401);
  assert.equal(b.status, 401);
  const msg = (x) => x.body.match(/id="legacy-error"[^>]*>([^<]*)</)[1];
  assert.equal(msg(a), msg(b));
  let last;
  for (let i = 0; i < 5; i++) last = await legacySubmit(agent, lp, 'dung', 'wrong');
  assert.equal(last.status, 429, 'locked out after the limit');
  const right = await legacySubmit(agent, lp, 'dung', PW);
  assert.equal(right.status, 429, 'even the right password waits');
  await new Promise((r) => setTimeout(r, 3500));
  const again = await legacySubmit(agent, lp, 'dung', PW);
  assert.notEqual(again.status, 429, 'the limit resets after its window');
});

test('A: an unknown username costs the portal\'s own hash scheme, not a stand-in of another cost', async () => {
  const checks = async () => (await (await fetch(`${st.gw.url}/admin/status`,
    { headers: { authorization: `Bearer ${ADMIN}` } })).json()).password_checks;
  const agent = new Agent();
  const lp = await loginPage(agent);
  const before = await checks();
  const a = await legacySubmit(agent, lp, 'an', 'wrong');
  const b = await legacySubmit(agent, lp, 'nobody-at-all', 'wrong');
  assert.equal(a.status, 401);
  assert.equal(b.status, 401);
  const after = await checks();
  // portal-a's accounts are sha512-crypt: both answers did one sha512-crypt check
  assert.equal(after['sha512-crypt'] - before['sha512-crypt'], 2);
  assert.equal(after.bcrypt - before.bcrypt, 0);
});

test('A: no ID number and no CMND -> sent to VNeID', async () => {
  const agent = new Agent();
  const lp = await loginPage(agent);
  const r = await legacySubmit(agent, lp, 'khoa', PW);
  assert.equal(r.status, 200);
  assert.match(r.body, /data-result="no_cmnd"/);
  assert.match(r.body, /id="vneid"/);
});

test('A: the 356 process: bad number -> field error; NO_MATCH; outage not counted; MATCH -> linked and logged in', async () => {
  const agent = new Agent();
  const lp = await loginPage(agent);
  const need = await legacySubmit(agent, lp, 'duc', PW);
  assert.equal(need.status, 200);
  assert.match(need.body, /id="id12-form"/);
  let r = await submit(agent, need, 'id12-form', { id12: '12345' });
  assert.equal(r.status, 400);
  assert.match(r.body, /id="id12-error"/);
  // wrong number (another citizen's) -> no match
  r = await submit(agent, need, 'id12-form', { id12: '001085012345' });
  assert.match(r.body, /data-result="verify_failed"/);
  assert.match(r.body, /id="vneid"/);
  // the population DB is down: "try later", 503, not a mismatch
  await popdbFaults({ status: 503 });
  r = await submit(agent, need, 'id12-form', { id12: '031088056789' });
  assert.equal(r.status, 503);
  assert.match(r.body, /data-result="verify_unavailable"/);
  await popdbFaults({});
  // the name in the register is "Hoàng Minh Đức": MATCH
  r = await submit(agent, need, 'id12-form', { id12: '031088056789' });
  assert.equal(r.status, 200);
  assert.match(r.body, /data-result="verify_success"/);
  const cont = await agent.request(new URL('/login/legacy/continue', r.url).toString(), { method: 'POST',
    form: { ar: hidden(r.body, 'ar'), csrf: hidden(r.body, 'csrf') } });
  assert.equal(cont.status, 302);
  const claims = await redeem(lp, cont.location);
  assert.equal(claims.legacy_account, 'E-1');
  // the link exists, and the password no longer logs in
  const l = await fetch(`${st.gw.url}/admin/links?portal=portal-a&account=E-1`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal((await l.json()).id12, '031088056789');
  const agent2 = new Agent();
  const lp2 = await loginPage(agent2);
  const again = await legacySubmit(agent2, lp2, 'duc', PW);
  assert.equal(again.status, 403);
  assert.match(again.body, /data-result="password_retired"/);
});

test('A: a verified ID number already linked to another account is the duplicate path', async () => {
  // H-1 (Đặng Thị Thuỷ) verifies with Nguyễn Văn An's number? No: the register must match.
  // Link H-1's real number to another account first, then verify H-1 -> duplicate.
  await fetch(`${st.gw.url}/admin/links`, { method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ portal: 'portal-a', id12: '092187089012', account: 'SOME-OTHER' }) });
  const agent = new Agent();
  const lp = await loginPage(agent);
  const need = await legacySubmit(agent, lp, 'thuy', PW);
  const r = await submit(agent, need, 'id12-form', { id12: '092187089012' });
  assert.equal(r.status, 409);
  assert.match(r.body, /data-result="duplicate"/);
});

test('A: after the cutoff the legacy form is gone and a posted password is refused', async () => {
  const agent = new Agent();
  const lp = await loginPage(agent, 'portal-closed');
  // organisations keep legacy login until their own cutoff, so the form still shows
  assert.match(lp.page.body, /id="legacy-form"/);
  const r = await legacySubmit(agent, lp, 'dung', PW);
  assert.equal(r.status, 403);
  assert.match(r.body, /data-result="legacy_closed"/);
  const org = await legacySubmit(agent, lp, 'org', PW);
  assert.notEqual(org.status, 403, 'an organisation account may still log in');
});

test('A: after the cutoff an existing account with a wrong password and an unknown username get the same answer', async () => {
  const agent = new Agent();
  const lp = await loginPage(agent, 'portal-closed');
  const wrong = await legacySubmit(agent, lp, 'dung', 'not-the-password');
  const unknown = await legacySubmit(agent, await loginPage(agent, 'portal-closed'), 'no-such-user-x', 'whatever');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.doesNotMatch(wrong.body, /legacy_closed/);
});

test('races: concurrent VNeID logins for one ID number give one link, the rest follow it', async () => {
  // Võ Thanh Hoà has one unverified account; make a verified account for a fresh citizen
  const csv = path.join(st.dir, 'race.csv');
  fs.writeFileSync(csv, 'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified,password_hash\n' +
    `R-1,race1,Lâm Thị Kim Oanh,1993-01-01,F,,075193212345,true,${HASH}\n`);
  execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', 'portal-a', csv], { stdio: 'pipe' });
  const results = await Promise.all(Array.from({ length: 12 }, async () => {
    const s = await portalLogin(new Agent(), '075193212345');
    return s.hop.status === 302 ? (await redeem(s, s.hop.location)).legacy_account : `status ${s.hop.status}`;
  }));
  assert.deepEqual([...new Set(results)], ['R-1']);
});

test('lock list: a locked ID number is refused with the reason category and its sessions end', async () => {
  const agent = new Agent();
  const s = await portalLogin(agent, '040192067890');
  assert.equal(s.hop.status, 302);
  const r = await fetch(`${st.gw.url}/admin/locks`, { method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id12: '040192067890', reason: 'AUTHORITY_REQUEST' }) });
  assert.equal(r.status, 200);
  // the SSO session is gone at once
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const again = await agent.request((await authRequest(config, c)).url);
  assert.ok(again.location.includes('/login?'), 'no SSO after the lock');
  const s2 = await portalLogin(new Agent(), '040192067890');
  assert.equal(s2.hop.status, 403);
  assert.match(s2.hop.body, /id="error-code">locked</);
  assert.match(s2.hop.body, /id="error-detail">Lý do: theo yêu cầu của cơ quan có thẩm quyền\.</);
});

test('events: link and merge reach the portal as signed SETs, retried until acknowledged', async () => {
  const end = Date.now() + 20000;
  while (Date.now() < end && !received.some((e) => e.jwt.length && JSON.stringify(jose.decodeJwt(e.jwt).events).includes('accounts-merged')))
    await new Promise((r) => setTimeout(r, 200));
  assert.ok(deliveries >= 2, 'the first delivery failed and was retried');
  const jwks = jose.createRemoteJWKSet(new URL(`${st.gw.url}/jwks`));
  const types = new Set();
  for (const e of received) {
    assert.equal(e.type, 'application/secevent+jwt');
    const { payload, protectedHeader } = await jose.jwtVerify(e.jwt, jwks, { issuer: st.gw.url, audience: 'portal-a' });
    assert.equal(protectedHeader.typ, 'secevent+jwt');
    for (const [k, v] of Object.entries(payload.events)) {
      types.add(k);
      if (k === 'urn:eidgw:event:accounts-merged') assert.deepEqual(v, { primary: 'B-2', merged: ['B-1'] });
    }
  }
  assert.ok(types.has('urn:eidgw:event:account-linked'));
  assert.ok(types.has('urn:eidgw:event:accounts-merged'));
});

test('bulk verify: matches become verified, an outage stops and the next run resumes', async () => {
  const csv = path.join(st.dir, 'verify.csv');
  // V-1 and V-3 match the register; V-2 carries a wrong CMND
  fs.writeFileSync(csv, 'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified\n' +
    'V-1,v1,Võ Thanh Hoà,1965-12-01,M,191234567,046065078901,false\n' +
    'V-2,v2,Đặng Thị Thuỷ,1987-06-25,F,999999999,092187089012,false\n' +
    'V-3,v3,Lý Thị Hồng,1976-08-08,F,,089176145678,false\n');
  const cz = JSON.parse(fs.readFileSync(path.join(ROOT, 'sim/citizens.json'), 'utf8'));
  const hong = cz.find((c) => c.id12 === '089176145678');
  fs.writeFileSync(csv, fs.readFileSync(csv, 'utf8').replace(',,089176145678', `,${hong.cmnd9},089176145678`)
                                                 .replace('Lý Thị Hồng,1976-08-08', `${hong.name},${hong.birthdate}`));
  execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', 'portal-a', csv], { stdio: 'pipe' });
  const run = (...a) => {
    try { return { code: 0, out: String(execFileSync(EIDGW_BIN, ['accounts', 'verify', '-c', st.gw.conf, '--portal', 'portal-a', '--rate', '50', ...a], { stdio: 'pipe' })) }; }
    catch (e) { return { code: e.status, out: String(e.stdout), err: String(e.stderr) }; }
  };
  const dry = run('--dry-run');
  assert.equal(dry.code, 0);
  assert.match(dry.out, /3 accounts to check/);
  const before = report().id_verified;
  await popdbFaults({ status: 503 });
  const down = run();
  assert.equal(down.code, 1);
  assert.match(down.err, /population DB is unavailable/);
  assert.equal(report().id_verified, before, 'an outage verifies nothing and counts nothing');
  await popdbFaults({});
  const ok = run();
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /checked 3 \(match 2, no match 1\)/);
  assert.equal(report().id_verified, before + 2);
  // a second run has nothing left
  assert.match(run().out, /checked 0/);
  // the first VNeID login of a verified citizen now links at once
  const s = await portalLogin(new Agent(), '046065078901');
  assert.equal(s.hop.status, 302);
  assert.equal((await redeem(s, s.hop.location)).legacy_account, 'V-1');
});

test('races: concurrent 356 verifications of one ID number by several accounts give one link, the rest the duplicate path', async () => {
  const csv = path.join(st.dir, 'race356.csv');
  fs.writeFileSync(csv, 'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified,password_hash\n' +
    Array.from({ length: 6 }, (_, i) => `M-${i},mai${i},Ngô Thị Mai,1982-10-10,F,125234567,,false,${HASH}`).join('\n') + '\n');
  execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', 'portal-a', csv], { stdio: 'pipe' });
  // each account passes its password and reaches the ID-number form ...
  const pages = await Promise.all(Array.from({ length: 6 }, async (_, i) => {
    const agent = new Agent();
    const lp = await loginPage(agent);
    return { agent, need: await legacySubmit(agent, lp, `mai${i}`, PW) };
  }));
  for (const p of pages) assert.match(p.need.body, /id="id12-form"/);
  // ... then all submit the same (true) number at once
  const results = await Promise.all(pages.map(({ agent, need }) => submit(agent, need, 'id12-form', { id12: '027182123456' })
    .then((r) => (r.body.match(/data-result="([a-z_]+)"/) || [])[1])));
  assert.equal(results.filter((x) => x === 'verify_success').length, 1, results.join(','));
  assert.equal(results.filter((x) => x === 'duplicate').length, 5, results.join(','));
});

test('the population-DB oracle is rate-limited per account and per ID number', async () => {
  const csv = path.join(st.dir, 'rl.csv');
  fs.writeFileSync(csv, 'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified,password_hash\n' +
    `N-1,nga,Vũ Thị Nga,1960-01-20,F,162567890,,false,${HASH}\n`);
  execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', 'portal-a', csv], { stdio: 'pipe' });
  const agent = new Agent();
  const lp = await loginPage(agent);
  const need = await legacySubmit(agent, lp, 'nga', PW);
  let last;
  for (let i = 0; i < 50; i++) {
    last = await submit(agent, need, 'id12-form', { id12: '001090123456' }); // not hers: NO_MATCH
    assert.match(last.body, /data-result="verify_failed"/);
  }
  last = await submit(agent, need, 'id12-form', { id12: '036160167890' });
  assert.equal(last.status, 429, 'the 51st check within the window is refused, even with the right number');
  assert.match(last.body, /data-result="rate_limited"/);
});

test('a 356 verification belongs to the account that earned it (no carry-over inside one login)', async () => {
  const csv = path.join(st.dir, 'carry.csv');
  fs.writeFileSync(csv, 'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified,password_hash\n' +
    `Q-1,quoc,Phan Văn Khoa,2005-02-02,M,,,false,${HASH}\n` +
    `Q-2,nga2,Vũ Thị Nga,1960-01-20,F,162567890,,false,${HASH}\n`);
  execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', 'portal-a', csv], { stdio: 'pipe' });
  const agent = new Agent();
  const lp = await loginPage(agent);
  const need = await legacySubmit(agent, lp, 'nga2', PW);
  const ok = await submit(agent, need, 'id12-form', { id12: '036160167890' });
  assert.match(ok.body, /data-result="verify_success"/);
  // the same login now names another account (no CMND, no ID number) ...
  const other = await legacySubmit(agent, lp, 'quoc', PW);
  assert.match(other.body, /data-result="no_cmnd"/);
  // ... and "continue" must not log that account in
  const cont = await agent.request(new URL('/login/legacy/continue', ok.url).toString(), { method: 'POST',
    form: { ar: hidden(ok.body, 'ar'), csrf: hidden(ok.body, 'csrf') } });
  assert.equal(cont.status, 400);
  assert.equal(st.gw.proc.exitCode, null, 'eidgw is still running');
});

test('the choose step cannot be skipped by posting "continue as new"', async () => {
  // a fresh pair of verified accounts for one citizen
  const csv = path.join(st.dir, 'skip.csv');
  fs.writeFileSync(csv, 'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified\n' +
    'S-1,s1,Bùi Quang Huy,2001-01-01,M,,001201090123,true\nS-2,s2,Bùi Quang Huy,2001-01-01,M,,001201090123,true\n');
  execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', 'portal-a', csv], { stdio: 'pipe' });
  const agent = new Agent();
  const s = await portalLogin(agent, '001201090123');
  assert.match(s.hop.body, /id="choose-form"/);
  const r = await agent.request(new URL('/link/new', s.hop.url).toString(), { method: 'POST',
    form: { ar: hidden(s.hop.body, 'ar'), csrf: hidden(s.hop.body, 'csrf') } });
  assert.equal(r.status, 400);
  const c = await agent.request(new URL('/link/claim', s.hop.url).toString(), { method: 'POST',
    form: { ar: hidden(s.hop.body, 'ar'), csrf: hidden(s.hop.body, 'csrf'), username: 's1', password: 'x' } });
  assert.equal(c.status, 400);
});

test('an SSO session is not reused where the account type is refused', async () => {
  const agent = new Agent();
  const s = await portalLogin(agent, '0101234567', 'portal-org'); // an organisation account
  assert.equal(s.hop.status, 302);
  const c = st.clients['portal-closed'];
  const config = await discover(st.gw.url, c);
  const again = await agent.request((await authRequest(config, c)).url);
  assert.ok(again.location && again.location.includes('/login?'), `no code for a citizen-only portal: ${again.location}`);
});

test('admin unlink is not undone by the next login', async () => {
  const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const r = await fetch(`${st.gw.url}/admin/links/unlink`, { method: 'POST', headers: auth,
    body: JSON.stringify({ portal: 'portal-a', id12: '001085012345', reason: 'wrong person' }) });
  assert.equal(r.status, 200);
  const s = await portalLogin(new Agent(), '001085012345');
  assert.equal(s.hop.status, 200, 'no automatic re-link: the citizen chooses what to do');
  const l = await fetch(`${st.gw.url}/admin/links?portal=portal-a&id12=001085012345`, { headers: auth });
  assert.equal(l.status, 404);
});

test('match by name: an old account with the same name and a matching CMND is found without typing', async () => {
  // Hoàng Minh Đức (031088056789, CMND 031234567) has an old account with his CMND but no
  // ID number; a namesake's account carries another CMND
  const csv = path.join(st.dir, 'name.csv');
  fs.writeFileSync(csv, 'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified\n' +
    'N-1,duc-old,Hoàng Minh Đức,1988-09-09,M,031234567,,false\n' +
    'N-2,duc-other,Hoàng Minh Đức,1970-01-01,M,999888777,,false\n');
  execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', 'portal-name', csv], { stdio: 'pipe' });
  const s = await portalLogin(new Agent(), '031088056789', 'portal-name');
  assert.equal(s.hop.status, 302, 'linked at once');
  assert.equal((await redeem(s, s.hop.location)).legacy_account, 'N-1', 'the account whose CMND matches, not the namesake');
  const auth = { authorization: `Bearer ${ADMIN}` };
  const l = await fetch(`${st.gw.url}/admin/links?portal=portal-name&account=N-1`, { headers: auth });
  assert.equal((await l.json()).id12, '031088056789');
  const other = await fetch(`${st.gw.url}/admin/links?portal=portal-name&account=N-2`, { headers: auth });
  assert.equal(other.status, 404);
});

// Where an SSO /authorize runs: it may ask the population DB (match by name) only for a
// portal that matches by name, and then it goes to the upstream pool, not the local one.
test('an SSO /authorize runs on the upstream pool where it may ask the population DB, else on the local pool', async () => {
  const authorizeLines = () => readLog(st.gw.proc).split('\n').filter((l) => l.includes('"path":"/authorize"'));
  async function ranOn(agent, portal) {
    const before = authorizeLines().length;
    const c = st.clients[portal];
    const r = await agent.request((await authRequest(await discover(st.gw.url, c), c)).url);
    assert.ok(r.status === 302 || r.status === 200, `${portal}: ${r.status}`);
    for (let i = 0; i < 50 && authorizeLines().length === before; i++) await new Promise((res) => setTimeout(res, 20));
    const lines = authorizeLines();
    assert.equal(lines.length, before + 1, 'one logged /authorize');
    return JSON.parse(lines.at(-1)).ran_on;
  }
  const agent = new Agent();
  const s = await portalLogin(agent, '031088056789'); // Đức, linked at portal-name above
  assert.ok(s.hop.status === 302 || s.hop.status === 200, `first login: ${s.hop.status}`);
  assert.equal(await ranOn(agent, 'portal-name'), 'upstream');
  assert.equal(await ranOn(agent, 'portal-a'), 'local');
  assert.equal(await ranOn(new Agent(), 'portal-name'), 'io', 'no session: the login page, on the I/O thread');
});

test('audit: the chain verifies and names a changed byte', async () => {
  const log = path.join(st.dir, 'audit.log');
  const ok = execFileSync(EIDGW_BIN, ['audit', 'verify', log]);
  assert.match(String(ok), /ok/);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  assert.ok(lines.length > 10);
  const events = lines.filter(Boolean).map((l) => JSON.parse(l).event);
  for (const e of ['link', 'merge', 'popdb_check', 'legacy_login']) assert.ok(events.includes(e), `audits ${e}`);
  const k = 5;
  lines[k - 1] = lines[k - 1].replace(/"portal":"portal-a"/, '"portal":"portal-b"');
  const bad = path.join(st.dir, 'audit-bad.log');
  fs.writeFileSync(bad, lines.join('\n'));
  let err;
  try { execFileSync(EIDGW_BIN, ['audit', 'verify', bad], { stdio: 'pipe' }); } catch (e) { err = e; }
  assert.ok(err);
  assert.match(String(err.stdout) + String(err.stderr), new RegExp(`:${k}:`));
});
