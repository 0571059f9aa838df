// Legacy accounts in a real browser: portal A keeps its old accounts in eidgw. Legacy
// login with the letter-356 check against the population DB, the failed check sending
// the citizen to VNeID, the choice between two accounts with the same ID number, and
// a citizen without an old account. Screenshots of every page go to
// test-artifacts/browser/ (names start with "acc").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, scenario as runScenario, shot, landOn, htmlLang, chromiumMissing } from './lib/stack.js';
import { startAccountsDemo, accountsCsv, cryptHash } from './lib/accounts_stack.js';

const PW = 'matkhau123';
const ACCOUNTS = [
  // a CMND but no ID number: the letter-356 check
  { id: 'C-1', username: 'cuong', name: 'Lê Văn Cường', dob: '1978-11-05', sex: 'M', cmnd: '201234567' },
  { id: 'E-1', username: 'duc', name: 'Hoàng Minh Đức', dob: '1988-09-09', sex: 'M', cmnd: '031234567' },
  // two accounts with the same verified ID number
  { id: 'B-1', username: 'binh1', name: 'Trần Thị Bình', dob: '1990-07-22', sex: 'F', cmnd: '023456789',
    id12: '079190023456', verified: true },
  { id: 'B-2', username: 'binh.tran90', name: 'Trần Thị Bình', dob: '1990-07-22', sex: 'F',
    id12: '079190023456', verified: true },
  // a verified account of someone else (its number is the "wrong" one below)
  { id: 'A-1', username: 'an', name: 'Nguyễn Văn An', dob: '1985-03-14', sex: 'M', cmnd: '012345678',
    id12: '001085012345', verified: true },
];
const CUONG = { id12: '048078034567', name: 'Lê Văn Cường' };
const DUC = { id12: '031088056789', name: 'Hoàng Minh Đức' };
const BINH = { id12: '079190023456', name: 'Trần Thị Bình' };
const HOA = { id12: '046065078901', name: 'Võ Thanh Hoà' }; // no account on portal A

const skip = chromiumMissing();
let st, browser;
let cuongSub; // the sub portal A received for Lê Văn Cường's legacy login
before(async () => {
  if (skip) return;
  st = await startAccountsDemo('browser-accounts', { accounts: accountsCsv(ACCOUNTS, cryptHash(PW)) });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await st?.stop();
});

const scenario = (name, opts, fn) => runScenario(browser, name, opts, fn);

const text = async (page, sel) => (await page.locator(sel).innerText()).trim();

async function claimValue(page, src, key) {
  const row = page.locator(`#claims tr[data-src="${src}"]`).filter({ has: page.locator('td.k', { hasText: new RegExp(`^${key}$`) }) });
  if ((await row.count()) === 0) return undefined;
  return (await row.first().locator('td.v').innerText()).trim();
}

// Portal A (Vietnamese, or English with ?lang=en) -> eidgw's login page.
async function toGatewayLogin(page, lang) {
  const A = st.portalA.url;
  await page.goto(lang === 'en' ? `${A}/?lang=en` : `${A}/`);
  return async (shotName) => {
    if (shotName) await shot(page, shotName);
    if (lang === 'en') await page.click('#login');
    else await page.getByRole('link', { name: 'Đăng nhập bằng VNeID', exact: true }).click();
    await landOn(page, `${st.gw.url}/login?`);
    assert.equal(await htmlLang(page), lang);
  };
}

// eidgw login page -> VNeID simulator -> choose a citizen (after a screenshot).
async function viaVneid(page, citizen, shotName) {
  await page.click('#vneid');
  await landOn(page, `${st.sim.url}/auth`);
  const btn = page.locator(`button[name="citizen"][value="${citizen.id12}"]`);
  assert.match(await btn.innerText(), new RegExp(citizen.name));
  await shot(page, shotName);
  await btn.click();
}

async function legacyLogin(page, username) {
  await page.fill('#username', username);
  await page.fill('#password', PW);
  await page.click('#legacy-submit');
  await page.waitForLoadState('load');
}

