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

/** The decision on one request; rate limits are decided by the limiter. */
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

/** An error of scapi: `code` says what kind. */
export interface ScapiError extends Error {
  code: string;
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
