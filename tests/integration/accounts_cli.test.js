// `eidgw accounts import|report|help` on a SQLite store: good CSV and JSONL files go in
// whole; one bad row (one case per field rule) fails the whole file with FILE:LINE: field:
// and leaves the store as it was; re-importing changes nothing; a SIGKILL half-way leaves
// the store as before; TCVN3/VNI names are imported unchanged and flagged; --dry-run writes
// nothing; usage errors exit 2.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EIDGW_BIN, configText, secret, writeSecretFile } from './lib/harness.js';

const PORTAL = 'portal-a';
const COLUMNS = ['account_id', 'username', 'full_name', 'birth_date', 'sex', 'cmnd', 'id_number', 'id_verified',
                 'email', 'phone', 'status', 'password_hash', 'account_class'];
const HEADER = COLUMNS.join(',');
const BCRYPT = '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234';
const ARGON = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

let root;
let n = 0;

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-accounts-cli-'));
});

// A fresh store and config: { dir, conf, db, file(name, text) }.
function setup() {
  const dir = path.join(root, `s${++n}`);
  fs.mkdirSync(dir);
  const up = 'http://127.0.0.1:9';
  const clients = [
    { id: PORTAL, secret: secret(), redirect: ['http://127.0.0.1:18001/callback'], scopes: 'openid', minLevel: 1 },
    { id: 'portal-b', secret: secret(), redirect: ['http://127.0.0.1:18002/callback'], scopes: 'openid', minLevel: 1 },
  ];
  const conf = path.join(dir, 'eidgw.conf');
  writeSecretFile(conf, configText({
    gwPort: 18000, dir, clients,
    upstream: { issuer: up, authorization_endpoint: `${up}/auth`, token_endpoint: `${up}/token`,
                userinfo_endpoint: `${up}/userinfo`, jwks_uri: `${up}/jwks`, client_id: 'eidgw', client_secret: secret() },
  }));
  const file = (name, text) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };
  return { dir, conf, db: path.join(dir, 'eidgw.db'), file };
}

function eidgw(args, opts = {}) {
  const r = spawnSync(EIDGW_BIN, args, { encoding: 'utf8', timeout: 60000, ...opts });
  return { code: r.status, out: r.stdout, err: r.stderr, signal: r.signal };
}

const importFile = (s, file, ...more) => eidgw(['accounts', 'import', '-c', s.conf, '--portal', PORTAL, file, ...more]);

