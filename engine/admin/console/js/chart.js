// Line charts drawn as SVG elements (no library, no inline style: the
// colours are CSS classes).
import { svg, h, fmtClock } from './dom.js';

const W = 360, H = 130, L = 44, R = 8, T = 8, B = 20;

// a "nice" upper bound for the y axis: 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// lineChart draws series over times (Date[], one per bucket of step
// seconds). series: [{label, values: number[], cls}]; fmt formats a y
// value. The svg carries data-total (the sum of every value) so a test
// can tell a chart with data from an empty one.
export function lineChart({ title, times, step, series, fmt }) {
  const n = times.length;
  const t0 = n ? times[0].getTime() : 0;
  const t1 = n ? times[n - 1].getTime() + step * 1000 : 1;
  let top = 0, total = 0;
  for (const s of series) for (const v of s.values) { top = Math.max(top, v); total += v; }
  const ymax = niceMax(top);
  const x = (t) => L + ((t - t0) / (t1 - t0 || 1)) * (W - L - R);
  const y = (v) => T + (1 - v / ymax) * (H - T - B);
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title,
    'data-total': String(Math.round(total * 1000) / 1000), 'data-series': series.map((s) => s.label).join(','),
  });
  for (const f of [0, 0.5, 1]) {
    const v = ymax * f;
    root.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'gridline' }),
      svg('text', { x: L - 4, y: y(v) + 3, class: 'axis', 'text-anchor': 'end' }, fmt(v)));
  }
  if (n) {
    const mid = new Date((t0 + t1) / 2);
    for (const [t, anchor] of [[t0, 'start'], [mid.getTime(), 'middle'], [t1, 'end']]) {
      root.append(svg('text', { x: x(t), y: H - 5, class: 'axis', 'text-anchor': anchor }, fmtClock(new Date(t))));
    }
  }
  series.forEach((s, i) => {
    const pts = s.values.map((v, j) => `${x(times[j].getTime() + step * 500).toFixed(1)},${y(v).toFixed(1)}`);
    if (pts.length) {
      root.append(svg('polyline', { points: pts.join(' '), class: ['line', s.cls || `c${i}`] }));
    }
  });
  const legend = h('div', { class: 'legend' }, series.map((s, i) => {
    const last = s.values.length ? s.values[s.values.length - 1] : 0;
    return h('span', { class: 'key' }, h('i', { class: ['swatch', s.cls || `c${i}`] }), `${s.label} `, h('b', null, fmt(last)));
  }));
  return h('figure', { class: 'chartbox' }, h('figcaption', null, title), root, legend);
}
