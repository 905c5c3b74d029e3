// The package's API beyond the differential tests: hash keys from
// crypto.getRandomValues, the limiter on Date.now, errors with codes, the
// runtime build without the compiler, and TypeScript definitions that name
// exactly what each entry point exports.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { test } from 'node:test';
import * as full from '../index.js';
import * as runtime from '../runtime.js';
import { root } from './helpers.mjs';

const policyJson = readFileSync(join(root, 'examples', 'wwews-cluster.policy.json'), 'utf8');
const here = new URL('..', import.meta.url).pathname;

/** Runs a module in a fresh Node; its standard output. */
function child(source) {
  return execFileSync(process.execPath, ['--input-type=module', '-e', source], { cwd: here }).toString();
}

test('hash keys are seeded from crypto.getRandomValues at start-up', () => {
  for (const entry of ['./index.js', './runtime.js']) {
    const out = child(`
      const calls = [];
      const real = crypto.getRandomValues.bind(crypto);
      crypto.getRandomValues = (buf) => { calls.push(buf.length); return real(buf); };
      await import(${JSON.stringify(entry)});
      console.log(JSON.stringify(calls));
    `);
    assert.deepEqual(JSON.parse(out), [16], entry);
  }
});

test('the rate limiter runs on Date.now, or on the time given', () => {
  const out = child(`
    const { loadPolicy } = await import('./runtime.js');
    const { readFileSync } = await import('node:fs');
    const p = loadPolicy(readFileSync(${JSON.stringify(join(root, 'examples', 'wwews-cluster.policy.json'))}, 'utf8'));
    const limiter = p.rateLimiter();
    let now = Date.UTC(2026, 10, 20, 10, 0, 0);
    Date.now = () => now;
    const seen = [];
    for (let i = 0; i < 11; i++) seen.push(limiter.admit('agent-1', 'voice.dial').admission);
    const quarantined = limiter.admit('agent-1', 'voice.dial');
    now += 61_000; // the quarantine (60 s) is over
    seen.push(limiter.admit('agent-1', 'voice.dial').admission);
    console.log(JSON.stringify({ seen, quarantined }));
  `);
  const { seen, quarantined } = JSON.parse(out);
  assert.deepEqual(seen, [...Array(10).fill('admitted'), 'limited', 'admitted']);
  const end = Date.UTC(2026, 10, 20, 10, 1, 0);
  assert.deepEqual(quarantined, { admission: 'ignored', until: end, remaining: 0, resetAt: end });
  // An explicit time wins over the clock.
  const limiter = runtime.loadPolicy(policyJson).rateLimiter();
  const t = Date.UTC(2026, 10, 20, 10, 0, 0);
  for (let i = 0; i < 10; i++) limiter.admit('a', 'voice.dial', t + i);
  assert.deepEqual(limiter.admit('a', 'voice.dial', t + 10), { admission: 'limited', until: t + 10 + 60_000, remaining: 0, resetAt: t + 10 + 60_000 });
  limiter.endSession('a');
  // Headroom: 9 more in this window, which ends at the next minute.
  assert.deepEqual(limiter.admit('a', 'voice.dial', t + 11), { admission: 'admitted', remaining: 9, resetAt: t + 60_000 });
  assert.deepEqual(limiter.admit('a', 'voice.hangUp', t + 11), { admission: 'admitted', remaining: 59, resetAt: t + 60_000 });
});

test('check, splitWrite, redact and the rate-limit result', () => {
  const p = runtime.loadPolicy(policyJson);
  assert.deepEqual(p.check('https://crm.example.com', 'voice.dial'), {
    outcome: 'allow',
    reason: 'granted',
    entry: { origin: 'https://crm.example.com', line: 9 },
  });
  assert.deepEqual(p.check('https://crm.example.com/', 'voice.dial'), {
    outcome: 'deny',
    reason: 'origin-not-canonical',
    entry: null,
  });
  assert.equal(p.check('https://kb.example.com', 'voice.dial').reason, 'request-not-permitted');
  // Strings of any length and script cross as UTF-8, whatever came before.
  assert.equal(p.check('https://bücher.example', 'voice.dial').reason, 'origin-not-canonical');
  assert.equal(p.check(`https://${'a'.repeat(5000)}.example`, 'voice.dial').reason, 'origin-not-canonical');
  assert.equal(p.check('https://crm.example.com', 'vöice.dial').reason, 'request-not-permitted');
  assert.equal(p.check('https://crm.example.com', 'voice.dial').reason, 'granted');
  // A frame shown in a tab may only dial; `null` is named.
  assert.equal(p.check('https://crm.example.com', 'voice.dial', 'tab').reason, 'granted');
  assert.equal(p.check('https://crm.example.com', 'agent.get', 'tab').reason, 'tab-dial-only');
  assert.equal(p.check('https://crm.example.com', 'agent.get', 'embedded').outcome, 'allow');
  assert.throws(() => p.check('https://crm.example.com', 'voice.dial', 'popup'), { code: 'usage' });
  assert.equal(p.check('null', 'voice.dial').reason, 'null-origin');
  assert.equal(p.check('https://crm.example.com', `voice.${'x'.repeat(3000)}`).reason, 'request-not-permitted');
  assert.equal(p.check('https://crm.example.com\u0000', 'voice.dial').reason, 'origin-not-canonical');
  assert.deepEqual(p.splitWrite(['AccountNumber', 'IW_CaseUid']), { allowed: ['AccountNumber'], denied: ['IW_CaseUid'], deny: false });
  // Nothing left: a set is refused, a dial with attached data goes on.
  assert.equal(p.splitWrite(['IW_CaseUid']).deny, true);
  assert.equal(p.splitWrite(['IW_CaseUid'], 'interaction.deleteUserData').deny, true);
  assert.deepEqual(p.splitWrite(['IW_CaseUid'], 'voice.dialEx'), { allowed: [], denied: ['IW_CaseUid'], deny: false });
  // Outbound records are attached data too.
  const records = '{"interaction": {"chainedRecords": [{"GSW_PHONE": "+1", "AccountNumber": 2}]}}';
  assert.deepEqual(p.redact(records), { event: '{"interaction": {"chainedRecords": [{"AccountNumber": 2}]}}', removed: ['GSW_PHONE'] });
  // As text, every byte but the removed keys stays as written.
  const event = '{"interaction": {"userData": {"CustomerSSN": "1", "AccountNumber": 1.50}}}';
  assert.deepEqual(p.redact(event), { event: '{"interaction": {"userData": {"AccountNumber": 1.50}}}', removed: ['CustomerSSN'] });
  assert.deepEqual(p.redact(JSON.parse(event)).event, { interaction: { userData: { AccountNumber: 1.5 } } });
  assert.throws(() => p.redact('{"interaction": '), { code: 'event' });
  assert.equal(p.rateLimitResult('voice.dial').request, 'voice.dial');
  assert.deepEqual(p.toJSON(), JSON.parse(policyJson));
});

