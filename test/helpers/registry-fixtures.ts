import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeArtifact } from '../../models/artifact/write-artifact.js';
import type { NotifyOutcome, RegistryEvent, RegistryNotifier } from '../../pipelines/registry/registry-notifier.js';

export const tempRegistry = (): string => mkdtempSync(path.join(tmpdir(), 'registry-'));

/** Publishes `count` small fake versions of `model` (no training): version i has auc 0.7 + i/100. */
export async function publishFakes(registry: string, model: string, count: number, extra: (i: number) => Record<string, unknown> = () => ({})): Promise<string[]> {
  const dirs: string[] = [];
  for (let i = 1; i <= count; i++) {
    const { dir } = await writeArtifact(registry, {
      model,
      modelType: 'din',
      files: { 'model.json': `{"v":${i}}`, 'dense.bin': new Uint8Array([i, 2, 3, 4, 5, 6, 7, 8]) },
      metrics: { auc: 0.7 + i / 100, logloss: 0.5 },
      trainedUntil: 1_700_000_000_000 + i,
      extra: extra(i),
    });
    dirs.push(dir);
  }
  return dirs;
}

export function editManifest(dir: string, edit: (manifest: Record<string, unknown>) => Record<string, unknown>): void {
  const file = path.join(dir, 'manifest.json');
  writeFileSync(file, JSON.stringify(edit(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)));
}

export function flipFirstByte(file: string): void {
  const bytes = readFileSync(file);
  bytes[0] = bytes[0]! ^ 0xff;
  writeFileSync(file, bytes);
}

/** A notifier that records what it is told. */
export class RecordingNotifier implements RegistryNotifier {
  readonly events: RegistryEvent[] = [];
  async notify(event: RegistryEvent): Promise<NotifyOutcome[]> {
    this.events.push(event);
    return [{ sink: 'memory', status: 'sent', detail: 'recorded' }];
  }
  async close(): Promise<void> {}
}
