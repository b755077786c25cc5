// integration services: none
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { nativeTfVersion, tf } from '../../../infra/tf.js';

describe('native TensorFlow backend', () => {
  it('runs on libtensorflow, never the pure-JS backend', () => {
    assert.equal(tf.getBackend(), 'tensorflow');
    assert.match(nativeTfVersion(), /^2\.\d+\.\d+/);
  });

  it('computes a gradient on the native backend', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const grad = tf.grad((v) => v.square().sum())(x);
    assert.deepEqual(Array.from(grad.dataSync()), [2, 4, 6]);
    tf.dispose([x, grad]);
  });

  it('the CLI exits with a message naming the fix when the addon cannot load', () => {
    // A Node path that hides node_modules makes the addon unloadable, as on a broken install.
    const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
      const Module = require('node:module');
      const load = Module._load;
      Module._load = function (request, ...rest) {
        if (request === '@tensorflow/tfjs-node') throw new Error('simulated missing addon');
        return load.call(this, request, ...rest);
      };
      process.argv = [process.argv[0], 'recsys', 'doctor', '--no-services'];
      import('./cli/recsys.ts');
    `], { encoding: 'utf8', cwd: process.cwd() });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /FAIL\s+tensorflow.*simulated missing addon.*install-tfjs-native\.sh/);
  });

  it('doctor reports librdkafka, and names the fix when its addon cannot load', () => {
    const run = (hide: boolean) => spawnSync(process.execPath, ['--import', 'tsx', '-e', `
      const Module = require('node:module');
      const load = Module._load;
      Module._load = function (request, ...rest) {
        if (${hide} && request === 'node-rdkafka') throw new Error('simulated missing librdkafka');
        return load.call(this, request, ...rest);
      };
      process.argv = [process.argv[0], 'recsys', 'doctor', '--no-services'];
      import('./cli/recsys.ts');
    `], { encoding: 'utf8', cwd: process.cwd() });
    const ok = run(false);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /ok\s+librdkafka\s+\d+\.\d+\.\d+/);
    const broken = run(true);
    assert.equal(broken.status, 1, broken.stderr);
    assert.match(broken.stdout, /FAIL\s+librdkafka.*simulated missing librdkafka.*npm run setup/);
  });
});
