import type { Command } from 'commander';
import { defaultRegistryDir, loadServicesConfig } from '../../infra/config.js';
import { errorMessage } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import { ModelRegistry, type AliasChange, type VersionSummary } from '../../pipelines/registry/model-registry.js';
import type { ModelRef } from '../../pipelines/registry/model-ref.js';
import { folderOnlyNotifier, type NotifyOutcome, type RegistryNotifier } from '../../pipelines/registry/registry-notifier.js';
import { collectGarbage, type GcResult } from '../../pipelines/registry/registry-gc.js';
import { createServicesNotifier } from '../../pipelines/registry/services-notifier.js';
import { formatTable } from '../output/format-table.js';
import { modelRef, positiveInt } from '../options.js';

const log = logger('registry');

interface CommonFlags {
  registry: string;
  json?: boolean;
}

interface ChangeFlags extends CommonFlags {
  reason: string;
  actor?: string;
  services: boolean;
}

const registryOption = ['--registry <dir>', 'model registry folder (env RECSYS_REGISTRY, default var/registry)'] as const;
const jsonOption = ['--json', 'print one JSON document instead of a table'] as const;

const time = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : '-');
const version = (v: number | null) => (v === null ? '-' : `v${v}`);
const metricsText = (metrics: Record<string, number | null>, max = 4) =>
  Object.entries(metrics).slice(0, max).map(([k, v]) => `${k}=${v === null ? 'null' : Number.isInteger(v) ? v : v.toFixed(4)}`).join(' ') || '-';
const printJson = (value: unknown) => console.log(JSON.stringify(value));

/** Folder only with --no-services or unusable service settings; otherwise ClickHouse row + Redis message, each skipped when unreachable. */
function notifierFor(flags: ChangeFlags): RegistryNotifier {
  if (!flags.services) return folderOnlyNotifier;
  try {
    return createServicesNotifier(loadServicesConfig());
  } catch (error) {
    log.warn({ err: errorMessage(error) }, 'service settings unusable: registry events go to the folder only');
    return folderOnlyNotifier;
  }
}

function changeCommand(parent: Command, name: string, argument: [string, string, (v: string) => ModelRef], description: string): Command {
  return parent
    .command(name)
    .description(description)
    .argument(...argument)
    .option(...registryOption, defaultRegistryDir())
    .option('--reason <text>', 'why, for the audit log', '')
    .option('--actor <name>', 'who, for the audit log (env RECSYS_ACTOR, default user@host)')
    .option('--no-services', 'change the folder only: no ClickHouse row, no Redis notification')
    .option(...jsonOption);
}

async function runChange(flags: ChangeFlags, change: (registry: ModelRegistry) => Promise<AliasChange>): Promise<void> {
  const notifier = notifierFor(flags);
  try {
    const result = await change(new ModelRegistry(flags.registry, { notifier }));
    if (flags.json) return printJson(result);
    console.log(result.changed
      ? `${result.model}: ${result.alias} ${version(result.from)} → ${version(result.to)} (generation ${result.generation})`
      : `${result.model}: ${result.alias} is already ${version(result.to)}; nothing changed`);
    if (result.notified.length > 0) console.log(`notified: ${result.notified.map(outcomeText).join('; ')}`);
  } finally {
    await notifier.close();
  }
}

const outcomeText = (o: NotifyOutcome) => `${o.sink} ${o.status}${o.status === 'sent' ? '' : ` (${o.detail})`}`;

