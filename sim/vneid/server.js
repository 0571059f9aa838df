// VNeID simulator: an OpenID Provider imitating VNeID's Keycloak-based SSO
// (authorization-code flow, RS256 id_token, VNeID profile claims in userinfo),
// with a /_sim control surface to inject faults real peers cannot produce.
// No npm dependencies.
//
//   node sim/vneid/server.js --port 9401 [--host 127.0.0.1] [--issuer URL]
//        --client ID:SECRET:REDIRECT_URI [--client ...]
import http from 'node:http';
import { readBody } from '../lib/http.js';
import crypto from 'node:crypto';
import { URL, URLSearchParams } from 'node:url';
import { readFileSync } from 'node:fs';

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = { port: 9401, host: '127.0.0.1', issuer: null, clients: new Map(),
    citizens: new URL('../citizens.json', import.meta.url) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--port') { o.port = Number(v); i++; }
    else if (a === '--host') { o.host = v; i++; }
    else if (a === '--issuer') { o.issuer = v.replace(/\/+$/, ''); i++; }
    else if (a === '--citizens') { o.citizens = v; i++; }
    // profile 7.3: token and userinfo answers sealed to this RSA public key (PEM), no id_token
    else if (a === '--encrypt-to') { o.encryptTo = v; i++; }
    else if (a === '--client') {
      const m = /^([^:]+):([^:]*):(.+)$/.exec(v || '');
      if (!m) die(`bad --client ${v} (want ID:SECRET:REDIRECT_URI)`);
      const c = o.clients.get(m[1]) || { id: m[1], secret: m[2], redirects: [] };
      if (c.secret !== m[2]) die(`client ${m[1]} given two different secrets`);
      c.redirects.push(m[3]);
      o.clients.set(m[1], c);
      i++;
    } else die(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) die('bad --port');
  return o;
}
function die(msg) { console.error(`vneid-sim: ${msg}`); process.exit(2); }

const opt = parseArgs(process.argv.slice(2));
const citizens = JSON.parse(readFileSync(opt.citizens, 'utf8'));
const rpKey = opt.encryptTo ? crypto.createPublicKey(readFileSync(opt.encryptTo)) : null;
// {"data","key"}: AES-128-ECB/PKCS#5 data, the AES key RSA-PKCS#1 v1.5-encrypted to the RP
function seal(obj) {
  const k = crypto.randomBytes(16);
  const c = crypto.createCipheriv('aes-128-ecb', k, null);
  const data = Buffer.concat([c.update(JSON.stringify(obj), 'utf8'), c.final()]).toString('base64');
  const wk = crypto.publicEncrypt({ key: rpKey, padding: crypto.constants.RSA_PKCS1_PADDING }, k);
  if (faults.seal_tamper === 'key') wk[wk.length >> 1] ^= 0x01; // a test's broken envelope
  return { data, key: wk.toString('base64') };
}
const byId = new Map(citizens.map((c) => [c.id12, c]));
let base = '';   // http://host:port, known once listening
let issuer = ''; // --issuer or base

