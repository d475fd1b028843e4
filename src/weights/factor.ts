/**
 * The closed form of network decoupling (Guo et al., BMVC 2018, arXiv 1808.05517): a standard conv
 * is a sum of depthwise separable ones, and its best rank-K separable approximation per input
 * channel comes from an SVD.
 *
 * For input channel c (within its group) the slice M_c = W[group's outputs, c, :] is a
 * (Cout/g) x kvol matrix with SVD sum_r s_r u_r v_r^T. The depthwise conv's channel c*K + r holds
 * sqrt(s_r) v_r as its filter and the pointwise conv's column c*K + r holds sqrt(s_r) u_r: together
 * they compute sum_{r<K} s_r u_r v_r^T, the best rank-K approximation of M_c in the Frobenius norm
 * (Eckart-Young); with K = min(Cout/g, kvol) it is M_c itself.
 *
 * The SVD is taken through the small kvol x kvol Gram matrix M^T M = V diag(s²) V^T (cyclic Jacobi,
 * float64): its eigenvalues are the energies s_r², and the pointwise column is M v_r / sqrt(s_r), so
 * that depthwise times pointwise is M v_r v_r^T exactly and the full-rank sum is M V V^T = M to
 * rounding, however small s_r is.
 */

/** How a conv weight `[Cout, Cin/g, ...kernel]` is laid out. */
export interface ConvShape {
  cout: number;
  cinPerGroup: number;
  groups: number;
  kernel: number[];
}

/** Per input channel, the eigen-decomposition of its Gram matrix, largest first. */
export interface Spectrum {
  shape: ConvShape;
  /** ||W||² */
  total: number;
  /** per channel: kvol eigenvalues (s_r²) */
  values: Float64Array[];
  /** per channel: kvol x kvol, row-major, column r = v_r */
  vectors: Float64Array[];
}

const kvolOf = (s: ConvShape) => s.kernel.reduce((a, b) => a * b, 1);

/** Symmetric eigen-decomposition by cyclic Jacobi rotations; `a` (n x n, row-major) is destroyed. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = [...Array(n).keys()].sort((x, y) => a[y * n + y] - a[x * n + x]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, r) => {
    values[r] = Math.max(0, a[src * n + src]);
    for (let k = 0; k < n; k++) vectors[k * n + r] = v[k * n + src];
  });
  return { values, vectors };
}

/** Element (o, j, t) of W: output o, input j within its group, kernel position t. */
const at = (s: ConvShape, kvol: number, o: number, j: number, t: number) => (o * s.cinPerGroup + j) * kvol + t;

/** The spectrum of every input channel's slice of `w` (a conv weight in `shape`'s layout). */
export function spectrum(w: Float64Array, shape: ConvShape): Spectrum {
  const kvol = kvolOf(shape);
  const coutG = shape.cout / shape.groups;
  if (!Number.isInteger(coutG)) throw new Error(`${shape.cout} output channels do not split into ${shape.groups} groups`);
  let total = 0;
  for (const x of w) total += x * x;
  const values: Float64Array[] = [];
  const vectors: Float64Array[] = [];
  for (let c = 0; c < shape.cinPerGroup * shape.groups; c++) {
    const g = Math.floor(c / shape.cinPerGroup);
    const j = c % shape.cinPerGroup;
    const gram = new Float64Array(kvol * kvol);
    for (let o = g * coutG; o < (g + 1) * coutG; o++) {
      const base = at(shape, kvol, o, j, 0);
      for (let x = 0; x < kvol; x++) {
        const wx = w[base + x];
        if (wx === 0) continue;
        for (let y = x; y < kvol; y++) gram[x * kvol + y] += wx * w[base + y];
      }
    }
    for (let x = 0; x < kvol; x++) for (let y = 0; y < x; y++) gram[x * kvol + y] = gram[y * kvol + x];
    const e = symmetricEigen(gram, kvol);
    values.push(e.values);
    vectors.push(e.vectors);
  }
  return { shape, total, values, vectors };
}

/** The largest K that can matter: min(Cout/g, kvol). */
export const fullRank = (shape: ConvShape): number => Math.min(shape.cout / shape.groups, kvolOf(shape));

/** Σ s_r² over the components from K on; those past the full rank are zero by construction (their eigenvalues are rounding). */
function droppedAt(s: Spectrum, k: number): number {
  const max = fullRank(s.shape);
  let dropped = 0;
  for (const vals of s.values) for (let r = k; r < max; r++) dropped += vals[r];
  return dropped;
}

/** The share of ||W||² the first K components keep, and the relative Frobenius error of the rank-K form. */
export function energyAt(s: Spectrum, k: number): { energy: number; error: number } {
  if (s.total === 0) return { energy: 1, error: 0 };
  const dropped = droppedAt(s, k);
  const kept = Math.max(0, s.total - dropped);
  return { energy: Math.min(1, kept / s.total), error: Math.sqrt(Math.max(0, dropped) / s.total) };
}

/**
 * The smallest K whose components keep at least `share` of ||W||². What is left out may be up to
 * 1e-12 of ||W||² more than `1 - share`: below that a component is rounding (so `share = 1` gives the
 * numerical rank, the full rank for weights that are not rank-deficient).
 */
export function rankForEnergy(s: Spectrum, share: number): number {
  const max = fullRank(s.shape);
  const allowed = (1 - share) * s.total + 1e-12 * s.total;
  for (let k = 1; k < max; k++) if (droppedAt(s, k) <= allowed) return k;
  return max;
}

/**
 * The depthwise weight `[Cin*K, 1, ...kernel]` and pointwise weight `[Cout, Cin*K/g, 1, ...]` that
 * approximate `w` at rank K (K beyond the full rank adds zero filters).
 */
export function factor(w: Float64Array, s: Spectrum, k: number): { depthwise: Float64Array; pointwise: Float64Array } {
  const { shape } = s;
  const kvol = kvolOf(shape);
  const cin = shape.cinPerGroup * shape.groups;
  const coutG = shape.cout / shape.groups;
  const depthwise = new Float64Array(cin * k * kvol);
  const pointwise = new Float64Array(shape.cout * shape.cinPerGroup * k);
  const scale = s.values.reduce((m, v) => Math.max(m, v[0] ?? 0), 0);
  for (let c = 0; c < cin; c++) {
    const g = Math.floor(c / shape.cinPerGroup);
    const j = c % shape.cinPerGroup;
    const vals = s.values[c];
    const vecs = s.vectors[c];
    for (let r = 0; r < Math.min(k, kvol); r++) {
      // sqrt(s_r) on both sides; a vanishing component keeps v_r whole and M v_r (about 0) on the pointwise side
      const a = vals[r] > 1e-24 * scale && vals[r] > 0 ? Math.sqrt(Math.sqrt(vals[r])) : 1;
      for (let t = 0; t < kvol; t++) depthwise[(c * k + r) * kvol + t] = vecs[t * kvol + r] * a;
      for (let o = g * coutG; o < (g + 1) * coutG; o++) {
        const base = at(shape, kvol, o, j, 0);
        let dot = 0;
        for (let t = 0; t < kvol; t++) dot += w[base + t] * vecs[t * kvol + r];
        pointwise[o * shape.cinPerGroup * k + j * k + r] = dot / a;
      }
    }
  }
  return { depthwise, pointwise };
}
