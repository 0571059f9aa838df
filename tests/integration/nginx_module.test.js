// The nginx module (docs/nginx.md) in Debian's nginx, in front of a backend that echoes the
// headers it receives. Skips, loudly, when nginx or the built module is absent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawn, execFileSync } from 'node:child_process';

const bin = process.env.EIDGW_BIN || new URL('../../build/eidgw', import.meta.url).pathname;
const modSo = path.join(path.dirname(bin), 'ngx_http_eidgw_module.so');
const nginxBin = (() => {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (fs.existsSync(p)) return p;
  return null;
})();
const skip = !nginxBin ? 'nginx is not installed (apt install nginx nginx-dev)'
  : !fs.existsSync(modSo) ? `the module is not built (${modSo}; needs nginx-dev)` : false;
if (skip) console.error(`nginx_module.test.js: SKIPPED: ${skip}`);

let dir, backend, nginx, port;

function request(p, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

before(async () => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-nginx-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  backend = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.rawHeaders));
  });
  const bport = await listen(backend);
  const probe = http.createServer();
  port = await listen(probe);
  await new Promise((r) => probe.close(r));
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `
load_module ${modSo};
error_log ${dir}/logs/error.log info;
pid ${dir}/nginx.pid;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  underscores_in_headers on;
  server {
    listen 127.0.0.1:${port};
    eidgw on;
    eidgw_portal demo-portal;
    eidgw_login_url http://login.example/portal/start;
    eidgw_claim_header name X-Citizen-Name;
    location / { proxy_pass http://127.0.0.1:${bport}; }
    location /public/ { eidgw_bypass; proxy_pass http://127.0.0.1:${bport}; }
  }
}
`);
  execFileSync(nginxBin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-t'], { stdio: 'pipe' });
  nginx = spawn(nginxBin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'],
                { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try { await request('/public/'); return; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  throw new Error('nginx did not start listening');
});

after(async () => {
  if (nginx) { nginx.kill('SIGTERM'); await new Promise((r) => nginx.once('exit', r)); }
  if (backend) backend.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('identity headers sent by the client are stripped in every spelling', { skip }, async () => {
  const spoofed = ['X-Eidgw-Sub', 'x-eidgw-level', 'X_EIDGW_SUB', 'x.eidgw.acr', 'X-EIDGW_Auth-Time',
                   'X-Citizen-Name', 'x_citizen.name', 'X.CITIZEN_NAME'];
  const headers = { 'X-Kept': 'yes' };
  for (const h of spoofed) headers[h] = 'forged';
  const res = await request('/public/page', headers);
  assert.strictEqual(res.status, 200);
  const seen = JSON.parse(res.body).filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
  assert.ok(seen.includes('x-kept'), 'other headers reach the backend');
  for (const h of spoofed) assert.ok(!seen.includes(h.toLowerCase()), `${h} reached the backend`);
  assert.ok(!JSON.parse(res.body).includes('forged'));
});

test('browser navigation without a session is sent to the login start', { skip }, async () => {
  const res = await request('/account/docs?x=1&y=%C3%A1', { accept: 'text/html,application/xhtml+xml' });
  assert.strictEqual(res.status, 302);
  const loc = new URL(res.headers.location);
  assert.strictEqual(loc.origin + loc.pathname, 'http://login.example/portal/start');
  assert.strictEqual(loc.searchParams.get('portal'), 'demo-portal');
  assert.strictEqual(loc.searchParams.get('return_to'), `http://127.0.0.1:${port}/account/docs?x=1&y=%C3%A1`);
});

test('a non-browser request without a session gets 401 and never reaches the backend', { skip }, async () => {
  const res = await request('/api/data', { accept: 'application/json', 'x-eidgw-sub': 'forged' });
  assert.strictEqual(res.status, 401);
  assert.match(res.headers['www-authenticate'], /^Eidgw /);
  assert.ok(!res.body.includes('forged'));
});
