// scapi/runtime — what a broker in a page or in Node needs to enforce a
// compiled policy: load it, check requests, limit their rate, strip
// attached-data keys a frame may not write, redact those it may not read.

/** What happens to a request or an event. */
export type Outcome = 'allow' | 'deny' | 'rate-limited' | 'ignored' | 'redacted';

/** Why. */
export type Reason =
  | 'granted'
  | 'origin-not-accepted'
  | 'origin-not-canonical'
  | 'request-not-permitted'
  | 'no-writable-keys'
  | 'rate-limit'
  | 'quarantine'
  | 'read-allowed'
  | 'store-unavailable'
  | 'tab-dial-only'
  | 'null-origin';

/**
 * How the calling application is displayed: embedded in the agent desktop,
 * or in a new tab, where the vendor's API gives access to the dial
 * operation (`voice.dial`) only.
 */
export type Frame = 'embedded' | 'tab';

/** The entry of the export that decided: its origin (or `*`) and line. */
export interface Entry {
  origin: string;
  line: number;
}

/**
 * The decision on one request; rate limits are decided by the limiter. A
 * policy answers a pair it decided before with the same frozen object.
 */
export interface Decision {
  outcome: 'allow' | 'deny';
  reason: Reason;
  entry: Entry | null;
}

/** The attached data of a request split by `write-allowed`. */
export interface WriteSplit {
  /** Keys that may be written, in request order. */
  allowed: string[];
  /** Keys stripped, in request order. */
  denied: string[];
  /**
   * Whether the request is refused (`no-writable-keys`): only a request
   * whose purpose is the write (`interaction.setUserData`,
   * `interaction.deleteUserData`) with no key left. A dial, transfer or
   * consultation proceeds with its attached data stripped.
   */
  deny: boolean;
}

/** A redacted event or result: as given (text stays text), and the keys removed. */
export interface Redacted<T> {
  event: T;
  removed: string[];
}

/**
 * One admission. `limited`: answer with `policy.rateLimitResult(request)`;
 * `ignored`: send no answer. `until` is the end of the quarantine in ms
 * since the epoch, `null` for "until the session ends".
 */
export type Admission = (
  | { admission: 'admitted' }
  | { admission: 'limited' | 'ignored'; until: number | null }
) & Headroom;

/**
 * What is left of a limited request's window: `remaining` requests it
 * still admits (0 once limited or ignored) and `resetAt`, when it counts
 * from zero again (ms since the epoch; for a limited or ignored request,
 * the quarantine's end). Both `null` when the request has no limit (and
 * `resetAt` for a quarantine until the session ends).
 */
export interface Headroom {
  remaining: number | null;
  resetAt: number | null;
}

/** The error result WWE sends for the request over a rate limit. */
export interface RateLimitResult {
  errorMessage: string;
  request: string;
}

/** Per client and request, fixed 60-second windows; in memory. */
export interface RateLimiter {
  /**
   * Admits one request now (`Date.now()`) or at `atMs` (milliseconds from 0
   * to 253402300799999). Throws code `usage` for another time or a
   * non-string, `too-large` for a string over `MAX_NAME_LENGTH`.
   */
  admit(client: string, request: string, atMs?: number): Admission;
  /** Ends a client's session: its counters and quarantines go. */
  endSession(client: string): void;
  /** Frees the WebAssembly memory now rather than when collected. */
  free(): void;
}

/** A loaded policy. */
export interface Policy {
  /**
   * Decides a request: no repair of the origin, compared byte for byte. A
   * frame shown as a `tab` may only dial (`tab-dial-only`). Throws code
   * `usage` for another frame name.
   */
  check(origin: string, request: string, frame?: Frame): Decision;
  /**
   * Filters the attached data a request carries (the keys of
   * `setUserData`'s map, `deleteUserData`'s list, the `userData` of
   * `voice.dialEx`, the transfers, the consultation). `request` defaults to
   * `interaction.setUserData`.
   */
  splitWrite(keys: readonly string[], request?: string): WriteSplit;
  /** Throws an `Error` with `code: 'event'` when the text is not JSON. */
  redact(event: string): Redacted<string>;
  redact<T extends object>(event: T): Redacted<T>;
  rateLimiter(): RateLimiter;
  rateLimitResult(request: string): RateLimitResult;
  /** The compiled policy document. */
  toJSON(): object;
  free(): void;
}

/**
 * What kind of error: `usage` (an argument of the wrong kind: a
 * `TypeError`), `too-large` (a `RangeError`), `internal` (a fault of
 * scapi's); loading a policy: `syntax`, `schema-version`, `origin`,
 * `filter`, `grants`, `rate-limit`, `user-data`, `shadow`, `load`;
 * signatures: `unsigned`, `altered`, `unknown-key`, `malformed`; `event`
 * (an event that is not JSON); `requests` (a malformed requests file, full
 * build); `unsupported` (no SharedWorker for `connectSession`) and
 * `session` (the session's worker failed or was closed).
 */