function report(s, portal = PORTAL) {
  const r = eidgw(['accounts', 'report', '-c', s.conf, '--portal', portal, '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

function sql(db, q) {
  return String(execFileSync('sqlite3', ['-separator', '|', db, q])).trim();
}

const csvField = (v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

// One CSV line in COLUMNS order; fields not given are empty.
function row(fields) {
  return COLUMNS.map((c) => csvField(fields[c] ?? '')).join(',');
}

const GOOD = [
  { account_id: 'a1', username: 'an.nguyen', full_name: 'Nguyễn Văn An', birth_date: '1985-03-02', sex: 'nam',
    cmnd: '012345678', id_number: '001085123456', id_verified: 'true', email: 'an@example.vn', phone: '0912 345 678',
    status: 'active', password_hash: BCRYPT, account_class: 'individual' },
  { account_id: 'a2', username: 'binh.tran', full_name: 'Trần Thị Bình', birth_date: '1990-12-31', sex: 'nữ',
    status: 'disabled' },
  { account_id: 'a3', username: 'cty.abc', full_name: 'Công ty "ABC", chi nhánh 1', password_hash: ARGON,
    account_class: 'organisation' },
];

const goodCsv = () => [HEADER, ...GOOD.map(row)].join('\n') + '\n';

// A store holding the three good accounts, and its report.
function seeded() {
  const s = setup();
  const r = importFile(s, s.file('seed.csv', goodCsv()));
  assert.equal(r.code, 0, r.err);
  return { s, before: report(s) };
}

// ---- help and usage ----

test('help prints the usage and exits 0', () => {
  const r = eidgw(['accounts', 'help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /usage: eidgw accounts/);
  assert.match(r.out, /import -c CONF --portal P FILE/);
  assert.match(r.out, /report -c CONF --portal P/);
});

test('usage errors exit 2 with a message', () => {
  const s = setup();
  const f = s.file('x.csv', goodCsv());
  const cases = [
    [['accounts']],
    [['accounts', 'frobnicate']],
    [['accounts', 'import', '-c', s.conf, '--portal', PORTAL]],
    [['accounts', 'import', '-c', s.conf, f]],
    [['accounts', 'import', '--portal', PORTAL, f]],
    [['accounts', 'import', '-c', s.conf, '--portal', PORTAL, f, '--format', 'xml']],
    [['accounts', 'import', '-c', s.conf, '--portal', PORTAL, f, '--bogus']],
    [['accounts', 'import', '-c', s.conf, '--portal', PORTAL, f, 'second.csv']],
    [['accounts', 'import', '-c', s.conf, '--portal', PORTAL, f, '--json']],
    [['accounts', 'report', '-c', s.conf]],
    [['accounts', 'report', '-c', s.conf, '--portal', PORTAL, '--dry-run']],
    [['accounts', 'report', '-c', s.conf, '--portal']],
  ];
  for (const [args] of cases) {
    const r = eidgw(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^eidgw accounts: .+/, args.join(' '));
    assert.equal(r.out, '', args.join(' '));
  }
  assert.equal(fs.existsSync(s.db), false, 'no store was created');
});

test('an unknown portal, a missing file or a bad config is an error (exit 1)', () => {
  const s = setup();
  const f = s.file('x.csv', goodCsv());
  let r = eidgw(['accounts', 'import', '-c', s.conf, '--portal', 'nope', f]);
  assert.equal(r.code, 1);
  assert.match(r.err, /unknown portal 'nope'/);
  r = eidgw(['accounts', 'report', '-c', s.conf, '--portal', 'nope']);
  assert.equal(r.code, 1);
  assert.match(r.err, /unknown portal 'nope'/);
  r = importFile(s, path.join(s.dir, 'missing.csv'));
  assert.equal(r.code, 1);
  assert.match(r.err, /missing\.csv: No such file/);
  r = eidgw(['accounts', 'report', '-c', path.join(s.dir, 'none.conf'), '--portal', PORTAL]);
  assert.equal(r.code, 1);
  assert.ok(r.err.length > 0);
});

// ---- good files ----

test('a good CSV is imported whole (BOM, CRLF, quoting, any column order)', () => {
  const s = setup();
  const cols = [...COLUMNS].reverse();
  const lines = [cols.join(','), ...GOOD.map((g) => cols.map((c) => csvField(g[c] ?? '')).join(','))];
  // a quoted field over two lines, and a blank line at the end
  lines.push(cols.map((c) => csvField({ account_id: 'a4', username: 'dung', full_name: 'Phạm\nDũng' }[c] ?? '')).join(','));
  const f = s.file('good.csv', '\ufeff' + lines.join('\r\n') + '\r\n\r\n');
  const r = importFile(s, f);
  assert.equal(r.code, 1, 'a newline inside a name is a control character');
  assert.match(r.err, new RegExp(`${f}:5: full_name: `));

  lines.pop();
  lines.push(cols.map((c) => csvField({ account_id: 'a4', username: 'dung', full_name: 'Phạm  Dũng ', email: 'x@y' }[c] ?? '')).join(','));
  fs.writeFileSync(f, '\ufeff' + lines.join('\r\n') + '\r\n\r\n');
  const ok = importFile(s, f);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(ok.out, `imported ${PORTAL}: 4 rows (inserted 4, updated 0, unchanged 0), 0 warnings, 0 legacy-encoded names\n`);
  assert.deepEqual(report(s), {
    portal: PORTAL, total: 4, with_id_number: 1, id_verified: 1, with_cmnd: 1, linked: 0, merged: 0,
    duplicate_groups: 0, duplicate_accounts: 0, unverified: 3, legacy_encoding: 0,
  });
  assert.equal(sql(s.db, "SELECT username, full_name, sex, cmnd9, id12, id12_verified, verified_by, status FROM accounts WHERE id='a1'"),
               'an.nguyen|Nguyễn Văn An|M|012345678|001085123456|1|import|active');
  assert.equal(sql(s.db, "SELECT full_name, sex, status, birthdate FROM accounts WHERE id='a2'"), 'Trần Thị Bình|F|disabled|1990-12-31');
  assert.equal(sql(s.db, "SELECT full_name, account_class, pw_hash FROM accounts WHERE id='a3'"),
               `Công ty "ABC", chi nhánh 1|organisation|${ARGON}`);
  assert.equal(sql(s.db, "SELECT full_name, name_key, status FROM accounts WHERE id='a4'"), 'Phạm Dũng|pham5 dung4|active');
  // the display form is NFC and the comparison key ignores tone placement
  assert.equal(sql(s.db, "SELECT name_key FROM accounts WHERE id='a1'"), 'nguyên4 văn0 an0');
});

test('a good JSONL file is imported whole (blank lines, booleans, nulls)', () => {
  const s = setup();
  const objs = GOOD.map((g) => ({ ...g }));
  objs[0].id_verified = true;
  objs[1].cmnd = null;
  objs[2].id_verified = false;
  const text = objs.map((o) => JSON.stringify(o)).join('\n\n') + '\n   \n';
  const f = s.file('good.jsonl', text);
  const r = importFile(s, f);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `imported ${PORTAL}: 3 rows (inserted 3, updated 0, unchanged 0), 0 warnings, 0 legacy-encoded names\n`);
  const rep = report(s);
  assert.equal(rep.total, 3);
  assert.equal(rep.id_verified, 1);
  assert.equal(sql(s.db, "SELECT full_name FROM accounts WHERE id='a3'"), 'Công ty "ABC", chi nhánh 1');
  // the same rows as CSV are the same accounts: nothing changes
  const again = importFile(s, s.file('same.csv', goodCsv()));
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /\(inserted 0, updated 0, unchanged 3\)/);
  // --format overrides the file name
  const g = s.file('data.txt', text);
  const fmt = importFile(s, g, '--format', 'jsonl');
  assert.equal(fmt.code, 0, fmt.err);
  assert.match(fmt.out, /unchanged 3\)/);
});

test('standard input is read with FILE -', () => {
  const s = setup();
  const r = eidgw(['accounts', 'import', '-c', s.conf, '--portal', PORTAL, '-'], { input: goodCsv() });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /: 3 rows \(inserted 3,/);
});

test('re-importing the same file changes nothing; a changed row is an update', () => {
  const { s, before: rep } = seeded();
  const f = s.file('again.csv', goodCsv());
  const stamp = sql(s.db, "SELECT group_concat(updated) FROM accounts ORDER BY id");
  const r = importFile(s, f);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `imported ${PORTAL}: 3 rows (inserted 0, updated 0, unchanged 3), 0 warnings, 0 legacy-encoded names\n`);
  assert.deepEqual(report(s), rep);
  assert.equal(sql(s.db, "SELECT group_concat(updated) FROM accounts ORDER BY id"), stamp);
  const changed = [HEADER, row(GOOD[0]), row({ ...GOOD[1], email: 'binh@example.vn' }), row(GOOD[2]),
                   row({ account_id: 'a9', username: 'new', full_name: 'Võ Thị Sáu' })].join('\n');
  const u = importFile(s, s.file('changed.csv', changed));
  assert.equal(u.code, 0, u.err);
  assert.match(u.out, /: 4 rows \(inserted 1, updated 1, unchanged 2\)/);
});

test('a number confirmed since the import (population DB, VNeID) is kept by a re-import', () => {
  const { s } = seeded();
  // what the 3-item check does to a2: number confirmed by the population DB
  sql(s.db, "UPDATE accounts SET state=1, id12='001190000123', id12_verified=1, verified_by='popdb' WHERE id='a2'");
  const f = s.file('again.csv', goodCsv());
  const r = importFile(s, f);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /\(inserted 0, updated 0, unchanged 3\), 0 warnings/);
  assert.equal(sql(s.db, "SELECT state, id12, id12_verified, verified_by FROM accounts WHERE id='a2'"),
               '1|001190000123|1|popdb');
  // a different number in the file is a warning; the confirmed one stays
  const other = [HEADER, row(GOOD[0]), row({ ...GOOD[1], id_number: '001190000999' }), row(GOOD[2])].join('\n');
  const g = s.file('other.csv', other);
  const o = importFile(s, g);
  assert.equal(o.code, 0, o.err);
  assert.match(o.err, new RegExp(`${g}:3: id_number: warning: differs from the number confirmed by popdb`));
  assert.match(o.out, /unchanged 3\), 1 warnings/);
  assert.equal(sql(s.db, "SELECT id12, verified_by FROM accounts WHERE id='a2'"), '001190000123|popdb');
});

