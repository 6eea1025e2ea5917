// sohoa's web journeys in a real browser: Debian's Chromium, headless, through
// playwright-core, against the real server the Rust test started (tests/it/browser.rs).
// Every journey runs at a desktop and at a phone's size; every page it reaches passes the
// checks of lib.mjs (axe at WCAG 2.1 AA, no sideways scrolling, weight, no other host, the
// vi/en switch) and leaves a screenshot in $SOHOA_ARTIFACTS. Forms are filled with the
// keyboard alone. Exits 1 listing every failure.
//
// Environment: SOHOA_URL (the server), SOHOA_CITIZEN (the demo citizen's CCCD),
// SOHOA_PASSWORD (the demo accounts' password), SOHOA_ARTIFACTS, CHROMIUM.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Failures, Session, expect } from './lib.mjs';

const base = process.env.SOHOA_URL;
const citizen = process.env.SOHOA_CITIZEN;
const password = process.env.SOHOA_PASSWORD;
const artifacts = process.env.SOHOA_ARTIFACTS;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
for (const [k, v] of Object.entries({ SOHOA_URL: base, SOHOA_CITIZEN: citizen, SOHOA_PASSWORD: password, SOHOA_ARTIFACTS: artifacts })) {
  if (!v) {
    console.error(`${k} is not set`);
    process.exit(2);
  }
}

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800, mobile: false },
  { name: 'phone', width: 390, height: 844, mobile: true },
];

const PHOTO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFTEMSgkAdRQ/wf1m5N4AAAAASUVORK5CYII=',
  'base64',
);
// A whole PNG (2×2 pixels) that decodes: a scanned page.
const SCAN = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEUlEQVR4nGP4z8AARAxg8j8AG/ID/fPnS7EAAAAASUVORK5CYII=', 'base64');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

async function signIn(s, login, next = '/me') {
  await s.goto(`/login?next=${encodeURIComponent(next)}`);
  await s.page('sign-in');
  await s.fromTop();
  await s.type('#login', login);
  await s.type('#password', `${password}-wrong`);
  await s.press('form[action="/login"] button[type="submit"]');
  await s.page('sign-in-refused');
  const said = await s.fieldError('#password');
  expect(said.length > 0, 'a refused sign-in says why');
  await s.fromTop();
  await s.type('#login', login);
  await s.type('#password', password);
  await s.press('form[action="/login"] button[type="submit"]');
  expect(!s.p.url().includes('/login'), `signing in as ${login} failed: ${await s.text('main')}`);
}

/** Citizen: my data and who read it; a document kept; a procedure found without
 * diacritics; the registry's fields filled and locked; the document reused; the fee or its
 * waiver; submitted; the status followed. Returns the application's number and code. */
async function citizenApplies(s) {
  await signIn(s, citizen);
  await s.page('my-data');
  expect((await s.text('main')).includes('Nguyễn Thị Mai'), 'my data shows my name');
  expect(await s.p.$('#access-log'), 'my data lists who read it');

  // A document kept once, reused in the application below.
  await s.fromTop();
  await s.type('#document-name', 'Hợp đồng thuê nhà số 5 Nguyễn Huệ');
  await s.p.setInputFiles('#document-file', { name: 'hop-dong-thue-nha.pdf', mimeType: 'application/pdf', buffer: PDF });
  await s.tabTo('#document-file');
  await s.press('form[action="/me/documents"] button[type="submit"]');
  await s.page('document-kept');
  expect((await s.text('#documents')).includes('Hợp đồng thuê nhà số 5 Nguyễn Huệ'), 'the kept document is listed');

  await s.goto('/procedures');
  await s.fromTop();
  await s.type('#q', 'dang ky thuong tru');
  await s.press('form[role="search"] button[type="submit"]');
  await s.page('search-without-diacritics');
  await s.fromTop();
  await s.press('a[href="/procedures/1.004194"]');
  await s.page('procedure');
  await s.fromTop();
  await s.press('a[href="/procedures/1.004194/apply"]');
  await s.page('apply-prefilled');
  const locked = await s.p.$eval('#answer-applicant_name', (i) => ({ value: i.value, readOnly: i.readOnly }));
  expect(locked.readOnly && locked.value === 'Nguyễn Thị Mai', `the registry's name is filled and locked: ${JSON.stringify(locked)}`);

  await s.fromTop();
  await s.type('#answer-new_address', 'Số 5 Nguyễn Huệ');
  await s.type('#answer-new_unit', '99999');
  await s.type('#answer-household_head', 'Nguyễn Thị Mai');
  const doc = await s.p.$eval('#doc-residence_proof', (sel) =>
    [...sel.options].find((o) => o.textContent.includes('Hợp đồng thuê nhà số 5 Nguyễn Huệ'))?.value ?? '');
  expect(doc !== '', 'the kept document is offered');
  await s.choose('#doc-residence_proof', doc);
  await s.press('form[action="/procedures/1.004194/apply"] button[type="submit"]');
  await s.page('apply-refused');
  await s.fieldError('#answer-new_unit');
  await s.fromTop();
  await s.type('#answer-new_unit', '26743');
  await s.press('form[action="/procedures/1.004194/apply"] button[type="submit"]');
  await s.page('filed');
  const number = (await s.text('#receipt-number')).trim();
  const code = (await s.text('#receipt-code')).trim();
  expect(/^\S+$/.test(number) && code.length >= 6, `a receipt with number and code: ${number} ${code}`);
  const fee = await s.text('#receipt-fee');
  expect(fee.includes('20.000') && fee.includes('miễn'), `the receipt shows the fee and its waiver: ${fee}`);

  await s.goto('/me');
  await s.page('my-applications');
  expect((await s.text('#applications')).length > 0 && (await s.text('main')).includes(number), 'my applications list it');
  return { number, code };
}

