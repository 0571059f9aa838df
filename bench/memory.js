// Memory per live session, and the memory bound under a flood (bench/README.md, "Memory").
// For each store, one eidgw node (SQLite, or a private redis-server) and the VNeID
// simulator; virtual users log in from scratch (a new browser each: a new SSO session),
// exchange the code (one access token per session) and keep both alive (the session and
// the token outlive the run). eidgw's resident memory (VmRSS, /proc) is read before the
// logins, at checkpoints and at the end: the output is RSS per 1,000 sessions and the RSS
// at MEM_SESSIONS sessions. Then a 10 s flood of pending logins (POST /authorize with every
// parameter at its cap, never finished) against memory_max_bytes = MEM_FLOOD_BYTES: the RSS
// growth, the bytes the node counts and the share answered 503 show the bound holding.
// Started by bench/memory.sh. Every server listens on 127.0.0.1, on a free port, and every
// process started here is stopped (by its own handle) before exit.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Jar } from './lib/http.js';
import { login, token } from './lib/flows.js';
import { eidgwConfig } from './lib/config.js';
import { runMain, log, sleep, secret, alive, num, freePort, waitHttp, processGroup, gwLogIssues, fmt, pad, lpad }
  from './lib/common.js';
import { startRedis as startRedisOf } from './lib/common.js';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const env = process.env;
const CFG = {
  eidgwBin: env.EIDGW_BIN || path.join(ROOT, 'build/eidgw'),
  sessions: num(env.MEM_SESSIONS, 100_000, 100, 10_000_000),
  vus: num(env.BENCH_VUS, 16, 1, 256),
  floodSeconds: num(env.MEM_FLOOD_SECONDS, 10, 0, 300),
  floodBytes: env.MEM_FLOOD_BYTES || '64m',
  stores: (env.MEM_STORES || 'sqlite,redis').split(',').map((s) => s.trim()).filter(Boolean),
  redisBin: env.REDIS_SERVER || '/usr/bin/redis-server',
  keep: env.BENCH_KEEP === '1',
  out: env.MEM_OUT || path.join(BENCH, 'results/memory.json'),
};
for (const s of CFG.stores) if (!['sqlite', 'redis'].includes(s)) throw new Error(`MEM_STORES: unknown store ${s} (sqlite, redis)`);
const GOAL_MB = 64; // RSS of a SQLite node with 100,000 live sessions, each with one access token

const group = processGroup();
const { start, stopAll } = group;
let dir;

const rssOf = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
};
const mb = (b) => fmt(b / 1048576, 1);

const startRedis = (name) => startRedisOf(group, name, CFG.redisBin);

const redisUsed = (port) => {
  const out = execFileSync('redis-cli', ['-p', String(port), 'info', 'memory'], { encoding: 'utf8' });
  return Number(/used_memory:(\d+)/.exec(out)?.[1]);
};

