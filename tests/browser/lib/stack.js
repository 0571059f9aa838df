// Browser tests: a stack (VNeID simulator + eidgw) plus the two sample portals
// (sim/portal/server.js) as real relying parties, and Debian's chromium driven by
// playwright-core. Everything listens on 127.0.0.1.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, ARTIFACTS, startStack, freePort, secret, run, waitHttp, readLog } from '../../integration/lib/harness.js';

export const SHOTS = path.join(ARTIFACTS, 'browser');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export const PORTALS = {
  'portal-a': { title: 'Cổng Dịch vụ công tỉnh A', scope: 'openid profile cccd', minLevel: 1 },
  'portal-b': { title: 'Cổng Dịch vụ công tỉnh B (mức 2)', scope: 'openid profile', minLevel: 2, alg: 'RS256' },
};

// Client registrations for eidgw whose redirect, post-logout and back-channel URIs
// point at the sample portals' ports.
export function portalClients(ports) {
  return Object.entries(PORTALS).map(([id, p]) => {
    const base = `http://127.0.0.1:${ports[id]}`;
    return { id, name: p.title.replace(/ \(.*\)$/, ''), secret: secret(), redirect: [`${base}/callback`],
             postLogout: [`${base}/`], backchannel: `${base}/backchannel-logout`, scopes: p.scope,
             minLevel: p.minLevel, alg: p.alg };
  });
}

// Start one sample portal as a child process of the stack (stopped by st.stop()).
export async function startPortal(st, id, port) {
  const c = st.clients[id];
  const p = PORTALS[id];
  const proc = run(id, process.execPath, [path.join(ROOT, 'sim/portal/server.js'), '--port', String(port),
    '--issuer', st.gw.url, '--client-id', id, '--client-secret', c.secret, '--title', p.title, '--scope', p.scope],
  { dir: st.dir });
  st.procs.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/api/me`, 25000);
  return { id, url, port, proc, log: () => readLog(proc) };
}

// The demo's shape: VNeID simulator, eidgw, portal A and portal B.
export async function startDemo(name) {
  const ports = { 'portal-a': await freePort(), 'portal-b': await freePort() };
  return withPortals(await startStack(name, { clients: portalClients(ports) }), ports);
}

// Runs setup (if any), then starts portals A and B on the stack; stops the stack if any
// of it fails.
export async function withPortals(st, ports, setup) {
  try {
    if (setup) await setup();
    st.portalA = await startPortal(st, 'portal-a', ports['portal-a']);
    st.portalB = await startPortal(st, 'portal-b', ports['portal-b']);
  } catch (e) {
    await st.stop();
    throw e;
  }
  return st;
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export function chromiumMissing() {
  try { fs.accessSync(CHROMIUM, fs.constants.X_OK); return null; } catch { return `${CHROMIUM} is not installed`; }
}

// A fresh context (own cookie jar) and page; every request URL is recorded in page.seen.
export async function newPage(browser, { locale = 'vi-VN' } = {}) {
  const ctx = await browser.newContext({ locale, viewport: { width: 1100, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.seen = [];
  page.on('request', (r) => page.seen.push(r.url()));
  return page;
}

// Run a scenario on a fresh page; on failure the page is saved as FAILED-<name>.png.
export async function scenario(browser, name, opts, fn) {
  const page = await newPage(browser, opts);
  try {
    await fn(page);
  } catch (e) {
    await shot(page, `FAILED-${name}`).catch(() => {});
    throw e;
  } finally {
    await page.context().close();
  }
}

export async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Wait until the page shows a URL that starts with prefix (and is fully loaded).
export async function landOn(page, prefix) {
  await page.waitForURL((u) => u.toString().startsWith(prefix), { waitUntil: 'load' });
}

export const htmlLang = (page) => page.getAttribute('html', 'lang');
