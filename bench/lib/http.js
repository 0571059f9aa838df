// A small HTTP/1.1 client for the load driver: node:http over keep-alive connections
// (cheaper per request than fetch, which matters when the driver shares 2 cores with
// the servers), one cookie jar per virtual user, no redirect following.
import http from 'node:http';

export class Client {
  constructor(maxSockets = 64, timeoutMs = 10_000) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, keepAliveMsecs: 1000 });
    this.timeoutMs = timeoutMs;
  }

  // One request. Returns {status, headers, body, location (absolute or null)}.
  request(url, { method = 'GET', headers = {}, body, jar } = {}) {
    const u = new URL(url);
    const h = { ...headers };
    if (jar) { const c = jar.header(u.host); if (c) h.cookie = c; }
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h,
                                 agent: this.agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (jar) jar.store(u.host, res.headers['set-cookie']);
          const loc = res.headers.location;
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'),
                    location: loc ? new URL(loc, url).toString() : null });
        });
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`timeout after ${this.timeoutMs} ms: ${method} ${u.pathname}`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  close() { this.agent.destroy(); }
}

// Cookies per host:port; paths and attributes other than expiry are ignored.
export class Jar {
  constructor() { this.hosts = new Map(); }
  header(host) {
    const m = this.hosts.get(host);
    if (!m || !m.size) return undefined;
    let s = '';
    for (const [k, v] of m) s += (s ? '; ' : '') + `${k}=${v}`;
    return s;
  }
  store(host, setCookies) {
    if (!setCookies) return;
    let m = this.hosts.get(host);
    if (!m) this.hosts.set(host, (m = new Map()));
    for (const sc of setCookies) {
      const parts = sc.split(';');
      const eq = parts[0].indexOf('=');
      if (eq <= 0) continue;
      const name = parts[0].slice(0, eq).trim(), value = parts[0].slice(eq + 1).trim();
      let expired = value === '';
      for (const a of parts.slice(1)) {
        const t = a.trim().toLowerCase();
        if (t === 'max-age=0' || (t.startsWith('expires=') && Date.parse(a.trim().slice(8)) < Date.now())) expired = true;
      }
      if (expired) m.delete(name); else m.set(name, value);
    }
  }
}
