import assert from 'node:assert/strict';
import { tf } from '../../../../infra/tf.js';
import { createRng } from '../../../../features/math/rng.js';
import { buildBipartiteGraph } from '../../../../models/graph/bipartite-graph.js';
import { applySheafLaplacian, restrictionMaps, sheafLayer, type SheafLayerWeights, type SheafStructure } from '../../../../models/graph/sheaf-layer.js';
import { assertClose } from '../../../helpers/assert-close.js';
import { symmetricEigenvalues } from './jacobi-eigenvalues.js';

type Tensor = ReturnType<typeof tf.tensor>;

// 3 users × 4 items, 7 edges; node 6 (item 3) is isolated from user 2.
const graph = buildBipartiteGraph(3, 4, Int32Array.from([0, 0, 0, 1, 1, 2, 2]), Int32Array.from([0, 1, 2, 1, 3, 0, 3]));

function structure(stalkDim: number): SheafStructure {
  return { src: tf.tensor1d(graph.src, 'int32'), dst: tf.tensor1d(graph.dst, 'int32'), numNodes: graph.numNodes, numEdges: graph.numEdges, stalkDim };
}

function randomTensor(seed: number, shape: number[], scale: number): Tensor {
  const rng = createRng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => rng.normal() * scale), shape);
}

function weights(d: number, f: number, seed: number): SheafLayerWeights {
  return {
    learnSrc: randomTensor(seed, [d * f, d * d], 0.6),
    learnDst: randomTensor(seed + 1, [d * f, d * d], 0.6),
    kernel: randomTensor(seed + 2, [f, f], 0.5),
    bias: randomTensor(seed + 3, [f], 0.2),
    learnBias: randomTensor(seed + 4, [d * d], 0.5),
  };
}

/** The dense Laplacian, read off by applying L to the identity basis (each channel is one basis vector). */
function denseLaplacian(maps: Tensor, s: SheafStructure): { values: Float32Array; n: number } {
  const n = s.numNodes * s.stalkDim;
  const identity = tf.eye(n);
  const y = s.stalkDim === 1 ? identity : identity.reshape([s.numNodes, s.stalkDim, n]);
  const l = applySheafLaplacian(maps, y, s);
  const values = l.dataSync() as Float32Array;
  tf.dispose([identity, y, l]);
  return { values, n };
}

describe('sheaf Laplacian', () => {
  for (const d of [1, 2, 3]) {
    it(`is symmetric positive semi-definite on a small bipartite graph (d = ${d})`, () => {
      const s = structure(d);
      const x = randomTensor(5 + d, [graph.numNodes, d * 2], 1);
      const maps = restrictionMaps(x, weights(d, 2, 40 + d), s);
      const { values, n } = denseLaplacian(maps, s);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) {
        assert.ok(Math.abs(values[i * n + j]! - values[j * n + i]!) < 1e-6, `L[${i},${j}] = ${values[i * n + j]} vs L[${j},${i}] = ${values[j * n + i]}`);
      }
      const eigen = symmetricEigenvalues(Float64Array.from(values), n);
      assert.ok(Math.min(...eigen) > -1e-5, `smallest eigenvalue ${Math.min(...eigen)}`);
      // Not trivially zero: the maps are non-degenerate, so some energy is positive.
      assert.ok(Math.max(...eigen) > 0.1);
      // The normalisation keeps the spectrum in [0, 2] for d = 1 (Sheaf4Rec's (D + I)^{-1/2}).
      if (d === 1) assert.ok(Math.max(...eigen) <= 2 + 1e-5);
      tf.dispose([x, maps, s.src, s.dst]);
    });
  }

  it('d = 1 equals the official construction S(D − F_uv·F_vu)S with S = (D + I)^{-1/2}', () => {
    const s = structure(1);
    const x = randomTensor(3, [graph.numNodes, 4], 1);
    const mapsT = restrictionMaps(x, weights(1, 4, 9), s);
    const maps = mapsT.dataSync();
    const { values, n } = denseLaplacian(mapsT, s);
    const m = graph.numEdges;
    const diag = new Float64Array(n);
    for (let e = 0; e < 2 * m; e++) diag[graph.src[e]!]! += maps[e]! ** 2;
    const expected = new Float64Array(n * n);
    for (let u = 0; u < n; u++) expected[u * n + u] = diag[u]! / (diag[u]! + 1);
    for (let e = 0; e < 2 * m; e++) {
      const u = graph.src[e]!, v = graph.dst[e]!;
      expected[u * n + v] = -maps[e]! * maps[(e + m) % (2 * m)]! / Math.sqrt((diag[u]! + 1) * (diag[v]! + 1));
    }
    assertClose(values, expected, { atol: 1e-6, rtol: 1e-5 }, 'L');
    tf.dispose([x, mapsT, s.src, s.dst]);
  });
});

describe('sheaf layer gradient (finite differences)', () => {
  const H = 1e-2;
  const TOLERANCE = { atol: 2e-3, rtol: 1e-2 };
  for (const d of [1, 2]) {
    it(`matches central differences for x and every weight (d = ${d}, 2 channels)`, () => {
      const f = 2;
      const s = structure(d);
      const w = weights(d, f, 70 + d);
      const x = randomTensor(80 + d, [graph.numNodes, d * f], 0.8);
      const probe = randomTensor(90 + d, [graph.numNodes, d * f], 1);
      const names = ['x', 'learnSrc', 'learnDst', 'kernel', 'bias', 'learnBias'] as const;
      // A non-linear read-out so that second-order mistakes show.
      const loss = (...xs: Tensor[]) => {
        const [xx, learnSrc, learnDst, kernel, bias, learnBias] = xs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
        return tf.tanh(sheafLayer(xx, { learnSrc, learnDst, kernel, bias, learnBias }, s, 0.7)).mul(probe).sum() as ReturnType<typeof tf.scalar>;
      };
      const inputs = [x, w.learnSrc, w.learnDst, w.kernel, w.bias, w.learnBias!];
      const analytic = tf.grads(loss)(inputs).map((g) => g.dataSync() as Float32Array);
      const values = inputs.map((t) => Float32Array.from(t.dataSync()));
      const evaluate = () => tf.tidy(() => loss(...values.map((v, k) => tf.tensor(v, inputs[k]!.shape))).dataSync()[0]!);
      values.forEach((v, k) => {
        const numeric = new Float64Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const saved = v[i]!;
          v[i] = saved + H; const up = evaluate();
          v[i] = saved - H; const down = evaluate();
          v[i] = saved;
          numeric[i] = (up - down) / (2 * H);
        }
        assertClose(analytic[k]!, numeric, TOLERANCE, `d${d} ∂/∂${names[k]}`);
      });
      tf.dispose([...inputs, probe, s.src, s.dst]);
    });
  }
});
