// The load driver: one child process per timed run (forked by bench.js, job and result
// over IPC). N virtual users, each with its own cookie jar, share keep-alive connections
// and loop for a fixed time, bounded also in count. Every request has a 10 s timeout.
//
// Scenarios:
//  login  one unit = a whole login without a session, then the code exchange (see
//         lib/flows.js login()); the latency is that of the whole unit.
//  token  the token endpoint alone. Codes are single-use, so they are minted ahead in
//         batches: one SSO session is set up (one login, untimed), then each batch is
//         minted with /authorize + session cookie (the "authorize" phase, timed and
//         charged separately) and then spent with POST /token (the "token" phase).
//         Only the token phases count for the token figures; the authorize phases give
//         a second, informational figure (an authorization request answered from an
//         existing SSO session).
import { Client, Jar } from './lib/http.js';
import { login, authorizeWithSession, token } from './lib/flows.js';
import { runLoadgen } from './lib/loadgen.js';
import { snapshot, delta, addDelta } from './lib/procfs.js';
import { phase, percentiles } from './lib/load.js';

function summarize(name, lat, ok, errors, errSamples, d) {
  const clk = d.totalJ > 0 ? d.totalJ : NaN;
  return {
    phase: name, ok, errors, errSamples, wallSec: d.wall, rps: ok / d.wall,
    ...percentiles(lat),
    cpu: { serverSec: d.server, auxSec: d.aux, driverSec: d.driver },
    perServerCpuSec: ok / d.server,
    serverCores: d.server / d.wall, driverCores: d.driver / d.wall,
    stealPct: (100 * d.stealJ) / clk,
    // CPU used on the machine by everything else (other work sharing the box), in cores
    otherCores: Math.max(0, (d.busyJ / job.clkTck - d.server - d.aux.reduce((s, x) => s + (x || 0), 0) - d.driver) / d.wall),
  };
}

let job;

async function runLogin(c, t) {
  const { citizens } = job;
  const unit = async (k) => {
    const jar = new Jar();
    const l = await login(c, t, jar, citizens[k % citizens.length]);
    await token(c, t, l.code, l.verifier);
  };
  if (job.warmup > 0) await phase({ vus: job.vus, seconds: job.warmup, max: 1e6, fn: unit });
  const lat = [];
  const s0 = snapshot(job.pids, job.clkTck);
  const r = await phase({ vus: job.vus, seconds: job.seconds, max: job.maxUnits, fn: unit, lat });
  const d = delta(s0, snapshot(job.pids, job.clkTck));
  return [summarize(job.scenario, lat, r.ok, r.errors, r.errSamples, d)];
}

async function runToken(c, t) {
  const jar = new Jar();
  const l = await login(c, t, jar, job.citizens[0]); // the SSO session (untimed)
  await token(c, t, l.code, l.verifier);
  const mint = async (n, seconds, lat) => {
    const codes = [];
    const r = await phase({ vus: job.vus, seconds, max: n, lat,
      fn: async () => { codes.push(await authorizeWithSession(c, t, jar)); } });
    return { codes, r };
  };
  const spend = (codes, seconds, lat) => (job.loadgen ? spendWithLoadgen(t, codes, seconds, lat)
    : phase({ vus: job.vus, seconds, max: codes.length, lat,
              fn: async (k) => { const x = codes[k]; await token(c, t, x.code, x.verifier); } }));
  if (job.warmup > 0) {
    const w = await mint(400, job.warmup);
    await spend(w.codes, job.warmup);
  }
  const latA = [], latT = [];
  const acc = { A: { ok: 0, errors: 0, errs: [], d: null }, T: { ok: 0, errors: 0, errs: [], d: null } };
  const add = (x, r, d) => { x.ok += r.ok; x.errors += r.errors; x.errs.push(...r.errSamples.slice(0, 5 - x.errs.length)); x.d = addDelta(x.d, d); };
  let batch = job.firstBatch, iter = 0;
  const hardEnd = performance.now() + (job.seconds * 4 + 60) * 1000;
  // every code must be spent within its lifetime (60 s on both servers): batches stay small
  while (iter++ < 500 && performance.now() < hardEnd) {
    const left = job.seconds - (acc.T.d?.wall || 0);
    if (left < 0.05) break;
    let s0 = snapshot(job.pids, job.clkTck);
    const m = await mint(batch, 20, latA);
    add(acc.A, m.r, delta(s0, snapshot(job.pids, job.clkTck)));
    if (m.r.errors > 200 && m.r.errors > m.r.ok) break;
    s0 = snapshot(job.pids, job.clkTck);
    const r = await spend(m.codes, left, latT);
    const dT = delta(s0, snapshot(job.pids, job.clkTck));
    if (r.childCpu) dT.driver += r.childCpu; // the load generator is part of the driver
    add(acc.T, r, dT);
    if (r.errors > 200 && r.errors > r.ok) break;
    // next batch: about 2 s of token requests, no more than 15 s of minting
    const tokRate = acc.T.ok / acc.T.d.wall, authRate = acc.A.ok / acc.A.d.wall;
    batch = Math.max(200, Math.min(30_000, Math.ceil(tokRate * Math.min(2, left)), Math.ceil(authRate * 15)));
  }
  return [summarize('authorize', latA, acc.A.ok, acc.A.errors, acc.A.errs, acc.A.d),
          summarize('token', latT, acc.T.ok, acc.T.errors, acc.T.errs, acc.T.d)];
}

async function spendWithLoadgen(t, codes, seconds, lat) {
  const r = await runLoadgen(job.loadgen, t, codes, job.vus, seconds);
  if (!r.ok && r.errors) throw new Error(`loadgen: not one right answer (${r.errors} errors): ${r.errSamples[0] || ''}`);
  for (const ms of r.lat) if (lat && lat.length < 2_000_000) lat.push(ms);
  return { ok: r.ok, errors: r.errors, errSamples: r.errSamples, wall: r.wall, childCpu: r.cpu };
}

process.on('message', async (msg) => {
  job = msg;
  const c = new Client(job.vus + 8);
  try {
    const out = job.scenario === 'token' ? await runToken(c, job.target) : await runLogin(c, job.target);
    process.send({ ok: true, phases: out }, () => process.exit(0));
  } catch (e) {
    process.send({ ok: false, error: String(e?.stack || e) }, () => process.exit(1));
  } finally {
    c.close();
  }
});
