// The peer in the benchmark: panva's oidc-provider set up as an OpenID Provider for the
// same portal flow that eidgw serves (confidential client, code flow with PKCE S256,
// ES256 id_tokens, pairwise subjects, the same citizens and claims).
//
//   node bench/oidc_provider_op.js --port P --client ID:SECRET:REDIRECT_URI [--citizens FILE]
//        [--upstream URL --upstream-client ID:SECRET]
//
// With --upstream it is a broker like eidgw: its login page offers "Đăng nhập bằng VNeID",
// which sends the citizen to the upstream OpenID Provider (the VNeID simulator) with
// state, nonce and PKCE S256; the callback exchanges the code and fetches userinfo with
// panva's openid-client (client_secret_basic; the RS256 id_token checked for signature,
// iss, aud, exp, nonce), maps the VNeID claims to the portal's and finishes the
// interaction. Every login also offers the provider's own page (/interaction/UID/local:
// a form POST that picks a citizen), used when there is no upstream.
//
// What differs from eidgw, on purpose and in the peer's favour:
//  - the broker checks less than eidgw does on the way back (no ID-number validation, no
//    e-ID level or account-type policy, no lock list, no account linking);
//  - consent is granted in the same step as the login, since eidgw shows no consent page;
//  - storage is an in-process Map (below), not a database: oidc-provider needs an adapter
//    in production (Redis, SQL), which would only add cost. Its built-in MemoryAdapter is
//    not used because it is an LRU capped at 1000 entries (codes minted ahead of a token
//    run would be evicted) and it re-scans a grant's members on every write.
// devInteractions (the development-only UI) is off.
import http from 'node:http';
import { readBody } from '../sim/lib/http.js';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { URLSearchParams } from 'node:url';
import Provider from 'oidc-provider';
import * as oc from 'openid-client';

function parseArgs(argv) {
  const o = { port: 0, citizens: new URL('../sim/citizens.json', import.meta.url), client: null, upstream: null,
    upstreamClient: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--port') { o.port = Number(v); i++; }
    else if (a === '--citizens') { o.citizens = v; i++; }
    else if (a === '--upstream') { o.upstream = v; i++; }
    else if (a === '--upstream-client') {
      const m = /^([^:]+):(.+)$/.exec(v || '');
      if (!m) die(`bad --upstream-client ${v}`);
      o.upstreamClient = { id: m[1], secret: m[2] };
      i++;
    }
    else if (a === '--client') {
      const m = /^([^:]+):([^:]+):(.+)$/.exec(v || '');
      if (!m) die(`bad --client ${v}`);
      o.client = { id: m[1], secret: m[2], redirect: m[3] };
      i++;
    } else die(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) die('bad --port');
  if (!o.client) die('--client is required');
  if (!o.upstream !== !o.upstreamClient) die('--upstream and --upstream-client go together');
  return o;
}
function die(msg) { console.error(`oidc-provider-op: ${msg}`); process.exit(2); }

const opt = parseArgs(process.argv.slice(2));
const issuer = `http://127.0.0.1:${opt.port}`;
const citizens = JSON.parse(readFileSync(opt.citizens, 'utf8'));
const byId = new Map(citizens.map((c) => [c.id12, c]));

// ---------------------------------------------------------------- storage
// A plain Map with expiry, a grant index and a uid index; expired entries are swept
// every 10 s (bounded by the number of entries).
const store = new Map();     // key -> { payload, exp (ms) }
const byGrant = new Map();   // grantId -> Set of keys
const byUid = new Map();     // uid -> key
const byUserCode = new Map();
const nowMs = () => Date.now();

function drop(key) {
  const e = store.get(key);
  if (!e) return;
  store.delete(key);
  const g = e.payload.grantId;
  if (g) { const s = byGrant.get(g); if (s) { s.delete(key); if (!s.size) byGrant.delete(g); } }
  if (e.payload.uid) byUid.delete(e.payload.uid);
  if (e.payload.userCode) byUserCode.delete(e.payload.userCode);
}
setInterval(() => {
  const t = nowMs();
  for (const [k, e] of store) if (e.exp <= t) drop(k);
}, 10_000).unref();

class MapAdapter {
  constructor(name) { this.name = name; }
  key(id) { return `${this.name}:${id}`; }
  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, exp: expiresIn ? nowMs() + expiresIn * 1000 : Infinity });
    if (payload.grantId) {
      let s = byGrant.get(payload.grantId);
      if (!s) byGrant.set(payload.grantId, (s = new Set()));
      s.add(key);
    }
    if (payload.uid) byUid.set(payload.uid, key);
    if (payload.userCode) byUserCode.set(payload.userCode, key);
  }
  get(key) {
    const e = store.get(key);
    if (!e) return undefined;
    if (e.exp <= nowMs()) { drop(key); return undefined; }
    return e.payload;
  }
  async find(id) { return this.get(this.key(id)); }
  async findByUid(uid) { const k = byUid.get(uid); return k ? this.get(k) : undefined; }
  async findByUserCode(code) { const k = byUserCode.get(code); return k ? this.get(k) : undefined; }
  async consume(id) { const p = this.get(this.key(id)); if (p) p.consumed = Math.floor(nowMs() / 1000); }
  async destroy(id) { drop(this.key(id)); }
  async revokeByGrantId(grantId) {
    const s = byGrant.get(grantId);
    if (s) for (const k of [...s]) drop(k);
    byGrant.delete(grantId);
  }
}

