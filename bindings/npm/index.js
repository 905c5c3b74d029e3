// scapi: the full build (linter, compiler and runtime). See README.md and
// index.d.ts. In a page: an ES module that initializes
// its WebAssembly before it resolves; Node takes `index.node.js` (no
// top-level await, so `require` works too).
import * as raw from './pkg/full/scapi_wasm.js';
import { api, load } from './lib/api.js';

export { MAX_NAME_LENGTH } from './lib/api.js';
export { Broker, PROTOCOL_VERSION } from './lib/broker.js';
export { connectSession, Session } from './lib/session.js';

const exports = await load(raw, new URL('./pkg/full/scapi_wasm_bg.wasm', import.meta.url));

export const { lint, compile, loadPolicy, loadSignedPolicy, PolicyHandle, rules, rule, parseRequests, version } = api(raw, {
  compiler: true,
  exports,
});
