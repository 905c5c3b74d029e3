// The scapi playground: an editor for an option export with live findings,
// one-click fixes, rule pages, the compiled policy, explain and a requests
// table — all on the npm package (WebAssembly), offline. The whole state
// lives in the URL fragment: #export=<base64url of the UTF-8 text>
// &format=cfg|json|yaml, plus &origin=, &requests=<base64url> and &tab=.
import * as scapi from '../bindings/npm/index.js';

const $ = (id) => document.getElementById(id);
const textarea = $('text');
const state = { export: '', format: '', origin: '', requests: '', tab: 'problems' };
let compiled = { policy: null, diagnostics: null };
let loaded = null; // the loaded policy of the last export that compiled

// ---------------------------------------------------------------------------
// The URL fragment

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** base64url of the UTF-8 text, without padding. */
export function encode(text) {
  const bytes = encoder.encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The text of base64url; `null` when it is not base64url of UTF-8. */
export function decode(b64) {
  try {
    const std = b64.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(std + '='.repeat((4 - (std.length % 4)) % 4));
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

function readFragment() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (!p.has('export')) return false;
  state.export = decode(p.get('export') ?? '') ?? '';
  state.format = ['cfg', 'json', 'yaml'].includes(p.get('format')) ? p.get('format') : '';
  state.origin = p.get('origin') ?? '';
  state.requests = p.has('requests') ? (decode(p.get('requests')) ?? '') : '';
  state.tab = p.get('tab') ?? 'problems';
  return true;
}

function writeFragment() {
  const p = new URLSearchParams();
  p.set('export', encode(state.export));
  if (state.format) p.set('format', state.format);
  if (state.origin) p.set('origin', state.origin);
  if (state.requests) p.set('requests', encode(state.requests));
  if (state.tab !== 'problems') p.set('tab', state.tab);
  history.replaceState(null, '', `#${p}`);
}

// ---------------------------------------------------------------------------
// Text helpers

const escapeHtml = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** A message with its `code` spans. */
const withCode = (s) => escapeHtml(s).replace(/`([^`]+)`/g, '<code>$1</code>');

/** Maps byte offsets of the UTF-8 text to indices of the JavaScript string. */
function byteIndex(text) {
  const map = new Uint32Array(encoder.encode(text).length + 1);
  let b = 0;
  let i = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    map.fill(i, b, b + n);
    b += n;
    i += ch.length;
  }
  map[b] = i;
  return (offset) => map[Math.min(Math.max(offset, 0), b)];
}

/** Applies a fix (its edits, or itself) to the text; offsets are bytes. */
function applyFix(text, fix) {
  const edits = (fix.edits?.length ? fix.edits : [fix]).slice().sort((a, b) => b.offset - a.offset);
  let bytes = encoder.encode(text);
  for (const e of edits) {
    const r = encoder.encode(e.replacement);
    const next = new Uint8Array(bytes.length - e.length + r.length);
    next.set(bytes.subarray(0, e.offset), 0);
    next.set(r, e.offset);
    next.set(bytes.subarray(e.offset + e.length), e.offset + r.length);
    bytes = next;
  }
  return decoder.decode(bytes);
}

// ---------------------------------------------------------------------------
// The editor: a textarea over a backdrop that shows the findings' spans

const RANK = { info: 1, warning: 2, error: 3 };
const CLASS = ['', 'info', 'warning', 'error'];

function renderEditor() {
  const text = textarea.value;
  const diags = compiled.diagnostics?.diagnostics ?? [];
  const at = byteIndex(text);
  const level = new Uint8Array(text.length + 1);
  const lineLevel = new Map();
  for (const d of diags) {
    const start = at(d.offset);
    const end = Math.max(at(d.offset + d.length), start + 1);
    const r = RANK[d.severity] ?? 1;
    for (let i = start; i < end && i <= text.length; i++) level[i] = Math.max(level[i], r);
    lineLevel.set(d.line, Math.max(lineLevel.get(d.line) ?? 0, r));
  }
  let html = '';
  let run = 0;
  let from = 0;
  const flush = (to) => {
    if (to <= from) return;
    const piece = escapeHtml(text.slice(from, to));
    html += run ? `<mark class="${CLASS[run]}">${piece}</mark>` : piece;
  };
  for (let i = 0; i <= text.length; i++) {
    const l = i < text.length ? level[i] : 0;
    if (l !== run || i === text.length) {
      flush(i);
      from = i;
      run = l;
    }
  }
  // A finding at the very end (a missing line) still shows.
  if (level[text.length]) html += `<mark class="${CLASS[level[text.length]]}"> </mark>`;
  $('backdrop').innerHTML = `${html}\n`;
  const lines = text.split('\n').length;
  let gutter = '';
  for (let n = 1; n <= lines; n++) {
    const l = lineLevel.get(n);
    gutter += l ? `<span class="${CLASS[l]}" data-line="${n}">${n}</span>\n` : `${n}\n`;
  }
  $('gutter').innerHTML = gutter;
  syncScroll();
}

function syncScroll() {
  $('backdrop').scrollTop = textarea.scrollTop;
  $('backdrop').scrollLeft = textarea.scrollLeft;
  $('gutter').scrollTop = textarea.scrollTop;
}

function select(d) {
  const at = byteIndex(textarea.value);
  textarea.focus();
  textarea.setSelectionRange(at(d.offset), at(d.offset + d.length));
  const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
  textarea.scrollTop = Math.max(0, (d.line - 4) * lineHeight);
  syncScroll();
}

// ---------------------------------------------------------------------------
// Findings

function renderProblems() {
  const list = $('problems');
  const report = compiled.diagnostics;
  list.replaceChildren();
  const diags = report?.diagnostics ?? [];
  const s = report?.summary ?? { errors: 0, warnings: 0, infos: 0 };
  $('badge').textContent = diags.length ? String(diags.length) : '';
  $('badge').className = `badge ${s.errors ? 'error' : s.warnings ? 'warning' : ''}`;
  $('counts').textContent =
    `${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.infos} info` +
    (compiled.policy ? ' — compiles' : ' — compile refuses it');
  $('counts').className = `counts ${s.errors ? 'error' : 'ok'}`;
  if (!diags.length) {
    const li = document.createElement('li');
    li.className = 'clean';
    li.textContent = 'No problems found.';
    list.append(li);
    return;
  }
  for (const d of diags) {
    const li = document.createElement('li');
    li.className = `problem ${d.severity}`;
    li.dataset.code = d.code;
    li.dataset.line = String(d.line);
    li.innerHTML = `
      <div class="head">
        <span class="sev">${d.severity}</span>
        <a href="#" class="rule-code" title="Read the rule's page">${d.code}</a>
        <span class="msg">${withCode(d.message)}</span>
        <a href="#" class="loc" title="Show in the export">${d.line}:${d.column}</a>
      </div>
      ${d.help ? `<div class="help">${withCode(d.help)}</div>` : ''}
      ${d.omitted ? `<div class="help">and ${d.omitted} more of this rule</div>` : ''}`;
    li.querySelector('.rule-code').addEventListener('click', (e) => {
      e.preventDefault();
      showRule(d.code);
    });
    li.querySelector('.loc').addEventListener('click', (e) => {
      e.preventDefault();
      select(d);
    });
    if (d.fix) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'fix';
      const unsafe = d.fix.applicability === 'unsafe';
      b.textContent = (d.fix.replacement === '' && !d.fix.edits?.length ? 'Fix: remove' : 'Fix') + (unsafe ? ' (unsafe)' : '');
      b.className = unsafe ? 'fix unsafe' : 'fix';
      b.title =
        (d.fix.replacement ? `Replace with ${d.fix.replacement}` : 'Remove it') +
        (unsafe ? ' — unsafe: it grants something the export does not name' : '');
      b.addEventListener('click', () => {
        setExport(applyFix(textarea.value, d.fix));
      });
      li.querySelector('.head').append(b);
    }
    list.append(li);
  }
}

// ---------------------------------------------------------------------------
// Compiled policy, explain, requests, rule pages

function renderPolicy() {
  if (compiled.policy) {
    $('policy-note').textContent = 'The compiled policy a broker loads (scapi compile).';
    $('policy').textContent = JSON.stringify(compiled.policy, null, 2);
  } else {
    $('policy-note').textContent = 'No policy: compile refuses an export with errors. Fix them in Problems.';
    $('policy').textContent = '';
  }
}

function renderExplain() {
  const table = $('explain');
  table.replaceChildren();
  $('origin').value = state.origin;
  if (!state.origin) {
    $('explain-head').textContent = 'What does the policy let an origin do? Type it exactly as the browser presents it.';
    return;
  }
  if (!loaded) {
    $('explain-head').textContent = 'No policy to explain: the export does not compile.';
    return;
  }
  const e = loaded.explain(state.origin);
  const enabled = e.requests.filter((r) => r.enabled).length;
  $('explain-head').innerHTML = e.entry
    ? `<strong>${escapeHtml(e.origin)}</strong> is accepted by entry <code>${escapeHtml(e.entry.origin)}</code> (line ${e.entry.line}): ${enabled} of ${e.requests.length} requests enabled.`
    : `<strong>${escapeHtml(e.origin)}</strong> is refused: <code>${e.reason}</code>.`;
  table.innerHTML = '<thead><tr><th>request</th><th>state</th><th>limit</th><th>why</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const r of e.requests) {
    const tr = document.createElement('tr');
    tr.className = r.enabled ? 'on' : 'off';
    tr.innerHTML = `<td><code>${r.name}</code></td><td>${r.enabled ? 'enabled' : 'disabled'}</td><td>${r.rateLimit ? `${r.rateLimit}/min` : '—'}</td><td>${withCode(r.why)}</td>`;
    body.append(tr);
  }
  table.append(body);
}

function renderRequests() {
  const table = $('decisions');
  table.replaceChildren();
  if ($('requests').value !== state.requests) $('requests').value = state.requests;
  if (!state.requests.trim()) {
    $('requests-note').textContent = '';
    return;
  }
  if (!loaded) {
    $('requests-note').textContent = 'No policy to evaluate with: the export does not compile.';
    return;
  }
  let items;
  let report;
  try {
    items = scapi.parseRequests(state.requests, { fileName: 'requests.jsonl' });
    report = loaded.evaluate(state.requests, { fileName: 'requests.jsonl' });
  } catch (e) {
    $('requests-note').textContent = e.message;
    $('requests-note').className = 'note error';
    return;
  }
  $('requests-note').className = 'note';
  const s = report.summary;
  $('requests-note').textContent = Object.entries(s)
    .filter(([, n]) => n)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  table.innerHTML = '<thead><tr><th>#</th><th>client</th><th>origin</th><th>request</th><th>outcome</th><th>reason</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const [i, d] of report.decisions.entries()) {
    const item = items[i] ?? {};
    const tr = document.createElement('tr');
    tr.className = `outcome-${d.outcome}`;
    const what = item.event !== undefined ? '<em>event</em>' : `<code>${escapeHtml(item.request ?? '')}</code>`;
    const why = d.reason + (d.quarantineUntil ? ` until ${d.quarantineUntil}` : d.quarantineUntil === null ? ' until the session ends' : '');
    tr.innerHTML = `<td>${d.index}</td><td>${escapeHtml(item.client ?? '')}</td><td>${escapeHtml(item.origin ?? '')}</td><td>${what}</td><td><span class="pill">${d.outcome}</span></td><td>${escapeHtml(why)}</td>`;
    body.append(tr);
  }
  table.append(body);
}

/** A rule page's Markdown, as HTML: headings, paragraphs, lists, code. */
function markdown(md) {
  const out = [];
  const blocks = md.split(/\n```/);
  blocks.forEach((block, i) => {
    if (i % 2 === 1) {
      const nl = block.indexOf('\n');
      out.push(`<pre><code>${escapeHtml(block.slice(nl + 1).replace(/\n$/, ''))}</code></pre>`);
      return;
    }
    for (const para of block.split(/\n\s*\n/)) {
      const p = para.trim();
      if (!p) continue;
      const h = /^(#{1,4}) (.*)$/.exec(p);
      if (h) out.push(`<h${h[1].length + 1}>${withCode(h[2])}</h${h[1].length + 1}>`);
      else if (/^[-*] /.test(p)) out.push(`<ul>${p.split(/\n[-*] /).map((li) => `<li>${withCode(li.replace(/^[-*] /, ''))}</li>`).join('')}</ul>`);
      else out.push(`<p>${withCode(p)}</p>`);
    }
  });
  return out.join('\n');
}

