import { DESTINATION_ENDPOINT_HEADER, REQUEST_ID_HEADER, ROUTER_OWNED_REQUEST_HEADERS } from '@llmd/api';
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
  type SchedulingContext,
  type SchedulingResult,
} from '@llmd/scheduling';
import type { Logger } from 'pino';
import type { EndpointDatastore } from '../datastore/types.js';
import type { RouterMetrics } from '../metrics/router-metrics.js';
import { parseInferenceRequest, requestIdOf } from './request-parser.js';
import type { Director, IncomingRequest, ResponseTracker, RoutedRequest } from './types.js';

/** What the director needs from the scheduler (the profile loop of libs/scheduling). */
export interface SchedulerLike {
  schedule(ctx: SchedulingContext, req: InferenceRequest, candidates: readonly Endpoint[]): SchedulingResult;
}

/** Objective priorities and model rewrites; filled from a file or Kubernetes CRDs. */
export interface RoutingPolicies {
  /** Priority of a named objective, undefined when unknown (priority 0 then). */
  objectivePriority(objective: string): number | undefined;
  /** The model to send instead of `model`, or null to keep it. */
  rewriteModel(model: string, random: () => number): string | null;
}

/** No objectives, no rewrites. */
export const NO_POLICIES: RoutingPolicies = { objectivePriority: () => undefined, rewriteModel: () => null };

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
  policies?: RoutingPolicies;
  random?: () => number;
  now?: () => number;
}

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

  async route(incoming: IncomingRequest): Promise<RoutedRequest> {
    const requestId = requestIdOf(incoming.headers);
    let candidates = applySubset(this.#d.datastore.endpoints(), incoming.subsetHint);
    if (incoming.excludeEndpoints && incoming.excludeEndpoints.size > 0) {
      const excluded = incoming.excludeEndpoints;
      candidates = candidates.filter((e) => !excluded.has(e.metadata.hostPort));
    }
    if (incoming.body === null || incoming.body.byteLength === 0) return this.#routeWithoutBody(incoming, requestId, candidates);

    const received = this.#now();
    const req = parseInferenceRequest({ ...incoming, body: incoming.body }, requestId, received);
    const m = this.#d.metrics;
    if (req.objective !== null) req.priority = this.#policies.objectivePriority(req.objective) ?? 0;
    if (req.targetModel === req.incomingModel) req.targetModel = this.#policies.rewriteModel(req.incomingModel, this.#random) ?? req.incomingModel;
    const labels = { model_name: req.incomingModel, target_model_name: req.targetModel };
    m.requests.inc(labels);

    try {
      if (candidates.length === 0) {
        throw new RouterError('ServiceUnavailable', 'failed to find endpoint candidates for serving the request', { droppedReason: 'rejected-no-endpoints' });
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
      return {
        request: req,
        targets,
        destination: targets.map((t) => t.metadata.hostPort).join(','),
        headers,
        removedHeaders: removed,
        body,
        response: this.#tracker(req, targets, labels, received),
      };
    } catch (err) {
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

  #tracker(req: InferenceRequest, targets: readonly Endpoint[], labels: { model_name: string; target_model_name: string }, received: number): ResponseTracker {
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
