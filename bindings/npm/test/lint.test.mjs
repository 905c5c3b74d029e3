// Differential: on every rule's fixtures — the example that triggers it and
// the fixed version, taken from its documentation page as `scapi rule CODE`
// prints it (or `tests/cases/rules/<CODE>/fail.*` and `pass.*` when the
// example cannot be text), as `rules::<CODE>` of `crates/scapi/tests/cases.rs` takes them —
// the package's `lint` gives the document the native `scapi lint --format
// json` prints for the same file with the same options, and `compile`
// refuses exactly what has an error.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compile, lint, rule, rules } from '../index.js';
import { root, runNative } from './helpers.mjs';

/** The first fenced block after `heading` of a rule page: [info, body]. */
function blockAfter(doc, heading) {
  const after = doc.split(heading)[1];
  const fence = after?.split('```')[1];
  if (fence === undefined) return null;
  const nl = fence.indexOf('\n');
  return [fence.slice(0, nl).trim(), fence.slice(nl + 1)];
}

/** `--flag value` pairs of a case's `args` file as CLI arguments and as package options. */
function argsOf(dir) {
  const path = join(dir, 'args');
  if (!existsSync(path)) return [[], {}];
  const words = readFileSync(path, 'utf8').trim().split(/\s+/);
  const options = {};
  for (let i = 0; i < words.length; i += 2) {
    const [flag, value] = [words[i], words[i + 1]];
    const known = {
      '--max-input-bytes': ['maxInputBytes', Number(value)],
      '--max-per-rule': ['maxPerRule', Number(value)],
      '--object': ['object', value],
      '--input-format': ['format', value],
    }[flag];
    assert.ok(known, `${path}: unknown ${flag}`);
    options[known[0]] = known[1];
  }
  return [words, options];
}

/** A rule's example under `heading`: {name, bytes, args, options}. */
function example(code, heading, stem) {
  const [info, body] = blockAfter(rule(code).documentation, heading);
  const [lang, ...rest] = info.split(/\s+/);
  const file = rest.find((w) => w.startsWith('file='))?.slice(5);
  if (lang === 'text') {
    const dir = join(root, 'tests', 'cases', 'rules', code);
    const name = readdirSync(dir).find((f) => f.startsWith(`${stem}.`));
    const [args, options] = argsOf(dir);
    return { name, bytes: readFileSync(join(dir, name)), args, options };
  }
  const ext = { ini: 'cfg', cfg: 'cfg', json: 'json', yaml: 'yaml' }[lang];
  assert.ok(ext, `${code}: unknown fence language ${lang}`);
  return { name: file ?? `example.${ext}`, bytes: Buffer.from(body, 'utf8'), args: [], options: {} };
}

const scratch = mkdtempSync(join(tmpdir(), 'scapi-npm-'));

for (const { code } of rules()) {
  for (const [heading, stem] of [
    ['## Example', 'fail'],
    ['## Use instead', 'pass'],
  ]) {
    test(`lint ${code} ${stem}`, () => {
      const ex = example(code, heading, stem);
      const dir = mkdtempSync(join(scratch, `${code}-`));
      writeFileSync(join(dir, ex.name), ex.bytes);
      const native = JSON.parse(runNative(['lint', '--format', 'json', ...ex.args, ex.name], dir));
      const options = { fileName: ex.name, ...ex.options };
      const ours = lint(new Uint8Array(ex.bytes), options);
      assert.deepEqual(ours, native);
      const compiled = compile(new Uint8Array(ex.bytes), options);
      assert.deepEqual(compiled.diagnostics, native);
      assert.equal(compiled.policy === null, native.summary.errors > 0);
      const triggers = ours.diagnostics.some((d) => d.code === code);
      assert.equal(triggers, stem === 'fail', `${code} ${stem}`);
    });
  }
}

test('rules and their pages', () => {
  assert.ok(rules().length >= 70);
  const r = rule('SC0209');
  assert.equal(r.name, 'redundant-filter');
  assert.match(r.documentation, /^## What it checks/);
  assert.throws(() => rule('SC9999'), {
    code: 'usage',
    message: 'unknown rule `SC9999`; `scapi rule` lists every rule',
  });
  assert.throws(() => lint('x', { format: 'xml' }), { code: 'usage' });
});