export type ErrorCode =
  | 'usage'
  | 'too-large'
  | 'internal'
  | 'syntax'
  | 'schema-version'
  | 'origin'
  | 'filter'
  | 'grants'
  | 'rate-limit'
  | 'user-data'
  | 'shadow'
  | 'load'
  | 'unsigned'
  | 'altered'
  | 'unknown-key'
  | 'malformed'
  | 'event'
  | 'requests'
  | 'unsupported'
  | 'session';

/** An error of scapi: `code` says what kind. */
export interface ScapiError extends Error {
  code: ErrorCode;
}

/**
 * Loads a compiled policy (what `scapi compile` writes), as JSON text or
 * its parsed object. Throws a `ScapiError` whose `code` is the kind of
 * problem: `syntax`, `schema-version`, `origin`, `filter`, `grants`,
 * `rate-limit`, `user-data` or `shadow` (a `shadow.entries` origin the
 * policy does not have).
 */
export declare function loadPolicy(compiled: string | object): Policy;

/**
 * Loads a compiled policy after checking, with the platform's WebCrypto
 * (Ed25519), that one of `publicKeys` (the `.pub` documents of `scapi
 * keygen`) signed exactly `compiled` (the text as signed); `signature` is
 * the `.sig` document of `scapi sign`, or null when there is none. Rejects
 * with a `ScapiError` of code `unsigned`, `altered`, `unknown-key` or
 * `malformed` (and `loadPolicy`'s codes for a verified text that does not
 * load).
 */
export declare function loadSignedPolicy(
  compiled: string,
  signature: string | object | null,
  publicKeys: readonly (string | object)[],
): Promise<Policy>;

/** One request as a broker receives it, for `PolicyHandle.decide`. */
export interface Call {
  /** `event.origin`, as the browser gave it. */
  origin: string;
  request: string;
  /** Whose counters it counts in (the agent session). */
  client: string;
  frame?: Frame;
  /**
   * The attached data it carries: a plain object, a `Map`, or its keys (at
   * most 65,536 keys, 16 MiB of them in all: more throws `too-large`).
   */
  userData?: Record<string, unknown> | ReadonlyMap<string, unknown> | readonly string[];
  /** Milliseconds since the epoch; `Date.now()` when absent. */
  at?: number;
}

/** The whole decision of one request. */
export interface Verdict extends Headroom {
  /** In shadow, the outcome it would have had. */
  outcome: Outcome;
  reason: Reason;
  entry: Entry | null;
  /** The policy or the deciding entry runs in shadow: nothing was enforced. */
  shadow: boolean;
  /** What to do: `outcome`, or `allow` in shadow. */
  enforced: Outcome;
  /** The limiter's answer, when it was asked. */
  admission: 'admitted' | 'limited' | 'ignored' | null;
  /** End of the quarantine of a limited or ignored request (`null`: until the session ends). */
  until?: number | null;
  /** Attached-data keys `write-allowed` does not list. */
  deniedKeys: string[];
  /** The keys to strip before passing the request on (none in shadow). */
  strip: string[];
}

/** One line of the decision log: never an attached-data value. */
export interface DecisionRecord {
  time: number;
  /** The SHA-256 of the export the policy was compiled from. */
  policy: string;
  /** The client id, hashed with the handle's salt. */
  client: string;
  origin: string;
  request: string;
  outcome: Outcome;
  reason: Reason;
  line: number | null;
  shadow: boolean;
}

/** Options of a `PolicyHandle`. */
export interface HandleOptions {
  /** An admission that leaves at most (1 − ratio) of its window is near the limit. Default 0.8. */
  nearLimitRatio?: number;
  /** Called with a record of each decision (it cannot change the decision). */
  decisionLog?: (record: DecisionRecord) => void;
  /** The salt of the client hashes in the log (a fleet shares one). */
  salt?: string;
}

/** The numbers of a handle's metrics, as the Prometheus text shows them. */
export interface Metrics {
  decisions: { request: string; outcome: Outcome; reason: Reason; shadow: boolean; count: number }[];
  nearLimit: Record<string, number>;
  nearLimitRatio: number;
  limits: { default: number; perRequest: Record<string, number>; quarantineSeconds: number | null };
  /** Decisions a candidate policy made beside the active one. */
  compared: number;
  disagreements: { active: Outcome; candidate: Outcome; count: number }[];
  generation: number;
}

