// scapi/runtime: what a broker in a page needs (load a compiled policy,
// check requests, rate limits, attached-data filtering and redaction),
// without the linter and compiler. See README.md and runtime.d.ts.
import * as raw from './pkg/runtime/scapi_wasm.js';
import { api, load } from './lib/api.js';

export { MAX_NAME_LENGTH } from './lib/api.js';

const exports = await load(raw, new URL('./pkg/runtime/scapi_wasm_bg.wasm', import.meta.url));

export const { loadPolicy, loadSignedPolicy, PolicyHandle, version } = api(raw, { compiler: false, exports });
