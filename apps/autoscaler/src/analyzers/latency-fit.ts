// Online fit of the latency model from observed latencies: a two-state Kalman filter per line
// (ITL = α + β·n, prefill = γ + δ·(tokens·n)), one pair per variant.
import type { PerfParams } from '../model.js';

/** Kalman filter for y = x0 + x1·h with a random-walk state (slow drift allowed). */
export class LineKalman {
  #x0: number;
  #x1: number;
  // Covariance [[p00, p01], [p01, p11]].
  #p00: number;
  #p01 = 0;
  #p11: number;
  readonly #q0: number;
  readonly #q1: number;
  readonly #r: number;
  #updates = 0;

  /**
   * `prior` is the starting estimate and `priorStd` its standard deviations (large = know nothing);
   * `processStd` lets the estimate drift per update; `measurementStd` is the noise of one observation.
   */
  constructor(prior: [number, number], priorStd: [number, number], processStd: [number, number], measurementStd: number) {
    [this.#x0, this.#x1] = prior;
    this.#p00 = priorStd[0] ** 2;
    this.#p11 = priorStd[1] ** 2;
    this.#q0 = processStd[0] ** 2;
    this.#q1 = processStd[1] ** 2;
    this.#r = measurementStd ** 2;
  }

  /** Folds in one observation y at regressor h. */
  update(h: number, y: number): void {
    if (!Number.isFinite(h) || !Number.isFinite(y)) return;
    // Predict: the state may have drifted.
    this.#p00 += this.#q0;
    this.#p11 += this.#q1;
    // Innovation with H = [1, h].
    const innovation = y - (this.#x0 + this.#x1 * h);
    const ph0 = this.#p00 + this.#p01 * h;
    const ph1 = this.#p01 + this.#p11 * h;
    const s = ph0 + ph1 * h + this.#r;
    const k0 = ph0 / s;
    const k1 = ph1 / s;
    this.#x0 += k0 * innovation;
    this.#x1 += k1 * innovation;
    // P = (I − K H) P, kept symmetric.
    const p00 = this.#p00 - k0 * ph0;
    const p01 = this.#p01 - k0 * ph1;
    const p11 = this.#p11 - k1 * ph1;
    this.#p00 = p00;
    this.#p01 = p01;
    this.#p11 = p11;
    this.#updates++;
  }

  /** The current estimate [intercept, slope]. */
  get estimate(): [number, number] {
    return [this.#x0, this.#x1];
  }

  /** Observations folded in so far. */
  get updates(): number {
    return this.#updates;
  }
}

/** One replica's averages over a window: batch size, ITL, prefill time and prompt length. */
export interface LatencyObservation {
  readonly avgBatch: number;
  readonly itlMs: number;
  readonly prefillMs?: number | undefined;
  readonly inputTokens?: number | undefined;
}

/** Fits α, β, γ, δ of one variant from replicas' observations. */
export class LatencyModelFit {
  readonly #decode: LineKalman;
  readonly #prefill: LineKalman;

  /** Starts from `prior` when the variant is configured, else from nothing (wide prior). */
  constructor(prior?: PerfParams) {
    const known = prior !== undefined;
    this.#decode = new LineKalman([prior?.alpha ?? 0, prior?.beta ?? 0], known ? [prior.alpha * 0.5 + 1, prior.beta * 0.5 + 0.01] : [100, 10], [0.01, 0.0005], 0.2);
    this.#prefill = new LineKalman([prior?.gamma ?? 0, prior?.delta ?? 0], known ? [prior.gamma * 0.5 + 1, prior.delta * 0.5 + 1e-4] : [1000, 1], [0.05, 1e-6], 2);
  }

  /** Folds in one observation; observations without a batch (idle replicas) teach nothing and are skipped. */
  observe(o: LatencyObservation): void {
    if (!(o.avgBatch > 0) || !(o.itlMs > 0)) return;
    this.#decode.update(o.avgBatch, o.itlMs);
    if (o.prefillMs !== undefined && o.inputTokens !== undefined && o.prefillMs > 0 && o.inputTokens > 0) {
      this.#prefill.update(o.inputTokens * o.avgBatch, o.prefillMs);
    }
  }

  /** Observations of the decode line so far. */
  get observations(): number {
    return this.#decode.updates;
  }

  /** The estimate, with negative values clamped to 0 (a fit cannot make latency fall with load). */
  get params(): PerfParams {
    const [alpha, beta] = this.#decode.estimate;
    const [gamma, delta] = this.#prefill.estimate;
    return { alpha: Math.max(0, alpha), beta: Math.max(0, beta), gamma: Math.max(0, gamma), delta: Math.max(0, delta) };
  }
}
