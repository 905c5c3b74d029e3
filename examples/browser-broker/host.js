// The agent desktop's side of the Service Client API: every message an
// embedded application posts goes through scapi's broker, which decides it
// on `event.origin` with the compiled policy, limits its rate, filters its
// attached data, and answers at the application's registered origin only.
import { Broker, connectSession, loadPolicy, PolicyHandle } from 'scapi/runtime';

const config = await (await fetch('desktop.json')).json();
const policy = await (await fetch('policy.json')).text();

// The counters belong to the agent session, whichever of its tabs a
// request comes from: the tabs share them through a SharedWorker. Where
// there is none, this tab counts on its own.
let decider;
try {
  decider = await connectSession({ name: config.session, policy });
} catch (e) {
  if (e.code !== 'unsupported') throw e;
  decider = new PolicyHandle(loadPolicy(policy));
}

// What the desktop does for an allowed request (a stand-in: a real one
// dials, reads the agent's state, writes attached data…). Its value is the
// application's `done` result; what it throws, the `fail` one.
let interactions = 0;
function perform({ request, parameters }) {
  switch (request) {
    case 'voice.dial':
      return { interactionId: String(++interactions), destination: parameters?.destination ?? null };
    case 'agent.getState':
      return { state: 'READY' };
    case 'interaction.setUserData':
      return { written: Object.keys(parameters?.userData ?? {}) };
    default:
      return {};
  }
}

// Every message looked at, for the log below (and whoever inspects the page).
const reports = [];
globalThis.scapiReports = reports;
function show(report) {
  reports.push(report);
  const line = report.kind === 'decided'
    ? `${report.origin} ${report.request}: ${report.verdict.outcome} (${report.verdict.reason})${report.replied ? `, answered ${report.replied}` : ', no answer'}`
    : `${report.origin} ${report.request ?? ''}: ${report.kind} (${report.why ?? report.error})`;
  document.querySelector('#log').prepend(`${line}\n`);
}

const broker = new Broker(decider, { session: config.session, onRequest: perform, onReport: show });

// Each application in a frame of its own, registered with the origin it is
// served from: a message from any other window, or from this one once it
// shows another origin, is dropped unread.
for (const app of config.apps) {
  const figure = document.createElement('figure');
  const caption = document.createElement('figcaption');
  caption.textContent = `${app.name} (${app.frame === 'tab' ? 'shown as a tab: dial only' : 'embedded'})`;
  const iframe = document.createElement('iframe');
  // Its own origin and scripts, but no navigating the desktop away (which
  // would end the session's counters with its last tab).
  iframe.sandbox = 'allow-scripts allow-same-origin allow-forms allow-popups';
  iframe.name = app.name;
  iframe.title = app.name;
  iframe.src = `${app.origin}/app.html?desktop=${encodeURIComponent(location.origin)}`;
  figure.append(caption, iframe);
  document.querySelector('#apps').append(figure);
  broker.register(iframe, app.origin, { frame: app.frame, name: app.name });
}
broker.listen(window);

// Events reach every application redacted to the keys it may read.
document.querySelector('#notify').addEventListener('click', async () => {
  const userData = { AccountNumber: '42', CaseId: 'c-1', IW_BundleUid: 'b-7' };
  const sent = await broker.notify({
    event: 'interaction',
    data: { eventType: 'ATTACHED_DATA_CHANGED', interaction: { interactionId: '1', userData } },
  });
  document.querySelector('#log').prepend(`ATTACHED_DATA_CHANGED with ${Object.keys(userData).join(', ')}: sent to ${sent} applications, redacted to what read-allowed lists\n`);
});

document.querySelector('#session').textContent = config.session;
document.querySelector('#counting').textContent = decider instanceof PolicyHandle ? 'in this tab' : 'across the session\'s tabs';
globalThis.scapiBroker = broker;
