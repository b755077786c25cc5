import { open } from 'node:fs/promises';

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
