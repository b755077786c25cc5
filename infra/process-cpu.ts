import { readFileSync } from 'node:fs';

/** Linux's clock ticks per second for /proc times (USER_HZ, 100 on every Linux port that matters). */
const USER_HZ = 100;

export interface ProcessCpu {
  /** User + system CPU seconds of the process itself. */
  own: number;
  /** User + system CPU seconds of its children that have exited and been waited for. */
  children: number;
}

/**
 * CPU time of a process (default: this one) from /proc/<pid>/stat, or null
 * where there is no /proc. Node's resourceUsage() has no RUSAGE_CHILDREN:
 * this is how a parent learns what its finished children cost.
 */
export function processCpu(pid: number | 'self' = 'self'): ProcessCpu | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis, from field 3.
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  const ticks = (field: number) => Number(fields[field - 3]);
  return { own: (ticks(14) + ticks(15)) / USER_HZ, children: (ticks(16) + ticks(17)) / USER_HZ };
}
