import { z } from 'zod';

/**
 * One file per checkpoint:
 *
 *   0   magic "RSEMBCKP"
 *   8   format version, u32 LE
 *   12  manifest length M, u32 LE
 *   16  sha256 of the manifest bytes (32 bytes)
 *   48  manifest, UTF-8 JSON (CheckpointManifest)
 *   …   sections at 8-byte aligned offsets, each with its sha256 in the manifest
 *
 * Each section carries its own checksum so a serving reader verifies the
 * weights and id map it reads without reading (3× larger, for Adam) optimizer
 * state; the manifest's checksum covers every size, offset and setting.
 */
export const MAGIC = 'RSEMBCKP';
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 48;
export const ALIGN = 8;

const section = z.object({
  offset: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SectionEntry = z.infer<typeof section>;

const rowInit = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('uniform'), scale: z.number() }),
  z.object({ kind: z.literal('normal'), stddev: z.number() }),
  z.object({ kind: z.literal('zeros') }),
]);

const ids = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('range') }),
  z.object({
    kind: z.literal('dynamic'),
    admitAfter: z.number(),
    expireAfter: z.number().nullable(),
    expiryUnit: z.enum(['steps', 'ms']),
    filterWidth: z.number(),
    filterDepth: z.number(),
  }),
]);

const optimizer = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sgd'), learningRate: z.number(), weightDecay: z.number() }),
  z.object({ kind: z.literal('adagrad'), learningRate: z.number(), initialAccumulator: z.number(), epsilon: z.number(), weightDecay: z.number() }),
  z.object({ kind: z.literal('adam'), learningRate: z.number(), beta1: z.number(), beta2: z.number(), epsilon: z.number(), weightDecay: z.number() }),
  z.object({ kind: z.literal('ftrl'), alpha: z.number(), beta: z.number(), l1: z.number(), l2: z.number() }),
]);

export const tableEntry = z.object({
  name: z.string(),
  rows: z.number().int().positive(),
  dim: z.number().int().positive(),
  seed: z.number().int(),
  init: rowInit,
  ids,
  optimizer,
  optimizerStep: z.number().int().nonnegative(),
  lookups: z.number().int().nonnegative(),
  /** weights (f32); slot:<name> (f32); ids.rowIds (i32), ids.live (u8), ids.lastSeen (f64), ids.filterCounts (u8). */
  sections: z.record(section),
});
export type TableEntry = z.infer<typeof tableEntry>;

export const manifestSchema = z.object({
  fileBytes: z.number().int().positive(),
  endianness: z.literal('LE'),
  tables: z.array(tableEntry),
});
export type CheckpointManifest = z.infer<typeof manifestSchema>;

