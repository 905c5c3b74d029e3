// The browser broker's rules on hostile messages, one by one, in Node:
// windows are plain objects that record what is posted to them (the
// broker asks nothing else of a window), the decider a real
// `PolicyHandle` on the reference page's policy. The same broker in real
// Chromium with real origins is `broker.test.mjs`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker, loadPolicy, PolicyHandle } from '../runtime.node.js';
import { nativeScapi, root } from './helpers.mjs';

const policyText = readFileSync(join(root, 'examples', 'browser-broker', 'policy.json'), 'utf8');
const CRM = 'http://crm.localhost:8400';
const TICKETS = 'http://tickets.localhost:8400';

/** A window that records what is posted to it, and to which origin. */
function windowStub() {
  const posted = [];
  return { posted, postMessage: (message, targetOrigin) => posted.push({ message, targetOrigin }) };
}

function setUp(options = {}) {
  const performed = [];
  const reports = [];
  const broker = new Broker(new PolicyHandle(loadPolicy(policyText)), {
    session: 'agent-1',
    onRequest: (r) => {
      performed.push(r);
      return options.result ?? { ok: true };
    },
    onReport: (r) => reports.push(r),
    now: () => 1_800_000_000_000,
  });
  const crm = windowStub();
  const tickets = windowStub();
  broker.register(crm, CRM, { name: 'CRM' });
  broker.register(tickets, TICKETS, { name: 'Tickets' });
  return { broker, crm, tickets, performed, reports };
}

const event = (source, origin, data) => ({ source, origin, data });

test('an allowed request is answered at the registered origin only, never "*"', async () => {
  const { broker, crm, performed } = setUp();
  const report = await broker.handleEvent(event(crm, CRM, { request: 'voice.dial', parameters: { destination: '1' }, referenceId: 7 }));
  assert.equal(report.replied, 'done');
  assert.equal(performed.length, 1);
  assert.deepEqual(crm.posted, [{ message: { request: 'voice.dial', status: 'done', result: { ok: true }, protocolVersion: 2, referenceId: 7 }, targetOrigin: CRM }]);
});

test('messages from another window, or another origin, are dropped unread', async () => {
  const { broker, crm, performed } = setUp();
  const stranger = windowStub();
  for (const [source, origin, why] of [[stranger, CRM, 'unregistered-source'], [crm, 'null', 'origin-mismatch'], [crm, TICKETS, 'origin-mismatch'], [null, CRM, 'unregistered-source']]) {
    const r = await broker.handleEvent(event(source, origin, { request: 'voice.dial', origin: CRM }));
    assert.deepEqual([r.kind, r.why], ['dropped', why]);
  }
  assert.deepEqual([crm.posted, stranger.posted, performed], [[], [], []]);
});

test('a reference the answer cannot carry is not echoed, and nothing rejects', async () => {
  const { broker, crm, reports } = setUp();
  const r = await broker.handleEvent(event(crm, CRM, { request: 'voice.dial', referenceId: { port: true } }));
  assert.equal(r.replied, 'done');
  assert.equal('referenceId' in crm.posted[0].message, false);
  // A result the window cannot clone: the frame is told it failed, the
  // report says why; nothing rejects.
  const post = crm.postMessage;
  let first = true;
  crm.postMessage = (m, o) => {
    if (first) {
      first = false;
      throw new Error('DataCloneError');
    }
    post(m, o);
  };
  const r2 = await broker.handleEvent(event(crm, CRM, { request: 'voice.dial' }));
  assert.deepEqual([r2.replied, r2.replyError, crm.posted.at(-1).message.status], ['fail', 'DataCloneError', 'fail']);
  // A host that throws what has no text, a report sink that rejects.
  const odd = new Broker(new PolicyHandle(loadPolicy(policyText)), {
    session: 's',
    onRequest: () => {
      throw Object.create(null);
    },
    onReport: async () => {
      throw new Error('sink down');
    },
  });
  const w = windowStub();
  odd.register(w, CRM);
  const r3 = await odd.handleEvent(event(w, CRM, { request: 'voice.dial' }));
  assert.deepEqual([r3.replied, w.posted[0].message.result.errorMessage], ['fail', 'error']);
  assert.equal(reports.length, 2);
});

