// The browser broker's rules on hostile messages, one by one, in Node:
// windows are plain objects that record what is posted to them (the
// broker asks nothing else of a window), the decider a real
// `PolicyHandle` on the reference page's policy. The same broker in real
// Chromium with real origins is `broker.test.mjs`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker, loadPolicy, PolicyHandle } from '../runtime.node.js';
import { root } from './helpers.mjs';

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
  // A window whose postMessage throws (a result that cannot be cloned):
  // reported, not a rejection.
  crm.postMessage = () => {
    throw new Error('DataCloneError');
  };
  const r2 = await broker.handleEvent(event(crm, CRM, { request: 'voice.dial' }));
  assert.deepEqual([r2.replied, r2.replyError], ['done', 'DataCloneError']);
  assert.equal(reports.length, 2);
});

test('the host sees only the attached data the application may write', async () => {
  const { broker, crm, performed } = setUp();
  await broker.handleEvent(event(crm, CRM, {
    request: 'interaction.setUserData',
    parameters: { interactionId: '1', userData: { CaseId: 'c', AccountNumber: 'a' }, keys: ['AccountNumber', 'CaseId'] },
  }));
  assert.deepEqual(performed[0].parameters, { interactionId: '1', userData: { CaseId: 'c' }, keys: ['CaseId'] });
  await broker.handleEvent(event(crm, CRM, { request: 'interaction.setUserData', parameters: { userData: new Map([['AccountNumber', 1], ['CaseId', 2]]) } }));
  assert.deepEqual([...performed[1].parameters.userData.keys()], ['CaseId']);
});

test('a write request without attached data, or with a __proto__ key, is refused', async () => {
  const { broker, crm, performed } = setUp();
  for (const parameters of [undefined, { interactionId: '1' }, { userData: undefined }]) {
    const r = await broker.handleEvent(event(crm, CRM, { request: 'interaction.deleteUserData', parameters }));
    assert.deepEqual([r.verdict.outcome, r.verdict.reason, r.replied], ['deny', 'no-writable-keys', 'fail']);
  }
  const r = await broker.handleEvent(event(crm, CRM, JSON.parse('{"request":"interaction.setUserData","parameters":{"__proto__":{"userData":{"AccountNumber":"x"}}}}')));
  assert.equal(r.kind, 'malformed');
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
