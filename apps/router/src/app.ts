import { ConfigError as FlagError, seededRandom } from '@llmd/cli';
import { FeatureGates, ROUTER_FEATURE_GATES } from '@llmd/feature-gates';
import { FLOW_CONTROL_POLICY_PLUGINS, FlowController } from '@llmd/flow-control';
import { MetricsScraper } from '@llmd/model-server';
import {
  DEFAULT_ENDPOINT_PICKER_CONFIG,
  loadEndpointPickerConfig,
  PluginRegistry,
  type LoadedConfig,
  type PluginHandle,
  type SaturationDetector,
} from '@llmd/scheduling';
import { BUILTIN_PLUGINS, isPdDecisionSource } from '@llmd/scheduling-plugins';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MetricsDataSource } from './datalayer/plugins.js';
import { ROUTER_PLUGINS } from './datalayer/plugins.js';
import { attachScraper, FileDiscovery, InMemoryDatastore, InMemoryPolicyDatastore, PoliciesFile, type PolicyDatastore } from './datastore/index.js';
import { RouterDirector } from './director/index.js';
import { createExtProcServer, createHealthServer, type HealthState } from './extproc/index.js';
import { startKubernetesMode, type KubernetesMode } from './k8s/kubernetes-mode.js';
import { flowControlObserver, RouterMetrics } from './metrics/router-metrics.js';
import type { RouterOptions } from './options.js';
import { createProxyServer } from './proxy/proxy.js';

/** The feature gates the router knows (upstream names). */
export function routerFeatureGates(): FeatureGates {
  return new FeatureGates(ROUTER_FEATURE_GATES);
}

/** Every plugin type the router can load: scheduling plugins, flow-control policies, data-layer and parser types. */
export function routerRegistry(): PluginRegistry {
  const registry = new PluginRegistry();
  registry.register(...BUILTIN_PLUGINS, ...FLOW_CONTROL_POLICY_PLUGINS, ...ROUTER_PLUGINS);
  return registry;
}

/** The configuration to run: the given EndpointPickerConfig, else upstream's built-in default. */
export function loadRouterConfig(
  options: Pick<RouterOptions, 'configText' | 'configSource'>,
  deps: { logger: Logger; endpoints: PluginHandle['endpoints']; random: () => number; now: () => number; observer?: Parameters<typeof loadEndpointPickerConfig>[1]['observer'] },
): LoadedConfig {
  const featureGates = routerFeatureGates();
  return loadEndpointPickerConfig(options.configText ?? DEFAULT_ENDPOINT_PICKER_CONFIG, {
    registry: routerRegistry(),
    handle: { logger: deps.logger, endpoints: deps.endpoints, featureGates, random: deps.random, now: deps.now },
    featureGates,
    source: options.configText === null ? 'built-in default config' : options.configSource,
    ...(deps.observer ? { observer: deps.observer } : {}),
  });
}

/** A running router and how to stop it. */
export interface RunningRouter extends AsyncDisposable {
  readonly config: LoadedConfig;
  readonly datastore: InMemoryDatastore;
  readonly director: RouterDirector;
  readonly metrics: RouterMetrics;
  /** InferenceObjectives and InferenceModelRewrites (from `--objectives-file`, or Kubernetes). */
  readonly policies: PolicyDatastore;
  /** The flow controller when the `flowControl` gate is on, else null. */
  readonly flowControl: FlowController | null;
  /** The Kubernetes side (pool discovery, leader election) when serving `--pool-name`; null with file discovery. */
  readonly kubernetes: KubernetesMode | null;
  /** Bound ports (useful with port 0). */
  readonly ports: { grpc: number; grpcHealth: number; metrics: number; proxy: number | null };
  /** PEM of the ext_proc server certificate when serving TLS. */
  readonly certificate: string | null;
  close(): Promise<void>;
}

/** Extra inputs of {@link startRouter}, for tests and embedding. */
export interface RouterDeps {
  logger: Logger;
  /** The objectives-and-rewrites datastore to use (default: a new in-memory one). */
  policies?: PolicyDatastore;
}

