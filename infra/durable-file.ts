import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a file and fsyncs it before returning, so a rename or link that
 * publishes it afterwards never exposes a file a crash could leave empty.
 * `flag` 'wx' refuses an existing file.
 */
export async function writeFileDurably(file: string, data: Uint8Array | string, flag: 'w' | 'wx' = 'w'): Promise<void> {
  const handle = await open(file, flag);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Fsyncs a directory, which makes the entries created, renamed or removed in
 * it durable: without it a rename that returned can be undone by a power cut
 * (ext4, xfs), leaving the old name or none. Best effort where a filesystem
 * refuses fsync on a directory (EINVAL, EISDIR on some network and FUSE mounts).
 */
export async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'ENOTSUP' && code !== 'EPERM') throw error;
  } finally {
    await handle.close();
  }
}

/** rename() whose result survives a crash: the target's directory (and the source's, when another) is fsynced after it. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  const [fromDir, toDir] = [path.dirname(path.resolve(from)), path.dirname(path.resolve(to))];
  await syncDir(toDir);
  if (fromDir !== toDir) await syncDir(fromDir);
}
