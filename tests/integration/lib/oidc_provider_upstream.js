// panva's oidc-provider (a certified OpenID Provider) as a stand-in for VNeID: one
// confidential client (eidgw) with its /callback, RS256 id_tokens, PKCE S256, the VNeID
// profile claims released at userinfo under the "vneid" scope, and the provider's
// development login and consent pages. Listens on loopback only, in this process.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import { forms } from './rp.js';

export const VNEID_CLAIMS = ['SoDinhDanh', 'HoVaTen', 'NgayThangNamSinh', 'GioiTinh', 'IAL', 'LoaiTaiKhoan'];

// Test accounts, by login name (also the subject).
export const ACCOUNTS = {
  '001085012345': { SoDinhDanh: '001085012345', HoVaTen: 'Nguyễn Văn An', NgayThangNamSinh: '19850314',
                    GioiTinh: 1, IAL: 2, LoaiTaiKhoan: '1' },
  '079190023456': { SoDinhDanh: '079190023456', HoVaTen: 'Trần Thị Bình', NgayThangNamSinh: '19900722',
                    GioiTinh: 2, IAL: 2, LoaiTaiKhoan: '1' },
};

// opts: {port, redirectUris, clientId, clientSecret}. Returns {issuer, url, provider,
// upstream (for harness.startGateway), close()}.
export async function startOidcProviderUpstream({ port, redirectUris, clientId = 'eidgw',
                                                 clientSecret = crypto.randomBytes(24).toString('hex') }) {
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'upstream-rs256', alg: 'RS256', use: 'sig' };
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    scopes: ['openid', 'vneid'],
    claims: { openid: ['sub'], vneid: VNEID_CLAIMS },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => false },
    ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
    async findAccount(ctx, id) {
      const a = ACCOUNTS[id];
      if (!a) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...a }; } };
    },
  });
  const errors = [];
  provider.on('server_error', (ctx, err) => errors.push(err));
  const server = http.createServer(provider.callback());
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  return {
    issuer, url: issuer, provider, server, meta, errors, clientId, clientSecret,
    upstream: {
      issuer: meta.issuer, authorization_endpoint: meta.authorization_endpoint, token_endpoint: meta.token_endpoint,
      userinfo_endpoint: meta.userinfo_endpoint, jwks_uri: meta.jwks_uri, client_id: clientId,
      client_secret: clientSecret, scope: 'openid vneid',
    },
    async close() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r()));
    },
  };
}

// Walk the provider's development pages with the Agent: from `url` (its authorization
// endpoint or any hop after it) fill the login form with `login`, confirm the consent,
// and stop at the first redirect that leaves the provider. Returns that response.
// abort: cancel at the first page instead (the provider answers access_denied).
export async function passDevInteractions(agent, url, login, { abort = false } = {}) {
  const origin = new URL(url).origin;
  let r = await agent.request(url);
  for (let steps = 0; steps < 20; steps++) {
    if (r.location) {
      if (new URL(r.location).origin !== origin) return r;
      r = await agent.request(r.location);
      continue;
    }
    if (r.status !== 200) return r;
    const cancel = abort && r.body.match(/href="([^"]*\/abort)"/);
    if (cancel) {
      r = await agent.request(new URL(cancel[1].replace(/&amp;/g, '&'), r.url).toString());
      continue;
    }
    const f = forms(r.body).find((x) => x.method === 'post' && 'prompt' in x.fields);
    if (!f) return r;
    const fields = { ...f.fields };
    if (fields.prompt === 'login') Object.assign(fields, { login, password: 'any' });
    r = await agent.request(new URL(f.action, r.url).toString(), { method: 'POST', form: fields });
  }
  throw new Error('too many steps at the provider');
}
