// What a frame or a careless caller can send the package: nothing disables
// it. Strings past the bound are refused with a code before they reach the
// WebAssembly module, and the module keeps working; arguments of the wrong
// type are `Error`s with a code; the limiter's memory follows the clients
// in use, not every client ever seen.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as full from '../index.js';
import * as runtime from '../runtime.js';
import * as raw from '../pkg/runtime/scapi_wasm.js';
import { root } from './helpers.mjs';

const pkgDir = join(root, 'bindings', 'npm', 'pkg', 'runtime');

const policyJson = readFileSync(join(root, 'examples', 'wwews-cluster.policy.json'), 'utf8');
const EXPORT = 'service-client-api.accepted-web-content-origins=https://crm.example.com\n';

for (const [name, pkg] of [
  ['runtime', runtime],
  ['full', full],
]) {
  test(`${name}: a huge string is refused with a code and poisons nothing`, () => {
    const p = pkg.loadPolicy(policyJson);
    const limiter = p.rateLimiter();
    // 2^28 characters: a frame can post it; it never crosses.
    const huge = 'x'.repeat(2 ** 28);
    assert.throws(() => p.check('https://crm.example.com', huge), { code: 'too-large' });
    assert.throws(() => p.check(`https://${huge}`, 'voice.dial'), { code: 'too-large' });
    assert.throws(() => limiter.admit(huge, 'voice.dial', 0), { code: 'too-large' });
    assert.throws(() => limiter.admit('a', huge, 0), { code: 'too-large' });
    // At the bound it is still decided.
    const longest = `voice.${'x'.repeat(pkg.MAX_NAME_LENGTH - 6)}`;
    assert.equal(p.check('https://crm.example.com', longest).reason, 'request-not-permitted');
    assert.throws(() => p.check('https://crm.example.com', `${longest}x`), { code: 'too-large' });
    // Everything still works, in this module and in a new policy.
    assert.equal(p.check('https://crm.example.com', 'voice.dial').reason, 'granted');
    assert.equal(limiter.admit('a', 'voice.dial', 0).admission, 'admitted');
    assert.equal(pkg.loadPolicy(policyJson).check('https://crm.example.com', 'voice.dial').outcome, 'allow');
  });

  test(`${name}: what a frame sends is taken as it is, or refused`, () => {
    const p = pkg.loadPolicy(policyJson);
    const limiter = p.rateLimiter();
    // Not strings: refused, never converted (an array would be checked as
    // one text and forwarded as another).
    for (const bad of [['voice.dial'], new String('voice.dial'), 42, null, undefined, { toString: () => 'voice.dial' }]) {
      assert.throws(() => p.check('https://crm.example.com', bad), { code: 'usage' }, String(bad));
      assert.throws(() => limiter.admit('c', bad, 0), { code: 'usage' }, String(bad));
    }
    // Attached-data keys: an array of bounded strings; a map or a string
    // given instead would strip nothing.
    assert.throws(() => p.splitWrite({ Secret: 'x' }, 'voice.dialEx'), { code: 'usage' });
    assert.throws(() => p.splitWrite('Secret', 'voice.dialEx'), { code: 'usage' });
    assert.throws(() => p.splitWrite(null), { code: 'usage' });
    assert.throws(() => p.splitWrite([42]), { code: 'usage' });
    assert.throws(() => p.splitWrite(['x'.repeat(2 ** 28)], 'voice.dialEx'), { code: 'too-large' });
    assert.throws(() => limiter.endSession('x'.repeat(2 ** 28)), { code: 'too-large' });
    assert.throws(() => p.rateLimitResult('x'.repeat(2 ** 28)), { code: 'too-large' });
    // Identities with a lone surrogate would cross as U+FFFD and collide.
    assert.throws(() => limiter.admit('tab-\uD800', 'agent.get', 0), { code: 'usage' });
    assert.throws(() => p.splitWrite(['Case\uD800'], 'voice.dialEx'), { code: 'usage' });
    assert.equal(p.check('https://crm.example.com', 'voice.dial\uD800').reason, 'request-not-permitted');
    // Times: milliseconds from 1970 to 9999.
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1, 1e300, 'yesterday', {}]) {
      assert.throws(() => limiter.admit('c', 'voice.dial', bad), { code: 'usage' }, String(bad));
    }
    assert.equal(limiter.admit('c', 'voice.dial', 0).admission, 'admitted');
    // A boxed string is redacted as the text it holds.
    const boxed = p.redact(new String('{"userData": {"CustomerSSN": 1}}'));
    assert.deepEqual(boxed.removed, ['CustomerSSN']);
    assert.equal(p.check('https://crm.example.com', 'voice.dial').outcome, 'allow');
  });

  test(`${name}: arguments of the wrong type are errors with a code`, () => {
    for (const bad of [undefined, null, 42, true]) {
      assert.throws(() => pkg.loadPolicy(bad), { code: 'usage' }, String(bad));
    }
    const p = pkg.loadPolicy(policyJson);
    for (const bad of [undefined, null, 42]) {
      assert.throws(() => p.redact(bad), { code: 'event' }, String(bad));
    }
    assert.throws(() => p.check('https://crm.example.com', 'voice.dial', 'popup'), { code: 'usage' });
    // Values JSON cannot hold, or that say they have no JSON form.
    const cyclic = {};
    cyclic.self = cyclic;
    assert.throws(() => pkg.loadPolicy(cyclic), { code: 'usage' });
    assert.throws(() => pkg.loadPolicy({ toJSON() {} }), { code: 'usage' });
    assert.throws(() => p.redact(cyclic), { code: 'usage' });
    assert.throws(() => p.redact({ n: 1n }), { code: 'usage' });
    assert.throws(() => p.redact({ toJSON() {} }), { code: 'event' });
  });
}

