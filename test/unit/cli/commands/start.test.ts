import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { waitFor } from '../../../helpers/wait-for.js';

const ROOT = path.resolve(import.meta.dirname, '../../../..');

async function publishedAt(registry: string, model: string): Promise<number> {
  const versions = (await readdir(path.join(registry, model))).filter((v) => /^v\d+$/.test(v)).sort();
  const manifest = JSON.parse(await readFile(path.join(registry, model, versions.at(-1)!, 'manifest.json'), 'utf8')) as { createdAt: string };
  return Date.parse(manifest.createdAt);
}

describe('recsys start (the main job, MovieLens-100K, tiny settings)', function () {
  this.timeout(900_000);
  let registry: string;
  before(async () => { registry = await mkdtemp(path.join(tmpdir(), 'recsys-start-')); });
  // Its own process group: whatever happens, nothing `npm start` started outlives the test.
  let npm: ChildProcessWithoutNullStreams | undefined;
  after(async () => {
    try { process.kill(-npm!.pid!, 'SIGKILL'); } catch { /* gone */ }
    await rm(registry, { recursive: true, force: true });
  });

  // Through npm, as the README starts it; SIGTERM to npm must stop the server (`sh -c` did not pass it on).
  it('trains OptEmbed and the sheaf GNN alongside DIN, reports every step, serves, and stops on SIGTERM to `npm start`', async () => {
    npm = spawn('npm', ['start', '--', '--registry', registry, '--seed', '1', '--port', '0',
      '--epochs', '1', '--cf-epochs', '2', '--population', '2', '--generations', '1'], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' }, detached: true });
    let stdout = '';
    let stderr = '';
    npm!.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    npm!.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm!.on('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => /serving on (http:\/\/\S+)/.test(stdout) || npm!.exitCode !== null, { timeoutMs: 800_000, intervalMs: 200, what: 'the job to train and serve' });
    const url = /serving on (http:\/\/\S+)/.exec(stdout)?.[1];
    assert.ok(url, `not serving:\n${stderr.slice(-3000)}`);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    npm!.kill('SIGTERM');
    const stopped = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000))]);
    assert.ok(stopped, 'npm start still running 30 s after SIGTERM');
    await assert.rejects(fetch(`${url}/readyz`), 'the server is gone, not orphaned');
    const code = stopped.code;
    const signal = stopped.signal;
    stdout = stdout.slice(0, stdout.indexOf('\nserving on'));
    assert.equal(code, 0, `${signal ? `killed by ${signal}\n` : ''}${stderr.slice(-3000)}`);
    const job = (JSON.parse(stdout.trim().split('\n').at(-1)!) as { mainJob: Record<string, any> }).mainJob; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.ok(job.seconds > 0);
    // Both children trained (more than a second of CPU each at the smallest settings), and their CPU is counted once they exit.
    assert.ok(job.cpuSeconds.children > 2 && job.cpuSeconds.own > 1, `CPU seconds ${JSON.stringify(job.cpuSeconds)}`);
    assert.ok(Math.abs(job.cpuSeconds.total - job.cpuSeconds.own - job.cpuSeconds.children) <= 0.11, 'total = own + children (each rounded to 0.1 s)');
    assert.ok(job.test.auc > 0.6, `DIN test AUC ${job.test.auc}`);
    assert.ok(job.optembed.test.auc > 0.6, `OptEmbed test AUC ${job.optembed?.test?.auc}`);
    assert.equal(job.sheaf.model, 'sheaf-scalar');
    assert.ok(job.sheaf.version >= 1);
    assert.ok(job.sheaf.test['ndcg@20'] > 0, 'the sheaf GNN was tested');
    assert.match(stdout, /sheaf-scalar: \d+ positives/, 'the child\'s report is shown in its place');
    assert.match(stdout, /ml100k-din-unified-optembed +\d+ +[\d.]+% of \d+/, 'the OptEmbed child\'s report is shown in its place');
    // Overlap, not sequence: both side steps start before DIN does and are
    // published (per their manifests) within the job.
    const { din, optembed, sheaf } = job.steps as Record<string, { from: number; to: number }>;
    for (const [name, step] of Object.entries({ optembed, sheaf })) {
      assert.ok(step!.from <= din!.from, `${name} started at ${step!.from} s, DIN at ${din!.from} s`);
      assert.ok(step!.to > step!.from && step!.to <= job.seconds, `${name} published at ${step!.to} s of ${job.seconds}`);
    }
    assert.equal(optembed!.to, (await publishedAt(registry, job.optembed.model) - Date.parse(job.startedAt)) / 1000);
  });
});
