// The browser broker: what an agent-desktop page does with the
// `MessageEvent`s its embedded applications post to it. Plain JavaScript
// over a decider — a `PolicyHandle` (one page) or a `Session` (the tabs of
// one agent session, counting in one SharedWorker) — with nothing of the
// WebAssembly module: every decision is the handle's.
//
// What it guarantees, whatever a frame posts:
//   * a message is looked at only when `event.source` is a window the host
//     registered and `event.origin` is the origin it registered that window
//     with: an unregistered frame of an allowed origin, a registered frame
//     navigated elsewhere and a sandboxed frame (origin `null`) are dropped;
//   * the decision is made on `event.origin` alone, never on anything the
//     message says about itself;
//   * a reply goes to `postMessage(reply, registeredOrigin)`, never `"*"`,
//     and an ignored request (quarantine) gets no reply at all;
//   * the attached data the host sees is the write-filtered one;
//   * an event pushed to a frame is redacted with the read allowlist.

import { coded } from './api.js';

/** The version of the message protocol (the vendor's `protocolVersion`). */
export const PROTOCOL_VERSION = 2;

const isPlainObject = (v) =>
  v !== null && typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v));

/**
 * The origin a frame is registered with: as the browser serialises it
 * (`new URL(origin).origin`), an `http:` or `https:` one. Never repaired:
 * a host that writes `https://Bücher.example` is told the form to write.
 */