test('an ID number that disagrees with birth date or sex is a warning, not an error', () => {
  const s = setup();
  // 001085...: born 1985, male; the row says 1986 and female
  const text = [HEADER, row({ account_id: 'w1', username: 'w1', full_name: 'Lê Thị Hoa', birth_date: '1986-01-01',
                              sex: 'F', id_number: '001085123456' })].join('\n');
  const f = s.file('warn.csv', text);
  const r = importFile(s, f);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`${f}:2: id_number: warning: birth year 1985`));
  assert.match(r.err, new RegExp(`${f}:2: id_number: warning: sex M`));
  assert.equal(r.out, `imported ${PORTAL}: 1 rows (inserted 1, updated 0, unchanged 0), 2 warnings, 0 legacy-encoded names\n`);
});

// ---- bad rows: one case per rule; the whole file fails and the store is unchanged ----

const base = { account_id: 'x1', username: 'x.user', full_name: 'Lê Văn Xuân', birth_date: '1992-05-06', sex: 'M' };
const BAD = [
  ['account_id', 'is required', { account_id: '' }],
  ['account_id', 'is at most 128 characters', { account_id: 'x'.repeat(129) }],
  ['account_id', 'is printable ASCII', { account_id: 'mã-số' }],
  ['account_id', 'is unique in the file', { account_id: 'n1' }, /duplicate of line 2/],
  ['username', 'is required', { username: '' }],
  ['username', 'is unique in the file', { username: 'n1.user' }, /duplicate of line 2/],
  ['username', 'is unique in the portal', { username: 'an.nguyen' }, /already used by account 'a1'/],
  ['username', 'has no control characters', { username: 'x\u0007y' }],
  ['full_name', 'is required', { full_name: '   ' }],
  ['full_name', 'is valid text without U+FFFD', { full_name: 'Lê \ufffd Xuân' }],
  ['full_name', 'has no control characters', { full_name: 'Lê\tXuân' }],
  ['birth_date', 'is YYYY-MM-DD', { birth_date: '06/05/1992' }],
  ['birth_date', 'is a real date', { birth_date: '2023-02-29' }],
  ['birth_date', 'is not in the future', { birth_date: '2999-01-01' }],
  ['sex', 'is M/F/male/female/nam/nữ', { sex: 'X' }],
  ['cmnd', 'is 9 digits', { cmnd: '12345678' }],
  ['cmnd', 'is digits only', { cmnd: '12345678a' }],
  ['id_number', 'is digits only (format)', { id_number: '00108512345a' }, /not a number/],
  ['id_number', 'is 12 digits (length)', { id_number: '00108512345' }, /12 digits/],
  ['id_number', 'gives a possible birth year (impossible)', { id_number: '001485123456' }, /impossible/],
  ['id_verified', 'is a boolean', { id_verified: 'maybe' }],
  ['id_verified', 'is not true without id_number', { id_verified: 'yes' }, /true without id_number/],
  ['email', 'is an address', { email: 'not-an-email' }],
  ['phone', 'is a phone number', { phone: '09x12' }],
  ['status', 'is a word', { status: 'on hold' }],
  ['password_hash', 'has a recognised scheme (md5-crypt)', { password_hash: '$1$abc$def' }],
  ['password_hash', 'is not a plain password', { password_hash: 'hunter2' }, /not a recognised scheme/],
  // hashes the login's verifier would refuse to compute: those accounts could never log in
  ['password_hash', 'has a bcrypt cost the verifier computes', { password_hash: BCRYPT.replace('$10$', '$31$') },
   /bcrypt cost 31 is outside 4\.\.14, what the verifier computes/],
  ['password_hash', 'has argon2id memory the verifier computes (4 GiB)',
   { password_hash: ARGON.replace('m=65536', 'm=4194304') }, /argon2id memory m=4194304 KiB is outside 32\.\.262144 KiB/],
  ['password_hash', 'has an argon2id time the verifier computes', { password_hash: ARGON.replace('t=3', 't=11') },
   /argon2id time t=11 is outside 1\.\.10/],
  ['password_hash', 'is a well-formed bcrypt hash', { password_hash: BCRYPT.slice(0, 40) }, /not a well-formed bcrypt hash/],
  ['account_class', 'is individual or organisation', { account_class: 'company' }],
];

