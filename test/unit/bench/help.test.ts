import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);

describe('npm run bench / experiment -- <name> --help', function () {
  this.timeout(60_000);
  it('prints the script\'s opening comment (its command line included) without running it, for every benchmark and experiment', async () => {
    const scripts = [
      ...readdirSync(path.join(ROOT, 'bench')).filter((f) => f.endsWith('.ts') && !['run.ts', 'experiment.ts'].includes(f)).map((f) => ['bench/run.ts', f]),
      ...readdirSync(path.join(ROOT, 'bench/experiments')).filter((f) => f.endsWith('.ts')).map((f) => ['bench/experiment.ts', f]),
    ];
    assert.ok(scripts.length >= 10, `${scripts.length} scripts`);
    for (const [entry, file] of scripts) {
      const name = file!.replace(/\.ts$/, '');
      const started = Date.now();
      const { stdout } = await run(process.execPath, ['--import', 'tsx', entry!, name, '--help'], { cwd: ROOT });
      assert.ok(stdout.includes(`npm run ${entry === 'bench/run.ts' ? 'bench' : 'experiment'} -- ${name}`), `${name}'s help gives its command line:\n${stdout}`);
      assert.ok(!stdout.split('\n').some((l) => l.startsWith('//')), `${name}: the comment markers are stripped`);
      assert.ok(Date.now() - started < 20_000, `${name} ran instead of printing its help`);
    }
  });
});
