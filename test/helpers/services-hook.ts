// Integration tests run against the local Kafka, ClickHouse and Redis. With
// one of them down every test waited out its own timeout while the clients
// retried (minutes per test, hours for the suite) before failing: this root
// hook asks each service once, before any test, and fails the run at once
// with what is down and how to start it. Runs without integration test files
// (the unit tests) check nothing.
import path from 'node:path';
import type { Context, Suite } from 'mocha';
import { loadServicesConfig } from '../../infra/config.js';
import { checkServices } from '../../infra/health.js';

const INTEGRATION_DIR = `${path.sep}test${path.sep}integration${path.sep}`;

function loadsIntegrationTests(suite: Suite): boolean {
  return (suite.file?.includes(INTEGRATION_DIR) ?? false)
    || suite.tests.some((t) => t.file?.includes(INTEGRATION_DIR))
    || suite.suites.some(loadsIntegrationTests);
}

/** Rejects, naming each service that does not answer, when `root` holds integration tests. */
export async function checkServicesFor(root: Suite, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!loadsIntegrationTests(root)) return;
  const down = (await checkServices(loadServicesConfig(env))).filter((report) => !report.ok);
  if (down.length === 0) return;
  throw new Error(
    `integration tests need the local services; not answering: ${down.map((r) => `${r.name} (${r.detail})`).join('; ')}. `
    + 'Start them with `bash infra/scripts/services.sh up` (`npm test` starts them itself).',
  );
}

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    this.timeout(30_000);
    const root = this.test?.parent;
    if (root) await checkServicesFor(root);
  },
};
