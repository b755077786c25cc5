import assert from 'node:assert/strict';
import { tf } from '../../../../infra/tf.js';
import { createRng } from '../../../../features/math/rng.js';
import { buildBipartiteGraph, type BipartiteGraph } from '../../../../models/graph/bipartite-graph.js';
import { edgeCsr, nativeKernelStatus, weightedSpmmKernels } from '../../../../models/graph/native-spmm.js';
import { sheafLayer, type SheafLayerWeights, type SheafStructure } from '../../../../models/graph/sheaf-layer.js';
import { assertClose } from '../../../helpers/assert-close.js';

type Tensor = ReturnType<typeof tf.tensor>;

function randomTensor(seed: number, shape: number[], scale: number): Tensor {
  const rng = createRng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => rng.normal() * scale), shape);
}

function randomGraph(users: number, items: number, interactions: number, seed: number): BipartiteGraph {
  const rng = createRng(seed);
  // User `users − 1` gets no items: an isolated node (D = 0, S = 1) must come out right too.
  return buildBipartiteGraph(users, items, Int32Array.from({ length: interactions }, () => rng.int(users - 1)), Int32Array.from({ length: interactions }, () => rng.int(items)));
}

function structure(graph: BipartiteGraph, native: boolean): SheafStructure {
  const m = graph.numEdges;
  const kernels = weightedSpmmKernels();
  if (native && !kernels) throw new Error(`native kernels unavailable: ${nativeKernelStatus().reason}`);
  return {
    src: tf.tensor1d(graph.src, 'int32'), dst: tf.tensor1d(graph.dst, 'int32'), numNodes: graph.numNodes, numEdges: m, stalkDim: 1,
    ...(native ? { native: { csr: edgeCsr(graph.src, graph.dst, graph.numNodes, (e) => (e < m ? e + m : e - m)), kernels: kernels! } } : {}),
  };
}

function weights(f: number, seed: number): SheafLayerWeights {
  return {
    learnSrc: randomTensor(seed, [f, 1], 0.6),
    learnDst: randomTensor(seed + 1, [f, 1], 0.6),
    kernel: randomTensor(seed + 2, [f, f], 0.5),
    bias: randomTensor(seed + 3, [f], 0.2),
    learnBias: randomTensor(seed + 4, [1], 0.5),
  };
}

const NAMES = ['x', 'learnSrc', 'learnDst', 'kernel', 'bias', 'learnBias'] as const;

/** A non-linear read-out of two stacked layers, and its gradient w.r.t. x and every weight. */
function lossAndGrads(s: SheafStructure, x: Tensor, w: SheafLayerWeights, probe: Tensor): { value: number; out: Float32Array; grads: Float32Array[] } {
  const forward = (xx: Tensor, ww: SheafLayerWeights) => sheafLayer(sheafLayer(xx, ww, s, 0.7), ww, s, 0.7);
  const loss = (...xs: Tensor[]) => {
    const [xx, learnSrc, learnDst, kernel, bias, learnBias] = xs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    return tf.tanh(forward(xx, { learnSrc, learnDst, kernel, bias, learnBias })).mul(probe).sum() as ReturnType<typeof tf.scalar>;
  };
  const inputs = [x, w.learnSrc, w.learnDst, w.kernel, w.bias, w.learnBias!];
  const { value, grads } = tf.valueAndGrads(loss)(inputs);
  const out = tf.tidy(() => forward(x, w).dataSync() as Float32Array);
  const result = { value: value.dataSync()[0]!, out, grads: grads.map((g) => g.dataSync() as Float32Array) };
  tf.dispose([value, ...grads]);
  return result;
}

