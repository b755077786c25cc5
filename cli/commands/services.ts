import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../infra/scripts/services.sh', import.meta.url));

export function registerServices(program: Command): void {
  const services = program
    .command('services')
    .description('install, start, stop or check the local Kafka, ClickHouse and Redis (data and logs under var/)');
  const verbs: [string, string][] = [
    ['install', 'install the service binaries and Kafka jars without starting anything'],
    ['up', 'start the services that are not running and wait until healthy'],
    ['down', 'stop the services that `up` started'],
    ['status', 'print each service\'s health; exit 1 if one is down'],
  ];
  for (const [verb, description] of verbs) {
    services
      .command(`${verb} [names...]`)
      .description(`${description} (names: kafka, clickhouse, redis; default all)`)
      .action((names: string[]) => {
        const result = spawnSync('bash', [SCRIPT, verb, ...names], { stdio: 'inherit' });
        process.exitCode = result.status ?? 1;
      });
  }
}