/** Anyone: an application's status with its number and code. */
async function anyoneChecksStatus(s, { number, code }) {
  await s.goto('/status');
  await s.page('status');
  await s.fromTop();
  await s.type('#number', number);
  await s.type('#code', 'WRONG-CODE');
  await s.press('form[action="/status"] button[type="submit"]');
  await s.page('status-refused');
  await s.fieldError('#number');
  await s.fromTop();
  await s.type('#number', number);
  await s.type('#code', code);
  await s.press('form[action="/status"] button[type="submit"]');
  await s.page('status-found');
  expect(await s.p.$('#status-found'), 'the status is shown');
  // vi/en at any page: this one, in English and back.
  await s.fromTop();
  await s.press('a.lang');
  await s.page('status-english');
  expect((await s.p.getAttribute('html', 'lang')) === 'en', 'the switch shows English');
  await s.fromTop();
  await s.press('a.lang');
  expect((await s.p.getAttribute('html', 'lang')) === 'vi', 'and back to Vietnamese');
}

/** Officer: the overdue filter, the deadline in working days, a supplement asked for on one
 * application, the citizen's approved and its signed result issued. */
async function officerWorksQueue(s, { number }) {
  await signIn(s, 'canbo.benthanh', '/queue');
  await s.page('queue');
  await s.fromTop();
  await s.check('#overdue');
  await s.press('form[action="/queue"] button[type="submit"]');
  await s.page('queue-overdue');
  const overdue = await s.p.$$('tbody tr.overdue');
  expect(overdue.length > 0, 'the overdue filter shows overdue applications');
  expect((await s.text('thead')).includes('ngày làm việc còn lại'), 'the queue counts the deadline in working days');
  const left = await s.p.$eval('tbody tr td:nth-child(5)', (td) => td.textContent.trim());
  expect(/^-?\d+/.test(left), `working days left as a number: ${left}`);

  // A supplement asked for: the first application under review.
  await s.goto('/queue?status=in_review');
  const first = await s.p.$eval('tbody tr td a', (a) => a.getAttribute('href'));
  await s.goto(first);
  await s.page('application-in-review');
  await s.fromTop();
  await s.choose('#action', 'supplement_requested');
  await s.type('#comment', 'Xin bổ sung bản sao giấy chứng sinh có chứng thực.');
  await s.press(`form[action="${first}/act"] button[type="submit"]`);
  await s.page('supplement-requested');
  expect((await s.text('#history')).length > 0, 'the history is shown');

  // The citizen's application, through to its signed result.
  await s.goto(`/queue/${number}`);
  await s.page('citizen-application');
  expect((await s.text('main')).includes('Nguyễn Thị Mai'), 'the officer sees the applicant');
  for (const move of ['received', 'in_review', 'approved', 'result_issued']) {
    await s.fromTop();
    await s.choose('#action', move);
    await s.press(`form[action="/queue/${number}/act"] button[type="submit"]`);
    const err = await s.p.$('p.error');
    expect(err === null, `${move}: ${err ? await err.textContent() : ''}`);
  }
  await s.page('result-issued');
}

