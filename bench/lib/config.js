// The eidgw configuration the benchmarks run with (bench.js, stores.js, proxy.js): `server`
// adds lines to [server], `clientExtra` to the client's section, `extra` sections at the end.
import crypto from 'node:crypto';

export function eidgwConfig({ root, dir, dbName = 'eidgw', gwPort, sim, client, redisPort, ioThreads, workers, upstreamWorkers,
                              log, audit = false, server = '', clientExtra = '', extra = '' }) {
  return `[server]
listen = 127.0.0.1:${gwPort}
public_url = http://127.0.0.1:${gwPort}
io_threads = ${ioThreads}
workers = ${workers}
${upstreamWorkers ? `upstream_workers = ${upstreamWorkers}\n` : ''}templates = ${root}/templates
${server}
[keys]
dir = ${dir}/keys

[store]
${redisPort ? `driver = redis\nurl = redis://127.0.0.1:${redisPort}/0` : `driver = sqlite\npath = ${dir}/${dbName}.db
# a run issues about a million access tokens (each kept for token_lifetime) in a few
# minutes, more than the default bound of 1M records in memory is sized for
memory_max_records = 4000000`}

[session]
lifetime = 8h
code_lifetime = 60s
token_lifetime = 300s

[limits]
# every virtual user logs in from 127.0.0.1: no per-address limit on logins started
logins_per_ip = 1000000/1s

[log]
level = ${log}
${audit ? `\n[audit]\npath = ${dir}/audit.log\n` : ''}
[upstream vneid]
issuer = ${sim.url}
authorization_endpoint = ${sim.url}/auth
token_endpoint = ${sim.url}/token
userinfo_endpoint = ${sim.url}/userinfo
jwks_uri = ${sim.url}/jwks
client_id = ${sim.clientId}
client_secret = ${sim.clientSecret}
scope = openid
pkce = yes
nonce = yes
id_token = required
algs = RS256
claim_id = SoDinhDanh
claim_name = HoVaTen
claim_birthdate = NgayThangNamSinh
birthdate_format = YYYYMMDD
claim_sex = GioiTinh
sex_male = 1
sex_female = 2
claim_level = IAL
level_map = 1:1
level_map = 2:2
claim_account_type = LoaiTaiKhoan
claim_logout_uri = logoutUri
timeout = 5s

[client ${client.id}]
name = Cổng ${client.id}
secret_sha256 = ${crypto.createHash('sha256').update(client.secret).digest('hex')}
redirect_uri = ${client.redirect}
scopes = openid profile cccd
min_level = 1
token_alg = ES256
${clientExtra}${extra}`;
}