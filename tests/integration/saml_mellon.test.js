// Apache httpd + mod_auth_mellon (Debian's SAML 2.0 SP) as a portal of eidgw's SAML IdP:
// mellon reads eidgw's /saml/metadata, sends a signed HTTP-Redirect AuthnRequest, the
// citizen logs in through eidgw and the VNeID simulator, eidgw posts a signed Response to
// mellon's ACS and Apache's page sees the identity. Then requests crafted here with the
// SP's key: wrong ACS, unknown SP, a tampered signature, SHA-1, IsPassive, the budget.
// Single Logout: mellon's own logout ends the SSO session at eidgw (and an OIDC portal of
// the same session gets its back-channel logout); crafted LogoutRequests for the refusals
// and for a request about another citizen.
import { test, before, after } from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startStack, freePort, secret, readLog } from './lib/harness.js';
import { href, hidden, errorCode, forms, discover, authRequest, client } from './lib/rp.js';
import { mellonMissing, mellonSp, startMellon, startWithStack, stopWithStack, parseEnv, NavAgent as Agent }
  from './lib/apache.js';

const AN = { id12: '001085012345', name: 'Nguyễn Văn An' };
const PORTAL = 'mellon-portal';
const OIDC = 'oidc-portal';
const CLOSED = 'saml-closed'; // a SAML portal that did not opt in to IdP-initiated SSO
const ARTIFACT = 'saml-artifact'; // opted in, but its only ACS takes HTTP-Artifact
const missing = mellonMissing();

// Back-channel logout calls of the OIDC portal: the claims of each logout token.
const bcGot = [];
let bc;
function bcListener(port) {
  bc = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const tok = new URLSearchParams(body).get('logout_token') || '';
      bcGot.push(JSON.parse(Buffer.from(tok.split('.')[1] || 'e30', 'base64url').toString()));
      res.writeHead(200).end();
    });
  });
  return new Promise((r) => bc.listen(port, '127.0.0.1', r));
}

let st, ap, sp, closedSp, artifactSp, idpMetadata;
before(async () => {
  if (missing) return;
  const apachePort = await freePort(), bcPort = await freePort(), rpPort = await freePort();
  await bcListener(bcPort);
  sp = mellonSp(null, `http://127.0.0.1:${apachePort}`);
  closedSp = mellonSp(null, `http://127.0.0.1:${await freePort()}`);
  artifactSp = mellonSp(null, `http://127.0.0.1:${await freePort()}`);
  fs.writeFileSync(artifactSp.metadataPath, fs.readFileSync(artifactSp.metadataPath, 'utf8')
    .replace(/(<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2\.0:bindings:)HTTP-POST/, '$1HTTP-Artifact'));
  const portal = { id: PORTAL, name: 'Cổng Mellon', secret: secret(), redirect: [], scopes: 'openid profile cccd',
                   minLevel: 1 };
  const closed = { id: CLOSED, secret: secret(), redirect: [], scopes: 'openid profile', minLevel: 1 };
  const artifact = { id: ARTIFACT, secret: secret(), redirect: [], scopes: 'openid profile', minLevel: 1 };
  const oidc = { id: OIDC, secret: secret(), redirect: [`http://127.0.0.1:${rpPort}/callback`],
                 backchannel: `http://127.0.0.1:${bcPort}/bc`, scopes: 'openid profile', minLevel: 1 };
  ({ st, ap } = await startWithStack(
    startStack('saml', { clients: [portal, oidc, closed, artifact], samlKey: true,
                         extraClient: { [PORTAL]: `saml_metadata = ${sp.metadataPath}\nsaml_idp_initiated = yes\n`,
                                        [CLOSED]: `saml_metadata = ${closedSp.metadataPath}\n`,
                                        [ARTIFACT]: `saml_metadata = ${artifactSp.metadataPath}\nsaml_idp_initiated = yes\n` } }),
    async (s) => {
      idpMetadata = await (await fetch(`${s.gw.url}/saml/metadata`)).text();
      return startMellon({ port: apachePort, sp, idpMetadata });
    }));
});
after(async () => {
  await stopWithStack({ st, ap });
  bc?.close();
});

function diag() {
  return `\n--- apache error.log ---\n${ap?.errorLog().slice(-6000)}\n--- apache access.log ---\n` +
    `${ap?.accessLog().slice(-3000)}\n--- eidgw ---\n${readLog(st.gw.proc).slice(-5000)}`;
}

const browse = (agent, url, opts = {}) => agent.follow(url, opts, 25);
const hopTo = (r, prefix) => r.hops.find((h) => h.url.startsWith(prefix));

// The pairwise id eidgw gives this citizen at this portal (the OIDC sub): HMAC-SHA256
// under the gateway's pairwise key of "portal\0id12".
function pairwise(portal, id12) {
  const key = Buffer.from(fs.readFileSync(path.join(st.dir, 'keys/pairwise.key'), 'utf8').trim(), 'hex');
  return crypto.createHmac('sha256', key).update(`${portal}\0${id12}`).digest('base64url');
}