/** What a handle's policy is now: decide one request on it. */
export interface Active {
  policy: Policy;
  /** Counts in the handle's one store, shared by every policy swapped in. */
  limiter: RateLimiter;
  /** How many swaps came before it: 0 for the first policy. */
  generation: number;
}

/**
 * A broker's one active policy. A swap keeps every counter and quarantine
 * (they belong to the client and request, not to a policy), and a changed
 * limit applies from the swap; a policy that does not load or verify
 * throws and the active one stays.
 */
export declare class PolicyHandle {
  constructor(policy: Policy, options?: HandleOptions);
  /**
   * Decides one request on the active policy: the check, the write filter
   * on its attached data, the rate limit; counted in the metrics, compared
   * with the candidate, logged.
   */
  decide(call: Call): Verdict;
  /** Runs `policy` beside the active one, never enforced, counting its disagreements (`null`: stops). */
  setCandidate(policy: Policy | null): void;
  /**
   * Removes from an event the attached-data keys the active policy's
   * `read-allowed` does not list; a policy in shadow strips nothing (the
   * event as given, `shadow: true`) and says what it would have removed.
   */
  redact<T extends string | object>(event: T): Redacted<T> & { shadow: boolean };
  metrics(): Metrics;
  /** The metrics in the Prometheus text format. */
  metricsText(): string;
  /** Ends a client's session: its counters and quarantines go. */
  endSession(client: string): void;
  current(): Active;
  /** Makes `policy` the active one; returns the one it replaces. */
  swap(policy: Policy): Active;
  /** `loadPolicy`, then `swap`; throws and changes nothing when it does not load. */
  reload(compiled: string | object): Active;
  /** `loadSignedPolicy`, then `swap`; rejects and changes nothing when it does not verify. */
  reloadSigned(
    compiled: string,
    signature: string | object | null,
    publicKeys: readonly (string | object)[],
  ): Promise<Active>;
}

/** The version of scapi. */
export declare const version: string;

/**
 * The longest origin, request name or client id `check` and `admit` take
 * (UTF-16 code units); a longer one throws code `too-large`.
 */
export declare const MAX_NAME_LENGTH: number;

/** The version of the message protocol the broker speaks (the vendor's `protocolVersion`). */
export declare const PROTOCOL_VERSION: 2;

/**
 * A request an application posts to the agent desktop, in the vendor's
 * wire shape. The attached data travels in `parameters.userData` (a map
 * of keys to values) and, for `interaction.deleteUserData`, in
 * `parameters.keys`: that is where the broker filters it. Anything else
 * in the message (an `origin`, a `frameId`) is never believed.
 */
export interface RequestMessage {
  request: string;
  /** `keys` for `interaction.deleteUserData` only, `userData` for the others. */
  parameters?: { userData?: Record<string, unknown> | Map<string, unknown>; keys?: string[]; [name: string]: unknown };
  /** Echoed in the answer. */
  referenceId?: unknown;
  protocolVersion?: number;
}

/**
 * The broker's answer, posted to the application's registered origin:
 * `done` with the host's result, or `fail` with an error result such as
 * the rate limit's `{errorMessage, request}`. An ignored request, or one
 * from an origin the policy does not accept, gets none.
 */
export interface ResponseMessage {
  request: string;
  status: 'done' | 'fail';
  result: unknown;
  referenceId?: unknown;
  protocolVersion: 2;
}

/** A notification the host pushes (`{event, data}`), as the vendor's. */
export interface NotificationMessage {
  event: string;
  data?: unknown;
  [name: string]: unknown;
}

/** An allowed request, as the host's `onRequest` gets it. */
export interface AllowedRequest {
  request: string;
  /** The message's parameters, the attached data stripped to what `write-allowed` lists. */
  parameters: RequestMessage['parameters'];
  /** The registered origin (which is `event.origin`). */
  origin: string;
  frame: Frame;
  /** The registration's name. */
  name: string;
  /** The application's window. */
  window: MessageEventSource;
  verdict: Verdict;
}

/** What the broker did with one message. */
export type BrokerReport =
  | {
      kind: 'dropped';
      /**
       * `unregistered-source`: not from a registered window;
       * `origin-mismatch`: a registered window showing another origin
       * (navigated, or sandboxed: `null`); `not-a-request`: not a
       * `{request, …}` object.
       */
      why: 'unregistered-source' | 'origin-mismatch' | 'not-a-request';
      origin: string;
      /** For `origin-mismatch`: the origin registered. */
      expected?: string;
    }
  /** A request the runtime could not decide (a name too long, a session without a policy): no answer. */
  | { kind: 'malformed'; origin: string; request: string; at: number; error: string; code: ErrorCode; replied: null }
  | {
      kind: 'decided';
      origin: string;
      request: string;
      /** The counters it counted in: `"<session> <name>"`. */
      client: string;
      /** When it was decided (ms since the epoch). */
      at: number;
      frame: Frame;
      name: string;
      verdict: Verdict & { seq?: number };
      /** The attached-data keys it carried (never the values). */
      keys?: string[];
      /** The answer sent, or `null` for none. */
      replied: 'done' | 'fail' | null;
      /** Unregistered (or registered again) while it was decided: nothing done. */
      withdrawn?: boolean;
      /** Why the answer could not be posted (a result that cannot be cloned). */
      replyError?: string;
      /** Its parameters were malformed: decided as carrying nothing, never passed to the host. */
      malformed?: { error: string; code: ErrorCode };
    };