for (const [field, rule, change, reason] of BAD) {
  test(`bad row: ${field} ${rule}`, () => {
    const { s, before: rep } = seeded();
    const lines = [HEADER, row({ ...base, account_id: 'n1', username: 'n1.user' }),
                   row({ ...base, account_id: 'n2', username: 'n2.user' }), row({ ...base, ...change }),
                   row({ ...base, account_id: 'n3', username: 'n3.user' })];
    const f = s.file(`bad-${field}.csv`, lines.join('\n') + '\n');
    const r = importFile(s, f);
    assert.equal(r.code, 1, r.err);
    const prefix = `${f}:4: ${field}: `;
    const hit = r.err.split('\n').find((l) => l.startsWith(prefix));
    assert.ok(hit, `expected '${prefix}...' in:\n${r.err}`);
    if (reason) assert.match(hit, reason);
    assert.match(r.err, /1 error; nothing imported/);
    assert.equal(r.out, '');
    assert.deepEqual(report(s), rep, 'the store is unchanged');
    assert.equal(sql(s.db, "SELECT count(*) FROM accounts WHERE id IN ('n1','n2','n3')"), '0');
  });
}

test('bad CSV structure: field count, quoting, header', () => {
  const { s, before: rep } = seeded();
  const cases = [
    [[HEADER, row(base), 'y1,y.user'], 3, 'row', /2 fields, the header has 13/],
    [[HEADER, row(base), 'y1,"y.user,Lê'], 3, 'row', /not closed/],
    [[HEADER, row(base), 'y1,y"user,Lê'], 3, 'row', /quote inside/],
    [[HEADER + ',nickname', row(base) + ',x'], 1, 'header', /unknown column 'nickname'/],
    [['account_id,username', 'y1,y'], 1, 'header', /required column 'full_name' missing/],
    [['account_id,username,full_name,username', 'y1,y,Lê,z'], 1, 'header', /given twice/],
    [[''], 1, 'header', /missing/],
  ];
  for (const [lines, line, field, reason] of cases) {
    const f = s.file(`struct${line}${field}.csv`, lines.join('\n') + '\n');
    const r = importFile(s, f);
    assert.equal(r.code, 1, `${lines.join('|')}: ${r.err}`);
    const hit = r.err.split('\n').find((l) => l.startsWith(`${f}:${line}: ${field}: `));
    assert.ok(hit, `expected ${f}:${line}: ${field}: in\n${r.err}`);
    assert.match(hit, reason);
    assert.deepEqual(report(s), rep);
  }
});