// ---------------------------------------------------------------- keys, JWT
const b64u = (buf) => Buffer.from(buf).toString('base64url');
function newKey(kidPrefix) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = `${kidPrefix}-${crypto.createHash('sha256').update(jwk.n).digest('base64url').slice(0, 16)}`;
  return { privateKey, publicKey, kid, jwk: { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' } };
}
const key = newKey('sim');
let rogueKey = null; // for the unknown_kid fault, made on first use

function signJwt(payload, { alg = 'RS256', k = key } = {}) {
  const header = alg === 'none' ? { alg: 'none', typ: 'JWT' } : { alg, kid: k.kid, typ: 'JWT' };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  let sig;
  if (alg === 'none') sig = Buffer.alloc(0);
  else if (alg === 'HS256') sig = crypto.createHmac('sha256', Buffer.from(k.jwk.n, 'base64url')).update(input).digest();
  else sig = crypto.sign('sha256', Buffer.from(input), k.privateKey);
  return `${input}.${b64u(sig)}`;
}
function verifyOwnJwt(jwt) { // for token_id links minted by this simulator
  const p = String(jwt || '').split('.');
  if (p.length !== 3) return null;
  try {
    const h = JSON.parse(Buffer.from(p[0], 'base64url'));
    if (h.alg !== 'RS256' || h.kid !== key.kid) return null;
    if (!crypto.verify('sha256', Buffer.from(`${p[0]}.${p[1]}`), key.publicKey, Buffer.from(p[2], 'base64url'))) return null;
    return JSON.parse(Buffer.from(p[1], 'base64url'));
  } catch { return null; }
}

// ---------------------------------------------------------------- state
const rand = (n = 32) => crypto.randomBytes(n).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const txs = new Map();      // TXID -> pending authorization request (10 min)
const codes = new Map();    // code -> grant (60 s, single use)
const tokens = new Map();   // access token -> { citizen, clientId, sid, exp }
const sessions = new Map(); // session_state -> { citizenId, authTime }
let faults = {};
const stats = { auth: 0, login: 0, token: 0, userinfo: 0, logout: 0 };
const TX_TTL = 600, CODE_TTL = 60, TOKEN_TTL = 300;

setInterval(() => {
  const t = now();
  for (const [k, v] of txs) if (v.exp < t) txs.delete(k);
  for (const [k, v] of codes) if (v.exp < t) codes.delete(k);
  for (const [k, v] of tokens) if (v.exp < t) tokens.delete(k);
}, 30_000).unref();

function techId(c) { // stable uuid-like id derived from the subject
  const h = crypto.createHash('sha256').update(`techid:${c.id12}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

// ---------------------------------------------------------------- http helpers
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (ch) =>
  ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);

function send(res, status, body, type, extra = {}) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...extra });
  res.end(body);
}
const json = (res, status, obj, extra) => send(res, status, JSON.stringify(obj), 'application/json', extra);
const redirect = (res, loc, extra = {}) => { res.writeHead(302, { Location: loc, 'Cache-Control': 'no-store', ...extra }); res.end(); };
function page(res, status, title, bodyHtml, lang = 'vi') {
  send(res, status, `<!doctype html><html lang="${esc(lang)}"><head><meta charset="utf-8">
<title>${esc(title)}</title><style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:52em;color:#222}
h1{color:#b3001b}button{display:block;width:100%;text-align:left;margin:.3em 0;padding:.6em;font-size:1em;cursor:pointer}
button[name=cancel]{background:#eee;text-align:center}.locked{color:#b3001b}.box{border:1px solid #ccc;padding:1em}
</style></head><body>${bodyHtml}</body></html>`, 'text/html; charset=utf-8');
}
const errorPage = (res, status, msg) =>
  page(res, status, 'VNeID (mô phỏng) — lỗi', `<h1>VNeID (mô phỏng)</h1><p id="error">${esc(msg)}</p>`);

function withParams(uri, params) { // percent-encodes (%20, not +), keeps any query already in uri
  const u = new URL(uri);
  const add = Object.entries(params).filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  if (add) u.search = u.search ? `${u.search}&${add}` : `?${add}`;
  return u.toString();
}
function cookies(req) {
  const out = {};
  for (const part of (req.headers.cookie || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}
const SSO_COOKIE = () => `vneid_sim_sso_${new URL(base).port}`;
const safeEq = (a, b) => {
  const x = Buffer.from(String(a)), y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- endpoints
function discovery(res) {
  json(res, 200, {
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/jwks`,
    end_session_endpoint: `${issuer}/logout`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code'],
    subject_types_supported: ['public'],
    scopes_supported: ['openid', 'profile', 'email'],
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'azp', 'session_state',
      'SoDinhDanh', 'SoCMND', 'HoVaTen', 'NgayThangNamSinh', 'GioiTinh', 'IAL', 'loAs', 'LoaiTaiKhoan', 'TechID'],
  });
}

function levelLabel(c, en) {
  if (c.account_type === '3') return en ? 'Organisation' : 'Tổ chức';
  return `${en ? 'Level' : 'Mức'} ${c.level}`;
}

function authorize(req, res, q) {
  stats.auth++;
  const client = opt.clients.get(q.get('client_id') || '');
  if (!client) return errorPage(res, 400, 'Ứng dụng không hợp lệ (client_id không được đăng ký).');
  const redirectUri = q.get('redirect_uri') || '';
  if (!client.redirects.includes(redirectUri)) return errorPage(res, 400, 'redirect_uri không hợp lệ cho ứng dụng này.');
  const state = q.get('state') ?? undefined;
  const fail = (error, error_description) => redirect(res, withParams(redirectUri, { error, error_description, state }));
  if (q.get('response_type') !== 'code') return fail('unsupported_response_type', 'only response_type=code is supported');
  const challenge = q.get('code_challenge') || null;
  const method = q.get('code_challenge_method') || (challenge ? 'plain' : null);
  if (challenge && method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
  if (!challenge && q.get('code_challenge_method')) return fail('invalid_request', 'code_challenge missing');
  const pending = {
    clientId: client.id, redirectUri, state, nonce: q.get('nonce') ?? undefined, challenge,
    scope: q.get('scope') || 'openid', acrValues: q.get('acr_values') || null,
    en: /^en\b/i.test(q.get('ui_locales') || ''), exp: now() + TX_TTL,
  };
  const prompts = (q.get('prompt') || '').split(' ');
  if (prompts.includes('none')) { // only an existing SSO session may answer silently
    const sid = cookies(req)[SSO_COOKIE()];
    const s = sid && sessions.get(sid);
    if (!s) return fail('login_required', 'no active session');
    return issueCode(res, pending, byId.get(s.citizenId), sid, s.authTime);
  }
  const tx = rand(18);
  txs.set(tx, pending);
  const en = pending.en;
  const buttons = citizens.map((c) => {
    const lock = c.locked ? ` — <span class="locked">${en ? 'locked' : 'bị khóa'}: ${esc(c.locked)}</span>` : '';
    return `<button type="submit" name="citizen" value="${esc(c.id12)}">${esc(c.name)} — ${esc(c.id12)} — ${esc(levelLabel(c, en))}` +
      ` — ${esc(c.note)}${lock}</button>`;
  }).join('\n');
  page(res, 200, 'VNeID (mô phỏng)', `<h1>VNeID (mô phỏng)</h1>
<p>${en ? 'Application' : 'Ứng dụng'} <b>${esc(client.id)}</b> ${en ? 'asks you to sign in. Choose a citizen:' : 'yêu cầu đăng nhập. Chọn công dân:'}</p>
<div class="box"><form method="post" action="/auth/login">
<input type="hidden" name="tx" value="${esc(tx)}">
${buttons}
<button type="submit" name="cancel" value="1">Hủy</button>
</form></div>`, en ? 'en' : 'vi');
}

// Profile 7.3 (--encrypt-to): the code is AES-128-ECB-encrypted, standard base64, with its
// AES key RSA-wrapped to the RP as encrypt_key; both are sent raw in the query (a '+' stays
// a '+'), and the token request must bring both back exactly. The code always holds a '+',
// so an RP that reads the query as a form (a '+' as a space) fails here as it would there.
function encryptedCode(raw) {
  for (;;) {
    const k = crypto.randomBytes(16);
    const c = crypto.createCipheriv('aes-128-ecb', k, null);
    const code = Buffer.concat([c.update(raw, 'utf8'), c.final()]).toString('base64');
    if (!code.includes('+')) continue;
    const key = crypto.publicEncrypt({ key: rpKey, padding: crypto.constants.RSA_PKCS1_PADDING }, k).toString('base64');
    return { code, key };
  }
}

function issueCode(res, p, citizen, sid, authTime, extraHeaders = {}) {
  const grant = { clientId: p.clientId, redirectUri: p.redirectUri, nonce: p.nonce, challenge: p.challenge,
    scope: p.scope, citizenId: citizen.id12, sid, authTime, exp: now() + (Number(faults.code_ttl_s) || CODE_TTL) };
  if (!rpKey) {
    const code = rand(32);
    codes.set(code, grant);
    return redirect(res, withParams(p.redirectUri, { code, state: p.state }), extraHeaders);
  }
  const { code, key } = encryptedCode(rand(32));
  grant.encryptKey = key;
  codes.set(code, grant);
  const sep = p.redirectUri.includes('?') ? '&' : '?';
  const st = p.state === undefined ? '' : `&state=${encodeURIComponent(p.state)}`;
  redirect(res, `${p.redirectUri}${sep}code=${code}&encrypt_key=${key}${st}`, extraHeaders);
}

async function login(req, res) {
  stats.login++;
  const f = new URLSearchParams(await readBody(req));
  const tx = f.get('tx') || '';
  const p = txs.get(tx);
  if (!p || p.exp < now()) { txs.delete(tx); return errorPage(res, 400, 'Phiên đăng nhập không tồn tại hoặc đã hết hạn.'); }
  txs.delete(tx);
  if (f.get('cancel')) {
    return redirect(res, withParams(p.redirectUri, { error: 'access_denied', error_description: 'user cancelled login', state: p.state }));
  }
  const c = byId.get(f.get('citizen') || '');
  if (!c) return errorPage(res, 400, 'Công dân không tồn tại.');
  if (c.locked) {
    return redirect(res, withParams(p.redirectUri, { error: 'access_denied', error_description: 'account locked', state: p.state }));
  }
  const sid = crypto.randomUUID();
  const authTime = now();
  sessions.set(sid, { citizenId: c.id12, authTime });
  issueCode(res, p, c, sid, authTime, { 'Set-Cookie': `${SSO_COOKIE()}=${sid}; Path=/; HttpOnly; SameSite=Lax` });
}

function idToken(g, clientId) {
  const f = faults.id_token;
  const c = byId.get(g.citizenId);
  const t = now();
  const claims = { iss: issuer, aud: clientId, azp: clientId, sub: c.sub, exp: t + TOKEN_TTL, iat: t,
    auth_time: g.authTime, acr: '1', session_state: g.sid };
  if (g.nonce !== undefined) claims.nonce = g.nonce;
  if (f === 'wrong_iss') claims.iss = `${issuer}/realms/other`;
  if (f === 'wrong_aud') claims.aud = 'someone-else';
  if (f === 'wrong_azp') claims.azp = 'someone-else';
  if (f === 'wrong_nonce') claims.nonce = rand(16);
  if (f === 'expired') { claims.iat = t - 600; claims.exp = t - 300; claims.auth_time = t - 600; }
  if (f === 'alg_none') return signJwt(claims, { alg: 'none' });
  if (f === 'hs256') return signJwt(claims, { alg: 'HS256' });
  if (f === 'unknown_kid') return signJwt(claims, { k: (rogueKey ||= newKey('rogue')) });
  const jwt = signJwt(claims);
  if (f === 'bad_signature') {
    const [h, pl, s] = jwt.split('.');
    const sig = Buffer.from(s, 'base64url');
    sig[sig.length >> 1] ^= 0xff;
    return `${h}.${pl}.${b64u(sig)}`;
  }
  return jwt;
}

function clientAuth(req, f) {
  const h = req.headers.authorization || '';
  let id, secret;
  if (/^Basic /i.test(h)) {
    const dec = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i < 0) return null;
    try { id = decodeURIComponent(dec.slice(0, i).replace(/\+/g, ' ')); secret = decodeURIComponent(dec.slice(i + 1).replace(/\+/g, ' ')); }
    catch { return null; }
    if (f.has('client_secret')) return null; // two methods at once
  } else {
    id = f.get('client_id'); secret = f.get('client_secret');
  }
  const c = id && opt.clients.get(id);
  return c && secret != null && safeEq(secret, c.secret) ? c : null;
}

async function token(req, res) {
  stats.token++;
  const body = await readBody(req);
  if (faults.token_delay_ms) await sleep(Number(faults.token_delay_ms));
  if (faults.token_status) {
    return json(res, Number(faults.token_status), { error: 'server_error', error_description: 'simulated fault' });
  }
  const f = new URLSearchParams(body);
  const oerr = (status, error, error_description, extra) => json(res, status, { error, error_description }, extra);
  const client = clientAuth(req, f);
  if (!client) return oerr(401, 'invalid_client', 'client authentication failed', { 'WWW-Authenticate': 'Basic realm="vneid-sim"' });
  if (f.get('grant_type') !== 'authorization_code') return oerr(400, 'unsupported_grant_type', 'only authorization_code');
  const code = f.get('code') || '';
  const g = codes.get(code);
  codes.delete(code); // single use, whatever follows
  if (!g || g.exp < now()) return oerr(400, 'invalid_grant', 'code unknown, used or expired');
  if (g.clientId !== client.id) return oerr(400, 'invalid_grant', 'code issued to another client');
  if (g.encryptKey && f.get('encrypt_key') !== g.encryptKey) {
    return oerr(400, 'invalid_grant', 'encrypt_key missing or not the one sent with the code');
  }
  if (f.get('redirect_uri') !== g.redirectUri) return oerr(400, 'invalid_grant', 'redirect_uri mismatch');
  const verifier = f.get('code_verifier');
  if (g.challenge) {
    if (!verifier) return oerr(400, 'invalid_grant', 'PKCE code_verifier missing');
    if (!safeEq(crypto.createHash('sha256').update(verifier).digest('base64url'), g.challenge)) {
      return oerr(400, 'invalid_grant', 'PKCE verification failed');
    }
  } else if (verifier) return oerr(400, 'invalid_grant', 'PKCE code_verifier given but no challenge was sent');
  const c = byId.get(g.citizenId);
  const at = rand(32);
  tokens.set(at, { citizenId: c.id12, clientId: client.id, sid: g.sid, exp: now() + TOKEN_TTL });
  const out = { access_token: at, token_type: 'Bearer', expires_in: TOKEN_TTL, scope: g.scope, session_state: g.sid };
  if (rpKey) return json(res, 200, seal(out), { Pragma: 'no-cache' });
  if (faults.id_token !== 'missing') out.id_token = idToken(g, client.id);
  json(res, 200, out, { Pragma: 'no-cache' });
}

async function userinfo(req, res) {
  stats.userinfo++;
  if (req.method === 'POST') await readBody(req);
  const deny = (d) => json(res, 401, { error: 'invalid_token', error_description: d },
    { 'WWW-Authenticate': `Bearer realm="vneid-sim", error="invalid_token"` });
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization || '');
  if (!m) return deny('bearer token missing');
  const t = tokens.get(m[1]);
  if (!t || t.exp < now()) return deny('token unknown or expired');
  if (!sessions.has(t.sid)) return deny('session ended');
  if (faults.userinfo_status) {
    return json(res, Number(faults.userinfo_status), { error: 'server_error', error_description: 'simulated fault' });
  }
  const c = byId.get(t.citizenId);
  const tokenId = signJwt({ iss: issuer, sub: c.sub, sid: t.sid, azp: t.clientId, iat: now(), exp: now() + 3600, typ: 'token_id' });
  const claims = {
    sub: c.sub,
    SoDinhDanh: c.id12,
    SoCMND: c.cmnd9 || '',
    HoVaTen: c.name,
    NgayThangNamSinh: (c.birthdate || '').replace(/-/g, ''),
    ...(c.sex ? { GioiTinh: c.sex === 'F' ? 2 : 1 } : {}),
    IAL: c.level,
    loAs: `LoA${c.level}`,
    LoaiTaiKhoan: String(c.account_type),
    TechID: techId(c),
    logoutUri: `${base}/api/idp/third-party/logout?token_id=${tokenId}`,
    userProfileUri: `${base}/api/idp/third-party/view-info?token_id=${tokenId}`,
  };
  if (typeof faults.userinfo_sub === 'string') claims.sub = faults.userinfo_sub;
  if (faults.userinfo_override && typeof faults.userinfo_override === 'object') Object.assign(claims, faults.userinfo_override);
  if (rpKey) {
    return json(res, 200, seal({ citizenPid: c.id12, fullName: c.name, birthDate: c.birthdate || '',
      accountType: String(c.account_type), accountLevel: c.level }));
  }
  json(res, 200, claims);
}