/**
 * Builds and starts the router: config (or the built-in default), datastore and discovery
 * (file discovery from the config or `--endpoints-file`, else the InferencePool of `--pool-name` on
 * Kubernetes, with leader election when asked), metrics scraping, the director, and the
 * servers (ext_proc, gRPC health, metrics, and the standalone proxy when `--proxy-port` is given).
 */
export async function startRouter(options: RouterOptions, deps: RouterDeps): Promise<RunningRouter> {
  const { logger } = deps;
  const random = options.seed === null ? Math.random : seededRandom(options.seed);
  const now = () => performance.now();
  const datastore = new InMemoryDatastore({ logger });
  // Filled by --objectives-file, or on Kubernetes by the pool's InferenceObjectives and InferenceModelRewrites.
  const policies = deps.policies ?? new InMemoryPolicyDatastore();
  let detector: SaturationDetector | null = null;
  const metrics = new RouterMetrics(() => datastore.endpoints().length, {
    poolName: options.poolName ?? 'epp',
    poolSaturation: () => {
      try {
        return detector?.saturation(datastore.endpoints()) ?? null;
      } catch {
        return null; // a detector that cannot answer yet must not break /metrics
      }
    },
  });
  const config = loadRouterConfig(options, {
    logger,
    endpoints: () => datastore.endpoints(),
    random,
    now,
    observer: {
      pluginDuration: (point, type, name, seconds) => metrics.pluginDuration.observe({ extension_point: point, plugin_type: type, plugin_name: name }, seconds),
      attempt: () => undefined,
    },
  });
  for (const w of config.warnings) logger.warn(w);
  detector = config.saturationDetector;
  let flowControl: FlowController | null = null;
  if (config.flowControlConfig !== null) {
    if (detector === null) throw new FlagError('--config-file', 'flow control needs a saturation detector, and none is registered');
    flowControl = new FlowController(config.flowControlConfig, { detector, now, observer: flowControlObserver(metrics) });
  }
  if (isPdDecisionSource(config.profileHandler)) {
    config.profileHandler.onDecision((d) => metrics.pdDecisions.inc({ model_name: d.model, decision_type: d.decisionType }));
  }

  let discovery = config.dataLayer.discovery;
  if (options.endpointsFile !== null) {
    if (discovery) throw new FlagError('--endpoints-file', `the config already names a discovery plugin (${discovery.name}); use one or the other`);
    discovery = new FileDiscovery({ path: options.endpointsFile, watchFile: true, logger });
  }
  // A file-discovery plugin or --endpoints-file wins over --pool-name, as upstream (no Kubernetes client then).
  const fileDiscovery = discovery instanceof FileDiscovery ? discovery : null;
  if (!fileDiscovery && options.poolName === null) {
    throw new FlagError('--pool-name', 'no endpoint discovery configured: give --pool-name (an InferencePool on Kubernetes), --endpoints-file, or a file-discovery plugin in dataLayer.discovery');
  }
  if (fileDiscovery && options.leaderElection) {
    throw new FlagError('--ha-enable-leader-election', 'leader election runs on a Kubernetes Lease: it needs Kubernetes discovery (--pool-name), not file discovery');
  }
  // On Kubernetes the pool's InferenceObjectives and InferenceModelRewrites fill the store, unless
  // --objectives-file or the embedder provides them (two writers would overwrite each other).
  const clusterPolicies = !fileDiscovery && !deps.policies && options.objectivesFile === null ? policies : null;

  const source = config.dataLayer.sources[0]?.plugin as MetricsDataSource | undefined;
  const scraper = new MetricsScraper({
    intervalMs: source?.intervalMs ?? options.refreshMetricsIntervalMs,
    ...(source ? { scheme: source.scheme, path: source.path, insecureSkipVerify: source.insecureSkipVerify } : {}),
    logger: logger.child({ component: 'scraper' }),
  });
  const detachScraper = attachScraper(datastore, scraper);

  const director = new RouterDirector({
    datastore,
    scheduler: config.scheduler,
    producers: config.producers,
    admitters: config.admitters,
    preRequestHooks: config.preRequestHooks,
    responseHooks: config.responseHooks,
    metrics,
    logger,
    random,
    now,
    policies,
    flowControl,
    saturationDetector: detector,
  });

  let kubernetes: KubernetesMode | null = null;
  const healthState: HealthState = { ready: () => (kubernetes ? kubernetes.ready() : datastore.synced) };
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    closers.push(async () => {
      // Plugins holding sockets or workers (e.g. the precise prefix-cache producer) release them.
      for (const plugin of config.plugins.values()) {
        const closable = plugin as { close?: () => Promise<void> };
        if (typeof closable.close === 'function') await closable.close();
      }
    });
    if (fileDiscovery) {
      await fileDiscovery.start(datastore);
      closers.push(() => fileDiscovery.stop());
    } else {
      const k8s = await startKubernetesMode(options, {
        datastore,
        logger,
        populateNonLeaderDatastore: config.featureGates.enabled('haPopulateNonLeaderDatastore'),
        ...(clusterPolicies ? { policies: clusterPolicies } : {}),
      });
      kubernetes = k8s;
      closers.push(() => k8s.close());
    }
    if (options.objectivesFile !== null) {
      const file = new PoliciesFile({ path: options.objectivesFile, logger });
      await file.start(policies);
      closers.push(() => file.stop());
    }
    if (flowControl !== null) {
      const fc = flowControl;
      // New metrics or endpoints may free capacity for queued requests.
      closers.push(datastore.subscribe(() => fc.notify()));
    }
    closers.push(() => {
      detachScraper();
      scraper.close();
    });

    const metricsServer = metricsApp(metrics, healthState, logger);
    await metricsServer.listen({ host: options.host, port: options.metricsPort });
    closers.push(() => metricsServer.close());

    const extProc = createExtProcServer({ director, logger, secure: options.secureServing, certPath: options.certPath, healthState, healthChecking: options.healthChecking });
    const grpc = await extProc.listen(options.grpcPort, options.host);
    closers.push(() => extProc.close());
    const health = createHealthServer({ healthState, logger });
    const grpcHealth = await health.listen(options.grpcHealthPort, options.host);
    closers.push(() => health.close());

    let proxyPort: number | null = null;
    if (options.proxyPort !== null) {
      const proxy = createProxyServer({ director, logger });
      await proxy.listen({ host: options.host, port: options.proxyPort });
      const addr = proxy.server.address();
      proxyPort = typeof addr === 'object' && addr ? addr.port : options.proxyPort;
      closers.push(() => proxy.close());
    }
    // Closed first on shutdown: queued requests get their 503 (rejected-shutting-down) while the servers still answer.
    if (flowControl !== null) closers.push(() => flowControl.close());
    const ports = { grpc, grpcHealth, metrics: portOf(metricsServer), proxy: proxyPort };
    logger.info({ ports, endpoints: datastore.endpoints().length, plugins: [...config.plugins.keys()] }, 'router listening');
    return { config, datastore, director, metrics, policies, flowControl, kubernetes, ports, certificate: extProc.certificate, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}

function portOf(app: FastifyInstance): number {
  const addr = app.server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/** The metrics port: Prometheus text at /metrics, liveness at /healthz, readiness at /readyz. */
function metricsApp(metrics: RouterMetrics, health: HealthState, logger: Logger): FastifyInstance {
  const app = (Fastify as unknown as (o: object) => FastifyInstance)({ loggerInstance: logger.child({ component: 'metrics' }), disableRequestLogging: true });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/healthz', async (_req, reply) => reply.code(200).send('ok'));
  app.get('/readyz', async (_req, reply) => (health.ready() ? reply.code(200).send('ok') : reply.code(503).send('not ready')));
  return app;
}