test('bad JSONL lines: syntax, types, unknown keys', () => {
  const { s, before: rep } = seeded();
  const ok = JSON.stringify({ ...base });
  const cases = [
    [[ok, '{"account_id": "y1", "username": '], 2, 'row', /./],
    [[ok, '["y1"]'], 2, 'row', /not a JSON object/],
    [[ok, '', JSON.stringify({ ...base, account_id: 'y1', username: 'y', cmnd: 12345678 })], 3, 'cmnd', /must be a string/],
    [[ok, JSON.stringify({ ...base, account_id: 'y1', username: 'y', nickname: 'x' })], 2, 'row', /unknown field 'nickname'/],
    [[ok, JSON.stringify({ ...base, account_id: 'y1', username: 'y', id_verified: true })], 2, 'id_verified', /without id_number/],
    [[ok, JSON.stringify({ ...base, account_id: 'y1', username: 'x.user' })], 2, 'username', /duplicate of line 1/],
  ];
  for (const [lines, line, field, reason] of cases) {
    const f = s.file(`bad${line}${field}.jsonl`, lines.join('\n') + '\n');
    const r = importFile(s, f);
    assert.equal(r.code, 1, `${lines.join('|')}: ${r.err}`);
    const hit = r.err.split('\n').find((l) => l.startsWith(`${f}:${line}: ${field}: `));
    assert.ok(hit, `expected ${f}:${line}: ${field}: in\n${r.err}`);
    assert.match(hit, reason);
    assert.deepEqual(report(s), rep);
  }
});

