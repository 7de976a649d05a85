// app.js -- the web UI's behaviour. Each chosen file is one POST /task
// (multipart, field "image", as curl -F sends it); each task is then polled
// with GET /task/{id} until it is done or failed, and a done task shows its
// result from GET /task/{id}/result. Task ids are kept in localStorage so a
// reload shows the same tasks.
'use strict';

const POLL_MS = 500;
const KEEP_KEY = 'uigniter-tasks';
const tasksEl = document.getElementById('tasks');
const fileEl = document.getElementById('file');
const uploadBtn = document.getElementById('upload');
const statusEl = document.getElementById('status');
const countsEl = document.getElementById('counts');
const dropEl = document.getElementById('drop');
const cards = new Map(); // key -> {el, id, state, name}
let seq = 0;

function save() {
  const kept = [];
  for (const c of cards.values()) if (c.id) kept.push({ id: c.id, name: c.name });
  localStorage.setItem(KEEP_KEY, JSON.stringify(kept));
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function makeCard(name, previewUrl) {
  const key = 'c' + (++seq);
  const card = el('div', 'task');
  const head = el('div', 'head');
  head.append(el('span', 'name', name), el('span', 'state uploading', 'uploading'));
  const images = el('div', 'images');
  const input = previewUrl ? el('img', 'input') : el('div', 'placeholder', 'input');
  if (previewUrl) {
    input.src = previewUrl;
    input.alt = 'input ' + name;
    input.onerror = () => input.replaceWith(el('div', 'placeholder', 'not an image'));
  }
  images.append(input, el('div', 'placeholder result-slot', 'result pending'));
  const meta = el('div', 'meta');
  meta.append(el('span', 'id', ''), el('span', 'attempts', ''));
  card.append(head, images, meta);
  tasksEl.prepend(card);
  const c = { key, el: card, id: 0, state: 'uploading', name };
  cards.set(key, c);
  refreshCounts();
  return c;
}

function setState(c, state, attempts) {
  c.state = state;
  const s = c.el.querySelector('.state');
  s.textContent = state;
  s.className = 'state ' + state;
  c.el.dataset.state = state;
  if (attempts !== undefined)
    c.el.querySelector('.attempts').textContent = 'attempt' + (attempts === 1 ? ' ' : 's ') + attempts;
  refreshCounts();
}

function setError(c, msg) {
  setState(c, 'error');
  let e = c.el.querySelector('.error-text');
  if (!e) { e = el('div', 'error-text'); c.el.append(e); }
  e.textContent = msg;
  const slot = c.el.querySelector('.result-slot');
  if (slot) slot.textContent = 'no result';
}

function showResult(c) {
  const slot = c.el.querySelector('.result-slot');
  if (!slot) return;
  const img = el('img', 'result');
  img.alt = 'result ' + c.name;
  img.src = '/task/' + c.id + '/result';
  slot.replaceWith(img);
  const a = el('a', 'download', 'download result');
  a.href = '/task/' + c.id + '/result';
  a.download = c.name.replace(/\.[^.]*$/, '') + '-edges.png';
  c.el.querySelector('.meta').append(a);
}

function refreshCounts() {
  const n = { total: 0, done: 0, failed: 0 };
  for (const c of cards.values()) {
    n.total++;
    if (c.state === 'done') n.done++;
    if (c.state === 'failed' || c.state === 'error') n.failed++;
  }
  countsEl.textContent = n.total ? `(${n.done} of ${n.total} done${n.failed ? ', ' + n.failed + ' failed' : ''})` : '';
  document.getElementById('empty').hidden = n.total > 0;
}

async function upload(file) {
  const c = makeCard(file.name, URL.createObjectURL(file));
  const form = new FormData();
  form.append('image', file, file.name);
  try {
    const r = await fetch('/task', { method: 'POST', body: form });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { setError(c, body.error || ('upload failed: HTTP ' + r.status)); return; }
    c.id = body.id;
    c.el.dataset.id = c.id;
    c.el.querySelector('.id').textContent = 'task ' + c.id;
    setState(c, 'ready', 0);
    save();
  } catch (err) {
    setError(c, 'upload failed: ' + err.message);
  }
}

async function poll() {
  const open = [...cards.values()].filter(c => c.id && c.state !== 'done' && c.state !== 'failed');
  await Promise.all(open.map(async c => {
    try {
      const r = await fetch('/task/' + c.id, { cache: 'no-store' });
      if (r.status === 404) { setError(c, 'task ' + c.id + ' is unknown'); return; }
      if (!r.ok) return; // the service may be restarting: try again later
      const t = await r.json();
      if (t.state !== c.state) {
        setState(c, t.state, t.attempts);
        if (t.state === 'done') showResult(c);
        if (t.state === 'failed') setError(c, 'the image could not be processed');
        if (t.state === 'failed') setState(c, 'failed', t.attempts);
      }
    } catch (err) { /* network hiccup: next round */ }
  }));
  setTimeout(poll, POLL_MS);
}

uploadBtn.addEventListener('click', async () => {
  const files = [...fileEl.files];
  if (!files.length) return;
  uploadBtn.disabled = true;
  statusEl.textContent = `uploading ${files.length} image${files.length > 1 ? 's' : ''}...`;
  await Promise.all(files.map(upload));
  statusEl.textContent = `uploaded ${files.length}`;
  fileEl.value = '';
});

fileEl.addEventListener('change', () => {
  uploadBtn.disabled = fileEl.files.length === 0;
  statusEl.textContent = fileEl.files.length ? `${fileEl.files.length} chosen` : '';
});

document.getElementById('clear').addEventListener('click', () => {
  for (const [k, c] of cards)
    if (c.state === 'done' || c.state === 'failed' || c.state === 'error') { c.el.remove(); cards.delete(k); }
  save();
  refreshCounts();
});

dropEl.addEventListener('dragover', e => { e.preventDefault(); dropEl.classList.add('over'); });
dropEl.addEventListener('dragleave', () => dropEl.classList.remove('over'));
dropEl.addEventListener('drop', e => {
  e.preventDefault();
  dropEl.classList.remove('over');
  fileEl.files = e.dataTransfer.files;
  fileEl.dispatchEvent(new Event('change'));
});

for (const k of JSON.parse(localStorage.getItem(KEEP_KEY) || '[]')) {
  const c = makeCard(k.name || ('task ' + k.id), null);
  c.id = k.id;
  c.el.dataset.id = k.id;
  c.el.querySelector('.id').textContent = 'task ' + k.id;
  setState(c, 'ready');
  c.state = 'unknown';
}
refreshCounts();
poll();
