// The demo in a real browser: two sample portals (openid-client RPs), eidgw and the
// VNeID simulator, driven through Debian's chromium. Screenshots of every page go to
// test-artifacts/browser/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startDemo, launch, scenario as runScenario, shot, landOn, htmlLang, chromiumMissing } from './lib/stack.js';

const AN = { id12: '001085012345', name: 'Nguyễn Văn An' };
const LONG = { id12: '034084190123', name: 'Đinh Văn Long' }; // locked at VNeID

const skip = chromiumMissing();
let st, browser;
before(async () => {
  if (skip) return;
  st = await startDemo('browser');
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await st?.stop();
});

const scenario = (name, opts, fn) => runScenario(browser, name, opts, fn);

const onSim = (page, from = 0) => page.seen.slice(from).filter((u) => u.startsWith(st.sim.url + '/'));
const visited = (page, prefix, from = 0) => page.seen.slice(from).some((u) => u.startsWith(prefix));

// Portal page -> eidgw login page (one click on the portal's login link).
async function toGatewayLogin(page, portal, linkText) {
  await page.getByRole('link', { name: linkText, exact: true }).click();
  await landOn(page, `${st.gw.url}/login?`);
}

// eidgw login page -> VNeID simulator -> pick a citizen.
async function viaVneid(page, citizen) {
  await page.click('#vneid');
  await landOn(page, `${st.sim.url}/auth`);
  const btn = page.locator(`button[name="citizen"][value="${citizen.id12}"]`);
  assert.match(await btn.innerText(), new RegExp(citizen.name));
  return btn;
}

async function claimValue(page, src, key) {
  const row = page.locator(`#claims tr[data-src="${src}"]`).filter({ has: page.locator('td.k', { hasText: new RegExp(`^${key}$`) }) });
  if ((await row.count()) === 0) return undefined;
  return row.first().locator('td.v').innerText();
}

test('Vietnamese: login at portal A, SSO at portal B, logout at A ends B (back-channel) and the SSO session',
  { skip: skip || false }, () => scenario('vi-sso-logout', {}, async (page) => {
    const A = st.portalA.url, B = st.portalB.url;

    // portal A, logged out
    await page.goto(`${A}/`);
    await shot(page, 'a01-portal-a-logged-out');
    await toGatewayLogin(page, A, 'Đăng nhập bằng VNeID');

    // eidgw's login page, in Vietnamese
    assert.equal(await htmlLang(page), 'vi');
    assert.equal((await page.locator('h1').innerText()).trim(), 'Đăng nhập');
    assert.equal((await page.locator('#vneid').innerText()).trim(), 'Đăng nhập bằng VNeID');
    assert.equal((await page.locator('#client-name').innerText()).trim(), 'Cổng Dịch vụ công tỉnh A');
    assert.match(await page.locator('main').innerText(), /tài khoản định danh điện tử/);
    assert.equal(await page.title(), 'Đăng nhập bằng VNeID');
    await shot(page, 'a02-eidgw-login-vi');

    // the VNeID simulator: choose Nguyễn Văn An
    const btn = await viaVneid(page, AN);
    await shot(page, 'a03-vneid-sim');
    await btn.click();
    await landOn(page, `${A}/`);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal((await page.locator('#name').innerText()).trim(), AN.name);
    assert.equal(await claimValue(page, 'id_token', 'cccd'), AN.id12);
    assert.equal(await claimValue(page, 'userinfo', 'cccd'), AN.id12);
    assert.equal(await claimValue(page, 'id_token', 'name'), AN.name); // precomposed (NFC), as VNeID sent it
    assert.equal(await claimValue(page, 'id_token', 'acr'), 'urn:vn:eid:level:2');
    assert.ok(await claimValue(page, 'id_token', 'sid'), 'the id_token carries sid (back-channel logout needs it)');
    await shot(page, 'a04-portal-a-logged-in');

    // portal B: SSO, no VNeID round trip and no eidgw page
    const authsBefore = (await st.sim.stats()).auth;
    await page.goto(`${B}/`);
    await shot(page, 'a05-portal-b-logged-out');
    const mark = page.seen.length;
    await page.getByRole('link', { name: 'Đăng nhập bằng VNeID', exact: true }).click();
    await page.waitForSelector('#name');
    assert.ok(page.url().startsWith(`${B}/`), page.url());
    assert.deepEqual(onSim(page, mark), [], 'the simulator was not visited while logging in to portal B');
    assert.equal(visited(page, `${st.gw.url}/login`, mark), false, 'eidgw did not show its login page');
    assert.ok(visited(page, `${st.gw.url}/authorize`, mark), 'the login went through eidgw');
    assert.equal((await st.sim.stats()).auth, authsBefore);
    assert.equal((await page.locator('#name').innerText()).trim(), AN.name);
    assert.equal(await claimValue(page, 'id_token', 'cccd'), undefined, 'portal B has no cccd scope');
    await shot(page, 'a06-portal-b-sso');

    // logout at portal A: eidgw's end_session, back to portal A logged out
    await page.goto(`${A}/`);
    const mark2 = page.seen.length;
    await page.click('#logout');
    await page.waitForSelector('#login');
    assert.ok(page.url().startsWith(`${A}/`), page.url());
    assert.ok(visited(page, `${st.gw.url}/logout?`, mark2), 'portal A sent the browser to eidgw end_session');
    assert.equal(await page.locator('#name').count(), 0);
    await shot(page, 'a07-portal-a-after-logout');

    // portal B learnt of it by back-channel: logged out without any action at B
    await page.goto(`${B}/`);
    assert.equal(await page.locator('#name').count(), 0, 'portal B still shows the citizen after logout at A');
    assert.equal(await page.locator('#login').count(), 1);
    await shot(page, 'a08-portal-b-after-backchannel');
    assert.match(st.portalB.log(), /back-channel logout: 1 local session\(s\) ended/);

    // the SSO session is over: portal B's login shows eidgw's login page again
    await toGatewayLogin(page, B, 'Đăng nhập bằng VNeID');
    assert.equal((await page.locator('#vneid').innerText()).trim(), 'Đăng nhập bằng VNeID');
    assert.equal((await page.locator('#client-name').innerText()).trim(), 'Cổng Dịch vụ công tỉnh B');
    await shot(page, 'a09-portal-b-login-again');
  }));

