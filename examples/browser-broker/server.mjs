// Serves the agent-desktop stand-in and its applications: every origin of
// `desktop.json` (another file with `node server.mjs FILE`) on its one
// port, told apart by host name. The desktop page (`/`), the application
// page (`/app.html`) and the scapi package (`/scapi/`, the package built
// in bindings/npm) are served on every origin. With `"tls": {"cert",
// "key"}` the port speaks HTTPS; `"plainListen"` adds a port of plain
// HTTP.
//
//   node examples/browser-broker/server.mjs
//   → open http://desktop.localhost:8400/ in Chromium or Firefox
import { readFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const configFile = resolve(process.argv[2] ?? join(here, 'desktop.json'));
const config = JSON.parse(readFileSync(configFile, 'utf8'));
const base = dirname(configFile);
const npm = join(here, '..', '..', 'bindings', 'npm');

// Public files, readable from any origin (a sandboxed frame's is opaque,
// and its module scripts load with CORS).
const cors = { 'access-control-allow-origin': '*' };
const types = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };
const pages = new Set(['/', '/index.html', '/host.js', '/app.html', '/app.js']);

function answer(req, res) {
  const path = new URL(req.url, 'http://any').pathname;
  let file = null;
  if (path === '/desktop.json') {
    // What the page needs of the configuration; not where files are.
    const { desktop, session, apps } = config;
    res.writeHead(200, { ...cors, 'content-type': types['.json'], 'cache-control': 'no-store' });
    return res.end(JSON.stringify({ desktop, session, apps }));
  }
  if (path === '/policy.json') file = resolve(base, config.policy);
  else if (pages.has(path)) file = join(here, path === '/' ? 'index.html' : path);
  else if (path.startsWith('/scapi/')) {
    const rel = normalize(path.slice('/scapi/'.length));
    if (!rel.startsWith('..')) file = join(npm, rel);
  }
  let body;
  try {
    body = file && readFileSync(file);
  } catch {
    body = null;
  }
  if (!body) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return res.end('not found\n');
  }
  res.writeHead(200, { ...cors, 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  res.end(body);
}

const main = config.tls
  ? createHttps({ cert: readFileSync(resolve(base, config.tls.cert)), key: readFileSync(resolve(base, config.tls.key)) }, answer)
  : createHttp(answer);
main.listen(config.listen, '127.0.0.1', () => {
  const { port } = main.address();
  console.log(`listening on 127.0.0.1:${port}; the desktop is ${config.desktop}/`);
});
if (config.plainListen) createHttp(answer).listen(config.plainListen, '127.0.0.1');
