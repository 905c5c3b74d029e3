// The playground in a real browser: headless Chromium (the distribution's
// package; `$CHROMIUM` names another) driven through the DevTools protocol
// by puppeteer-core, on the playground site (`site.mjs`, what `bash
// .ci/site` publishes) built into a scratch folder and served by the
// README's `python3 -m http.server` on a free loopback port (stopped by its
// PID); and the same site opened as a file, which must say why it cannot
// start instead of showing a blank page. It loads an export through the URL fragment,
// expects the native linter's findings at their lines, highlighted, applies
// a one-click fix, reads a rule page, explains an origin and evaluates
// requests — with every request of the page answered by the local server
// (no network). It saves a screenshot; `BLESS=1` also writes it to
// `playground/screenshot.png`, the one the README shows.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSite } from '../site.mjs';
import { after, before, test } from 'node:test';
import puppeteer from 'puppeteer-core';
import { chromium, root, runNative } from './helpers.mjs';

/** A free loopback port. */
async function freePort() {
  const s = createNetServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/**
 * The README's server, `python3 -m http.server --bind 127.0.0.1 -d
 * dist/site 8000`, on the scratch site and a free port; ready once it
 * answers (polled, with a generous bound: no sleep decides anything).
 */
async function serve(dir) {
  const port = await freePort();
  const child = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '-d', dir, String(port)], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 1200; i++) {
    if (child.exitCode !== null) throw new Error(`python3 -m http.server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return { child, port };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error('python3 -m http.server did not answer within a minute');
}


const b64url = (text) => Buffer.from(text, 'utf8').toString('base64url');

let server;
let browser;
let base;
let site;
const offsite = [];

before(async () => {
  site = mkdtempSync(join(tmpdir(), 'scapi-site-'));
  buildSite(site);
  server = await serve(site);
  base = `http://127.0.0.1:${server.port}`;
  browser = await puppeteer.launch({
    executablePath: chromium(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  // The browser's process is gone once close resolves; the server is
  // ours, stopped by its PID.
  server?.child.kill();
  if (site) rmSync(site, { recursive: true, force: true });
});

async function open(fragment, { width = 1400, height = 900 } = {}) {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    const url = r.url();
    if (url.startsWith(base) || url.startsWith('data:')) {
      r.continue();
    } else {
      offsite.push(url);
      r.abort();
    }
  });
  await page.goto(`${base}/playground/#${fragment}`, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready=true]', { timeout: 20_000 });
  return { page, errors };
}

const problems = (page) =>
  page.$$eval('#problems li.problem', (lis) => lis.map((li) => ({ code: li.dataset.code, line: Number(li.dataset.line) })));

test('the playground lints an export from the link, fixes it and explains it', async () => {
  const exportText = readFileSync(join(root, 'examples', 'broken.cfg'), 'utf8');
  const requests = readFileSync(join(root, 'examples', 'requests.jsonl'), 'utf8');
  const { page, errors } = await open(`export=${b64url(exportText)}&format=cfg&requests=${b64url(requests)}`);

  // Every finding the native linter reports, at its line.
  const native = JSON.parse(runNative(['lint', '--format', 'json', 'broken.cfg'], join(root, 'examples')));
  assert.deepEqual(await problems(page), native.diagnostics.map((d) => ({ code: d.code, line: d.line })));
  // Highlighted in the editor, and marked in the gutter on their lines.
  assert.ok((await page.$$('#backdrop mark.error')).length > 0);
  const gutter = await page.$$eval('#gutter span', (s) => s.map((e) => Number(e.dataset.line)));
  assert.deepEqual(gutter, [...new Set(native.diagnostics.map((d) => d.line))].sort((a, b) => a - b));
  assert.match(await page.$eval('#counts', (e) => e.textContent), /compile refuses it/);

  // One click on the fix of `Key2` listed twice (line 10).
  const before = await page.$eval('#text', (t) => t.value);
  const fix = await page.$('#problems li[data-code=SC0401] button.fix');
  assert.ok(fix, 'SC0401 has a fix button');
  await fix.click();
  await page.waitForFunction(() => !document.querySelector('#problems li[data-code=SC0401]'));
  const after = await page.$eval('#text', (t) => t.value);
  assert.equal(after.split('\n')[9], 'service-client-api.user-data.read-allowed=Key1, Key2,');
  assert.equal(after.replace('Key1, Key2,', 'Key1, Key2, Key2,'), before);
  // The link now holds the fixed text.
  const hash = new URLSearchParams(await page.evaluate(() => location.hash.slice(1)));
  assert.equal(Buffer.from(hash.get('export'), 'base64url').toString('utf8'), after);

  // A rule's page, from its code.
  await page.click('#problems li[data-code=SC0109] a.rule-code');
  await page.waitForSelector('[data-panel=rule]:not([hidden]) h2');
  assert.match(await page.$eval('#rule h2', (h) => h.textContent), /SC0109/);

  // The shipped export: it compiles; explain an origin; evaluate requests.
  await page.select('#example', 'clean');
  await page.waitForFunction(() => document.querySelector('#counts').textContent.includes('compiles'));
  await page.click('[data-tab=explain]');
  await page.$eval('#origin', (i) => {
    i.value = 'https://dialer.example.com';
  });
  await page.click('#explain-form button');
  await page.waitForSelector('#explain tbody tr');
  assert.match(await page.$eval('#explain-head', (e) => e.textContent), /accepted by entry/);
  const dial = await page.$$eval('#explain tbody tr', (rows) =>
    rows.map((r) => [...r.cells].map((c) => c.textContent)).find((c) => c[0] === 'voice.dial'),
  );
  assert.deepEqual(dial.slice(0, 3), ['voice.dial', 'enabled', '10/min']);
  await page.click('[data-tab=requests]');
  const outcomes = await page.$$eval('#decisions tbody tr .pill', (p) => p.map((e) => e.textContent));
  const expected = JSON.parse(runNative(['eval', 'wwews-cluster.cfg', 'requests.jsonl', '--format', 'json'], join(root, 'examples')));
  assert.deepEqual(outcomes, expected.decisions.map((d) => d.outcome));

  // Back to the findings of the broken export for the screenshot.
  await page.goto(`${base}/playground/#export=${b64url(exportText)}&format=cfg`);
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('body[data-ready=true]');
  const shot = join(root, 'target', 'playground', 'screenshot.png');
  mkdirSync(join(root, 'target', 'playground'), { recursive: true });
  await page.screenshot({ path: shot });
  if (process.env.BLESS) copyFileSync(shot, join(root, 'playground', 'screenshot.png'));

  assert.deepEqual(errors, []);
  assert.deepEqual(offsite, [], 'the page asked the network');
  await page.close();
});

for (const [width, height] of [[800, 600], [1280, 720], [1920, 1080]]) {
  test(`at ${width} px wide, a fix button is on top and its click fixes`, async () => {
    const exportText = readFileSync(join(root, 'examples', 'broken.cfg'), 'utf8');
    const { page, errors } = await open(`export=${b64url(exportText)}&format=cfg`, { width, height });
    const fix = await page.$('#problems li[data-code=SC0401] button.fix');
    assert.ok(fix, 'SC0401 has a fix button');
    await fix.scrollIntoView();
    // What a click at the button's centre reaches is the button, not the
    // editor laid over it.
    const onTop = await fix.evaluate((b) => {
      const r = b.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return hit === b || b.contains(hit);
    });
    assert.ok(onTop, 'the fix button is not covered');
    await fix.click();
    await page.waitForFunction(() => !document.querySelector('#problems li[data-code=SC0401]'), { polling: 50 });
    assert.equal((await page.$eval('#text', (t) => t.value)).split('\n')[9], 'service-client-api.user-data.read-allowed=Key1, Key2,');
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('a link with a bad fragment opens an empty editor, not an error', async () => {
  const { page, errors } = await open('export=%%%&format=nope');
  assert.equal(await page.$eval('#text', (t) => t.value), '');
  assert.equal(await page.$eval('#format', (s) => s.value), '');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the site opened as a file says why it cannot start, not a blank page', async () => {
  const page = await browser.newPage();
  await page.goto(pathToFileURL(join(site, 'playground', 'index.html')).href, { waitUntil: 'load' });
  await page.waitForSelector('#cannot-start:not([hidden])', { timeout: 20_000 });
  const text = await page.$eval('#cannot-start', (e) => e.textContent);
  assert.match(text, /cannot start/);
  assert.match(text, /opened as a file/);
  assert.match(text, /static file server/);
  await page.close();
});

test('the site leads from its root to the playground', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/`, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready=true]', { timeout: 20_000 });
  assert.equal(new URL(page.url()).pathname, '/playground/');
  assert.equal(await page.$eval('#cannot-start', (e) => e.hidden), true);
  await page.close();
});

test('in Chromium, a reload keeps counters and only a signed policy loads with keys', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/playground/`, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready=true]', { timeout: 20_000 });
  const dir = join(root, 'tests', 'cases', 'cli', 'verify-valid', 'tmp');
  const text = readFileSync(join(dir, 'policy.json'), 'utf8');
  const signature = readFileSync(join(dir, 'policy.json.sig'), 'utf8');
  const keys = readdirSync(join(dir, 'keys')).map((f) => readFileSync(join(dir, 'keys', f), 'utf8'));
  const next = readFileSync(join(root, 'examples', 'reload', 'next.json'), 'utf8');
  const result = await page.evaluate(
    async (text, signature, keys, next) => {
      const { PolicyHandle, loadSignedPolicy } = await import('../bindings/npm/index.js');
      const codeOf = (p) => p.then(() => 'loaded', (e) => e.code);
      const T = Date.UTC(2026, 11, 1, 10, 0, 0);
      const handle = new PolicyHandle(await loadSignedPolicy(text, signature, keys));
      const admit = (t) => handle.current().limiter.admit('a', 'voice.dial', t).admission;
      const before = [admit(T), admit(T + 1), admit(T + 2)];
      handle.reload(next); // 2 → 4 a minute, in the same window
      const after = [admit(T + 3), admit(T + 4)];
      return {
        before,
        after,
        altered: await codeOf(loadSignedPolicy(`${text} `, signature, keys)),
        unsigned: await codeOf(loadSignedPolicy(text, null, keys)),
        generation: handle.current().generation,
      };
    },
    text,
    signature,
    keys,
    next,
  );
  // Limited at the third, then quarantined: the reload lifts nothing.
  assert.deepEqual(result.before, ['admitted', 'admitted', 'limited']);
  assert.deepEqual(result.after, ['ignored', 'ignored']);
  assert.equal(result.altered, 'altered');
  assert.equal(result.unsigned, 'unsigned');
  assert.equal(result.generation, 1);
  await page.close();
});
