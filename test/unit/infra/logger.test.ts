import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { prettyStream, resolveLogFormat } from '../../../infra/logger.js';

describe('log format', () => {
  it('is pretty on a terminal and JSON lines elsewhere unless told', () => {
    assert.equal(resolveLogFormat(['node', 'recsys', 'ingest'], {}, true), 'pretty');
    assert.equal(resolveLogFormat(['node', 'recsys', 'ingest'], {}, false), 'json');
    assert.equal(resolveLogFormat(['node', 'recsys', 'ingest'], { LOG_FORMAT: 'pretty' }, false), 'pretty');
    assert.equal(resolveLogFormat(['node', 'recsys', 'ingest', '--log-format', 'json'], { LOG_FORMAT: 'pretty' }, true), 'json', 'the flag wins over the env');
    assert.equal(resolveLogFormat(['node', 'recsys', '--log-format=pretty', 'serve'], {}, false), 'pretty');
  });

  it('pretty: one line per event, with the component and the fields', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
    const log = pino({ name: 'recsys' }, prettyStream(out)).child({ component: 'ingest' });
    log.info({ partition: 3, offset: 42 }, 'caught up');
    log.warn({ err: new Error('boom') }, 'flush failed');
    await new Promise((resolve) => setImmediate(resolve));
    const lines = chunks.join('').trimEnd().split('\n');
    assert.equal(lines.length >= 2, true, chunks.join(''));
    assert.match(lines[0]!, /INFO.*\[ingest\] caught up.*"partition":3.*"offset":42/);
    assert.match(lines[1]!, /WARN.*\[ingest\] flush failed/);
    assert.doesNotMatch(lines[0]!, /^\{/, 'not JSON');
  });
});
