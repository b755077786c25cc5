// The folders are the architecture: data flows features → models → pipelines →
// serving (→ cli), with infra underneath. A module imports downward only.
const layers = ['infra', 'features', 'models', 'pipelines', 'serving', 'cli'];
const above = (layer) => layers.slice(layers.indexOf(layer) + 1);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    ...layers.slice(0, -1).map((layer) => ({
      name: `${layer}-imports-downward-only`,
      comment: `${layer}/ may not import from ${above(layer).join(', ')}`,
      severity: 'error',
      from: { path: `^${layer}/` },
      to: { path: `^(${above(layer).join('|')})/` },
    })),
    {
      name: 'maths-knows-no-io',
      comment: 'features/ and models/ know nothing of Kafka, ClickHouse, Redis, queues or HTTP',
      severity: 'error',
      from: { path: '^(features|models)/' },
      to: {
        path: [
          'node_modules/(kafkajs|@clickhouse|ioredis|bullmq|express)/',
          '^infra/(kafka|clickhouse|redis|queue)',
        ],
      },
    },
    {
      name: 'ctr-models-do-not-import-their-factory',
      comment: 'models/ctr/ is the base of LR, DNN and DIN; loading an artifact (which needs the factory of all of them) lives in models/ctr-artifact/',
      severity: 'error',
      from: { path: '^models/ctr/' },
      to: { path: '^models/(create-model\\.ts|din/|baselines/|ctr-artifact/)' },
    },
    {
      name: 'product-does-not-import-tests-or-benches',
      severity: 'error',
      from: { path: '^(infra|features|models|pipelines|serving|cli)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'dev-dependencies-stay-out-of-product',
      severity: 'error',
      from: { path: '^(infra|features|models|pipelines|serving|cli)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|var|dist|results|bench/peers)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
