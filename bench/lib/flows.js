// The portal's side of the flows the benchmark drives, for eidgw and for oidc-provider.
// A target is {kind: 'eidgw'|'oidc-provider', url, clientId, clientSecret, redirectUri,
// scope}. Nothing here follows a redirect into the portal: the code is read from the
// Location that points there.
import crypto from 'node:crypto';

const rand = (n) => crypto.randomBytes(n).toString('base64url');
const s256 = (v) => crypto.createHash('sha256').update(v).digest('base64url');

export function basicAuth(id, secret) {
  return 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
}

export function authPath(t) { return t.kind === 'eidgw' ? '/authorize' : '/auth'; }

// A fresh authorization request: state, nonce, PKCE S256.
export function authRequest(t) {
  const verifier = rand(32), state = rand(16), nonce = rand(16);
  const q = new URLSearchParams({ response_type: 'code', client_id: t.clientId, redirect_uri: t.redirectUri,
    scope: t.scope, state, nonce, code_challenge: s256(verifier), code_challenge_method: 'S256' });
  return { url: `${t.url}${authPath(t)}?${q}`, verifier, state, nonce };
}

function what(r) {
  const m = /<code id="error-code">([^<]*)<\/code>/.exec(r.body) || /<p id="error">([^<]*)<\/p>/.exec(r.body);
  return `${r.status}${r.location ? ' -> ' + r.location.slice(0, 120) : ''}${m ? ' [' + m[1] + ']' : ''}` +
    (!m && !r.location && r.body ? ` ${JSON.stringify(r.body.slice(0, 160))}` : '');
}
function expect(cond, step, r) { if (!cond) throw new Error(`${step}: ${what(r)}`); }
const isRedirect = (r) => r.status === 302 || r.status === 303;

// The code from the redirect to the portal; checks state.
function codeFrom(t, r, a, step) {
  expect(isRedirect(r) && r.location && r.location.startsWith(t.redirectUri + '?'), step, r);
  const u = new URL(r.location);
  const code = u.searchParams.get('code');
  expect(code && u.searchParams.get('state') === a.state, `${step} (no code or wrong state)`, r);
  return code;
}

function hidden(html, name) {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return m ? m[1].replace(/&amp;/g, '&') : null;
}
function href(html, id) {
  const m = new RegExp(`id="${id}"[^>]*href="([^"]*)"`).exec(html) || new RegExp(`href="([^"]*)"[^>]*id="${id}"`).exec(html);
  return m ? m[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&#61;/g, '=') : null;
}
const form = { 'content-type': 'application/x-www-form-urlencoded' };

// The upstream leg: the VNeID simulator's page, then its form POST, which redirects back
// to `back` (the broker's callback) with a code.
async function viaSimulator(c, jar, simAuth, citizen, back) {
  let r = await c.request(simAuth, { jar });
  const tx = r.status === 200 && hidden(r.body, 'tx');
  expect(tx, 'simulator auth page', r);
  r = await c.request(new URL('/auth/login', simAuth).toString(), { method: 'POST', jar, headers: form,
    body: new URLSearchParams({ tx, citizen }).toString() });
  expect(isRedirect(r) && r.location?.startsWith(`${back}?`), 'simulator login', r);
  return r.location;
}

// A whole login with no session: returns {code, verifier, state, nonce, location}.
// eidgw:  /authorize -> /login page -> /login/vneid -> simulator /auth page ->
//         POST simulator /auth/login -> /callback (eidgw calls the simulator's /token,
//         /userinfo) -> code
// oidc-provider brokering to the simulator (t.local unset):
//         /auth -> /interaction/UID page -> /interaction/UID/vneid -> simulator /auth page ->
//         POST simulator /auth/login -> /vneid/callback (openid-client calls the
//         simulator's /token, /userinfo) -> /auth/UID -> code
// oidc-provider with its own login (t.local): /auth -> /interaction/UID page ->
//         /interaction/UID/local page -> POST /interaction/UID/login -> /auth/UID -> code
export async function login(c, t, jar, citizen) {
  const a = authRequest(t);
  let r = await c.request(a.url, { jar });
  if (t.kind === 'eidgw') {
    expect(isRedirect(r) && r.location?.startsWith(`${t.url}/login?`), 'authorize', r);
    r = await c.request(r.location, { jar });
    const v = r.status === 200 && href(r.body, 'vneid');
    expect(v, 'login page', r);
    r = await c.request(new URL(v, `${t.url}/`).toString(), { jar });
    expect(isRedirect(r) && r.location, 'login/vneid', r);
    const back = await viaSimulator(c, jar, r.location, citizen, `${t.url}/callback`);
    r = await c.request(back, { jar });
    return { ...a, code: codeFrom(t, r, a, 'callback'), location: r.location };
  }
  expect(isRedirect(r) && r.location?.startsWith(`${t.url}/interaction/`), 'auth', r);
  r = await c.request(r.location, { jar });
  const link = r.status === 200 && href(r.body, t.local ? 'local' : 'vneid');
  expect(link, 'login page', r);
  r = await c.request(new URL(link, `${t.url}/`).toString(), { jar });
  if (t.local) {
    const action = r.status === 200 && /<form id="login" method="post" action="([^"]+)"/.exec(r.body)?.[1];
    expect(action, 'local login page', r);
    r = await c.request(new URL(action, `${t.url}/`).toString(), { method: 'POST', jar, headers: form,
      body: new URLSearchParams({ citizen }).toString() });
  } else {
    expect(isRedirect(r) && r.location, 'interaction/vneid', r);
    const back = await viaSimulator(c, jar, r.location, citizen, `${t.url}/vneid/callback`);
    r = await c.request(back, { jar });
  }
  expect(isRedirect(r) && r.location?.startsWith(`${t.url}/auth/`), 'login finished', r);
  r = await c.request(r.location, { jar });
  return { ...a, code: codeFrom(t, r, a, 'auth resume'), location: r.location };
}

// With an SSO session in the jar: one authorization request answered with a code.
export async function authorizeWithSession(c, t, jar) {
  const a = authRequest(t);
  const r = await c.request(a.url, { jar });
  return { ...a, code: codeFrom(t, r, a, 'authorize with session') };
}

// The code exchange. Checks the answer's shape only (the sanity check validates one
// answer per server fully with openid-client).
export function tokenRequestBody(t, code, verifier) {
  return new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: t.redirectUri,
    code_verifier: verifier }).toString();
}

export async function token(c, t, code, verifier) {
  const body = tokenRequestBody(t, code, verifier);
  const r = await c.request(`${t.url}/token`, { method: 'POST', body,
    headers: { ...form, authorization: t.basic || (t.basic = basicAuth(t.clientId, t.clientSecret)) } });
  expect(r.status === 200, 'token', r);
  const j = JSON.parse(r.body);
  expect(j.access_token && typeof j.id_token === 'string' && j.id_token.split('.').length === 3, 'token (shape)', r);
  return j;
}