/** Citizen: the signed result, and its check on the public page. */
async function citizenGetsResult(s, { number }) {
  await signIn(s, citizen);
  await s.fromTop();
  await s.press(`a[href="/results/${number}"]`);
  await s.page('signed-result');
  expect((await s.text('main')).includes(number), 'the result names the application');
  await s.goto('/verify');
  await s.fromTop();
  await s.type('#number', number);
  await s.press('form[action="/verify"] button[type="submit"]');
  await s.page('verified');
  expect(await s.p.$('#verify-found'), 'the public page verifies the result');
}

/** Leader: the city, a commune, its overdue applications, one of them; a table as CSV. */
async function leaderDrillsDown(s) {
  await signIn(s, 'lanhdao.tp', '/dashboard');
  await s.page('dashboard-city');
  await s.fromTop();
  await s.press('a[href*="unit=26743"]');
  await s.page('dashboard-commune');
  const download = s.p.waitForEvent('download');
  await s.fromTop();
  await s.tabTo('a[download]');
  await s.p.keyboard.press('Enter');
  const csv = await download;
  const path = join(s.dir, `${s.journey}-monitoring.csv`);
  await csv.saveAs(path);
  const table = readFileSync(path, 'utf8').split('\n');
  expect(table.length > 1 && table[0].split(',').length > 3, `the CSV has a header and rows: ${table[0]}`);
  await s.fromTop();
  await s.press('a[href*="overdue=true"]');
  await s.page('overdue-list');
  await s.fromTop();
  await s.press('tbody tr td a');
  await s.page('overdue-application');
  return path;
}

