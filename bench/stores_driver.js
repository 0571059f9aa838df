// The load driver of stores.js: one child process per timed run (job and result over
// IPC). N virtual users share keep-alive connections; user v is bound to node
// v % nodes for the whole run. Loops are bounded in time and in count; every request
// has a 10 s timeout.
//
// Scenarios:
//  token  POST /token alone, as driver.js measures it: one SSO session is set up (one
//         login on the first node, untimed), then in turns a batch of codes is minted
//         with GET /authorize + the session cookie (the "authorize" phase) and spent
//         with POST /token (the "token" phase); the two are timed and charged apart.
//         With two nodes, every user mints on its node (so both nodes mint half the
//         codes) and, with cross = 'half', spends codes from one queue shared by all
//         users in minting order: about half the codes a node redeems were minted on
//         the other node (the count is reported). With cross = 'none', a node redeems
//         only the codes it minted.
//  check  GET /auth/check with the SSO cookie (the proxied path's session check): one
//         login on the first node, its cookie copied to every node's jar (behind one
//         load balancer they share a host name).
//
// CPU: pids.server is the first eidgw node, pids.aux the other nodes then Redis; gw is
// the sum over the nodes. Redis commands: INFO commandstats at the edges of every timed
// phase (job.redisPort).
import { Client, Jar } from './lib/http.js';
import { login, authorizeWithSession, token } from './lib/flows.js';
import { snapshot, delta, addDelta } from './lib/procfs.js';
import { phase, percentiles, redisCalls, redisDelta, addRedis, STOP } from './lib/load.js';

let job;
const SSO = 'eidgw_sso';

function summarize(name, lat, acc, extra = {}) {
  const d = acc.d;
  const nGw = job.nodes.length;
  const gw = d.server + d.aux.slice(0, nGw - 1).reduce((s, x) => s + x, 0);
  const redis = job.redisPort ? d.aux.slice(nGw - 1).reduce((s, x) => s + x, 0) : NaN;
  const aux = d.aux.reduce((s, x) => s + (Number.isFinite(x) ? x : 0), 0);
  return {
    phase: name, ok: acc.ok, errors: acc.errors, errSamples: acc.errs, wallSec: d.wall, rps: acc.ok / d.wall,
    ...percentiles(lat),
    cpu: { gwSec: gw, perNodeSec: [d.server, ...d.aux.slice(0, nGw - 1)], redisSec: redis, driverSec: d.driver },
    perGwCpuSec: acc.ok / gw, redisUsPerReq: (1e6 * redis) / acc.ok,
    gwCores: gw / d.wall, redisCores: redis / d.wall, driverCores: d.driver / d.wall,
    stealPct: d.totalJ > 0 ? (100 * d.stealJ) / d.totalJ : NaN,
    // CPU used by everything else on the machine (other work sharing the box), in cores
    otherCores: Math.max(0, (d.busyJ / job.clkTck - d.server - aux - d.driver) / d.wall),
    redisCmds: acc.redis || null,
    ...extra,
  };
}

const newAcc = () => ({ ok: 0, errors: 0, errs: [], d: null, redis: null });
function add(acc, r, d, rc) {
  acc.ok += r.ok; acc.errors += r.errors;
  acc.errs.push(...r.errSamples.slice(0, 5 - acc.errs.length));
  acc.d = addDelta(acc.d, d);
  acc.redis = addRedis(acc.redis, rc);
}

// A timed phase: Redis counts and CPU read at its edges.
async function timed(acc, run) {
  const c0 = job.redisPort ? redisCalls(job.redisPort) : null;
  const s0 = snapshot(job.pids, job.clkTck);
  const r = await run();
  const s1 = snapshot(job.pids, job.clkTck);
  const c1 = job.redisPort ? redisCalls(job.redisPort) : null;
  if (job.redisPort && (!c0 || !c1)) throw new Error(`redis-cli INFO commandstats failed on port ${job.redisPort}`);
  add(acc, r, delta(s0, s1), redisDelta(c0, c1));
  return r;
}

