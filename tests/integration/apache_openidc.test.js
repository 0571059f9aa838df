// Apache httpd + mod_auth_openidc (an independent, widely deployed RP) as a portal of
// eidgw: code flow with PKCE S256 through eidgw and the VNeID simulator, claims handed
// to a CGI script, RP-initiated logout through eidgw's end_session endpoint, and
// back-channel logout from eidgw into mod_auth_openidc.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, freePort, secret, readLog } from './lib/harness.js';
import { hidden, href, discover, authRequest, client } from './lib/rp.js';
import { apacheMissing, openidcVersion, startApache, startWithStack, stopWithStack, parseEnv, NavAgent as Agent }
  from './lib/apache.js';

const AN = { id12: '001085012345', name: 'Nguyễn Văn An' };
const LONG = '034084190123'; // locked at VNeID
const missing = apacheMissing();

let st, ap, apachePort, apacheClient;
before(async () => {
  if (missing) return;
  apachePort = await freePort();
  const base = `http://127.0.0.1:${apachePort}`;
  const portalA = await freePort();
  apacheClient = {
    id: 'apache-portal', name: 'Cổng Apache', secret: secret(), redirect: [`${base}/protected/redirect_uri`],
    postLogout: [`${base}/loggedout.html`], backchannel: `${base}/protected/redirect_uri?logout=backchannel`,
    scopes: 'openid profile cccd', minLevel: 1,
  };
  const portal = { id: 'portal-a', secret: secret(), redirect: [`http://127.0.0.1:${portalA}/callback`],
                   postLogout: [`http://127.0.0.1:${portalA}/`], scopes: 'openid profile cccd', minLevel: 1 };
  // mod_auth_openidc 2.4.12 (Debian 12) takes an authorization error response that carries
  // `iss` (RFC 9207) for a discovery response and its worker dies; this client turns iss off
  ({ st, ap } = await startWithStack(
    startStack('apache', { clients: [apacheClient, portal],
                           extraClient: { 'apache-portal': 'response_iss = no\n' } }),
    (s) => startApache({ port: apachePort, gwUrl: s.gw.url, clientId: apacheClient.id,
                         clientSecret: apacheClient.secret })));
});
after(() => stopWithStack({ st, ap }));

function diag() {
  return `\n--- apache error.log (mod_auth_openidc ${openidcVersion()}) ---\n${ap?.errorLog().slice(-6000)}` +
    `\n--- apache access.log ---\n${ap?.accessLog().slice(-3000)}\n--- eidgw ---\n${readLog(st.gw.proc).slice(-4000)}`;
}

// Follow redirects like a browser; returns the last response with .hops.
const browse = (agent, url, opts = {}) => agent.follow(url, opts, 25);

const hopTo = (r, prefix) => r.hops.find((h) => h.url.startsWith(prefix));

// Apache protected page -> eidgw -> VNeID simulator (citizen chosen) -> eidgw -> Apache.
async function loginAtApache(agent, citizen = AN.id12, path = '/protected/whoami') {
  let r = await browse(agent, `${ap.url}${path}`);
  const authz = hopTo(r, `${st.gw.url}/authorize?`);
  assert.ok(authz, `Apache did not send the browser to eidgw: ${r.hops.map((h) => `${h.status} ${h.url}`).join('\n')}${diag()}`);
  if (r.url.startsWith(ap.url + '/')) return { r, authz }; // SSO: straight back
  assert.ok(r.url.startsWith(`${st.gw.url}/login?`), r.url);
  const v = href(r.body, 'vneid');
  assert.ok(v, 'eidgw login page has the VNeID button');
  r = await browse(agent, new URL(v, r.url).toString());
  assert.ok(r.url.startsWith(`${st.sim.url}/auth?`), r.url);
  const tx = hidden(r.body, 'tx');
  assert.ok(tx);
  r = await browse(agent, `${st.sim.url}/auth/login`, { method: 'POST', form: { tx, citizen } });
  return { r, authz };
}