// From eidgw's login page through the VNeID simulator back to eidgw: the page it ends on.
async function throughVneid(agent, r, citizen = AN.id12) {
  assert.ok(r.url.startsWith(`${st.gw.url}/login?`), `expected eidgw's login page, got ${r.status} ${r.url}${diag()}`);
  const v = href(r.body, 'vneid');
  assert.ok(v, 'eidgw login page has the VNeID button');
  r = await browse(agent, new URL(v, r.url).toString());
  assert.ok(r.url.startsWith(`${st.sim.url}/auth?`), r.url);
  return browse(agent, `${st.sim.url}/auth/login`, { method: 'POST', form: { tx: hidden(r.body, 'tx'), citizen } });
}

// The auto-submitting form eidgw answers with: {action, fields, xml (the decoded Response)}.
function postForm(r) {
  assert.equal(r.status, 200, `expected eidgw's POST form, got ${r.status} ${r.url}\n${r.body.slice(0, 2000)}${diag()}`);
  const f = forms(r.body).find((x) => x.fields.SAMLResponse);
  assert.ok(f, `no SAMLResponse form: ${r.body.slice(0, 2000)}`);
  assert.equal(f.method, 'post');
  return { ...f, xml: Buffer.from(f.fields.SAMLResponse, 'base64').toString('utf8') };
}

