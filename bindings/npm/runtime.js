// scapi/runtime: what a broker in a page needs (load a compiled policy,
// check requests, rate limits, attached-data filtering and redaction, the
// postMessage broker), without the linter and compiler. See README.md and
// runtime.d.ts. In a page: an ES module that initializes its WebAssembly
// before it resolves; Node takes `runtime.node.js` (no top-level await, so
// `require` works too).
import * as raw from './pkg/runtime/scapi_wasm.js';
import { api, load } from './lib/api.js';

export { MAX_NAME_LENGTH } from './lib/api.js';
export { Broker, PROTOCOL_VERSION } from './lib/broker.js';
export { connectSession, Session } from './lib/session.js';

const exports = await load(raw, new URL('./pkg/runtime/scapi_wasm_bg.wasm', import.meta.url));

export const { loadPolicy, loadSignedPolicy, PolicyHandle, version } = api(raw, { compiler: false, exports });
