// A private Apache httpd with mod_auth_openidc as a relying party of eidgw: its own
// ServerRoot, pid file and logs in a temp directory, listening on 127.0.0.1 only.
// The identity Apache accepted is shown by a CGI script printing the OIDC_* variables.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { execFileSync, spawn } from 'node:child_process';
import { waitHttp, readLog } from './harness.js';
import { Agent } from './agent.js';

export const APACHE_BIN = process.env.APACHE_BIN || '/usr/sbin/apache2';
export const APACHE_MODULES = process.env.APACHE_MODULES || '/usr/lib/apache2/modules';
const MODULES = ['mpm_prefork', 'authn_core', 'authz_core', 'authz_user', 'auth_openidc', 'headers', 'env',
  'alias', 'cgi', 'mime'];

// Why Apache cannot be used here, or null.
export function apacheMissing() {
  try { fs.accessSync(APACHE_BIN, fs.constants.X_OK); } catch { return `${APACHE_BIN} is not installed`; }
  for (const m of MODULES) {
    const f = path.join(APACHE_MODULES, `mod_${m}.so`);
    if (!fs.existsSync(f)) return `${f} is not installed (apt-get install apache2 libapache2-mod-auth-openidc)`;
  }
  return null;
}

export function openidcVersion() {
  try {
    const out = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libapache2-mod-auth-openidc'], { encoding: 'utf8' });
    return out.trim();
  } catch { return 'unknown'; }
}

const WHOAMI = `#!/bin/sh
printf 'Content-Type: text/plain; charset=utf-8\\r\\nCache-Control: no-store\\r\\n\\r\\n'
echo "REMOTE_USER=$REMOTE_USER"
env | grep '^OIDC_' | LC_ALL=C sort
`;

// opts: {port, gwUrl, clientId, clientSecret, extraConf}. Returns {url, redirectUri, dir, proc, stop(), errorLog()}.
export async function startApache({ port, gwUrl, clientId, clientSecret, extraConf = '' }) {
  // the server drops privileges to www-data for its children: they need to read this tree
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-apache-'));
  fs.chmodSync(dir, 0o755);
  for (const d of ['htdocs', 'cgi-bin', 'run']) fs.mkdirSync(path.join(dir, d), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'cgi-bin/whoami'), WHOAMI, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'htdocs/index.html'), '<!doctype html><title>Apache portal</title><p id="public">Cổng Apache</p>\n');
  fs.writeFileSync(path.join(dir, 'htdocs/loggedout.html'),
    '<!doctype html><meta charset="utf-8"><title>Logged out</title><p id="logged-out">Đã đăng xuất</p>\n');
  const url = `http://127.0.0.1:${port}`;
  const redirectUri = `${url}/protected/redirect_uri`;
  const conf = `ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile "${dir}/run/httpd.pid"
DefaultRuntimeDir "${dir}/run"
Mutex file:${dir}/run default
ErrorLog "${dir}/error.log"
LogLevel warn auth_openidc:debug
LogFormat "%h \\"%r\\" %>s %{Location}o" short
CustomLog "${dir}/access.log" short
User www-data
Group www-data
${MODULES.map((m) => `LoadModule ${m === 'auth_openidc' ? 'auth_openidc_module' : `${m}_module`} ${APACHE_MODULES}/mod_${m}.so`).join('\n')}
StartServers 2
MinSpareServers 1
MaxSpareServers 4
TypesConfig /etc/mime.types
AddDefaultCharset utf-8
DocumentRoot "${dir}/htdocs"
<Directory />
  Require all denied
</Directory>
<Directory "${dir}/htdocs">
  Require all granted
</Directory>
<Directory "${dir}/cgi-bin">
  Options +ExecCGI
  Require all granted
</Directory>

OIDCProviderMetadataURL ${gwUrl}/.well-known/openid-configuration
OIDCClientID ${clientId}
OIDCClientSecret ${clientSecret}
OIDCRedirectURI ${redirectUri}
OIDCCryptoPassphrase ${Buffer.from(clientSecret).toString('hex')}
OIDCScope "openid profile cccd"
OIDCPKCEMethod S256
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCRemoteUserClaim sub
OIDCPassClaimsAs environment
OIDCPassUserInfoAs claims
OIDCSessionType server-cache
OIDCCacheType shm
OIDCCookieSameSite Off
OIDCStateTimeout 300
OIDCHTTPTimeoutLong 10
OIDCHTTPTimeoutShort 5
${extraConf}

ScriptAlias /protected/whoami "${dir}/cgi-bin/whoami"
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
`;
  const confPath = path.join(dir, 'httpd.conf');
  fs.writeFileSync(confPath, conf);
  try {
    execFileSync(APACHE_BIN, ['-t', '-f', confPath], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`apache2 -t: ${e.stderr || e.message}`);
  }
  // Own process group: on SIGTERM the parent signals its whole group (killpg), which
  // would otherwise include the test runner.
  const logPath = path.join(dir, 'apache.log');
  const log = fs.openSync(logPath, 'a');
  const proc = spawn(APACHE_BIN, ['-f', confPath, '-DFOREGROUND'], { stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  proc.logPath = logPath;
  proc.exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  try {
    await waitHttp(`${url}/index.html`, 15000);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${e.message}\n${readLog(proc)}\n${safeRead(path.join(dir, 'error.log'))}`);
  }
  return {
    url, redirectUri, dir, proc, confPath,
    errorLog: () => safeRead(path.join(dir, 'error.log')),
    accessLog: () => safeRead(path.join(dir, 'access.log')),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

function safeRead(f) { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } }

// Parse the whoami CGI output (NAME=value lines).
export function parseEnv(text) {
  const o = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
  }
  return o;
}

// The Agent, but every request looks like a browser navigation (node's fetch always
// sends Sec-Fetch-Mode: cors, and mod_auth_openidc answers such requests with 401
// instead of redirecting to the provider).
export class NavAgent extends Agent {
  async request(url, { method = 'GET', form, headers = {}, body } = {}) {
    const h = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'sec-fetch-mode': 'navigate',
                'sec-fetch-dest': 'document', ...headers };
    const c = this.cookieHeader(url);
    if (c) h.cookie = c;
    let payload = body;
    if (form) {
      h['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(form).toString();
    }
    if (payload != null) h['content-length'] = Buffer.byteLength(payload);
    const { status, raw, text } = await new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers: h }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode, raw: res.rawHeaders,
                                      text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(15000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
      req.on('error', reject);
      req.end(payload);
    });
    const hdrs = new Headers();
    for (let i = 0; i + 1 < raw.length; i += 2) hdrs.append(raw[i], raw[i + 1]);
    this.store(url, { headers: hdrs });
    const loc = hdrs.get('location');
    return { status, headers: hdrs, body: text, url, location: loc ? new URL(loc, url).toString() : null };
  }
}