const T = {
  vi: {
    loginH1: 'Đăng nhập', legacyH2: 'Đăng nhập bằng tài khoản cũ của cổng', vneid: 'Đăng nhập bằng VNeID',
    needTitle: 'Bổ sung số định danh cá nhân', verify: 'Xác thực thông qua CSDLQG về DC',
    id12Invalid: 'Số định danh cá nhân phải gồm đúng 12 chữ số.',
    okTitle: 'Xác thực tài khoản thành công', okText: /đã được gắn với số định danh cá nhân/, cont: 'Tiếp tục',
    failTitle: 'Xác thực tài khoản không thành công', failText: /không khớp với Cơ sở dữ liệu quốc gia về dân cư/,
    chooseTitle: 'Chọn tài khoản sẽ tiếp tục sử dụng', choose: 'Giữ tài khoản này',
    noneTitle: 'Chưa tìm thấy tài khoản cũ của bạn', claimH2: 'Nhận lại tài khoản cũ', claim: 'Nhận lại tài khoản',
    fresh: 'Tiếp tục với tài khoản mới',
  },
  en: {
    loginH1: 'Log in', legacyH2: 'Log in with your old portal account', vneid: 'Log in with VNeID',
    needTitle: 'Add your personal identification number', verify: 'Verify with the National Population Database',
    id12Invalid: 'The personal identification number must have exactly 12 digits.',
    okTitle: 'Account verified', okText: /now linked to your personal identification number/, cont: 'Continue',
    failTitle: 'Account verification failed', failText: /do not match the National Population Database/,
    chooseTitle: 'Choose the account to keep', choose: 'Keep this account',
    noneTitle: 'We did not find your old account', claimH2: 'Claim your old account', claim: 'Claim the account',
    fresh: 'Continue with a new account',
  },
};

// eidgw's login page with the legacy form, in lang.
async function assertLoginPageWithLegacy(page, lang) {
  const t = T[lang];
  assert.equal(await htmlLang(page), lang);
  assert.equal(await text(page, 'h1'), t.loginH1);
  assert.equal(await text(page, '#client-name'), 'Cổng Dịch vụ công tỉnh A');
  assert.equal(await text(page, '#vneid'), t.vneid);
  assert.ok(await page.locator('#legacy-form').isVisible(), 'the legacy form shows');
  assert.equal(await text(page, '#legacy h2'), t.legacyH2);
  assert.ok(await page.locator('#username').isVisible());
  assert.ok(await page.locator('#password').isVisible());
}

async function assertNeedId12Page(page, lang) {
  const t = T[lang];
  await page.waitForSelector('#id12-form');
  assert.equal(await htmlLang(page), lang);
  assert.equal(await text(page, 'h1'), t.needTitle);
  assert.equal(await page.title(), t.needTitle);
  assert.equal(await text(page, '#verify'), t.verify);
  assert.ok(await page.locator('#id12').isVisible());
}

test('Vietnamese: legacy login, letter-356 check (invalid number first), then logged in at portal A as the legacy account',
  { skip: skip || false }, () => scenario('acc-vi-legacy-verify', {}, async (page) => {
    const t = T.vi;
    const go = await toGatewayLogin(page, 'vi');
    await go('acc1-01-portal-a-logged-out');
    await assertLoginPageWithLegacy(page, 'vi');
    await shot(page, 'acc1-02-eidgw-login-legacy-form-vi');

    // old account with a CMND but no ID number
    await page.fill('#username', 'cuong');
    await page.fill('#password', PW);
    await shot(page, 'acc1-03-eidgw-login-legacy-filled-vi');
    await page.click('#legacy-submit');
    await assertNeedId12Page(page, 'vi');
    assert.equal(await page.locator('#id12-error').count(), 0);
    await shot(page, 'acc1-04-need-id12-vi');

    // an invalid number: the field error, the page stays
    await page.fill('#id12', '04807803456');
    await page.click('#verify');
    await page.waitForSelector('#id12-error');
    assert.equal(await text(page, '#id12-error'), t.id12Invalid);
    assert.equal(await page.getAttribute('#id12-error', 'role'), 'alert');
    assert.equal(await text(page, 'h1'), t.needTitle);
    assert.equal(await page.locator('#result-message').count(), 0);
    await shot(page, 'acc1-05-need-id12-invalid-vi');

    // the right number: MATCH at the population DB
    const checks = (await st.popdb.stats()).calls;
    await page.fill('#id12', CUONG.id12);
    await page.click('#verify');
    await page.waitForSelector('#result-message');
    assert.equal(await htmlLang(page), 'vi');
    assert.equal(await page.getAttribute('#result-message', 'data-result'), 'verify_success');
    assert.equal(await text(page, '#result-title'), t.okTitle);
    assert.equal(await page.title(), t.okTitle);
    assert.match(await text(page, '#result-message'), t.okText);
    assert.equal(await text(page, '#continue'), t.cont);
    assert.equal(await page.locator('#vneid').count(), 0);
    assert.equal((await st.popdb.stats()).calls, checks + 1, 'one check at the population DB');
    await shot(page, 'acc1-06-verify-success-vi');

    await page.click('#continue');
    await landOn(page, `${st.portalA.url}/`);
    await page.waitForSelector('#name');
    assert.equal(await text(page, '#name'), CUONG.name);
    assert.equal(await claimValue(page, 'id_token', 'legacy_account'), 'C-1');
    assert.equal(await claimValue(page, 'id_token', 'acr'), 'urn:vn:eid:legacy');
    assert.equal(await claimValue(page, 'id_token', 'merged_accounts'), undefined);
    assert.equal(await claimValue(page, 'id_token', 'cccd'), CUONG.id12);
    cuongSub = await claimValue(page, 'id_token', 'sub');
    await shot(page, 'acc1-07-portal-a-logged-in-legacy');

    // portal B wants level 2: a password login is not enough for single sign-on there
    await page.goto(`${st.portalB.url}/`);
    await page.getByRole('link', { name: 'Đăng nhập bằng VNeID', exact: true }).click();
    await landOn(page, `${st.gw.url}/login?`);
    assert.equal(await text(page, '#client-name'), 'Cổng Dịch vụ công tỉnh B');
    assert.equal(await page.locator('#legacy-form').count(), 0, 'portal B keeps no legacy accounts');
    await shot(page, 'acc1-08-portal-b-asks-for-vneid');
  }));

