import type { Endpoint } from './framework/endpoint.js';
import { RouterError } from './framework/errors.js';
import type {
  Filter,
  Picker,
  ProfileHandler,
  ProfileRunResult,
  SchedulerProfile,
  SchedulingContext,
  SchedulingResult,
  ScoredEndpoint,
  WeightedScorer,
} from './framework/plugins.js';
import type { InferenceRequest } from './framework/request.js';

/** Where a plugin ran, as the per-plugin latency metric labels it. */
export type ExtensionPoint = 'filter' | 'scorer' | 'picker' | 'profile-handler' | 'data-producer' | 'admitter' | 'pre-request';

/** Receives scheduler measurements (the router turns them into Prometheus metrics). */
export interface SchedulerObserver {
  /** One plugin call took `seconds`. */
  pluginDuration(extensionPoint: ExtensionPoint, pluginType: string, pluginName: string, seconds: number): void;
  /** One scheduling attempt ended (`failure` when it threw, e.g. no profile found an endpoint). */
  attempt(status: 'success' | 'failure'): void;
}

/** What a scheduler runs: a profile handler and the profiles it chooses from. */
export interface SchedulerConfig {
  readonly profileHandler: ProfileHandler;
  readonly profiles: ReadonlyMap<string, SchedulerProfile>;
}

/**
 * Runs scheduling cycles: the profile handler picks profiles (over as many rounds as it wants);
 * each profile filters the candidates, scores them with Σ weight·clamp01(score) (not normalised,
 * as upstream) and lets its picker choose; the handler then builds the result.
 */
export class Scheduler {
  /** The configured profile handler. */
  readonly profileHandler: ProfileHandler;
  /** The configured profiles by name. */
  readonly profiles: ReadonlyMap<string, SchedulerProfile>;
  readonly #observer: SchedulerObserver | undefined;
  // Reused across cycles: scheduling is synchronous, so one buffer per scheduler is never shared.
  #totals = new Float64Array(256);

  constructor(config: SchedulerConfig, observer?: SchedulerObserver) {
    this.profileHandler = config.profileHandler;
    this.profiles = config.profiles;
    this.#observer = observer;
  }

  /**
   * Schedules one request over the candidate endpoints. Throws what the profile handler throws
   * (a RouterError when no profile found a usable endpoint).
   */
  schedule(ctx: SchedulingContext, req: InferenceRequest, candidates: readonly Endpoint[]): SchedulingResult {
    const observer = this.#observer;
    try {
      const results = new Map<string, ProfileRunResult | null>();
      const handler = this.profileHandler;
      for (;;) {
        const t0 = observer ? performance.now() : 0;
        const next = handler.pickProfiles(ctx, req, this.profiles, results);
        if (observer) observer.pluginDuration('profile-handler', handler.type, handler.name, (performance.now() - t0) / 1000);
        if (next.length === 0) break;
        for (const profile of next) {
          // A handler that picks a profile twice would loop forever; upstream handlers never do.
          if (results.has(profile.name)) {
            throw new RouterError('Internal', `profile handler "${handler.name}" picked profile "${profile.name}" twice in one cycle`);
          }
          results.set(profile.name, this.#runProfile(ctx, req, profile, candidates));
        }
      }
      const t0 = observer ? performance.now() : 0;
      const result = handler.processResults(ctx, req, results);
      if (observer) observer.pluginDuration('profile-handler', handler.type, handler.name, (performance.now() - t0) / 1000);
      observer?.attempt('success');
      return result;
    } catch (err) {
      observer?.attempt('failure');
      throw err;
    }
  }

  #runProfile(
    ctx: SchedulingContext,
    req: InferenceRequest,
    profile: SchedulerProfile,
    candidates: readonly Endpoint[],
  ): ProfileRunResult | null {
    const endpoints = this.#filter(ctx, req, profile.filters, candidates);
    // Upstream fails the profile run when nothing is left after filtering, filters or not.
    if (endpoints.length === 0) return null;
    const scored = this.#score(ctx, req, profile.scorers, endpoints);
    const result = this.#pick(ctx, profile.picker, scored);
    return result.targets.length === 0 ? null : result;
  }

  #filter(ctx: SchedulingContext, req: InferenceRequest, filters: readonly Filter[], candidates: readonly Endpoint[]): readonly Endpoint[] {
    const observer = this.#observer;
    let endpoints = candidates;
    for (const filter of filters) {
      if (endpoints.length === 0) break;
      const t0 = observer ? performance.now() : 0;
      endpoints = filter.filter(ctx, req, endpoints);
      if (observer) observer.pluginDuration('filter', filter.type, filter.name, (performance.now() - t0) / 1000);
    }
    return endpoints;
  }

  #score(
    ctx: SchedulingContext,
    req: InferenceRequest,
    scorers: readonly WeightedScorer[],
    endpoints: readonly Endpoint[],
  ): ScoredEndpoint[] {
    const observer = this.#observer;
    const n = endpoints.length;
    if (this.#totals.length < n) this.#totals = new Float64Array(Math.max(n, this.#totals.length * 2));
    const totals = this.#totals;
    totals.fill(0, 0, n);
    for (const { scorer, weight } of scorers) {
      const t0 = observer ? performance.now() : 0;
      const scores = scorer.score(ctx, req, endpoints);
      if (observer) observer.pluginDuration('scorer', scorer.type, scorer.name, (performance.now() - t0) / 1000);
      if (scores.length !== n) {
        throw new RouterError('Internal', `scorer "${scorer.name}" returned ${scores.length} scores for ${n} endpoints`);
      }
      for (let i = 0; i < n; i++) {
        const s = scores[i] as number;
        // `!(s > 0)` is also true for NaN, which counts as 0.
        totals[i] = (totals[i] as number) + weight * (!(s > 0) ? 0 : s > 1 ? 1 : s);
      }
    }
    const scored = new Array<ScoredEndpoint>(n);
    for (let i = 0; i < n; i++) scored[i] = { endpoint: endpoints[i] as Endpoint, score: totals[i] as number };
    return scored;
  }

  #pick(ctx: SchedulingContext, picker: Picker, scored: readonly ScoredEndpoint[]): ProfileRunResult {
    const observer = this.#observer;
    const t0 = observer ? performance.now() : 0;
    const result = picker.pick(ctx, scored);
    if (observer) observer.pluginDuration('picker', picker.type, picker.name, (performance.now() - t0) / 1000);
    return result;
  }
}
