// The reverse-proxy benchmark, side by side on this machine (bench/README.md, "Reverse
// proxy"): one backend (an nginx answering `return 200`) behind
//   nginx        Debian's nginx proxying to it, no authentication (the floor);
//   module       the same nginx with the eidgw module checking a portal cookie;
//   apache       Apache httpd + mod_auth_openidc (a relying party of eidgw) with a session;
//   check        no proxy: eidgw's forward-auth answer, GET /auth/check from a trusted proxy;
//   caddy        Debian's Caddy with forward_auth to eidgw, then the backend (optional).
// Started by bench/proxy.sh. Every server listens on 127.0.0.1, on a free port, and every
// process started here is stopped (by its own handle) before exit.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eidgwConfig } from './lib/config.js';
import { commonSettings, runMain, log, secret, num, CLK_TCK, freePort, waitHttp, processGroup, gwLogIssues, logSize, median, fmt, pad, lpad }
  from './lib/common.js';
import { treeCpu, machine } from './lib/procfs.js';
import { apacheMissing, openidcVersion, startApache, NavAgent, APACHE_MODULES } from '../tests/integration/lib/apache.js';
import { hidden, href } from '../tests/integration/lib/agent.js';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const env = process.env;
const CFG = {
  ...commonSettings(env, ROOT, { firstWarmup: 2 }),
  conns: num(env.BENCH_CONNS, 32, 1, 1024),
  nginxWorkers: num(env.BENCH_NGINX_WORKERS, 1, 1, 16),
  configs: (env.PROXY_CONFIGS || 'nginx,module,apache,check,caddy').split(',').map((s) => s.trim()).filter(Boolean),
  nginxBin: env.NGINX_BIN || '/usr/sbin/nginx',
  caddyBin: env.CADDY_BIN || '/usr/bin/caddy',
  out: env.PROXY_OUT || path.join(BENCH, 'results/proxy.json'),
};
const buildDir = path.dirname(CFG.eidgwBin);
CFG.loadgen = env.BENCH_LOADGEN || path.join(buildDir, 'eidgw-loadgen');
CFG.module = env.EIDGW_NGINX_MODULE || path.join(buildDir, 'ngx_http_eidgw_module.so');
CFG.seal = path.join(buildDir, 'pcookie-seal');
const ALL = ['nginx', 'module', 'apache', 'check', 'caddy'];
for (const c of CFG.configs) if (!ALL.includes(c)) throw new Error(`PROXY_CONFIGS: unknown configuration ${c} (${ALL.join(',')})`);
const TITLE = { nginx: 'nginx (bare)', module: 'nginx+eidgw', apache: 'apache+openidc', check: 'eidgw /auth/check',
                caddy: 'caddy+fwd_auth' };
const CITIZEN = '001085012345';
const SUB = 'bench-pairwise-sub-0001'; // the sub sealed into the portal cookie

const group = processGroup();
const { start, stopAll } = group;
let dir, apache;

// ---------------------------------------------------------------- configurations

// An nginx of its own under d (prefix, pid, logs, temp paths), one server on port.
function nginxConf(d, { port, main = '', http = '', server }) {
  return `${main}
worker_processes ${CFG.nginxWorkers};
error_log ${d}/error.log warn;
pid ${d}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${d}/${t};`).join('\n')}
${http}
  server {
    listen 127.0.0.1:${port} backlog=4096;
${server}
  }
}
`;
}

// The proxied location of both fronts: keep-alive connections to the backend.
const upstream = (backendPort) => `  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }`;
const proxied = `    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }`;

async function startNginx(name, conf) {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  const file = path.join(d, 'nginx.conf');
  fs.writeFileSync(file, conf(d));
  try {
    execFileSync(CFG.nginxBin, ['-p', d, '-c', file, '-t'], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`nginx -t (${name}): ${e.stderr || e.message}`);
  }
  return start(name, CFG.nginxBin, ['-p', d, '-c', file, '-g', 'daemon off;']);
}

function caddyfile(port, gwPort, backendPort) {
  return `{
  admin off
  auto_https off
  log default {
    output discard
  }
}
http://portal.localhost:${port} {
  bind 127.0.0.1
  route {
    request_header -X-Eidgw*
    request_header -X_eidgw*
    request_header -X.eidgw*
    forward_auth 127.0.0.1:${gwPort} {
      uri /auth/check
      copy_headers X-Eidgw-Sub X-Eidgw-Level X-Eidgw-Acr X-Eidgw-Auth-Time X-Eidgw-Name X-Eidgw-Birthdate X-Eidgw-Gender X-Eidgw-Cccd X-Eidgw-Legacy-Account X-Eidgw-Assertion
    }
    reverse_proxy 127.0.0.1:${backendPort}
  }
}
`;
}

// ---------------------------------------------------------------- requests and checks

function raw(port, pathQ, headers) {
  return `GET ${pathQ} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
}