test('Vietnamese: afterwards the old password of the linked account is retired, and VNeID login finds the link',
  { skip: skip || false }, () => scenario('acc-vi-after-link', {}, async (page) => {
    assert.ok(cuongSub, 'runs after the legacy login test');
    const go = await toGatewayLogin(page, 'vi');
    await go();
    await legacyLogin(page, 'cuong');
    await page.waitForSelector('#result-message');
    assert.equal(await page.getAttribute('#result-message', 'data-result'), 'password_retired');
    assert.equal(await text(page, '#result-title'), 'Mật khẩu cũ không còn hiệu lực');
    assert.equal(await text(page, '#vneid'), 'Đăng nhập bằng VNeID');
    await shot(page, 'acc5-01-password-retired-vi');

    await page.click('#vneid');
    await landOn(page, `${st.sim.url}/auth`);
    await page.click(`button[name="citizen"][value="${CUONG.id12}"]`);
    await landOn(page, `${st.portalA.url}/`);
    await page.waitForSelector('#name');
    assert.equal(await text(page, '#name'), CUONG.name);
    assert.equal(await claimValue(page, 'id_token', 'legacy_account'), 'C-1');
    assert.equal(await claimValue(page, 'id_token', 'sub'), cuongSub, 'the same pairwise sub as the legacy login');
    assert.equal(await claimValue(page, 'id_token', 'acr'), 'urn:vn:eid:level:2');
    await shot(page, 'acc5-02-portal-a-vneid-linked');
  }));

test('English: legacy login, a wrong ID number fails the check, the VNeID button leads to the VNeID simulator',
  { skip: skip || false }, () => scenario('acc-en-verify-failed', { locale: 'en-US' }, async (page) => {
    const t = T.en;
    const go = await toGatewayLogin(page, 'en');
    await go('acc2-01-portal-a-logged-out');
    const authorize = page.seen.find((u) => u.startsWith(`${st.gw.url}/authorize?`));
    assert.equal(new URL(authorize).searchParams.get('ui_locales'), 'en');
    await assertLoginPageWithLegacy(page, 'en');
    await shot(page, 'acc2-02-eidgw-login-legacy-form-en');

    await legacyLogin(page, 'duc');
    await assertNeedId12Page(page, 'en');
    await shot(page, 'acc2-03-need-id12-en');

    // a well-formed number, but not Hoàng Minh Đức's: NO_MATCH
    await page.fill('#id12', '001085012345');
    await page.click('#verify');
    await page.waitForSelector('#result-message');
    assert.equal(await htmlLang(page), 'en');
    assert.equal(await page.getAttribute('#result-message', 'data-result'), 'verify_failed');
    assert.equal(await text(page, '#result-title'), t.failTitle);
    assert.equal(await page.title(), t.failTitle);
    assert.match(await text(page, '#result-message'), t.failText);
    assert.equal(await page.locator('#continue').count(), 0, 'no way on without VNeID');
    assert.equal(await text(page, '#vneid'), t.vneid);
    await shot(page, 'acc2-04-verify-failed-en');

    await page.click('#vneid');
    await landOn(page, `${st.sim.url}/auth`);
    assert.equal(await htmlLang(page), 'en', 'the simulator is asked in English too');
    const btn = page.locator(`button[name="citizen"][value="${DUC.id12}"]`);
    assert.match(await btn.innerText(), new RegExp(DUC.name));
    await shot(page, 'acc2-05-vneid-sim-en');
  }));

