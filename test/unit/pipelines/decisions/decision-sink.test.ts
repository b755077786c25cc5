import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecisionRecord } from '../../../../pipelines/decisions/decision-record.js';
import { JsonlDecisionSink, MemoryDecisionSink } from '../../../../pipelines/decisions/decision-sink.js';
import { decisionSinkConformance } from '../../../helpers/conformance/decision-sink.js';

decisionSinkConformance('in memory', async () => {
  const sink = new MemoryDecisionSink();
  return { sink, readBack: async () => [...sink.records], cleanup: async () => {} };
});

decisionSinkConformance('JSON lines file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'conf-decisions-'));
  const file = join(dir, 'decisions.jsonl');
  return {
    sink: new JsonlDecisionSink(file),
    async readBack() {
      const text = await readFile(file, 'utf8').catch(() => '');
      if (text !== '' && !text.endsWith('\n')) throw new Error('the file ends in a partial line');
      return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as DecisionRecord);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
