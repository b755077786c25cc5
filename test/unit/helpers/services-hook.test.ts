import assert from 'node:assert/strict';
import path from 'node:path';
import Mocha from 'mocha';
import { checkServicesFor } from '../../helpers/services-hook.js';

/** Nothing listens on port 1: each service is refused at once. */
const DOWN = { KAFKA_PORT: '1', CLICKHOUSE_HTTP_PORT: '1', REDIS_PORT: '1' };

function rootWith(file: string): Mocha.Suite {
  const root = new Mocha.Suite('');
  const suite = Mocha.Suite.create(root, 'a file');
  suite.file = path.resolve(file);
  return root;
}

describe('integration tests: the services check before any test', () => {
  it('fails at once, naming each service that does not answer and how to start them', async () => {
    const started = performance.now();
    await assert.rejects(checkServicesFor(rootWith('test/integration/infra/health.test.ts'), DOWN), (error: Error) => {
      for (const name of ['kafka', 'clickhouse', 'redis']) assert.match(error.message, new RegExp(`${name} \\(`));
      assert.match(error.message, /bash infra\/scripts\/services\.sh up/);
      return true;
    });
    assert.ok(performance.now() - started < 15_000, 'refused connections are reported within seconds');
  });

  it('checks nothing when no integration test is loaded (the unit tests)', async () => {
    await checkServicesFor(rootWith('test/unit/infra/config.test.ts'), DOWN);
  });

  it('finds integration files in nested suites', async () => {
    const root = rootWith('test/unit/infra/config.test.ts');
    const nested = Mocha.Suite.create(root.suites[0]!, 'inner');
    nested.file = path.resolve('test/integration/infra/health.test.ts');
    await assert.rejects(checkServicesFor(root, DOWN), /not answering/);
  });
});
