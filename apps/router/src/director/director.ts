import { parseDurationMs } from '@llmd/cli';
import {
  DESTINATION_ENDPOINT_HEADER,
  FLOW_QUEUE_DURATION_HEADER,
  headerValue,
  INFERENCE_TTL_HEADER,
  REQUEST_ID_HEADER,
  ROUTER_OWNED_REQUEST_HEADERS,
} from '@llmd/api';
import type { Dispatched, FlowController } from '@llmd/flow-control';
import {
  CycleState,
  EndpointAttributes,
  RouterError,
  toRouterError,
  type Admitter,
  type DataProducer,
  type Endpoint,
  type HeaderMutations,
  type InferenceRequest,
  type PreRequestHook,
  type ResponseHooks,
  type ResponseInfo,
  type ResponseUsage,
  type SaturationDetector,
  type SchedulingContext,
  type SchedulingResult,
} from '@llmd/scheduling';
import type { Logger } from 'pino';
import { NO_POLICIES, type RoutingPolicies } from '../datastore/policies.js';
import type { EndpointDatastore } from '../datastore/types.js';
import type { RouterMetrics } from '../metrics/router-metrics.js';
import { parseInferenceRequest, requestIdOf } from './request-parser.js';
import type { Director, IncomingRequest, ResponseTracker, RoutedRequest } from './types.js';

/** What the director needs from the scheduler (the profile loop of libs/scheduling). */
export interface SchedulerLike {
  schedule(ctx: SchedulingContext, req: InferenceRequest, candidates: readonly Endpoint[]): SchedulingResult;
}

export { NO_POLICIES };

function ttlOf(headers: Readonly<Record<string, string>>): { ttlMs?: number } {
  const ttlMs = requestTtlMs(headers);
  return ttlMs === undefined ? {} : { ttlMs };
}
export type { RoutingPolicies };

/** Everything the director is built from. */
export interface DirectorDeps {
  datastore: EndpointDatastore;
  scheduler: SchedulerLike;
  producers: readonly DataProducer[];
  admitters: readonly Admitter[];
  preRequestHooks: readonly PreRequestHook[];
  responseHooks: readonly ResponseHooks[];
  metrics: RouterMetrics;
  logger: Logger;
  /** Objective priorities and model rewrites (the policy datastore). */
  policies?: RoutingPolicies;
  /**
   * Flow control, when the `flowControl` gate is on: every request with a body waits here for its
   * turn before it is scheduled.
   */
  flowControl?: FlowController | null;
  /**
   * The saturation detector of admission without flow control: a request with priority < 0 is
   * shed (429) when its candidates are saturated.
   */
  saturationDetector?: SaturationDetector | null;
  random?: () => number;
  now?: () => number;
}

/** The message of a request shed by admission without flow control (upstream's wording). */
export const SHED_MESSAGE = 'system saturated, sheddable request dropped';

/**
 * Keeps only the endpoints the proxy's subset hint allows. An entry with a port matches that exact
 * `ip:port` (several target ports of one pod, or several servers on one host, stay distinct); an
 * entry without a port matches every endpoint at that address, as upstream matches by IP.
 */
function applySubset(endpoints: readonly Endpoint[], subset: readonly string[] | null): readonly Endpoint[] {
  if (subset === null) return endpoints;
  const hostPorts = new Set<string>();
  const hosts = new Set<string>();
  for (const raw of subset) {
    const entry = raw.trim();
    const { host, port } = splitHostPort(entry);
    if (port === null) hosts.add(host);
    else hostPorts.add(`${host.includes(':') ? `[${host}]` : host}:${port}`);
  }
  return endpoints.filter((e) => hostPorts.has(e.metadata.hostPort) || hosts.has(e.metadata.address));
}

/**
 * The request's own flow-control budget from `x-llm-d-inference-ttl`: a positive Go duration
 * (`2s`, `750ms`, `1m30s`). Anything else is ignored, as upstream ignores it.
 */
