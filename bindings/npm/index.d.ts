// scapi — the full build: the linter and compiler of the WWE Service
// Client API security options, and the runtime of `scapi/runtime`.
import type { Policy as RuntimePolicy } from './runtime.js';

export { Broker, connectSession, loadSignedPolicy, PolicyHandle, PROTOCOL_VERSION, Session } from './runtime.js';
export type {
  Active,
  Admission,
  Decision,
  AllowedRequest,
  BrokerOptions,
  BrokerReport,
  Entry,
  ErrorCode,
  NotificationMessage,
  Outcome,
  RateLimiter,
  RateLimitResult,
  Reason,
  Redacted,
  RequestMessage,
  ResponseMessage,
  ScapiError,
  WriteSplit,
} from './runtime.js';

/** Options of `lint` and `compile`; all optional. */
export interface LintOptions {
  /** What reports call the file (default `<input>`); its extension helps detect the format. */
  fileName?: string;
  /** The export's format; detected from the name and the text when absent. */
  format?: 'cfg' | 'json' | 'yaml';
  /** The object the export belongs to (GAX file names say it). */
  object?: 'application' | 'person' | 'agent-group';
  /** Refuse larger exports (default 64 MiB). */
  maxInputBytes?: number;
  /** List at most this many findings of one rule (0: all). */
  maxPerRule?: number;
}

/** A machine-applicable fix: replace `length` bytes at byte `offset`. */
export interface Fix {
  replacement: string;
  offset: number;
  length: number;
  /** The change place by place, when it has several. */
  edits?: { replacement: string; offset: number; length: number }[];
  /** `unsafe`: it grants something the file does not name; `scapi lint --fix` applies it only with `--unsafe-fixes`. */
  applicability: 'safe' | 'unsafe';
}

/** One finding, as `scapi lint --format json` writes it. */
export interface Diagnostic {
  code: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  file: string;
  /** 1-based; columns in characters. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** In bytes of the UTF-8 file. */
  offset: number;
  length: number;
  help?: string;
  fix?: Fix;
  omitted?: number;
}

/** The `scapi lint --format json` document. */
export interface LintReport {
  schemaVersion: 1;
  tool: { name: 'scapi'; version: string };
  diagnostics: Diagnostic[];
  summary: { files: number; errors: number; warnings: number; infos: number };
}

/** What a policy grants one origin: the `scapi explain --format json` document. */
export interface Explanation {
  schemaVersion: 1;
  origin: string;
  /** Why the origin is accepted (`granted`) or not. */
  reason: import('./runtime.js').Reason;
  entry: import('./runtime.js').Entry | null;
  /** The filters of the entry that accepts it. */
  allow: string[];
  requests: { name: string; enabled: boolean; why: string; rateLimit: number }[];
  /** Filters granting names outside the catalog. */
  otherFilters: string[];
  /** `null`: until the session ends. */
  quarantineSeconds: number | null;
}

/** One decision of an evaluation, as `scapi eval --format json` writes it. */
export interface Decided {
  index: number;
  outcome: import('./runtime.js').Outcome;
  reason: import('./runtime.js').Reason;
  entry: import('./runtime.js').Entry | null;
  result?: import('./runtime.js').RateLimitResult;
  quarantineUntil?: string | null;
  deniedKeys?: string[];
  event?: unknown;
  removedKeys?: string[];
  expected?: import('./runtime.js').Outcome;
}

/** The `scapi eval --format json` document. */
export interface EvalReport {
  schemaVersion: 1;
  decisions: Decided[];
  summary: Record<string, number>;
}

/** A policy of the full build: the runtime's, plus explain and evaluate. */
export interface Policy extends RuntimePolicy {
  explain(origin: string): Explanation;
  /**
   * Replays requests (JSON Lines, a JSON array or a YAML list) with a fresh
   * limiter, each at its `at`. Throws a `ScapiError` with code `requests`
   * for a malformed item.
   */
  evaluate(requests: string, options?: { fileName?: string }): EvalReport;
}

/** A request or event of a requests file, as `scapi eval` reads it. */
export type RequestItem =
  | {
      index: number;
      at: number;
      expect: string | null;
      origin: string;
      request: string;
      client: string;
      userData: string[] | null;
      keys: string[] | null;
      frame: 'embedded' | 'tab';
    }
  | { index: number; at: number; expect: string | null; event: string }
  | { index: number; at: number; policy: string };

/** A rule of the catalog. */
export interface Rule {
  code: string;
  name: string;
  severity: 'error' | 'warning' | 'info';
  summary: string;
}

/** Lints an export (text, or its bytes). */
export declare function lint(text: string | Uint8Array, options?: LintOptions): LintReport;

/** Compiles an export: the compiled policy, `null` when an error refuses it, and the findings. */
export declare function compile(
  text: string | Uint8Array,
  options?: LintOptions,
): { policy: object | null; diagnostics: LintReport };

/** Loads a compiled policy, as JSON (text or object) or YAML text. */
export declare function loadPolicy(compiled: string | object): Policy;

/** Every rule. */
export declare function rules(): Rule[];

/** One rule with its documentation page (Markdown). Throws code `usage` for an unknown code. */
export declare function rule(code: string): Rule & { documentation: string };

/** The items of a requests file. Throws code `requests` for a malformed item. */
export declare function parseRequests(text: string, options?: { fileName?: string }): RequestItem[];

/** The version of scapi. */
export declare const version: string;

/**
 * The longest origin, request name or client id `check` and `admit` take
 * (UTF-16 code units); a longer one throws code `too-large`.
 */
export declare const MAX_NAME_LENGTH: number;
