// CPU accounting from procfs: a process's utime+stime (all its threads), and the
// machine's busy and steal time from /proc/stat.
import fs from 'node:fs';

// CPU seconds used so far by pid, or null if it is gone.
export function procCpu(pid, clkTck) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return (Number(f[11]) + Number(f[12])) / clkTck;       // fields 14 utime, 15 stime
  } catch { return null; }
}

// CPU seconds used so far by pid and every process below it (nginx's workers, Apache's
// children), with what its children that already exited used (cutime, cstime), or null if
// pid is gone.
export function treeCpu(pid, clkTck) {
  const procs = [];
  for (const d of fs.readdirSync('/proc')) {
    if (d < '0' || d > '9') continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[1] ppid, f[11..14] utime stime cutime cstime
      procs.push({ pid: Number(d), ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) });
    } catch { /* exited meanwhile */ }
  }
  const root = procs.find((p) => p.pid === pid);
  if (!root) return null;
  const tree = new Set([pid]);
  let jiffies = root.reaped;
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (!tree.has(p.pid) && tree.has(p.ppid)) { tree.add(p.pid); grew = true; }
  }
  for (const p of procs) if (tree.has(p.pid)) jiffies += p.cpu;
  return jiffies / clkTck;
}

// Whole-machine jiffies: busy (user nice system irq softirq), steal, total.
export function machine() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line;
  return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

// A snapshot of everything a run is charged with.
export function snapshot(pids, clkTck) {
  const u = process.cpuUsage();
  return {
    t: performance.now(),
    server: procCpu(pids.server, clkTck),
    aux: (pids.aux || []).map((p) => procCpu(p, clkTck)),
    driver: (u.user + u.system) / 1e6,
    m: machine(),
  };
}

// Differences between two snapshots, in seconds / jiffies.
export function delta(a, b) {
  return {
    wall: (b.t - a.t) / 1000,
    server: b.server != null && a.server != null ? b.server - a.server : NaN,
    aux: b.aux.map((x, i) => (x != null && a.aux[i] != null ? x - a.aux[i] : NaN)),
    driver: b.driver - a.driver,
    busyJ: b.m.busy - a.m.busy, stealJ: b.m.steal - a.m.steal, totalJ: b.m.total - a.m.total,
  };
}

// Sum of deltas (for runs made of several timed phases).
export function addDelta(acc, d) {
  if (!acc) return { ...d, aux: [...d.aux] };
  return { wall: acc.wall + d.wall, server: acc.server + d.server, aux: acc.aux.map((x, i) => x + d.aux[i]),
           driver: acc.driver + d.driver, busyJ: acc.busyJ + d.busyJ, stealJ: acc.stealJ + d.stealJ,
           totalJ: acc.totalJ + d.totalJ };
}
