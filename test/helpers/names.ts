import { randomBytes } from 'node:crypto';

/** A fresh name per test (topic, database, queue), so runs never see each other's data. */
export function randomName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
