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
  // "http://127.0.0.1:4000" must not match "http://127.0.0.1:40001/...": compare whole origins
  if (portalPrefix && !/^https?:\/\/[^/]+\//.test(portalPrefix)) portalPrefix += '/';
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

// The error code an eidgw page shows (<code id="error-code">), or null.
export function errorCode(html) {
  const m = String(html || '').match(/<code id="error-code">([^<]*)<\/code>/);
  return m ? m[1] : null;
}

// Every <form> of a page: {action, method, fields} with the inputs that carry a name
// (hidden ones with their value, others with '' unless they have a value).
export function forms(html) {
  const unesc = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#x27;/g, "'")
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/g, '/').replace(/&#x3D;/g, '=')
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))).replace(/&amp;/g, '&');
  const attr = (tag, name) => {
    const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
    return m ? unesc(m[2] ?? m[3] ?? m[4]) : null;
  };
  const out = [];
  for (const fm of String(html).matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const open = `<form${fm[1]}>`;
    const fields = {};
    for (const im of fm[2].matchAll(/<(input|button)\b[^>]*>/gi)) {
      const name = attr(im[0], 'name');
      if (name && (im[1].toLowerCase() === 'input' || !(name in fields))) fields[name] = attr(im[0], 'value') ?? '';
    }
    out.push({ action: attr(open, 'action'), method: (attr(open, 'method') || 'get').toLowerCase(), fields });
  }
  return out;
}

// Drive a login from the portal's authorization URL up to the VNeID simulator's answer
// (its redirect to eidgw's /callback), without following it. Returns that response.
export async function toUpstreamCallback(agent, authorizeUrl, citizen = '001085012345') {
  const r = await agent.follow(authorizeUrl);
  const v = href(r.body, 'vneid');
  if (!v) throw new Error(`no VNeID link at ${r.url} (status ${r.status})`);
  const sim = await agent.follow(new URL(v, r.url).toString());
  const tx = hidden(sim.body, 'tx');
  if (!tx) throw new Error(`no VNeID simulator form at ${sim.url} (status ${sim.status})`);
  return agent.request(new URL('/auth/login', sim.url).toString(), { method: 'POST', form: { tx, citizen } });
}
