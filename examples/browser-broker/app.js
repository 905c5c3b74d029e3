// A third-party application embedded in the agent desktop: it posts
// Service Client API requests to its parent and reads the answers. It
// talks to the desktop's origin only (`?desktop=`), and believes only
// messages from there.
const desktop = new URLSearchParams(location.search).get('desktop');
// An iframe talks to its parent; a popup to the window that opened it.
const host = window.opener ?? window.parent;
const pending = new Map();
const received = [];
let next = 0;

window.addEventListener('message', (event) => {
  if (event.origin !== desktop) return;
  received.push(event.data);
  document.querySelector('#out').prepend(`${JSON.stringify(event.data)}\n`);
  const resolve = pending.get(event.data?.referenceId);
  if (resolve) {
    pending.delete(event.data.referenceId);
    resolve(event.data);
  }
});

/** Sends one request; resolves to its answer (never, for an ignored one). */
function call(request, parameters = {}, extra = {}) {
  const referenceId = next++;
  return new Promise((resolve) => {
    pending.set(referenceId, resolve);
    host.postMessage({ request, parameters, referenceId, protocolVersion: 2, ...extra }, desktop);
  });
}

document.querySelector('#me').textContent = location.origin;
document.querySelector('#dial').onclick = () => call('voice.dial', { destination: '5001' });
document.querySelector('#state').onclick = () => call('agent.getState');
document.querySelector('#write').onclick = () => call('interaction.setUserData', { interactionId: '1', userData: { CaseId: 'c-2', AccountNumber: '43' } });
Object.assign(window, { call, received });