test('English: ui_locales=en from portal A, language switch to Vietnamese and back, then log in',
  { skip: skip || false }, () => scenario('en-language-switch', { locale: 'en-US' }, async (page) => {
    const A = st.portalA.url;
    await page.goto(`${A}/?lang=en`);
    assert.equal(await page.getAttribute('#login', 'href'), '/login?lang=en');
    await page.click('#login');
    await landOn(page, `${st.gw.url}/login?`);
    const authorize = page.seen.find((u) => u.startsWith(`${st.gw.url}/authorize?`));
    assert.equal(new URL(authorize).searchParams.get('ui_locales'), 'en');

    assert.equal(await htmlLang(page), 'en');
    assert.equal((await page.locator('h1').innerText()).trim(), 'Log in');
    assert.equal((await page.locator('#vneid').innerText()).trim(), 'Log in with VNeID');
    assert.equal(await page.title(), 'Log in with VNeID');
    await shot(page, 'b01-eidgw-login-en');

    const toVi = page.locator('header a[hreflang="vi"]');
    assert.equal((await toVi.innerText()).trim(), 'Tiếng Việt');
    await toVi.click();
    await page.waitForFunction(() => document.documentElement.lang === 'vi');
    assert.equal((await page.locator('#vneid').innerText()).trim(), 'Đăng nhập bằng VNeID');
    assert.equal((await page.locator('h1').innerText()).trim(), 'Đăng nhập');
    assert.equal(new URL(page.url()).searchParams.get('lang'), 'vi');
    await shot(page, 'b02-eidgw-login-switched-to-vi');

    const toEn = page.locator('header a[hreflang="en"]');
    assert.equal((await toEn.innerText()).trim(), 'English');
    await toEn.click();
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal((await page.locator('#vneid').innerText()).trim(), 'Log in with VNeID');
    await shot(page, 'b03-eidgw-login-switched-back-to-en');

    // the login request survived the switches; the simulator is asked in English too
    const btn = await viaVneid(page, AN);
    assert.equal(await htmlLang(page), 'en');
    await shot(page, 'b04-vneid-sim-en');
    await btn.click();
    await landOn(page, `${A}/`);
    assert.equal((await page.locator('#name').innerText()).trim(), AN.name);
    await shot(page, 'b05-portal-a-logged-in');
  }));