test('every error is reported: 100 shown, then a count', () => {
  const { s, before: rep } = seeded();
  const lines = [HEADER];
  for (let i = 0; i < 150; i++) lines.push(row({ ...base, account_id: `e${i}`, username: `e${i}`, sex: 'Q' }));
  const f = s.file('many.csv', lines.join('\n'));
  const r = importFile(s, f);
  assert.equal(r.code, 1);
  assert.equal(r.err.split('\n').filter((l) => l.includes(': sex: ')).length, 100);
  assert.match(r.err, /50 more errors not shown/);
  assert.match(r.err, /150 errors; nothing imported/);
  assert.deepEqual(report(s), rep);
});

test('usernames may move between accounts of the same file', () => {
  const { s } = seeded();
  // a1 takes binh.tran while a2 (which held it) becomes binh.tran2: no conflict
  const text = [HEADER, row({ ...GOOD[0], username: 'binh.tran' }), row({ ...GOOD[1], username: 'binh.tran2' }),
                row(GOOD[2])].join('\n');
  const r = importFile(s, s.file('swap.csv', text));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /updated 2, unchanged 1/);
  assert.equal(sql(s.db, "SELECT username FROM accounts WHERE id='a1'"), 'binh.tran');
  // the same username in another portal is fine
  const other = eidgw(['accounts', 'import', '-c', s.conf, '--portal', 'portal-b', s.file('b.csv', goodCsv())]);
  assert.equal(other.code, 0, other.err);
  assert.equal(report(s, 'portal-b').total, 3);
});

// ---- legacy encodings ----

test('TCVN3 and VNI names are imported unchanged, flagged and listed', () => {
  const s = setup();
  const tcvn = 'B\u00b6o Th\u00beng'; // "B¶o Th¾ng"
  const vni = 'Nguyeãn Vaên Taùm';
  const text = [HEADER, row({ account_id: 'l1', username: 'l1', full_name: tcvn }),
                row({ account_id: 'l2', username: 'l2', full_name: 'Nguyễn Văn An' }),
                row({ account_id: 'l3', username: 'l3', full_name: vni }),
                row({ account_id: 'l4', username: 'l4', full_name: 'Hoàng Minh Hoà' }),
                row({ account_id: 'l5', username: 'l5', full_name: 'José Tanaka' })].join('\n');
  const f = s.file('legacy.csv', text);
  const r = importFile(s, f);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `imported ${PORTAL}: 5 rows (inserted 5, updated 0, unchanged 0), 0 warnings, 2 legacy-encoded names\n`);
  assert.ok(r.err.includes(`${f}:2: full_name: legacy encoding: needs conversion by an admin`), r.err);
  assert.ok(r.err.includes(`${f}:4: full_name: legacy encoding: needs conversion by an admin`), r.err);
  assert.equal(r.err.split('\n').filter((l) => l.includes('legacy encoding')).length, 2);
  assert.equal(report(s).legacy_encoding, 2);
  assert.equal(sql(s.db, "SELECT full_name FROM accounts WHERE id='l1'"), tcvn);
  assert.equal(sql(s.db, "SELECT full_name FROM accounts WHERE id='l3'"), vni);
  assert.equal(sql(s.db, "SELECT group_concat(id) FROM (SELECT id FROM accounts WHERE flags & 1 ORDER BY id)"), 'l1,l3');
  const txt = eidgw(['accounts', 'report', '-c', s.conf, '--portal', PORTAL]);
  assert.equal(txt.code, 0);
  assert.match(txt.out, /legacy-encoded names\s+2/);
  assert.match(txt.out, /accounts\s+5/);
});