function versionsTable(rows: VersionSummary[]): string {
  return formatTable(['version', 'serving', 'created', 'type', 'kind', 'parent', 'status', 'metrics'], rows.map((v) => [
    `v${v.version}`, v.serving ? '*' : '', time(v.createdAt), v.modelType ?? '-', v.kind ?? '-', version(v.parent),
    v.status === 'ok' ? (v.verified ? 'ok' : 'ok (sizes)') : `${v.status}: ${v.problems.join('; ')}`, metricsText(v.metrics),
  ]));
}

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description('the model registry: list versions, show one, promote a version to serving, roll back, remove unneeded versions (no services needed)');

  models
    .command('list')
    .description('list models (name, versions, latest, serving), or one model\'s versions with status and metrics')
    .argument('[name]', 'a model: list its versions')
    .option(...registryOption, defaultRegistryDir())
    .option('--verify', 'check every file\'s sha256 (default: presence and size only)')
    .option(...jsonOption)
    .action(async (name: string | undefined, flags: CommonFlags & { verify?: boolean }) => {
      const registry = new ModelRegistry(flags.registry);
      if (name === undefined) {
        const list = await registry.listModels();
        if (flags.json) return printJson({ registry: registry.root, models: list });
        if (list.length === 0) return console.log(`no models in ${registry.root}`);
        console.log(formatTable(['model', 'versions', 'latest', 'serving', 'serving since', 'by'], list.map((m) => [
          m.model, m.versions, version(m.latest), version(m.serving), time(m.servingSince), m.servingActor ?? '-',
        ])));
        return;
      }
      const versions = await registry.listVersions(name, { verify: flags.verify ?? false });
      if (flags.json) return printJson({ registry: registry.root, model: name, versions });
      console.log(versionsTable(versions));
    });

  models
    .command('show')
    .description('one version: manifest, metrics, files and their checksums, serving alias')
    .argument('<ref>', 'name, name@<version>, name@latest or name@serving', modelRef('show'))
    .option(...registryOption, defaultRegistryDir())
    .option(...jsonOption)
    .action(async (ref: ModelRef, flags: CommonFlags) => {
      const detail = await new ModelRegistry(flags.registry).show(ref);
      if (flags.json) return printJson(detail);
      const m = detail.manifest;
      const alias = detail.servingAlias;
      console.log([
        `model       ${detail.model} v${detail.version} (${detail.ref})`,
        `folder      ${detail.dir}`,
        `status      ${detail.status}${detail.verified ? ' (checksums verified)' : ''}${detail.problems.length > 0 ? `: ${detail.problems.join('; ')}` : ''}`,
        `serving     ${alias ? `v${alias.version}${detail.serving ? ' (this version)' : ''}, since ${time(alias.at)} by ${alias.actor}` : 'none'}`,
        ...(m ? [
          `type        ${m.modelType} (${m.kind}, format ${m.format} v${m.formatVersion})`,
          `created     ${time(m.createdAt)}`,
          `parent      ${version(detail.parent)}`,
          `trained to  ${m.trainedUntil === null ? '-' : `${new Date(m.trainedUntil).toISOString()} (${m.trainedUntil})`}`,
          `offsets     ${detail.offsets === null ? '-' : JSON.stringify(detail.offsets)}`,
          `metrics     ${metricsText(m.metrics, Infinity)}`,
        ] : []),
      ].join('\n'));
      if (detail.files.length > 0) {
        console.log(`\n${formatTable(['file', 'bytes', 'sha256', 'check'], detail.files.map((f) => [f.path, f.bytes, `${f.sha256.slice(0, 16)}…`, f.state]))}`);
      }
    });

  changeCommand(models, 'promote', ['<name@version>', 'the version to serve: name@<version> or name@latest', modelRef('promote', { versioned: true })],
    'point the serving alias at a version after verifying it (checksums, format, delta chain); instant and audited')
    .action((ref: ModelRef, flags: ChangeFlags) => runChange(flags, async (registry) => {
      const { version: v } = await registry.resolve(ref);
      return registry.promote(ref.model, v, { reason: flags.reason, ...(flags.actor ? { actor: flags.actor } : {}) });
    }));

  changeCommand(models, 'rollback', ['<name>', 'the model', modelRef('rollback')],
    'move the serving alias back to the version that served before (each rollback steps one further back); audited')
    .action((ref: ModelRef, flags: ChangeFlags) => runChange(flags, (registry) =>
      registry.rollback(ref.model, { reason: flags.reason, ...(flags.actor ? { actor: flags.actor } : {}) })));

  models
    .command('history')
    .description('the audit log of a model: publishes, promotions, rollbacks and refused promotions')
    .argument('<name>', 'the model', modelRef('history'))
    .option(...registryOption, defaultRegistryDir())
    .option('--limit <n>', 'the most recent n entries', positiveInt('limit'), 50)
    .option(...jsonOption)
    .action(async (ref: ModelRef, flags: CommonFlags & { limit: number }) => {
      const entries = (await new ModelRegistry(flags.registry).history(ref.model)).slice(-flags.limit);
      if (flags.json) return printJson({ model: ref.model, entries });
      if (entries.length === 0) return console.log(`no audit entries for ${ref.model}`);
      console.log(formatTable(['at', 'action', 'version', 'serving', 'actor', 'reason'], entries.map((e) => [
        time(e.at), e.action, version(e.version), e.from === e.to ? version(e.to) : `${version(e.from)} → ${version(e.to)}`, e.actor,
        [e.reason, ...(e.problems ?? [])].filter(Boolean).join('; ') || '-',
      ])));
    });

  models
    .command('gc')
    .description('remove versions nothing needs: keeps the newest --keep versions, every version an alias names or can roll back to, the serving version of the audit log, and every version a kept delta is built on; audited')
    .argument('[name]', 'one model (default: every model of the registry)')
    .requiredOption('--keep <n>', 'newest versions kept in any case (at least 1)', positiveInt('keep'))
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option(...registryOption, defaultRegistryDir())
    .option('--reason <text>', 'why, for the audit log', '')
    .option('--actor <name>', 'who, for the audit log (env RECSYS_ACTOR, default user@host)')
    .option(...jsonOption)
    .action(async (name: string | undefined, flags: CommonFlags & { keep: number; dryRun?: boolean; reason: string; actor?: string }) => {
      const registry = new ModelRegistry(flags.registry);
      const names = name !== undefined ? [modelRef('gc')(name).model] : (await registry.listModels()).map((m) => m.model);
      const results: GcResult[] = [];
      for (const model of names) {
        results.push(await collectGarbage(registry, model, { keep: flags.keep, dryRun: flags.dryRun ?? false, reason: flags.reason, ...(flags.actor ? { actor: flags.actor } : {}) }));
      }
      if (flags.json) return printJson({ registry: registry.root, results });
      for (const r of results) {
        const list = (vs: number[]) => (vs.length > 0 ? vs.map((v) => `v${v}`).join(', ') : 'none');
        console.log(`${r.model}: ${r.dryRun ? 'would remove' : 'removed'} ${list(r.removed)}; kept ${r.kept.map((k) => `v${k.version} (${k.reasons.join(', ')})`).join('; ') || 'none'}${r.staging.length > 0 ? `; removed ${r.staging.length} leftover staging folder(s)` : ''}`);
      }
    });
}
