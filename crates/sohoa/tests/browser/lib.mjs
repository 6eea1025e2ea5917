// The checks every page of a journey passes, and keyboard-only form filling.
//
// A journey calls `await b.page(name)` after each navigation: axe-core at WCAG 2.1 AA, no
// horizontal scrolling, the page's weight on first load (the cache is off, so every load is
// a first load), the language switch present, and a screenshot kept as an artifact.
// Requests to any host but the server are collected for the whole run and fail it.

import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
/** Compressed bytes a page may take on first load, everything it loads included. */
export const MAX_PAGE_BYTES = 150 * 1024;

export class Failures {
  constructor() {
    this.list = [];
  }
  add(where, what) {
    this.list.push(`${where}: ${what}`);
  }
}

/** One browser context at one viewport, for one journey. */
export class Session {
  constructor({ browser, base, viewport, artifacts, failures, journey }) {
    this.browser = browser;
    this.base = base;
    this.viewport = viewport;
    this.failures = failures;
    this.journey = journey;
    this.dir = join(artifacts, viewport.name);
    mkdirSync(this.dir, { recursive: true });
    this.step = 0;
    this.bytes = 0;
    this.pending = [];
    this.pagesChecked = 0;
  }

  async open() {
    this.context = await this.browser.newContext({
      viewport: { width: this.viewport.width, height: this.viewport.height },
      isMobile: this.viewport.mobile,
      hasTouch: this.viewport.mobile,
      locale: 'vi-VN',
      acceptDownloads: true,
    });
    this.p = await this.context.newPage();
    const cdp = await this.context.newCDPSession(this.p);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const origin = new URL(this.base).origin;
    this.p.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) {
        this.failures.add(this.where(), `request to another host: ${url}`);
      }
      if (req.isNavigationRequest() && req.frame() === this.p.mainFrame()) {
        this.bytes = 0;
        this.pending = [];
      }
    });
    this.p.on('requestfinished', (req) => {
      this.pending.push(
        req.sizes().then((s) => {
          this.bytes += s.responseBodySize + s.responseHeadersSize;
        }, () => {}),
      );
    });
    this.p.on('pageerror', (e) => this.failures.add(this.where(), `script error: ${e.message}`));
    return this;
  }

  async close() {
    await this.context.close();
  }

  where() {
    return `[${this.viewport.name}] ${this.journey}`;
  }

  async goto(path) {
    const res = await this.p.goto(this.base + path);
    if (!res || res.status() >= 400) {
      throw new Error(`${path} answered ${res ? res.status() : 'nothing'}`);
    }
    return res;
  }

  /** The checks of every page, then a screenshot named after the step. */
  async page(name) {
    await this.p.waitForLoadState('load');
    this.step += 1;
    this.pagesChecked += 1;
    const where = `${this.where()} · ${name} (${this.p.url().replace(this.base, '')})`;
    await Promise.all(this.pending);
    if (this.bytes > MAX_PAGE_BYTES) {
      this.failures.add(where, `${this.bytes} bytes on first load (at most ${MAX_PAGE_BYTES})`);
    }
    const layout = await this.p.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      width: document.documentElement.clientWidth,
      lang: document.documentElement.lang,
      switcher: document.querySelector('a.lang')?.getAttribute('href') ?? null,
    }));
    if (layout.scroll > layout.width) {
      this.failures.add(where, `scrolls sideways (${layout.scroll}px wide in ${layout.width}px)`);
    }
    if (!['vi', 'en'].includes(layout.lang)) {
      this.failures.add(where, `html lang is ${JSON.stringify(layout.lang)}`);
    }
    if (layout.switcher === null) {
      this.failures.add(where, 'no vi/en switch');
    }
    if (!(await this.p.evaluate(() => typeof window.axe !== 'undefined'))) {
      await this.p.evaluate(AXE_SOURCE);
    }
    const result = await this.p.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
      AXE_TAGS,
    );
    for (const v of result.violations) {
      const targets = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ');
      this.failures.add(where, `axe ${v.id} (${v.impact}): ${v.help} — ${targets}`);
    }
    const file = `${this.journey}-${String(this.step).padStart(2, '0')}-${name}.png`;
    await this.p.screenshot({ path: join(this.dir, file), fullPage: true });
  }

  // Keyboard only: every control is reached with Tab from where focus is, as a person
  // without a mouse would, and operated with keys.

  async tabTo(selector, max = 120) {
    for (let i = 0; i < max; i += 1) {
      await this.p.keyboard.press('Tab');
      const hit = await this.p.evaluate(
        (sel) => document.activeElement !== null && document.activeElement.matches(sel),
        selector,
      );
      if (hit) return;
    }
    throw new Error(`${selector} cannot be reached with the Tab key on ${this.p.url()}`);
  }

  /** Starts keyboard travel from the top of the page. */
  async fromTop() {
    await this.p.evaluate(() => {
      document.activeElement?.blur();
      window.getSelection()?.removeAllRanges();
    });
    await this.p.focus('body').catch(() => {});
  }

  async type(selector, text) {
    await this.tabTo(selector);
    await this.p.keyboard.press('Control+A');
    await this.p.keyboard.press('Delete');
    if (text.length > 0) await this.p.keyboard.type(text);
  }

  /** Picks the option whose value is `value` with the arrow keys. */
  async choose(selector, value) {
    await this.tabTo(selector);
    const options = await this.p.$$eval(`${selector} option`, (os) => os.map((o) => o.value));
    const target = options.indexOf(value);
    if (target < 0) throw new Error(`${selector} has no option ${value} (has ${options.join(', ')})`);
    await this.p.keyboard.press('Home');
    for (let i = 0; i < target; i += 1) await this.p.keyboard.press('ArrowDown');
    const got = await this.p.$eval(selector, (s) => s.value);
    if (got !== value) throw new Error(`${selector}: arrow keys chose ${got}, not ${value}`);
  }

  async check(selector) {
    await this.tabTo(selector);
    if (!(await this.p.$eval(selector, (c) => c.checked))) await this.p.keyboard.press('Space');
  }

  /** Presses Enter on a button or link and waits for the page it leads to. */
  async press(selector) {
    await this.tabTo(selector);
    await Promise.all([this.p.waitForNavigation(), this.p.keyboard.press('Enter')]);
  }

  async text(selector) {
    return (await this.p.textContent(selector)) ?? '';
  }

  /** An error shown for a field must be tied to it and say what to change. */
  async fieldError(field) {
    const tied = await this.p.$eval(field, (el) => {
      const ids = (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
      const texts = ids
        .map((id) => document.getElementById(id))
        .filter((e) => e !== null && e.classList.contains('error'))
        .map((e) => e.textContent.trim());
      return { invalid: el.getAttribute('aria-invalid'), texts };
    });
    if (tied.invalid !== 'true' || tied.texts.length === 0 || tied.texts[0].length < 10) {
      this.failures.add(this.where(), `${field}: its error is not tied to it (${JSON.stringify(tied)})`);
    }
    return tied.texts[0] ?? '';
  }
}

export function expect(cond, what) {
  if (!cond) throw new Error(what);
}
