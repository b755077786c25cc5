import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./fixtures/durable-writes.ts', import.meta.url));

const hasStrace = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * A rename is durable only once its directory is fsynced (ext4 and xfs can
 * otherwise lose it in a power cut). Watched with strace (-y prints the path
 * behind each fd): every rename into the test folder must be followed by an
 * fsync of the target's directory.
 */
describe('durable publishes: fsync of the parent directory after each rename', function () {
  this.timeout(60_000);

  it('registry versions, alias records, trainer checkpoints and embedding checkpoints fsync their directory after the rename', async function () {
    assert.ok(hasStrace, 'strace is missing: `npm run setup` installs it (Debian package strace)');
    const root = mkdtempSync(path.join(tmpdir(), 'durable-'));
    const trace = path.join(root, 'trace.txt');
    try {
      await new Promise<void>((resolve, reject) => {
        execFile('strace', ['-f', '-y', '-qq', '-e', 'trace=rename,renameat,renameat2,link,linkat,fsync,fdatasync', '-o', trace,
          process.execPath, '--import', 'tsx', SCRIPT, root], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'error' } },
        (error, _out, stderr) => (error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve()));
      });
      const lines = readFileSync(trace, 'utf8').split('\n');
      const published: { line: number; dir: string; to: string }[] = [];
      lines.forEach((line, i) => {
        const m = /\b(?:rename|renameat2?|link|linkat)\((?:[^"]*)"([^"]+)"(?:[^"]*)"([^"]+)"/.exec(line);
        if (m && m[2]!.startsWith(root)) published.push({ line: i, dir: path.dirname(m[2]!), to: m[2]! });
      });
      const kinds = published.map((p) => path.relative(root, p.to).split(path.sep).slice(-1)[0]!.replace(/\d+/g, 'N'));
      for (const expected of ['vN', 'N.json', 'ckpt-N', 'CURRENT', 'tables.ckpt']) assert.ok(kinds.includes(expected), `a publish of ${expected} was traced: ${kinds.join(', ')}`);
      for (const p of published) {
        const synced = lines.slice(p.line + 1).some((l) => new RegExp(`\\bf(?:data)?sync\\(\\d+<${p.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}>\\)`).test(l));
        assert.ok(synced, `no fsync of ${p.dir} after publishing ${path.relative(root, p.to)}`);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
