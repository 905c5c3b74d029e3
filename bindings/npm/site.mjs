// Assembles the playground as a static site: the folder any static file
// server serves, and a release publishes.
//
//   node site.mjs OUT    (npm run site -- OUT; after `npm run build`)
//
// OUT keeps the repository's layout for what the page loads, so the page
// is the one in `playground/` byte for byte: `playground/` (the page, its
// script and style), `bindings/npm/` (the package: its JavaScript and the
// full WebAssembly module), `examples/` (what the page offers to load), and
// an `index.html` that leads to `playground/`. `bash .ci/site` builds it
// from a fresh checkout in one command.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** What the site holds, relative to the repository. */
const FILES = [
  'playground/index.html',
  'playground/app.js',
  'playground/style.css',
  'bindings/npm/index.js',
  'bindings/npm/lib',
  'bindings/npm/pkg/full/scapi_wasm.js',
  'bindings/npm/pkg/full/scapi_wasm_bg.wasm',
  'examples/wwews-cluster.cfg',
  'examples/broken.cfg',
  'examples/wwews-cluster.json',
  'examples/requests.jsonl',
];

function copy(from, to) {
  if (statSync(from).isDirectory()) {
    mkdirSync(to, { recursive: true });
    for (const name of readdirSync(from)) copy(join(from, name), join(to, name));
  } else {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}

/** Builds the site into `out` (emptied first); returns the files written. */
export function buildSite(out) {
  const missing = FILES.filter((f) => !existsSync(join(root, f)));
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} missing: run \`npm run build\` in bindings/npm first`);
  }
  rmSync(out, { recursive: true, force: true });
  for (const f of FILES) copy(join(root, f), join(out, f));
  writeFileSync(
    join(out, 'index.html'),
    '<!doctype html>\n<meta charset="utf-8">\n<title>scapi playground</title>\n' +
      '<meta http-equiv="refresh" content="0; url=playground/">\n' +
      '<p><a href="playground/">The scapi playground</a></p>\n',
  );
  return FILES;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node site.mjs OUT');
    process.exit(2);
  }
  try {
    buildSite(out);
  } catch (e) {
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
  console.log(`the playground site is in ${relative(process.cwd(), out) || '.'}`);
}
