// A tiny user agent for integration tests: a cookie jar per host:port and manual
// redirect following, so each hop can be asserted.
export class Agent {
  constructor() { this.jar = new Map(); }

  cookieHeader(url) {
    const u = new URL(url);
    const m = this.jar.get(u.host);
    if (!m) return undefined;
    return [...m.entries()].map(([k, v]) => `${k}=${v}`).join('; ') || undefined;
  }

  cookie(url, name) { return this.jar.get(new URL(url).host)?.get(name); }

  setCookie(url, name, value) {
    const host = new URL(url).host;
    if (!this.jar.has(host)) this.jar.set(host, new Map());
    this.jar.get(host).set(name, value);
  }

  store(url, res) {
    const host = new URL(url).host;
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim(), value = pair.slice(eq + 1).trim();
      if (!this.jar.has(host)) this.jar.set(host, new Map());
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') this.jar.get(host).delete(name);
      else this.jar.get(host).set(name, value);
    }
  }

  // One request, no redirect following. Returns {status, headers, body, location, url}.
  async request(url, { method = 'GET', form, headers = {}, body } = {}) {
    const h = { ...headers };
    const c = this.cookieHeader(url);
    if (c) h.cookie = c;
    let payload = body;
    if (form) {
      h['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers: h, body: payload, redirect: 'manual' });
    this.store(url, res);
    const text = await res.text();
    const loc = res.headers.get('location');
    return { status: res.status, headers: res.headers, body: text, url,
             location: loc ? new URL(loc, url).toString() : null };
  }

  // Follow redirects; returns the final response and the list of hops.
  async follow(url, opts = {}, max = 20) {
    const hops = [];
    let r = await this.request(url, opts);
    hops.push(r);
    while (r.location && hops.length < max) {
      r = await this.request(r.location);
      hops.push(r);
    }
    r.hops = hops;
    return r;
  }
}

// Pull a hidden input's value out of a page.
export function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  return m ? m[1].replace(/&amp;/g, '&') : null;
}

export function href(html, id) {
  const m = html.match(new RegExp(`id="${id}"[^>]*href="([^"]*)"`)) ||
            html.match(new RegExp(`href="([^"]*)"[^>]*id="${id}"`));
  return m ? m[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&#61;/g, '=') : null;
}
