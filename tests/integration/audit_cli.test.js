// `eidgw audit verify FILE` against logs written here in JavaScript from the canonical form
// documented in gateway/broker/gw_audit.h, so that document is enough for an outside writer or
// verifier: each line is a compact JSON object ending in ,"hash":"H"} where H is the
// SHA-256 hex of the bytes before that tail, and "prev" is the previous line's H.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EIDGW_BIN } from './lib/harness.js';

const ZERO = '0'.repeat(64);
const sha256hex = (b) => createHash('sha256').update(b).digest('hex');

// One audit line (with its "\n") in the documented canonical form.
function auditLine(seq, ts, node, event, fields, prev) {
  const p = JSON.stringify({ seq, ts, node, event, ...fields, prev }).slice(0, -1); // drop "}"
  return `${p},"hash":"${sha256hex(Buffer.from(p, 'utf8'))}"}\n`;
}

function makeLog(n) {
  const lines = [];
  let prev = ZERO;
  for (let seq = 1; seq <= n; seq++) {
    const ts = new Date(Date.UTC(2025, 0, 31, 8, 0, seq)).toISOString();
    const fields = seq % 3 === 0
      ? { portal: 'dichvucong', who_id12: '001*******45', name: 'Nguyễn Văn An', note: 'a "quoted"\tvalue\n' }
      : { portal: 'portal-a', result: seq % 2 ? 'ok' : 'refused', attempts: seq, linked: seq % 2 === 0 };
    const l = auditLine(seq, ts, 'gw-js', seq % 2 ? 'login' : 'link', fields, prev);
    prev = l.slice(-67, -3); // H
    lines.push(l);
  }
  return lines;
}

function audit(...args) {
  const r = spawnSync(EIDGW_BIN, ['audit', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-audit-cli-')); });
after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

test('a chain written from the documented format verifies', () => {
  const file = path.join(dir, 'ok.log');
  fs.writeFileSync(file, makeLog(50).join(''));
  const r = audit('verify', file);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `${file}: ok, 50 events, chain intact\n`);
});

test('an empty log is an intact chain', () => {
  const file = path.join(dir, 'empty.log');
  fs.writeFileSync(file, '');
  const r = audit('verify', file);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `${file}: ok, 0 events, chain intact\n`);
});

test('one flipped byte names its line', () => {
  const lines = makeLog(40);
  const file = path.join(dir, 'flip.log');
  // a field value, the prev and the hash of line 17, one at a time
  for (const [what, reason] of [['"portal":"', 'hash mismatch'], ['"prev":"', 'prev mismatch'],
    [',"hash":"', 'hash mismatch']]) {
    const buf = Buffer.from(lines.join(''), 'utf8');
    const start = Buffer.byteLength(lines.slice(0, 16).join(''), 'utf8');
    const at = start + Buffer.from(lines[16], 'utf8').indexOf(what) + what.length + 2;
    buf[at] = buf[at] === 0x61 ? 0x62 : 0x61; // 'a' <-> 'b': still valid JSON and hex
    fs.writeFileSync(file, buf);
    const r = audit('verify', file);
    assert.equal(r.code, 1, `${what}: ${r.out}`);
    assert.equal(r.out, '');
    assert.match(r.err, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:17: broken: ${reason}`), what);
  }
});

test('a deleted line is reported at the line that follows it', () => {
  const lines = makeLog(40);
  lines.splice(29, 1); // line 30
  const file = path.join(dir, 'deleted.log');
  fs.writeFileSync(file, lines.join(''));
  const r = audit('verify', file);
  assert.equal(r.code, 1);
  assert.equal(r.err, `${file}:30: broken: seq gap: expected 30, found 31\n`);
});

test('an interrupted last write is reported with its line number', () => {
  const lines = makeLog(10);
  const file = path.join(dir, 'partial.log');
  fs.writeFileSync(file, lines.join('').slice(0, -20));
  const r = audit('verify', file);
  assert.equal(r.code, 1);
  assert.match(r.err, /:10: broken: incomplete last line/);
});

test('a rewritten line with a fresh hash breaks the next link', () => {
  const lines = makeLog(10);
  // line 4 re-made with another value and a correct own hash: line 5's prev no longer matches
  const prev3 = lines[2].slice(-67, -3);
  lines[3] = auditLine(4, '2025-01-31T08:00:04.000Z', 'gw-js', 'link', { portal: 'other' }, prev3);
  const file = path.join(dir, 'rewritten.log');
  fs.writeFileSync(file, lines.join(''));
  const r = audit('verify', file);
  assert.equal(r.code, 1);
  assert.equal(r.err, `${file}:5: broken: prev mismatch: not the hash of the line before\n`);
});

test('usage errors exit 2, an unreadable file exits 1', () => {
  for (const args of [[], ['verify'], ['verify', 'a', 'b'], ['frobnicate', 'x']]) {
    const r = audit(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, /usage: eidgw audit verify FILE/);
  }
  const r = audit('verify', path.join(dir, 'missing.log'));
  assert.equal(r.code, 1);
  assert.match(r.err, /missing\.log: cannot open/);
});