// One request over a fresh connection: {status, headers (lower-case), body}.
function get(port, pathQ, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathQ, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(10000, () => req.destroy(new Error(`timeout: GET ${pathQ} on port ${port}`)));
    req.on('error', reject);
    req.end();
  });
}

function must(cond, what, r) {
  if (!cond) throw new Error(`sanity: ${what}${r ? `: got ${r.status} ${JSON.stringify(r.body.slice(0, 200))} ${JSON.stringify(r.headers)}` : ''}`);
}

// mod_auth_openidc's session: Apache's page -> eidgw's /authorize and login page -> the
// VNeID simulator (citizen chosen) -> eidgw's callback -> Apache's redirect_uri (code
// exchanged at eidgw's /token) -> the page. Returns the Cookie header for Apache.
async function apacheLogin(ap, gwUrl, simUrl) {
  const agent = new NavAgent();
  const page = `${ap.url}/protected/app/`;
  let r = await agent.follow(page, {}, 25);
  must(r.url.startsWith(`${gwUrl}/login?`) && r.status === 200, `Apache -> eidgw login page (at ${r.url})`, r);
  const v = href(r.body, 'vneid');
  must(v, 'eidgw login page has the VNeID button', r);
  r = await agent.follow(new URL(v, r.url).toString(), {}, 25);
  must(r.url.startsWith(`${simUrl}/auth?`), `eidgw -> simulator (at ${r.url})`, r);
  const tx = hidden(r.body, 'tx');
  r = await agent.follow(`${simUrl}/auth/login`, { method: 'POST', form: { tx, citizen: CITIZEN } }, 25);
  must(r.url === page && r.status === 200 && /^ok sub=\S+/.test(r.body), `login ends on Apache's page (at ${r.url})`, r);
  return { cookie: agent.cookieHeader(page), sub: r.body.trim().slice('ok sub='.length) };
}

// ---------------------------------------------------------------- load

function runLoadgen(target, seconds) {
  const file = path.join(dir, `req-${target.name}`);
  fs.writeFileSync(file, `${Buffer.byteLength(target.request)}\n${target.request}`);
  const out = execFileSync(CFG.loadgen, ['--port', String(target.port), '--conns', String(CFG.conns), '--seconds', String(seconds),
    '--file', file, '--repeat', '--expect', target.expect], { maxBuffer: 1 << 30 });
  return JSON.parse(out);
}

function pct(sorted, p) { return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN; }

const cpuOf = (pid) => treeCpu(pid, CLK_TCK) ?? NaN;

