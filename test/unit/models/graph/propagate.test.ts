import assert from 'node:assert/strict';
import { tf } from '../../../../infra/tf.js';
import { createRng } from '../../../../features/math/rng.js';
import { buildBipartiteGraph, symmetricNormWeights } from '../../../../models/graph/bipartite-graph.js';
import { disposeNormalizedAdjacency, normalizedAdjacency, propagateNormalized, propagateSymmetric, sparseAdjacency, disposeAdjacency } from '../../../../models/graph/sparse-propagate.js';
import { assertClose } from '../../../helpers/assert-close.js';

describe('bipartite graph and sparse propagation', () => {
  const graph = buildBipartiteGraph(3, 4, Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2]), Int32Array.from([0, 1, 2, 1, 3, 0, 3, 3]));

  it('keeps distinct pairs, both directions with the reverse at e + M, and degrees', () => {
    assert.equal(graph.numEdges, 7); // (2, 3) twice counts once
    for (let e = 0; e < graph.numEdges; e++) {
      assert.equal(graph.src[e + graph.numEdges], graph.dst[e]);
      assert.equal(graph.dst[e + graph.numEdges], graph.src[e]);
    }
    assert.deepEqual(Array.from(graph.degree), [3, 2, 2, 2, 2, 1, 2]);
    assert.deepEqual(Array.from(graph.userItems[2]!), [0, 3]);
  });

  it('keeps each user\'s distinct items sorted, edges in (user, item) order, from unsorted interactions with repeats and idle users', () => {
    const rng = createRng(9);
    const users = Int32Array.from({ length: 400 }, () => rng.int(30));
    const items = Int32Array.from({ length: 400 }, () => rng.int(12));
    const g = buildBipartiteGraph(32, 12, users, items);
    const want = Array.from({ length: 32 }, (_, u) => [...new Set(Array.from(items).filter((_, k) => users[k] === u))].sort((a, b) => a - b));
    assert.deepEqual(g.userItems.map((list) => Array.from(list)), want);
    const pairs = want.flatMap((list, u) => list.map((i) => [u, 32 + i]));
    assert.equal(g.numEdges, pairs.length);
    assert.deepEqual(pairs.map((_, e) => [g.src[e], g.dst[e]]), pairs);
    assert.throws(() => buildBipartiteGraph(2, 2, Int32Array.of(0, 2), Int32Array.of(0, 1)), /interaction 1 \(2, 1\) is outside 2 users × 2 items/);
  });

  it('A·X equals the dense D^{-1/2} A D^{-1/2} X, and its custom gradient equals autodiff', () => {
    const n = graph.numNodes;
    const w = symmetricNormWeights(graph);
    const dense = new Float32Array(n * n);
    for (let e = 0; e < graph.src.length; e++) dense[graph.dst[e]! * n + graph.src[e]!] = w[e]!;
    const rng = createRng(3);
    const x = tf.tensor2d(Float32Array.from({ length: n * 5 }, () => rng.normal()), [n, 5]);
    const probe = tf.tensor2d(Float32Array.from({ length: n * 5 }, () => rng.normal()), [n, 5]);
    const adjacency = sparseAdjacency(graph.src, graph.dst, w, n);
    const a = tf.tensor2d(dense, [n, n]);
    assertClose(propagateSymmetric(x, adjacency).dataSync(), tf.matMul(a, x).dataSync(), { atol: 1e-6, rtol: 1e-5 }, 'A·X');
    // Two layers so the gradient passes through the custom op twice.
    const sparseGrad = tf.grad((v: ReturnType<typeof tf.tensor>) => tf.tanh(propagateSymmetric(propagateSymmetric(v, adjacency), adjacency)).mul(probe).sum())(x);
    const denseGrad = tf.grad((v: ReturnType<typeof tf.tensor>) => tf.tanh(tf.matMul(a, tf.matMul(a, v))).mul(probe).sum())(x);
    assertClose(sparseGrad.dataSync(), denseGrad.dataSync(), { atol: 1e-5, rtol: 1e-4 }, '∂x');
    disposeAdjacency(adjacency);
    tf.dispose([x, probe, a, sparseGrad, denseGrad]);
  });

  it('the fused CSR product equals the dense D^{-1/2} A D^{-1/2} X, also with an isolated node, and so does its gradient', () => {
    // User 3 has no items: its row and column are zero, and SparseSegmentSum must still emit its (zero) row.
    const g = buildBipartiteGraph(4, 4, Int32Array.from([0, 0, 0, 1, 1, 2, 2]), Int32Array.from([0, 1, 2, 1, 3, 0, 3]));
    const n = g.numNodes;
    const w = symmetricNormWeights(g);
    const dense = new Float32Array(n * n);
    for (let e = 0; e < g.src.length; e++) dense[g.dst[e]! * n + g.src[e]!] = w[e]!;
    const rng = createRng(4);
    const x = tf.tensor2d(Float32Array.from({ length: n * 5 }, () => rng.normal()), [n, 5]);
    const probe = tf.tensor2d(Float32Array.from({ length: n * 5 }, () => rng.normal()), [n, 5]);
    const adjacency = normalizedAdjacency(g);
    const a = tf.tensor2d(dense, [n, n]);
    const fused = propagateNormalized(x, adjacency);
    assert.deepEqual(fused.shape, [n, 5]);
    assertClose(fused.dataSync(), tf.matMul(a, x).dataSync(), { atol: 1e-6, rtol: 1e-5 }, 'A·X');
    const sparseGrad = tf.grad((v: ReturnType<typeof tf.tensor>) => tf.tanh(propagateNormalized(propagateNormalized(v, adjacency), adjacency)).mul(probe).sum())(x);
    const denseGrad = tf.grad((v: ReturnType<typeof tf.tensor>) => tf.tanh(tf.matMul(a, tf.matMul(a, v))).mul(probe).sum())(x);
    assertClose(sparseGrad.dataSync(), denseGrad.dataSync(), { atol: 1e-5, rtol: 1e-4 }, '∂x');
    disposeNormalizedAdjacency(adjacency);
    tf.dispose([x, probe, a, fused, sparseGrad, denseGrad]);
  });
});
