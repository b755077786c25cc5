import { Command } from 'commander';
import { registerMigrate } from './commands/migrate.js';
import { registerDoctor } from './commands/doctor.js';
import { registerServices } from './commands/services.js';
import { registerData } from './commands/data.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerStart } from './commands/start.js';
import { registerIngest } from './commands/ingest.js';
import { registerProduce } from './commands/produce.js';
import { registerSimulate } from './commands/simulate.js';
import { registerTrainCf } from './commands/train-cf.js';
import { registerFoldIn } from './commands/fold-in.js';
import { registerOptEmbed } from './commands/optembed.js';
import { registerModels } from './commands/models.js';
import { registerTrainStream } from './commands/train-stream.js';
import { registerServe } from './commands/serve.js';
import { registerReplay } from './commands/replay.js';
import { registerSimulateUsers } from './commands/simulate-users.js';
import { runMain } from './run-main.js';
import { heapGrowingPercentFromEnv, setHeapGrowingPercent } from '../infra/v8-heap.js';

const program = new Command('recsys')
  .description('Recommender / CTR feature-embedding platform: streaming features, embedding-heavy models, online serving')
  // Read by infra/logger.ts before commander runs (loggers are made at import); declared here for --help and parsing.
  .option('--log-format <format>', 'logs as json lines or pretty lines (env LOG_FORMAT; default: pretty on a terminal, json otherwise); LOG_LEVEL sets the level')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

registerServices(program);
registerMigrate(program);
registerDoctor(program);
registerData(program);
registerTrain(program);
registerEval(program);
registerStart(program);
registerIngest(program);
registerProduce(program);
registerSimulate(program);
registerTrainCf(program);
registerFoldIn(program);
registerOptEmbed(program);
registerModels(program);
registerTrainStream(program);
registerServe(program);
registerReplay(program);
registerSimulateUsers(program);

await runMain(() => {
  // Every command, training and serving alike (see infra/v8-heap.ts); `serve --heap-growing-percent` may set it again.
  setHeapGrowingPercent(heapGrowingPercentFromEnv());
  return program.parseAsync(process.argv);
});
