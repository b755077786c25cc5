// Integration tests run against the local Kafka, ClickHouse and Redis. With
// one of them down every test waited out its own timeout while the clients
// retried (minutes per test, hours for the suite) before failing: this root
// hook asks the services the loaded integration files need once, before any
// test, and fails the run at once with what does not answer and how to start
// it. A file needs all three unless a line near its top says otherwise:
//   // integration services: none
//   // integration services: redis
// Runs without integration test files (unit, cluster) check nothing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Suite } from 'mocha';
import { loadServicesConfig } from '../../infra/config.js';
import { checkServices } from '../../infra/health.js';

const SERVICES = ['kafka', 'clickhouse', 'redis'] as const;
type Service = (typeof SERVICES)[number];
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NEEDS = /^\/\/ integration services: (.+)$/m;

function isIntegrationFile(file: string | undefined): file is string {
  return file !== undefined && path.relative(REPO, file).split(path.sep).join('/').startsWith('test/integration/');
}

function integrationFiles(suite: Suite, into = new Set<string>()): Set<string> {
  if (isIntegrationFile(suite.file)) into.add(suite.file);
  for (const test of suite.tests) if (isIntegrationFile(test.file)) into.add(test.file);
  for (const child of suite.suites) integrationFiles(child, into);
  return into;
}

/** What a test file says it needs (its first 2,000 characters), all three when it says nothing. */
export function servicesNeededBy(source: string): Service[] {
  const declared = NEEDS.exec(source.slice(0, 2000))?.[1]?.trim();
  if (declared === undefined) return [...SERVICES];
  if (declared === 'none') return [];
  const names = declared.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(SERVICES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`"// integration services:" names ${unknown.join(', ')}; known: ${SERVICES.join(', ')}, or none`);
  return names as Service[];
}

/** Rejects, naming each needed service that does not answer, when `root` holds integration tests. */
export async function checkServicesFor(root: Suite, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const needed = new Set<Service>();
  for (const file of integrationFiles(root)) for (const s of servicesNeededBy(readFileSync(file, 'utf8'))) needed.add(s);
  if (needed.size === 0) return;
  const down = (await checkServices(loadServicesConfig(env))).filter((report) => needed.has(report.name as Service) && !report.ok);
  if (down.length === 0) return;
  throw new Error(
    `integration tests need the local services; not answering: ${down.map((r) => `${r.name} (${r.detail})`).join('; ')}. `
    + 'Start them with `bash infra/scripts/services.sh up` (`npm test` starts them itself).',
  );
}

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    // Each service's check gives up after 10 s (infra/health.ts).
    this.timeout(30_000);
    const root = this.test?.parent;
    if (root) await checkServicesFor(root);
  },
};