function logout(req, res, q) {
  stats.logout++;
  const hint = verifyOwnJwt(q.get('id_token_hint') || q.get('token_id'));
  const sid = (hint && (hint.session_state || hint.sid)) || cookies(req)[SSO_COOKIE()];
  if (sid) sessions.delete(sid);
  const clear = { 'Set-Cookie': `${SSO_COOKIE()}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` };
  const post = q.get('post_logout_redirect_uri');
  if (post) {
    const ok = [...opt.clients.values()].some((c) => c.redirects.some((r) => new URL(r).origin === safeOrigin(post)));
    if (!ok) return errorPage(res, 400, 'post_logout_redirect_uri không hợp lệ.');
    return redirect(res, withParams(post, { state: q.get('state') ?? undefined }), clear);
  }
  res.setHeader('Set-Cookie', clear['Set-Cookie']);
  page(res, 200, 'VNeID (mô phỏng) — đăng xuất', '<h1>VNeID (mô phỏng)</h1><p id="logged-out">Bạn đã đăng xuất.</p>');
}
function safeOrigin(u) { try { return new URL(u).origin; } catch { return null; } }

function viewInfo(res, q) {
  const t = verifyOwnJwt(q.get('token_id'));
  const c = t && citizens.find((x) => x.sub === t.sub);
  if (!c) return errorPage(res, 400, 'token_id không hợp lệ.');
  page(res, 200, 'VNeID (mô phỏng) — thông tin', `<h1>Thông tin tài khoản định danh điện tử</h1><table>
<tr><td>Họ và tên</td><td>${esc(c.name)}</td></tr><tr><td>Số định danh</td><td>${esc(c.id12)}</td></tr>
<tr><td>Ngày sinh</td><td>${esc(c.birthdate)}</td></tr><tr><td>Mức</td><td>${esc(c.level)}</td></tr></table>`);
}