test('the host sees only the attached data the application may write, in the field its request uses', async () => {
  const { broker, crm, performed } = setUp();
  await broker.handleEvent(event(crm, CRM, { request: 'interaction.setUserData', parameters: { interactionId: '1', userData: { CaseId: 'c', AccountNumber: 'a' } } }));
  assert.deepEqual(performed[0].parameters, { interactionId: '1', userData: { CaseId: 'c' } });
  await broker.handleEvent(event(crm, CRM, { request: 'interaction.setUserData', parameters: { userData: new Map([['AccountNumber', 1], ['CaseId', 2]]) } }));
  assert.deepEqual([...performed[1].parameters.userData.keys()], ['CaseId']);
  await broker.handleEvent(event(crm, CRM, { request: 'interaction.deleteUserData', parameters: { keys: ['AccountNumber', 'CaseId'] } }));
  assert.deepEqual(performed[2].parameters, { keys: ['CaseId'] });
  // Attached data in the field the request does not use: malformed, and
  // the host never sees it.
  for (const [request, parameters] of [
    ['interaction.deleteUserData', { keys: ['AccountNumber'], userData: { CaseId: 1 } }],
    ['interaction.deleteUserData', { userData: { CaseId: 1 } }],
    ['interaction.setUserData', { userData: { AccountNumber: 1 }, keys: ['CaseId'] }],
  ]) {
    const r = await broker.handleEvent(event(crm, CRM, { request, parameters }));
    assert.ok(r.malformed, `${request} ${JSON.stringify(parameters)}`);
    assert.equal(crm.posted.at(-1).message.status, 'fail');
  }
  assert.equal(performed.length, 3);
});

test('what goes back to the frame is redacted to read-allowed, done or fail', async () => {
  const broker = new Broker(new PolicyHandle(loadPolicy(policyText)), {
    session: 's',
    onRequest: ({ request }) => {
      const interaction = { interactionId: '1', userData: { AccountNumber: '1', CaseId: '2', SSN: '3' } };
      if (request === 'interaction.getByInteractionId') return { interaction };
      throw { errorMessage: 'conflict', interaction };
    },
  });
  const crm = windowStub();
  broker.register(crm, CRM);
  await broker.handleEvent(event(crm, CRM, { request: 'interaction.getByInteractionId', parameters: { interactionId: '1' } }));
  await broker.handleEvent(event(crm, CRM, { request: 'interaction.markdone', parameters: { interactionId: '1' } }));
  for (const { message } of crm.posted) {
    assert.deepEqual(message.result.interaction.userData, { AccountNumber: '1', CaseId: '2' }, JSON.stringify(message));
  }
  assert.deepEqual(crm.posted.map((p) => p.message.status), ['done', 'fail']);
});

test('a malformed request gets no answer where a well-formed one would get none', async () => {
  const { broker, crm } = setUp();
  for (let i = 0; i < 4; i++) await broker.handleEvent(event(crm, CRM, { request: 'voice.dial' }));
  const before = crm.posted.length;
  // In quarantine: silence, whatever the shape.
  for (const parameters of [{ userData: [1] }, JSON.parse('{"__proto__": {}}'), 5]) {
    const r = await broker.handleEvent(event(crm, CRM, { request: 'voice.dial', parameters }));
    assert.deepEqual([r.verdict.outcome, r.replied], ['ignored', null]);
  }
  // A name the runtime cannot take: no answer either.
  const r = await broker.handleEvent(event(crm, CRM, { request: 'x'.repeat(70_000) }));
  assert.deepEqual([r.kind, r.replied], ['malformed', null]);
  assert.equal(crm.posted.length, before);
});

test('a write request without attached data, or with a __proto__ key, is refused', async () => {
  const { broker, crm, performed } = setUp();
  for (const parameters of [undefined, { interactionId: '1' }, { userData: undefined }]) {
    for (const request of ['interaction.deleteUserData', 'interaction.setUserData']) {
      const r = await broker.handleEvent(event(crm, CRM, { request, parameters }));
      assert.deepEqual([r.verdict.outcome, r.verdict.reason, r.replied], ['deny', 'no-writable-keys', 'fail'], `${request} ${JSON.stringify(parameters)}`);
    }
  }
  const r = await broker.handleEvent(event(crm, CRM, JSON.parse('{"request":"interaction.setUserData","parameters":{"__proto__":{"userData":{"AccountNumber":"x"}}}}')));
  assert.ok(r.malformed);
  assert.equal(r.replied, 'fail');
  assert.deepEqual(performed, []);
});