/** An officer's answer through the API (the officers' feedback queue is API-only). */
async function officerResolves(id) {
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'canbo.benthanh', password }),
  });
  expect(login.ok, `officer sign-in: ${login.status}`);
  const { token } = await login.json();
  const moves = [
    { to: 'acknowledged', note: 'Đã tiếp nhận, tổ công tác sẽ kiểm tra trong ngày.' },
    { to: 'in_progress' },
    { to: 'resolved', note: 'Đã vá ổ gà và dọn dẹp mặt đường.' },
  ];
  for (const m of moves) {
    const res = await fetch(`${base}/api/v1/reports/${id}/transitions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(m),
    });
    expect(res.ok, `report ${id} to ${m.to}: ${res.status} ${await res.text()}`);
  }
}

/** Citizen: a problem reported with a photo and a place tapped on the map; its answer
 * followed; the resolution rated. */
async function citizenReportsProblem(s) {
  await signIn(s, citizen, '/map');
  await s.page('map');
  await s.fromTop();
  await s.press('a[href="/report"]');
  await s.page('report-form');
  await s.fromTop();
  await s.choose('#category', 'road_damage');
  await s.type('#description', 'Ổ gà lớn giữa đường trước số 12 Lê Lợi, xe máy dễ ngã.');
  // Sent without a place: the error says so, by the place's field.
  await s.press('form[action="/report"] button[type="submit"]');
  await s.page('report-needs-place');
  await s.fieldError('#lat');
  // The place: a tap on the map, in Bến Thành ward (10.7725 N, 106.698 E).
  const box = await s.p.$eval('svg.pick', (svg) => ({
    ...svg.getBoundingClientRect().toJSON(),
    minLon: +svg.dataset.minLon, minLat: +svg.dataset.minLat,
    maxLon: +svg.dataset.maxLon, maxLat: +svg.dataset.maxLat,
  }));
  const position = {
    x: ((106.698 - box.minLon) / (box.maxLon - box.minLon)) * box.width,
    y: ((box.maxLat - 10.7725) / (box.maxLat - box.minLat)) * box.height,
  };
  if (s.viewport.mobile) await s.p.tap('svg.pick', { position });
  else await s.p.click('svg.pick', { position });
  const lat = await s.p.$eval('#lat', (i) => i.value);
  expect(Math.abs(parseFloat(lat) - 10.7725) < 0.002, `the map's tap filled the latitude: ${lat}`);
  await s.p.setInputFiles('#photos', { name: 'o-ga.png', mimeType: 'image/png', buffer: PHOTO });
  await s.fromTop();
  await s.press('form[action="/report"] button[type="submit"]');
  await s.page('report-filed');
  const id = s.p.url().split('/reports/')[1];
  expect(id && id.startsWith('PA-'), `the report's page: ${s.p.url()}`);
  expect((await s.text('main')).includes('1'), 'the photo is with it');

  await officerResolves(id);
  await s.goto(`/reports/${id}`);
  await s.page('report-answered');
  expect((await s.text('main')).includes('Đã vá ổ gà'), 'the answer is shown');
  await s.fromTop();
  await s.tabTo('input[name="score"]');
  for (let i = 0; i < 3; i += 1) await s.p.keyboard.press('ArrowDown');
  expect(await s.p.$eval('#score-4', (r) => r.checked), 'the arrow keys chose 4');
  await s.type('#comment', 'Xử lý nhanh, cảm ơn phường.');
  await s.press(`form[action="/reports/${id}/rating"] button[type="submit"]`);
  await s.page('report-rated');
  expect((await s.text('#rating')).includes('4/5'), 'the rating is shown');
}

/** Community digital team: the citizen creates a consent code and reads it out; the team
 * member files an application for her with it (a wrong code is refused by its field). */
async function teamHelpsCitizen(citizenSession, s) {
  const c = citizenSession;
  await signIn(c, citizen);
  await c.fromTop();
  await c.press('form[action="/me/assist-codes"] button[type="submit"]');
  await c.page('consent-code');
  const code = (await c.text('#assist-code')).trim();
  expect(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(code), `a consent code: ${code}`);

  await signIn(s, 'totcs.benthanh', '/procedures/1.004873/apply');
  await s.page('helper-asks-code');
  await s.fromTop();
  await s.type('#behalf-citizen', citizen);
  await s.type('#behalf-code', 'AAAA-AAAA');
  await s.press('form[action="/procedures/1.004873/apply"] button[type="submit"]');
  await s.page('helper-code-refused');
  await s.fieldError('#behalf-code');
  await s.fromTop();
  await s.type('#behalf-citizen', citizen);
  await s.type('#behalf-code', code);
  await s.press('form[action="/procedures/1.004873/apply"] button[type="submit"]');
  await s.page('helper-form');
  expect((await s.text('#behalf-notice')).includes('Nguyễn Thị Mai'), 'the helper sees whom they help');
  const name = await s.p.$eval('#answer-applicant_name', (i) => i.value);
  expect(name === 'Nguyễn Thị Mai', `the citizen's registry fields are filled: ${name}`);
  await s.fromTop();
  await s.type('#answer-purpose', 'Bổ sung hồ sơ vay vốn ngân hàng');
  await s.press('form[action="/procedures/1.004873/apply"] button[type="submit"]');
  await s.page('helper-filed');
  const number = (await s.text('#receipt-number')).trim();
  expect(number.length > 0, 'the helper files it');

  await c.goto('/me');
  await c.page('citizen-sees-helped-application');
  expect((await c.text('#applications ~ div')).includes(number), 'the citizen sees the application filed for her');
  expect((await c.text('#access-log ~ div')).includes('totcs.benthanh'), 'and, in who read her data, the helper');
}

/**
 * A walk-in at Bến Thành ward's one-stop counter: the resident takes a number at the kiosk,
 * the counter officer calls it, identifies her by CCCD, scans the paper she brought (checked
 * against the original), files the certification of copies for her, she signs the printed
 * receipt; later she finds the application and the digitized paper among her own on /me.
 */
async function counterTakesInWalkIn(k, s, c) {
  await k.goto('/counters/UBND-26743/ticket');
  await k.page('kiosk');
  await k.fromTop();
  await k.press('#take-A');
  await k.page('kiosk-ticket');
  const ticket = (await k.text('#ticket-label')).trim();
  expect(/^A-\d{3}$/.test(ticket), `the kiosk prints a number: ${ticket}`);

  await signIn(s, 'motcua.benthanh', '/counter');
  await s.page('counter-start');
  await s.fromTop();
  await s.type('#call-desk', 'Quầy 2');
  await s.press('form:has(#call-desk) button[type="submit"]');
  await s.page('counter-called');
  expect((await s.text('#called')).includes('Quầy 2'), 'a number is called to the desk');
  await s.fromTop();
  await s.press('button[name="outcome"][value="served"]');
  await s.page('counter-served');

  await s.fromTop();
  await s.type('#citizen-id', citizen);
  await s.press('form:has(#citizen-id) button[type="submit"]');
  await s.page('counter-person');
  expect((await s.text('#person')).includes('Nguyễn Thị Mai'), 'the officer sees whom they serve');

  await s.fromTop();
  await s.type('#scan-name', 'Bằng tốt nghiệp (bản chính)');
  await s.p.setInputFiles('#scan-pages', [
    { name: 'trang-1.png', mimeType: 'image/png', buffer: SCAN },
    { name: 'trang-2.png', mimeType: 'image/png', buffer: SCAN },
  ]);
  await s.check('#scan-checked');
  await s.press('form[action="/counter/scan"] button[type="submit"]');
  await s.page('counter-scanned');
  expect((await s.text('#counter-notice')).includes('Bằng tốt nghiệp'), 'the scan is kept');

  await s.fromTop();
  await s.type('#procedure-q', 'chung thuc');
  await s.press('form[role="search"] button[type="submit"]');
  await s.page('counter-procedure-search');
  await s.fromTop();
  await s.choose('#procedure', '2.000815');
  await s.press('form:has(#procedure) button[type="submit"]');
  await s.page('counter-form');
  await s.fromTop();
  await s.type('#answer-document_name', 'Bằng tốt nghiệp đại học');
  await s.type('#answer-pages', '2');
  const doc = await s.p.$eval('#doc-original', (sel) =>
    [...sel.options].find((o) => o.textContent.includes('Bằng tốt nghiệp'))?.value ?? '');
  expect(doc !== '', 'the scan is offered for the application');
  await s.choose('#doc-original', doc);
  await s.press('form:has(#doc-original) button[type="submit"]');
  await s.page('counter-filed');
  const number = (await s.text('#filed-number')).trim();
  expect(/^HS[0-9A-Z]{10}$/.test(number), `filed: ${number}`);

  const receipt = await s.p.request.get(`${base}/counter/receipts/${number}`);
  expect(receipt.status() === 200 && receipt.headers()['content-type'] === 'application/pdf', 'the receipt prints as PDF');
  expect((await receipt.body()).subarray(0, 5).toString() === '%PDF-', 'a PDF file');
  await s.fromTop();
  await s.press('#confirm-signed');
  await s.page('counter-confirmed');
  expect((await s.text('#filed')).length > 0 && (await s.text('main')).includes(number), 'confirmed by the signed receipt');

  await k.goto('/counters/UBND-26743/display');
  await k.page('waiting-room-board');
  expect((await k.text('main')).includes('Quầy 2'), 'the board shows the desk called');

  await signIn(c, citizen);
  await c.page('citizen-sees-counter-application');
  const main = await c.text('main');
  expect(main.includes(number), 'the resident sees the application filed at the counter');
  expect(main.includes('Bằng tốt nghiệp (bản chính)'), 'and the digitized paper among her documents');
}

async function main() {
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  const failures = new Failures();
  let pages = 0;
  let journeys = 0;
  for (const viewport of VIEWPORTS) {
    const run = async (journey, f) => {
      const s = await new Session({ browser, base, viewport, artifacts, failures, journey }).open();
      try {
        return await f(s);
      } catch (e) {
        failures.add(s.where(), `stopped: ${e.message.split('\n')[0]}`);
        await s.p.screenshot({ path: join(s.dir, `${journey}-FAILED.png`), fullPage: true }).catch(() => {});
        return null;
      } finally {
        pages += s.pagesChecked;
        journeys += 1;
        await s.close();
      }
    };
    const app = await run('citizen-applies', citizenApplies);
    if (app) {
      await run('anyone-checks-status', (s) => anyoneChecksStatus(s, app));
      await run('officer-works-queue', (s) => officerWorksQueue(s, app));
      await run('citizen-gets-result', (s) => citizenGetsResult(s, app));
    }
    await run('citizen-reports-problem', citizenReportsProblem);
    {
      const c = await new Session({ browser, base, viewport, artifacts, failures, journey: 'team-helps-citizen-citizen' }).open();
      await run('team-helps-citizen', (s) => teamHelpsCitizen(c, s));
      pages += c.pagesChecked;
      await c.close();
    }
    await run('leader-drills-down', leaderDrillsDown);
    {
      const k = await new Session({ browser, base, viewport, artifacts, failures, journey: 'counter-kiosk' }).open();
      const c = await new Session({ browser, base, viewport, artifacts, failures, journey: 'counter-resident' }).open();
      await run('counter-takes-in-walk-in', (s) => counterTakesInWalkIn(k, s, c));
      pages += k.pagesChecked + c.pagesChecked;
      await k.close();
      await c.close();
    }
  }
  await browser.close();
  const report = failures.list.join('\n');
  writeFileSync(join(artifacts, 'report.txt'), `${journeys} journeys, ${pages} pages checked\n${report}\n`);
  console.log(`${journeys} journeys, ${pages} pages checked, ${failures.list.length} failures; screenshots in ${artifacts}`);
  if (failures.list.length > 0) {
    console.log(report);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
