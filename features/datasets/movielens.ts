import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { SetupError, ValidationError } from '../../infra/errors.js';

/** MovieLens-100K as published by GroupLens (u.data, u.item, u.user). */
export interface MovieLensRating {
  user: number;
  item: number;
  rating: number;
  /** Epoch seconds, as in u.data. */
  ts: number;
}

export interface MovieLensItem {
  title: string;
  genres: string[];
}

export interface MovieLensUser {
  age: number;
  gender: string;
  occupation: string;
  zip: string;
}

export interface MovieLens {
  ratings: MovieLensRating[];
  items: Map<number, MovieLensItem>;
  users: Map<number, MovieLensUser>;
}

export const MOVIELENS_100K_URL = 'https://files.grouplens.org/datasets/movielens/ml-100k.zip';
const FILES = ['u.data', 'u.item', 'u.user'] as const;
/** u.item's 19 genre flags, in u.genre's order. */
export const GENRES = [
  'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy',
  'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western',
] as const;

/** ML100K_DIR, else the shared copy beside the repository (../shared/data/ml-100k). */
export function defaultMovieLensDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ML100K_DIR) return env.ML100K_DIR;
  return fileURLToPath(new URL('../../../shared/data/ml-100k', import.meta.url));
}

export interface LoadOptions {
  /** Fetch from GroupLens when the directory lacks the files. @default true */
  download?: boolean;
  url?: string;
}

/** Reads the dataset from `dir`, downloading it there first when missing and allowed. */
export async function loadMovieLens(dir: string = defaultMovieLensDir(), { download = true, url = MOVIELENS_100K_URL }: LoadOptions = {}): Promise<MovieLens> {
  if (!FILES.every((f) => existsSync(path.join(dir, f)))) {
    if (!download) throw new SetupError(`MovieLens-100K not found in ${dir} (need ${FILES.join(', ')}); set ML100K_DIR or allow the download`);
    await downloadMovieLens(dir, url);
  }
  return parseMovieLens(
    readFileSync(path.join(dir, 'u.data'), 'latin1'),
    readFileSync(path.join(dir, 'u.item'), 'latin1'),
    readFileSync(path.join(dir, 'u.user'), 'latin1'),
  );
}

export async function downloadMovieLens(dir: string, url: string = MOVIELENS_100K_URL): Promise<void> {
  let zip: Uint8Array;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    zip = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new SetupError(`cannot download MovieLens-100K from ${url}: ${(error as Error).message}`, { cause: error });
  }
  writeMovieLensZip(zip, dir);
}

/** Unpacks the GroupLens zip (files under ml-100k/) into `dir`. */
export function writeMovieLensZip(zip: Uint8Array, dir: string): void {
  const files = unzipSync(zip, { filter: (f) => FILES.some((name) => f.name.endsWith(`/${name}`) || f.name === name) });
  mkdirSync(dir, { recursive: true });
  for (const name of FILES) {
    const entry = Object.entries(files).find(([f]) => f.endsWith(`/${name}`) || f === name);
    if (!entry) throw new ValidationError(`the MovieLens zip has no ${name}`);
    writeFileSync(path.join(dir, name), entry[1]);
  }
}

export function parseMovieLens(data: string, item: string, user: string): MovieLens {
  const ratings = lines(data, 'u.data').map(([fields, n]) => {
    const [u, i, r, t] = fields.split('\t').map(Number);
    if (![u, i, r, t].every((x) => Number.isInteger(x))) throw new ValidationError(`u.data line ${n}: expected 4 integers`);
    return { user: u!, item: i!, rating: r!, ts: t! };
  });
  const items = new Map<number, MovieLensItem>();
  for (const [fields, n] of lines(item, 'u.item')) {
    const parts = fields.split('|');
    if (parts.length !== 5 + GENRES.length) throw new ValidationError(`u.item line ${n}: expected ${5 + GENRES.length} fields, got ${parts.length}`);
    const flags = parts.slice(5);
    items.set(Number(parts[0]), { title: parts[1]!, genres: GENRES.filter((_, g) => flags[g] === '1') });
  }
  const users = new Map<number, MovieLensUser>();
  for (const [fields, n] of lines(user, 'u.user')) {
    const [id, age, gender, occupation, zip] = fields.split('|');
    if (zip === undefined) throw new ValidationError(`u.user line ${n}: expected 5 fields`);
    users.set(Number(id), { age: Number(age), gender: gender!, occupation: occupation!, zip });
  }
  return { ratings, items, users };
}

function lines(text: string, _file: string): [string, number][] {
  return text.split('\n').map((l, i): [string, number] => [l.replace(/\r$/, ''), i + 1]).filter(([l]) => l.trim() !== '');
}
