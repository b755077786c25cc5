import { strict as assert } from 'node:assert';
import { Command } from 'commander';
import { helpText } from '../../../scripts/lib/cli-help-text.js';

function trainCommand(root: string): Command {
  return new Command('train-cf')
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', `${root}/var/registry`)
    .option('--data-dir <dir>', 'MovieLens-100K folder', `${root}/../shared/data/ml-100k`.replace(`${root}/..`, root.slice(0, root.lastIndexOf('/'))));
}

describe('scripts/lib/cli-help-text', () => {
  it('renders the same help from a short and a long checkout path (CI clones to a longer one)', () => {
    const short = helpText(trainCommand('/w/main'), '/w/main');
    const long = helpText(trainCommand('/check/a/much/longer/path/to/main'), '/check/a/much/longer/path/to/main');
    assert.equal(long, short);
    assert.match(short, /"var\/registry"/);
    assert.match(short, /"\.\.\/shared\/data\/ml-100k"/);
  });

  it('leaves a default that is not a path alone', () => {
    const text = helpText(new Command('x').option('--port <n>', 'port', '8080'), '/w/main');
    assert.match(text, /\(default: "8080"\)/);
  });
});
