import { ValidationError } from '../errors.js';

/**
 * JSON has no spelling for NaN or ±Infinity: JSON.stringify writes null, which
 * 18.16 reads into a Float column as nan and current releases as 0. A
 * JSONEachRow insert refuses such a row instead, as TabSeparated does
 * (tab-separated.ts), so a bad value is never stored as something else.
 * Returns the columns the rows hold, in the order first seen.
 */
export function checkJsonRows(rows: readonly Record<string, unknown>[]): string[] {
  // The columns come out of the same pass: the HTTP client names them (clickhouse-client.ts).
  const columns = new Set<string>();
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (const key in row) {
      const value = row[key];
      // JSON.stringify leaves an undefined field out: not a column of this insert.
      if (value === undefined) continue;
      checkValue(value, r, key);
      columns.add(key);
    }
  }
  return [...columns];
}

function checkValue(value: unknown, row: number, column: string): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(`not a finite number: ${value} (row ${row}, column ${column})`);
  } else if (Array.isArray(value)) {
    for (const v of value) checkValue(v, row, column);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) checkValue(v, row, column);
  }
}