async function lockedCitizenError(page, lang) {
  const A = st.portalA.url;
  await page.goto(lang === 'en' ? `${A}/?lang=en` : `${A}/`);
  await page.click('#login');
  await landOn(page, `${st.gw.url}/login?`);
  const btn = await viaVneid(page, LONG);
  await btn.click();
  await landOn(page, `${st.gw.url}/callback?`);
}

const ERR = {
  vi: { title: 'VNeID từ chối đăng nhập', text: /tài khoản định danh điện tử đang bị khóa/, retry: 'Thử lại',
        back: 'Quay lại cổng dịch vụ công', code: 'Mã lỗi' },
  en: { title: 'VNeID refused the login', text: /e-ID account is locked/, retry: 'Try again', back: 'Back to the portal',
        code: 'Error code' },
};

async function assertDeniedPage(page, lang) {
  const e = ERR[lang];
  assert.equal(await htmlLang(page), lang);
  assert.equal((await page.locator('h1').innerText()).trim(), e.title);
  assert.equal(await page.title(), e.title);
  assert.match(await page.locator('#error-message').innerText(), e.text);
  assert.equal((await page.locator('#error-code').innerText()).trim(), 'upstream_denied');
  assert.match(await page.locator('.meta').innerText(), new RegExp(e.code));
  assert.ok((await page.locator('#request-id').innerText()).trim().length > 0);
  assert.equal((await page.locator('#retry').innerText()).trim(), e.retry);
  assert.equal((await page.locator('#back').innerText()).trim(), e.back);
}

test('error page: a locked citizen (Đinh Văn Long) is refused by VNeID, in Vietnamese and in English',
  { skip: skip || false }, async () => {
    await scenario('error-vi', {}, async (page) => {
      await lockedCitizenError(page, 'vi');
      await assertDeniedPage(page, 'vi');
      await shot(page, 'c01-error-upstream-denied-vi');
      // "try again" goes back to eidgw's login page for the same request
      await page.click('#retry');
      await landOn(page, `${st.gw.url}/login?`);
      assert.equal((await page.locator('#vneid').innerText()).trim(), 'Đăng nhập bằng VNeID');
      await shot(page, 'c02-error-retry-login-page-vi');
    });
    await scenario('error-en', { locale: 'en-US' }, async (page) => {
      await lockedCitizenError(page, 'en');
      await assertDeniedPage(page, 'en');
      await shot(page, 'c03-error-upstream-denied-en');
      // "back to the portal": the portal receives error=access_denied
      await page.click('#back');
      await landOn(page, `${st.portalA.url}/callback?`);
      assert.match(await page.locator('#error').innerText(), /access_denied/);
      await shot(page, 'c04-error-back-to-portal');
    });
  });

test('error page: the language switch shows the same error in the other language', { skip: skip || false },
  () => scenario('error-language-switch', {}, async (page) => {
    await lockedCitizenError(page, 'vi');
    await assertDeniedPage(page, 'vi');
    const toEn = page.locator('header a[hreflang="en"]');
    assert.equal(await toEn.count(), 1, 'the error page has a language switch');
    await toEn.click();
    await page.waitForLoadState('load');
    await shot(page, 'c05-error-after-language-switch');
    await assertDeniedPage(page, 'en');
  }));

test('portal back-channel endpoint refuses tokens that are not from eidgw', { skip: skip || false }, async () => {
  const url = `${st.portalB.url}/backchannel-logout`;
  const post = (body, type = 'application/x-www-form-urlencoded') =>
    fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
  assert.equal((await post('')).status, 400);
  assert.equal((await post('logout_token=not.a.jwt')).status, 400);
  // well-formed but signed by someone else
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const h = b64({ alg: 'RS256', typ: 'logout+jwt', kid: 'rogue' });
  const p = b64({ iss: st.gw.url, aud: 'portal-b', iat: now, exp: now + 60, jti: 'x1', sid: 'whatever',
                  events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
  const sig = crypto.sign('sha256', Buffer.from(`${h}.${p}`), privateKey).toString('base64url');
  assert.equal((await post(`logout_token=${h}.${p}.${sig}`)).status, 400);
  assert.equal((await fetch(url)).status, 405);
});
