// The JavaScript API over the WebAssembly exports of `crates/scapi-wasm`,
// shared by the full build (`index.js`) and the runtime build
// (`runtime.js`). Results cross the boundary as JSON text, except
// `Policy.check`, which returns one number decoded here.

/**
 * Initializes a wasm-bindgen module: from the file in Node, by URL in a
 * page. Resolves to the module's exports (its memory among them).
 */
export async function load(raw, url) {
  const node = typeof process !== 'undefined' && process.versions?.node && url.protocol === 'file:';
  if (node) {
    const { readFile } = await import('node:fs/promises');
    return raw.initSync({ module: await readFile(url) });
  }
  return raw.default({ module_or_path: url });
}

/** Rethrows an error of the WebAssembly side as an `Error` with its `code`. */
export function rethrow(e) {
  if (typeof e === 'string') {
    let parsed;
    try {
      parsed = JSON.parse(e);
    } catch {
      throw new Error(e);
    }
    throw coded(parsed.code, parsed.message);
  }
  throw e;
}

/**
 * An error with a `code`, as every error of the package has: a
 * `TypeError` for an argument of the wrong kind (`usage`), a `RangeError`
 * for one too large, an `Error` otherwise.
 */
export function coded(code, message) {
  const Kind = code === 'usage' ? TypeError : code === 'too-large' ? RangeError : Error;
  return Object.assign(new Kind(message), { code });
}

/**
 * The longest origin, request name or client id a check or an admission
 * takes, in UTF-16 code units. An origin is at most a scheme, a 253-byte
 * host and a port; a request name is two identifiers. A frame can post a
 * string of any length: past this bound it is refused (code `too-large`)
 * before it reaches the WebAssembly side, whose memory never shrinks.
 */
export const MAX_NAME_LENGTH = 65536;

/**
 * The most (origin, request) pairs a policy remembers the decision of:
 * what a broker sees repeats, what a hostile caller invents only fills
 * this and is then decided by the module each time.
 */
const MEMO_PAIRS = 65536;

/** The latest time a limiter takes: 9999-12-31T23:59:59.999Z, in ms. */
const MAX_TIME_MS = 253402300799999;

/**
 * A string a frame chose (an origin, a request name, a client id, an
 * attached-data key): a string, not converted from anything else (an array
 * would be checked as one text and forwarded as another), and bounded.
 */
function bounded(what, value, { identity = false } = {}) {
  if (typeof value !== 'string') {
    throw coded('usage', `the ${what} is a string, not ${value === null ? 'null' : typeof value}`);
  }
  const s = value;
  // An identity (a client, a key) with a lone surrogate would cross as
  // U+FFFD and be one with every other such string.
  if (identity && !s.isWellFormed()) {
    throw coded('usage', `the ${what} has a lone surrogate, which is not Unicode`);
  }
  if (s.length > MAX_NAME_LENGTH) {
    throw coded('too-large', `the ${what} is ${s.length} characters long; at most ${MAX_NAME_LENGTH} are taken`);
  }
  return s;
}

/**
 * Calls `f`, turning the WebAssembly side's errors into `Error`s. Every
 * error leaves with a code: one JavaScript raised on an argument
 * (a `TypeError` of a value JSON cannot hold) is `usage`.
 */
export function call(f) {
  try {
    return f();
  } catch (e) {
    thrown(e);
  }
}

/** Throws `e` as the package's error with a code (see `call`). */
function thrown(e) {
  if (e instanceof Error && e.code === undefined) {
    // A trap of the module is scapi's fault, not the caller's; anything
    // else the glue raised is about an argument (a freed object, a value
    // of the wrong type), said without the glue's Rust words.
    if (e instanceof WebAssembly.RuntimeError) {
      e.code = 'internal';
      throw e;
    }
    const freed = /null pointer passed to rust|recursive use of an object/i.test(e.message);
    throw coded('usage', freed ? 'the object was freed (`free()`), or is in use, and cannot be used' : e.message);
  }
  rethrow(e);
}

/** The most attached-data keys one call takes, and their total length. */
export const MAX_KEYS = 65536;
const MAX_KEYS_LENGTH = 16 * 1024 * 1024;

