/** Minimal line/scatter plots as inline SVG: reports open in any browser with no scripts or network. */
export interface Series {
  name: string;
  points: [number, number][];
  color?: string;
  dashed?: boolean;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function linePlot(title: string, xLabel: string, yLabel: string, series: readonly Series[], { width = 520, height = 320, square = false } = {}): string {
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) return `<p>${escape(title)}: no data</p>`;
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (square) [x0, x1, y0, y1] = [Math.min(x0, y0), Math.max(x1, y1), Math.min(x0, y0), Math.max(x1, y1)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const m = { l: 56, r: 16, t: 28, b: 44 };
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (width - m.l - m.r);
  const sy = (y: number) => height - m.b - ((y - y0) / (y1 - y0)) * (height - m.t - m.b);
  const ticks = (a: number, b: number) => Array.from({ length: 5 }, (_, i) => a + ((b - a) * i) / 4);
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13">${escape(title)}</text>`,
    `<line x1="${m.l}" y1="${height - m.b}" x2="${width - m.r}" y2="${height - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${height - m.b}" stroke="#333"/>`,
    ...ticks(x0, x1).map((v) => `<text x="${sx(v)}" y="${height - m.b + 14}" text-anchor="middle">${fmt(v)}</text>`),
    ...ticks(y0, y1).map((v) => `<text x="${m.l - 4}" y="${sy(v) + 4}" text-anchor="end">${fmt(v)}</text><line x1="${m.l}" x2="${width - m.r}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`),
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text transform="translate(14 ${height / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''} points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    parts.push(`<text x="${width - m.r - 4}" y="${m.t + 14 * (i + 1)}" text-anchor="end" fill="${color}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function htmlPage(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:24px auto;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}.plots{display:flex;flex-wrap:wrap;gap:16px}</style>
</head><body><h1>${escape(title)}</h1>${body}</body></html>\n`;
}

export function htmlTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : escape(v));
  return `<table><tr>${header.map((h) => `<th>${escape(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`).join('')}</table>`;
}

export interface ForestRow {
  /** Shown on the categorical axis. */
  label: string;
  value: number;
  lo: number;
  hi: number;
  /** Drawn grey and hollow (e.g. an estimate that is not a conclusion). */
  muted?: boolean;
}

/**
 * A forest plot: one row per named category (the labels are the vertical
 * axis), a point and its interval on a shared horizontal scale, a solid line
 * where zero is (when zero is in range) and a caption under the plot.
 */
export function forestPlot(title: string, xLabel: string, rows: readonly ForestRow[], caption: string, { width = 560 } = {}): string {
  const finite = rows.filter((r) => Number.isFinite(r.value));
  if (finite.length === 0) return `<figure><p>${escape(title)}: no finite estimate</p><figcaption>${escape(caption)}</figcaption></figure>`;
  const ends = finite.flatMap((r) => [r.value, Number.isFinite(r.lo) ? r.lo : r.value, Number.isFinite(r.hi) ? r.hi : r.value]);
  let [x0, x1] = [Math.min(0, ...ends), Math.max(0, ...ends)];
  if (x1 === x0) x1 = x0 + 1;
  const pad = (x1 - x0) * 0.05;
  [x0, x1] = [x0 - pad, x1 + pad];
  const labelWidth = 8 + 7 * Math.max(...rows.map((r) => r.label.length));
  const m = { l: labelWidth, r: 16, t: 40, b: 44 };
  const rowHeight = 24;
  const height = m.t + m.b + rowHeight * rows.length;
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (width - m.l - m.r);
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img" aria-label="${escape(title)}">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13">${escape(title)}</text>`,
    `<line x1="${m.l}" y1="${height - m.b}" x2="${width - m.r}" y2="${height - m.b}" stroke="#333"/>`,
    ...Array.from({ length: 5 }, (_, i) => x0 + ((x1 - x0) * i) / 4).map((v) => `<text x="${sx(v)}" y="${height - m.b + 14}" text-anchor="middle">${fmt(v)}</text>`),
    `<text x="${(m.l + width - m.r) / 2}" y="${height - 8}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<line class="zero" x1="${sx(0)}" x2="${sx(0)}" y1="${m.t}" y2="${height - m.b}" stroke="#555" stroke-width="1.5"/>`,
    `<text x="${sx(0)}" y="${m.t - 4}" text-anchor="middle" fill="#555">zero</text>`,
  ];
  rows.forEach((r, i) => {
    const y = m.t + rowHeight * (i + 0.5);
    parts.push(`<text class="category" x="${m.l - 6}" y="${y + 4}" text-anchor="end">${escape(r.label)}</text>`);
    if (!Number.isFinite(r.value)) {
      parts.push(`<text x="${m.l + 6}" y="${y + 4}" fill="#888">not defined</text>`);
      return;
    }
    const color = r.muted ? '#999' : '#1f77b4';
    if (Number.isFinite(r.lo) && Number.isFinite(r.hi)) parts.push(`<line x1="${sx(r.lo).toFixed(1)}" x2="${sx(r.hi).toFixed(1)}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<circle cx="${sx(r.value).toFixed(1)}" cy="${y}" r="4" fill="${r.muted ? 'white' : color}" stroke="${color}" stroke-width="2"/>`);
  });
  parts.push('</svg>');
  return `<figure>${parts.join('\n')}<figcaption>${escape(caption)}</figcaption></figure>`;
}
