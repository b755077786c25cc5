import type { Command } from 'commander';
import { defaultRegistryDir } from '../../infra/config.js';
import { createKafka } from '../../infra/kafka/kafka-client.js';
import { onShutdown } from '../../infra/shutdown.js';
import { loadIngestSettings } from '../../pipelines/ingest/ingest-config.js';
import { loadStreamConfig, type StreamConfig } from '../../pipelines/streaming/stream-config.js';
import { StreamMetrics } from '../../pipelines/streaming/stream-metrics.js';
import { nonNegative } from '../options.js';
import { BROKERS_HELP } from '../kafka-options.js';
import { servicesFromFlags } from './ingest.js';
import { TrainStreamProgress } from '../output/train-stream-progress.js';

interface TrainStreamFlags {
  config: string;
  registry: string;
  topic?: string;
  group?: string;
  checkpointDir?: string;
  fromScratch?: boolean;
  metricsPort?: number;
  idleExitSeconds?: number;
  scoresOut?: string;
  brokers?: string;
  json?: boolean;
}

export function registerTrainStream(program: Command): void {
  program
    .command('train-stream')
    .description('train a CTR model online from the events topic (own consumer group): progressive validation, versions every N examples or T seconds (deltas between full snapshots), checkpoints that resume exactly; the first version comes after publish.everyExamples trained examples or publish.everySeconds (default 50,000 or 300 s), so bound a small run with --idle-exit-seconds; on a terminal, a status line (examples, progressive AUC, versions) and a line per version; runs until SIGTERM/SIGINT, which stops fetching, trains what is in hand, checkpoints, commits and exits 0 (no publish: the next run publishes on schedule)')
    .requiredOption('--config <file>', 'streaming training config (JSON: features, model, stream, publish, checkpoint); e.g. configs/models/synthetic-din-stream.json')
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--topic <name>', 'events topic (overrides stream.topic; env KAFKA_EVENTS_TOPIC, default recsys.events)')
    .option('--group <id>', 'consumer group (overrides stream.groupId)')
    .option('--checkpoint-dir <dir>', 'checkpoint folder (overrides checkpoint.dir; default var/train-stream/<name>)')
    .option('--from-scratch', 'with no checkpoint, start from fresh weights rather than the latest published version')
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics (0 = any free port)', nonNegative('metrics-port'))
    .option('--idle-exit-seconds <s>', 'finish (publish, checkpoint, commit) and exit after this long without a message', nonNegative('idle-exit-seconds'))
    .option('--scores-out <file>', 'append every progressive score as a JSON line {id, label, score} (scored before training)')
    .option('--brokers <list>', BROKERS_HELP)
    .option('--json', 'print the final status as one JSON line')
    .action(async (flags: TrainStreamFlags) => {
      const loaded = loadStreamConfig(flags.config);
      const config: StreamConfig = {
        ...loaded,
        initFrom: flags.fromScratch ? 'scratch' : loaded.initFrom,
        stream: { ...loaded.stream, ...(flags.group ? { groupId: flags.group } : {}) },
        checkpoint: { ...loaded.checkpoint, ...(flags.checkpointDir ? { dir: flags.checkpointDir } : {}) },
      };
      const topic = flags.topic ?? config.stream.topic ?? loadIngestSettings().eventsTopic;
      const services = servicesFromFlags(flags);
      const metrics = new StreamMetrics().withProcessMetrics();
      if (flags.metricsPort !== undefined) {
        const { server, port } = await metrics.serve(flags.metricsPort);
        onShutdown('metrics', () => new Promise((resolve) => server.close(resolve)));
        console.error(`metrics on http://127.0.0.1:${port}/metrics`);
      }
      // SIGTERM/SIGINT drains the run (checkpoint, commit) and the process exits only once this command is done
      // (scores file closed, final status printed): the shutdown handler exits as soon as its closers return.
      let drain: (() => Promise<void>) | undefined;
      let signalled = false;
      let ended!: () => void;
      const done = new Promise<void>((resolve) => { ended = resolve; });
      onShutdown('train-stream', async () => {
        signalled = true;
        await drain?.();
        await done;
        // A drain ends with a checkpoint, which for millions of users takes seconds: more than the default shutdown budget.
      }, { timeoutMs: 60_000 });
      const progress = new TrainStreamProgress({
        interactive: process.stderr.isTTY === true,
        write: (text) => process.stderr.write(text),
        publish: config.publish,
        ...(flags.idleExitSeconds !== undefined ? { idleExitSeconds: flags.idleExitSeconds } : {}),
      });
      let statusLine: NodeJS.Timeout | undefined;
      try {
        // Loaded on use: TensorFlow loads only for commands that need it.
        const { runTrainStream } = await import('../../pipelines/streaming/run-train-stream.js');
        const result = await runTrainStream(config, {
          kafka: createKafka(services.kafka),
          registry: flags.registry,
          topic,
          metrics,
          ...(flags.idleExitSeconds !== undefined ? { idleExitMs: flags.idleExitSeconds * 1000 } : {}),
          ...(flags.scoresOut ? { scoresFile: flags.scoresOut } : {}),
          onPublished: (version) => progress.published(version),
          onStarted: (running) => {
            drain = running.drain;
            // A signal while the trainer was opening: drain right away.
            if (signalled) void running.drain();
            progress.start({ name: config.name, topic, groupId: config.stream.groupId });
            if (process.stderr.isTTY === true) {
              statusLine = setInterval(() => {
                try {
                  progress.update(running.trainer.status());
                } catch {
                  // The trainer is disposed just before the run returns: a tick in between has nothing to show.
                }
              }, 1000);
              statusLine.unref();
            }
          },
        });
        clearInterval(statusLine);
        const { ledger } = result.status;
        progress.finish(result.status, result.versions.length);
        if (flags.json) console.log(JSON.stringify({ startedFrom: result.startedFrom, ...result.status, ledger, versions: result.versions.map((v) => ({ version: v.version, kind: v.kind, parent: v.parent, rows: v.rows })) }));
      } finally {
        clearInterval(statusLine);
        ended();
      }
    });
}
