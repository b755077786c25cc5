import { ValidationError } from '../../infra/errors.js';

/**
 * The user–item graph as directed edge lists over one node space: users are
 * nodes [0, numUsers), items [numUsers, numUsers + numItems). Every undirected
 * edge appears twice: edges [0, M) go user → item and edges [M, 2M) the
 * reverse, in the same order, so the reverse of edge e is (e + M) mod 2M with
 * no lookup table (the sheaf needs both endpoints' maps of each edge).
 */
export interface BipartiteGraph {
  numUsers: number;
  numItems: number;
  numNodes: number;
  /** Undirected edges (distinct user–item pairs). */
  numEdges: number;
  /** Directed edges: source and target node of each, length 2·numEdges. */
  src: Int32Array;
  dst: Int32Array;
  /** Node degrees (undirected). */
  degree: Float32Array;
  /** Per user, the sorted item indices it is connected to (for negative sampling and masking). */
  userItems: Int32Array[];
}

export function buildBipartiteGraph(numUsers: number, numItems: number, users: Int32Array, items: Int32Array): BipartiteGraph {
  if (users.length !== items.length) throw new ValidationError(`users and items differ in length (${users.length} vs ${items.length})`);
  for (let k = 0; k < users.length; k++) {
    const u = users[k]!;
    const i = items[k]!;
    if (!(u >= 0 && u < numUsers) || !(i >= 0 && i < numItems)) throw new ValidationError(`interaction ${k} (${u}, ${i}) is outside ${numUsers} users × ${numItems} items`);
  }
  // Each user's items by a counting sort, then sorted and deduplicated in place, in one array: a Set and an array per
  // user cost ~0.5 GB of short-lived heap at 1M users, which the process's peak RSS kept.
  const { rowStart: start, edgeOf } = groupEdgesByNode(users, numUsers);
  const flat = Int32Array.from(edgeOf, (k) => items[k]!);
  const userItems: Int32Array[] = new Array(numUsers);
  let kept = 0;
  for (let u = 0; u < numUsers; u++) {
    const from = kept;
    const row = flat.subarray(start[u]!, start[u + 1]!).sort();
    for (let k = 0; k < row.length; k++) if (k === 0 || row[k] !== row[k - 1]) flat[kept++] = row[k]!;
    userItems[u] = flat.subarray(from, kept);
  }
  const numEdges = userItems.reduce((n, list) => n + list.length, 0);
  const numNodes = numUsers + numItems;
  const src = new Int32Array(2 * numEdges);
  const dst = new Int32Array(2 * numEdges);
  const degree = new Float32Array(numNodes);
  let e = 0;
  userItems.forEach((list, u) => {
    for (const i of list) {
      const item = numUsers + i;
      src[e] = u; dst[e] = item;
      src[e + numEdges] = item; dst[e + numEdges] = u;
      degree[u]!++;
      degree[item]!++;
      e++;
    }
  });
  return { numUsers, numItems, numNodes, numEdges, src, dst, degree, userItems };
}

/** Weight 1/√(deg(src)·deg(dst)) per directed edge: LightGCN's D^{-1/2} A D^{-1/2}. */
export function symmetricNormWeights(graph: BipartiteGraph): Float32Array {
  const w = new Float32Array(graph.src.length);
  for (let e = 0; e < w.length; e++) w[e] = 1 / Math.sqrt(graph.degree[graph.src[e]!]! * graph.degree[graph.dst[e]!]!);
  return w;
}

/**
 * The directed edges grouped by one end (`rowOf`: src or dst of each edge), as
 * CSR rows: row v's entries are rowStart[v] ≤ k < rowStart[v + 1], entry k
 * being edge edgeOf[k], in edge order within a row. A counting sort, O(E):
 * no comparison sort over millions of entries.
 */
export function groupEdgesByNode(rowOf: Int32Array, numNodes: number): { rowStart: Int32Array; edgeOf: Int32Array } {
  const rowStart = new Int32Array(numNodes + 1);
  for (let e = 0; e < rowOf.length; e++) rowStart[rowOf[e]! + 1]!++;
  for (let v = 0; v < numNodes; v++) rowStart[v + 1]! += rowStart[v]!;
  const fill = rowStart.slice(0, numNodes);
  const edgeOf = new Int32Array(rowOf.length);
  for (let e = 0; e < rowOf.length; e++) edgeOf[fill[rowOf[e]!]!++] = e;
  return { rowStart, edgeOf };
}