export function requestTtlMs(headers: Readonly<Record<string, string>>): number | undefined {
  const raw = headerValue(headers, INFERENCE_TTL_HEADER)?.trim();
  // Go durations need a unit (only "0" may go without one).
  if (raw === undefined || !/[a-zµμ]$/i.test(raw)) return undefined;
  try {
    const ms = parseDurationMs(raw, INFERENCE_TTL_HEADER);
    return ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** Splits `host:port`, `[v6]:port`, a bare IPv4/host or a bare IPv6 address. */
function splitHostPort(entry: string): { host: string; port: string | null } {
  if (entry.startsWith('[')) {
    const end = entry.indexOf(']');
    const rest = entry.slice(end + 1);
    return { host: entry.slice(1, end), port: rest.startsWith(':') ? rest.slice(1) : null };
  }
  const first = entry.indexOf(':');
  if (first === -1 || first !== entry.lastIndexOf(':')) return { host: entry, port: null };
  return { host: entry.slice(0, first), port: entry.slice(first + 1) };
}

/**
 * The router's request path, shared by the ext_proc server and the standalone proxy: parse the
 * body, resolve objective and model rewrite, pick candidates (subset hint, exclusions), run data
 * producers and admitters, schedule, run PreRequest hooks, and hand back where to send the request
 * with a tracker that feeds the response hooks and metrics.
 */
export class RouterDirector implements Director {
  readonly #d: DirectorDeps;
  readonly #policies: RoutingPolicies;
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(deps: DirectorDeps) {
    this.#d = deps;
    this.#policies = deps.policies ?? NO_POLICIES;
    this.#random = deps.random ?? Math.random;
    this.#now = deps.now ?? (() => performance.now());
  }

  /** The endpoints a request may go to: the pool, narrowed by the subset hint and the exclusions. */
  #candidates(pool: readonly Endpoint[], incoming: IncomingRequest): readonly Endpoint[] {
    let candidates = applySubset(pool, incoming.subsetHint);
    if (incoming.excludeEndpoints && incoming.excludeEndpoints.size > 0) {
      const excluded = incoming.excludeEndpoints;
      candidates = candidates.filter((e) => !excluded.has(e.metadata.hostPort));
    }
    return candidates;
  }

  async route(incoming: IncomingRequest): Promise<RoutedRequest> {
    const requestId = requestIdOf(incoming.headers);
    const pool = this.#d.datastore.endpoints();
    let candidates = this.#candidates(pool, incoming);
    if (incoming.body === null || incoming.body.byteLength === 0) return this.#routeWithoutBody(incoming, requestId, candidates);

    const received = this.#now();
    const req = parseInferenceRequest({ ...incoming, body: incoming.body }, requestId, received);
    const m = this.#d.metrics;
    if (req.objective !== null) req.priority = this.#policies.objectivePriority(req.objective) ?? 0;
    if (req.targetModel === req.incomingModel) {
      const rewrite = this.#policies.rewriteModel(req.incomingModel, this.#random);
      if (rewrite !== null) {
        req.targetModel = rewrite.model;
        m.modelRewriteDecisions.inc({ model_rewrite_name: rewrite.rewriteName, model_name: req.incomingModel, target_model: rewrite.model });
      }
    }
    const labels = { model_name: req.incomingModel, target_model_name: req.targetModel };
    m.requests.inc(labels);

    const fc = this.#d.flowControl ?? null;
    let admission: Dispatched | null = null;
    try {
      // With flow control an empty pool is a waiting room (scale from zero); a subset hint that
      // excludes every endpoint of a non-empty pool is refused at once either way.
      if (candidates.length === 0 && !(fc !== null && pool.length === 0)) {
        throw new RouterError('ServiceUnavailable', 'failed to find endpoint candidates for serving the request', { droppedReason: 'rejected-no-endpoints' });
      }
      if (fc !== null) {
        const result = await fc.enqueueAndWait(
          {
            requestId,
            fairnessId: req.fairnessId,
            priority: req.priority,
            byteSize: req.bodyBytes,
            modelName: req.incomingModel,
            targetModelName: req.targetModel,
            candidates: () => this.#candidates(this.#d.datastore.endpoints(), incoming),
            ...ttlOf(incoming.headers),
          },
          incoming.signal,
        );
        if (result.outcome !== 'Dispatched') throw result.error;
        admission = result;
        // The wait may have been long: schedule over the pool as it is now.
        candidates = this.#candidates(this.#d.datastore.endpoints(), incoming);
        if (candidates.length === 0) {
          throw new RouterError('ServiceUnavailable', 'failed to find endpoint candidates for serving the request', { droppedReason: 'rejected-no-endpoints' });
        }
      } else if (req.priority < 0 && this.#d.saturationDetector && this.#d.saturationDetector.saturation(candidates) >= 1) {
        throw new RouterError('ResourceExhausted', SHED_MESSAGE, { droppedReason: 'rejected-saturated' });
      }
      const ctx: SchedulingContext = { cycle: new CycleState(), attributes: new EndpointAttributes(), random: this.#random, now: this.#now };
      for (const p of this.#d.producers) {
        const t0 = performance.now();
        await p.produce(ctx, req, candidates);
        m.pluginDuration.observe({ extension_point: 'data-producer', plugin_type: p.type, plugin_name: p.name }, (performance.now() - t0) / 1000);
      }
      for (const a of this.#d.admitters) {
        const t0 = performance.now();
        const decision = a.admit(ctx, req, candidates);
        m.pluginDuration.observe({ extension_point: 'admitter', plugin_type: a.type, plugin_name: a.name }, (performance.now() - t0) / 1000);
        if (!decision.admitted) throw decision.error;
      }
      let result: SchedulingResult;
      const s0 = performance.now();
      try {
        result = this.#d.scheduler.schedule(ctx, req, candidates);
        m.schedulerAttempts.inc({ status: 'success' });
      } catch (err) {
        m.schedulerAttempts.inc({ status: 'failure' });
        throw err;
      } finally {
        m.schedulerDuration.observe((performance.now() - s0) / 1000);
      }
      const targets = result.profileResults.get(result.primaryProfileName)?.targets ?? [];
      if (targets.length === 0) {
        throw new RouterError('ServiceUnavailable', 'failed to find target endpoint for serving the request', { droppedReason: 'rejected-no-endpoints' });
      }

      const { headers, removed } = this.#forwardedHeaders(incoming.headers, requestId);
      const mutations: HeaderMutations = {
        set: (name, value) => {
          headers[name.toLowerCase()] = value;
        },
        remove: (name) => {
          delete headers[name.toLowerCase()];
        },
      };
      for (const h of this.#d.preRequestHooks) {
        const t0 = performance.now();
        h.preRequest(ctx, req, result, mutations);
        m.pluginDuration.observe({ extension_point: 'pre-request', plugin_type: h.type, plugin_name: h.name }, (performance.now() - t0) / 1000);
      }
      let body = incoming.body;
      if (req.body.model !== req.targetModel) {
        req.body.model = req.targetModel;
        body = Buffer.from(JSON.stringify(req.body), 'utf8');
      }
      m.running.inc(labels);
      // The in-flight counters now show this request: flow control stops counting it as pending.
      admission?.release();
      return {
        request: req,
        targets,
        destination: targets.map((t) => t.metadata.hostPort).join(','),
        headers,
        removedHeaders: removed,
        body,
        response: this.#tracker(req, targets, labels, received, admission?.waitMs ?? null),
      };
    } catch (err) {
      admission?.release();
      const e = toRouterError(err);
      m.errors.inc({ ...labels, error_code: e.code });
      if (e.code === 'Internal') this.#d.logger.error({ err, requestId }, 'routing failed');
      throw e;
    }
  }

  /** Requests without a body (e.g. GET /v1/models) go to a random candidate, as upstream does. */
  #routeWithoutBody(incoming: IncomingRequest, requestId: string, candidates: readonly Endpoint[]): RoutedRequest {
    if (candidates.length === 0) {
      throw new RouterError('ServiceUnavailable', 'failed to find endpoint candidates for serving the request', { droppedReason: 'rejected-no-endpoints' });
    }
    const target = candidates[Math.floor(this.#random() * candidates.length)] as Endpoint;
    const { headers, removed } = this.#forwardedHeaders(incoming.headers, requestId);
    return {
      request: null,
      targets: [target],
      destination: target.metadata.hostPort,
      headers,
      removedHeaders: removed,
      body: Buffer.alloc(0),
      response: { headers: () => ({}), firstChunk: () => undefined, complete: () => undefined },
    };
  }

  /** Incoming headers minus those the router owns and pseudo-headers, plus `x-request-id`. */
  #forwardedHeaders(incoming: Readonly<Record<string, string>>, requestId: string): { headers: Record<string, string>; removed: string[] } {
    const headers: Record<string, string> = {};
    const removed: string[] = [];
    for (const [name, value] of Object.entries(incoming)) {
      if (name.startsWith(':')) continue;
      if (ROUTER_OWNED_REQUEST_HEADERS.has(name) || name === DESTINATION_ENDPOINT_HEADER) {
        if (name !== 'content-length') removed.push(name);
        continue;
      }
      headers[name] = value;
    }
    headers[REQUEST_ID_HEADER] = requestId;
    return { headers, removed };
  }

  #tracker(
    req: InferenceRequest,
    targets: readonly Endpoint[],
    labels: { model_name: string; target_model_name: string },
    received: number,
    queuedMs: number | null,
  ): ResponseTracker {
    const hooks = this.#d.responseHooks;
    const m = this.#d.metrics;
    const ds = this.#d.datastore;
    let info: ResponseInfo = { status: 0, headers: {}, endpoint: targets[0] ?? null };
    let done = false;
    let firstSeen = false;
    return {
      headers: (status, headers, servedBy) => {
        const endpoint = (servedBy ? ds.get(servedBy) : undefined) ?? targets.find((t) => t.metadata.hostPort === servedBy) ?? targets[0] ?? null;
        info = { status, headers, endpoint };
        const extra: Record<string, string> = {};
        // Only requests that went through flow control carry the header, as upstream.
        if (queuedMs !== null) extra[FLOW_QUEUE_DURATION_HEADER] = String(Math.round(queuedMs));
        const set = (name: string, value: string) => {
          extra[name.toLowerCase()] = value;
        };
        for (const h of hooks) this.#safely(h, () => h.onResponseHeaders?.(req, info, set));
        return extra;
      },
      firstChunk: () => {
        if (firstSeen) return;
        firstSeen = true;
        m.ttft.observe(labels, (this.#now() - received) / 1000);
        for (const h of hooks) this.#safely(h, () => h.onResponseFirstChunk?.(req, info));
        // Token load was released: queued requests may fit now.
        this.#d.flowControl?.notify();
      },
      complete: (usage: ResponseUsage | null, failed: boolean) => {
        if (done) return;
        done = true;
        m.running.dec(labels);
        m.duration.observe(labels, (this.#now() - received) / 1000);
        if (usage) {
          m.inputTokens.observe(labels, usage.promptTokens);
          m.outputTokens.observe(labels, usage.completionTokens);
          if (usage.cachedTokens !== null) m.cachedTokens.observe(labels, usage.cachedTokens);
        }
        const failedOrError = failed || info.status >= 400;
        if (failedOrError) m.errors.inc({ ...labels, error_code: info.status >= 400 ? `ModelServerError${info.status}` : 'ModelServerError' });
        for (const h of hooks) this.#safely(h, () => h.onResponseComplete?.(req, { ...info, usage, failed: failedOrError }));
        this.#d.flowControl?.notify();
      },
    };
  }

  /** A response hook that throws must not break the response or the other hooks. */
  #safely(hook: ResponseHooks, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#d.logger.warn({ err, plugin: hook.name }, 'response hook failed');
    }
  }
}