// ---- dry run ----

test('--dry-run validates and writes nothing', () => {
  const { s, before: rep } = seeded();
  const text = [HEADER, row(GOOD[0]), row({ account_id: 'd1', username: 'd1', full_name: 'Đỗ Thị Dung' }),
                row({ account_id: 'd2', username: 'd2', full_name: 'B\u00b6o Th\u00beng' })].join('\n');
  const f = s.file('dry.csv', text);
  const r = importFile(s, f, '--dry-run');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `dry run ${PORTAL}: 3 rows valid, 0 warnings, 1 legacy-encoded names; nothing written\n`);
  assert.deepEqual(report(s), rep);
  assert.equal(sql(s.db, "SELECT count(*) FROM accounts WHERE id LIKE 'd%'"), '0');
  // errors are found in a dry run too, with the same messages
  const bad = s.file('drybad.csv', text + '\n' + row({ account_id: 'd3', username: 'binh.tran', full_name: 'X' }));
  const b = importFile(s, bad, '--dry-run');
  assert.equal(b.code, 1);
  assert.ok(b.err.includes(`${bad}:5: username: already used by account 'a2'`), b.err);
  // a dry run on a store that does not exist yet leaves no accounts behind
  const fresh = setup();
  const d = importFile(fresh, fresh.file('x.csv', goodCsv()), '--dry-run');
  assert.equal(d.code, 0, d.err);
  assert.equal(report(fresh).total, 0);
});

// ---- crash safety ----

test('an import killed with SIGKILL half-way leaves the store as before', async () => {
  const { s, before: rep } = seeded();
  const rows = 400000;
  const f = path.join(s.dir, 'big.csv');
  const fd = fs.openSync(f, 'w');
  fs.writeSync(fd, HEADER + '\n' + row({ ...GOOD[0], email: 'changed@example.vn' }) + '\n');
  let chunk = [];
  for (let i = 0; i < rows; i++) {
    chunk.push(`b${i},user${i},Nguyễn Văn Bình ${i % 97},1990-01-0${1 + (i % 9)},M,${String(i).padStart(9, '0')},,,,,,,`);
    if (chunk.length === 10000) { fs.writeSync(fd, chunk.join('\n') + '\n'); chunk = []; }
  }
  fs.closeSync(fd);
  const p = spawn(EIDGW_BIN, ['accounts', 'import', '-c', s.conf, '--portal', PORTAL, f], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig })));
  await new Promise((r) => setTimeout(r, 300));
  p.kill('SIGKILL');
  const { code, sig } = await exited;
  assert.equal(sig, 'SIGKILL', `the import finished before the kill (code ${code}, ${out}): use a bigger file`);
  assert.equal(out, '');
  assert.deepEqual(report(s), rep, 'nothing of the killed import is visible');
  assert.equal(sql(s.db, "SELECT email FROM accounts WHERE id='a1'"), 'an@example.vn');
  assert.equal(sql(s.db, 'PRAGMA integrity_check'), 'ok');
  // the store is usable at once
  const again = importFile(s, s.file('after.csv', goodCsv()));
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /unchanged 3\)/);
});

test('the summary on a non-terminal stderr is plain text', () => {
  const s = setup();
  const r = importFile(s, s.file('p.csv', goodCsv()));
  assert.equal(r.code, 0);
  assert.ok(!r.err.includes('\r'), 'no progress bar');
  assert.match(r.err, /p\.csv: read 3 rows in [0-9.]+ s \([0-9]+ rows\/s\)/);
});
