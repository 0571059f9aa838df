// A portal in tests: openid-client (a certified RP written by someone else) drives the
// code flow against eidgw; the Agent plays the citizen's browser.
import * as client from 'openid-client';
import { Agent, hidden, href } from './agent.js';

export async function discover(gwUrl, c) {
  const auth = c.public ? client.None() : client.ClientSecretBasic(c.secret);
  return client.discovery(new URL(gwUrl), c.id, c.public ? undefined : c.secret, auth,
                          { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] });
}

// Start a login at eidgw; returns {url, state, nonce, verifier}.
export async function authRequest(config, c, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState(), nonce = client.randomNonce();
  const params = { redirect_uri: c.redirect[0], scope: c.scopes, state, nonce,
                   code_challenge: await client.calculatePKCECodeChallenge(verifier),
                   code_challenge_method: 'S256', ...extra };
  return { url: client.buildAuthorizationUrl(config, params).toString(), state, nonce, verifier };
}

// From eidgw's login page to VNeID simulator and back: returns the final hop that lands
// on the portal's redirect_uri (not fetched), or the response where it stopped.
export async function loginAt(agent, authorizeUrl, citizen = '001085012345', portalPrefix) {
  let r = await agent.follow(authorizeUrl);
  if (portalPrefix && r.url.startsWith(portalPrefix)) return r;
  const v = href(r.body, 'vneid');
  if (!v) return r;
  r = await agent.follow(new URL(v, r.url).toString());
  const tx = hidden(r.body, 'tx');
  if (!tx) return r;
  // do not follow into the portal: stop at the redirect to the portal
  let x = await agent.request(new URL('/auth/login', r.url).toString(), { method: 'POST', form: { tx, citizen } });
  while (x.location && !(portalPrefix && x.location.startsWith(portalPrefix))) x = await agent.request(x.location);
  return x;
}

export { client, Agent, hidden, href };