function registeredOrigin(origin) {
  if (typeof origin !== 'string') throw coded('usage', 'a frame is registered with its origin, a string');
  let url;
  try {
    url = new URL(origin);
  } catch {
    throw coded('origin', `\`${origin}\` is not an origin`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw coded('origin', `\`${origin}\` is not an \`http:\` or \`https:\` origin`);
  }
  if (url.origin !== origin) {
    throw coded('origin', `\`${origin}\` is not an origin as the browser writes it: write \`${url.origin}\``);
  }
  return origin;
}

/** The window behind a registration target: an iframe element or a window. */
function windowOf(target) {
  // Nothing else is asked of a window: most of a cross-origin one throws.
  if (typeof HTMLIFrameElement !== 'undefined' && target instanceof HTMLIFrameElement) {
    if (!target.contentWindow) throw coded('usage', 'the iframe is not in a document yet: register it once it is attached');
    return target.contentWindow;
  }
  if (target !== null && typeof target === 'object' && typeof target.postMessage === 'function') return target;
  throw coded('usage', 'a frame is registered by its iframe element or its window');
}

/** The requests whose purpose is the write of attached data. */
const WRITES = new Set(['interaction.setUserData', 'interaction.deleteUserData']);

/** The request that names the keys it removes (`parameters.keys`). */
const DELETE = 'interaction.deleteUserData';

/**
 * The attached data a request carries, as the protocol places it:
 * `parameters.keys` for `interaction.deleteUserData` (the keys it
 * removes), `parameters.userData` (a map of keys to values) for every
 * other request that carries some. A request with its attached data in
 * the other field is malformed: the field it uses could be left empty
 * while the other made it look writable. `null` when the request carries
 * none; a `usage` error for another shape.
 */
function attachedKeys(request, parameters) {
  // The requests whose purpose is the write carry attached data even when
  // a frame leaves it out: none is no key to write (`no-writable-keys`).
  const writes = WRITES.has(request);
  if (parameters === undefined || parameters === null) return writes ? [] : null;
  if (!isPlainObject(parameters)) throw coded('usage', '`parameters` is an object');
  // An own `__proto__` is invisible to the broker's reads but not to a
  // host's copy (`Object.assign`, `for…in`): refused.
  if (Object.hasOwn(parameters, '__proto__')) throw coded('usage', '`parameters` has a `__proto__` key');
  const has = (field) => Object.hasOwn(parameters, field) && parameters[field] !== undefined;
  if (request === DELETE) {
    if (has('userData')) throw coded('usage', '`interaction.deleteUserData` names its keys in `parameters.keys`, not `userData`');
    if (!has('keys')) return [];
    if (!Array.isArray(parameters.keys)) throw coded('usage', '`parameters.keys` is an array of attached-data keys');
    return [...parameters.keys];
  }
  if (has('keys')) throw coded('usage', `\`${request}\` carries its attached data in \`parameters.userData\`, not \`keys\``);
  if (!has('userData')) return writes ? [] : null;
  const ud = parameters.userData;
  if (ud instanceof Map) return [...ud.keys()];
  if (isPlainObject(ud)) return Object.keys(ud);
  throw coded('usage', '`parameters.userData` is a map of attached-data keys to values');
}

/** `parameters` with the keys `strip` removed from its attached data. */
function stripped(request, parameters, strip) {
  if (strip.length === 0 || !isPlainObject(parameters)) return parameters;
  const gone = new Set(strip);
  const out = { ...parameters };
  const ud = parameters.userData;
  if (ud instanceof Map) out.userData = new Map([...ud].filter(([k]) => !gone.has(k)));
  else if (isPlainObject(ud)) out.userData = Object.fromEntries(Object.entries(ud).filter(([k]) => !gone.has(k)));
  if (request === DELETE && Array.isArray(parameters.keys)) {
    out.keys = parameters.keys.filter((k) => !gone.has(k));
  }
  return out;
}

/** Text of a thrown value, whatever it is (its `toString` may throw). */
function textOf(e) {
  try {
    return typeof e?.message === 'string' ? e.message : String(e);
  } catch {
    return 'error';
  }
}

/** What a thrown value tells the application: the vendor's `{errorMessage}` form. */
function failure(request, e) {
  if (isPlainObject(e) && typeof e.errorMessage === 'string') return { ...e, request };
  return { errorMessage: textOf(e), request };
}

/** The error result of a denied request. */
function denialResult(request, reason) {
  const why = {
    'request-not-permitted': `The request '${request}' is not permitted for this application.`,
    'tab-dial-only': `The request '${request}' is not available to an application shown in a tab: only 'voice.dial' is.`,
    'no-writable-keys': `The request '${request}' carries no attached data this application may write.`,
    'store-unavailable': `The request '${request}' cannot be counted now; try again later.`,
  }[reason];
  return { errorMessage: why ?? `The request '${request}' is not permitted.`, request };
}

/** Reasons that say the origin itself is refused, whatever the request. */
const ORIGIN_REFUSED = new Set(['origin-not-accepted', 'origin-not-canonical', 'null-origin']);

/** Whether `policy` accepts `origin` for any request. */
export function acceptsOrigin(policy, origin) {
  return !ORIGIN_REFUSED.has(policy.check(origin, 'system.getAllowedServices').reason);
}

/**
 * The decider's interface, whichever it is: a `PolicyHandle` answers at
 * once, a `Session` through its worker.
 */
function deciderOf(handle) {
  if (handle && typeof handle.decide === 'function' && typeof handle.redact === 'function') return handle;
  throw coded('usage', 'a broker decides with a `PolicyHandle` or a `Session` (`connectSession`)');
}

export class Broker {
  #decider;
  #session;
  #onRequest;
  #onReport;
  #now;
  /** Whether the decider is this page's own handle (else a session's worker). */
  #local;
  /** Registered windows: window → {origin, frame, name}. */
  #frames = new Map();

  /**
   * `handle`: a `PolicyHandle` or a `Session`. Options: `session`, the
   * agent session's id (an application's requests count in the counters
   * of `"<session> <name>"`, `name` its registration's, by default its
   * origin: the same in every tab of the session); `onRequest(request)`,
   * the host's implementation of an allowed request (its value is the
   * `done` result; what it throws, the `fail` one); `onReport(report)`,
   * told of every message looked at; `now()`, the clock in ms.
   */
  constructor(handle, options = {}) {
    this.#decider = deciderOf(handle);
    this.#local = typeof handle.current === 'function';
    if (!isPlainObject(options)) throw coded('usage', 'the options are an object');
    for (const key of Object.keys(options)) {
      if (!['session', 'onRequest', 'onReport', 'now'].includes(key)) {
        throw coded('usage', `unknown option \`${key}\`; a broker takes \`session\`, \`onRequest\`, \`onReport\` and \`now\``);
      }
    }
    const { session, onRequest, onReport, now = Date.now } = options;
    if (typeof session !== 'string' || session.length === 0) {
      throw coded('usage', '`session` is the id of the agent session the counters belong to, a non-empty string');
    }
    if (typeof onRequest !== 'function') throw coded('usage', '`onRequest` is the function that answers an allowed request');
    if (onReport !== undefined && typeof onReport !== 'function') throw coded('usage', '`onReport` is a function');
    if (typeof now !== 'function') throw coded('usage', '`now` is a function returning milliseconds since the epoch');
    this.#session = session;
    this.#onRequest = onRequest;
    this.#onReport = onReport;
    this.#now = now;
  }

  /**
   * Accepts messages from `target` (an iframe element or a window, such as
   * a popup `window.open` returned) when they come from `origin`. `frame`
   * is how it is shown: `embedded` (default) or `tab` (dial only). A window
   * registered again takes the new registration.
   */
  register(target, origin, options = {}) {
    const win = windowOf(target);
    if (!isPlainObject(options)) throw coded('usage', 'the options are an object');
    const { frame = 'embedded', name = origin } = options;
    if (frame !== 'embedded' && frame !== 'tab') {
      throw coded('usage', `frame \`${String(frame)}\` is neither \`embedded\` nor \`tab\``);
    }
    if (typeof name !== 'string') throw coded('usage', '`name` is a string');
    this.#frames.set(win, { origin: registeredOrigin(origin), frame, name });
  }

  /** Stops accepting messages from `target`; true when it was registered. */
  unregister(target) {
    return this.#frames.delete(windowOf(target));
  }

  /** Listens to `target`'s (the page's window) messages; returns the function that stops. */
  listen(target = globalThis) {
    const listener = (event) => {
      this.handleEvent(event).catch((e) => console.error('scapi: the broker failed on a message:', e));
    };
    target.addEventListener('message', listener);
    return () => target.removeEventListener('message', listener);
  }

  /**
   * Decides one `MessageEvent` and answers it. Resolves to the report of
   * what was done (also given to `onReport`). Never rejects for anything a
   * frame posts.
   */
  async handleEvent(event) {
    const report = await this.#handle(event);
    if (this.#onReport) {
      try {
        const r = this.#onReport(report);
        if (r && typeof r.then === 'function') r.then(undefined, (e) => console.error('scapi: onReport failed:', e));
      } catch (e) {
        console.error('scapi: onReport threw:', e);
      }
    }
    return report;
  }

  async #handle(event) {
    const origin = event?.origin;
    const registration = event?.source ? this.#frames.get(event.source) : undefined;
    if (!registration) return { kind: 'dropped', why: 'unregistered-source', origin };
    // The frame was navigated, or is sandboxed (`null`), or another
    // document of it posted: not the application registered.
    if (origin !== registration.origin) return { kind: 'dropped', why: 'origin-mismatch', origin, expected: registration.origin };
    const data = event.data;
    if (!isPlainObject(data) || typeof data.request !== 'string') {
      return { kind: 'dropped', why: 'not-a-request', origin };
    }
    const { request, parameters } = data;
    // Echoed as given: a string or a number (an object, a port, could not
    // be sent back, or would be sent back transferred).
    const referenceId = typeof data.referenceId === 'string' || Number.isFinite(data.referenceId) ? data.referenceId : undefined;
    let replyError = null;
    let replied = null;
    const reply = (status, result) => {
      const message = { request, status, result, protocolVersion: PROTOCOL_VERSION };
      if (referenceId !== undefined) message.referenceId = referenceId;
      try {
        // Never "*": were the frame navigated since, the browser drops it.
        event.source.postMessage(message, registration.origin);
        replied = status;
      } catch (e) {
        // A result that cannot be cloned: the report says so.
        replyError = textOf(e);
        try {
          event.source.postMessage({ ...message, status: 'fail', result: { errorMessage: 'The answer could not be sent.', request } }, registration.origin);
          replied = 'fail';
        } catch {
          // nothing more to say
        }
      }
    };
    let at = this.#now();
    // Counters belong to the application in the agent session: the same
    // application in another tab of the session counts in the same ones.
    const client = `${this.#session} ${registration.name}`;
    let userData = null;
    let malformed = null;
    try {
      userData = attachedKeys(request, parameters);
    } catch (e) {
      // Decided as carrying nothing (and counted) all the same, so that
      // a malformed request gets no answer where a well-formed one would
      // get none: from a refused origin, or in quarantine.
      malformed = e;
    }
    let verdict;
    try {
      const call = { origin, request, client, frame: registration.frame };
      if (this.#local) call.at = at;
      if (userData) call.userData = userData;
      verdict = await this.#decider.decide(call);
      // A session decides on its worker's clock, in the order its tabs'
      // requests arrive there.
      if (!this.#local) at = verdict.at;
    } catch (e) {
      // A request the runtime cannot take (a name too long) or cannot
      // decide now (a session without a policy): no answer.
      return { kind: 'malformed', origin, request, at, error: textOf(e), code: e?.code ?? 'internal', replied: null };
    }
    const base = { kind: 'decided', origin, request, client, at, frame: registration.frame, name: registration.name, verdict };
    // The attached data's keys, never its values.
    if (userData) base.keys = userData;
    const answered = () => {
      const r = { ...base, replied };
      if (replyError) r.replyError = replyError;
      if (malformed) r.malformed = { error: textOf(malformed), code: malformed?.code ?? 'usage' };
      return r;
    };
    // Unregistered (or registered again) while it was decided: the frame
    // is no longer the one that asked, and nothing is done for it.
    if (this.#frames.get(event.source) !== registration) return { ...base, replied: null, withdrawn: true };
    switch (verdict.enforced) {
      case 'ignored':
        return answered();
      case 'rate-limited':
        reply('fail', verdict.result ?? (await this.#rateLimitResult(request)));
        return answered();
      case 'deny':
        // An origin the policy refuses gets no answer, as an application
        // the options do not name gets none from the agent desktop.
        if (!ORIGIN_REFUSED.has(verdict.reason)) reply('fail', denialResult(request, verdict.reason));
        return answered();
      default:
        break;
    }
    if (malformed) {
      reply('fail', { errorMessage: `The request is malformed: ${textOf(malformed)}`, request });
      return answered();
    }
    const allowed = stripped(request, parameters, verdict.strip);
    let status = 'done';
    let result;
    try {
      result = await this.#onRequest({
        request,
        parameters: allowed,
        origin,
        frame: registration.frame,
        name: registration.name,
        window: event.source,
        verdict,
      });
      if (result === undefined) result = {};
    } catch (e) {
      status = 'fail';
      result = failure(request, e);
    }
    // What goes back to the frame is redacted as an event is: the
    // attached data it may not read never leaves (a policy in shadow
    // strips nothing). A result is JSON.
    if (result !== null && typeof result === 'object') {
      try {
        result = (await this.#decider.redact(result)).event;
      } catch (e) {
        status = 'fail';
        result = { errorMessage: 'The answer could not be sent.', request };
        replyError = textOf(e);
      }
    }
    reply(status, result);
    return answered();
  }

  /** Whether the active policy accepts `origin` at all. */
  async #accepts(origin) {
    if (this.#decider.accepts) return this.#decider.accepts(origin);
    return acceptsOrigin(this.#decider.current().policy, origin);
  }

  async #rateLimitResult(request) {
    return this.#decider.rateLimitResult
      ? this.#decider.rateLimitResult(request)
      : this.#decider.current().policy.rateLimitResult(request);
  }

  /**
   * Pushes a notification (`{event, data, …}`) to the registered frames
   * (or those of `to`, a window or an array of them): each gets it redacted
   * with the read allowlist, at its registered origin. Resolves to the
   * number of frames it was posted to.
   */
  async notify(message, to) {
    if (!isPlainObject(message) || typeof message.event !== 'string') {
      throw coded('usage', 'a notification is an object with an `event` name, as `{event, data}`');
    }
    const targets = to === undefined ? [...this.#frames.keys()] : (Array.isArray(to) ? to : [to]).map(windowOf);
    // The registrations as they are now: one removed while the event is
    // redacted is still not sent anything (checked again below).
    const registrations = targets.map((win) => {
      const registration = this.#frames.get(win);
      if (!registration) throw coded('usage', 'a notification goes to registered frames only');
      return [win, registration];
    });
    const { event: redacted, shadow } = await this.#decider.redact(message);
    const out = { protocolVersion: PROTOCOL_VERSION, ...redacted };
    let posted = 0;
    for (const [win, registration] of registrations) {
      // A frame the policy does not accept hears nothing of the agent (a
      // policy in shadow enforces nothing, so it hears what it would).
      if (!shadow && !(await this.#accepts(registration.origin))) continue;
      if (this.#frames.get(win) !== registration) continue;
      win.postMessage(out, registration.origin);
      posted += 1;
    }
    return posted;
  }
}
