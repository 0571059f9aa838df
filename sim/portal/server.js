// Sample public-service portal: an OpenID Connect relying party of eidgw,
// built on openid-client v6 (authorization code + PKCE S256 + state + nonce).
//
//   node sim/portal/server.js --port 9411 --issuer http://127.0.0.1:9400
//        --client-id portal-a --client-secret SECRET --title "Cổng Dịch vụ công tỉnh A"
//        [--scope "openid profile"] [--host 127.0.0.1] [--token-auth post|basic]
//
// Redirect URI: http://127.0.0.1:PORT/callback; post-logout URI: http://127.0.0.1:PORT/
// Back-channel logout URI (OIDC Back-Channel Logout 1.0): http://127.0.0.1:PORT/backchannel-logout
import http from 'node:http';
import { json, readBody } from '../lib/http.js';
import crypto from 'node:crypto';
import * as client from 'openid-client';
import * as jose from 'jose';

function die(msg) { console.error(`portal: ${msg}`); process.exit(2); }
const opt = { port: 9411, host: '127.0.0.1', issuer: null, clientId: null, clientSecret: null,
  title: 'Cổng Dịch vụ công', scope: 'openid profile', tokenAuth: 'post' };
const flags = { '--port': 'port', '--host': 'host', '--issuer': 'issuer', '--client-id': 'clientId',
  '--client-secret': 'clientSecret', '--title': 'title', '--scope': 'scope', '--token-auth': 'tokenAuth' };
for (let i = 2; i < process.argv.length; i++) {
  const k = flags[process.argv[i]];
  if (!k || i + 1 >= process.argv.length) die(`bad argument ${process.argv[i]}`);
  opt[k] = process.argv[++i];
}
opt.port = Number(opt.port);
if (!Number.isInteger(opt.port) || opt.port <= 0 || opt.port > 65535) die('--port must be a fixed port');
if (!opt.issuer || !opt.clientId || opt.clientSecret == null) die('--issuer, --client-id and --client-secret are required');
if (!['post', 'basic'].includes(opt.tokenAuth)) die('--token-auth must be post or basic');

const BASE = `http://127.0.0.1:${opt.port}`;
const REDIRECT_URI = `${BASE}/callback`;
const POST_LOGOUT_URI = `${BASE}/`;
const COOKIE = `portal_sid_${opt.port}`;
const sessions = new Map(); // sid -> { pending?, idToken?, idClaims?, userinfo?, at }
const SESSION_TTL_MS = 3600_000;

// ---------------------------------------------------------------- helpers
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (ch) =>
  ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);

