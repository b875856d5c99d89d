// DOM helpers. Every value from the API reaches the page as a text node
// or an attribute set with setAttribute: never parsed as markup. No
// inline style, no inline handlers (the CSP forbids them anyway).

const SVG = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h('a', {href: '#/x', class: 'y'}, 'text', child…)
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// svg('path', {d: 'M0 0L1 1'})
export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// link to a console route: parts are encoded, so an id cannot break out.
export function route(...parts) {
  return '#/' + parts.map((p) => encodeURIComponent(p)).join('/');
}

export function routeWith(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  }
  const s = q.toString();
  return '#/' + path + (s ? '?' + s : '');
}

const pad = (n) => String(n).padStart(2, '0');

// 2026-01-02 03:04:05 in local time; '—' for none.
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 1971) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtClock(d) {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// a duration in milliseconds, short: 850µs, 12ms, 3.4s, 2m05s, 1h12m.
export function fmtMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms === 0) return '0';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad(Math.floor(s % 60))}s`;
  return `${Math.floor(m / 60)}h${pad(m % 60)}m`;
}

// Go durations arrive as nanoseconds.
export const fmtNs = (ns) => fmtMs(ns / 1e6);

// how long ago iso was, from now.
export function fmtAge(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t) || t < 1e11) return '—';
  return fmtMs(Math.max(0, now - t));
}

export function fmtNum(n, digits = 0) {
  if (n === null || n === undefined) return '—';
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function fmtBytes(n) {
  if (!n) return '0 B';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

export function badge(text, kind) {
  return h('span', { class: ['badge', kind || text] }, text);
}

// a definition list from [label, value] pairs (value: text or node).
export function dl(pairs) {
  return h('dl', { class: 'fields' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export function table(head, rows, empty) {
  return h('table', { class: 'grid' },
    h('thead', null, h('tr', null, head.map((c) => h('th', null, c)))),
    h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: head.length, class: 'muted' }, empty || 'nothing here'))));
}

// pretty JSON of an API value, as text.
export function pretty(v) {
  try { return JSON.stringify(v, null, 2); } catch { return String(v); }
}
