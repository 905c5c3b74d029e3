// Differential: for every `tests/cases/eval` case, a broker written with
// the package's JavaScript API (check, splitWrite, the rate limiter with
// each item's time, redact) decides every item as the native `scapi eval`
// does (its `expected.json`, which `crates/scapi-tools/tests/cases.rs` holds equal
// to the native output); and the package's own `evaluate` gives that
// document.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import { compile, loadPolicy, parseRequests } from '../index.js';
import { cases, input, rfc3339 } from './helpers.mjs';

/** A policy from an export (compiled) or a compiled policy (JSON or YAML). */
function policyOf(path) {
  const text = readFileSync(path, 'utf8');
  const looksCompiled = /^\s*\{\s*"schemaVersion"/.test(text) || /^schemaVersion:/m.test(text);
  if (looksCompiled) return loadPolicy(text);
  const c = compile(text, { fileName: basename(path) });
  assert.notEqual(c.policy, null, `${path} does not compile`);
  return loadPolicy(c.policy);
}

/** What a broker does with one item, in the report's shape. */
function decide(policy, limiter, item) {
  if (item.event !== undefined) {
    const { event, removed } = policy.redact(item.event);
    return { outcome: 'redacted', reason: 'read-allowed', entry: null, event: JSON.parse(event), removedKeys: removed };
  }
  const d = { ...policy.check(item.origin, item.request, item.frame) };
  if (d.outcome !== 'allow') return d;
  const keys = item.userData ?? item.keys;
  if (keys) {
    const split = policy.splitWrite(keys, item.request);
    if (split.denied.length) d.deniedKeys = split.denied;
    if (split.deny) return { ...d, outcome: 'deny', reason: 'no-writable-keys' };
  }
  const a = limiter.admit(item.client, item.request, item.at);
  const until = (u) => (u === null ? null : rfc3339(u));
  if (a.admission === 'limited') {
    return { ...d, outcome: 'rate-limited', reason: 'rate-limit', result: policy.rateLimitResult(item.request), quarantineUntil: until(a.until) };
  }
  if (a.admission === 'ignored') {
    return { ...d, outcome: 'ignored', reason: 'quarantine', quarantineUntil: until(a.until) };
  }
  return d;
}

for (const dir of cases('eval')) {
  test(`eval ${basename(dir)}`, () => {
    const policy = policyOf(input(dir, 'policy'));
    const requestsPath = input(dir, 'requests');
    const requests = readFileSync(requestsPath, 'utf8');
    const expectedText = readFileSync(`${dir}/expected.json`, 'utf8');
    const expected = JSON.parse(expectedText);
    const items = parseRequests(requests, { fileName: basename(requestsPath) });
    const limiter = policy.rateLimiter();
    assert.equal(items.length, expected.decisions.length);
    for (const [i, item] of items.entries()) {
      const { index, expected: _mismatch, ...want } = expected.decisions[i];
      assert.equal(index, item.index);
      assert.deepEqual(decide(policy, limiter, item), want, `item ${i} of ${requestsPath}`);
    }
    // The same replay inside the module: the native document.
    const report = policy.evaluate(requests, { fileName: basename(requestsPath) });
    assert.deepEqual(report, expected);
  });
}
