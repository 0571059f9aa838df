// The peer in the benchmark: panva's oidc-provider set up as an OpenID Provider for the
// same portal flow that eidgw serves (confidential client, code flow with PKCE S256,
// ES256 id_tokens, pairwise subjects, the same citizens and claims).
//
//   node bench/oidc_provider_op.js --port P --client ID:SECRET:REDIRECT_URI [--citizens FILE]
//
// What differs from eidgw, on purpose and in the peer's favour:
//  - there is no upstream: the login is the provider's own interaction (a login page and
//    a form POST that picks a citizen, the nearest equivalent of eidgw's round trip to
//    VNeID); consent is granted in the same POST, since eidgw shows no consent page;
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

function parseArgs(argv) {
  const o = { port: 0, citizens: new URL('../sim/citizens.json', import.meta.url), client: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--port') { o.port = Number(v); i++; }
    else if (a === '--citizens') { o.citizens = v; i++; }
    else if (a === '--client') {
      const m = /^([^:]+):([^:]+):(.+)$/.exec(v || '');
      if (!m) die(`bad --client ${v}`);
      o.client = { id: m[1], secret: m[2], redirect: m[3] };
      i++;
    } else die(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) die('bad --port');
  if (!o.client) die('--client is required');
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
  async findAccount(ctx, sub) {
    const c = byId.get(sub);
    if (!c) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, name: c.name, birthdate: c.birthdate, cccd: c.id12,
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

// The login page: one form, one button per citizen (about the size of eidgw's login page).
async function loginPage(req, res, uid) {
  const d = await provider.interactionDetails(req, res);
  if (d.uid !== uid) return send(res, 400, 'interaction mismatch');
  const buttons = citizens.filter((c) => !c.locked).slice(0, 8).map((c) =>
    `<button type="submit" name="citizen" value="${esc(c.id12)}">${esc(c.name)}</button>`).join('\n');
  send(res, 200, `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Đăng nhập</title></head>
<body><h1>Đăng nhập vào ${esc(opt.client.id)}</h1>
<form id="login" method="post" action="/interaction/${esc(uid)}/login">
${buttons}
</form></body></html>`);
}

// Log the citizen in and grant the requested scopes in one step.
async function loginSubmit(req, res, uid) {
  const f = new URLSearchParams(await readBody(req));
  const d = await provider.interactionDetails(req, res);
  if (d.uid !== uid) return send(res, 400, 'interaction mismatch');
  const c = byId.get(f.get('citizen') || '');
  if (!c || c.locked) return send(res, 400, 'unknown citizen');
  const grant = new provider.Grant({ accountId: c.id12, clientId: d.params.client_id });
  grant.addOIDCScope(String(d.params.scope || '').split(' ').filter((s) => ALLOWED_SCOPE.has(s)).join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: c.id12 }, consent: { grantId } },
                                     { mergeWithLastSubmission: false });
}

const oidc = provider.callback();
const server = http.createServer((req, res) => {
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(req.url.split('?')[0]);
  if (!m) return oidc(req, res);
  const go = m[2] ? (req.method === 'POST' && loginSubmit(req, res, m[1]))
                  : (req.method === 'GET' && loginPage(req, res, m[1]));
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
