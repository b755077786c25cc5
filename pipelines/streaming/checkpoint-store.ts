import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { NonRetriableError } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import { sha256File } from '../../models/artifact/write-artifact.js';
import { renameDurably, writeFileDurably } from '../../infra/durable-file.js';

const log = logger('train-stream');

/** A damaged or foreign trainer checkpoint. */
export class CheckpointError extends NonRetriableError {}

const FORMAT = 'recsys-train-stream-checkpoint';
const MANIFEST = 'checkpoint.json';
const CURRENT = 'CURRENT';
const DIR = /^ckpt-(\d{8})$/;

const ManifestSchema = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.literal(1),
  seq: z.number().int().positive(),
  createdAt: z.string(),
  files: z.array(z.object({ path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string() })),
});

export interface OpenCheckpoint {
  dir: string;
  seq: number;
  read(name: string): Promise<Buffer>;
  path(name: string): string;
}

/**
 * A trainer's checkpoints: `ckpt-NNNNNNNN/` folders, each written in a
 * staging folder, fsynced, renamed into place, and only then named by the
 * `CURRENT` file (itself replaced by rename). A crash at any point leaves
 * the previous checkpoint current. Every file's sha256 is checked on open;
 * a damaged newest checkpoint falls back to the one before (and says so).
 */
export class CheckpointStore {
  constructor(readonly dir: string, private readonly keep = 2) {}

  async save(files: Record<string, Uint8Array | string>, stage?: (dir: string) => Promise<string[]>): Promise<{ dir: string; seq: number }> {
    await mkdir(this.dir, { recursive: true });
    const seq = ((await this.sequence()).at(-1) ?? 0) + 1;
    const staging = path.join(this.dir, `.staging-${randomBytes(6).toString('hex')}`);
    await mkdir(staging);
    try {
      for (const [name, data] of Object.entries(files)) await writeFileDurably(path.join(staging, name), data);
      const names = [...Object.keys(files), ...(stage ? await stage(staging) : [])].sort();
      const listed = [];
      for (const name of names) listed.push({ path: name, ...(await sha256File(path.join(staging, name))) });
      await writeFileDurably(path.join(staging, MANIFEST), JSON.stringify({ format: FORMAT, formatVersion: 1, seq, createdAt: new Date().toISOString(), files: listed }));
      const target = path.join(this.dir, `ckpt-${String(seq).padStart(8, '0')}`);
      await renameDurably(staging, target);
      const pointer = path.join(this.dir, `.${CURRENT}-${randomBytes(4).toString('hex')}`);
      await writeFileDurably(pointer, `${path.basename(target)}\n`);
      await renameDurably(pointer, path.join(this.dir, CURRENT));
      await this.prune(seq);
      return { dir: target, seq };
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * The newest intact checkpoint, or null when there is none. Called when a
   * trainer opens (one trainer writes a checkpoint folder): staging folders a
   * crashed writer left are removed first.
   */
  async latest(): Promise<OpenCheckpoint | null> {
    await this.removeStaging();
    const current = await readFile(path.join(this.dir, CURRENT), 'utf8').then((s) => s.trim(), () => null);
    const candidates = (await this.sequence()).reverse().map((seq) => `ckpt-${String(seq).padStart(8, '0')}`);
    // CURRENT first; a folder renamed in but not yet named current is complete too, but never newer than what CURRENT names + 1.
    const order = current ? [current, ...candidates.filter((c) => c !== current && c < current)] : candidates;
    const problems: string[] = [];
    for (const name of order) {
      try {
        return await this.open(path.join(this.dir, name));
      } catch (error) {
        problems.push(`${name}: ${(error as Error).message}`);
        log.warn({ checkpoint: name, err: (error as Error).message }, 'checkpoint unusable, trying an older one');
      }
    }
    if (problems.length > 0) throw new CheckpointError(`no intact checkpoint in ${this.dir}: ${problems.join('; ')}`);
    return null;
  }

  private async open(dir: string): Promise<OpenCheckpoint> {
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')));
    const listed = new Set<string>();
    for (const file of manifest.files) {
      const actual = await sha256File(path.join(dir, file.path)).catch(() => undefined);
      if (!actual) throw new CheckpointError(`${file.path} is missing`);
      if (actual.bytes !== file.bytes || actual.sha256 !== file.sha256) throw new CheckpointError(`${file.path} fails its size or sha256 check`);
      listed.add(file.path);
    }
    return {
      dir,
      seq: manifest.seq,
      read: (name) => {
        if (!listed.has(name)) throw new CheckpointError(`${dir}: no file ${name}`);
        return readFile(path.join(dir, name));
      },
      path: (name) => path.join(dir, name),
    };
  }

  private async sequence(): Promise<number[]> {
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    return entries.flatMap((e) => { const m = DIR.exec(e); return m ? [Number(m[1])] : []; }).sort((a, b) => a - b);
  }

  private async prune(current: number): Promise<void> {
    const old = (await this.sequence()).filter((seq) => seq <= current - this.keep);
    for (const seq of old) await rm(path.join(this.dir, `ckpt-${String(seq).padStart(8, '0')}`), { recursive: true, force: true });
    await this.removeStaging();
  }

  private async removeStaging(): Promise<void> {
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    for (const e of entries) if (e.startsWith('.staging-')) await rm(path.join(this.dir, e), { recursive: true, force: true }).catch(() => {});
  }
}