describe('scalar sheaf layer on the native kernels', () => {
  it('the kernels compile and load on this machine (the graph-train figures depend on them)', () => {
    const status = nativeKernelStatus();
    assert.ok(status.available, `native kernels unavailable: ${status.reason}`);
  });

  for (const [users, items, interactions, f] of [[3, 4, 7, 2], [40, 30, 400, 8]] as const) {
    it(`equals the TensorFlow path in value and in every gradient (${users}×${items}, ${interactions} draws, ${f} channels, two layers)`, () => {
      const graph = randomGraph(users, items, interactions, users);
      const x = randomTensor(11, [graph.numNodes, f], 0.8);
      const probe = randomTensor(12, [graph.numNodes, f], 1);
      const w = weights(f, 20);
      const tfPath = structure(graph, false);
      const nativePath = structure(graph, true);
      const expected = lossAndGrads(tfPath, x, w, probe);
      const actual = lossAndGrads(nativePath, x, w, probe);
      assertClose(actual.out, expected.out, { atol: 1e-5, rtol: 1e-4 }, 'layer output');
      assertClose([actual.value], [expected.value], { atol: 1e-5, rtol: 1e-4 }, 'loss');
      actual.grads.forEach((g, k) => assertClose(g, expected.grads[k]!, { atol: 1e-5, rtol: 1e-3 }, `∂/∂${NAMES[k]}`));
      // Not vacuous: the maps' gradients are non-zero.
      assert.ok(Math.max(...actual.grads[1]!.map(Math.abs)) > 1e-3);
      tf.dispose([x, probe, ...Object.values(w), tfPath.src, tfPath.dst, nativePath.src, nativePath.dst]);
    });
  }

  it('matches central differences for x and every weight', () => {
    const graph = randomGraph(5, 6, 14, 3);
    const f = 3;
    const s = structure(graph, true);
    const w = weights(f, 31);
    const x = randomTensor(32, [graph.numNodes, f], 0.8);
    const probe = randomTensor(33, [graph.numNodes, f], 1);
    const loss = (...xs: Tensor[]) => {
      const [xx, learnSrc, learnDst, kernel, bias, learnBias] = xs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
      return tf.tanh(sheafLayer(xx, { learnSrc, learnDst, kernel, bias, learnBias }, s, 0.7)).mul(probe).sum() as ReturnType<typeof tf.scalar>;
    };
    const inputs = [x, w.learnSrc, w.learnDst, w.kernel, w.bias, w.learnBias!];
    const analytic = tf.grads(loss)(inputs).map((g) => g.dataSync() as Float32Array);
    const values = inputs.map((t) => Float32Array.from(t.dataSync()));
    const evaluate = () => tf.tidy(() => loss(...values.map((v, k) => tf.tensor(v, inputs[k]!.shape))).dataSync()[0]!);
    const H = 1e-2;
    values.forEach((v, k) => {
      const numeric = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const saved = v[i]!;
        v[i] = saved + H; const up = evaluate();
        v[i] = saved - H; const down = evaluate();
        v[i] = saved;
        numeric[i] = (up - down) / (2 * H);
      }
      assertClose(analytic[k]!, numeric, { atol: 2e-3, rtol: 1e-2 }, `∂/∂${NAMES[k]}`);
    });
    tf.dispose([...inputs, probe, s.src, s.dst]);
  });

  it('refuses an edge list without reverses and kernel operands that do not fit', () => {
    assert.throws(() => edgeCsr(Int32Array.from([0, 1]), Int32Array.from([1, 2]), 3, (e) => 1 - e), /not the reverse/);
    const kernels = weightedSpmmKernels()!;
    const rowStart = Int32Array.from([0, 1, 2]);
    const none = new Float32Array(0);
    const out = (n: number) => new Float32Array(n);
    assert.throws(() => kernels.propagate(rowStart, Int32Array.from([1, 5]), new Float32Array(2), new Float32Array(4), out(4), none, 2, 1), /column index is out of range/);
    assert.throws(() => kernels.propagate(rowStart, Int32Array.from([1, 0]), new Float32Array(2), new Float32Array(6), out(6), none, 2, 1), /row count/);
    assert.throws(() => kernels.propagate(rowStart, Int32Array.from([1, 0]), new Float64Array(2) as unknown as Float32Array, new Float32Array(4), out(4), none, 2, 1), /Float32Array/);
    assert.throws(() => kernels.propagate(rowStart, Int32Array.from([1, 0]), new Float32Array(2), new Float32Array(4), out(2), none, 2, 1), /sized like x/);
    const x = Float32Array.from([1, 2, 3, 4]);
    assert.throws(() => kernels.propagate(rowStart, Int32Array.from([1, 0]), new Float32Array(2), x, x, none, 2, 1), /must not overlap/);
    const product = out(4);
    const acc = Float32Array.from([10, 10, 10, 10]);
    kernels.propagate(rowStart, Int32Array.from([1, 0]), Float32Array.from([2, 3]), x, product, acc, 2, 2);
    assert.deepEqual(Array.from(product), [6, 8, 3, 6]);
    assert.deepEqual(Array.from(acc), [16, 18, 13, 16], 'acc += the product');
  });
});

