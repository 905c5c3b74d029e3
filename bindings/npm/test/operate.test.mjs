// Operating a broker from JavaScript: a `PolicyHandle` reloads without
// refilling quotas or lifting quarantines (a changed limit applies from the
// swap), refuses a policy that does not load and keeps the active one; a
// signed policy loads only when a trusted key signed exactly its text, each
// refusal with its own code — decided alike by the native `scapi verify` on
// the same files (the signature cases of `tests/cases/cli`).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { PolicyHandle, loadPolicy, loadSignedPolicy } from '../runtime.js';
import { nativeScapi, root } from './helpers.mjs';

const reload = join(root, 'examples', 'reload');
/** 2 dials a minute, then (next.json) 4. */
const next = readFileSync(join(reload, 'next.json'), 'utf8');
const T = Date.UTC(2026, 11, 1, 10, 0, 0);

function first() {
  const out = execFileSync(nativeScapi(), ['compile', join(reload, 'wwews.cfg')], { stdio: ['ignore', 'pipe', 'ignore'] });
  return loadPolicy(out.toString());
}

test('a reload keeps counters and quarantines; a raised limit applies from the swap', () => {
  const handle = new PolicyHandle(first());
  const admit = (client, t) => handle.current().limiter.admit(client, 'voice.dial', t).admission;
  assert.deepEqual([admit('a', T), admit('a', T + 1000)], ['admitted', 'admitted']);
  assert.deepEqual([admit('b', T + 2000), admit('b', T + 3000), admit('b', T + 4000)], ['admitted', 'admitted', 'limited']);
  const before = handle.current();
  const after = handle.reload(next);
  assert.equal(after.generation, 1);
  assert.notEqual(after.limiter, before.limiter);
  // `a` used 2 of 2; with 4 it gets exactly 2 more.
  assert.deepEqual([admit('a', T + 6000), admit('a', T + 7000), admit('a', T + 8000)], ['admitted', 'admitted', 'limited']);
  // `b` stays quarantined.
  assert.equal(admit('b', T + 9000), 'ignored');
  // The same decisions as `scapi eval` on the requests file with its policy item.
  const native = JSON.parse(
    execFileSync(nativeScapi(), ['eval', '--format', 'json', join(reload, 'wwews.cfg'), join(reload, 'requests.jsonl')], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString(),
  );
  assert.deepEqual(
    native.decisions.map((d) => d.outcome),
    ['allow', 'allow', 'allow', 'allow', 'rate-limited', 'allow', 'allow', 'rate-limited', 'ignored'],
  );
});

test('a policy that does not load is refused and the active one keeps serving', () => {
  const handle = new PolicyHandle(first());
  for (const bad of ['{', next.replace('"schemaVersion": 1', '"schemaVersion": 9'), 42]) {
    assert.throws(() => handle.reload(bad), (e) => typeof e.code === 'string');
  }
  assert.throws(() => handle.swap('not a policy'), { code: 'usage' });
  assert.equal(handle.current().generation, 0);
  assert.equal(handle.current().policy.check('https://dialer.example.com', 'voice.dial').outcome, 'allow');
});

/** The signature cases: policy text, its signature (or null) and the trusted keys. */
function signatureCase(name) {
  const dir = join(root, 'tests', 'cases', 'cli', name, 'tmp');
  const sig = join(dir, 'policy.json.sig');
  const keys = join(dir, 'keys');
  return {
    dir,
    text: readFileSync(join(dir, 'policy.json'), 'utf8'),
    signature: existsSync(sig) ? readFileSync(sig, 'utf8') : null,
    keys: readdirSync(keys)
      .filter((f) => f.endsWith('.pub'))
      .map((f) => readFileSync(join(keys, f), 'utf8')),
  };
}

/** `scapi verify`'s exit code on a case. */
function nativeVerify(dir) {
  try {
    execFileSync(nativeScapi(), ['verify', join(dir, 'policy.json'), '--keys', join(dir, 'keys')], { stdio: 'ignore' });
    return 0;
  } catch (e) {
    return e.status;
  }
}

test('a signed policy loads only as signed, each refusal with its code, as `scapi verify` decides', async () => {
  const expected = {
    'verify-valid': null,
    'verify-altered': 'altered',
    'verify-unsigned': 'unsigned',
    'verify-unknown-key': 'unknown-key',
    'verify-malformed-signature': 'malformed',
  };
  for (const [name, code] of Object.entries(expected)) {
    const c = signatureCase(name);
    const native = nativeVerify(c.dir);
    if (code === null) {
      const policy = await loadSignedPolicy(c.text, c.signature, c.keys);
      assert.equal(policy.check('https://dialer.example.com', 'voice.dial').outcome, 'allow');
      assert.equal(native, 0, name);
    } else {
      await assert.rejects(loadSignedPolicy(c.text, c.signature, c.keys), { code }, name);
      assert.equal(native, code === 'malformed' ? 2 : 1, name);
    }
  }
  // One byte changed, anywhere.
  const c = signatureCase('verify-valid');
  await assert.rejects(loadSignedPolicy(`${c.text} `, c.signature, c.keys), { code: 'altered' });
  await assert.rejects(loadSignedPolicy(c.text, c.signature, []), { code: 'usage' });
  // A reload that does not verify changes nothing.
  const handle = new PolicyHandle(loadPolicy(c.text));
  await assert.rejects(handle.reloadSigned(`${c.text} `, c.signature, c.keys), { code: 'altered' });
  assert.equal(handle.current().generation, 0);
  assert.equal((await handle.reloadSigned(c.text, c.signature, c.keys)).generation, 1);
});
