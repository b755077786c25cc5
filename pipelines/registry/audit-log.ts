import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/**
 * `<model>/audit.jsonl`: one JSON line per registry action on the model
 * (publish, promote, rollback, refused promotions with their reason, and
 * versions removed by gc), appended and never rewritten. Each line is one
 * O_APPEND write, so lines from concurrent writers on a local filesystem do
 * not interleave. The alias
 * records (alias-store.ts) are the authority on what served when; this log
 * says who did what and why, including what was refused.
 */
export const AUDIT_FILE = 'audit.jsonl';

export const AuditEntrySchema = z.object({
  at: z.string(),
  action: z.enum(['publish', 'promote', 'rollback', 'refused', 'delete']),
  model: z.string(),
  /** The version acted on (published, promoted to, rolled back to, refused). */
  version: z.number().int().nullable(),
  alias: z.string().nullable(),
  /** Serving version before and after; equal for a publish or a refusal. */
  from: z.number().int().nullable(),
  to: z.number().int().nullable(),
  generation: z.number().int().nullable(),
  actor: z.string(),
  reason: z.string(),
  host: z.string(),
  pid: z.number().int(),
  problems: z.array(z.string()).optional(),
});

export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export async function appendAudit(modelDir: string, entry: AuditEntry): Promise<void> {
  await mkdir(modelDir, { recursive: true });
  await appendFile(path.join(modelDir, AUDIT_FILE), `${JSON.stringify(entry)}\n`, { flag: 'a' });
}

/** The log, oldest first; a line that does not parse (e.g. cut by a crash) is skipped. */
export async function readAudit(modelDir: string): Promise<AuditEntry[]> {
  const text = await readFile(path.join(modelDir, AUDIT_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  return text.split('\n').flatMap((line) => {
    if (line.trim() === '') return [];
    try {
      const parsed = AuditEntrySchema.safeParse(JSON.parse(line));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return [];
    }
  });
}
