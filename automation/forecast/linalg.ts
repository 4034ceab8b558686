/**
 * Small dense least squares: normal equations accumulated row by row, solved by Cholesky with a
 * ridge (L2) penalty per coefficient. Fine for the tens of columns the models use; the rows are
 * never stored.
 */

export class NormalEquations {
  readonly p: number;
  readonly xtx: Float64Array;
  readonly xty: Float64Array;
  rows = 0;
  private readonly nz: Int32Array;

  constructor(p: number) {
    this.p = p;
    this.xtx = new Float64Array(p * p);
    this.xty = new Float64Array(p);
    this.nz = new Int32Array(p);
  }


  /** Adds one row (only the upper triangle is accumulated; zero entries are skipped). */
  add(x: ArrayLike<number>, y: number): void {
    const p = this.p;
    const a = this.xtx;
    const nz = this.nz;
    let m = 0;
    for (let i = 0; i < p; i++) if (x[i] !== 0) nz[m++] = i;
    for (let u = 0; u < m; u++) {
      const i = nz[u]!;
      const xi = x[i]!;
      this.xty[i] += xi * y;
      const row = i * p;
      for (let v = u; v < m; v++) {
        const j = nz[v]!;
        a[row + j] += xi * x[j]!;
      }
    }
    this.rows++;
  }

  /** Solves (XᵀX + diag(penalty)) β = Xᵀy. Adds a little jitter when the system is singular. */
  solve(penalty: ArrayLike<number>): Float64Array {
    const p = this.p;
    let scale = 0;
    for (let i = 0; i < p; i++) scale = Math.max(scale, this.xtx[i * p + i]!);
    for (const jitter of [0, 1e-10, 1e-8, 1e-6, 1e-4]) {
      const m = new Float64Array(p * p);
      for (let i = 0; i < p; i++) {
        for (let j = i; j < p; j++) {
          const v = this.xtx[i * p + j]!;
          m[i * p + j] = v;
          m[j * p + i] = v;
        }
        m[i * p + i] += (penalty[i] ?? 0) + jitter * (scale || 1);
      }
      const beta = choleskySolve(m, this.xty, p);
      if (beta) return beta;
    }
    throw new Error("least squares: the system is singular even with jitter");
  }
}

/** Solves A x = b for symmetric positive definite A (p×p, row-major); undefined if not SPD. */
export function choleskySolve(a: Float64Array, b: ArrayLike<number>, p: number): Float64Array | undefined {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * p + j]!;
      for (let k = 0; k < j; k++) s -= l[i * p + k]! * l[j * p + k]!;
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return undefined;
        l[i * p + i] = Math.sqrt(s);
      } else {
        l[i * p + j] = s / l[j * p + j]!;
      }
    }
  }
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * p + k]! * y[k]!;
    y[i] = s / l[i * p + i]!;
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < p; k++) s -= l[k * p + i]! * x[k]!;
    x[i] = s / l[i * p + i]!;
  }
  for (let i = 0; i < p; i++) if (!Number.isFinite(x[i]!)) return undefined;
  return x;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * AR(p) coefficients of a residual series by least squares (no intercept), kept only if the
 * process is stable: the impulse response must decay. Otherwise falls back to AR(1) with the lag-1
 * coefficient clipped to [-0.98, 0.98]. Used by the regression models to correct their forecast
 * with the latest residuals ("regression with AR errors").
 */
export function fitAr(res: ArrayLike<number>, order: number): Float64Array {
  const n = res.length;
  if (order <= 0 || n < order + 10) return new Float64Array(0);
  const ne = new NormalEquations(order);
  const x = new Float64Array(order);
  for (let t = order; t < n; t++) {
    for (let k = 0; k < order; k++) x[k] = res[t - 1 - k]!;
    ne.add(x, res[t]!);
  }
  let phi: Float64Array;
  try {
    phi = ne.solve(new Float64Array(order).fill(1e-9));
  } catch {
    return new Float64Array(0);
  }
  if (isStableAr(phi)) return phi;
  // Lag-1 autocorrelation as the fallback.
  let num = 0;
  let den = 0;
  for (let t = 1; t < n; t++) {
    num += res[t]! * res[t - 1]!;
    den += res[t - 1]! * res[t - 1]!;
  }
  const r1 = den > 0 ? Math.max(-0.98, Math.min(0.98, num / den)) : 0;
  return Float64Array.of(r1);
}

/** True when the AR impulse response decays (checked by simulation over 400 steps). */
export function isStableAr(phi: ArrayLike<number>): boolean {
  const p = phi.length;
  const h = new Float64Array(400 + p);
  h[p] = 1;
  let peak = 1;
  for (let t = p + 1; t < h.length; t++) {
    let s = 0;
    for (let k = 0; k < p; k++) s += phi[k]! * h[t - 1 - k]!;
    h[t] = s;
    if (!Number.isFinite(s)) return false;
    peak = Math.max(peak, Math.abs(s));
  }
  let tail = 0;
  for (let t = h.length - 50; t < h.length; t++) tail = Math.max(tail, Math.abs(h[t]!));
  return peak < 1e6 && tail < 0.05;
}

/** Forecasts an AR process `steps` ahead from the latest values (last element = most recent). */
export function arForecast(phi: ArrayLike<number>, recent: ArrayLike<number>, steps: number): Float64Array {
  const p = phi.length;
  const out = new Float64Array(steps);
  if (p === 0) return out;
  const buf: number[] = [];
  for (let k = 0; k < p; k++) buf.push(recent[recent.length - p + k] ?? 0);
  for (let h = 0; h < steps; h++) {
    let s = 0;
    for (let k = 0; k < p; k++) s += phi[k]! * buf[buf.length - 1 - k]!;
    out[h] = s;
    buf.push(s);
  }
  return out;
}
