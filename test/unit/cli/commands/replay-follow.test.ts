import assert from 'node:assert/strict';
import { followPhase } from '../../../../cli/commands/replay.js';

describe('recsys replay status --follow: the phase on the bar', () => {
  it("shows the job's own phase while it runs", () => {
    assert.equal(followPhase('active', 'scoring', 60_000), 'scoring');
  });

  it('shows the state while the job waits briefly, then asks whether a worker runs', () => {
    assert.equal(followPhase('waiting', undefined, 3_000), 'waiting');
    assert.equal(followPhase('waiting', undefined, 10_000), 'waiting for a worker (is `recsys replay worker` running?)');
    assert.equal(followPhase('completed', undefined, 60_000), 'completed');
  });
});
