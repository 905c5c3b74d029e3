// The SharedWorker of an agent session (see lib/session.js): one
// `PolicyHandle` for every tab of the session, so that they count in one
// set of counters. Each connected tab sends `{id, op, args}` and gets
// `{id, value}` or `{id, error: {code, message}}`.
const runtime = import('./runtime.js');
const broker = import('./lib/broker.js');

let handle = null;
let seq = 0;
let active = null;

// Loads one after another: two tabs loading at once must not make two
// handles (the second would start the counters again).
let loading = Promise.resolve();

// The keys of the first load that brought some and loaded: from then on
// every load of the session is verified with them, whatever a tab passes
// (a tab cannot turn the session's verification off). Give every key of
// a rotation at once (two keys are valid together).
let pinnedKeys = null;
// Whether the active policy was verified.
let verified = false;

async function load({ policy, signature, publicKeys }) {
  const { loadPolicy, loadSignedPolicy, PolicyHandle } = await runtime;
  const keys = pinnedKeys ?? publicKeys;
  // The same text again is nothing to do, unless it is to be verified and
  // never was.
  if (handle && policy === active && (!keys || verified)) return handle.current().generation;
  const next = keys ? await loadSignedPolicy(policy, signature, keys) : loadPolicy(policy);
  if (handle) handle.swap(next);
  else handle = new PolicyHandle(next);
  active = policy;
  verified = Boolean(keys);
  if (keys) pinnedKeys = keys;
  return handle.current().generation;
}

const ops = {
  load(args) {
    const done = loading.then(() => load(args));
    loading = done.catch(() => {});
    return done;
  },
  // Decided on the worker's clock, in the order the tabs' requests arrive:
  // `at` and `seq` say when and in which order.
  decide: ({ call }) => {
    const at = Date.now();
    const verdict = { ...loaded().decide({ ...call, at }), at, seq: seq++ };
    // The error result goes with the verdict: no second round trip.
    if (verdict.enforced === 'rate-limited') verdict.result = handle.current().policy.rateLimitResult(call.request);
    return verdict;
  },
  redact: ({ event }) => loaded().redact(event),
  accepts: async ({ origin }) => (await broker).acceptsOrigin(loaded().current().policy, origin),
  rateLimitResult: ({ request }) => loaded().current().policy.rateLimitResult(request),
  metrics: () => loaded().metrics(),
  endSession: ({ client }) => loaded().endSession(client),
};

function loaded() {
  if (!handle) throw Object.assign(new Error('the session has no policy loaded'), { code: 'session' });
  return handle;
}

self.addEventListener('connect', (e) => {
  const port = e.ports[0];
  port.onmessage = async ({ data }) => {
    const { id, op, args } = data ?? {};
    try {
      if (!Object.hasOwn(ops, op)) throw Object.assign(new Error(`no operation \`${String(op)}\``), { code: 'usage' });
      port.postMessage({ id, value: await ops[op](args ?? {}) });
    } catch (err) {
      port.postMessage({ id, error: { code: err?.code ?? 'internal', message: String(err?.message ?? err) } });
    }
  };
  port.start();
});
