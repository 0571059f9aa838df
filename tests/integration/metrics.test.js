// GET /metrics: Prometheus text format behind the admin token, parsed by a parser nobody
// here wrote (parse-prometheus-text-format); what it counts follows what the gateway did.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startStack, ADMIN_TOKEN } from './lib/harness.js';
import { discover, authRequest, loginAt, Agent } from './lib/rp.js';

const parse = createRequire(import.meta.url)('parse-prometheus-text-format');
let st;
before(async () => { st = await startStack('metrics'); });
after(async () => { await st?.stop(); });

async function scrape() {
  const r = await fetch(`${st.gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  const families = parse(text);
  const names = new Set();
  for (const f of families) {
    assert.match(f.name, /^eidgw_[a-z_]+$/);
    assert.ok(!names.has(f.name), `${f.name} once`);
    names.add(f.name);
    if (f.type === 'COUNTER') assert.match(f.name, /_total$/);
    if (f.type === 'HISTOGRAM') assert.match(f.name, /_seconds$/);
  }
  const out = Object.fromEntries(families.map((f) => [f.name, f]));
  out.text = text;
  return out;
}

// The parser keeps one histogram per family; the labelled ones are read from the lines:
// {le -> count} and the sum and count of NAME{route="R"}
function histogram(text, name, label, value) {
  const buckets = [], sel = `${label}="${value}"`; // [le, count] in the order written
  let sum = NaN, count = NaN;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || !m[2].split(',').includes(sel)) continue;
    if (m[1] === `${name}_bucket`) buckets.push([/le="([^"]+)"/.exec(m[2])[1], Number(m[3])]);
    else if (m[1] === `${name}_sum`) sum = Number(m[3]);
    else if (m[1] === `${name}_count`) count = Number(m[3]);
  }
  return { buckets, sum, count };
}
const value = (fam, labels) => {
  const m = fam?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m ? Number(m.value ?? m.count) : 0;
};

test('/metrics needs the admin token', async () => {
  for (const h of [{}, { authorization: 'Bearer nope' }]) {
    const r = await fetch(`${st.gw.url}/metrics`, { headers: h });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error, 'unauthorized');
  }
});

test('requests, their latency, error pages and outgoing calls are counted; the output parses', async () => {
  const before = await scrape();
  const c = st.clients['portal-a'];
  const config = await discover(st.gw.url, c);
  const hop = await loginAt(new Agent(), (await authRequest(config, c)).url, '001085012345', c.redirect[0]);
  assert.ok(hop.location?.startsWith(c.redirect[0]) || hop.url.startsWith(c.redirect[0]));
  await (await fetch(`${st.gw.url}/nothing-here`)).arrayBuffer();
  await (await fetch(`${st.gw.url}/authorize?client_id=nobody`, { redirect: 'manual' })).arrayBuffer();
  const after = await scrape();
  const req = (route, code) => value(after.eidgw_http_requests_total, { route, code }) -
    value(before.eidgw_http_requests_total, { route, code });
  assert.ok(req('/authorize', '3xx') >= 1, 'the login\'s /authorize');
  assert.equal(req('/authorize', '4xx'), 1, 'the unknown client');
  assert.ok(req('/callback', '3xx') >= 1);
  assert.equal(req('other', '4xx'), 1, 'the 404');
  // a histogram per route: cumulative buckets ending in +Inf, and a count equal to it
  assert.equal(after.eidgw_http_request_duration_seconds.type, 'HISTOGRAM');
  const h = histogram(after.text, 'eidgw_http_request_duration_seconds', 'route', '/authorize');
  const les = h.buckets.map(([le]) => le);
  assert.equal(les.at(-1), '+Inf');
  assert.deepEqual(les.slice(0, -1).map(Number), les.slice(0, -1).map(Number).sort((a, b) => a - b), 'bounds ascending');
  const counts = h.buckets.map(([, n]) => n);
  assert.deepEqual([...counts].sort((a, b) => a - b), counts, 'cumulative');
  assert.equal(h.count, counts.at(-1));
  assert.ok(h.count >= 2 && h.sum > 0);
  // the error page shown for the unknown client, by its code
  assert.equal(value(after.eidgw_error_pages_total, { error: 'unknown_client' }) -
               value(before.eidgw_error_pages_total, { error: 'unknown_client' }), 1);
  // the login called VNeID's token and userinfo endpoints
  const calls = (x) => histogram(x.text, 'eidgw_upstream_call_duration_seconds', 'outcome', 'answer').count;
  assert.ok(calls(after) - calls(before) >= 2, `${calls(before)} -> ${calls(after)}`);
  // gauges: the pools and the records in memory
  assert.ok(value(after.eidgw_pool_threads, { pool: 'local', state: 'idle' }) >= 1);
  assert.ok(after.eidgw_memory_records.metrics.some((m) => m.labels.ns === 'ar'));
  assert.equal(value(after.eidgw_build_info, {}), 1);
});