test('English: VNeID login of a citizen with two accounts with the same ID number: choose one, the other is merged',
  { skip: skip || false }, () => scenario('acc-en-choose', { locale: 'en-US' }, async (page) => {
    const t = T.en;
    const go = await toGatewayLogin(page, 'en');
    await go();
    await shot(page, 'acc3-01-eidgw-login-en');
    await viaVneid(page, BINH, 'acc3-02-vneid-sim-en');

    await page.waitForSelector('#choose-form');
    assert.ok(page.url().startsWith(`${st.gw.url}/`), page.url());
    assert.equal(await htmlLang(page), 'en');
    assert.equal(await text(page, 'h1'), t.chooseTitle);
    assert.equal(await page.title(), t.chooseTitle);
    assert.equal(await text(page, '#choose'), t.choose);
    const radios = page.locator('#choose-form input[type=radio][name=account]');
    assert.deepEqual((await radios.evaluateAll((rs) => rs.map((r) => r.value))).sort(), ['B-1', 'B-2']);
    const choices = await page.locator('#choose-form label.choice').allInnerTexts();
    assert.equal(choices.length, 2);
    assert.ok(choices.some((c) => c.includes('binh1')), choices.join(' | '));
    assert.ok(choices.some((c) => c.includes('binh.tran90')), choices.join(' | '));
    await shot(page, 'acc3-03-choose-en');

    await page.check('#choose-form input[name=account][value="B-2"]');
    await shot(page, 'acc3-04-choose-selected-en');
    await page.click('#choose');
    await landOn(page, `${st.portalA.url}/`);
    await page.waitForSelector('#name');
    assert.equal(await text(page, '#name'), BINH.name);
    assert.equal(await claimValue(page, 'id_token', 'legacy_account'), 'B-2');
    assert.deepEqual(JSON.parse(await claimValue(page, 'id_token', 'merged_accounts')), ['B-1']);
    assert.equal(await claimValue(page, 'id_token', 'cccd'), BINH.id12);
    assert.equal(await claimValue(page, 'id_token', 'acr'), 'urn:vn:eid:level:2');
    await shot(page, 'acc3-05-portal-a-logged-in-chosen');
  }));

test('Vietnamese: VNeID login of a citizen without an old account: continue with a new account',
  { skip: skip || false }, () => scenario('acc-vi-no-legacy', {}, async (page) => {
    const t = T.vi;
    const go = await toGatewayLogin(page, 'vi');
    await go();
    await shot(page, 'acc4-01-eidgw-login-vi');
    await viaVneid(page, HOA, 'acc4-02-vneid-sim-vi');

    await page.waitForSelector('#new-form');
    assert.ok(page.url().startsWith(`${st.gw.url}/`), page.url());
    assert.equal(await htmlLang(page), 'vi');
    assert.equal(await text(page, 'h1'), t.noneTitle);
    assert.equal(await page.title(), t.noneTitle);
    assert.equal(await text(page, 'h2'), t.claimH2);
    assert.ok(await page.locator('#claim-form').isVisible());
    assert.equal(await text(page, '#claim'), t.claim);
    assert.equal(await text(page, '#new'), t.fresh);
    assert.equal(await page.locator('#claim-error').count(), 0);
    await shot(page, 'acc4-03-no-legacy-vi');

    await page.click('#new');
    await landOn(page, `${st.portalA.url}/`);
    await page.waitForSelector('#name');
    assert.equal(await text(page, '#name'), HOA.name);
    assert.equal(await claimValue(page, 'id_token', 'legacy_account'), undefined);
    assert.equal(await claimValue(page, 'userinfo', 'legacy_account'), undefined);
    assert.equal(await claimValue(page, 'id_token', 'merged_accounts'), undefined);
    assert.equal(await claimValue(page, 'id_token', 'cccd'), HOA.id12);
    await shot(page, 'acc4-04-portal-a-logged-in-new');
  }));