describe("the native sheaf step's kernels", () => {
  const kernels = () => {
    const k = weightedSpmmKernels();
    if (!k) throw new Error(`native kernels unavailable: ${nativeKernelStatus().reason}`);
    return k;
  };

  it('dense and denseWeightGrad equal the naive products at widths 64 and 2 (their unrolled paths) and 5, with bias and accumulation', () => {
    const rng = createRng(11);
    const rows = 37, inDim = 6;
    for (const outDim of [64, 2, 5]) {
      const x = Float32Array.from({ length: rows * inDim }, () => rng.normal());
      const w = Float32Array.from({ length: inDim * outDim }, () => rng.normal());
      const bias = Float32Array.from({ length: outDim }, () => rng.normal());
      const start = Float32Array.from({ length: rows * outDim }, () => rng.normal());
      const expected = new Float32Array(rows * outDim);
      for (let n = 0; n < rows; n++) for (let c = 0; c < outDim; c++) {
        let v = start[n * outDim + c]! + bias[c]!;
        for (let i = 0; i < inDim; i++) v += x[n * inDim + i]! * w[i * outDim + c]!;
        expected[n * outDim + c] = v;
      }
      const out = start.slice();
      kernels().dense(x, w, bias, out, inDim, true, 2);
      assertClose(out, expected, { atol: 1e-5, rtol: 1e-5 }, `dense, accumulate, ${outDim} outputs`);
      const fresh = new Float32Array(rows * outDim).fill(99);
      kernels().dense(x, w, new Float32Array(0), fresh, inDim, false, 3);
      assertClose(fresh, expected.map((v, k) => v - start[k]! - bias[k % outDim]!), { atol: 1e-5, rtol: 1e-5 }, `dense, no bias, ${outDim} outputs`);
      // xᵀ·dy added to what out holds, over threads that each sum their rows.
      const dy = Float32Array.from({ length: rows * outDim }, () => rng.normal());
      const grad = new Float32Array(inDim * outDim).fill(1);
      kernels().denseWeightGrad(x, dy, grad, inDim, 2);
      const want = new Float32Array(inDim * outDim).fill(1);
      for (let n = 0; n < rows; n++) for (let i = 0; i < inDim; i++) for (let c = 0; c < outDim; c++) want[i * outDim + c]! += x[n * inDim + i]! * dy[n * outDim + c]!;
      assertClose(grad, want, { atol: 1e-4, rtol: 1e-5 }, `denseWeightGrad, ${outDim} outputs`);
    }
    assert.throws(() => kernels().dense(new Float32Array(12), new Float32Array(10), new Float32Array(0), new Float32Array(8), 4, false, 1), /inDim/);
    assert.throws(() => kernels().dense(new Float32Array(12), new Float32Array(8), new Float32Array(3), new Float32Array(6), 4, false, 1), /bias/);
    const shared = new Float32Array(8);
    assert.throws(() => kernels().dense(shared, new Float32Array(4), new Float32Array(0), shared, 2, false, 1), /overlap/);
  });

  it('sheafMaps is tanh of each entry logit in CSR order (within 4e-7, tiny and clamped logits too), and sheafMapsBackward its gradient summed per node as the edge source and target', () => {
    const graph = randomGraph(6, 5, 20, 4);
    const m = graph.numEdges;
    const csr = edgeCsr(graph.src, graph.dst, graph.numNodes, (e) => (e < m ? e + m : e - m));
    const rng = createRng(5);
    const n = graph.numNodes;
    const p = Float32Array.from({ length: 2 * n }, () => rng.normal() * 3);
    p[1] = 1e-4; // a logit below Eigen's 4e-4 cut-off…
    p[3] = 20; // …and one past its clamp
    const bias = -0.25;
    const maps = new Float32Array(2 * m);
    kernels().sheafMaps(csr.rowStart, csr.col, csr.reverseEntry, p, bias, maps, 2);
    for (let k = 0; k < 2 * m; k++) {
      const e = csr.edge[k]!;
      const want = Math.tanh(p[2 * graph.src[e]!]! + p[2 * graph.dst[e]! + 1]! + bias);
      assert.ok(Math.abs(maps[k]! - want) < 4e-7, `entry ${k} (edge ${e}): ${maps[k]} vs tanh ${want}`);
    }
    const dMaps = Float32Array.from({ length: 2 * m }, () => rng.normal());
    const want = new Float32Array(2 * n);
    for (let k = 0; k < 2 * m; k++) {
      const e = csr.edge[k]!;
      const dl = -0.5 * dMaps[k]! * (1 - maps[k]! * maps[k]!);
      want[2 * graph.src[e]!]! += dl;
      want[2 * graph.dst[e]! + 1]! += dl;
    }
    const dp = new Float32Array(2 * n).fill(7);
    kernels().sheafMapsBackward(csr.rowStart, csr.col, csr.reverseEntry, maps, dMaps, -0.5, dp, 2);
    assertClose(dp, want, { atol: 1e-6, rtol: 1e-5 }, '∂p (written, not added)');
    assert.throws(() => kernels().sheafMaps(csr.rowStart, csr.col, csr.reverseEntry, p.subarray(2), bias, maps, 1), /p must be/);
    assert.throws(() => kernels().sheafMaps(csr.rowStart, csr.col.subarray(1), csr.reverseEntry, p, bias, maps, 1), /CSR arrays disagree/);
  });
});