const encoder = new TextEncoder();

/** The bytes of an export given as a string or bytes. */
export function bytesOf(text) {
  if (typeof text === 'string') return encoder.encode(text);
  if (text instanceof Uint8Array) return text;
  if (text instanceof ArrayBuffer) return new Uint8Array(text);
  throw coded('usage', 'an export is a string or a Uint8Array');
}

/** Builds the API of one build over its raw exports. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes of base64 `text` of exactly `length` bytes, or null. */
function base64Bytes(text, length) {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return bytes.length === length ? bytes : null;
}

/** A key or signature document's JSON, checked, or a `malformed` error. */
function document(text, what, field) {
  let doc;
  try {
    doc = typeof text === 'string' ? JSON.parse(text) : text;
  } catch {
    throw coded('malformed', `not a ${what}: not JSON`);
  }
  if (doc === null || typeof doc !== 'object') throw coded('malformed', `not a ${what}`);
  if (doc.schemaVersion !== 1) throw coded('malformed', `the ${what} has \`schemaVersion\` ${String(doc.schemaVersion)}; this version reads 1`);
  if (doc.algorithm !== 'ed25519') throw coded('malformed', `the ${what} uses the algorithm \`${String(doc.algorithm)}\`; only \`ed25519\` is supported`);
  if (typeof doc.keyId !== 'string' || typeof doc[field] !== 'string') throw coded('malformed', `not a ${what}: \`keyId\` and \`${field}\` are strings`);
  return doc;
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * Checks, with the platform's WebCrypto (Ed25519), that one of the trusted
 * `publicKeys` (the `.pub` documents of `scapi keygen`) signed exactly
 * `text`; `signature` is the `.sig` document, or null when there is none.
 * Throws a `ScapiError` with code `unsigned`, `altered`, `unknown-key` or
 * `malformed`, as the native loader refuses.
 */
export async function verifySignature(text, signature, publicKeys) {
  if (!Array.isArray(publicKeys) || publicKeys.length === 0) {
    throw coded('usage', 'trusted keys are a non-empty array of public key documents (`.pub` of `scapi keygen`)');
  }
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw coded('usage', 'this platform has no WebCrypto (`crypto.subtle`) to verify signatures with');
  const trusted = new Map();
  for (const k of publicKeys) {
    const doc = document(k, 'public key', 'publicKey');
    const raw = base64Bytes(doc.publicKey, 32);
    if (!raw) throw coded('malformed', 'the public key: `publicKey` is not 32 bytes of base64');
    const id = hex(new Uint8Array(await subtle.digest('SHA-256', raw))).slice(0, 16);
    if (id !== doc.keyId) throw coded('malformed', `the public key says it is \`${doc.keyId}\`, but it is \`${id}\``);
    trusted.set(id, raw);
  }
  if (signature === null || signature === undefined) throw coded('unsigned', 'it is not signed');
  const sig = document(signature, 'signature', 'signature');
  const bytes = base64Bytes(sig.signature, 64);
  if (!bytes) throw coded('malformed', 'the signature: `signature` is not 64 bytes of base64');
  const key = trusted.get(sig.keyId);
  if (!key) throw coded('unknown-key', `it is signed by key \`${sig.keyId}\`, which is not trusted`);
  const cryptoKey = await subtle.importKey('raw', key, { name: 'Ed25519' }, false, ['verify']);
  const ok = await subtle.verify({ name: 'Ed25519' }, cryptoKey, bytes, new TextEncoder().encode(text));
  if (!ok) throw coded('altered', `its signature by key \`${sig.keyId}\` does not match it: it was changed after signing`);
}

/**
 * The keys of the attached data a call carries: an array of keys, a
 * `Map`'s keys or a plain object's. Anything else would be checked as no
 * keys at all, so it is refused; so is more than `MAX_KEYS` keys or 16 MiB
 * of them (the module's memory never shrinks).
 */
function keysOf(userData) {
  let list;
  if (Array.isArray(userData)) list = Array.from(userData);
  else if (userData instanceof Map) list = Array.from(userData.keys());
  else if (typeof userData === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(userData))) {
    list = Object.keys(userData);
  } else {
    throw coded('usage', '`userData` is the attached data: a plain object, a `Map`, or an array of its keys');
  }
  if (list.length > MAX_KEYS) {
    throw coded('too-large', `the attached data has ${list.length} keys; at most ${MAX_KEYS} are taken`);
  }
  let total = 0;
  return list.map((k) => {
    const key = bounded('attached-data key', k, { identity: true });
    total += key.length;
    if (total > MAX_KEYS_LENGTH) {
      throw coded('too-large', `the attached data's keys are longer than ${MAX_KEYS_LENGTH} characters in all`);
    }
    return key;
  });
}