test('load errors are Errors with the kind as code and the CLI message', () => {
  const bad = policyJson.replace('"https://crm.example.com"', '"https://CRM.example.com"');
  assert.throws(() => runtime.loadPolicy(bad), {
    code: 'origin',
    message: 'origin `https://CRM.example.com` is not a canonical http(s) origin',
  });
  assert.throws(() => runtime.loadPolicy('not json'), { code: 'syntax' });
  assert.throws(() => full.loadPolicy('schemaVersion: 1\norigins: 3\n'), { code: 'syntax' });
});

test('the runtime build has no compiler; the full build has both', () => {
  assert.equal(runtime.lint, undefined);
  assert.equal(typeof full.lint, 'function');
  assert.equal(runtime.loadPolicy(policyJson).explain, undefined);
  const e = full.loadPolicy(policyJson).explain('https://dialer.example.com');
  assert.equal(e.requests.find((r) => r.name === 'voice.dial').enabled, true);
  assert.equal(full.version, runtime.version);
});

test('compile gives the policy only when nothing is an error', () => {
  const ok = full.compile(readFileSync(join(root, 'examples', 'wwews-cluster.cfg'), 'utf8'), { fileName: 'wwews-cluster.cfg' });
  assert.deepEqual(ok.policy, JSON.parse(policyJson));
  const broken = full.compile(readFileSync(join(root, 'examples', 'broken.cfg'), 'utf8'), { fileName: 'broken.cfg' });
  assert.equal(broken.policy, null);
  assert.ok(broken.diagnostics.summary.errors > 0);
});

test('the TypeScript definitions declare exactly the exports', () => {
  for (const [file, mod] of [
    ['index.d.ts', full],
    ['runtime.d.ts', runtime],
  ]) {
    const dts = readFileSync(join(here, file), 'utf8');
    const declared = [
      ...[...dts.matchAll(/^export (?:declare )?(?:function|const|class) (\w+)/gm)].map((m) => m[1]),
      // Values re-exported from the runtime's definitions (not `export type`).
      ...[...dts.matchAll(/^export \{([^}]+)\} from/gm)].flatMap((m) => m[1].split(',').map((n) => n.trim())),
    ].sort();
    assert.deepEqual(declared, Object.keys(mod).sort(), file);
  }
});

test('the WebAssembly sizes are those of the README table, within its limits', (t) => {
  // The figures are of a build shrunk by binaryen's wasm-opt (`.ci/run`
  // installs it); without it the build is larger and says so.
  const hasWasmOpt = (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, 'wasm-opt')));
  if (!hasWasmOpt && !process.env.SCAPI_REQUIRE_TOOLS) {
    t.skip('no wasm-opt: the build is not the shrunk one the table measures');
    return;
  }
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const [build, dir] of [['`scapi/runtime`', 'runtime'], ['`scapi` (with', 'full']]) {
    const row = readme.split('\n').find((l) => l.startsWith(`| ${build}`));
    assert.ok(row, `no row for ${build}`);
    const [, shown, limit, unit] = /\| ([\d.]+) KiB \| ([\d.]+) (KB|MB) ✓ \|$/.exec(row) ?? [];
    assert.ok(shown, `the row of ${build} has no size and limit: ${row}`);
    const gz = gzipSync(readFileSync(join(here, 'pkg', dir, 'scapi_wasm_bg.wasm')), { level: 9 }).length;
    assert.ok(Math.abs(gz / 1024 - Number(shown)) <= 2, `${build}: ${(gz / 1024).toFixed(1)} KiB gzipped, the README says ${shown}`);
    assert.ok(gz <= Number(limit) * (unit === 'MB' ? 1e6 : 1e3), `${build}: ${gz} bytes gzipped, over its ${limit} ${unit}`);
    // The package's own README says the same.
    const npmReadme = readFileSync(join(here, 'README.md'), 'utf8');
    const npmRow = npmReadme.split('\n').find((l) => l.startsWith(`| \`${dir === 'runtime' ? 'scapi/runtime' : 'scapi'}\` |`));
    assert.ok(npmRow?.endsWith(`| ${shown} KiB |`), `bindings/npm/README.md says ${npmRow}, the README ${shown} KiB`);
  }
});
