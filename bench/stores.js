// eidgw on its stores: SQLite on one node, Redis on one node, Redis shared by two nodes;
// "token alone" and the session check (GET /auth/check), interleaved, medians over
// passes. See README.md ("Stores and nodes"). Started by bench/stores.sh. Everything
// listens on 127.0.0.1, on free ports; every process started here is stopped (by its
// own handle) before exit.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oc from 'openid-client';
import { Client, Jar } from './lib/http.js';
import { login, authorizeWithSession, token } from './lib/flows.js';
import { eidgwConfig as configText } from './lib/config.js';
import { commonSettings, runMain, log, sleep, secret, alive, num, CLK_TCK, freePort, waitHttp, processGroup, gwLogIssues, logSize,
         median, fmt, pad, lpad } from './lib/common.js';
import { startRedis as startRedisOf } from './lib/common.js';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const group = processGroup();
const { start, stopAll } = group;
const procs = group.list;
const runDriver = (job) => group.runDriver(path.join(BENCH, 'stores_driver.js'), job);
let dir;
const ROOT = path.resolve(BENCH, '..');
const env = process.env;
const list = (v, d) => (v || d).split(',').map((s) => s.trim()).filter(Boolean);
const CFG = {
  ...commonSettings(env, ROOT),
  vus: num(env.BENCH_VUS, 32, 2, 512),
  scenarios: list(env.STORES_SCENARIOS, 'token,check'),
  configs: list(env.STORES_CONFIGS, 'a,b,c'),
  cross: env.STORES_CROSS || 'half',
  eidgwLog: env.BENCH_EIDGW_LOG || 'info',
  ioThreads: num(env.BENCH_EIDGW_IO_THREADS, 2, 1, 64),
  workers: num(env.BENCH_EIDGW_WORKERS, 4, 1, 256),
  redisBin: env.REDIS_SERVER || '/usr/bin/redis-server',
  out: env.STORES_OUT || path.join(BENCH, 'results/stores.json'),
};
for (const s of CFG.scenarios) if (!['token', 'check'].includes(s)) throw new Error(`STORES_SCENARIOS: unknown scenario ${s} (token, check)`);
for (const s of CFG.configs) if (!['a', 'b', 'c'].includes(s)) throw new Error(`STORES_CONFIGS: unknown configuration ${s} (a, b, c)`);
if (!['half', 'none'].includes(CFG.cross)) throw new Error(`STORES_CROSS must be half or none, not ${CFG.cross}`);
// the reaper thread of every node reads the revocation stream every 250 ms (gateway/app/gw_serve.c)
const POLL_PER_NODE = 4;




// ---------------------------------------------------------------- processes



// A private redis-server: an append-only file, fsync every second (as for production).
const startRedis = (name) => startRedisOf(group, name, CFG.redisBin);



// ---------------------------------------------------------------- sanity check
// Per configuration: one login on the first node, its code exchanged by openid-client
// (a certified RP: ES256 signature, iss, aud, nonce); /auth/check answers 200 with the
// session id with the cookie, 401 without. Two nodes: the second node honours the
// first node's cookie (authorize and check) and redeems a code minted on the first.
async function sanity(conf, citizen) {
  const [a, b] = conf.targets;
  const config = await oc.discovery(new URL(a.url), a.clientId, a.clientSecret, oc.ClientSecretBasic(a.clientSecret),
                                    { execute: [oc.allowInsecureRequests] });
  const c = new Client(4);
  try {
    const jar = new Jar();
    const l = await login(c, a, jar, citizen.id12);
    const tokens = await oc.authorizationCodeGrant(config, new URL(l.location), {
      pkceCodeVerifier: l.verifier, expectedState: l.state, expectedNonce: l.nonce, idTokenExpected: true });
    const claims = tokens.claims();
    if (claims.cccd !== citizen.id12) throw new Error(`cccd claim: want ${citizen.id12}, got ${claims.cccd}`);
    const check = async (t, j) => c.request(`${t.url}/auth/check`, { jar: j });
    let r = await check(a, jar);
    if (r.status !== 200 || r.headers['x-eidgw-session'] !== claims.sid)
      throw new Error(`auth/check with the cookie: ${r.status}, session ${r.headers['x-eidgw-session']} (sid ${claims.sid})`);
    if ((r = await check(a, new Jar())).status !== 401) throw new Error(`auth/check without a cookie: ${r.status}, want 401`);
    const notes = ['ES256 id_token verified by openid-client', '/auth/check 200 with the session, 401 without'];
    if (b) {
      const jb = new Jar();
      jb.store(new URL(b.url).host, [`eidgw_sso=${jar.hosts.get(new URL(a.url).host).get('eidgw_sso')}`]);
      if ((r = await check(b, jb)).status !== 200 || r.headers['x-eidgw-session'] !== claims.sid)
        throw new Error(`auth/check on node B with A's cookie: ${r.status}`);
      const x = await authorizeWithSession(c, a, jar);
      await token(c, b, x.code, x.verifier);
      const y = await authorizeWithSession(c, b, jb);
      await token(c, a, y.code, y.verifier);
      if ((r = await check(b, new Jar())).status !== 401) throw new Error(`auth/check on node B without a cookie: ${r.status}`);
      notes.push('B honours A\'s cookie; codes minted on one node redeemed on the other');
    }
    return notes.join('; ');
  } finally { c.close(); }
}