// n logins, vus at a time; onStep(done) after each
async function logins(c, t, n, citizens, onStep) {
  let next = 0, done = 0, errors = 0;
  const firstErr = [];
  const user = async () => {
    while (next < n) {
      const i = next++;
      try {
        const l = await login(c, t, new Jar(), citizens[i % citizens.length]);
        await token(c, t, l.code, l.verifier);
        done++;
        if (onStep) await onStep(done);
      } catch (e) {
        errors++;
        if (firstErr.length < 3) firstErr.push(String(e.message || e));
        if (errors > Math.max(10, n / 100)) throw new Error(`too many failed logins (${errors}): ${firstErr.join('; ')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CFG.vus }, user));
  return { done, errors, firstErr };
}

// POST /authorize with every kept parameter at its cap, never finished: pending logins
async function flood(c, t, seconds) {
  const end = Date.now() + seconds * 1000;
  const big = (n) => 'x'.repeat(n);
  const body = new URLSearchParams({ response_type: 'code', client_id: t.clientId, redirect_uri: t.redirectUri,
    scope: t.scope, state: big(2048), nonce: big(512), login_hint: big(256), ui_locales: 'vi en', acr_values: big(256),
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString();
  const counts = { pending: 0, refused: 0, other: 0 };
  const user = async () => {
    while (Date.now() < end) {
      const r = await c.request(`${t.url}/authorize`, { method: 'POST', body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      if (r.status === 302 || r.status === 303) counts.pending++;
      else if (r.status === 503) counts.refused++;
      else counts.other++;
    }
  };
  await Promise.all(Array.from({ length: 32 }, user));
  return counts;
}

async function records(url, adminToken) {
  const r = await fetch(`${url}/admin/records`, { headers: { authorization: `Bearer ${adminToken}` } });
  return r.ok ? r.json() : null;
}

async function measure(store, citizens) {
  const gwPort = await freePort(), simPort = await freePort();
  const rpPort = await freePort();
  const client = { id: 'portal-a', secret: secret(), redirect: `http://127.0.0.1:${rpPort}/callback` };
  const sim = { url: `http://127.0.0.1:${simPort}`, clientId: 'eidgw', clientSecret: secret() };
  const simP = start(`vneid-sim-${store}`, process.execPath, [path.join(ROOT, 'sim/vneid/server.js'), '--port', String(simPort),
    '--client', `${sim.clientId}:${sim.clientSecret}:http://127.0.0.1:${gwPort}/callback`]);
  const redis = store === 'redis' ? await startRedis(`redis-${store}`) : null;
  const keys = path.join(dir, `keys-${store}`);
  execFileSync(CFG.eidgwBin, ['keys', 'generate', keys], { stdio: ['ignore', 'ignore', 'inherit'] });
  const adminToken = secret();
  const sha = (await import('node:crypto')).createHash('sha256').update(adminToken).digest('hex');
  const conf = path.join(dir, `eidgw-${store}.conf`);
  let text = eidgwConfig({ root: ROOT, dir, dbName: `eidgw-${store}`, gwPort, sim, client, redisPort: redis?.port,
                           ioThreads: 2, workers: 4, log: 'warn', extra: `\n[admin]\ntoken_sha256 = ${sha}\n` });
  // every session and token outlives the run; no record bound in the way of the logins
  text = text.replace('lifetime = 8h', 'lifetime = 24h').replace('token_lifetime = 300s', 'token_lifetime = 24h')
    .replace(`dir = ${dir}/keys`, `dir = ${keys}`);
  fs.writeFileSync(conf, text, { mode: 0o600 });
  const gw = start(`eidgw-${store}`, CFG.eidgwBin, ['serve', '-c', conf]);
  await waitHttp(`${sim.url}/.well-known/openid-configuration`, simP);
  await waitHttp(`http://127.0.0.1:${gwPort}/healthz`, gw);
  const t = { kind: 'eidgw', url: `http://127.0.0.1:${gwPort}`, clientId: client.id, clientSecret: client.secret,
              redirectUri: client.redirect, scope: 'openid profile cccd' };
  const c = new Client(CFG.vus + 32);
  try {
    // warm the allocator and the store: 200 logins, then the baseline
    await logins(c, t, 200, citizens);
    await sleep(500);
    const base = rssOf(gw.pid), redisBase = redis ? redisUsed(redis.port) : NaN;
    const points = [];
    const every = Math.max(1, Math.floor(CFG.sessions / 5));
    const t0 = Date.now();
    const res = await logins(c, t, CFG.sessions, citizens, async (done) => {
      if (done % every === 0) {
        points.push({ sessions: done + 200, rss: rssOf(gw.pid) });
        log(`  ${store}: ${fmt(done)} sessions, eidgw RSS ${mb(points.at(-1).rss)} MB (${fmt((Date.now() - t0) / 1000, 0)} s)`);
      }
    });
    await sleep(500);
    const end = rssOf(gw.pid), redisEnd = redis ? redisUsed(redis.port) : NaN;
    const live = res.done + 200;
    const perK = ((end - base) / res.done) * 1000;
    // past the first checkpoint SQLite's page caches are full: what grows then is per session
    const first = points[0];
    const marginalK = first && live > first.sessions ? ((end - first.rss) / (live - first.sessions)) * 1000 : NaN;
    const out = { store, sessions: live, failed: res.errors, rssBase: base, rssEnd: end, perThousand: perK,
                  marginalPerThousand: marginalK, points,
                  redisUsedBase: redisBase, redisUsedEnd: redisEnd,
                  redisPerThousand: redis ? ((redisEnd - redisBase) / res.done) * 1000 : null,
                  held: await records(t.url, adminToken) };
    log(`${pad(store, 7)} ${lpad(fmt(live), 9)} sessions  eidgw RSS ${lpad(mb(base), 7)} -> ${lpad(mb(end), 7)} MB  ` +
        `${lpad(fmt(perK / 1024, 1), 6)} KB per 1,000 sessions (${fmt(marginalK / 1024, 1)} KB past the first ${fmt(first?.sessions)})` +
        (redis ? `;  redis used_memory +${fmt(out.redisPerThousand / 1024, 1)} KB per 1,000` : '') +
        (res.errors ? `  (${res.errors} failed logins: ${res.firstErr[0]})` : ''));
    if (out.held?.records) log(`        in memory: ${Object.entries(out.held.records).filter(([, n]) => n).map(([k, n]) => `${k} ${fmt(n)}`).join(', ') || 'nothing'}` +
                               ` (${mb(out.held.bytes)} MB counted)`);
    return out;
  } finally {
    c.close();
    for (const p of [gw, simP, redis?.proc].filter(Boolean)) if (alive(p)) p.kill('SIGTERM');
    await sleep(300);
    const issues = gwLogIssues(gw, 0);
    if (issues.length) log(`  eidgw-${store} logged: ${issues.slice(0, 3).join(' | ')}`);
  }
}

// The bound under a flood: a fresh SQLite node whose memory_max_bytes is small
async function floodRun(citizens) {
  const gwPort = await freePort(), simPort = await freePort(), rpPort = await freePort();
  const client = { id: 'portal-a', secret: secret(), redirect: `http://127.0.0.1:${rpPort}/callback` };
  const sim = { url: `http://127.0.0.1:${simPort}`, clientId: 'eidgw', clientSecret: secret() };
  const simP = start('vneid-sim-flood', process.execPath, [path.join(ROOT, 'sim/vneid/server.js'), '--port', String(simPort),
    '--client', `${sim.clientId}:${sim.clientSecret}:http://127.0.0.1:${gwPort}/callback`]);
  const keys = path.join(dir, 'keys-flood');
  execFileSync(CFG.eidgwBin, ['keys', 'generate', keys], { stdio: ['ignore', 'ignore', 'inherit'] });
  const adminToken = secret();
  const sha = (await import('node:crypto')).createHash('sha256').update(adminToken).digest('hex');
  const conf = path.join(dir, 'eidgw-flood.conf');
  let text = eidgwConfig({ root: ROOT, dir, dbName: 'eidgw-flood', gwPort, sim, client, ioThreads: 2, workers: 4, log: 'error',
                           extra: `\n[admin]\ntoken_sha256 = ${sha}\n` });
  text = text.replace('memory_max_records = 4000000', `memory_max_bytes = ${CFG.floodBytes}`).replace(`dir = ${dir}/keys`, `dir = ${keys}`);
  fs.writeFileSync(conf, text, { mode: 0o600 });
  const gw = start('eidgw-flood', CFG.eidgwBin, ['serve', '-c', conf]);
  await waitHttp(`${sim.url}/.well-known/openid-configuration`, simP);
  await waitHttp(`http://127.0.0.1:${gwPort}/healthz`, gw);
  const t = { kind: 'eidgw', url: `http://127.0.0.1:${gwPort}`, clientId: client.id, clientSecret: client.secret,
              redirectUri: client.redirect, scope: 'openid profile cccd' };
  const c = new Client(64);
  try {
    await logins(c, t, 200, citizens);
    await sleep(300);
    const base = rssOf(gw.pid);
    const counts = await flood(c, t, CFG.floodSeconds);
    const after = rssOf(gw.pid), rec = await records(t.url, adminToken);
    // a started login still finishes with the table full (the share kept for work under way)
    const l = await logins(c, t, 20, citizens).catch((e) => ({ done: 0, errors: 20, firstErr: [e.message] }));
    const out = { seconds: CFG.floodSeconds, maxBytes: rec?.max_bytes, bytes: rec?.bytes, pending: rec?.records?.ar,
                  answers: counts, rssBase: base, rssAfter: after, loginsAfter: l.done };
    log(`flood   ${CFG.floodSeconds} s of POST /authorize with every parameter at its cap, memory_max_bytes = ${CFG.floodBytes}:`);
    log(`        ${fmt(counts.pending)} kept, ${fmt(counts.refused)} answered 503, ${fmt(counts.other)} other; the node counts ` +
        `${mb(rec?.bytes)} MB of ${mb(rec?.max_bytes)} MB (${fmt(rec?.records?.ar)} pending logins); eidgw RSS ${mb(base)} -> ${mb(after)} MB` +
        ` (+${mb(after - base)} MB); then ${l.done}/20 fresh logins ${l.done === 20 ? 'finished' : `finished (${l.firstErr[0] || ''})`}`);
    return out;
  } finally {
    c.close();
    for (const p of [gw, simP]) if (alive(p)) p.kill('SIGTERM');
    await sleep(300);
  }
}

async function main() {
  if (!fs.existsSync(CFG.eidgwBin)) throw new Error(`${CFG.eidgwBin} not found: build it first (cmake --build build)`);
  dir = group.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-memory-'));
  const citizens = JSON.parse(fs.readFileSync(path.join(ROOT, 'sim/citizens.json'), 'utf8'))
    .filter((c) => /^\d{12}$/.test(c.id12) && String(c.account_type) === '1' && !c.locked && c.sex).map((c) => c.id12);
  let head = '?';
  try { head = execFileSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
  log(`eidgw memory benchmark — ${new Date().toISOString()}; tree ${head}; ${os.cpus().length} CPUs; ` +
      `${fmt(CFG.sessions)} sessions per store (+200 warm-up), ${CFG.vus} virtual users; work dir ${dir}`);
  const results = [];
  for (const s of CFG.stores) results.push(await measure(s, citizens));
  const fl = CFG.floodSeconds ? await floodRun(citizens) : null;
  const sq = results.find((r) => r.store === 'sqlite');
  if (sq) {
    const at100k = sq.rssEnd + ((Number.isFinite(sq.marginalPerThousand) ? sq.marginalPerThousand : sq.perThousand) *
                                (100_000 - sq.sessions)) / 1000;
    log(`goal: a SQLite node with 100,000 live sessions (each with an access token) at most ${GOAL_MB} MB RSS: ` +
        `${sq.sessions >= 100_000 ? `measured ${mb(sq.rssEnd)} MB` : `projected ${mb(at100k)} MB from ${fmt(sq.sessions)} sessions`} ` +
        `(${(sq.sessions >= 100_000 ? sq.rssEnd : at100k) <= GOAL_MB * 1048576 ? 'met' : 'not met'} in this run; reported, never a failure)`);
  }
  fs.mkdirSync(path.dirname(CFG.out), { recursive: true });
  fs.writeFileSync(CFG.out, JSON.stringify({ date: new Date().toISOString(), tree: head, config: CFG, results, flood: fl }, null, 2));
  log(`results: ${CFG.out}`);
}

runMain('memory', main, { stop: stopAll, dir: () => dir, keep: CFG.keep });
