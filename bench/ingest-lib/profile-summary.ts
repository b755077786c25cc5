import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] }

/** Where a .cpuprofile's samples fall: by package/area and the top functions by self time. */
export function summarizeProfile(file: string, top = 15): { areas: Record<string, number>; functions: { fn: string; share: number }[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const total = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0) || 1;
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(url)?.[1]
      ?? (url.includes('/pipelines/') ? 'pipelines (ours)' : url.includes('/features/') ? 'features (ours)' : url.startsWith('node:') ? 'node core' : functionName === '(garbage collector)' ? 'GC' : functionName === '(idle)' ? 'idle' : functionName === '(program)' ? 'native/program' : url === '' ? `native: ${functionName || '(anonymous)'}` : 'other');
    areas.set(area, (areas.get(area) ?? 0) + hits);
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/main\//, '')}:${lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + hits);
  }
  const share = (n: number) => Number((n / total).toFixed(4));
  return {
    areas: Object.fromEntries([...areas].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, share(v)])),
    functions: [...fns].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, n]) => ({ fn, share: share(n) })),
  };
}