function showRule(code) {
  const r = scapi.rule(code);
  $('rule').innerHTML = `<h2><code>${r.code}</code> ${r.name} <span class="sev ${r.severity}">${r.severity}</span></h2><p class="summary">${withCode(r.summary)}</p>${markdown(r.documentation)}`;
  showTab('rule');
}

function showTab(tab) {
  state.tab = ['problems', 'policy', 'explain', 'requests', 'rule'].includes(tab) ? tab : 'problems';
  for (const b of document.querySelectorAll('[role=tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === state.tab));
  for (const p of document.querySelectorAll('[role=tabpanel]')) p.hidden = p.dataset.panel !== state.tab;
  writeFragment();
}

// ---------------------------------------------------------------------------
// Running

function run() {
  const started = performance.now();
  try {
    compiled = scapi.compile(textarea.value, { fileName: `export.${state.format || 'cfg'}`, format: state.format || undefined });
  } catch (e) {
    compiled = { policy: null, diagnostics: null };
    $('status').textContent = e.message;
    return;
  }
  loaded?.free();
  loaded = compiled.policy ? scapi.loadPolicy(compiled.policy) : null;
  renderEditor();
  renderProblems();
  renderPolicy();
  renderExplain();
  renderRequests();
  $('status').textContent = `checked in ${Math.max(1, Math.round(performance.now() - started))} ms`;
  document.body.dataset.ready = 'true';
}

function setExport(text) {
  textarea.value = text;
  state.export = text;
  writeFragment();
  run();
}

let timer = 0;
function later(f) {
  clearTimeout(timer);
  timer = setTimeout(f, 120);
}

textarea.addEventListener('input', () => {
  state.export = textarea.value;
  renderEditor(); // keep the spans under the text while typing
  later(() => {
    writeFragment();
    run();
  });
});
textarea.addEventListener('scroll', syncScroll);
$('format').addEventListener('change', () => {
  state.format = $('format').value;
  writeFragment();
  run();
});
$('requests').addEventListener('input', () => {
  later(() => {
    state.requests = $('requests').value;
    writeFragment();
    renderRequests();
  });
});
$('explain-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.origin = $('origin').value.trim();
  writeFragment();
  renderExplain();
});
for (const b of document.querySelectorAll('[role=tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
$('share').addEventListener('click', async () => {
  writeFragment();
  try {
    await navigator.clipboard.writeText(location.href);
    $('status').textContent = 'link copied';
  } catch {
    $('status').textContent = 'copy the address bar: it holds the whole state';
  }
});
$('example').addEventListener('change', async () => {
  const files = { clean: 'wwews-cluster.cfg', broken: 'broken.cfg', json: 'wwews-cluster.json' };
  const name = files[$('example').value];
  if (!name) return;
  const text = await (await fetch(`../examples/${name}`)).text();
  state.format = '';
  $('format').value = '';
  setExport(text);
  $('example').value = '';
});
window.addEventListener('hashchange', () => {
  if (readFragment() && state.export !== textarea.value) start();
});

async function start() {
  $('version').textContent = `scapi ${scapi.version}`;
  if (!readFragment()) {
    // First visit: the shipped export, its requests and an origin.
    const [text, requests] = await Promise.all(
      ['../examples/wwews-cluster.cfg', '../examples/requests.jsonl'].map(async (u) => {
        try {
          const r = await fetch(u);
          return r.ok ? r.text() : '';
        } catch {
          return '';
        }
      }),
    );
    state.export = text;
    state.requests = requests;
    state.origin = 'https://crm.example.com';
  }
  textarea.value = state.export;
  $('format').value = state.format;
  showTab(state.tab);
  run();
}

start().then(() => {
  // Started: from now on an error is the page's, not a failed start.
  document.documentElement.dataset.started = 'true';
});