test('a frame unregistered while its request is decided gets nothing done', async () => {
  const performed = [];
  const handle = new PolicyHandle(loadPolicy(policyText));
  let broker;
  const crm = windowStub();
  // A decider that answers later, like a session's worker.
  const slow = {
    decide: async (call) => {
      broker.unregister(crm);
      return handle.decide(call);
    },
    redact: async (e) => handle.redact(e),
  };
  broker = new Broker(slow, { session: 's', onRequest: (r) => performed.push(r) });
  broker.register(crm, CRM);
  const r = await broker.handleEvent(event(crm, CRM, { request: 'voice.dial' }));
  assert.deepEqual([r.withdrawn, r.replied, performed.length, crm.posted.length], [true, null, 0, 0]);
});

test('notifications are redacted, go to accepted registered frames, and skip one unregistered meanwhile', async () => {
  const { broker, crm, tickets } = setUp();
  const stranger = windowStub();
  broker.register(stranger, 'https://not-in-the-policy.example');
  const sent = await broker.notify({ event: 'interaction', data: { userData: { AccountNumber: '1', CaseId: '2', Secret: '3' } } });
  assert.equal(sent, 2);
  assert.deepEqual(crm.posted[0], { message: { protocolVersion: 2, event: 'interaction', data: { userData: { AccountNumber: '1', CaseId: '2' } } }, targetOrigin: CRM });
  assert.equal(tickets.posted[0].targetOrigin, TICKETS);
  assert.deepEqual(stranger.posted, []);
  const pending = broker.notify({ event: 'agent', data: {} });
  broker.unregister(crm);
  assert.equal(await pending, 1);
  assert.equal(crm.posted.length, 1);
});

test('registrations take origins as the browser writes them, and arguments are checked', () => {
  const { broker } = setUp();
  const w = windowStub();
  for (const origin of ['null', 'https://CRM.example.com', 'https://crm.example.com/', 'https://bücher.example', 'https://a.example:443', 'file:///x', 42]) {
    assert.throws(() => broker.register(w, origin), (e) => ['origin', 'usage'].includes(e.code), String(origin));
  }
  assert.throws(() => broker.register(w, CRM, { frame: 'popup' }), (e) => e instanceof TypeError && e.code === 'usage');
  assert.throws(() => new Broker({}, { session: 's', onRequest() {} }), (e) => e instanceof TypeError && e.code === 'usage');
  assert.throws(() => new Broker(new PolicyHandle(loadPolicy(policyText)), { onRequest() {} }), (e) => e.code === 'usage');
  assert.throws(() => new Broker(new PolicyHandle(loadPolicy(policyText)), { session: 's', onRequest() {}, extra: 1 }), (e) => e.code === 'usage');
});

/** Tabs of one session: the worker's file run here, each tab on a MessageChannel. */
async function sessionTabs() {
  globalThis.self ??= new EventTarget();
  await import('../session-worker.js');
  const { Session } = await import('../lib/session.js');
  return () => {
    const { port1, port2 } = new MessageChannel();
    globalThis.self.dispatchEvent(new MessageEvent('connect', { ports: [port1] }));
    return new Session(port2);
  };
}

test('a session verifies every load with the keys of its first signed one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scapi-session-'));
  try {
    writeFileSync(join(dir, 'policy.json'), policyText);
    execFileSync(nativeScapi(), ['keygen', 'keys'], { cwd: dir, stdio: 'ignore' });
    const key = readdirSync(join(dir, 'keys')).find((f) => f.endsWith('.key'));
    execFileSync(nativeScapi(), ['sign', 'policy.json', '--key', join('keys', key)], { cwd: dir, stdio: 'ignore' });
    const pub = readFileSync(join(dir, 'keys', key.replace('.key', '.pub')), 'utf8');
    const sig = readFileSync(join(dir, 'policy.json.sig'), 'utf8');
    const tab = await sessionTabs();
    const [a, b, c] = [tab(), tab(), tab()];
    // A wrong key list first pins nothing.
    await assert.rejects(c.load(policyText, sig, []), (e) => e.code === 'usage');
    // Unsigned first, then the same text signed: verified, and from then
    // on the keys hold for every tab.
    assert.equal(await a.load(policyText), 0);
    assert.equal(await b.load(policyText, sig, [pub]), 1);
    await assert.rejects(a.load(policyText.replace('"CaseId"', '"SSN"')), (e) => e.code === 'unsigned');
    await assert.rejects(a.load(`${policyText} `, sig, [pub]), (e) => e.code === 'altered');
    assert.equal(await c.load(policyText, sig, [pub]), 1);
    for (const s of [a, b, c]) s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