test('Apache mod_auth_openidc logs a citizen in through eidgw and sees the claims', { skip: missing || false }, async () => {
  const agent = new Agent();
  const { r, authz } = await loginAtApache(agent);
  const q = new URL(authz.url).searchParams;
  assert.equal(q.get('client_id'), 'apache-portal');
  assert.equal(q.get('redirect_uri'), ap.redirectUri);
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.match(q.get('code_challenge') || '', /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual((q.get('scope') || '').split(' ').sort(), ['cccd', 'openid', 'profile']);
  assert.ok(q.get('state') && q.get('nonce'));
  const cb = hopTo(r, `${ap.redirectUri}?`);
  assert.ok(cb, 'eidgw redirected back to Apache');
  assert.equal(new URL(cb.url).searchParams.get('iss'), null, 'this client is registered with response_iss = no');

  assert.equal(r.status, 200, `Apache did not serve the protected page: ${r.status} ${r.url}\n${r.body}${diag()}`);
  assert.equal(r.url, `${ap.url}/protected/whoami`);
  const env = parseEnv(r.body);
  assert.equal(env.OIDC_CLAIM_cccd, AN.id12, r.body);
  assert.equal(env.OIDC_CLAIM_name, AN.name);
  assert.equal(env.OIDC_CLAIM_acr, 'urn:vn:eid:level:2');
  assert.equal(env.OIDC_CLAIM_birthdate, '1985-03-14');
  assert.equal(env.OIDC_CLAIM_gender, 'male');
  assert.equal(env.OIDC_CLAIM_iss, st.gw.url);
  assert.equal(env.OIDC_CLAIM_aud, 'apache-portal');
  assert.match(env.OIDC_CLAIM_sub, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(env.OIDC_CLAIM_sub, AN.id12);
  assert.equal(env.REMOTE_USER, env.OIDC_CLAIM_sub);

  // the Apache session holds: no second trip to eidgw
  const again = await browse(agent, `${ap.url}/protected/whoami`);
  assert.equal(again.hops.length, 1);
  assert.equal(again.status, 200);
  assert.equal(parseEnv(again.body).OIDC_CLAIM_cccd, AN.id12);
});

test('Apache logout goes through eidgw end_session and back; the SSO session is over', { skip: missing || false }, async () => {
  const agent = new Agent();
  const { r } = await loginAtApache(agent);
  assert.equal(r.status, 200, diag());
  const back = `${ap.url}/loggedout.html`;
  const lo = await browse(agent, `${ap.redirectUri}?logout=${encodeURIComponent(back)}`);
  const es = hopTo(lo, `${st.gw.url}/logout?`);
  assert.ok(es, `Apache did not call eidgw's end_session endpoint: ${lo.hops.map((h) => `${h.status} ${h.url}`).join('\n')}${diag()}`);
  const q = new URL(es.url).searchParams;
  assert.ok(q.get('id_token_hint'), 'id_token_hint sent');
  assert.equal(q.get('post_logout_redirect_uri'), back);
  assert.equal(es.status, 302, `eidgw asked for confirmation instead of ending the session: ${es.status}`);
  assert.equal(lo.status, 200);
  assert.ok(lo.url.startsWith(back), lo.url);
  assert.match(lo.body, /id="logged-out"/);

  // Apache's session is gone and so is eidgw's: the next visit shows eidgw's login page
  const next = await browse(agent, `${ap.url}/protected/whoami`);
  assert.ok(hopTo(next, `${st.gw.url}/authorize?`));
  assert.ok(next.url.startsWith(`${st.gw.url}/login?`), `expected eidgw's login page, got ${next.status} ${next.url}`);
  assert.ok(href(next.body, 'vneid'));
});

test('single sign-on: after Apache, another portal gets in without VNeID; logout there ends the Apache session by back-channel',
  { skip: missing || false }, async () => {
    const agent = new Agent();
    const { r } = await loginAtApache(agent);
    assert.equal(r.status, 200, diag());
    const authsBefore = (await st.sim.stats()).auth;

    const c = st.clients['portal-a'];
    const config = await discover(st.gw.url, c);
    const req = await authRequest(config, c);
    const hop = await agent.request(req.url);
    assert.equal(hop.status, 302);
    assert.ok(hop.location.startsWith(`${c.redirect[0]}?code=`), hop.location);
    assert.equal((await st.sim.stats()).auth, authsBefore, 'no second VNeID login');
    const tokens = await client.authorizationCodeGrant(config, new URL(hop.location), {
      pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    assert.equal(tokens.claims().cccd, AN.id12);

    // portal A logs out at eidgw with its id_token_hint (no browser visit to Apache)
    const end = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token,
                                                    post_logout_redirect_uri: c.postLogout[0] });
    const lo = await agent.request(end.href);
    assert.equal(lo.status, 302);
    assert.equal(lo.location, c.postLogout[0]);
    assert.match(readLog(st.gw.proc), /"back-channel logout","client":"apache-portal","status":"200"/,
                 `mod_auth_openidc did not accept eidgw's logout token${diag()}`);

    // Apache's own session cookie no longer opens a session
    const again = await browse(agent, `${ap.url}/protected/whoami`);
    assert.notEqual(again.hops[0].status, 200, 'Apache still serves the citizen after the back-channel logout');
    assert.ok(hopTo(again, `${st.gw.url}/authorize?`));
    assert.ok(again.url.startsWith(`${st.gw.url}/login?`), again.url);
  });

// Locked citizen at VNeID -> eidgw's upstream_denied page; returns the URL of its link back to the portal.
async function refusedBackLink(agent) {
  const { r } = await loginAtApache(agent, LONG);
  assert.equal(r.status, 403);
  assert.ok(r.url.startsWith(`${st.gw.url}/callback?`), r.url);
  assert.match(r.body, /id="error-code">upstream_denied</);
  const back = href(r.body, 'back');
  assert.ok(back, 'the error page links back to the portal');
  return new URL(back, r.url);
}

test('a citizen refused by VNeID: the way back to Apache carries access_denied, and Apache reports it',
  { skip: missing || false }, async () => {
    const agent = new Agent();
    const u = await refusedBackLink(agent);
    assert.equal(u.origin + u.pathname, ap.redirectUri);
    assert.equal(u.searchParams.get('error'), 'access_denied');
    assert.ok(u.searchParams.get('state'), 'state is returned to the portal');
    const res = await browse(agent, u.toString());
    assert.match(res.body, /OpenID Connect Provider error: access_denied/,
                 `Apache did not report the refusal: ${res.status}\n${res.body.slice(0, 800)}`);
  });

test('RFC 9207: error responses carry iss, except for a client registered with response_iss = no',
  { skip: missing || false }, async () => {
    const meta = await (await fetch(`${st.gw.url}/.well-known/openid-configuration`)).json();
    assert.equal(meta.authorization_response_iss_parameter_supported, true);
    const p = st.clients['portal-a'];
    const res = await fetch(`${st.gw.url}/authorize?client_id=portal-a&redirect_uri=${encodeURIComponent(p.redirect[0])}` +
                            '&response_type=token&scope=openid&state=s1', { redirect: 'manual' });
    const loc = new URL(res.headers.get('location'));
    assert.equal(loc.searchParams.get('error'), 'unsupported_response_type');
    assert.equal(loc.searchParams.get('iss'), st.gw.url);
    const u = await refusedBackLink(new Agent());
    assert.equal(u.searchParams.get('iss'), null, `iss sent to a client that turned it off: ${u}`);
  });
