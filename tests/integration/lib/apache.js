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
env | grep -E '^(OIDC_|MELLON_|SAML_)' | LC_ALL=C sort
`;

// A fresh ServerRoot readable by the children (they drop privileges to www-data), with
// the public page and the whoami CGI script.
function serverRoot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-apache-'));
  fs.chmodSync(dir, 0o755);
  for (const d of ['htdocs', 'cgi-bin', 'run']) fs.mkdirSync(path.join(dir, d), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'cgi-bin/whoami'), WHOAMI, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'htdocs/index.html'), '<!doctype html><title>Apache portal</title><p id="public">Cổng Apache</p>\n');
  fs.writeFileSync(path.join(dir, 'htdocs/loggedout.html'),
    '<!doctype html><meta charset="utf-8"><title>Logged out</title><p id="logged-out">Đã đăng xuất</p>\n');
  return dir;
}

// The server part of httpd.conf: loopback only, its own pid file and logs (the access log
// unless accessLog is false).
function serverConf(dir, port, modules, logLevel, accessLog = true) {
  return `ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile "${dir}/run/httpd.pid"
DefaultRuntimeDir "${dir}/run"
Mutex file:${dir}/run default
ErrorLog "${dir}/error.log"
LogLevel ${logLevel}
${accessLog ? `LogFormat "%h \\"%r\\" %>s %{Location}o" short
CustomLog "${dir}/access.log" short
` : ''}User www-data
Group www-data
${modules.map(([m, name]) => `LoadModule ${name} ${APACHE_MODULES}/mod_${m}.so`).join('\n')}
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
`;
}

// Check the configuration, start Apache in the foreground and wait for its public page.
async function launch(dir, conf, url) {
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
    url, dir, proc, confPath,
    errorLog: () => safeRead(path.join(dir, 'error.log')),
    accessLog: () => safeRead(path.join(dir, 'access.log')),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

const moduleNames = (mods) => mods.map((m) => [m, m === 'auth_openidc' ? 'auth_openidc_module' : `${m}_module`]);

// opts: {port, gwUrl, clientId, clientSecret, extraConf, logLevel, accessLog}. Returns {url, redirectUri, dir, proc,
// stop(), errorLog()}.
export async function startApache({ port, gwUrl, clientId, clientSecret, extraConf = '', logLevel = 'warn auth_openidc:debug',
                                    accessLog = true }) {
  const dir = serverRoot();
  const url = `http://127.0.0.1:${port}`;
  const redirectUri = `${url}/protected/redirect_uri`;
  const conf = `${serverConf(dir, port, moduleNames(MODULES), logLevel, accessLog)}
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
  return { ...(await launch(dir, conf, url)), redirectUri };
}

// ---- mod_auth_mellon: a SAML 2.0 SP of eidgw ----

const MELLON_MODULES = ['mpm_prefork', 'authn_core', 'authz_core', 'authz_user', 'auth_mellon', 'env', 'alias', 'cgi',
  'mime'];

export function mellonMissing() {
  try { fs.accessSync(APACHE_BIN, fs.constants.X_OK); } catch { return `${APACHE_BIN} is not installed`; }
  for (const m of MELLON_MODULES) {
    const f = path.join(APACHE_MODULES, `mod_${m}.so`);
    if (!fs.existsSync(f)) return `${f} is not installed (apt-get install apache2 libapache2-mod-auth-mellon)`;
  }
  return null;
}

// The SP's key, certificate and metadata (what mellon_create_metadata makes, with an
// RSA-2048 key): signed AuthnRequests, a persistent NameID, one HTTP-POST ACS, Single
// Logout over HTTP-Redirect at mellon's /mellon/logout.
export function mellonSp(dir, url) {
  const spDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-mellon-sp-'));
  fs.chmodSync(spDir, 0o755);
  const key = path.join(spDir, 'sp.key'), cert = path.join(spDir, 'sp.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
                           '-subj', '/CN=mellon test SP', '-keyout', key, '-out', cert], { stdio: 'pipe' });
  fs.chmodSync(key, 0o644);
  const certB64 = fs.readFileSync(cert, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const entityId = `${url}/mellon/metadata`;
  const acs = `${url}/mellon/postResponse`;
  const slo = `${url}/mellon/logout`;
  const metadata = `<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">
  <SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certB64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${slo}"/>
    <NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat>
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${acs}" index="0"/>
  </SPSSODescriptor>
</EntityDescriptor>
`;
  const mdPath = path.join(spDir, 'sp-metadata.xml');
  fs.writeFileSync(mdPath, metadata, { mode: 0o644 });
  return { dir: spDir, key, cert, metadataPath: mdPath, entityId, acs, slo, keyPem: fs.readFileSync(key, 'utf8') };
}

// opts: {port, sp (mellonSp), idpMetadata (XML text)}.
export async function startMellon({ port, sp, idpMetadata }) {
  const dir = serverRoot();
  const url = `http://127.0.0.1:${port}`;
  const idpPath = path.join(dir, 'idp-metadata.xml');
  fs.writeFileSync(idpPath, idpMetadata, { mode: 0o644 });
  const conf = `${serverConf(dir, port, moduleNames(MELLON_MODULES), 'warn auth_mellon:debug')}
ScriptAlias /protected/whoami "${dir}/cgi-bin/whoami"
<Location />
  MellonEnable info
  MellonEndpointPath /mellon
  MellonSPPrivateKeyFile ${sp.key}
  MellonSPCertFile ${sp.cert}
  MellonSPMetadataFile ${sp.metadataPath}
  MellonIdPMetadataFile ${idpPath}
  MellonSignatureMethod rsa-sha256
  MellonSecureCookie Off
  MellonVariable mellon-cookie
  MellonSetEnvNoPrefix SAML_CN urn:oid:2.5.4.3
  MellonSetEnvNoPrefix SAML_DOB urn:oid:1.3.6.1.5.5.7.9.1
  MellonSetEnvNoPrefix SAML_GENDER urn:oid:1.3.6.1.5.5.7.9.3
  MellonSetEnvNoPrefix SAML_SERIAL urn:oid:2.5.4.5
</Location>
<Location /protected>
  AuthType Mellon
  MellonEnable auth
  Require valid-user
</Location>
`;
  return launch(dir, conf, url);
}

// Apache as a portal beside eidgw: `stack` (the promise of startStack) comes up first, then
// start(st) brings up Apache. If Apache does not come up, eidgw is stopped before the error
// goes on, so a failed before() leaves no process behind. Returns {st, ap}.
export async function startWithStack(stack, start) {
  const st = await stack;
  try {
    return { st, ap: await start(st) };
  } catch (e) {
    await st.stop();
    throw e;
  }
}

// Stops Apache, then eidgw; either may be missing (a skipped or failed before()).
export async function stopWithStack({ st, ap }) {
  await ap?.stop();
  await st?.stop();
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
      req.setTimeout(60000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
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