// ---------------------------------------------------------------- keys
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const sigJwk = { ...ec.privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256',
  kid: crypto.randomBytes(8).toString('base64url') };
const pairwiseKey = crypto.randomBytes(32);

// ---------------------------------------------------------------- provider
const ALLOWED_SCOPE = new Set(['openid', 'profile', 'cccd']);
const configuration = {
  adapter: MapAdapter,
  clients: [{
    client_id: opt.client.id,
    client_secret: opt.client.secret,
    redirect_uris: [opt.client.redirect],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    subject_type: 'pairwise',
    client_name: 'Cổng portal-a',
  }],
  jwks: { keys: [sigJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'profile', 'cccd'],
  claims: { openid: ['sub'], profile: ['name', 'birthdate', 'gender'], cccd: ['cccd'], acr: null, amr: null, sid: null },
  subjectTypes: ['public', 'pairwise'],
  // like eidgw: HMAC-SHA256 of client_id, NUL, the ID number under a secret key
  pairwiseIdentifier: async (ctx, accountId, client) =>
    crypto.createHmac('sha256', pairwiseKey).update(`${client.clientId}\0${accountId}`).digest('base64url'),
  // like eidgw, the id_token carries the released claims (not only userinfo)
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 900, Session: 8 * 3600,
         Grant: 8 * 3600 },
  // accounts from the upstream are "vneid:<ID number>", local ones the ID number itself
  async findAccount(ctx, sub) {
    const fromUpstream = sub.startsWith('vneid:') ? upstreamClaims.get(sub.slice(6)) : undefined;
    const c = fromUpstream ? undefined : byId.get(sub);
    if (!fromUpstream && !c) return undefined;
    return {
      accountId: sub,
      async claims() {
        return fromUpstream ? { sub, ...fromUpstream } : { sub, name: c.name, birthdate: c.birthdate, cccd: c.id12,
          ...(c.sex ? { gender: c.sex === 'F' ? 'female' : 'male' } : {}) };
      },
    };
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><html><body><h1>Error</h1><p id="error">${esc(out.error)}: ${esc(out.error_description)}</p></body></html>`;
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));

// ---------------------------------------------------------------- interactions
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (ch) =>
  ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

// The login page: with an upstream, one link to it (like eidgw's login page); without,
// one form with one button per citizen.
async function loginPage(req, res, uid) {
  const d = await provider.interactionDetails(req, res);
  if (d.uid !== uid) return send(res, 400, 'interaction mismatch');
  if (opt.upstream) {
    return send(res, 200, `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Đăng nhập</title></head>
<body><h1>Đăng nhập vào ${esc(opt.client.id)}</h1>
<p><a id="vneid" href="/interaction/${esc(uid)}/vneid">Đăng nhập bằng VNeID</a></p>
<p><a id="local" href="/interaction/${esc(uid)}/local">Tài khoản thử nghiệm</a></p></body></html>`);
  }
  return localPage(res, uid);
}

function localPage(res, uid) {
  const buttons = citizens.filter((c) => !c.locked).slice(0, 8).map((c) =>
    `<button type="submit" name="citizen" value="${esc(c.id12)}">${esc(c.name)}</button>`).join('\n');
  send(res, 200, `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Đăng nhập</title></head>
<body><h1>Đăng nhập vào ${esc(opt.client.id)}</h1>
<form id="login" method="post" action="/interaction/${esc(uid)}/login">
${buttons}
</form></body></html>`);
}

// Log the citizen in and grant the requested scopes in one step.
async function finishLogin(req, res, d, accountId) {
  const grant = new provider.Grant({ accountId, clientId: d.params.client_id });
  grant.addOIDCScope(String(d.params.scope || '').split(' ').filter((s) => ALLOWED_SCOPE.has(s)).join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } },
                                     { mergeWithLastSubmission: false });
}

async function loginSubmit(req, res, uid) {
  const f = new URLSearchParams(await readBody(req));
  const d = await provider.interactionDetails(req, res);
  if (d.uid !== uid) return send(res, 400, 'interaction mismatch');
  const c = byId.get(f.get('citizen') || '');
  if (!c || c.locked) return send(res, 400, 'unknown citizen');
  await finishLogin(req, res, d, c.id12);
}

// ---------------------------------------------------------------- the upstream (VNeID)
const upstreamClaims = new Map(); // ID number -> the portal's claims from the last upstream login
const pending = new Map();        // upstream state -> { uid, verifier, nonce, exp }
setInterval(() => { const t = nowMs(); for (const [k, p] of pending) if (p.exp <= t) pending.delete(k); }, 10_000).unref();
let upstreamConfig = null;
const callbackUrl = `${issuer}/vneid/callback`;
async function upstream() {
  upstreamConfig ||= oc.discovery(new URL(opt.upstream), opt.upstreamClient.id, opt.upstreamClient.secret,
    oc.ClientSecretBasic(opt.upstreamClient.secret), { execute: [oc.allowInsecureRequests] })
    .catch((e) => { upstreamConfig = null; throw e; });
  return upstreamConfig;
}

async function toUpstream(req, res, uid) {
  const d = await provider.interactionDetails(req, res);
  if (d.uid !== uid) return send(res, 400, 'interaction mismatch');
  const config = await upstream();
  const verifier = oc.randomPKCECodeVerifier(), state = oc.randomState(), nonce = oc.randomNonce();
  pending.set(state, { uid, verifier, nonce, exp: nowMs() + 600_000 });
  const to = oc.buildAuthorizationUrl(config, { redirect_uri: callbackUrl, scope: 'openid', state, nonce,
    code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  res.writeHead(302, { Location: to.href, 'Cache-Control': 'no-store' });
  res.end();
}

const ymd = (v) => (/^\d{8}$/.test(v || '') ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6)}` : undefined);

async function fromUpstream(req, res) {
  const here = new URL(req.url, issuer);
  const p = pending.get(here.searchParams.get('state') || '');
  if (!p) return send(res, 400, 'unknown or expired state');
  pending.delete(here.searchParams.get('state'));
  const d = await provider.interactionDetails(req, res);
  if (d.uid !== p.uid) return send(res, 400, 'interaction mismatch');
  const config = await upstream();
  const tokens = await oc.authorizationCodeGrant(config, here, { pkceCodeVerifier: p.verifier,
    expectedState: here.searchParams.get('state'), expectedNonce: p.nonce, idTokenExpected: true });
  const ui = await oc.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
  const id12 = String(ui.SoDinhDanh || '');
  if (!/^\d{12}$/.test(id12)) return send(res, 400, 'no ID number from upstream');
  upstreamClaims.set(id12, { name: ui.HoVaTen, birthdate: ymd(ui.NgayThangNamSinh), cccd: id12,
    ...(ui.GioiTinh ? { gender: Number(ui.GioiTinh) === 2 ? 'female' : 'male' } : {}) });
  await finishLogin(req, res, d, `vneid:${id12}`);
}

const oidc = provider.callback();
const server = http.createServer((req, res) => {
  const url = req.url.split('?')[0];
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/local|\/vneid)?$/.exec(url);
  let go;
  if (opt.upstream && url === '/vneid/callback') go = req.method === 'GET' && fromUpstream(req, res);
  else if (!m) return oidc(req, res);
  else if (m[2] === '/login') go = req.method === 'POST' && loginSubmit(req, res, m[1]);
  else if (req.method !== 'GET') go = false;
  else if (m[2] === '/local') go = provider.interactionDetails(req, res).then((d) =>
    (d.uid === m[1] ? localPage(res, m[1]) : send(res, 400, 'interaction mismatch')));
  else if (m[2] === '/vneid') go = opt.upstream ? toUpstream(req, res, m[1]) : Promise.resolve(send(res, 404, 'no upstream'));
  else go = loginPage(req, res, m[1]);
  if (!go) return send(res, 405, 'method not allowed');
  go.catch((e) => { if (!res.headersSent) send(res, 400, esc(e.message)); else res.destroy(); });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(opt.port, '127.0.0.1', () => console.log(`oidc-provider-op listening on ${issuer}`));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
