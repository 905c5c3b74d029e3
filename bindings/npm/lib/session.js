// The agent session's counters, shared by its browser tabs. The agent
// desktop may spread one session over several tabs (a leader tab and
// following ones, re-elected when the leader closes); the options promise
// "L requests per minute" to an application, not L per tab. So the tabs
// of one session decide in one place: a SharedWorker (`session-worker.js`)
// named after the session, holding the session's `PolicyHandle`. Every tab
// of the page's origin that connects with the same name reaches the same
// worker, hence the same counters and quarantines; the worker lives while
// one of them is open, so an election (the leader closing, another taking
// over) changes nothing for the counters.

import { coded } from './api.js';

/** A session's handle in its worker, seen from one tab. */
export class Session {
  #port;
  #next = 0;
  #pending = new Map();
  #closed = null;

  constructor(port) {
    this.#port = port;
    port.onmessage = ({ data }) => {
      const p = this.#pending.get(data?.id);
      if (!p) return;
      this.#pending.delete(data.id);
      if (data.error) p.reject(coded(data.error.code ?? 'internal', data.error.message));
      else p.resolve(data.value);
    };
    port.start();
  }

  /** Rejects every call in flight and every later one: the worker failed. */
  fail(error) {
    this.#closed = error;
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }

  #call(op, args) {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#port.postMessage({ id, op, args });
    });
  }

  /**
   * Makes `policy` (the compiled text) the session's: loaded when the
   * session has none, swapped in otherwise (counters kept), nothing when
   * it is the text already active. With `publicKeys`, only a policy they
   * signed loads. Resolves to the session's policy generation.
   */
  load(policy, signature, publicKeys) {
    if (typeof policy !== 'string') throw coded('usage', 'a session loads the compiled policy as text');
    return this.#call('load', { policy, signature: signature ?? null, publicKeys: publicKeys ?? null });
  }

  /** `PolicyHandle.decide`, in the session's worker. */
  decide(call) {
    return this.#call('decide', { call });
  }

  /** `PolicyHandle.redact`, in the session's worker. */
  redact(event) {
    return this.#call('redact', { event });
  }

  /** Whether the session's policy accepts `origin` for any request. */
  accepts(origin) {
    return this.#call('accepts', { origin });
  }

  /** The error result of a request over its rate limit. */
  rateLimitResult(request) {
    return this.#call('rateLimitResult', { request });
  }

  /** The session's metrics (every tab's decisions). */
  metrics() {
    return this.#call('metrics', {});
  }

  /** Ends a client's session in the worker: its counters and quarantines go. */
  endSession(client) {
    return this.#call('endSession', { client });
  }

  /** Disconnects this tab; the worker lives on while another tab is connected. */
  close() {
    this.fail(coded('session', 'the session was closed'));
    this.#port.close();
  }
}

/**
 * Connects this tab to the session `name` (the agent session's id; every
 * tab of one session gives the same) and loads `policy` into it. Throws
 * code `unsupported` where the platform has no SharedWorker (Node, Chrome
 * on Android): there, a `PolicyHandle` counts for its own tab only.
 */
export async function connectSession(options) {
  if (options === null || typeof options !== 'object') throw coded('usage', 'the options are an object');
  const { name, policy, signature, publicKeys, worker } = options;
  if (typeof name !== 'string' || name.length === 0) throw coded('usage', '`name` is the agent session id, a non-empty string');
  if (typeof SharedWorker === 'undefined') {
    throw coded('unsupported', 'this platform has no SharedWorker: use a `PolicyHandle`, whose counters are this tab\'s only');
  }
  // Written out in full so that bundlers (Vite, webpack) see the worker.
  const shared = worker
    ? new SharedWorker(worker, { type: 'module', name: `scapi:${name}` })
    : new SharedWorker(new URL('../session-worker.js', import.meta.url), { type: 'module', name: `scapi:${name}` });
  const session = new Session(shared.port);
  shared.addEventListener('error', () => session.fail(coded('session', 'the session worker failed to start')));
  await session.load(policy, signature, publicKeys);
  return session;
}
