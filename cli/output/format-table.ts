/** A plain-text table with right-aligned numbers, for terminal summaries. */
export function formatTable(headers: string[], rows: (string | number)[][], digits = 4): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(digits)) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[], numeric: boolean[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return [line(headers, numeric), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map((r) => line(r, numeric))].join('\n');
}
