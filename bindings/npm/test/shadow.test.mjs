// A broker's whole decision from JavaScript (`PolicyHandle.decide`): shadow
// mode, headroom, metrics, a candidate beside the active policy, and the
// decision log — the same numbers as the native `scapi eval --metrics` on
// the same trace (`examples/shadow`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PolicyHandle, loadPolicy } from '../runtime.js';
import { nativeScapi, root } from './helpers.mjs';

const dir = join(root, 'examples', 'shadow');

function compiled(file, ...flags) {
  return execFileSync(nativeScapi(), ['compile', ...flags, join(dir, file)], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

/** The requests of the example, as calls. */
function trace() {
  return readFileSync(join(dir, 'requests.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .map((r) => ({ origin: r.origin, request: r.request, client: r.client, userData: r.userData, at: Date.parse(r.at) }));
}

/** `name{labels} value` lines of a Prometheus text, as a map. */
function samples(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

test('the metrics of a trace equal the native ones, sample for sample', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'scapi-metrics-'));
  try {
    const shadowed = join(tmp, 'kb-shadow.json');
    execFileSync(nativeScapi(), ['compile', '--shadow-entry', 'https://kb.example.com', join(dir, 'active.cfg'), '-o', shadowed]);
    const prom = join(tmp, 'native.prom');
    execFileSync(nativeScapi(), [
      'eval', shadowed, join(dir, 'requests.jsonl'), '--format', 'json',
      '--candidate', join(dir, 'candidate.cfg'), '--near-limit-ratio', '0.5', '--metrics', prom,
    ], { stdio: ['ignore', 'ignore', 'ignore'] });
    const handle = new PolicyHandle(loadPolicy(readFileSync(shadowed, 'utf8')), { nearLimitRatio: 0.5 });
    handle.setCandidate(loadPolicy(compiled('candidate.cfg')));
    for (const call of trace()) handle.decide(call);
    const native = samples(readFileSync(prom, 'utf8'));
    const wasm = samples(handle.metricsText());
    assert.deepEqual([...wasm.entries()].sort(), [...native.entries()].sort());
    // The object holds the same numbers.
    const m = handle.metrics();
    for (const d of m.decisions) {
      assert.equal(
        native.get(`scapi_decisions_total{request="${d.request}",outcome="${d.outcome}",reason="${d.reason}",shadow="${d.shadow}"}`),
        d.count,
      );
    }
    assert.equal(m.compared, trace().length);
    assert.ok(m.disagreements.length > 0);
    assert.equal(m.nearLimitRatio, 0.5);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a shadow policy refuses nothing, and decides and counts as when enforcing', () => {
  const enforcing = new PolicyHandle(loadPolicy(compiled('candidate.cfg')));
  const shadow = new PolicyHandle(loadPolicy(compiled('candidate.cfg', '--shadow')));
  for (const call of trace()) {
    const e = enforcing.decide(call);
    const s = shadow.decide(call);
    assert.deepEqual([s.outcome, s.reason, s.admission], [e.outcome, e.reason, e.admission]);
    assert.equal(e.shadow, false);
    assert.equal(e.enforced, e.outcome);
    assert.equal(s.shadow, true);
    assert.equal(s.enforced, 'allow');
    assert.deepEqual(s.strip, []);
  }
});

test('decide gives headroom, strips keys, and logs every decision without values', () => {
  const records = [];
  const handle = new PolicyHandle(loadPolicy(compiled('active.cfg')), { decisionLog: (r) => records.push(r), salt: 'fleet' });
  const T = Date.UTC(2026, 11, 1, 10, 0, 30);
  const dial = (i) => handle.decide({ origin: 'https://crm.example.com', request: 'voice.dial', client: 'agent-9', at: T + i });
  assert.deepEqual([dial(0).remaining, dial(1).remaining, dial(2).remaining, dial(3).remaining], [3, 2, 1, 0]);
  const limited = dial(4);
  assert.equal(limited.outcome, 'rate-limited');
  assert.equal(limited.until, T + 4 + 60000);
  assert.equal(dial(5).resetAt, T + 4 + 60000);
  const write = handle.decide({
    origin: 'https://crm.example.com', request: 'interaction.setUserData', client: 'agent-9', at: T + 6,
    userData: { CaseId: 'C-SECRET-VALUE', Password: 'hunter2' },
  });
  assert.equal(write.outcome, 'allow');
  assert.deepEqual(write.strip, ['Password']);
  assert.equal(write.remaining, null);
  assert.equal(records.length, 7);
  const text = JSON.stringify(records);
  for (const secret of ['C-SECRET-VALUE', 'hunter2', 'agent-9']) assert.ok(!text.includes(secret), secret);
  assert.deepEqual(Object.keys(records[0]), ['time', 'policy', 'client', 'origin', 'request', 'outcome', 'reason', 'line', 'shadow']);
  // A sink that throws changes no decision.
  const throwing = new PolicyHandle(loadPolicy(compiled('active.cfg')), { decisionLog: () => { throw new Error('disk full'); } });
  const saved = console.error;
  console.error = () => {};
  try {
    assert.equal(throwing.decide({ origin: 'https://crm.example.com', request: 'voice.dial', client: 'c' }).outcome, 'allow');
  } finally {
    console.error = saved;
  }
});

test('decide refuses bad arguments with a code', () => {
  const handle = new PolicyHandle(loadPolicy(compiled('active.cfg')));
  for (const bad of [null, 42, { origin: 42, request: 'voice.dial', client: 'c' }, { origin: 'https://a.example', request: 'voice.dial', client: 'c', at: 'soon' },
    { origin: 'https://a.example', request: 'voice.dial', client: 'c', frame: 'popup' }, { origin: 'https://a.example', request: 'voice.dial', client: 'c', userData: 'CaseId' }]) {
    assert.throws(() => handle.decide(bad), { code: 'usage' });
  }
  assert.throws(() => new PolicyHandle(loadPolicy(compiled('active.cfg')), { nearLimitRatio: 2 }), { code: 'usage' });
  assert.throws(() => new PolicyHandle(loadPolicy(compiled('active.cfg')), { decisionLog: 'file.log' }), { code: 'usage' });
  assert.throws(() => handle.setCandidate('candidate.cfg'), { code: 'usage' });
});

test('attached data as a Map strips alike; other shapes and floods are refused', () => {
  const handle = new PolicyHandle(loadPolicy(compiled('active.cfg')));
  const base = { origin: 'https://crm.example.com', request: 'interaction.setUserData', client: 'c' };
  const asObject = handle.decide({ ...base, userData: { CaseId: '1', Password: 'x' } });
  const asMap = handle.decide({ ...base, userData: new Map([['CaseId', '1'], ['Password', 'x']]) });
  assert.deepEqual(asMap.strip, asObject.strip);
  assert.deepEqual(asMap.strip, ['Password']);
  assert.throws(() => handle.decide({ ...base, userData: new Set(['Password']) }), { code: 'usage' });
  assert.throws(() => handle.decide({ ...base, userData: new Date() }), { code: 'usage' });
  const flood = Array.from({ length: 65537 }, (_, i) => `k${i}`);
  assert.throws(() => handle.decide({ ...base, userData: flood }), { code: 'too-large' });
  const long = Array.from({ length: 300 }, (_, i) => `${i}`.padEnd(65536, 'x'));
  assert.throws(() => handle.decide({ ...base, userData: long }), { code: 'too-large' });
  assert.throws(() => handle.decide([]), { code: 'usage' });
  assert.throws(() => new PolicyHandle(loadPolicy(compiled('active.cfg')), { nearLimitRation: 0.1 }), { code: 'usage' });
  assert.throws(() => new PolicyHandle(loadPolicy(compiled('active.cfg')), { salt: '\ud800' }), { code: 'usage' });
  // A freed policy is a usage error with a code, not a crash.
  const freed = loadPolicy(compiled('active.cfg'));
  freed.free();
  assert.throws(() => new PolicyHandle(freed), { code: 'usage' });
  // The module still works.
  assert.equal(handle.decide({ ...base, request: 'voice.dial' }).outcome, 'allow');
});

test('a handle on a shadow policy redacts nothing and says what it would have removed', () => {
  const event = { data: { userData: { CaseId: '1', Disposition: 'sale', Secret: 'x' } } };
  const enforcing = new PolicyHandle(loadPolicy(compiled('candidate.cfg'))).redact(event);
  assert.equal(enforcing.shadow, false);
  assert.deepEqual(Object.keys(enforcing.event.data.userData), ['CaseId']);
  const shadow = new PolicyHandle(loadPolicy(compiled('candidate.cfg', '--shadow'))).redact(event);
  assert.equal(shadow.shadow, true);
  assert.deepEqual(shadow.event, event);
  assert.deepEqual(shadow.removed, enforcing.removed);
});