/** Options of a `Broker`. */
export interface BrokerOptions {
  /**
   * The agent session's id. An application's requests count in the
   * counters of `"<session> <name>"`: the same in every tab of the session.
   */
  session: string;
  /**
   * Answers an allowed request: its value is the `done` result, what it
   * throws the `fail` one; either is redacted to `read-allowed` on its way
   * back (results are JSON).
   */
  onRequest(request: AllowedRequest): unknown | Promise<unknown>;
  /** Told of every message the broker looked at. */
  onReport?(report: BrokerReport): void;
  /** The clock, in ms since the epoch (a `PolicyHandle`'s decisions; a session decides on its worker's). */
  now?(): number;
}

/**
 * The agent desktop's side of the postMessage API: takes each
 * `MessageEvent` itself. It looks only at messages whose `event.source` is
 * a registered window and whose `event.origin` is the origin that window
 * was registered with; decides on `event.origin` alone; applies the
 * policy, the rate limit (an ignored request gets no answer) and the
 * write filter; answers with `postMessage(reply, registeredOrigin)`, never
 * `"*"`; redacts the events it pushes. Usable as an event listener:
 * `window.addEventListener('message', broker)`.
 */
export declare class Broker {
  constructor(handle: PolicyHandle | Session, options: BrokerOptions);
  /**
   * Accepts messages from `target` (an iframe element or a window, such as
   * a popup) when they come from `origin`, written as the browser
   * serialises it (`new URL(origin).origin`; code `origin` otherwise).
   * `frame: 'tab'` for an application shown in a tab (dial only); `name`
   * (default: the origin) names its counters.
   */
  register(target: HTMLIFrameElement | MessageEventSource, origin: string, options?: { frame?: Frame; name?: string }): void;
  /** Stops accepting messages from `target`; true when it was registered. */
  unregister(target: HTMLIFrameElement | MessageEventSource): boolean;
  /** Listens to `target`'s messages (default: `globalThis`); returns the function that stops. */
  listen(target?: EventTarget): () => void;
  /** Decides one message and answers it; resolves to its report. Never rejects for what a frame posts. */
  handleEvent(event: MessageEvent): Promise<BrokerReport>;
  /**
   * Pushes a notification, redacted to the keys `read-allowed` lists, to
   * every registered frame (or those of `to`) whose origin the policy
   * accepts, each at its registered origin. Resolves to how many got it.
   */
  notify(message: NotificationMessage, to?: MessageEventSource | MessageEventSource[]): Promise<number>;
}

/**
 * The policy and counters of one agent session, shared by its browser
 * tabs: a `PolicyHandle` in a SharedWorker named after the session. The
 * worker lives while one tab of the session is open, so a leader tab
 * closing (an election) keeps every counter.
 */
export declare class Session {
  /** Makes `policy` the session's (counters kept); nothing when it is already. Resolves to the generation. */
  load(policy: string, signature?: string | object | null, publicKeys?: readonly (string | object)[] | null): Promise<number>;
  decide(call: Call): Promise<Verdict & { at: number; seq: number; result?: RateLimitResult }>;
  redact<T extends string | object>(event: T): Promise<Redacted<T> & { shadow: boolean }>;
  accepts(origin: string): Promise<boolean>;
  rateLimitResult(request: string): Promise<RateLimitResult>;
  metrics(): Promise<Metrics>;
  endSession(client: string): Promise<void>;
  /** Disconnects this tab; the worker lives on while another tab is connected. */
  close(): void;
}

/**
 * Connects this tab to the agent session `name` (every tab of the session
 * gives the same) and loads `policy` (the compiled text; with
 * `publicKeys`, only a policy they signed). Rejects with code
 * `unsupported` where there is no SharedWorker (Node, Chrome on Android):
 * a `PolicyHandle` then counts for its own tab only. `worker` is the URL
 * of `scapi/session-worker.js` when a bundler moved it.
 */
export declare function connectSession(options: {
  name: string;
  policy: string;
  signature?: string | object | null;
  publicKeys?: readonly (string | object)[] | null;
  worker?: string | URL;
}): Promise<Session>;
