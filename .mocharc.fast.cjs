// `npm run test:fast`: every unit test that starts no service and trains no
// model to convergence, for a quick loop while changing code (under 60 s on
// the 2-core machine). `npm test` runs everything, these included.
module.exports = {
  // As in .mocharc.json.
  'node-option': ['import=tsx'],
  extension: ['ts'],
  timeout: 20000,
  reporter: 'spec',
  spec: ['test/unit/**/*.test.ts'],
  // Each trains models to convergence, runs the CLI in child processes, or
  // moves a million rows; measured at ≥ 5 s each.
  ignore: [
    'test/unit/bench/user-posterior.test.ts',
    'test/unit/cli/commands/models-command.test.ts',
    'test/unit/cli/commands/start.test.ts',
    'test/unit/cli/commands/table-train.test.ts',
    'test/unit/features/movielens.test.ts',
    'test/unit/models/ctr-artifact/delta-artifact.test.ts',
    'test/unit/models/ctr-model.test.ts',
    'test/unit/models/gradient-check.test.ts',
    'test/unit/models/graph/bpr-learning.test.ts',
    'test/unit/models/read-only-model.test.ts',
    'test/unit/pipelines/offline-training.test.ts',
    'test/unit/pipelines/replay/estimators/item-level-check.test.ts',
    'test/unit/pipelines/streaming/auto-promote-shadow.test.ts',
    'test/unit/pipelines/streaming/bounded-state.test.ts',
  ],
};
