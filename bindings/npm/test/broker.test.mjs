// The browser broker in real Chromium, with real origins: the README's
// recipe (examples/browser-broker: its server, host page and application
// page, unchanged) serves an agent desktop and its applications on
// distinct HTTPS origins of one loopback port (and an `http:` one of
// another) — host names mapped by Chromium's `--host-resolver-rules`, an
// IDN host among them — and the
// tests drive the applications' frames through the DevTools protocol
// (puppeteer-core). The origins Chromium serialises are the ground truth:
// every decision the page made is replayed by the native `scapi eval`.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import puppeteer from 'puppeteer-core';
import { chromium, nativeScapi, root } from './helpers.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'scapi-broker-'));
let port;
let plainPort;
let server;
let browser;
const at = (host, scheme = 'https') => `${scheme}://${host}:${scheme === 'https' ? port : plainPort}`;
let desktop;
let origins;

// Waits poll on an interval: a tab in the background paints no frames, so
// puppeteer's default (at each animation frame) would never look again.
const poll = { polling: 50, timeout: 60_000 };

/** A free loopback port (the server then binds it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
}

before(async () => {
  port = await freePort();
  plainPort = await freePort();
  desktop = at('desktop.test');
  origins = {
    crm: at('crm.example.com'),
    // `dialer.bücher.example`, as the browser serialises it.
    dialer: at('dialer.xn--bcher-kva.example'),
    tickets: at('tickets.example.org'),
    lookalike: at('crm.example.com.evil.test'),
    downgrade: at('crm.example.com', 'http'),
  };
  // The export: the CRM may do anything but is limited to 3 dials a
  // minute and then ignored for the session; the dialer is shown as a tab;
  // any other site may ask for its allowed services (so that a sandboxed
  // frame meets `*`).
  writeFileSync(
    join(scratch, 'wwews-cluster.cfg'),
    [
      '[interaction-workspace]',
      `service-client-api.accepted-web-content-origins=${origins.crm} (*), ${origins.dialer} (voice.dial, agent.getState), ${origins.tickets} (agent.getState, interaction.setUserData), * (system.getAllowedServices)`,
      'service-client-api.rate-limit.voice.dial=3',
      'service-client-api.rate-limit-quarantine-delay=0',
      'service-client-api.user-data.read-allowed=AccountNumber, CaseId',
      'service-client-api.user-data.write-allowed=CaseId',
      '',
    ].join('\n'),
  );
  execFileSync(nativeScapi(), ['compile', 'wwews-cluster.cfg', '-o', 'policy.json'], { cwd: scratch, stdio: 'ignore' });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=scapi test',
    '-days', '2', '-keyout', 'key.pem', '-out', 'cert.pem'], { cwd: scratch, stdio: 'ignore' });
  writeFileSync(
    join(scratch, 'desktop.json'),
    JSON.stringify({
      listen: port,
      plainListen: plainPort,
      desktop,
      session: 'agent-7',
      policy: 'policy.json',
      tls: { cert: 'cert.pem', key: 'key.pem' },
      apps: [
        { name: 'CRM', origin: origins.crm, frame: 'embedded' },
        { name: 'Dialer', origin: origins.dialer, frame: 'tab' },
        { name: 'Tickets', origin: origins.tickets, frame: 'embedded' },
      ],
    }),
  );
  server = spawn(process.execPath, [join(root, 'examples', 'browser-broker', 'server.mjs'), join(scratch, 'desktop.json')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    server.once('exit', (code) => reject(new Error(`the example's server exited with ${code}`)));
    server.stdout.once('data', resolve);
  });
  browser = await puppeteer.launch({
    executablePath: chromium(),
    headless: true,
    acceptInsecureCerts: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-dev-shm-usage',
      '--ignore-certificate-errors',
      // Every name is this machine: the origins differ, the server is one.
      '--host-resolver-rules=MAP * 127.0.0.1',
      // Cross-site frames in the page's process: origins and postMessage
      // are the same, and the DevTools protocol reaches every frame at
      // once (an out-of-process frame's target can attach late).
      '--disable-site-isolation-trials',
      '--disable-features=IsolateOrigins,site-per-process',
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  rmSync(scratch, { recursive: true, force: true });
});

/** Opens the desktop in a new tab (of `context`); resolves once its applications can call. */
async function openDesktop(context = browser) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => process.env.DEBUG_BROKER && console.error('console:', m.text(), m.location()?.url));
  await page.goto(`${desktop}/`);
  await page.waitForFunction(() => globalThis.scapiBroker !== undefined, poll);
  const frames = {};
  for (const [name, origin] of [['crm', origins.crm], ['dialer', origins.dialer], ['tickets', origins.tickets]]) {
    frames[name] = await frameAt(page, origin);
  }
  return { page, frames, errors };
}

