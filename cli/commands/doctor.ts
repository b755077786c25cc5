import type { Command } from 'commander';
import { loadServicesConfig } from '../../infra/config.js';
import { checkServices } from '../../infra/health.js';
import { errorMessage } from '../../infra/errors.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the native addons (TensorFlow, our TensorFlow and table kernels, librdkafka) and that Kafka, ClickHouse and Redis answer')
    .option('--no-services', 'check only the native addons')
    .action(async (opts: { services: boolean }) => {
      let ok = true;
      try {
        const { tf, nativeTfVersion, customOps } = await import('../../infra/tf.js');
        console.log(`ok    tensorflow  backend ${tf.getBackend()}, tfjs ${tf.version.tfjs}, libtensorflow ${nativeTfVersion()}`);
        // Missing kernels cost speed, not results: the layers compose TensorFlow's own ops instead.
        ok &&= customOps.loaded;
        console.log(customOps.loaded ? 'ok    our ops     RecsysPRelu, RecsysDice, RecsysPairsInput, RecsysScatterRows and their gradients; RecsysPairProducts, RecsysAddPairTerms (inference) (build/native/recsys_ops.node)' : `FAIL  our ops     ${customOps.reason}`);
      } catch (error) {
        ok = false;
        console.log(`FAIL  tensorflow  ${errorMessage(error)}`);
      }
      // Like our ops: without them the tables run their JavaScript loops (same values, slower).
      const { nativeTables } = await import('../../infra/native-tables.js');
      ok &&= nativeTables.kernels !== null;
      console.log(nativeTables.kernels ? 'ok    our tables  copyRows, sparseAdam, huge pages for large tables (build/native/recsys_tables.node)' : `FAIL  our tables  ${nativeTables.reason}`);
      try {
        const { librdkafkaVersion } = await import('../../infra/kafka/rdkafka-producer.js');
        console.log(`ok    librdkafka  ${librdkafkaVersion()} (node-rdkafka: the producers)`);
      } catch (error) {
        ok = false;
        console.log(`FAIL  librdkafka  ${errorMessage(error)}`);
      }
      if (opts.services) {
        for (const report of await checkServices(loadServicesConfig())) {
          ok &&= report.ok;
          console.log(`${report.ok ? 'ok  ' : 'FAIL'}  ${report.name.padEnd(10)}  ${report.detail} [${report.ms} ms]`);
        }
      }
      if (!ok) process.exitCode = 1;
    });
}
