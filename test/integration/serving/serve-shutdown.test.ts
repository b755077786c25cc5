// integration services: none
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { publishTinyDin } from '../../helpers/serving-fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

/** `recsys serve` as a child process on a free port, with the models of `registry`. */
function startServe(registry: string, args: string[]): { child: ChildProcess; url: Promise<string>; log: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/recsys.ts', 'serve', '--registry', registry, '--ranker', 'syn-din', '--port', '0',
    '--online-store', 'memory', '--decisions', 'memory', '--no-subscribe', '--poll-seconds', '0', ...args],
  { env: { ...process.env, LOG_LEVEL: 'warn', RECSYS_RETRIEVAL_MODEL: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = / on (http:\/\/[\d.]+:\d+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`recsys serve exited (${code}) before listening: ${stderr}`)));
  });
  return { child, url, log: () => stderr };
}

const exited = (child: ChildProcess, timeoutMs: number) => new Promise<number | null>((resolve, reject) => {
  if (child.exitCode !== null) return resolve(child.exitCode);
  const timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
  child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
});

describe('recsys serve: graceful shutdown under load, admin token never in argv', function () {
  this.timeout(180_000);
  let registry: string;
  const children: ChildProcess[] = [];

  before(async () => {
    registry = mkdtempSync(path.join(tmpdir(), 'serve-shutdown-'));
    await publishTinyDin(registry, 'syn-din');
    await new ModelRegistry(registry).promote('syn-din', 1, { actor: 'test' });
  });
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(registry, { recursive: true, force: true });
  });

  it('SIGTERM under load: readiness goes 503, requests are served through the drain, then it exits 0 with no failed request', async () => {
    const serve = startServe(registry, ['--drain-seconds', '1']);
    children.push(serve.child);
    const url = await serve.url;
    // A load balancer's view: keep-alive clients that stop sending once /readyz says 503 (polled every 100 ms).
    let routed = true;
    let sigtermAt = 0;
    const outcome = { ok: 0, okAfterSigterm: 0, failed: [] as string[], readyz503: false };
    const poller = (async () => {
      while (routed) {
        try {
          const r = await fetch(`${url}/readyz`);
          await r.arrayBuffer();
          if (r.status === 503) { outcome.readyz503 = true; routed = false; }
        } catch {
          routed = false;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const client = async () => {
      while (routed) {
        try {
          const r = await fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u1', candidates: ['i1', 'i2', 'i3'] }) });
          const body = await r.json() as { scores?: unknown[] };
          if (r.status === 200 && body.scores?.length === 3) {
            outcome.ok++;
            if (sigtermAt > 0) outcome.okAfterSigterm++;
          } else outcome.failed.push(`HTTP ${r.status}`);
        } catch (error) {
          outcome.failed.push(String((error as { cause?: unknown }).cause ?? error));
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await waitFor(() => outcome.ok >= 200, { timeoutMs: 60_000, what: 'load to reach 200 answered requests' });
    sigtermAt = Date.now();
    serve.child.kill('SIGTERM');
    const code = await exited(serve.child, 30_000);
    routed = false;
    await Promise.all([...clients, poller]);
    assert.deepEqual(outcome.failed.slice(0, 5), [], `${outcome.failed.length} failed requests of ${outcome.ok + outcome.failed.length}`);
    assert.ok(outcome.readyz503, 'readiness turned 503 before the listener closed');
    assert.ok(outcome.okAfterSigterm > 0, 'requests were still served after SIGTERM');
    assert.equal(code, 0, serve.log());
  });

  it('refuses a token in argv, naming the safe ways', async () => {
    const argv = startServe(registry, ['--admin-token', 'a'.repeat(40)]);
    children.push(argv.child);
    argv.url.catch(() => {});
    assert.equal(await exited(argv.child, 60_000), 2);
    assert.match(argv.log(), /--admin-token was removed: every local user can read a command line; put the token in a file \(--admin-token-file, RECSYS_ADMIN_TOKEN_FILE\) or in RECSYS_ADMIN_TOKEN/);
    assert.doesNotMatch(argv.log(), /aaaa/, 'the token is not echoed');
  });
});
