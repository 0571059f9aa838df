// What bench.js and stores.js share: settings parsing, ports, the processes a run starts
// (each with its own log file), the forked load driver, eidgw's log, and the statistics.
import { spawn, fork, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const log = (...a) => console.log(...a);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const secret = () => crypto.randomBytes(24).toString('base64url');
export const alive = (p) => p.exitCode === null && p.signalCode === null;
export const CLK_TCK = (() => { try { return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100; } catch { return 100; } })();

// A numeric setting from the environment: default d, refused outside min..max.
export const num = (v, d, min, max) => {
  if (v === undefined || v === '') return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`bad value ${v} (want ${min}..${max})`);
  return n;
};

// The settings every benchmark reads (bench/README.md): timed seconds, passes, warm-ups,
// the eidgw binary, and whether the temporary directory is kept.
export function commonSettings(env, root, { firstWarmup = 3 } = {}) {
  return {
    seconds: num(env.BENCH_SECONDS, 10, 1, 300),
    passes: num(env.BENCH_PASSES, 3, 1, 20),
    warmup: num(env.BENCH_WARMUP, 1, 0, 30),
    firstWarmup: num(env.BENCH_FIRST_WARMUP, firstWarmup, 0, 60),
    eidgwBin: env.EIDGW_BIN || path.join(root, 'build/eidgw'),
    keep: env.BENCH_KEEP === '1',
  };
}

// Runs a benchmark's main() (its exit code) and exits: stop() on the way out and on
// SIGINT/SIGTERM; the temporary directory (dir()) is removed unless the run failed or keep.
export async function runMain(name, main, { stop, dir, keep }) {
  let code = 1;
  let keepDir = keep;
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, async () => { await stop(); process.exit(130); });
  try {
    code = await main();
    if (code) keepDir = true;
  } catch (e) {
    console.error(`${name}: ${e.stack || e}`);
    keepDir = true;
    code = 1;
  } finally {
    await stop();
    const d = dir();
    if (d && !keepDir) fs.rmSync(d, { recursive: true, force: true });
    else if (d) console.error(`${name}: logs and data kept in ${d}`);
  }
  process.exit(code);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

export async function waitHttp(url, proc, ms = 20000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    if (!alive(proc)) throw new Error(`${proc.name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready; log: ${proc.logPath}`);
    try { const r = await fetch(url, { redirect: 'manual' }); await r.arrayBuffer(); return; } catch (e) { last = e; }
    await sleep(100);
  }
  throw new Error(`not reachable: ${url}: ${last}`);
}

// The processes of one benchmark: started with their output in DIR/NAME.log, each
// stopped by its own handle (stopAll), and the load driver forked per run.
export function processGroup() {
  const g = { dir: null, list: [], driver: null };
  g.start = (name, cmd, args) => {
    const logPath = path.join(g.dir, `${name}.log`);
    const fd = fs.openSync(logPath, 'a');
    const p = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: { ...process.env, NODE_ENV: 'production' } });
    fs.closeSync(fd);
    Object.assign(p, { name, logPath });
    p.exited = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig })));
    g.list.push(p);
    return p;
  };
  g.stopAll = async () => {
    if (g.driver && alive(g.driver)) g.driver.kill('SIGKILL');
    for (const p of g.list) if (alive(p)) p.kill('SIGTERM');
    await Promise.all(g.list.map((p) => Promise.race([p.exited, sleep(3000)])));
    for (const p of g.list) if (alive(p)) p.kill('SIGKILL');
  };
  // One timed run in its own driver process (script): resolves with its phases.
  g.runDriver = (script, job) => new Promise((resolve, reject) => {
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    g.driver = child;
    let done = false;
    const limitSec = job.seconds * 5 + 120;
    const limit = setTimeout(() => {
      if (!done) { done = true; child.kill('SIGKILL'); reject(new Error(`driver exceeded ${limitSec} s`)); }
    }, limitSec * 1000);
    child.on('message', (m) => {
      if (done) return;
      done = true; clearTimeout(limit);
      if (m.ok) resolve(m.phases); else reject(new Error(`driver: ${m.error}`));
    });
    child.on('exit', (code, sig) => {
      if (done) return;
      done = true; clearTimeout(limit);
      reject(new Error(`driver exited (${code ?? sig}) without a result`));
    });
    child.send(job);
  });
  return g;
}

// Warnings and errors eidgw logged since byte offset `from`.
export function gwLogIssues(p, from) {
  let text = '';
  try {
    const fd = fs.openSync(p.logPath, 'r');
    // a line still being written when the previous run ended belongs to this run: start
    // at the beginning of the line that `from` falls in (up to 8 KB back, eidgw's line cap)
    const back = Math.min(from, 8192);
    const len = Math.min(fs.fstatSync(fd).size - (from - back), 64 << 20);
    if (len > 0) { const b = Buffer.alloc(len); fs.readSync(fd, b, 0, len, from - back); text = b.toString('latin1'); }
    fs.closeSync(fd);
    const head = text.slice(0, back);
    text = text.slice(head.lastIndexOf('\n') + 1); // -1 + 1: from the start of the file
    text = Buffer.from(text, 'latin1').toString('utf8');
  } catch { /* no log */ }
  // whole lines only: one still being written now is counted with the next run
  text = text.slice(0, text.lastIndexOf('\n') + 1);
  const out = { warn: 0, error: 0, other: 0, samples: new Map() };
  for (const line of text.split('\n')) {
    if (!line) continue;
    let j;
    try { j = JSON.parse(line); } catch { out.other++; if (out.samples.size < 5) out.samples.set(line.slice(0, 200), 1); continue; }
    if (j.level === 'warn' || j.level === 'error') {
      out[j.level]++;
      const k = `${j.level}: ${j.module}: ${j.msg}${j.reason ? ' (' + j.reason + ')' : ''}`;
      out.samples.set(k, (out.samples.get(k) || 0) + 1);
    }
  }
  return { ...out, samples: [...out.samples.entries()].slice(0, 8) };
}
export const logSize = (p) => { try { return fs.statSync(p.logPath).size; } catch { return 0; } };

// ---------------------------------------------------------------- statistics
export const median = (xs) => {
  const a = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (!a.length) return NaN;
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};
export const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '-');
export const pad = (s, n) => String(s).padEnd(n);
export const lpad = (s, n) => String(s).padStart(n);

// A private redis-server of the group's: loopback, a free port, an append-only file with an
// fsync every second (as for production). Resolves {proc, port} once it accepts.
export async function startRedis(group, name, bin) {
  const port = await freePort();
  const data = path.join(group.dir, name);
  fs.mkdirSync(data);
  const p = group.start(name, bin, ['--bind', '127.0.0.1', '--port', String(port), '--dir', data, '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'everysec']);
  for (let i = 0; ; i++) {
    try { await new Promise((res, rej) => { const k = net.connect(port, '127.0.0.1', () => { k.end(); res(); }); k.on('error', rej); }); break; }
    catch { if (i > 100 || !alive(p)) throw new Error(`redis-server did not start; log: ${p.logPath}`); await sleep(100); }
  }
  return { proc: p, port };
}
