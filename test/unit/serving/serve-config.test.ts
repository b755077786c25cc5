import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ValidationError } from '../../../infra/errors.js';
import { loadServeSettings } from '../../../serving/serve-config.js';

describe('serving settings', () => {
  it('let the heap grow 4× its live size before a full GC unless told otherwise (flag over env over default)', () => {
    assert.equal(loadServeSettings({}).heapGrowingPercent, 300);
    assert.equal(loadServeSettings({ RECSYS_HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent, 0);
    assert.equal(loadServeSettings({ RECSYS_HEAP_GROWING_PERCENT: '0' }, { heapGrowingPercent: 150 }).heapGrowingPercent, 150);
  });

  it('refuse a negative or fractional growth with the setting named', () => {
    for (const value of ['-1', '2.5', 'lots']) {
      assert.throws(() => loadServeSettings({ RECSYS_HEAP_GROWING_PERCENT: value }), (error: unknown) =>
        error instanceof ValidationError && error.message.includes('heapGrowingPercent'));
    }
  });

  it('turn V8\'s allocation-site pretenuring off unless RECSYS_SERVE_PRETENURING says to keep it', () => {
    assert.equal(loadServeSettings({}).pretenuring, false);
    assert.equal(loadServeSettings({ RECSYS_SERVE_PRETENURING: '1' }).pretenuring, true);
    assert.equal(loadServeSettings({ RECSYS_SERVE_PRETENURING: 'false' }).pretenuring, false);
    assert.throws(() => loadServeSettings({ RECSYS_SERVE_PRETENURING: 'sometimes' }), (error: unknown) =>
      error instanceof ValidationError && error.message.includes('RECSYS_SERVE_PRETENURING'));
  });
});

describe('serving settings: the ranker thread', () => {
  it('predict in a worker thread unless RECSYS_SERVE_RANKER_THREAD or the flag says not to', () => {
    assert.equal(loadServeSettings({}).rankerThread, true);
    assert.equal(loadServeSettings({ RECSYS_SERVE_RANKER_THREAD: '' }).rankerThread, true);
    assert.equal(loadServeSettings({ RECSYS_SERVE_RANKER_THREAD: 'false' }).rankerThread, false);
    assert.equal(loadServeSettings({ RECSYS_SERVE_RANKER_THREAD: '1' }, { rankerThread: false }).rankerThread, false);
    assert.throws(() => loadServeSettings({ RECSYS_SERVE_RANKER_THREAD: 'maybe' }), (error: unknown) =>
      error instanceof ValidationError && error.message.includes('RECSYS_SERVE_RANKER_THREAD'));
  });
});

describe('serving settings: admin token, unaliased models, drain', () => {
  const long = 'x'.repeat(32);

  it('refuse an admin token shorter than 32 characters, without echoing it', () => {
    assert.throws(() => loadServeSettings({ RECSYS_ADMIN_TOKEN: 'secret-but-short' }), (error: unknown) =>
      error instanceof ValidationError && /adminToken: the admin token has 16 characters, at least 32 are needed/.test(error.message) && !error.message.includes('secret-but-short'));
    assert.equal(loadServeSettings({ RECSYS_ADMIN_TOKEN: long }).adminToken, long);
    assert.equal(loadServeSettings({}).adminToken, '', 'no token: admin routes disabled');
  });

  it('read the admin token from a file (first line), refuse an unreadable or empty file and a second source', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'token-'));
    try {
      const file = path.join(dir, 'token');
      writeFileSync(file, `${long}\n`, { mode: 0o600 });
      assert.equal(loadServeSettings({ RECSYS_ADMIN_TOKEN_FILE: file }).adminToken, long);
      assert.throws(() => loadServeSettings({ RECSYS_ADMIN_TOKEN_FILE: file, RECSYS_ADMIN_TOKEN: long }), /not both/);
      assert.throws(() => loadServeSettings({ RECSYS_ADMIN_TOKEN_FILE: path.join(dir, 'missing') }), /cannot read the admin token file .*missing.*ENOENT/);
      writeFileSync(path.join(dir, 'empty'), '\n');
      assert.throws(() => loadServeSettings({ RECSYS_ADMIN_TOKEN_FILE: path.join(dir, 'empty') }), /is empty/);
      writeFileSync(path.join(dir, 'short'), 'short\n');
      assert.throws(() => loadServeSettings({ RECSYS_ADMIN_TOKEN_FILE: path.join(dir, 'short') }), ValidationError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serve only aliased versions unless RECSYS_SERVE_ALLOW_LATEST; drain 5 s by default', () => {
    assert.equal(loadServeSettings({}).allowLatest, false);
    assert.equal(loadServeSettings({ RECSYS_SERVE_ALLOW_LATEST: 'true' }).allowLatest, true);
    assert.throws(() => loadServeSettings({ RECSYS_SERVE_ALLOW_LATEST: 'maybe' }), /RECSYS_SERVE_ALLOW_LATEST must be true or false/);
    assert.equal(loadServeSettings({}).drainSeconds, 5);
    assert.equal(loadServeSettings({ RECSYS_SERVE_DRAIN_SECONDS: '0.5' }).drainSeconds, 0.5);
  });
});
