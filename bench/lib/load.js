// Load loops, percentiles and Redis command counts for the load drivers.
import { execFileSync } from 'node:child_process';

export const MAX_SAMPLES = 2_000_000;
// returned by a unit to end its virtual user without counting the unit (nothing left to do)
export const STOP = Symbol('stop');

// Run fn(k, vu) from `vus` concurrent users until `seconds` have passed or `max` units
// were started. Latencies (ms) of the units that succeeded go to lat.
export async function phase({ vus, seconds, max, fn, lat }) {
  const end = performance.now() + seconds * 1000;
  let started = 0, ok = 0, errors = 0;
  const errSamples = [];
  async function user(vu) {
    while (started < max && performance.now() < end) {
      const k = started++;
      const t0 = performance.now();
      try {
        if ((await fn(k, vu)) === STOP) break;
        const ms = performance.now() - t0;
        ok++;
        if (lat && lat.length < MAX_SAMPLES) lat.push(ms);
      } catch (e) {
        errors++;
        if (errSamples.length < 5) errSamples.push(String(e?.message || e));
        if (errors > 200 && errors > ok) break; // the server is failing: stop early, the run is reported as failed
      }
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: vus }, (_, vu) => user(vu)));
  return { ok, errors, errSamples, wall: (performance.now() - t0) / 1000 };
}

// Percentiles of a list of latencies (ms).
export function percentiles(lat) {
  const a = Float64Array.from(lat).sort();
  const pct = (p) => (a.length ? a[Math.min(a.length - 1, Math.ceil((p / 100) * a.length) - 1)] : NaN);
  return { p50ms: pct(50), p90ms: pct(90), p99ms: pct(99), maxms: a.length ? a[a.length - 1] : NaN,
           meanms: a.length ? a.reduce((s, x) => s + x, 0) / a.length : NaN };
}

// Calls and microseconds per command so far on the Redis at 127.0.0.1:port (INFO
// commandstats), and its fork count (INFO stats: AOF rewrites run in a forked child,
// whose CPU is not the server's): {cmds: {cmd: {calls, usec}}, forks}, or null.
export function redisCalls(port) {
  let text;
  try {
    text = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'INFO', 'commandstats', 'stats'],
                        { timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch { return null; }
  const cmds = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) cmds[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  const forks = /^total_forks:(\d+)/m.exec(text);
  return { cmds, forks: forks ? Number(forks[1]) : NaN };
}

// Commands between two redisCalls() snapshots: {total, by: {cmd: calls}, usec: {cmd: µs},
// forks}. The INFO that took `before` is counted in `after` (a command's stats are
// updated once it has run): it is taken off.
export function redisDelta(before, after) {
  if (!before || !after) return null;
  const by = {}, usec = {};
  let total = 0;
  for (const [k, v] of Object.entries(after.cmds)) {
    const b = before.cmds[k] || { calls: 0, usec: 0 };
    const n = v.calls - b.calls - (k === 'info' ? 1 : 0);
    if (n > 0) { by[k] = n; usec[k] = v.usec - b.usec; total += n; }
  }
  return { total, by, usec, forks: after.forks - before.forks };
}

export function addRedis(acc, d) {
  if (!d) return acc;
  const out = { total: (acc?.total || 0) + d.total, by: { ...(acc?.by || {}) }, usec: { ...(acc?.usec || {}) },
                forks: (acc?.forks || 0) + (d.forks || 0) };
  for (const [k, v] of Object.entries(d.by)) out.by[k] = (out.by[k] || 0) + v;
  for (const [k, v] of Object.entries(d.usec)) out.usec[k] = (out.usec[k] || 0) + v;
  return out;
}
