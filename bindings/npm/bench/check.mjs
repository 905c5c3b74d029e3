// `policy.check` called from JavaScript, beside a JavaScript `Map` lookup
// of the same (origin, request) pairs in the same run: a 10k-origin policy,
// 8 192 pairs of allowed requests, requests the filters refuse, unknown and
// non-canonical origins. Prints ns per call of each, and their ratio; a
// policy answers a pair it decided before from JavaScript, so the cold
// cost (each pair's first check) is printed too.
//
//   npm run bench
import { loadPolicy } from '../runtime.js';

const PROFILES = [
  ['agent.*', 'voice.dial'],
  ['interaction.*', 'voice.*'],
  ['agent.getState', 'interaction.getInteractions'],
  ['media.*', 'outbound.*', 'system.popupToast'],
];
const REQUESTS = ['agent.get', 'voice.dial', 'voice.hangUp', 'interaction.accept', 'media.setState', 'system.popupToast', 'email.create', 'custom.thing'];

const N = 10_000;
const origins = [];
for (let i = 0; i < N; i++) {
  origins.push({
    origin: `https://app${i}.tenant${i % 97}.example.com`,
    allow: PROFILES[i % PROFILES.length],
    grants: [],
    line: 1,
  });
}
const policy = loadPolicy({
  schemaVersion: 1,
  source: { name: 'bench.cfg', sha256: '0' },
  origins,
  anyOrigin: null,
  rateLimit: { windowSeconds: 60, default: 0, perRequest: {}, quarantineSeconds: 60 },
  userData: { read: '*', write: '*' },
  webExtensions: [],
});

// The baseline: each origin's filters in a Map, matched as the policy does
// for catalog names (exact name or namespace.*).
const naive = new Map(origins.map((o) => [o.origin, new Set(o.allow)]));
function naiveCheck(origin, request) {
  const allow = naive.get(origin);
  if (!allow) return false;
  return allow.has(request) || allow.has(`${request.slice(0, request.indexOf('.'))}.*`);
}

let seed = 7;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};
const pairs = [];
for (let i = 0; i < 8192; i++) {
  const kind = rand(10);
  const o = origins[rand(N)].origin;
  const origin = kind < 7 ? o : kind < 9 ? `https://unknown${i}.example.net` : `${o.toUpperCase()}/`;
  pairs.push([origin, REQUESTS[rand(REQUESTS.length)]]);
}

function measure(f) {
  let sink = 0;
  // Warm up, then the best of 7 rounds of 40 passes.
  for (let r = 0; r < 5; r++) for (const [o, q] of pairs) sink += f(o, q) ? 1 : 0;
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let pass = 0; pass < 40; pass++) for (const [o, q] of pairs) sink += f(o, q) ? 1 : 0;
    const ns = Number(process.hrtime.bigint() - start) / (40 * pairs.length);
    best = Math.min(best, ns);
  }
  return { ns: best, sink };
}

// Cold: each pair's first check, on policies that have decided nothing
// yet (the module's path, strings crossing into its memory).
function cold() {
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const fresh = loadPolicy(policy.toJSON());
    const start = process.hrtime.bigint();
    for (const [o, q] of pairs) fresh.check(o, q);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / pairs.length);
    fresh.free();
  }
  return best;
}
const first = cold();
const ours = measure((o, q) => policy.check(o, q).outcome === 'allow');
const base = measure(naiveCheck);
const agree = pairs.filter(([o, q]) => (policy.check(o, q).outcome === 'allow') === naiveCheck(o, q)).length;
console.log(`policy.check from JavaScript, 10k-origin policy: ${ours.ns.toFixed(0)} ns/check`);
console.log(`JavaScript Map lookup of the same pairs:        ${base.ns.toFixed(0)} ns/lookup`);
console.log(`a pair's first check (decided by the module):   ${first.toFixed(0)} ns/check`);
console.log(`ratio: ${(ours.ns / base.ns).toFixed(2)}x the Map, target <= 1.5x ${ours.ns <= 1.5 * base.ns ? 'met' : 'MISSED'} (decisions agree on ${agree} of ${pairs.length} pairs)`);
