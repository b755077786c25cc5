import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import Mocha from 'mocha';
import { checkServicesFor, servicesNeededBy } from '../../helpers/services-hook.js';

/** Nothing listens on port 1: each service is refused at once. */
const DOWN = { KAFKA_PORT: '1', CLICKHOUSE_HTTP_PORT: '1', REDIS_PORT: '1' };

function rootWith(...files: string[]): Mocha.Suite {
  const root = new Mocha.Suite('');
  for (const file of files) Mocha.Suite.create(root, file).file = path.resolve(file);
  return root;
}

describe('integration tests: the services check before any test', () => {
  it('fails at once, naming each service that does not answer and how to start them', async () => {
    const started = performance.now();
    await assert.rejects(checkServicesFor(rootWith('test/integration/infra/health.test.ts'), DOWN), (error: Error) => {
      assert.match(error.message, /kafka \(/);
      assert.match(error.message, /clickhouse \(.*ECONNREFUSED/);
      assert.match(error.message, /redis \(connect ECONNREFUSED/);
      assert.match(error.message, /bash infra\/scripts\/services\.sh up/);
      return true;
    });
    assert.ok(performance.now() - started < 15_000, 'refused connections are reported within seconds');
  });

  it('gives up on a service that accepts connections and never answers, and names it', async function () {
    this.timeout(30_000);
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = String((silent.address() as { port: number }).port);
    try {
      // A file that needs only Redis: the others (down too) are not asked about.
      await assert.rejects(checkServicesFor(rootWith('test/integration/infra/redis-bullmq.test.ts'), { ...DOWN, REDIS_PORT: port }), (error: Error) => {
        assert.match(error.message, /not answering: redis \(/);
        assert.doesNotMatch(error.message, /kafka|clickhouse/);
        return true;
      });
    } finally {
      silent.close();
    }
  });

  it('checks nothing when no integration test is loaded (the unit tests), or when the loaded ones need no service', async () => {
    await checkServicesFor(rootWith('test/unit/infra/config.test.ts'), DOWN);
    await checkServicesFor(rootWith('test/integration/serving/serve-banner.test.ts', 'test/integration/infra/tf-backend.test.ts'), DOWN);
  });

  it('finds integration files in nested suites', async () => {
    const root = rootWith('test/unit/infra/config.test.ts');
    Mocha.Suite.create(root.suites[0]!, 'inner').file = path.resolve('test/integration/infra/health.test.ts');
    await assert.rejects(checkServicesFor(root, DOWN), /not answering/);
  });

  it('reads what a file needs from its "// integration services:" line; all three by default', () => {
    assert.deepEqual(servicesNeededBy('import x;\n'), ['kafka', 'clickhouse', 'redis']);
    assert.deepEqual(servicesNeededBy('// integration services: none\nimport x;\n'), []);
    assert.deepEqual(servicesNeededBy('// integration services: redis, kafka\n'), ['redis', 'kafka']);
    assert.throws(() => servicesNeededBy('// integration services: postgres\n'), /names postgres; known: kafka, clickhouse, redis, or none/);
  });
});