// ---------------------------------------------------------------- one run

// Warnings and errors eidgw logged since byte offset `from`.

// ---------------------------------------------------------------- statistics
// "scan 62 (4.1 ms), xrange 8 (0.1 ms)": calls and Redis time per command
const cmdList = (x) => Object.entries(x?.by || {}).sort((p, q) => q[1] - p[1])
  .map(([k, v]) => `${k} ${v} (${fmt((x.usec?.[k] || 0) / 1000, 1)} ms)`).join(', ') || 'none';
// session check: the commands that are not the background upkeep (revocation polling, event-delivery scan)
const beyondUpkeep = (x) => x.total - (x.by.xrange || 0) - (x.by.scan || 0);

// ---------------------------------------------------------------- main
async function main() {
  if (!fs.existsSync(CFG.eidgwBin)) throw new Error(`${CFG.eidgwBin} not found: build it first (cmake --build build)`);
  dir = group.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-stores-'));
  // every node runs this copy: build/ may be rebuilt during the run
  const binStat = fs.statSync(CFG.eidgwBin);
  const bin = path.join(dir, 'eidgw');
  fs.copyFileSync(CFG.eidgwBin, bin);
  fs.chmodSync(bin, 0o755);
  const citizens = JSON.parse(fs.readFileSync(path.join(ROOT, 'sim/citizens.json'), 'utf8'))
    .filter((c) => /^\d{12}$/.test(c.id12) && String(c.account_type) === '1' && !c.locked && c.sex);
  const ids = citizens.map((c) => c.id12);

  const rpPort = await freePort();
  const redirect = `http://127.0.0.1:${rpPort}/callback`; // nothing listens: the driver never follows it
  const client = { id: 'portal-a', secret: secret(), redirect };
  const sim = { url: null, clientId: 'eidgw', clientSecret: secret() };

  // configurations: nodes (ports) and their store
  const defs = {
    a: { id: 'a', title: '(a) SQLite, 1 node', nodes: 1, redis: false },
    b: { id: 'b', title: '(b) Redis, 1 node', nodes: 1, redis: true },
    c: { id: 'c', title: '(c) Redis, 2 nodes', nodes: 2, redis: true },
  };
  const confs = [];
  for (const id of CFG.configs) {
    const d = defs[id];
    const ports = [];
    for (let i = 0; i < d.nodes; i++) ports.push(await freePort());
    confs.push({ ...d, ports });
  }
  const simPort = await freePort();
  sim.url = `http://127.0.0.1:${simPort}`;
  const simArgs = [path.join(ROOT, 'sim/vneid/server.js'), '--port', String(simPort)];
  for (const c of confs) for (const p of c.ports) simArgs.push('--client', `${sim.clientId}:${sim.clientSecret}:http://127.0.0.1:${p}/callback`);
  const simP = start('vneid-sim', process.execPath, simArgs);
  // one key set shared by all nodes (a cluster shares its keys)
  execFileSync(bin, ['keys', 'generate', path.join(dir, 'keys')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const common = { kind: 'eidgw', clientId: client.id, clientSecret: client.secret, redirectUri: redirect, scope: 'openid profile cccd' };
  for (const c of confs) {
    if (c.redis) c.redis = await startRedis(`redis-${c.id}`);
    c.procs = c.ports.map((gwPort, i) => {
      const name = `eidgw-${c.id}${c.nodes > 1 ? '-' + 'AB'[i] : ''}`;
      const conf = path.join(dir, `${name}.conf`);
      fs.writeFileSync(conf, configText({ root: ROOT, dir, dbName: name, gwPort, sim, client, redisPort: c.redis?.port,
                                         ioThreads: CFG.ioThreads, workers: CFG.workers, log: CFG.eidgwLog }), { mode: 0o600 });
      return start(name, bin, ['serve', '-c', conf]);
    });
    c.targets = c.ports.map((p) => ({ ...common, url: `http://127.0.0.1:${p}` }));
  }
  await waitHttp(`${sim.url}/.well-known/openid-configuration`, simP);
  for (const c of confs) for (let i = 0; i < c.nodes; i++) await waitHttp(`${c.targets[i].url}/healthz`, c.procs[i]);

  let git = {};
  try {
    git.head = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
    git.dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'gateway', 'plugins', 'CMakeLists.txt'])
      .toString().trim().split('\n').filter(Boolean).length;
  } catch { /* not a checkout */ }
  const redisVersion = (() => { try { return execFileSync(CFG.redisBin, ['--version']).toString().match(/v=(\S+)/)?.[1]; } catch { return '?'; } })();

  log(`eidgw stores benchmark — ${new Date().toISOString()}`);
  log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model || '?'}), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);
  log(`eidgw: ${CFG.eidgwBin} (built ${binStat.mtime.toISOString()}; tree ${git.head || '?'}${git.dirty ? `, ${git.dirty} uncommitted change(s) under gateway/ plugins/` : ''}), ` +
      `io_threads=${CFG.ioThreads} workers=${CFG.workers} per node, log level ${CFG.eidgwLog}`);
  log(`stores: (a) SQLite (WAL, on disk; short-lived records in memory); (b), (c) each its own private redis-server ${redisVersion} (appendonly yes, appendfsync everysec)`);
  log(`load:  ${CFG.vus} virtual users, ${CFG.seconds} s per run (+${CFG.warmup} s warm-up each), ${CFG.passes} pass(es), interleaved; ` +
      `scenarios ${CFG.scenarios.join(', ')}; configurations ${confs.map((c) => c.id).join(', ')}; work dir ${dir}`);
  if (confs.some((c) => c.nodes > 1)) {
    log('two nodes: virtual user v is bound to node A or B by v % 2 (load split evenly); one SSO session made on A, its cookie used on both;');
    log('  ' +
        (CFG.cross === 'half'
          ? 'token alone: each node mints half the codes and redeems from one shared queue, so about half the codes a node redeems were minted on the other (STORES_CROSS=half)'
          : 'token alone: each node redeems only the codes it minted (STORES_CROSS=none)'));
  }

  for (const c of confs) log(`sanity ${pad(c.title, 20)} ${await sanity(c, citizens[1])}`);

  const jobFor = (scenario, c) => ({ scenario, nodes: c.targets, cross: CFG.cross, vus: CFG.vus, seconds: CFG.seconds,
    warmup: CFG.warmup, citizens: ids, clkTck: CLK_TCK, maxUnits: 20_000_000, firstBatch: 1500,
    redisPort: c.redis ? c.redis.port : null,
    pids: { server: c.procs[0].pid, aux: [...c.procs.slice(1).map((p) => p.pid), ...(c.redis ? [c.redis.proc.pid] : [])] } });
  if (CFG.firstWarmup > 0) {
    for (const scenario of CFG.scenarios) for (const c of confs) await runDriver({ ...jobFor(scenario, c), seconds: 1, warmup: CFG.firstWarmup });
    log(`warm-up: ${CFG.firstWarmup} s per configuration and scenario, not counted`);
  }

  const dbsize = (c) => { try { return Number(execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(c.redis.port), 'DBSIZE']).toString().trim()); } catch { return NaN; } };
  const runs = [];
  let failed = 0;
  for (let pass = 1; pass <= CFG.passes; pass++) {
    const order = pass % 2 ? confs : [...confs].reverse();
    for (const scenario of CFG.scenarios) {
      for (const c of order) {
        const from = c.procs.map(logSize);
        const keys = c.redis ? dbsize(c) : NaN;
        let phases;
        try { phases = await runDriver(jobFor(scenario, c)); } catch (e) { phases = null; log(`[pass ${pass}] ${scenario} ${c.title}: FAILED: ${e.message}`); failed++; }
        for (const ph of phases || []) {
          runs.push({ pass, config: c.id, nodes: c.nodes, keysBefore: keys, ...ph });
          const rc = ph.redisCmds ? `, redis ${fmt(ph.redisCores, 2)} cores ${fmt(ph.redisCmds.total / ph.ok, 3)} cmd/req` : '';
          const cross = ph.redeemed && c.nodes > 1 ? `, ${fmt((100 * ph.redeemed.crossed) / (ph.redeemed.crossed + ph.redeemed.same), 0)}% cross-node` : '';
          log(`[pass ${pass}] ${pad(ph.phase, 9)} ${pad(c.title, 20)} ${lpad(fmt(ph.rps, 1), 9)}/s  p50 ${lpad(fmt(ph.p50ms, 2), 6)} ms  p99 ${lpad(fmt(ph.p99ms, 2), 7)} ms  ` +
              `${lpad(fmt(ph.perGwCpuSec), 7)} per eidgw CPU-s  (eidgw ${fmt(ph.gwCores, 2)} cores${rc}, driver ${fmt(ph.driverCores, 2)}, ` +
              `other ${fmt(ph.otherCores, 2)}, steal ${fmt(ph.stealPct, 1)}%; ${ph.ok} ok, ${ph.errors} errors${cross})`);
          if (ph.phase === 'check' && ph.redisCmds) {
            log(`           Redis: ${ph.redisCmds.total} commands in ${fmt(ph.wallSec, 1)} s: ${cmdList(ph.redisCmds)}; ` +
                `besides XRANGE and SCAN: ${beyondUpkeep(ph.redisCmds)}; polling alone would be ~${fmt(POLL_PER_NODE * c.nodes * ph.wallSec)} XRANGE; ${fmt(keys)} keys in Redis`);
          }
          if (ph.redisCmds?.forks > 0) {
            log(`           Redis forked ${ph.redisCmds.forks} time(s) during the run (an AOF rewrite): the child's CPU is not in the redis figure`);
          }
          for (const e of ph.errSamples) log(`           error: ${e}`);
          if (ph.errors > 0.01 * (ph.ok + ph.errors) || ph.ok === 0) failed++;
        }
        c.procs.forEach((p, i) => {
          const issues = gwLogIssues(p, from[i]);
          if (issues.warn || issues.error || issues.other) {
            log(`           ${p.name} logged ${issues.error} error(s), ${issues.warn} warning(s), ${issues.other} non-JSON line(s):`);
            for (const [k, n] of issues.samples) log(`             ${n} x ${k}`);
          }
        });
        for (const p of procs) {
          if (!alive(p)) {
            log(`!! ${p.name} is gone (exit ${p.exitCode ?? p.signalCode}) after ${scenario} ${c.title} in pass ${pass}; last lines of ${p.logPath}:`);
            log(fs.readFileSync(p.logPath, 'utf8').split('\n').slice(-15).join('\n'));
            throw new Error(`${p.name} died`);
          }
        }
      }
    }
  }

  // ------------------------------------------------------------ summary
  const titles = { token: 'token alone', check: 'session check', authorize: 'authorize+SSO' };
  const rows = [];
  for (const phase of ['token', 'check', 'authorize']) {
    for (const c of confs) {
      const rs = runs.filter((r) => r.phase === phase && r.config === c.id && r.ok > 0);
      if (!rs.length) continue;
      const sumBy = {}, sumUs = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.redisCmds?.by || {})) sumBy[k] = (sumBy[k] || 0) + v;
      for (const r of rs) for (const [k, v] of Object.entries(r.redisCmds?.usec || {})) sumUs[k] = (sumUs[k] || 0) + v;
      rows.push({
        phase, title: titles[phase], config: c.id, confTitle: c.title, nodes: c.nodes, n: rs.length,
        rps: median(rs.map((r) => r.rps)), rpsMin: Math.min(...rs.map((r) => r.rps)), rpsMax: Math.max(...rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50ms)), p99: median(rs.map((r) => r.p99ms)),
        perCpu: median(rs.map((r) => r.perGwCpuSec)),
        redisUs: c.redis ? median(rs.map((r) => r.redisUsPerReq)) : NaN,
        perCpuWithRedis: c.redis ? median(rs.map((r) => r.ok / (r.cpu.gwSec + r.cpu.redisSec))) : NaN,
        errors: rs.reduce((a, r) => a + r.errors, 0),
        redis: c.redis ? { total: rs.reduce((a, r) => a + (r.redisCmds?.total || 0), 0), ok: rs.reduce((a, r) => a + r.ok, 0),
                           wall: rs.reduce((a, r) => a + r.wallSec, 0), by: sumBy, usec: sumUs,
                           perReq: median(rs.map((r) => r.redisCmds.total / r.ok)), keys: median(rs.map((r) => r.keysBefore)) } : null,
        crossedPct: phase === 'token' && c.nodes > 1
          ? (100 * rs.reduce((a, r) => a + r.redeemed.crossed, 0)) / rs.reduce((a, r) => a + r.redeemed.crossed + r.redeemed.same, 0) : NaN,
      });
    }
  }
  for (const r of rows) {
    const base = rows.find((x) => x.phase === r.phase && x.config === 'a');
    r.ratioRps = base ? r.rps / base.rps : NaN;
    r.ratioCpu = base ? r.perCpu / base.perCpu : NaN;
    // the same ratios within each pass (runs next to each other), to show their spread
    r.paired = [];
    for (let pass = 1; pass <= CFG.passes && base; pass++) {
      const x = runs.find((q) => q.phase === r.phase && q.config === r.config && q.pass === pass && q.ok > 0);
      const y = runs.find((q) => q.phase === r.phase && q.config === 'a' && q.pass === pass && q.ok > 0);
      if (x && y) r.paired.push({ rps: x.rps / y.rps, cpu: x.perGwCpuSec / y.perGwCpuSec });
    }
  }

  log('');
  log(`summary: medians over ${CFG.passes} pass(es); req/s shows [min-max] over the passes`);
  log(`${pad('scenario', 14)} ${pad('configuration', 20)} ${lpad('req/s', 9)} ${pad('[min-max]', 17)} ${lpad('p50ms', 6)} ${lpad('p99ms', 7)} ` +
      `${lpad('req/CPU-s', 10)} ${lpad('redis', 8)} ${lpad('+redis', 8)}  vs (a): req/s, req/CPU-s`);
  const range = (r, k) => (r.paired.length > 1 ? ` [${fmt(Math.min(...r.paired.map((p) => p[k])), 2)}-${fmt(Math.max(...r.paired.map((p) => p[k])), 2)}]` : '');
  let prev = null;
  for (const r of rows) {
    if (prev && prev !== r.phase) log('');
    prev = r.phase;
    const vs = r.config === 'a' || !Number.isFinite(r.ratioRps) ? '' : `${fmt(r.ratioRps, 2)}x${range(r, 'rps')}, ${fmt(r.ratioCpu, 2)}x${range(r, 'cpu')}`;
    log(`${pad(r.phase === 'authorize' ? 'authorize+SSO*' : r.title, 14)} ${pad(r.confTitle, 20)} ${lpad(fmt(r.rps, 1), 9)} ${pad(`[${fmt(r.rpsMin)}-${fmt(r.rpsMax)}]`, 17)} ` +
        `${lpad(fmt(r.p50, 2), 6)} ${lpad(fmt(r.p99, 2), 7)} ${lpad(fmt(r.perCpu), 10)} ${lpad(Number.isFinite(r.redisUs) ? fmt(r.redisUs, 1) + 'µs' : '-', 8)} ` +
        `${lpad(fmt(r.perCpuWithRedis), 8)}  ${vs}`);
  }
  log('');
  log('req/CPU-s: requests per CPU-second of the eidgw process(es), summed over the nodes (utime+stime from /proc, all threads).');
  log('redis: redis-server CPU per request (µs), shown apart; +redis: req/CPU-s with Redis\'s CPU counted in.');
  log('vs (a): the configuration\'s median over (a)\'s median, for req/s and req/CPU-s; in brackets, [min-max] of the same ratio');
  log('        within each pass (runs next to each other).');
  log('* authorize+SSO is informational: the phases of "token alone" that mint its codes (GET /authorize + SSO cookie).');
  if (rows.some((r) => r.nodes > 1 && r.phase === 'token')) {
    const t = rows.find((r) => r.nodes > 1 && r.phase === 'token');
    log(`two nodes, token alone: ${fmt(t.crossedPct, 0)}% of the codes were redeemed on the node that did not mint them (STORES_CROSS=${CFG.cross}).`);
  }
  log(`The driver (one node process) shares the ${os.cpus().length} cores with the servers: see "driver" and "other" per run above. The`);
  log('session check costs eidgw so little that its req/s is the driver\'s limit on this machine; req/CPU-s is the figure to compare.');

  const redisRows = rows.filter((r) => r.redis);
  if (redisRows.length) {
    log('');
    log('Redis commands caused by each scenario (INFO commandstats: calls after - before each timed phase, our INFO taken off;');
    log('in brackets, the time Redis spent on them):');
    log('  session check, expected: none per request (the check reads the cookie and the in-memory revocation set). In the');
    log(`  background each node reads the revocation stream ~${POLL_PER_NODE}/s (XRANGE eidgw:revoked every 250 ms) and, about once a`);
    log('  second, runs its event-delivery pass: SCAN MATCH eidgw:kv:evq:{*} COUNT 1000 over the whole keyspace, about one');
    log('  call per 1,000 keys (+ one GET per queued back-channel event; none here).');
    for (const r of redisRows) {
      const x = r.redis;
      const name = r.phase === 'authorize' ? 'authorize+SSO' : r.title;
      if (r.phase === 'check') {
        const rate = (k) => fmt((x.by[k] || 0) / x.wall / r.nodes, 1);
        log(`  ${pad(name, 14)} ${pad(r.confTitle, 20)} ${lpad(fmt(x.total), 8)} commands for ${lpad(fmt(x.ok), 9)} requests = ${fmt(x.perReq, 5)} per request; ` +
            `besides XRANGE and SCAN: ${beyondUpkeep(x)}`);
        log(`  ${pad('', 35)} per node: XRANGE ${rate('xrange')}/s (expected ~${POLL_PER_NODE}/s), SCAN ${rate('scan')}/s with ~${fmt(x.keys)} keys in Redis`);
      } else {
        log(`  ${pad(name, 14)} ${pad(r.confTitle, 20)} ${lpad(fmt(x.total), 8)} commands for ${lpad(fmt(x.ok), 9)} requests = ${fmt(x.perReq, 2)} per request`);
      }
      log(`  ${pad('', 35)} ${cmdList(x)}`);
    }
    const forks = confs.filter((c) => c.redis).map((c) => [c, runs.filter((r) => r.config === c.id).reduce((a, r) => a + (r.redisCmds?.forks || 0), 0)]);
    if (forks.some(([, n]) => n > 0)) {
      log(`  AOF rewrites (Redis forks) during the timed phases: ${forks.map(([c, n]) => `${c.id} ${n}`).join(', ')}; a rewrite's CPU is in its child`);
      log('  process, not in the redis figures (it shows in "other").');
    }
  }

  const result = {
    date: new Date().toISOString(), config: { ...CFG, clkTck: CLK_TCK },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, kernel: os.release(), node: process.version },
    eidgw: { bin: CFG.eidgwBin, built: binStat.mtime.toISOString(), git }, redis: redisVersion,
    configurations: confs.map((c) => ({ id: c.id, title: c.title, nodes: c.nodes, store: c.redis ? 'redis' : 'sqlite' })),
    summary: rows, runs,
  };
  fs.mkdirSync(path.dirname(CFG.out), { recursive: true });
  fs.writeFileSync(CFG.out, JSON.stringify(result, null, 1) + '\n');
  const rel = path.relative(process.cwd(), CFG.out);
  log(`results: ${rel && !rel.startsWith('..') ? rel : CFG.out}`);
  if (failed) {
    log(`!! ${failed} run(s) failed or had more than 1% errors: their figures are not valid (logs kept in ${dir})`);
    return 1;
  }
  return 0;
}

await runMain('stores', main, { stop: stopAll, dir: () => dir, keep: CFG.keep });