const SIG = { sha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
              sha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' };

// The XML of an AuthnRequest from the SP (signature: a ds:Signature after the Issuer).
function authnRequest(id, { issuer = sp.entityId, acs = sp.acs, attrs = '', inner = '', signature = '' } = {}) {
  return `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ` +
    `xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" ` +
    `IssueInstant="${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}" Destination="${st.gw.url}/saml/sso" ` +
    `AssertionConsumerServiceURL="${acs}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"${attrs}>` +
    `<saml:Issuer>${issuer}</saml:Issuer>${signature}` +
    `<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="true"/>${inner}` +
    `</samlp:AuthnRequest>`;
}

// An HTTP-Redirect AuthnRequest signed with the SP's key, as mellon would send it.
function redirectRequest({ issuer = sp.entityId, acs = sp.acs, alg = 'sha256', tamper = false, attrs = '',
                           inner = '' } = {}) {
  const xml = (id) => authnRequest(id, { issuer, acs, attrs, inner });
  return signedRedirect(`${st.gw.url}/saml/sso`, xml, { alg, tamper });
}

const deflated = (xml) => encodeURIComponent(zlib.deflateRawSync(xml).toString('base64'));
const newId = () => `_${crypto.randomBytes(16).toString('hex')}`;

// A message (xml: ID => XML text) over HTTP-Redirect, signed with the SP's key over
// SAMLRequest, RelayState and SigAlg (unsigned: no SigAlg and no Signature).
function signedRedirect(endpoint, xml, { alg = 'sha256', tamper = false, unsigned = false } = {}) {
  const id = newId();
  const q = `SAMLRequest=${deflated(xml(id))}&RelayState=${encodeURIComponent('/protected/whoami')}`;
  if (unsigned) return `${endpoint}?${q}`;
  const signed = `${q}&SigAlg=${encodeURIComponent(SIG[alg])}`;
  const sig = crypto.sign(alg, Buffer.from(signed), sp.keyPem).toString('base64');
  // tampered: another request under the first one's signature
  const sent = tamper ? signed.replace(/^SAMLRequest=[^&]*/, `SAMLRequest=${deflated(xml(`${id}x`))}`) : signed;
  return `${endpoint}?${sent}&Signature=${encodeURIComponent(sig)}`;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

// A LogoutRequest from the SP (issuer) about nameId (and sessionIndex when given).
function logoutXml({ issuer = sp.entityId, nameId, sessionIndex } = {}) {
  return (id) => `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ` +
    `xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${now()}" ` +
    `Destination="${st.gw.url}/saml/slo"><saml:Issuer>${issuer}</saml:Issuer>` +
    `<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${nameId}</saml:NameID>` +
    `${sessionIndex ? `<samlp:SessionIndex>${sessionIndex}</samlp:SessionIndex>` : ''}</samlp:LogoutRequest>`;
}
const logoutRedirect = (opts = {}, sign = {}) => signedRedirect(`${st.gw.url}/saml/slo`, logoutXml(opts), sign);

test('eidgw publishes its SAML IdP metadata', { skip: missing || false }, async () => {
  const res = await fetch(`${st.gw.url}/saml/metadata`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /samlmetadata\+xml/);
  const md = await res.text();
  assert.ok(md.includes(`entityID="${st.gw.url}/saml/metadata"`), md);
  assert.match(md, /<md:KeyDescriptor use="signing">[\s\S]*<ds:X509Certificate>[A-Za-z0-9+/=]{400,}<\/ds:X509Certificate>/);
  assert.ok(md.includes(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${st.gw.url}/saml/sso"`));
  assert.ok(md.includes(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${st.gw.url}/saml/sso"`));
  assert.ok(md.includes('nameid-format:persistent</md:NameIDFormat>'));
  assert.ok(md.includes('nameid-format:transient</md:NameIDFormat>'));
  assert.ok(md.includes('WantAuthnRequestsSigned="true"'));
});

test('mod_auth_mellon logs a citizen in through eidgw and VNeID and sees the identity', { skip: missing || false }, async () => {
  const agent = new Agent();
  let r = await browse(agent, `${ap.url}/protected/whoami`);
  const sso = hopTo(r, `${st.gw.url}/saml/sso?`);
  assert.ok(sso, `Apache did not send the browser to eidgw: ${r.hops.map((h) => `${h.status} ${h.url}`).join('\n')}${diag()}`);
  const q = new URL(sso.url).searchParams;
  assert.ok(q.get('SAMLRequest') && q.get('Signature'), 'mellon signs its AuthnRequest');
  assert.equal(q.get('SigAlg'), SIG.sha256);

  r = await throughVneid(agent, r);
  const f = postForm(r);
  assert.equal(f.action, sp.acs);
  const csp = r.headers.get('content-security-policy');
  assert.ok(csp.includes(`form-action ${sp.acs};`), csp);
  assert.match(csp, /script-src 'nonce-[A-Za-z0-9_-]+'/);
  assert.match(r.body, /<noscript>[\s\S]*<button/);
  // signed with RSA-SHA256, never SHA-1; Response and Assertion both signed
  assert.equal((f.xml.match(/SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"/g) || []).length, 2, f.xml);
  assert.ok(!/xmldsig#rsa-sha1/.test(f.xml));
  assert.ok(f.xml.includes('urn:oasis:names:tc:SAML:2.0:status:Success'));
  assert.ok(f.xml.includes('<saml:AuthnContextClassRef>urn:vn:eid:level:2</saml:AuthnContextClassRef>'), f.xml);
  assert.ok(f.xml.includes('FriendlyName="cn"'));

  r = await browse(agent, f.action, { method: 'POST', form: f.fields });
  assert.equal(r.status, 200, `Apache did not serve the protected page: ${r.status} ${r.url}\n${r.body}${diag()}`);
  assert.equal(r.url, `${ap.url}/protected/whoami`);
  const env = parseEnv(r.body);
  const sub = pairwise(PORTAL, AN.id12);
  assert.equal(env.MELLON_NAME_ID, sub, r.body);
  assert.equal(env.REMOTE_USER, sub);
  assert.equal(env.SAML_CN, AN.name);
  assert.equal(env.SAML_SERIAL, AN.id12);
  assert.equal(env.SAML_DOB, '1985-03-14');
  assert.equal(env.SAML_GENDER, 'male');

  // mellon's session holds: no second trip to eidgw
  const again = await browse(agent, `${ap.url}/protected/whoami`);
  assert.equal(again.hops.length, 1);
  assert.equal(parseEnv(again.body).MELLON_NAME_ID, sub);
});

test('a request crafted with the SP key is accepted (the control for the refusals below)', { skip: missing || false }, async () => {
  const r = await new Agent().request(redirectRequest());
  assert.equal(r.status, 302, `${r.status} ${r.body.slice(0, 500)}${diag()}`);
  assert.ok(r.location.startsWith(`${st.gw.url}/login?`), r.location);
});

test('refusals: an ACS not in the metadata, an unknown SP, a tampered signature, SHA-1', { skip: missing || false }, async () => {
  const cases = [
    ['ACS not in metadata', redirectRequest({ acs: 'http://127.0.0.1:9/evil/acs' }), 'invalid_redirect_uri'],
    ['unknown SP', redirectRequest({ issuer: 'http://127.0.0.1:9/unknown-sp' }), 'unknown_client'],
    ['tampered request', redirectRequest({ tamper: true }), 'invalid_request'],
    ['SHA-1 SigAlg', redirectRequest({ alg: 'sha1' }), 'invalid_request'],
  ];
  for (const [what, url, code] of cases) {
    const r = await new Agent().request(url);
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.location || ''}`);
    assert.match(r.headers.get('content-type'), /text\/html/, what);
    assert.equal(errorCode(r.body), code, `${what}: ${r.body.slice(0, 800)}`);
    assert.equal(r.location, null, what);
  }
  const big = await new Agent().request(`${st.gw.url}/saml/sso`, { method: 'POST',
    form: { SAMLRequest: 'A'.repeat(70 * 1024) } });
  assert.equal(big.status, 413);
  assert.equal(errorCode(big.body), 'too_large');
});

test('IsPassive without a session answers NoPassive to the ACS', { skip: missing || false }, async () => {
  const r = await new Agent().request(redirectRequest({ attrs: ' IsPassive="true"' }));
  const f = postForm(r);
  assert.equal(f.action, sp.acs);
  assert.equal(f.fields.RelayState, '/protected/whoami');
  assert.ok(f.xml.includes('urn:oasis:names:tc:SAML:2.0:status:NoPassive'), f.xml);
  assert.ok(!f.xml.includes('<saml:Assertion'), 'no assertion in an error response');
});

test('RequestedAuthnContext with only foreign classes answers NoAuthnContext', { skip: missing || false }, async () => {
  const inner = '<samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>' +
    'urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>';
  const f = postForm(await new Agent().request(redirectRequest({ inner })));
  assert.ok(f.xml.includes('urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext'), f.xml);
});

// ---- Single Logout ----

// A citizen logged in at mellon through VNeID: the Response eidgw posted (its XML).
async function mellonLogin(agent) {
  let r = await throughVneid(agent, await browse(agent, `${ap.url}/protected/whoami`));
  const f = postForm(r);
  r = await browse(agent, f.action, { method: 'POST', form: f.fields });
  assert.equal(r.status, 200, `mellon login: ${r.status} ${r.url}${diag()}`);
  return f.xml;
}

// The OIDC portal, in the browser's SSO session: its tokens (no VNeID page in between).
async function oidcJoins(agent) {
  const c = st.clients[OIDC];
  const config = await discover(st.gw.url, c);
  const req = await authRequest(config, c);
  const hop = await agent.request(req.url);
  assert.ok(hop.status === 302 && hop.location.startsWith(`${c.redirect[0]}?code=`),
            `the OIDC portal gets SSO: ${hop.status} ${hop.location}${diag()}`);
  return client.authorizationCodeGrant(config, new URL(hop.location), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
}

// Whether the browser's SSO session at eidgw still logs it in without VNeID: an
// AuthnRequest from the mellon SP is answered with a Response at once.
async function ssoAlive(agent) {
  const r = await agent.request(redirectRequest());
  if (r.status === 302 && r.location.startsWith(`${st.gw.url}/login?`)) return false;
  assert.ok(postForm(r).xml.includes('status:Success'), 'an SSO answer');
  return true;
}

async function waitFor(cond, ms = 8000) {
  const end = Date.now() + ms;
  while (Date.now() < end && !cond()) await new Promise((r) => setTimeout(r, 50));
}

// The SessionIndex eidgw gives a portal for an SSO session (docs/saml.md).
const sessionIndex = (portal, sid) => pairwise(portal, `saml-session ${sid}`);

test('eidgw\'s metadata offers Single Logout over HTTP-Redirect and HTTP-POST', { skip: missing || false }, async () => {
  for (const b of ['HTTP-Redirect', 'HTTP-POST'])
    assert.ok(idpMetadata.includes(`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${b}" ` +
                                   `Location="${st.gw.url}/saml/slo"/>`), idpMetadata);
});

test('a logout at mellon ends the SSO session at eidgw, for every portal of it', { skip: missing || false }, async () => {
  const agent = new Agent();
  const xml = await mellonLogin(agent);
  const tokens = await oidcJoins(agent);
  const sid = tokens.claims().sid;
  assert.ok(sid, 'the id token names the session');
  // the SessionIndex the portal got: the session's, bound to that portal
  assert.ok(xml.includes(`SessionIndex="${sessionIndex(PORTAL, sid)}"`), xml);
  bcGot.length = 0;

  const returnTo = `${ap.url}/mellon/metadata`;
  const r = await browse(agent, `${ap.url}/mellon/logout?ReturnTo=${encodeURIComponent(returnTo)}`);
  const req = hopTo(r, `${st.gw.url}/saml/slo?`);
  assert.ok(req, `mellon did not send a LogoutRequest to eidgw: ${r.hops.map((h) => `${h.status} ${h.url}`).join('\n')}${diag()}`);
  assert.equal(new URL(req.url).searchParams.get('SigAlg'), SIG.sha256, 'mellon signs its LogoutRequest');
  // eidgw answers with a LogoutResponse to mellon's SingleLogoutService, by HTTP-Redirect
  assert.equal(req.status, 302, `eidgw's answer: ${req.status}${diag()}`);
  const back = hopTo(r, `${sp.slo}?SAMLResponse=`);
  assert.ok(back, r.hops.map((h) => h.url).join('\n'));
  const raw = new URL(back.url).search.slice(1);
  const q = new URL(back.url).searchParams;
  assert.equal(q.get('SigAlg'), SIG.sha256);
  // the signature is eidgw's, over the exact bytes before &Signature
  const signed = raw.slice(0, raw.indexOf('&Signature='));
  const cert = fs.readFileSync(path.join(st.dir, 'keys/saml-idp.crt'), 'utf8');
  assert.ok(crypto.verify('sha256', Buffer.from(signed), cert, Buffer.from(q.get('Signature'), 'base64')),
            'the LogoutResponse is signed with eidgw\'s key (RSA-SHA256)');
  const res = zlib.inflateRawSync(Buffer.from(q.get('SAMLResponse'), 'base64')).toString('utf8');
  assert.ok(res.includes('urn:oasis:names:tc:SAML:2.0:status:Success'), res);
  assert.ok(res.includes(`Destination="${sp.slo}"`), res);
  assert.ok(!/rsa-sha1/.test(res));
  assert.equal(r.url, returnTo, `mellon accepted the LogoutResponse and went on: ${r.url}${diag()}`);

  // the OIDC portal of the session was told, as after an OIDC logout
  await waitFor(() => bcGot.some((c) => c.sid === sid));
  const told = bcGot.find((c) => c.sid === sid);
  assert.ok(told, 'back-channel logout to the OIDC portal');
  assert.equal(told.aud, OIDC);
  // mellon's session is gone, and eidgw's: both portals need VNeID again
  const again = await browse(agent, `${ap.url}/protected/whoami`);
  assert.ok(hopTo(again, `${st.gw.url}/saml/sso?`), 'mellon asks eidgw again');
  assert.ok(again.url.startsWith(`${st.gw.url}/login?`), `a new login at mellon needs VNeID: ${again.url}`);
  const c = st.clients[OIDC];
  const o = await agent.request((await authRequest(await discover(st.gw.url, c), c)).url);
  assert.ok(o.status === 302 && o.location.startsWith(`${st.gw.url}/login?`), `OIDC: ${o.status} ${o.location}`);
});

test('a LogoutRequest about another citizen leaves the browser\'s session alone', { skip: missing || false }, async () => {
  const agent = new Agent();
  await mellonLogin(agent);
  for (const opts of [{ nameId: pairwise(PORTAL, '001085099999') },
                      { nameId: pairwise(PORTAL, AN.id12), sessionIndex: 'not-this-session' }]) {
    const r = await agent.request(logoutRedirect(opts));
    assert.equal(r.status, 302, `${r.status} ${r.body.slice(0, 500)}${diag()}`);
    assert.ok(r.location.startsWith(`${sp.slo}?SAMLResponse=`), r.location);
    const res = zlib.inflateRawSync(Buffer.from(new URL(r.location).searchParams.get('SAMLResponse'), 'base64'))
      .toString('utf8');
    assert.ok(res.includes('urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal'), res);
    assert.ok(await ssoAlive(agent), `the session stays: ${JSON.stringify(opts)}`);
  }
  // the control: the same request naming this citizen (no SessionIndex) ends it
  const r = await agent.request(logoutRedirect({ nameId: pairwise(PORTAL, AN.id12) }));
  assert.equal(r.status, 302);
  const res = zlib.inflateRawSync(Buffer.from(new URL(r.location).searchParams.get('SAMLResponse'), 'base64'))
    .toString('utf8');
  assert.ok(res.includes('urn:oasis:names:tc:SAML:2.0:status:Success'), res);
  assert.equal(await ssoAlive(agent), false, 'the session ended');
});

test('refused LogoutRequests: unsigned, SHA-1, tampered, unknown SP, too large; the session stays', { skip: missing || false }, async () => {
  const agent = new Agent();
  await mellonLogin(agent);
  const me = { nameId: pairwise(PORTAL, AN.id12) };
  const post = (xml) => ({ method: 'POST', form: { SAMLRequest: Buffer.from(xml(newId())).toString('base64') } });
  const cases = [
    ['unsigned Redirect', logoutRedirect(me, { unsigned: true }), {}, 'invalid_logout'],
    ['SHA-1 SigAlg', logoutRedirect(me, { alg: 'sha1' }), {}, 'invalid_logout'],
    ['tampered', logoutRedirect(me, { tamper: true }), {}, 'invalid_logout'],
    ['unknown SP', logoutRedirect({ ...me, issuer: 'http://127.0.0.1:9/unknown-sp' }), {}, 'unknown_client'],
    ['unsigned POST', `${st.gw.url}/saml/slo`, post(logoutXml(me)), 'invalid_logout'],
    ['SHA-1 POST', `${st.gw.url}/saml/slo`, post((id) => logoutXml(me)(id).replace('</samlp:LogoutRequest>',
      '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:SignatureMethod ' +
      'Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/></ds:SignedInfo></ds:Signature></samlp:LogoutRequest>')),
     'invalid_logout'],
  ];
  for (const [what, url, opts, code] of cases) {
    const r = await agent.request(url, opts);
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.location || ''}${diag()}`);
    assert.match(r.headers.get('content-type'), /text\/html/, what);
    assert.equal(errorCode(r.body), code, `${what}: ${r.body.slice(0, 800)}`);
    assert.equal(r.location, null, what);
    assert.ok(await ssoAlive(agent), `${what}: the session stays`);
  }
  const big = await agent.request(`${st.gw.url}/saml/slo`, { method: 'POST', form: { SAMLRequest: 'A'.repeat(70 * 1024) } });
  assert.equal(big.status, 413);
  assert.equal(errorCode(big.body), 'too_large');
  assert.ok(await ssoAlive(agent), 'too large: the session stays');
});

// The log line of a refusal: the request id on the error page, then eidgw's log line with it.
function refusalLog(body) {
  const id = (body.match(/<code id="request-id">([^<]+)<\/code>/) || [])[1];
  assert.ok(id, `a request id on the page: ${body.slice(0, 800)}`);
  const lines = readLog(st.gw.proc).split('\n').filter((l) => l.includes(`"id":"${id}"`) && l.includes('"module":"saml"'));
  return lines.map((l) => JSON.parse(l));
}

// A POSTed request's ds:Signature with these algorithms (its values need not verify: the
// algorithms are refused before the signature is checked).
const postSignature = (sigAlg, digAlg) => '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>' +
  '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>' +
  `<ds:SignatureMethod Algorithm="${sigAlg}"/><ds:Reference URI=""><ds:DigestMethod Algorithm="${digAlg}"/>` +
  '<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue>' +
  '</ds:Signature>';
const postRequest = (xml) => new Agent().request(`${st.gw.url}/saml/sso`, { method: 'POST',
  form: { SAMLRequest: Buffer.from(xml).toString('base64'), RelayState: '/protected/whoami' } });

test('a POSTed request whose Signature elements name SHA-1 is refused for its algorithm', { skip: missing || false }, async () => {
  const sha256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
  const cases = [
    ['RSA-SHA1', postSignature(SIG.sha1, sha256), 'signature algorithm not allowed'],
    ['ECDSA-SHA1', postSignature('http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1', sha256), 'signature algorithm not allowed'],
    ['a SHA-1 digest', postSignature(SIG.sha256, 'http://www.w3.org/2000/09/xmldsig#sha1'), 'digest algorithm not allowed'],
    ['SHA-1 behind a character reference', postSignature('http://www.w3.org/2000/09/xmldsig&#x23;rsa-sha1', sha256),
     'signature algorithm not allowed'],
  ];
  for (const [what, signature, reason] of cases) {
    const r = await postRequest(authnRequest(`_${crypto.randomBytes(8).toString('hex')}`, { signature }));
    assert.equal(r.status, 400, `${what}: ${r.status}`);
    assert.equal(errorCode(r.body), 'invalid_request', what);
    const logs = refusalLog(r.body);
    assert.ok(logs.some((l) => l.msg === 'AuthnRequest refused' && l.reason.startsWith(reason)),
              `${what}: ${JSON.stringify(logs)}`);
  }
  // SHA-256 names pass this check and reach the signature's own (which these values fail)
  const r = await postRequest(authnRequest('_ok', { signature: postSignature(SIG.sha256, sha256) }));
  assert.equal(r.status, 400);
  assert.ok(!refusalLog(r.body).some((l) => /algorithm not allowed/.test(l.reason || '')), r.body);
});

test('malformed requests (not base64, not DEFLATE, not an AuthnRequest) get the malformed-request page', { skip: missing || false }, async () => {
  const q = (v) => `${st.gw.url}/saml/sso?SAMLRequest=${encodeURIComponent(v)}`;
  const deflated = (xml) => zlib.deflateRawSync(xml).toString('base64');
  const cases = [
    ['Redirect, not base64', q('not*base64!'), 'not base64'],
    ['Redirect, base64 that is not DEFLATE', q(Buffer.from('plain text, not deflated').toString('base64')), 'not inflate'],
    ['Redirect, XML that is not an AuthnRequest', q(deflated('<foo xmlns="urn:x"/>')), 'not a SAML 2.0 AuthnRequest'],
    ['Redirect, not XML', q(deflated('<<<')), 'not XML'],
  ];
  for (const [what, url, reason] of cases) {
    const r = await new Agent().request(url);
    assert.equal(r.status, 400, `${what}: ${r.status}`);
    assert.equal(errorCode(r.body), 'malformed_request', `${what}: ${r.body.slice(0, 800)}`);
    const logs = refusalLog(r.body);
    assert.ok(logs.some((l) => l.msg === 'AuthnRequest refused' && l.reason.includes(reason)), `${what}: ${JSON.stringify(logs)}`);
  }
  for (const [what, body, reason] of [['POST, not base64', 'PHNhbWw+*', 'not base64'],
    ['POST, not an AuthnRequest', Buffer.from('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>').toString('base64'),
     'not a SAML 2.0 AuthnRequest']]) {
    const r = await new Agent().request(`${st.gw.url}/saml/sso`, { method: 'POST', form: { SAMLRequest: body } });
    assert.equal(r.status, 400, what);
    assert.equal(errorCode(r.body), 'malformed_request', what);
    assert.ok(refusalLog(r.body).some((l) => l.reason.includes(reason)), what);
  }
  // the English page says so too
  const en = await new Agent().request(`${q('not*base64!')}&lang=en`);
  assert.match(en.body, /Malformed login request/);
});

test('each refusal is one log line naming the SP (when known) and the reason', { skip: missing || false }, async () => {
  const unsignedRedirect = redirectRequest().replace(/&Signature=[^&]*/, '').replace(/&SigAlg=[^&]*/, '');
  const cases = [
    ['unsigned Redirect', () => new Agent().request(unsignedRedirect), 'invalid_request', sp.entityId, /^unsigned request/],
    ['unsigned POST', () => postRequest(authnRequest('_unsigned')), 'invalid_request', sp.entityId, /^unsigned request/],
    ['unknown issuer', () => new Agent().request(redirectRequest({ issuer: 'http://127.0.0.1:9/unknown-sp' })),
     'unknown_client', 'http://127.0.0.1:9/unknown-sp', /^issuer is not a registered portal$/],
    ['tampered request', () => new Agent().request(redirectRequest({ tamper: true })), 'invalid_request', sp.entityId,
     /^the signature does not verify/],
    ['SHA-1 SigAlg', () => new Agent().request(redirectRequest({ alg: 'sha1' })), 'invalid_request', sp.entityId, /^SigAlg not allowed/],
    ['not base64', () => new Agent().request(`${st.gw.url}/saml/sso?SAMLRequest=%25%25%25`), 'malformed_request', '(unknown)',
     /^not base64$/],
  ];
  for (const [what, send, code, spName, reason] of cases) {
    const r = await send();
    assert.equal(r.status, 400, `${what}: ${r.status}`);
    assert.equal(errorCode(r.body), code, what);
    const logs = refusalLog(r.body).filter((l) => l.msg === 'AuthnRequest refused');
    assert.equal(logs.length, 1, `${what}: ${JSON.stringify(logs)}`);
    assert.equal(logs[0].sp, spName, what);
    assert.match(logs[0].reason, reason, what);
    assert.equal(logs[0].level, 'warn', what);
  }
});

test('/saml/slo reads its requests as /saml/sso does: strict decoding, the algorithms in the XML, one log line per refusal', { skip: missing || false }, async () => {
  const agent = new Agent();
  await mellonLogin(agent);
  const me = { nameId: pairwise(PORTAL, AN.id12) };
  const slo = `${st.gw.url}/saml/slo`;
  const sha256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
  const post = (xml) => ({ method: 'POST', form: { SAMLRequest: Buffer.from(xml).toString('base64') } });
  const withSig = (signature) => logoutXml(me)(newId()).replace('</saml:Issuer>', `</saml:Issuer>${signature}`);
  const cases = [
    ['Redirect, not base64', `${slo}?SAMLRequest=%25%25%25`, {}, '(unknown)', /^not base64$/],
    ['Redirect, base64 that is not DEFLATE', `${slo}?SAMLRequest=${encodeURIComponent(Buffer.from('plain text').toString('base64'))}`,
     {}, '(unknown)', /not inflate/],
    ['a signed AuthnRequest sent to /saml/slo', signedRedirect(slo, (id) => authnRequest(id)), {}, '(unknown)',
     /^XML that is not a SAML 2\.0 LogoutRequest$/],
    ['POST with a DTD', slo, post(`<!DOCTYPE x [<!ENTITY e "v">]>${logoutXml(me)(newId())}`), '(unknown)', /DTD/],
    ['POST, RSA-SHA1 in its SignatureMethod', slo, post(withSig(postSignature(SIG.sha1, sha256))), sp.entityId,
     /^signature algorithm not allowed/],
    ['POST, SHA-1 in its DigestMethod', slo, post(withSig(postSignature(SIG.sha256, 'http://www.w3.org/2000/09/xmldsig#sha1'))),
     sp.entityId, /^digest algorithm not allowed/],
    ['POST, SHA-1 behind a character reference', slo,
     post(withSig(postSignature('http://www.w3.org/2000/09/xmldsig&#x23;rsa-sha1', sha256))), sp.entityId,
     /^signature algorithm not allowed/],
    ['unsigned Redirect', logoutRedirect(me, { unsigned: true }), {}, sp.entityId, /^unsigned request \(LogoutRequests/],
    ['unknown issuer', logoutRedirect({ ...me, issuer: 'http://127.0.0.1:9/unknown-sp' }), {}, 'http://127.0.0.1:9/unknown-sp',
     /^issuer is not a registered portal$/],
    ['tampered', logoutRedirect(me, { tamper: true }), {}, sp.entityId, /^the signature does not verify/],
  ];
  for (const [what, url, opts, spName, reason] of cases) {
    const r = await agent.request(url, opts);
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.location || ''}${diag()}`);
    assert.equal(errorCode(r.body), spName.includes('unknown-sp') ? 'unknown_client' : 'invalid_logout', what);
    const logs = refusalLog(r.body);
    assert.equal(logs.length, 1, `${what}: ${JSON.stringify(logs)}`);
    assert.equal(logs[0].msg, 'LogoutRequest refused', what);
    assert.equal(logs[0].sp, spName, what);
    assert.match(logs[0].reason, reason, `${what}: ${logs[0].reason}`);
    assert.equal(logs[0].level, 'warn', what);
  }
  assert.ok(await ssoAlive(agent), 'the session stays after every refusal');
  // the control: SHA-256 names in a POSTed Signature pass the algorithm check and reach the
  // signature's own (which these values fail)
  const r = await agent.request(slo, post(withSig(postSignature(SIG.sha256, sha256))));
  assert.equal(r.status, 400);
  assert.match(refusalLog(r.body)[0].reason, /^the signature does not verify/);
  // and a signed Redirect LogoutRequest about this session still ends it
  const ok = await agent.request(logoutRedirect(me));
  assert.equal(ok.status, 302, `${ok.status}${diag()}`);
  assert.equal(await ssoAlive(agent), false, 'the session ended');
});

// ---- IdP-initiated SSO (/saml/init) ----

const initUrl = (entityId, extra = '') => `${st.gw.url}/saml/init?sp=${encodeURIComponent(entityId)}${extra}`;
const mellonPosts = () => (ap.accessLog().match(/POST \/mellon\/postResponse/g) || []).length;

test('IdP-initiated: /saml/init logs in through VNeID and posts an unsolicited Response that mellon takes', { skip: missing || false }, async () => {
  const agent = new Agent();
  const relay = `${ap.url}/protected/whoami`;
  let r = await browse(agent, initUrl(sp.entityId, `&RelayState=${encodeURIComponent(relay)}&lang=en`));
  r = await throughVneid(agent, r);
  const f = postForm(r);
  assert.equal(f.action, sp.acs, 'the default ACS of the SP metadata');
  assert.equal(f.fields.RelayState, relay);
  assert.match(f.xml, /<samlp:Response [^>]*>/);
  assert.ok(!/InResponseTo=/.test(f.xml), `an unsolicited Response has no InResponseTo: ${f.xml}`);
  assert.equal((f.xml.match(/SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"/g) || []).length, 2, f.xml);
  assert.ok(f.xml.includes('urn:oasis:names:tc:SAML:2.0:status:Success'));
  assert.ok(f.xml.includes('<saml:AuthnContextClassRef>urn:vn:eid:level:2</saml:AuthnContextClassRef>'), f.xml);
  assert.ok(f.xml.includes('nameid-format:persistent'), f.xml);
  assert.match(r.headers.get('content-security-policy'), new RegExp(`form-action ${sp.acs};`));

  r = await browse(agent, f.action, { method: 'POST', form: f.fields });
  assert.equal(r.status, 200, `mellon did not take the unsolicited Response: ${r.status} ${r.url}\n${r.body}${diag()}`);
  assert.equal(r.url, relay, 'mellon went on to the RelayState');
  const env = parseEnv(r.body);
  const sub = pairwise(PORTAL, AN.id12);
  assert.equal(env.MELLON_NAME_ID, sub, r.body);
  assert.equal(env.SAML_CN, AN.name);
  assert.equal(env.SAML_SERIAL, AN.id12);

  // the same SSO session: a second IdP-initiated login needs no VNeID
  r = await browse(agent, initUrl(sp.entityId, `&RelayState=${encodeURIComponent(relay)}`));
  assert.ok(!r.hops.some((h) => h.url.startsWith(st.sim.url) || h.url.startsWith(`${st.gw.url}/login`)),
    `no login page and no VNeID with a live session: ${r.hops.map((h) => `${h.status} ${h.url}`).join('\n')}`);
  const f2 = postForm(r);
  assert.equal(f2.action, sp.acs);
  assert.ok(!/InResponseTo=/.test(f2.xml));
  r = await browse(agent, f2.action, { method: 'POST', form: f2.fields });
  assert.equal(r.status, 200, `${r.status} ${r.url}${diag()}`);
  assert.equal(parseEnv(r.body).MELLON_NAME_ID, sub);
});

test('IdP-initiated: a session from an SP-initiated login is used, and the RelayState is HTML-escaped in the form', { skip: missing || false }, async () => {
  const agent = new Agent();
  let r = await browse(agent, `${ap.url}/protected/whoami`);
  r = await throughVneid(agent, r);
  r = await browse(agent, sp.acs, { method: 'POST', form: postForm(r).fields });
  assert.equal(r.status, 200, `${r.status} ${r.url}${diag()}`);
  const relay = 'x"><script>alert(1)</script>&y';
  r = await browse(agent, initUrl(sp.entityId, `&RelayState=${encodeURIComponent(relay)}`));
  assert.equal(r.hops.length, 1, 'answered at once from the SSO session');
  const f = postForm(r);
  assert.equal(f.fields.RelayState, relay);
  assert.ok(!r.body.includes('<script>alert(1)'), 'the RelayState is escaped');
  assert.ok(r.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;&amp;y'), r.body.slice(0, 2000));
});

test('IdP-initiated refusals: a portal not opted in, an unknown SP, no POST ACS, an over-long RelayState; nothing is posted', { skip: missing || false }, async () => {
  const before = mellonPosts();
  // an SSO session in the browser: a refusal must not be an answer from it
  const agent = new Agent();
  let r = await browse(agent, initUrl(sp.entityId));
  r = await throughVneid(agent, r);
  postForm(r); // not posted
  const cases = [
    ['not opted in', initUrl(closedSp.entityId), 'unknown_client', /^the portal does not take IdP-initiated logins$/],
    ['unknown SP', initUrl('http://127.0.0.1:9/unknown-sp'), 'unknown_client', /^sp is not a registered portal$/],
    ['no sp', `${st.gw.url}/saml/init`, 'unknown_client', /^sp is not a registered portal$/],
    ['default ACS not HTTP-POST', initUrl(artifactSp.entityId), 'invalid_redirect_uri', /default ACS is not HTTP-POST/],
    ['RelayState of 81 bytes', initUrl(sp.entityId, `&RelayState=${'r'.repeat(81)}`), 'invalid_request', /80 bytes/],
    ['RelayState of 27 three-byte letters', initUrl(sp.entityId, `&RelayState=${encodeURIComponent('ạ'.repeat(27))}`),
      'invalid_request', /80 bytes/],
  ];
  for (const [what, url, code, reason] of cases) {
    r = await agent.request(url);
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.location || ''}`);
    assert.equal(r.location, null, `${what}: no redirect`);
    assert.equal(errorCode(r.body), code, `${what}: ${r.body.slice(0, 800)}`);
    assert.ok(!r.body.includes('SAMLResponse'), `${what}: no Response form`);
    const logs = refusalLog(r.body).filter((l) => l.msg === 'IdP-initiated login refused');
    assert.equal(logs.length, 1, `${what}: ${JSON.stringify(logs)}`);
    assert.match(logs[0].reason, reason, what);
  }
  // the controls: 80 bytes are taken; the opted-in portal is answered from the session
  r = await agent.request(initUrl(sp.entityId, `&RelayState=${'r'.repeat(80)}`));
  assert.equal(postForm(r).fields.RelayState, 'r'.repeat(80));
  // a fresh browser is sent to the login page for the opted-in portal only
  r = await new Agent().request(initUrl(sp.entityId));
  assert.equal(r.status, 302);
  assert.ok(r.location.startsWith(`${st.gw.url}/login?`), r.location);
  assert.equal(mellonPosts(), before, 'nothing reached mellon');
});
