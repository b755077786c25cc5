// integration services: none
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { publishRandomGraph, publishTinyDin } from '../../helpers/serving-fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

const run = promisify(execFile);

/** `recsys serve` on a free port; its stderr collected. */
function startServe(registry: string, args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/recsys.ts', 'serve', '--registry', registry, '--ranker', 'syn-din', '--port', '0',
    '--online-store', 'memory', '--decisions', 'memory', '--no-subscribe', '--poll-seconds', '0', '--item-id-prefix', 'i', '--user-id-prefix', 'u', ...args],
  { env: { ...process.env, LOG_LEVEL: 'warn', RECSYS_RETRIEVAL_MODEL: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return { child, stderr: () => stderr };
}

/** The banner's curl lines, each run through a shell as a person would paste it; every answer must be 2xx JSON. */
async function runCurls(banner: string): Promise<{ command: string; body: unknown }[]> {
  const commands = banner.split('\n').filter((l) => l.startsWith('curl '));
  const out = [];
  for (const command of commands) {
    const { stdout } = await run('sh', ['-c', `${command} -w '\\n%{http_code}'`], { timeout: 30_000 });
    const [body, status] = [stdout.slice(0, stdout.lastIndexOf('\n')), stdout.slice(stdout.lastIndexOf('\n') + 1)];
    assert.match(status, /^2\d\d$/, `${command} answered ${status}: ${body}`);
    out.push({ command, body: JSON.parse(body) as unknown });
  }
  return out;
}

describe('recsys serve: once ready it says what it serves and prints curls that work against it', function () {
  this.timeout(180_000);
  let registry: string;
  const children: ChildProcess[] = [];

  before(async () => {
    registry = mkdtempSync(path.join(tmpdir(), 'serve-banner-'));
    await publishTinyDin(registry, 'syn-din');
    await publishRandomGraph(registry, 'syn-graph');
    const models = new ModelRegistry(registry);
    await models.promote('syn-din', 1, { actor: 'test' });
    await models.promote('syn-graph', 1, { actor: 'test' });
  });
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(registry, { recursive: true, force: true });
  });

  for (const retrieval of [false, true]) {
    it(retrieval ? 'with a retrieval model: recommend without candidates, the graph embedding lookup' : 'ranker only: recommend among supplied candidates', async () => {
      const serve = startServe(registry, retrieval ? ['--retrieval', 'syn-graph', '--ann', 'exact'] : []);
      children.push(serve.child);
      // The banner is one write, so it is whole once its first line is there.
      await waitFor(() => / on http:\/\/[\d.]+:\d+ /.test(serve.stderr()) || serve.child.exitCode !== null, { timeoutMs: 90_000, what: 'the "serving on" line' });
      const banner = serve.stderr();
      assert.match(banner, /serving on http:\/\/127\.0\.0\.1:\d+ /);
      assert.match(banner, /ranker: +syn-din v1\n/);
      assert.match(banner, retrieval ? /retrieval: +syn-graph v1, \d+ items, exact index/ : /retrieval: +none: \/v1\/recommend ranks the candidates a request supplies/);
      assert.match(banner, /online store: +memory/);
      assert.match(banner, /decisions: +memory/);
      const answers = await runCurls(banner);
      assert.equal(answers.length, retrieval ? 5 : 4, banner);
      const recommend = answers.find((a) => a.command.includes('/v1/recommend'))!;
      assert.equal(recommend.command.includes('candidates'), !retrieval);
      assert.ok(((recommend.body as { items: unknown[] }).items).length > 0, JSON.stringify(recommend.body));
      const score = answers.find((a) => a.command.includes('/v1/score'))!;
      assert.equal((score.body as { scores: unknown[] }).scores.length, 3);
      serve.child.kill('SIGTERM');
    });
  }
});
