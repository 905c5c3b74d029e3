// scapi in Node: `index.js` with its WebAssembly read and initialized
// synchronously, so that the module has no top-level await and CommonJS
// can `require('scapi')`.
import { readFileSync } from 'node:fs';
import * as raw from './pkg/full/scapi_wasm.js';
import { api } from './lib/api.js';

export { MAX_NAME_LENGTH } from './lib/api.js';
export { Broker, PROTOCOL_VERSION } from './lib/broker.js';
export { connectSession, Session } from './lib/session.js';

const exports = raw.initSync({ module: readFileSync(new URL('./pkg/full/scapi_wasm_bg.wasm', import.meta.url)) });

export const { lint, compile, loadPolicy, loadSignedPolicy, PolicyHandle, rules, rule, parseRequests, version } = api(raw, {
  compiler: true,
  exports,
});