async function simFaults(req, res) {
  if (req.method === 'GET') return json(res, 200, faults);
  let f;
  try { f = JSON.parse((await readBody(req)) || '{}'); } catch { return json(res, 400, { error: 'bad JSON' }); }
  if (!f || typeof f !== 'object' || Array.isArray(f)) return json(res, 400, { error: 'want a JSON object' });
  const idt = ['bad_signature', 'alg_none', 'hs256', 'unknown_kid', 'wrong_iss', 'wrong_aud', 'expired', 'wrong_nonce', 'missing', 'wrong_azp'];
  if (f.id_token !== undefined && !idt.includes(f.id_token)) return json(res, 400, { error: `id_token fault must be one of ${idt.join(', ')}` });
  faults = f;
  json(res, 200, faults);
}

// ---------------------------------------------------------------- routing
async function handle(req, res) {
  const u = new URL(req.url, 'http://sim');
  const m = req.method;
  let p = u.pathname; // endpoints answer at the root and under the issuer's path
  const prefix = new URL(issuer).pathname.replace(/\/+$/, '');
  if (prefix && p.startsWith(`${prefix}/`)) p = p.slice(prefix.length);
  if (m === 'GET' && p === '/.well-known/openid-configuration') return discovery(res);
  if (m === 'GET' && p === '/jwks') return json(res, 200, { keys: [key.jwk] });
  if (m === 'GET' && p === '/auth') return authorize(req, res, u.searchParams);
  if (m === 'POST' && p === '/auth/login') return login(req, res);
  if (m === 'POST' && p === '/token') return token(req, res);
  if ((m === 'GET' || m === 'POST') && p === '/userinfo') return userinfo(req, res);
  if (m === 'GET' && (p === '/logout' || p === '/api/idp/third-party/logout')) return logout(req, res, u.searchParams);
  if (m === 'GET' && p === '/api/idp/third-party/view-info') return viewInfo(res, u.searchParams);
  if ((m === 'GET' || m === 'POST') && p === '/_sim/faults') return simFaults(req, res);
  if (m === 'GET' && p === '/_sim/citizens') return json(res, 200, citizens);
  if (m === 'GET' && p === '/_sim/stats') return json(res, 200, stats);
  json(res, 404, { error: 'not_found' });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: String(e.message || e) });
    else res.destroy();
  });
});
server.listen(opt.port, opt.host, () => {
  const a = server.address();
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  base = `http://${host}:${a.port}`;
  issuer = opt.issuer || base;
  console.log(`vneid-sim listening on ${base}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
