// Population-DB simulator: the "3-item check" (CMND9 + ID12 + full name ->
// MATCH / NO_MATCH) against the synthetic register in sim/citizens.json.
// No npm dependencies.
//
//   node sim/popdb/server.js --port 9402 [--host 127.0.0.1]
//
//   POST /check        {"cmnd9":"012345678","id12":"001085012345","name":"Nguyễn Văn An"}
//                      -> 200 {"result":"MATCH"} | 200 {"result":"NO_MATCH"} | 400 on bad JSON
//   POST /_sim/faults  {"status":503,"delay_ms":N}  ({} resets);  GET /_sim/faults
//   GET  /_sim/stats   {"calls":N}
import http from 'node:http';
import { json, readBody } from '../lib/http.js';
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

function die(msg) { console.error(`popdb-sim: ${msg}`); process.exit(2); }
const opt = { port: 9402, host: '127.0.0.1', citizens: new URL('../citizens.json', import.meta.url) };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i], v = process.argv[++i];
  if (a === '--port') opt.port = Number(v);
  else if (a === '--host') opt.host = v;
  else if (a === '--citizens') opt.citizens = v;
  else die(`unknown argument ${a}`);
}
if (!Number.isInteger(opt.port) || opt.port < 0 || opt.port > 65535) die('bad --port');

// ---------------------------------------------------------------- names
// Tone marks: huyền, sắc, ngã, hỏi, nặng. The vowel marks U+0302 (â ê ô),
// U+0306 (ă) and U+031B (ơ ư) stay significant.
const TONES = { '\u0300': 'f', '\u0301': 's', '\u0303': 'x', '\u0309': 'r', '\u0323': 'j' };
const TONE_RE = /[\u0300\u0301\u0303\u0309\u0323]/g;

function clean(s) { // look-alikes, NFC, case fold, whitespace collapse
  return String(s)
    .replace(/\u00D0/g, '\u0110').replace(/\u00F0/g, '\u0111')
    .replace(/[\u00A0\u2000-\u200A\u202F\u3000]/g, ' ').replace(/[\u200B\uFEFF]/g, '')
    .normalize('NFC').toLowerCase().normalize('NFC')
    .replace(/\s+/g, ' ').trim();
}
// Strict key: each syllable loses its tone mark wherever it was placed
// ("hoà" = "hòa", "thuỷ" = "thủy") and gets the tone as a tag instead,
// so different tones still differ ("hòa" != "hóa" != "hoa").
function strictKey(s) {
  return clean(s).split(' ').map((syl) => {
    const d = syl.normalize('NFD');
    const tones = d.match(TONE_RE) || [];
    return d.replace(TONE_RE, '').normalize('NFC') + (tones.length ? `/${tones.map((t) => TONES[t]).join('')}` : '');
  }).join(' ');
}
// "NGUYENVANAN": upper case, no diacritics, no spaces.
function asciiKey(s) {
  return clean(s).replace(/đ/g, 'd').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, '').toUpperCase();
}
const isAsciiUpperForm = (s) => /^[A-Z]+$/.test(String(s).trim());

function nameMatches(given, registered) {
  if (isAsciiUpperForm(given)) return String(given).trim() === asciiKey(registered);
  return strictKey(given) === strictKey(registered);
}

// ---------------------------------------------------------------- server
const citizens = JSON.parse(readFileSync(opt.citizens, 'utf8'));
let faults = {};
const stats = { calls: 0 };

const parse = (s) => { try { return JSON.parse(s); } catch { return undefined; } };
const isObj = (o) => o && typeof o === 'object' && !Array.isArray(o);

async function check(req, res) {
  stats.calls++;
  const body = parse(await readBody(req));
  if (faults.delay_ms) await new Promise((r) => setTimeout(r, Number(faults.delay_ms)));
  if (faults.status) return json(res, Number(faults.status), { error: 'unavailable', error_description: 'simulated fault' });
  if (!isObj(body)) return json(res, 400, { error: 'bad_request', error_description: 'want a JSON object' });
  const { cmnd9, id12, name } = body;
  if (typeof cmnd9 !== 'string' || typeof id12 !== 'string' || typeof name !== 'string') {
    return json(res, 400, { error: 'bad_request', error_description: 'cmnd9, id12 and name must be strings' });
  }
  const hit = citizens.some((c) => c.id12 === id12 && c.cmnd9 !== null && c.cmnd9 === cmnd9 && nameMatches(name, c.name));
  json(res, 200, { result: hit ? 'MATCH' : 'NO_MATCH' });
}

async function handle(req, res) {
  const p = new URL(req.url, 'http://sim').pathname;
  if (req.method === 'POST' && p === '/check') return check(req, res);
  if (req.method === 'GET' && p === '/_sim/faults') return json(res, 200, faults);
  if (req.method === 'POST' && p === '/_sim/faults') {
    const f = parse((await readBody(req)) || '{}');
    if (!isObj(f)) return json(res, 400, { error: 'want a JSON object' });
    faults = f;
    return json(res, 200, faults);
  }
  if (req.method === 'GET' && p === '/_sim/stats') return json(res, 200, stats);
  json(res, 404, { error: 'not_found' });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: String(e.message || e) });
    else res.destroy();
  });
});
server.listen(opt.port, opt.host, () => {
  const a = server.address();
  console.log(`popdb-sim listening on http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