// One timed run: loadgen for CFG.seconds, the servers' CPU from procfs before and after.
function timedRun(t, pass, backendPid) {
  runLoadgen(t, CFG.warmup || 0.2);
  const m0 = machine(), p0 = t.pids.map(cpuOf), b0 = cpuOf(backendPid), g0 = t.gwLog ? logSize(t.gwLog) : 0;
  const lg = runLoadgen(t, CFG.seconds);
  const m1 = machine(), p1 = t.pids.map(cpuOf), b1 = cpuOf(backendPid);
  const parts = p1.map((x, i) => x - p0[i]);
  const lat = Float64Array.from(lg.lat).sort();
  const server = parts.reduce((a, x) => a + x, 0), backend = t.usesBackend ? b1 - b0 : 0;
  const busy = (m1.busy - m0.busy) / CLK_TCK, steal = (m1.steal - m0.steal) / Math.max(1, m1.total - m0.total);
  const run = {
    pass, config: t.name, ok: lg.ok, errors: lg.errors, errSamples: lg.errSamples, wall: lg.wall,
    serverParts: t.parts ? Object.fromEntries(t.parts.map((n, i) => [n, parts[i]])) : undefined,
    rps: lg.ok / lg.wall, p50: pct(lat, 50), p99: pct(lat, 99), server, backend, loadgen: lg.cpu,
    perCpu: lg.ok / server, perCpuWithBackend: lg.ok / (server + backend),
    cores: { server: server / lg.wall, backend: backend / lg.wall, loadgen: lg.cpu / lg.wall,
             other: Math.max(0, busy - server - (b1 - b0) - lg.cpu) / lg.wall },
    steal,
    gwIssues: t.gwLog ? gwLogIssues(t.gwLog, g0) : undefined,
  };
  const bad = run.errors > 0.01 * (run.ok + run.errors) || run.ok === 0;
  run.failed = bad;
  log(`[pass ${pass}] ${pad(TITLE[t.name], 18)} ${lpad(fmt(run.rps, 0), 7)}/s  p50 ${lpad(fmt(run.p50, 3), 7)} ms  p99 ${lpad(fmt(run.p99, 3), 7)} ms  ` +
      `${lpad(fmt(run.perCpu, 0), 7)} per server CPU-s  (server ${fmt(run.cores.server, 2)} cores, backend ${fmt(run.cores.backend, 2)}, ` +
      `loadgen ${fmt(run.cores.loadgen, 2)}, other ${fmt(run.cores.other, 2)}, steal ${fmt(steal * 100, 1)}%; ${run.ok} ok, ${run.errors} errors)`);
  if (run.serverParts) log(`    server CPU per request: ${Object.entries(run.serverParts).map(([n, c]) => `${n} ${fmt((c / lg.ok) * 1e6, 1)} µs`).join(', ')}`);
  if (run.errSamples?.length) log(`    errors: ${run.errSamples.join(' | ')}`);
  if (run.gwIssues?.warn || run.gwIssues?.error) log(`    eidgw logged ${run.gwIssues.warn} warnings, ${run.gwIssues.error} errors: ${JSON.stringify(run.gwIssues.samples)}`);
  return run;
}

// ---------------------------------------------------------------- main

