import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AliasConflictError, RegistryError } from './registry-errors.js';
import { syncDir, writeFileDurably } from '../../infra/durable-file.js';

/**
 * An alias (e.g. `serving`) is a folder of immutable change records,
 * `<model>/aliases/<alias>/00000007.json`; the highest generation is the
 * alias's current value. A change is committed by hard-linking a fully
 * written, fsynced temp file to the next generation's name: link() fails if
 * that name exists, also on NFS, so two processes that read the same
 * generation cannot both commit (compare-and-swap without locks), and a
 * reader never sees a half-written record.
 */
export const AliasRecordSchema = z.object({
  alias: z.string(),
  generation: z.number().int().positive(),
  version: z.number().int().positive(),
  /** The version the alias pointed to before this change. */
  previous: z.number().int().positive().nullable(),
  action: z.enum(['promote', 'rollback']),
  at: z.string(),
  actor: z.string(),
  reason: z.string(),
  /** Versions that served before this one, most recent last: where rollback goes. */
  history: z.array(z.number().int().positive()),
});

export type AliasRecord = z.infer<typeof AliasRecordSchema>;

/** How many earlier serving versions a record remembers for rollback. */
export const MAX_ALIAS_HISTORY = 100;

const RECORD = /^(\d{8})\.json$/;
const recordName = (generation: number) => `${String(generation).padStart(8, '0')}.json`;
export const aliasDir = (modelDir: string, alias: string): string => path.join(modelDir, 'aliases', alias);

async function generations(dir: string): Promise<number[]> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return entries.flatMap((e) => { const m = RECORD.exec(e); return m ? [Number(m[1])] : []; }).sort((a, b) => a - b);
}

async function readRecord(dir: string, generation: number): Promise<AliasRecord> {
  const file = path.join(dir, recordName(generation));
  try {
    return AliasRecordSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (error) {
    throw new RegistryError(`alias record ${file} is unreadable: ${(error as Error).message}`, { cause: error });
  }
}

/** The alias's current record, or null when it was never set. */
export async function readAlias(modelDir: string, alias: string): Promise<AliasRecord | null> {
  const dir = aliasDir(modelDir, alias);
  const last = (await generations(dir)).at(-1);
  return last === undefined ? null : readRecord(dir, last);
}

/** Every change of the alias, oldest first. */
export async function readAliasHistory(modelDir: string, alias: string): Promise<AliasRecord[]> {
  const dir = aliasDir(modelDir, alias);
  return Promise.all((await generations(dir)).map((g) => readRecord(dir, g)));
}

/**
 * Commits `record` as generation `record.generation`, which must be one past
 * the generation the caller read. Throws AliasConflictError when another
 * process committed that generation first.
 */
export async function commitAlias(modelDir: string, record: AliasRecord): Promise<void> {
  const dir = aliasDir(modelDir, record.alias);
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  await writeFileDurably(temp, `${JSON.stringify(AliasRecordSchema.parse(record))}\n`, 'wx');
  try {
    await link(temp, path.join(dir, recordName(record.generation)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AliasConflictError(`alias ${record.alias} was changed by someone else (generation ${record.generation} already exists)`, { cause: error });
    }
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
  await syncDir(dir);
}
