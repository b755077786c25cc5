/**
 * int32 id → row map for dynamic tables: open addressing with linear probing
 * in two Int32Arrays. A JS Map costs ~50 bytes per entry and boxes on the hot
 * path; this costs 16 bytes per capacity row and no allocation per lookup.
 * Capacity is fixed at construction (the table's row count), so it never resizes.
 */
export class IdHashMap {
  private readonly keys: Int32Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  private readonly shift: number;
  private count = 0;

  constructor(readonly capacity: number) {
    // Load factor ≤ 0.5 keeps probe chains short.
    let bits = 3;
    while (2 ** bits < capacity * 2) bits++;
    this.keys = new Int32Array(2 ** bits);
    this.values = new Int32Array(2 ** bits).fill(-1);
    this.mask = 2 ** bits - 1;
    this.shift = 32 - bits;
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  private home(key: number): number {
    // Fibonacci hashing: sequential ids spread over the whole table.
    return Math.imul(key, 0x9e3779b1) >>> this.shift;
  }

  /** The row of `key`, or -1. */
  get(key: number): number {
    const { keys, values, mask } = this;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const value = values[i]!;
      if (value === -1 || keys[i] === key) return value;
    }
  }

  /** Maps `key` to `value` (≥ 0); the caller keeps size ≤ capacity. */
  set(key: number, value: number): void {
    const { keys, values, mask } = this;
    let i = this.home(key);
    while (values[i] !== -1 && keys[i] !== key) i = (i + 1) & mask;
    if (values[i] === -1) {
      if (this.count >= this.capacity) throw new RangeError(`IdHashMap is full (${this.capacity} entries)`);
      this.count++;
    }
    keys[i] = key;
    values[i] = value;
  }

  delete(key: number): boolean {
    const { keys, values, mask } = this;
    let i = this.home(key);
    while (values[i] !== -1 && keys[i] !== key) i = (i + 1) & mask;
    if (values[i] === -1) return false;
    // Backward-shift deletion: no tombstones, so lookups never slow down
    // after many expiries.
    for (let j = (i + 1) & mask; values[j] !== -1; j = (j + 1) & mask) {
      const home = this.home(keys[j]!);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!stays) {
        keys[i] = keys[j]!;
        values[i] = values[j]!;
        i = j;
      }
    }
    values[i] = -1;
    this.count--;
    return true;
  }
}