// One login on the first node; a jar per node holding only the SSO cookie.
async function session(c) {
  const t0 = job.nodes[0];
  const jar = new Jar();
  const l = await login(c, t0, jar, job.citizens[0]);
  await token(c, t0, l.code, l.verifier);
  const v = jar.hosts.get(new URL(t0.url).host)?.get(SSO);
  if (!v) throw new Error(`no ${SSO} cookie after the login`);
  return job.nodes.map((t) => { const j = new Jar(); j.store(new URL(t.url).host, [`${SSO}=${v}`]); return j; });
}

async function runCheck(c) {
  const jars = await session(c);
  const n = job.nodes.length;
  const unit = async (k, vu) => {
    const t = job.nodes[vu % n];
    const r = await c.request(`${t.url}/auth/check`, { jar: jars[vu % n] });
    if (r.status !== 200 || !r.headers['x-eidgw-session']) throw new Error(`auth/check: ${r.status} ${JSON.stringify(r.body.slice(0, 80))}`);
  };
  if (job.warmup > 0) await phase({ vus: job.vus, seconds: job.warmup, max: 1e7, fn: unit });
  const lat = [], acc = newAcc();
  await timed(acc, () => phase({ vus: job.vus, seconds: job.seconds, max: job.maxUnits, fn: unit, lat }));
  return [summarize('check', lat, acc)];
}

async function runToken(c) {
  const jars = await session(c);
  const n = job.nodes.length;
  const nodeOf = (vu) => vu % n;
  const mint = (count, seconds, lat) => {
    const codes = [];
    const r = () => phase({ vus: job.vus, seconds, max: count, lat, fn: async (k, vu) => {
      const x = await authorizeWithSession(c, job.nodes[nodeOf(vu)], jars[nodeOf(vu)]);
      codes.push({ ...x, node: nodeOf(vu) });
    } });
    return { codes, r };
  };
  // spend: one shared queue (cross = 'half', or one node), or one queue per node
  const spend = (codes, seconds, lat, counts) => {
    const pools = job.cross === 'none' && n > 1 ? Array.from({ length: n }, (_, i) => codes.filter((x) => x.node === i)) : [codes];
    const next = pools.map(() => 0);
    return () => phase({ vus: job.vus, seconds, max: codes.length, lat, fn: async (k, vu) => {
      const p = pools.length > 1 ? nodeOf(vu) : 0;
      const x = pools[p][next[p]++];
      if (!x) return STOP;
      await token(c, job.nodes[nodeOf(vu)], x.code, x.verifier);
      if (counts) counts[x.node === nodeOf(vu) ? 'same' : 'crossed']++;
    } });
  };
  if (job.warmup > 0) {
    const w = mint(400, job.warmup);
    await w.r();
    await spend(w.codes, job.warmup)();
  }
  const latA = [], latT = [];
  const A = newAcc(), T = newAcc();
  const counts = { same: 0, crossed: 0 };
  let batch = job.firstBatch, iter = 0;
  const hardEnd = performance.now() + (job.seconds * 4 + 60) * 1000;
  // every code must be spent within its lifetime (60 s): batches stay small
  while (iter++ < 500 && performance.now() < hardEnd) {
    const left = job.seconds - (T.d?.wall || 0);
    if (left < 0.05) break;
    const m = mint(batch, 20, latA);
    const ra = await timed(A, m.r);
    if (ra.errors > 200 && ra.errors > ra.ok) break;
    const rt = await timed(T, spend(m.codes, left, latT, counts));
    if (rt.errors > 200 && rt.errors > rt.ok) break;
    // next batch: about 2 s of token requests, no more than 15 s of minting
    const tokRate = T.ok / T.d.wall, authRate = A.ok / A.d.wall;
    batch = Math.max(200, Math.min(30_000, Math.ceil(tokRate * Math.min(2, left)), Math.ceil(authRate * 15)));
  }
  return [summarize('authorize', latA, A), summarize('token', latT, T, { redeemed: counts })];
}

process.on('message', async (msg) => {
  job = msg;
  const c = new Client(job.vus + 8);
  try {
    const out = job.scenario === 'check' ? await runCheck(c) : await runToken(c);
    process.send({ ok: true, phases: out }, () => process.exit(0));
  } catch (e) {
    process.send({ ok: false, error: String(e?.stack || e) }, () => process.exit(1));
  } finally {
    c.close();
  }
});
