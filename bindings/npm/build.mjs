// Builds the package's two WebAssembly modules from `crates/scapi-wasm`:
//   pkg/runtime  the runtime a broker in a page needs (load, check, limit, redact)
//   pkg/full     the same plus the linter and compiler (`--features compiler`)
// with `cargo` (target wasm32-unknown-unknown, profile `wasm`), then
// `wasm-bindgen` (which must be exactly the version of the crate's
// `wasm-bindgen` dependency) and, when installed, binaryen's `wasm-opt`.
// Prints each module's size, raw and gzipped.
//
//   rustup target add wasm32-unknown-unknown
//   cargo install --locked wasm-bindgen-cli --version <the crate's version>
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const crate = join(root, 'crates', 'scapi-wasm');

function run(cmd, args, opts = {}) {
  try {
    const out = execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: root, ...opts });
    return out ? out.toString() : '';
  } catch (e) {
    if (e.code === 'ENOENT') {
      throw new Error(`\`${cmd}\` is not installed`);
    }
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed`);
  }
}

function has(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// The exact wasm-bindgen version the crate depends on.
const manifest = readFileSync(join(crate, 'Cargo.toml'), 'utf8');
const wanted = /wasm-bindgen = \{ version = "=([0-9.]+)"/.exec(manifest)?.[1];
if (!wanted) throw new Error('crates/scapi-wasm/Cargo.toml does not pin wasm-bindgen');
const found = has('wasm-bindgen') ? run('wasm-bindgen', ['--version']).trim().split(' ')[1] : null;
if (found !== wanted) {
  console.error(`error: wasm-bindgen ${wanted} is needed (found ${found ?? 'none'}); install it with
  cargo install --locked wasm-bindgen-cli --version ${wanted}`);
  process.exit(2);
}

// What rustc's wasm32 target emits by default; wasm-opt must keep to it.
const WASM_FEATURES = [
  '--enable-bulk-memory',
  '--enable-reference-types',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-nontrapping-float-to-int',
  '--enable-multivalue',
];

const builds = [
  { name: 'runtime', features: [] },
  { name: 'full', features: ['--features', 'compiler'] },
];
const wasmOpt = has('wasm-opt');
// Where Cargo builds: `CARGO_TARGET_DIR` and `.cargo/config.toml` included.
const targetDir = JSON.parse(run('cargo', ['metadata', '--format-version', '1', '--no-deps', '--locked'])).target_directory;
const rows = [];
for (const b of builds) {
  run('cargo', ['build', '--locked', '-p', 'scapi-wasm', '--target', 'wasm32-unknown-unknown', '--profile', 'wasm', ...b.features], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const out = join(here, 'pkg', b.name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  let input = join(targetDir, 'wasm32-unknown-unknown', 'wasm', 'scapi_wasm.wasm');
  if (wasmOpt) {
    // Before wasm-bindgen: the glue's table of JavaScript values is added by
    // wasm-bindgen, out of reach of an older wasm-opt that would fix its size.
    const optimized = join(out, 'optimized.wasm');
    run('wasm-opt', ['-Oz', ...WASM_FEATURES, input, '-o', optimized]);
    input = optimized;
  }
  run('wasm-bindgen', ['--target', 'web', '--no-typescript', '--out-dir', out, '--out-name', 'scapi_wasm', input]);
  rmSync(join(out, 'optimized.wasm'), { force: true });
  const wasm = join(out, 'scapi_wasm_bg.wasm');
  const bytes = readFileSync(wasm);
  rows.push([b.name, statSync(wasm).size, gzipSync(bytes, { level: 9 }).length]);
}
// The package's licences are the repository's: copied in, so that the
// tarball carries them (npm takes LICENSE* files from the package folder).
for (const licence of ['LICENSE-MIT', 'LICENSE-APACHE']) {
  copyFileSync(join(root, licence), join(here, licence));
}
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`built with wasm-bindgen ${wanted}${wasmOpt ? ' and wasm-opt -Oz' : ' (no wasm-opt)'}:`);
for (const [name, raw, gz] of rows) {
  console.log(`  pkg/${name}/scapi_wasm_bg.wasm  ${kb(raw)}, ${kb(gz)} gzipped`);
}
