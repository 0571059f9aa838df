// A private redis-server on loopback for tests (Debian's redis-server binary).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, run } from './harness.js';

export const REDIS_BIN = process.env.REDIS_SERVER || '/usr/bin/redis-server';
export const haveRedis = () => fs.existsSync(REDIS_BIN);

export async function startRedis(dir, { appendonly = true, port, extraArgs = [] } = {}) {
  port = port || await freePort();
  const data = path.join(dir, `redis-${port}`);
  fs.mkdirSync(data, { recursive: true });
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--dir', data, '--save', '',
                '--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', 'always', ...extraArgs];
  const proc = run(`redis-${port}`, REDIS_BIN, args, { dir });
  const r = { port, url: `redis://127.0.0.1:${port}`, proc, dir: data, args,
    cli: (...a) => String(execFileSync('redis-cli', ['-p', String(port), ...a])).trim() };
  const end = Date.now() + 10000;
  for (;;) {
    try { if (r.cli('PING') === 'PONG') break; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error('redis-server did not start');
    await new Promise((res) => setTimeout(res, 50));
  }
  return r;
}

export async function stopRedis(r) {
  if (r.proc.exitCode === null) r.proc.kill('SIGTERM');
  await Promise.race([r.proc.exited, new Promise((res) => setTimeout(res, 3000))]);
}

// Restart on the same port and data directory.
export async function restartRedis(dir, r) {
  await stopRedis(r);
  return startRedis(dir, { port: r.port, appendonly: r.args.includes('yes') });
}