function page(res, status, bodyHtml) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>${esc(opt.title)}</title><style>
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#0b4f9c;color:#fff;padding:1em 2em}main{max-width:56em;margin:1.5em auto;background:#fff;padding:1.5em 2em;border-radius:6px}
a.btn{display:inline-block;background:#c8102e;color:#fff;padding:.7em 1.2em;border-radius:4px;text-decoration:none;margin-right:.5em}
a.sec{background:#666}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}
td.k{font-family:monospace;white-space:nowrap}td.v{font-family:monospace;word-break:break-all}th{background:#eef2f7}
#error{color:#b3001b;font-weight:bold}
</style></head><body><header><h1>${esc(opt.title)}</h1></header><main>${bodyHtml}</main></body></html>`);
}
const redirect = (res, loc, cookie) => {
  const h = { Location: loc, 'Cache-Control': 'no-store' };
  if (cookie) h['Set-Cookie'] = cookie;
  res.writeHead(302, h);
  res.end();
};
function getSid(req) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === COOKIE) return part.slice(i + 1).trim();
  }
  return null;
}
function getSession(req) {
  const sid = getSid(req);
  const s = sid && sessions.get(sid);
  if (!s || Date.now() - s.at > SESSION_TTL_MS) { if (sid) sessions.delete(sid); return null; }
  return { sid, s };
}
function newSession() {
  const sid = crypto.randomBytes(24).toString('base64url');
  const s = { at: Date.now() };
  sessions.set(sid, s);
  return { sid, s, cookie: `${COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Lax` };
}
const clearCookie = `${COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
const errorPage = (res, status, error, description) => page(res, status,
  `<h2>Đăng nhập không thành công</h2><p id="error">${esc(error)}${description ? `: ${esc(description)}` : ''}</p>
<p><a class="btn" href="/">Về trang chủ</a></p>`);

// ---------------------------------------------------------------- OIDC
let config;
async function discover() {
  const deadline = Date.now() + 20_000;
  const auth = opt.tokenAuth === 'basic' ? client.ClientSecretBasic(opt.clientSecret) : client.ClientSecretPost(opt.clientSecret);
  for (;;) {
    try {
      return await client.discovery(new URL(opt.issuer), opt.clientId, opt.clientSecret, auth,
        // Also verify ID token signatures against the issuer's JWKS (openid-client
        // skips that by default for tokens taken straight from the token endpoint).
        { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] });
    } catch (e) {
      if (Date.now() >= deadline) throw e;
      console.error(`portal: discovery of ${opt.issuer} failed (${e.message}); retrying`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function login(req, res, url) {
  const { s, cookie } = getSession(req) || newSession();
  const verifier = client.randomPKCECodeVerifier();
  const pending = { verifier, state: client.randomState(), nonce: client.randomNonce() };
  const params = {
    redirect_uri: REDIRECT_URI, scope: opt.scope, state: pending.state, nonce: pending.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  };
  const lang = url.searchParams.get('lang');
  if (lang && /^[A-Za-z-]{2,10}$/.test(lang)) params.ui_locales = lang;
  s.pending = pending;
  s.at = Date.now();
  redirect(res, client.buildAuthorizationUrl(config, params).href, cookie);
}

async function callback(req, res, url) {
  const q = url.searchParams;
  if (q.get('error')) return errorPage(res, 400, q.get('error'), q.get('error_description'));
  const cur = getSession(req);
  if (!cur || !cur.s.pending) return errorPage(res, 400, 'no_session', 'Không tìm thấy phiên đăng nhập đang chờ.');
  const { pending } = cur.s;
  delete cur.s.pending;
  try {
    // The redirect URI is fixed, whatever Host header the browser sent.
    const currentUrl = new URL(url.pathname + url.search, BASE);
    const tokens = await client.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce,
    });
    const idClaims = tokens.claims() || {};
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub ?? client.skipSubjectCheck);
    Object.assign(cur.s, { idToken: tokens.id_token, idClaims: { ...idClaims }, userinfo: { ...userinfo }, at: Date.now() });
    redirect(res, '/');
  } catch (e) {
    const err = e.error || e.code || e.name || 'error';
    const detail = e.error_description || `${e.message}${e.cause?.message && e.cause.message !== e.message ? ` (${e.cause.message})` : ''}`;
    errorPage(res, 400, err, detail);
  }
}

function home(req, res, url) {
  const cur = getSession(req);
  if (!cur || !cur.s.idClaims) {
    const href = url.searchParams.get('lang') === 'en' ? '/login?lang=en' : '/login';
    return page(res, 200, `<p>Vui lòng đăng nhập bằng tài khoản định danh điện tử để sử dụng dịch vụ.</p>
<p><a id="login" class="btn" href="${href}">Đăng nhập bằng VNeID</a>
<a id="login-en" class="btn sec" href="/login?lang=en">Sign in with VNeID (English)</a></p>`);
  }
  const { idClaims, userinfo } = cur.s;
  const name = userinfo.name || idClaims.name || userinfo.HoVaTen || idClaims.HoVaTen || idClaims.sub;
  const rows = (src, o) => Object.entries(o).map(([k, v]) =>
    `<tr data-src="${src}"><td class="k">${esc(k)}</td><td class="v">${esc(show(v))}</td></tr>`).join('\n');
  page(res, 200, `<p id="hello">Xin chào <b id="name">${esc(name)}</b></p>
<table id="claims">
<tr><th colspan="2">ID token</th></tr>
${rows('id_token', idClaims)}
<tr><th colspan="2">UserInfo</th></tr>
${rows('userinfo', userinfo)}
</table>
<p><a id="logout" class="btn" href="/logout">Đăng xuất</a></p>`);
}

function logout(req, res) {
  const cur = getSession(req);
  if (cur) sessions.delete(cur.sid);
  if (!cur || !cur.s.idToken) return redirect(res, '/', clearCookie);
  let target = '/';
  try {
    target = client.buildEndSessionUrl(config, { id_token_hint: cur.s.idToken, post_logout_redirect_uri: POST_LOGOUT_URI }).href;
  } catch { /* the issuer has no end_session_endpoint: local logout only */ }
  redirect(res, target, clearCookie);
}

// ---------------------------------------------------------------- back-channel logout
// The OP POSTs logout_token (a JWT, typ logout+jwt) when the citizen's SSO session ends;
// every local session opened under that OP session (sid, or sub when no sid) is destroyed.
const BCL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const seenJti = new Map(); // jti -> expiry (ms): a logout token is accepted once
let remoteJwks;


async function verifyLogoutToken(token) {
  const meta = config.serverMetadata();
  if (!meta.jwks_uri) throw new Error('the issuer publishes no jwks_uri');
  remoteJwks ||= jose.createRemoteJWKSet(new URL(meta.jwks_uri));
  const { payload } = await jose.jwtVerify(token, remoteJwks, {
    issuer: meta.issuer, audience: opt.clientId, typ: 'logout+jwt',
    algorithms: meta.id_token_signing_alg_values_supported || ['RS256'],
    requiredClaims: ['iat', 'jti', 'events'], maxTokenAge: '10m', clockTolerance: 60,
  });
  const ev = payload.events;
  if (!ev || typeof ev !== 'object' || Array.isArray(ev) || !ev[BCL_EVENT] || typeof ev[BCL_EVENT] !== 'object' ||
      Array.isArray(ev[BCL_EVENT])) throw new Error(`events lacks ${BCL_EVENT}`);
  if ('nonce' in payload) throw new Error('a logout token must not contain a nonce');
  if (typeof payload.sid !== 'string' && typeof payload.sub !== 'string') throw new Error('neither sid nor sub');
  if (typeof payload.jti !== 'string' || !payload.jti) throw new Error('jti must be a string');
  const t = Date.now();
  for (const [k, exp] of seenJti) if (exp < t) seenJti.delete(k);
  if (seenJti.has(payload.jti)) throw new Error('logout token replayed (jti already seen)');
  seenJti.set(payload.jti, t + 15 * 60_000);
  return payload;
}

async function backchannelLogout(req, res) {
  const bad = (d) => {
    console.error(`portal: back-channel logout refused: ${d}`);
    json(res, 400, { error: 'invalid_request', error_description: d });
  };
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] || '')) {
    return bad('body must be application/x-www-form-urlencoded');
  }
  let form;
  try { form = new URLSearchParams(await readBody(req)); } catch (e) { return bad(e.message); }
  const tokens = form.getAll('logout_token');
  if (tokens.length !== 1 || !tokens[0]) return bad('exactly one logout_token is required');
  let claims;
  try { claims = await verifyLogoutToken(tokens[0]); } catch (e) { return bad(`logout_token: ${e.code || e.name}: ${e.message}`); }
  let ended = 0;
  for (const [sid, s] of sessions) {
    const c = s.idClaims;
    if (!c) continue;
    if (typeof claims.sid === 'string' && c.sid !== claims.sid) continue;
    if (typeof claims.sub === 'string' && c.sub !== claims.sub) continue;
    sessions.delete(sid);
    ended++;
  }
  console.log(`portal: back-channel logout: ${ended} local session(s) ended`);
  res.writeHead(200, { 'Cache-Control': 'no-store' });
  res.end();
}

function me(req, res) {
  const cur = getSession(req);
  if (!cur || !cur.s.idClaims) return json(res, 401, { error: 'not_logged_in' });
  json(res, 200, { id_token: cur.s.idClaims, userinfo: cur.s.userinfo });
}

async function handle(req, res) {
  const url = new URL(req.url, BASE);
  if (url.pathname === '/backchannel-logout') {
    if (req.method !== 'POST') return json(res, 405, { error: 'method_not_allowed' });
    return backchannelLogout(req, res);
  }
  if (req.method !== 'GET') return json(res, 405, { error: 'method_not_allowed' });
  switch (url.pathname) {
    case '/': return home(req, res, url);
    case '/login': return login(req, res, url);
    case '/callback': return callback(req, res, url);
    case '/logout': return logout(req, res);
    case '/api/me': return me(req, res);
    default: return json(res, 404, { error: 'not_found' });
  }
}

// ---------------------------------------------------------------- start
try {
  config = await discover();
} catch (e) {
  console.error(`portal: discovery of ${opt.issuer} failed for 20 s: ${e.message}`);
  process.exit(1);
}
const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    if (!res.headersSent) errorPage(res, 500, 'server_error', e.message);
    else res.destroy();
  });
});
server.listen(opt.port, opt.host, () => console.log(`portal listening on http://127.0.0.1:${opt.port}`));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