test('lint and compile options are checked', () => {
  for (const options of [
    { maxInputBytes: -1 },
    { maxInputBytes: 1.5 },
    { maxInputBytes: '10' },
    { maxPerRule: -3 },
    { maxInputBytes: Number.NaN },
    { maxInputBytes: Number.POSITIVE_INFINITY },
    { maxInputBytes: 2 ** 63 },
    { fileName: 42 },
    { format: 7 },
    { object: 'team' },
    { fileNmae: 'typo.cfg' },
  ]) {
    assert.throws(() => full.lint(EXPORT, options), { code: 'usage' }, JSON.stringify(options));
    assert.throws(() => full.compile(EXPORT, options), { code: 'usage' }, JSON.stringify(options));
  }
  assert.throws(() => full.lint(42), { code: 'usage' });
  assert.throws(() => full.lint(EXPORT, 'wwews.cfg'), { code: 'usage' });
  // Absent options are absent, `undefined` included.
  assert.equal(full.lint(EXPORT, { fileName: undefined, maxPerRule: null }).summary.files, 1);
  assert.equal(full.lint(EXPORT, { maxInputBytes: 10 }).diagnostics[0].code, 'SC0004');
});

test('the limiter forgets idle clients: memory follows the clients in use', () => {
  // A module instance of its own, to read its memory's size.
  const exports = raw.initSync({ module: readFileSync(join(pkgDir, 'scapi_wasm_bg.wasm')) });
  const p = raw.Policy.load(policyJson);
  const limiter = p.rateLimiter();
  const t0 = Date.UTC(2026, 10, 20);
  const used = () => exports.memory.buffer.byteLength;
  // Warm up to the steady state, then many more distinct clients, each
  // idle a window later: the module's memory does not grow with them.
  for (let i = 0; i < 300_000; i++) limiter.admit(`client-${i}`, 'voice.dial', t0 + i * 10);
  const steady = used();
  for (let i = 300_000; i < 900_000; i++) limiter.admit(`client-${i}`, 'voice.dial', t0 + i * 10);
  assert.ok(used() <= steady, `${used()} bytes after 900k clients, ${steady} after 300k`);
});