/** `key="value"` labels of a Prometheus sample, unescaped. */
function labelsOf(text) {
  const labels = {};
  for (const [, key, value] of (text ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
    labels[key] = value.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/**
 * The numbers of a handle's Prometheus text as an object: the text is the
 * one the native runtime writes, so the two cannot disagree (and the
 * module carries no second serializer).
 */
function metricsOf(text) {
  const m = {
    decisions: [],
    nearLimit: {},
    nearLimitRatio: 0,
    limits: { default: 0, perRequest: {}, quarantineSeconds: null },
    compared: 0,
    disagreements: [],
    generation: 0,
  };
  for (const line of text.split('\n')) {
    const sample = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const [, name, labelText, valueText] = sample;
    const l = labelsOf(labelText);
    const value = Number(valueText);
    switch (name) {
      case 'scapi_decisions_total':
        m.decisions.push({ request: l.request, outcome: l.outcome, reason: l.reason, shadow: l.shadow === 'true', count: value });
        break;
      case 'scapi_near_limit_total':
        m.nearLimit[l.request] = value;
        break;
      case 'scapi_near_limit_ratio':
        m.nearLimitRatio = value;
        break;
      case 'scapi_rate_limit':
        if (l.request === 'default') m.limits.default = value;
        else m.limits.perRequest[l.request] = value;
        break;
      case 'scapi_quarantine_seconds':
        m.limits.quarantineSeconds = value < 0 ? null : value;
        break;
      case 'scapi_candidate_decisions_total':
        m.compared = value;
        break;
      case 'scapi_candidate_disagreements_total':
        m.disagreements.push({ active: l.active, candidate: l.candidate, count: value });
        break;
      case 'scapi_policy_generation':
        m.generation = value;
        break;
    }
  }
  return m;
}

export function api(raw, { compiler, exports }) {
  const names = JSON.parse(raw.names());
  const outcomes = names.outcomes;
  const reasons = names.reasons;
  const admissions = names.admissions;

  // A check writes its two strings into a buffer of the module's memory
  // (`scratch`), the origin in its first half and the request in its
  // second: no allocation and no copy on the other side, and no view made
  // per call. A string too long for its half makes the buffer grow.
  const memory = exports.memory;
  let half = 0;
  let originView = new Uint8Array(0);
  let requestView = originView;
  function grow(n) {
    half = Math.max(half, 512, n);
    const at = raw.scratch(2 * half);
    originView = new Uint8Array(memory.buffer, at, half);
    requestView = new Uint8Array(memory.buffer, at + half, half);
  }
  grow(0);
  /** UTF-8 of `s` into `view`; -1 when it does not fit. */
  function put(s, view) {
    const r = encoder.encodeInto(s, view);
    return r.read === s.length ? r.written : -1;
  }

  /** `{admission, until?, remaining, resetAt}` of the module's numbers. */
  function admissionOf([kind, until, remaining, resetAt]) {
    const headroom = {
      remaining: Number.isNaN(remaining) ? null : remaining,
      resetAt: Number.isNaN(resetAt) ? null : resetAt,
    };
    if (kind === 0) return { admission: admissions[kind], ...headroom };
    return { admission: admissions[kind], until: until < 0 ? null : until, ...headroom };
  }

  // The module's objects behind the API's, for the handle's swaps.
  const rawOf = new WeakMap();

  class RateLimiter {
    #raw;
    constructor(rawLimiter) {
      this.#raw = rawLimiter;
      rawOf.set(this, rawLimiter);
    }

    admit(client, request, atMs) {
      // A time is milliseconds since the epoch, from 1970 to 9999 as in
      // requests files: anything else would count in a window of its own.
      if (atMs !== undefined && atMs !== null && !(typeof atMs === 'number' && atMs >= 0 && atMs <= MAX_TIME_MS)) {
        throw coded('usage', `a time is milliseconds from 0 to ${MAX_TIME_MS}, not \`${String(atMs)}\``);
      }
      const at = atMs === undefined || atMs === null ? undefined : Math.floor(atMs);
      const c = bounded('client', client, { identity: true });
      const r = bounded('request name', request, { identity: true });
      return admissionOf(call(() => this.#raw.admit(c, r, at)));
    }

    endSession(client) {
      const c = bounded('client', client, { identity: true });
      call(() => this.#raw.endSession(c));
    }

    free() {
      this.#raw.free();
    }
  }

  class Policy {
    #raw;
    // Decisions already made: origin → request → decision, for embedded
    // frames and for tabs; `null` once freed.
    #memo = new Map();
    #tabMemo = new Map();
    #memoPairs = 0;
    constructor(rawPolicy) {
      this.#raw = rawPolicy;
      rawOf.set(this, rawPolicy);
    }

    check(origin, request, frame) {
      const tab = frame === 'tab';
      if (!tab && frame !== undefined && frame !== null && frame !== 'embedded') {
        throw coded('usage', `frame \`${String(frame)}\` is neither \`embedded\` nor \`tab\``);
      }
      const o = bounded('origin', origin);
      const q = bounded('request name', request);
      // A check is a function of the policy and its three arguments: a pair
      // decided before is answered from JavaScript, without crossing.
      const memo = tab ? this.#tabMemo : this.#memo;
      const known = memo?.get(o)?.get(q);
      if (known !== undefined) return known;
      // A grown memory detaches the views (their length becomes 0).
      if (originView.length === 0) grow(0);
      let ol = put(o, originView);
      let ql = put(q, requestView);
      if (ol < 0 || ql < 0) {
        // UTF-8 takes at most 3 bytes per UTF-16 unit.
        grow(3 * Math.max(o.length, q.length));
        ol = put(o, originView);
        ql = put(q, requestView);
      }
      let c;
      try {
        c = this.#raw.checkScratch(ol, half, ql, tab);
      } catch (e) {
        thrown(e);
      }
      const outcome = outcomes[c % 8];
      c = Math.floor(c / 8);
      const reason = reasons[c % 16];
      c = Math.floor(c / 16);
      const kind = c % 4;
      const line = Math.floor(c / 4);
      const decision = Object.freeze({
        outcome,
        reason,
        entry: kind === 0 ? null : Object.freeze({ origin: kind === 1 ? '*' : o, line }),
      });
      // Bounded: past MEMO_PAIRS, pairs are decided by the module each time.
      if (memo && this.#memoPairs < MEMO_PAIRS) {
        let byRequest = memo.get(o);
        if (!byRequest) memo.set(o, (byRequest = new Map()));
        byRequest.set(q, decision);
        this.#memoPairs += 1;
      }
      return decision;
    }

    splitWrite(keys, request) {
      // The keys of the attached data (`Object.keys(userData)`), each a
      // bounded string: a map or a string given instead would strip nothing.
      if (!Array.isArray(keys)) {
        throw coded('usage', 'the keys are an array of strings (`Object.keys(userData)`)');
      }
      const list = keysOf(keys);
      const r = request === undefined || request === null ? undefined : bounded('request name', request);
      return JSON.parse(call(() => this.#raw.splitWrite(list, r)));
    }

    redact(event) {
      // A boxed string is text too, not an object to serialize.
      if (event instanceof String) event = String(event);
      const asText = typeof event === 'string';
      if (!asText && (event === null || typeof event !== 'object')) {
        throw coded('event', 'an event is JSON text or an object');
      }
      const text = asText ? event : call(() => JSON.stringify(event));
      if (typeof text !== 'string') throw coded('event', 'the event has no JSON form');
      const r = JSON.parse(call(() => this.#raw.redact(text)));
      return { event: asText ? r.event : JSON.parse(r.event), removed: r.removed };
    }

    rateLimiter() {
      return new RateLimiter(call(() => this.#raw.rateLimiter()));
    }

    rateLimitResult(request) {
      const r = bounded('request name', request);
      return JSON.parse(call(() => this.#raw.rateLimitResult(r)));
    }

    toJSON() {
      return JSON.parse(call(() => this.#raw.toJSON()));
    }

    // The full build only (removed below from the runtime's).
    explain(origin) {
      return JSON.parse(this.#raw.explain(String(origin)));
    }

    evaluate(requests, options = {}) {
      return JSON.parse(call(() => this.#raw.evaluate(String(requests), options.fileName)));
    }

    free() {
      this.#memo = null;
      this.#tabMemo = null;
      this.#raw.free();
    }
  }
  if (!compiler) {
    delete Policy.prototype.explain;
    delete Policy.prototype.evaluate;
  }

  function loadPolicy(compiled) {
    if (typeof compiled !== 'string' && (compiled === null || typeof compiled !== 'object')) {
      throw coded('usage', 'a compiled policy is JSON or YAML text, or an object');
    }
    let text = typeof compiled === 'string' ? compiled : call(() => JSON.stringify(compiled));
    if (typeof text !== 'string') throw coded('usage', 'the compiled policy has no JSON form');
    if (compiler && !text.trimStart().startsWith('{')) {
      // A compiled policy written as YAML.
      text = call(() => raw.compiledYamlToJson(text));
    }
    return new Policy(call(() => raw.Policy.load(text)));
  }

  const isPolicy = (p) => p instanceof Policy;
  const notPolicy = () => coded('usage', 'a policy handle holds a loaded policy (`loadPolicy`)');

  // A broker's one active policy: swapped whole (JavaScript runs one
  // thing at a time, so a request decided on `current()` sees one policy),
  // its counters and quarantines kept across swaps. Decisions go through
  // the module's handle (`crates/scapi-policy`'s `PolicyHandle`), which
  // counts them, compares them with a candidate and logs them exactly as
  // the native runtime does.
  class PolicyHandle {
    #raw;
    #policy;
    #limiter;
    #generation = 0;
    #log;
    constructor(policy, options = {}) {
      if (!isPolicy(policy)) throw notPolicy();
      if (options === null || typeof options !== 'object' || Array.isArray(options)) throw coded('usage', 'the options are an object');
      for (const key of Object.keys(options)) {
        if (!['nearLimitRatio', 'decisionLog', 'salt'].includes(key)) {
          throw coded('usage', `unknown option \`${key}\`; a handle takes \`nearLimitRatio\`, \`decisionLog\` and \`salt\``);
        }
      }
      const { nearLimitRatio = 0.8, decisionLog, salt = '' } = options;
      if (typeof nearLimitRatio !== 'number' || !(nearLimitRatio >= 0 && nearLimitRatio <= 1)) {
        throw coded('usage', `\`nearLimitRatio\` is a number from 0 to 1, not \`${String(nearLimitRatio)}\``);
      }
      if (decisionLog !== undefined && typeof decisionLog !== 'function') {
        throw coded('usage', '`decisionLog` is a function that takes one record');
      }
      if (typeof salt !== 'string') throw coded('usage', '`salt` is a string');
      if (!salt.isWellFormed()) throw coded('usage', '`salt` has a lone surrogate, which is not Unicode');
      this.#log = decisionLog;
      this.#raw = call(() => new raw.Handle(rawOf.get(policy), nearLimitRatio, decisionLog ? salt : undefined));
      this.#policy = policy;
      this.#limiter = new RateLimiter(call(() => this.#raw.limiter()));
    }

    current() {
      return { policy: this.#policy, limiter: this.#limiter, generation: this.#generation };
    }

    swap(policy) {
      if (!isPolicy(policy)) throw notPolicy();
      const previous = this.current();
      call(() => this.#raw.swap(rawOf.get(policy)));
      this.#policy = policy;
      this.#limiter = new RateLimiter(call(() => this.#raw.limiter()));
      this.#generation += 1;
      return previous;
    }

    reload(compiled) {
      // Loaded first: a policy that does not load throws, and nothing changes.
      this.swap(loadPolicy(compiled));
      return this.current();
    }

    async reloadSigned(compiled, signature, publicKeys) {
      this.swap(await loadSignedPolicy(compiled, signature, publicKeys));
      return this.current();
    }

    setCandidate(policy) {
      if (policy !== null && policy !== undefined && !isPolicy(policy)) throw notPolicy();
      // The module takes its own copy of the policy.
      if (policy) call(() => this.#raw.setCandidate(rawOf.get(policy)));
      else this.#raw.clearCandidate();
    }

    decide(request) {
      if (request === null || typeof request !== 'object' || Array.isArray(request)) {
        throw coded('usage', 'a call is an object: `{origin, request, client, frame?, userData?, at?}`');
      }
      const { origin, request: name, client, frame, userData, at } = request;
      const tab = frame === 'tab';
      if (!tab && frame !== undefined && frame !== null && frame !== 'embedded') {
        throw coded('usage', `frame \`${String(frame)}\` is neither \`embedded\` nor \`tab\``);
      }
      let keys;
      if (userData !== undefined && userData !== null) {
        keys = keysOf(userData);
      }
      if (at !== undefined && at !== null && !(typeof at === 'number' && at >= 0 && at <= MAX_TIME_MS)) {
        throw coded('usage', `a time is milliseconds from 0 to ${MAX_TIME_MS}, not \`${String(at)}\``);
      }
      const d = JSON.parse(
        call(() => this.#raw.decide(
          bounded('origin', origin),
          bounded('request name', name, { identity: true }),
          bounded('client', client, { identity: true }),
          tab,
          keys,
          at === undefined || at === null ? undefined : Math.floor(at),
        )),
      );
      const { record, ...decision } = d;
      if (record && this.#log) {
        // Logging never changes a decision: a sink that throws is its own
        // problem, reported on the console.
        try {
          this.#log(record);
        } catch (e) {
          console.error('scapi: the decision log threw:', e);
        }
      }
      return decision;
    }

    redact(event) {
      // The active policy's redaction; a policy in shadow strips nothing
      // (the event goes as it came) and says what it would have removed.
      const r = this.#policy.redact(event);
      if (call(() => rawOf.get(this.#policy).shadowAll())) return { event, removed: r.removed, shadow: true };
      return { ...r, shadow: false };
    }

    metrics() {
      return metricsOf(this.#raw.metricsText());
    }

    metricsText() {
      return this.#raw.metricsText();
    }

    endSession(client) {
      this.#raw.endSession(bounded('client', client, { identity: true }));
    }
  }

  async function loadSignedPolicy(compiled, signature, publicKeys) {
    if (typeof compiled !== 'string') {
      throw coded('usage', 'a signed policy is the text that was signed, exactly');
    }
    await verifySignature(compiled, signature, publicKeys);
    return loadPolicy(compiled);
  }

  const exported = { loadPolicy, loadSignedPolicy, PolicyHandle, version: raw.version() };
  if (compiler) {
    // Numbers JSON would turn into `null` (NaN, Infinity) or round (past
    // 2^53) are refused here; the module checks the rest.
    const lintOptions = (options) => {
      for (const key of ['maxInputBytes', 'maxPerRule']) {
        const n = options?.[key];
        if (n !== undefined && n !== null && !(Number.isSafeInteger(n) && n >= 0)) {
          throw coded('usage', `option \`${key}\` must be a whole number from 0 to 2^53, not \`${String(n)}\``);
        }
      }
      return call(() => JSON.stringify(options ?? {}));
    };
    exported.lint = (text, options = {}) =>
      JSON.parse(call(() => raw.lint(bytesOf(text), lintOptions(options))));
    exported.compile = (text, options = {}) =>
      JSON.parse(call(() => raw.compile(bytesOf(text), lintOptions(options))));
    exported.rules = () => JSON.parse(raw.rules());
    exported.rule = (code) => JSON.parse(call(() => raw.rule(String(code))));
    exported.parseRequests = (text, options = {}) =>
      JSON.parse(call(() => raw.parseRequests(String(text), options.fileName)));
  }
  return exported;
}