/** The frame of `page` showing `origin`'s application, once it can call. */
async function frameAt(page, origin, which = () => true) {
  // A frame's object may be replaced while it loads (an out-of-process
  // frame takes over): ask again until one answers.
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const frame of page.frames().filter((f) => f.url().startsWith(`${origin}/app.html`) && which(f))) {
      if (await frame.evaluate(() => typeof window.call === 'function').catch(() => false)) return frame;
    }
    if (Date.now() > deadline) {
      const states = await Promise.all(page.frames().map(async (f) => `${f.url()} ${await f.evaluate(() => `${document.readyState} ${typeof window.call}`).catch((e) => e.message)}`));
      throw new Error(`no application of ${origin} in the page; its frames: ${states.join('; ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The frame of the desktop page's iframe `id`, once it can call. */
async function frameOf(page, id) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const frame = await page.$(`#${id}`).then((e) => e?.contentFrame());
    if (frame && (await frame.evaluate(() => typeof window.call === 'function').catch(() => false))) return frame;
    if (Date.now() > deadline) throw new Error(`the frame ${id} never could call`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Groups `list` by `key`: the lengths of the groups. */
function groupSizes(list, key) {
  const sizes = new Map();
  for (const item of list) sizes.set(key(item), (sizes.get(key(item)) ?? 0) + 1);
  return [...sizes.values()];
}

/** Adds an iframe of `src` to the desktop page (not registered); its element's id. */
async function addFrame(page, src, { sandbox, register } = {}) {
  const id = `extra-${Math.random().toString(36).slice(2)}`;
  await page.evaluate(
    (id, src, sandbox, register) => {
      const iframe = document.createElement('iframe');
      iframe.id = id;
      if (sandbox) iframe.setAttribute('sandbox', sandbox);
      iframe.src = `${src}?desktop=${encodeURIComponent(location.origin)}`;
      document.body.append(iframe);
      if (register) globalThis.scapiBroker.register(iframe, register);
    },
    id,
    src,
    sandbox ?? null,
    register ?? null,
  );
  return id;
}

/** Sends a request from `frame` without waiting for an answer. */
function post(frame, request, parameters = {}, extra = {}) {
  return frame.evaluate((r, p, e) => {
    window.call(r, p, e);
  }, request, parameters, extra);
}

/** Sends a request from `frame` and waits for its answer. */
function ask(frame, request, parameters = {}, extra = {}) {
  return frame.evaluate((r, p, e) => window.call(r, p, e), request, parameters, extra);
}

/** The broker's reports so far. */
const reports = (page) => page.evaluate(() => JSON.parse(JSON.stringify(globalThis.scapiReports)));

/** Waits until the broker has looked at `n` messages in all. */
async function looked(page, n) {
  try {
    await page.waitForFunction((n) => globalThis.scapiReports.length >= n, poll, n);
  } catch (e) {
    throw new Error(`the broker looked at fewer than ${n} messages: ${JSON.stringify(await reports(page))}`, { cause: e });
  }
  return reports(page);
}

/**
 * What `frame` (of element `id` in the desktop page) received until now:
 * the desktop posts it a marker, which arrives after every answer posted
 * before it (messages from one window to another keep their order).
 */
async function receivedBy(page, id, frame) {
  const marker = `marker-${Math.random()}`;
  await page.evaluate((id, marker) => document.getElementById(id).contentWindow.postMessage({ marker }, '*'), id, marker);
  await frame.waitForFunction((marker) => window.received.some((m) => m?.marker === marker), poll, marker);
  return frame.evaluate((marker) => window.received.filter((m) => m?.marker === undefined && m?.event === undefined), marker);
}

/** Replays decided reports with the native `scapi eval`; its decisions. */
function nativeDecisions(decided, name) {
  const lines = decided.map((r) => {
    const item = { at: new Date(r.at).toISOString(), origin: r.origin, request: r.request, client: r.client, frame: r.frame };
    // The keys the request carried (the report never has a value).
    if (r.keys && r.request === 'interaction.deleteUserData') item.keys = r.keys;
    else if (r.keys) item.userData = Object.fromEntries(r.keys.map((k) => [k, '']));
    return JSON.stringify(item);
  });
  const file = join(scratch, `${name}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const out = JSON.parse(execFileSync(nativeScapi(), ['eval', 'policy.json', file, '--format', 'json'], { cwd: scratch }).toString());
  return out.decisions;
}

/** Asserts that every decided report equals the native replay of the same trace. */
function assertNative(reported, name) {
  // In the order the session's worker decided them.
  const decided = [...reported].sort((a, b) => a.verdict.seq - b.verdict.seq);
  const native = nativeDecisions(decided, name);
  assert.equal(native.length, decided.length);
  decided.forEach((r, i) => {
    const n = native[i];
    assert.deepEqual(
      [r.origin, r.request, r.verdict.outcome, r.verdict.reason, r.verdict.entry?.line ?? null],
      [r.origin, r.request, n.outcome, n.reason, n.entry?.line ?? null],
      `decision ${i} (${r.origin} ${r.request})`,
    );
  });
}

test('registered applications on their own origins get answers, filtered and limited as the policy says', async () => {
  const { page, frames, errors } = await openDesktop();
  // The CRM reads the agent's state; its attached data is written only
  // where `write-allowed` says, the rest never reaching the desktop.
  const state = await ask(frames.crm, 'agent.getState');
  assert.deepEqual(state, { request: 'agent.getState', status: 'done', result: { state: 'READY' }, protocolVersion: 2, referenceId: 0 });
  const write = await ask(frames.crm, 'interaction.setUserData', { interactionId: '1', userData: { CaseId: 'c', AccountNumber: '9' } });
  assert.equal(write.status, 'done');
  assert.deepEqual(write.result, { written: ['CaseId'] });
  // The dialer is shown as a tab: it dials, and nothing else.
  assert.equal((await ask(frames.dialer, 'voice.dial', { destination: '5001' })).status, 'done');
  const tab = await ask(frames.dialer, 'agent.getState');
  assert.equal(tab.status, 'fail');
  assert.match(tab.result.errorMessage, /shown in a tab/);
  // The tickets application may not delete, and may write no key but CaseId.
  assert.equal((await ask(frames.tickets, 'interaction.deleteUserData', { keys: ['CaseId'] })).status, 'fail');
  const nothing = await ask(frames.tickets, 'interaction.setUserData', { userData: { AccountNumber: '1' } });
  assert.equal(nothing.status, 'fail');
  assert.match(nothing.result.errorMessage, /no attached data/);
  // A spoofed origin in the message changes nothing: the tickets
  // application is decided as itself.
  const spoof = await ask(frames.tickets, 'voice.dial', {}, { origin: origins.crm, frameId: 'CRM' });
  assert.equal(spoof.status, 'fail');
  const all = await looked(page, 7);
  const decided = all.filter((r) => r.kind === 'decided');
  assert.equal(decided.length, 7);
  assert.deepEqual(decided.map((r) => r.origin), [origins.crm, origins.crm, origins.dialer, origins.dialer, origins.tickets, origins.tickets, origins.tickets]);
  assert.equal(decided[6].verdict.reason, 'request-not-permitted');
  assertNative(decided, 'allowed');
  // Events reach each application redacted to the keys it may read.
  const notified = await page.evaluate(() => globalThis.scapiBroker.notify({
    event: 'interaction',
    data: { eventType: 'ATTACHED_DATA_CHANGED', interaction: { userData: { AccountNumber: '42', CaseId: 'c-1', IW_BundleUid: 'b-7' } } },
  }));
  assert.equal(notified, 3);
  await frames.crm.waitForFunction(() => window.received.some((m) => m.event === 'interaction'), poll);
  const event = await frames.crm.evaluate(() => window.received.find((m) => m.event === 'interaction'));
  assert.deepEqual(event.data.interaction.userData, { AccountNumber: '42', CaseId: 'c-1' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('attacks are refused: look-alike, downgrade, sandboxed, unregistered, navigated frames and floods', async () => {
  const context = await browser.createBrowserContext();
  const { page, frames, errors } = await openDesktop(context);
  let n = 0;
  const seen = [];
  // An unregistered frame of an allowed origin: dropped unread, no answer.
  const stray = await addFrame(page, `${origins.crm}/app.html`);
  const strayFrame = await frameOf(page, stray);
  await post(strayFrame, 'voice.dial');
  let all = await looked(page, ++n);
  assert.deepEqual([all.at(-1).kind, all.at(-1).why], ['dropped', 'unregistered-source']);
  assert.deepEqual(await receivedBy(page, stray, strayFrame), []);
  seen.push([origins.crm, 'voice.dial']);

  // A look-alike suffix origin, registered as itself: no grant of the CRM.
  const lookalike = await addFrame(page, `${origins.lookalike}/app.html`, { register: origins.lookalike });
  const lookalikeFrame = await frameOf(page, lookalike);
  const refused = await ask(lookalikeFrame, 'voice.dial');
  assert.equal(refused.status, 'fail');
  all = await looked(page, ++n);
  assert.deepEqual([all.at(-1).verdict.outcome, all.at(-1).verdict.reason], ['deny', 'request-not-permitted']);
  seen.push([origins.lookalike, 'voice.dial']);

  // A sandboxed frame serving the CRM's page: its origin is `null`, which
  // is not the CRM's, and `*` does not take it either.
  const sandboxed = await addFrame(page, `${origins.crm}/app.html`, { sandbox: 'allow-scripts', register: origins.crm });
  const sandboxedFrame = await frameOf(page, sandboxed);
  await post(sandboxedFrame, 'system.getAllowedServices');
  all = await looked(page, ++n);
  assert.deepEqual([all.at(-1).kind, all.at(-1).why, all.at(-1).origin], ['dropped', 'origin-mismatch', 'null']);
  assert.deepEqual(await receivedBy(page, sandboxed, sandboxedFrame), []);
  seen.push(['null', 'system.getAllowedServices']);

  // An `http:` downgrade of the CRM (a popup: an https page may not frame
  // http), registered as the https CRM: dropped; as itself: not accepted.
  const popupTarget = new Promise((resolve) => browser.once('targetcreated', resolve));
  await page.evaluate((url) => {
    globalThis.popup = window.open(url);
    globalThis.scapiBroker.register(globalThis.popup, new URL(url).origin.replace('http:', 'https:'));
  }, `${origins.downgrade}/app.html?desktop=${encodeURIComponent(desktop)}`);
  const popup = await (await popupTarget).page();
  await popup.waitForFunction(() => typeof window.call === 'function', poll);
  await popup.evaluate(() => {
    window.call('voice.dial');
  });
  all = await looked(page, ++n);
  assert.deepEqual([all.at(-1).why, all.at(-1).origin], ['origin-mismatch', origins.downgrade]);
  await page.evaluate((o) => globalThis.scapiBroker.register(globalThis.popup, o), origins.downgrade);
  await popup.evaluate(() => {
    window.call('voice.dial');
  });
  all = await looked(page, ++n);
  assert.deepEqual([all.at(-1).kind, all.at(-1).verdict.reason, all.at(-1).replied], ['decided', 'request-not-permitted', 'fail']);
  seen.push([origins.downgrade, 'voice.dial']);
  await popup.close();

  // A flood past the limit: 3 dials answered, one error result, then
  // silence (the quarantine lasts the session).
  const crmId = await page.evaluate(() => document.querySelector('iframe[name=CRM]').id || (document.querySelector('iframe[name=CRM]').id = 'crm'));
  for (let i = 0; i < 8; i++) await post(frames.crm, 'voice.dial', { destination: String(i) });
  all = await looked(page, (n += 8));
  // Reports come as each message is done with; the session's worker
  // decided them in the order `seq` says.
  const flood = all.slice(-8).sort((a, b) => a.verdict.seq - b.verdict.seq);
  // Replies carry the frame's `referenceId`: an admitted dial is answered
  // when the host has acted, which may be after the later error reply.
  const answers = (await receivedBy(page, crmId, frames.crm)).sort((a, b) => a.referenceId - b.referenceId);
  const admitted = flood.filter((r) => r.verdict.admission === 'admitted').length;
  // Fixed windows: a flood across a minute's end may admit some in each, never more than 3 in one.
  const perWindow = groupSizes(flood.filter((r) => r.verdict.admission === 'admitted'), (r) => Math.floor(r.at / 60000));
  assert.ok(perWindow.every((n) => n <= 3), 'at most 3 per window');
  assert.deepEqual(answers.map((a) => a.status), [...Array(admitted).fill('done'), 'fail']);
  assert.equal(answers.at(-1).result.errorMessage, "The rate limit for the request 'voice.dial' has been reached.\nFurther requests of the same type will be ignored forever.");
  assert.ok(
    flood.slice(admitted + 1).every((r) => r.verdict.outcome === 'ignored' && r.replied === null),
    JSON.stringify(flood.map((r) => [r.request, r.verdict?.outcome, r.replied])),
  );
  assertNative(all.filter((r) => r.kind === 'decided'), 'attacks');

  // A registered frame navigated to another origin: its messages are
  // dropped, and nothing is sent to the new document.
  await page.evaluate((url) => {
    document.querySelector('iframe[name=Tickets]').src = url;
  }, `${origins.lookalike}/app.html?desktop=${encodeURIComponent(desktop)}`);
  const moved = await frameAt(page, origins.lookalike, (f) => f.name() === 'Tickets');
  await post(moved, 'agent.getState');
  all = await looked(page, ++n);
  assert.deepEqual([all.at(-1).why, all.at(-1).origin, all.at(-1).expected], ['origin-mismatch', origins.lookalike, origins.tickets]);
  seen.push([origins.lookalike, 'agent.getState']);

  // The origins Chromium serialised, decided by the page's policy and by
  // the native binary: the same, pair for pair.
  const inPage = await page.evaluate(async (pairs) => {
    const { loadPolicy } = await import('scapi/runtime');
    const policy = loadPolicy(await (await fetch('policy.json')).text());
    return pairs.map(([o, r]) => policy.check(o, r));
  }, seen);
  const native = nativeDecisions(seen.map(([origin, request], i) => ({ at: i * 1000, origin, request, client: 'check', frame: 'embedded' })), 'seen');
  assert.deepEqual(inPage.map((d) => [d.outcome, d.reason]), native.map((d) => [d.outcome, d.reason]));
  assert.ok(inPage.some((d) => d.reason === 'null-origin'));
  assert.deepEqual(errors, []);
  await context.close();
});

/** Opens `count` tabs of the desktop in a fresh browser context: one agent session. */
async function session(count) {
  const context = await browser.createBrowserContext();
  const tabs = [];
  for (let i = 0; i < count; i++) tabs.push(await openDesktop(context));
  return { context, tabs };
}

for (const count of [2, 3]) {
  test(`${count} tabs of one session share their counters, through an election`, async () => {
    const { context, tabs } = await session(count);
    for (const tab of tabs) {
      assert.equal(await tab.page.$eval('#counting', (e) => e.textContent), 'across the session\'s tabs');
    }
    // The CRM open in every tab dials twice from each: the session's 3
    // dials are shared, whatever tab they come from.
    for (const tab of tabs) {
      await ask(tab.frames.crm, 'agent.getState');
      for (let i = 0; i < 2; i++) await post(tab.frames.crm, 'voice.dial');
      await looked(tab.page, 3);
    }
    // The leader closes (its reports kept); the others follow on, with
    // the same counters, and so does a tab opened after.
    const decided = (await reports(tabs[0].page)).filter((r) => r.kind === 'decided');
    await tabs[0].page.close();
    const rest = tabs.slice(1);
    for (const tab of rest) {
      await post(tab.frames.crm, 'voice.dial');
      await looked(tab.page, 4);
    }
    const fresh = await openDesktop(context);
    await post(fresh.frames.crm, 'voice.dial');
    await looked(fresh.page, 1);
    for (const tab of [...rest, fresh]) decided.push(...(await reports(tab.page)).filter((r) => r.kind === 'decided'));
    // One worker decided them all, in the order `seq` gives.
    decided.sort((a, b) => a.verdict.seq - b.verdict.seq);
    assert.deepEqual(decided.map((r) => r.verdict.seq), decided.map((_, i) => i));
    const dials = decided.filter((r) => r.request === 'voice.dial');
    const admitted = dials.filter((r) => r.verdict.admission === 'admitted');
    const perWindow = groupSizes(admitted, (r) => Math.floor(r.at / 60000));
    assert.ok(perWindow.every((n) => n <= 3), 'at most 3 dials per window across the tabs');
    assert.ok(admitted.length < 2 * count, `${admitted.length} dials admitted of ${2 * count}`);
    // Every dial after the election is ignored: the quarantine lasts the session.
    const later = dials.slice(-count);
    assert.ok(later.every((r) => r.verdict.outcome === 'ignored'), JSON.stringify(later.map((r) => r.verdict.outcome)));
    // Replayed in the worker's order, the native runtime decides the same.
    assertNative(decided, `tabs-${count}`);
    for (const tab of [...rest, fresh]) assert.deepEqual(tab.errors, []);
    await context.close();
  });
}

test("the README's recipe is the host page's code, as the tests run it", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const from = readme.indexOf('The recipe, from [`examples/browser-broker/host.js`]');
  assert.ok(from > 0, 'the README shows the recipe');
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(from))?.[1];
  assert.ok(block && block.includes('new Broker('), 'the recipe is a js block');
  assert.ok(readFileSync(join(root, 'examples', 'browser-broker', 'host.js'), 'utf8').includes(block), 'host.js has the recipe verbatim');
});
