// The package as its users take it: `require` from CommonJS, `import`
// from ESM, TypeScript against its types (tsc), a page bundled by Vite and
// run in Chromium, and the tarball `npm pack` makes. Each in a scratch
// project whose `node_modules/scapi` is this package.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { chromium, root } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const scratches = [];
after(() => {
  for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
});

/** A scratch project depending on this package. */
function project() {
  const dir = mkdtempSync(join(tmpdir(), 'scapi-user-'));
  scratches.push(dir);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(pkg, join(dir, 'node_modules', 'scapi'), 'dir');
  return dir;
}

const policy = readFileSync(join(root, 'examples', 'wwews-cluster.policy.json'), 'utf8');

test('CommonJS requires both entries, with no warning, and argument errors are TypeErrors with a code', () => {
  const dir = project();
  writeFileSync(join(dir, 'policy.json'), policy);
  writeFileSync(
    join(dir, 'main.cjs'),
    `const { loadPolicy, Broker, PolicyHandle } = require('scapi/runtime');
const { lint } = require('scapi');
const policy = loadPolicy(require('fs').readFileSync('policy.json', 'utf8'));
const out = { decision: policy.check('https://crm.example.com', 'voice.dial').outcome, broker: typeof Broker, errors: [] };
for (const f of [() => policy.check(42, 'voice.dial'), () => policy.rateLimiter().admit('c', 'voice.dial', 'soon'), () => lint(42),
                 () => new Broker(new PolicyHandle(policy), {})]) {
  try { f(); out.errors.push(null); } catch (e) { out.errors.push([e.constructor.name, e.code, e.message]); }
}
console.log(JSON.stringify(out));
`,
  );
  const run = spawnSync(process.execPath, ['main.cjs'], { cwd: dir, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '', 'no warning');
  const out = JSON.parse(run.stdout);
  assert.equal(out.decision, 'allow');
  assert.equal(out.broker, 'function');
  for (const e of out.errors) {
    assert.ok(e, 'each throws');
    assert.deepEqual(e.slice(0, 2), ['TypeError', 'usage']);
    assert.doesNotMatch(e[2], /struct|enum |Option<|String|Vec<|rust/, 'no Rust words');
  }
});

test('ESM imports both entries; errors name no Rust type', async () => {
  const dir = project();
  writeFileSync(
    join(dir, 'main.mjs'),
    `import * as runtime from 'scapi/runtime';
import * as full from 'scapi';
const errors = [];
for (const text of ['[1]', '{"schemaVersion": 1, "origins": 5}', '{"schemaVersion": 1, "origins": [], "rateLimit": {"windowSeconds": "x"}}']) {
  try { runtime.loadPolicy(text); } catch (e) { errors.push([e.code, e.message]); }
}
const p = full.loadPolicy(full.compile('[interaction-workspace]\\nservice-client-api.accepted-web-content-origins=*\\n').policy);
p.free();
try { p.check('https://a.example', 'voice.dial'); } catch (e) { errors.push([e.code, e.message]); }
console.log(JSON.stringify({ runtime: Object.keys(runtime).sort(), full: typeof full.lint, errors }));
`,
  );
  const out = JSON.parse(execFileSync(process.execPath, ['main.mjs'], { cwd: dir, encoding: 'utf8' }));
  assert.ok(out.runtime.includes('Broker') && out.runtime.includes('connectSession') && out.runtime.includes('loadPolicy'));
  assert.equal(out.full, 'function');
  assert.equal(out.errors.length, 4);
  for (const [code, message] of out.errors) {
    assert.ok(code, message);
    assert.doesNotMatch(message, /struct |enum |CompiledPolicy|null pointer|rust/i, message);
  }
  assert.equal(out.errors[3][0], 'usage');
});

test('TypeScript users type-check against the types, CommonJS and ESM', () => {
  const dir = project();
  cpSync(join(pkg, 'fixtures', 'consumer'), dir, { recursive: true });
  const tsc = join(pkg, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: dir, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  // The check can fail: a wrong type is an error.
  writeFileSync(join(dir, 'broker.ts'), `${readFileSync(join(dir, 'broker.ts'), 'utf8')}\nexport const bad: number = 'x';\n`);
  assert.notEqual(spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: dir }).status, 0);
});

test('the tarball carries the licences, both entries of each build and the session worker', () => {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkg, encoding: 'utf8' }));
  const files = packed.files.map((f) => f.path);
  for (const f of ['LICENSE-MIT', 'LICENSE-APACHE', 'index.js', 'index.node.js', 'runtime.js', 'runtime.node.js', 'session-worker.js',
    'lib/broker.js', 'lib/session.js', 'pkg/runtime/scapi_wasm_bg.wasm', 'pkg/full/scapi_wasm_bg.wasm']) {
    assert.ok(files.includes(f), `${f} is in the tarball: ${files.join(', ')}`);
  }
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('node_modules/')), files.join(', '));
  assert.equal(readFileSync(join(pkg, 'LICENSE-MIT'), 'utf8'), readFileSync(join(root, 'LICENSE-MIT'), 'utf8'));
});

test('a page bundled by Vite loads the WebAssembly and the session worker', async () => {
  const dir = project();
  cpSync(join(pkg, 'fixtures', 'bundle'), dir, { recursive: true });
  const { build } = await import('vite');
  await build({ root: dir, logLevel: 'silent', build: { outDir: join(dir, 'dist'), target: 'esnext' }, worker: { format: 'es' } });
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = path === '/' ? 'index.html' : path;
    try {
      const body = path === '/policy.json' ? policy : readFileSync(join(dir, 'dist', file));
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await puppeteer.launch({ executablePath: chromium(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.result !== undefined, { polling: 50, timeout: 60_000 });
    const result = await page.evaluate(() => window.result);
    assert.deepEqual(result, {
      check: { outcome: 'allow', reason: 'granted', entry: { origin: 'https://crm.example.com', line: 9 } },
      verdict: 'allow',
      broker: 'function',
    });
  } finally {
    await browser.close();
    server.close();
  }
});
