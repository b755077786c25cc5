import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { processCpu } from '../../../infra/process-cpu.js';

describe('processCpu', () => {
  it('counts this process\'s CPU and, once waited for, its children\'s', () => {
    const before = processCpu();
    assert.ok(before, '/proc is readable on Linux');
    // 0.4 s of CPU (not of wall time: the machine may be busy) in a child, which spawnSync waits for.
    const child = spawnSync(process.execPath, ['-e', 'const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; }; while (u() < 0.4);']);
    assert.equal(child.status, 0);
    const after = processCpu()!;
    assert.ok(after.children - before.children >= 0.3, `children's CPU grew by ${after.children - before.children} s`);
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user < 300_000);
    assert.ok(processCpu()!.own - after.own >= 0.25, 'its own CPU grows while it computes');
  });

  it('is null for a process that does not exist', () => {
    assert.equal(processCpu(2 ** 22 + 1), null);
  });
});