async function main() {
  for (const [f, what] of [[CFG.eidgwBin, 'cmake --build build'], [CFG.loadgen, 'cmake --build build'], [CFG.seal, 'cmake --build build'],
                           [CFG.nginxBin, 'apt-get install nginx']]) {
    if (!fs.existsSync(f)) throw new Error(`${f} not found (${what})`);
  }
  if (CFG.configs.includes('module') && !fs.existsSync(CFG.module)) throw new Error(`${CFG.module} not found (needs nginx-dev, then cmake --build build)`);
  const skipped = [];
  if (CFG.configs.includes('apache') && apacheMissing()) { skipped.push(`apache: ${apacheMissing()}`); CFG.configs = CFG.configs.filter((c) => c !== 'apache'); }
  if (CFG.configs.includes('caddy') && !fs.existsSync(CFG.caddyBin)) { skipped.push(`caddy: ${CFG.caddyBin} not found`); CFG.configs = CFG.configs.filter((c) => c !== 'caddy'); }
  for (const s of skipped) log(`not measured: ${s}`);
  const has = (c) => CFG.configs.includes(c);

  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-bench-proxy-'));
  fs.chmodSync(dir, 0o755); // nginx's workers (nobody, under root) read the revocation file
  group.dir = dir;
  const [gwPort, simPort, backendPort, barePort, modPort, apPort, caddyPort] =
    await Promise.all(Array.from({ length: 7 }, freePort));
  const portalOrigin = `http://portal.localhost:${caddyPort}`; // the portal's host (proxy_origin)

  // the VNeID simulator (for the one Apache login) and eidgw, as bench.js starts them
  const sim = { url: `http://127.0.0.1:${simPort}`, clientId: 'eidgw', clientSecret: secret() };
  const simP = start('vneid-sim', process.execPath, [path.join(ROOT, 'sim/vneid/server.js'), '--port', String(simPort),
    '--client', `${sim.clientId}:${sim.clientSecret}:http://127.0.0.1:${gwPort}/callback`]);
  execFileSync(CFG.eidgwBin, ['keys', 'generate', path.join(dir, 'keys')], { stdio: 'pipe' });
  const apClient = { id: 'apache-portal', secret: secret(), redirect: `http://127.0.0.1:${apPort}/protected/redirect_uri` };
  const conf = path.join(dir, 'eidgw.conf');
  fs.writeFileSync(conf, eidgwConfig({
    root: ROOT, dir, gwPort, sim, client: apClient, ioThreads: 2, workers: 4, log: 'info',
    server: 'trusted_proxy = 127.0.0.1\n',
    // mod_auth_openidc 2.4.12 (Debian 12) cannot take `iss` in the authorization response
    clientExtra: 'response_iss = no\n',
    extra: `\n[client px-portal]\nname = Cổng proxy\nsecret_sha256 = ${'0'.repeat(64)}\nscopes = openid profile\nmin_level = 1\n` +
           `proxy_origin = ${portalOrigin}\n`,
  }), { mode: 0o600 });
  const gwP = start('eidgw', CFG.eidgwBin, ['serve', '-c', conf]);
  await waitHttp(`${sim.url}/.well-known/openid-configuration`, simP);
  await waitHttp(`http://127.0.0.1:${gwPort}/healthz`, gwP);

  // a portal cookie for px-portal, sealed under eidgw's cookie.key (the module and
  // /auth/check open it alike), and a revocation file that revokes another session
  const now = Math.floor(Date.now() / 1000);
  const keyFile = path.join(dir, 'keys/cookie.key');
  const pcookie = execFileSync(CFG.seal, ['seal', keyFile, JSON.stringify({
    sid: 'bench-session-1', pid: 'px-portal', sub: SUB, lvl: 2, acr: 'urn:vneid:level2', at: now - 60,
    exp: now + 8 * 3600, rc: now + 8 * 3600, cl: { name: 'Nguyễn Văn An', birthdate: '1985-03-14' },
  })], { encoding: 'utf8' }).trim();
  const revoked = path.join(dir, 'revoked');
  execFileSync(CFG.seal, ['revoke', revoked, 'bench-session-revoked']);
  fs.chmodSync(revoked, 0o644);
  const cookie = `eidgw_portal=${pcookie}`;

  // the backend: a static answer naming the identity it was given (the module's header or
  // mod_auth_openidc's)
  const backendP = await startNginx('backend', (d) => nginxConf(d, { port: backendPort, http: '  underscores_in_headers on;',
    server: '    default_type text/plain;\n    location / { return 200 "ok sub=$http_x_eidgw_sub$http_oidc_claim_sub\\n"; }' }));
  const bareP = has('nginx') || has('module') ? await startNginx('nginx', (d) => nginxConf(d, { port: barePort,
    http: upstream(backendPort), server: proxied })) : null;
  const modP = has('module') ? await startNginx('module', (d) => nginxConf(d, { port: modPort, main: `load_module ${CFG.module};`,
    http: `${upstream(backendPort)}\n  eidgw_key_file ${keyFile};`,
    server: `    eidgw on;\n    eidgw_portal px-portal;\n    eidgw_login_url http://127.0.0.1:${gwPort}/proxy/login;\n` +
            `    eidgw_claim_header name X-Citizen-Name;\n    eidgw_revocations ${revoked};\n${proxied}` })) : null;
  let caddyP = null;
  if (has('caddy')) {
    const cf = path.join(dir, 'Caddyfile');
    fs.writeFileSync(cf, caddyfile(caddyPort, gwPort, backendPort));
    caddyP = start('caddy', CFG.caddyBin, ['run', '--config', cf, '--adapter', 'caddyfile']);
  }
  for (const [p, port] of [[backendP, backendPort], [bareP, barePort], [modP, modPort]]) if (p) await waitHttp(`http://127.0.0.1:${port}/`, p);
  if (caddyP) await waitHttp(`http://127.0.0.1:${caddyPort}/`, caddyP);

  let apSession;
  if (has('apache')) {
    apache = await startApache({ port: apPort, gwUrl: `http://127.0.0.1:${gwPort}`, clientId: apClient.id,
      clientSecret: apClient.secret, logLevel: 'warn', accessLog: false, extraConf: `
LoadModule proxy_module ${APACHE_MODULES}/mod_proxy.so
LoadModule proxy_http_module ${APACHE_MODULES}/mod_proxy_http.so
# every client connection keeps one child (prefork): as many children as connections, up front
StartServers ${CFG.conns + 4}
MinSpareServers ${CFG.conns + 4}
MaxSpareServers ${CFG.conns + 36}
MaxRequestWorkers 256
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
OIDCSessionInactivityTimeout 28800
<Location /protected/app/>
  OIDCPassClaimsAs headers
  ProxyPass http://127.0.0.1:${backendPort}/
</Location>
` });
    apSession = await apacheLogin(apache, `http://127.0.0.1:${gwPort}`, sim.url);
  }

  // ---- the measured paths, each checked first
  const H = { Accept: '*/*', 'User-Agent': 'eidgw-bench' };
  const fwd = { 'X-Forwarded-Host': new URL(portalOrigin).host, 'X-Forwarded-Proto': 'http', 'X-Forwarded-Uri': '/account',
                'X-Forwarded-Method': 'GET' };
  const targets = [];
  if (bareP) {
    const r = await get(barePort, '/account', { ...H, Cookie: cookie });
    must(r.status === 200 && r.body === 'ok sub=\n', 'bare nginx: the backend\'s answer, no identity', r);
    if (has('nginx')) targets.push({ name: 'nginx', port: barePort, pids: [bareP.pid], usesBackend: true, expect: 'ok sub=\n',
                                     request: raw(barePort, '/account', { ...H, Cookie: cookie }) });
  }
  if (modP) {
    let r = await get(modPort, '/account', { ...H, Cookie: cookie });
    must(r.status === 200 && r.body === `ok sub=${SUB}\n`, 'module: 200 with X-Eidgw-Sub reaching the backend', r);
    r = await get(modPort, '/account', { ...H, 'X-Eidgw-Sub': 'forged' });
    must(r.status === 401 && !r.body.includes('forged'), 'module: 401 without the cookie', r);
    r = await get(modPort, '/account', { ...H, Cookie: `eidgw_portal=${pcookie.slice(0, -3)}AAA` });
    must(r.status === 401, 'module: 401 with a tampered cookie', r);
    targets.push({ name: 'module', port: modPort, pids: [modP.pid], usesBackend: true, expect: `ok sub=${SUB}\n`,
                   request: raw(modPort, '/account', { ...H, Cookie: cookie }) });
  }
  if (apache) {
    let r = await get(apPort, '/protected/app/account', { ...H, Cookie: apSession.cookie });
    must(r.status === 200 && r.body === `ok sub=${apSession.sub}\n`, 'apache: the backend\'s answer with the session', r);
    r = await get(apPort, '/protected/app/account', { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate' });
    must(r.status === 302 && r.headers.location?.startsWith(`http://127.0.0.1:${gwPort}/authorize?`), 'apache: redirect to eidgw without a session', r);
    targets.push({ name: 'apache', port: apPort, pids: [apache.proc.pid], usesBackend: true, expect: `ok sub=${apSession.sub}\n`,
                   request: raw(apPort, '/protected/app/account', { ...H, Cookie: apSession.cookie }) });
  }
  if (has('check')) {
    let r = await get(gwPort, '/auth/check', { ...H, ...fwd, Cookie: cookie });
    must(r.status === 200 && r.headers['x-eidgw-sub'] === SUB, 'check: 200 with X-Eidgw-Sub', r);
    r = await get(gwPort, '/auth/check', { ...H, ...fwd });
    must(r.status === 401, 'check: 401 without the cookie', r);
    targets.push({ name: 'check', port: gwPort, pids: [gwP.pid], gwLog: gwP, usesBackend: false, expect: `X-Eidgw-Sub: ${SUB}\r\n`,
                   request: raw(gwPort, '/auth/check', { ...H, ...fwd, Cookie: cookie }) });
  }
  if (caddyP) {
    const hdr = { ...H, Host: new URL(portalOrigin).host };
    let r = await get(caddyPort, '/account', { ...hdr, Cookie: cookie });
    must(r.status === 200 && r.body === `ok sub=${SUB}\n`, 'caddy: 200 with X-Eidgw-Sub reaching the backend', r);
    r = await get(caddyPort, '/account', hdr);
    must(r.status === 401, 'caddy: 401 without the cookie', r);
    const request = `GET /account HTTP/1.1\r\nHost: ${new URL(portalOrigin).host}\r\n` +
      Object.entries({ ...H, Cookie: cookie }).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
    targets.push({ name: 'caddy', port: caddyPort, pids: [caddyP.pid, gwP.pid], parts: ['caddy', 'eidgw'], gwLog: gwP, usesBackend: true, expect: `ok sub=${SUB}\n`, request });
  }
  log(`sanity: ok (${targets.map((t) => TITLE[t.name]).join(', ')}); ${CFG.passes} passes x ${CFG.seconds} s, ${CFG.conns} connections, ` +
      `nginx ${CFG.nginxWorkers} worker(s), loadgen ${CFG.loadgen}`);

  for (const t of targets) runLoadgen(t, CFG.firstWarmup || 0.2);
  const runs = [];
  for (let pass = 1; pass <= CFG.passes; pass++) {
    const order = pass % 2 ? targets : [...targets].reverse();
    for (const t of order) runs.push(timedRun(t, pass, backendP.pid));
  }
  return summarize(targets, runs, { skipped, gwPort });
}

// ---------------------------------------------------------------- summary

function summarize(targets, runs, { skipped }) {
  const of = (name) => runs.filter((r) => r.config === name);
  const rows = targets.map((t) => {
    const rs = of(t.name);
    return { config: t.name, title: TITLE[t.name], rps: median(rs.map((r) => r.rps)), rpsMin: Math.min(...rs.map((r) => r.rps)),
             rpsMax: Math.max(...rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
             perCpu: median(rs.map((r) => r.perCpu)), perCpuWithBackend: median(rs.map((r) => r.perCpuWithBackend)),
             usPerReq: 1e6 / median(rs.map((r) => r.perCpu)) };
  });
  const row = (n) => rows.find((r) => r.config === n);
  // the ratio of the medians, and [min-max] of the same ratio within each pass
  const ratio = (a, b, k) => {
    if (!row(a) || !row(b)) return null;
    const per = [...new Set(runs.map((r) => r.pass))].map((p) => {
      const x = runs.find((r) => r.pass === p && r.config === a), y = runs.find((r) => r.pass === p && r.config === b);
      return x && y ? x[k] / y[k] : NaN;
    }).filter(Number.isFinite);
    return { value: row(a)[k] / row(b)[k], min: Math.min(...per), max: Math.max(...per) };
  };
  log('');
  log(`${pad('configuration', 18)} ${lpad('req/s [min-max]', 26)} ${lpad('p50 ms', 8)} ${lpad('p99 ms', 8)} ${lpad('req/CPU-s', 10)} ` +
      `${lpad('µs/req', 7)} ${lpad('+backend', 9)}  vs nginx (req/CPU-s)  vs apache (req/CPU-s)`);
  for (const r of rows) {
    const vs = (b) => { const q = ratio(r.config, b, 'perCpu'); return q && r.config !== b ? `${fmt(q.value, 2)}x [${fmt(q.min, 2)}-${fmt(q.max, 2)}]` : '-'; };
    log(`${pad(r.title, 18)} ${lpad(`${fmt(r.rps)} [${fmt(r.rpsMin)}-${fmt(r.rpsMax)}]`, 26)} ${lpad(fmt(r.p50, 3), 8)} ${lpad(fmt(r.p99, 3), 8)} ` +
        `${lpad(fmt(r.perCpu), 10)} ${lpad(fmt(r.usPerReq, 1), 7)} ${lpad(r.config === 'check' ? '-' : fmt(r.perCpuWithBackend), 9)}  ` +
        `${pad(r.config === 'check' ? '-' : vs('nginx'), 21)}  ${r.config === 'check' ? '-' : vs('apache')}`);
  }
  log('');
  const targetsMet = [];
  const line = (what, q, goal, unit = 'x') => {
    if (!q) return;
    const v = Number.isFinite(q.value) ? q.value : q;
    log(`  ${pad(what, 58)} ${fmt(v, unit === 'x' ? 2 : 0)}${unit}${q.min !== undefined ? ` [${fmt(q.min, 2)}-${fmt(q.max, 2)} per pass]` : ''}  ` +
        `(goal ${goal}: ${v >= Number(goal.replace(/[^0-9.]/g, '')) ? 'met' : 'not met'} in this run)`);
    targetsMet.push({ what, value: v, goal });
  };
  log('against the issue\'s goals (reported, never a failure):');
  line('nginx+eidgw / bare nginx, requests per nginx CPU-second', ratio('module', 'nginx', 'perCpu'), '>= 0.95x');
  line('nginx+eidgw / apache+mod_auth_openidc, per server CPU-second', ratio('module', 'apache', 'perCpu'), '>= 3x');
  if (row('check')) {
    line('/auth/check per eidgw CPU-second', row('check').perCpu, '>= 40000/s', '/s');
    log(`  ${pad('/auth/check p99', 58)} ${fmt(row('check').p99, 3)} ms  (goal < 1 ms: ${row('check').p99 < 1 ? 'met' : 'not met'} in this run)`);
  }
  if (row('caddy') && row('module')) {
    const q = ratio('module', 'caddy', 'perCpu');
    log(`  ${pad('nginx+eidgw / caddy+forward_auth (caddy + eidgw CPU)', 58)} ${fmt(q.value, 2)}x [${fmt(q.min, 2)}-${fmt(q.max, 2)} per pass]`);
  }
  log('notes: req/CPU-s counts the CPU of the server under test only (nginx master+workers, Apache\'s parent and children, eidgw;');
  log('  for caddy+fwd_auth Caddy and eidgw together), read from /proc over each timed run; +backend adds the backend nginx.');
  log('  The machine is shared: compare ratios within this run, not figures across runs.');
  for (const s of skipped) log(`not measured: ${s}`);

  const failed = runs.filter((r) => r.failed).length;
  const result = {
    date: new Date().toISOString(), config: { ...CFG, clkTck: CLK_TCK },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, kernel: os.release() },
    versions: { nginx: version(CFG.nginxBin, ['-v']), apache: version('/usr/sbin/apache2', ['-v']), modAuthOpenidc: openidcVersion(),
                caddy: CFG.configs.includes('caddy') ? version(CFG.caddyBin, ['version']) : undefined },
    eidgw: { bin: CFG.eidgwBin, built: fs.statSync(CFG.eidgwBin).mtime.toISOString(), git: gitDescribe() },
    summary: rows, goals: targetsMet, skipped, runs: runs.map((r) => ({ ...r, errSamples: r.errSamples?.slice(0, 3) })),
  };
  fs.mkdirSync(path.dirname(CFG.out), { recursive: true });
  fs.writeFileSync(CFG.out, JSON.stringify(result, null, 1) + '\n');
  const rel = path.relative(process.cwd(), CFG.out);
  log(`results: ${rel && !rel.startsWith('..') ? rel : CFG.out}`);
  if (failed) {
    log(`!! ${failed} run(s) had no answers or more than 1% errors: their figures are not valid (logs kept in ${dir})`);
    return 1;
  }
  return 0;
}

function version(bin, args) {
  try { return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0]; } catch (e) {
    return String(e.stderr || '').trim().split('\n')[0] || 'unknown';
  }
}
function gitDescribe() {
  try { return execFileSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).trim(); } catch { return 'unknown'; }
}

async function stopEverything() {
  await stopAll();
  if (apache) {
    await apache.stop();
    fs.rmSync(apache.dir, { recursive: true, force: true });
    apache = null;
  }
}

await runMain('proxy bench', main, { stop: stopEverything, dir: () => dir, keep: CFG.keep });
