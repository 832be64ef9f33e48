import { ConfigError as FlagError, seededRandom } from '@llmd/cli';
import { FeatureGates } from '@llmd/feature-gates';
import { MetricsScraper } from '@llmd/model-server';
import {
  DEFAULT_ENDPOINT_PICKER_CONFIG,
  loadEndpointPickerConfig,
  PluginRegistry,
  type LoadedConfig,
  type PluginHandle,
} from '@llmd/scheduling';
import { BUILTIN_PLUGINS, isPdDecisionSource } from '@llmd/scheduling-plugins';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MetricsDataSource } from './datalayer/plugins.js';
import { ROUTER_PLUGINS } from './datalayer/plugins.js';
import { attachScraper, FileDiscovery, InMemoryDatastore } from './datastore/index.js';
import { RouterDirector, type RoutingPolicies } from './director/index.js';
import { createExtProcServer, createHealthServer, type HealthState } from './extproc/index.js';
import { RouterMetrics } from './metrics/router-metrics.js';
import type { RouterOptions } from './options.js';
import { createProxyServer } from './proxy/proxy.js';

/** The feature gates the router knows (upstream names). */
export function routerFeatureGates(): FeatureGates {
  return new FeatureGates([
    { name: 'flowControl', default: false, maturity: 'beta', description: 'Queue requests in the router while the pool is saturated (priority bands, fairness).' },
    { name: 'haPopulateNonLeaderDatastore', default: true, maturity: 'beta', description: 'Keep the datastore of non-leader replicas populated.' },
  ]);
}

/** Every plugin type the router can load: scheduling plugins plus data-layer and parser types. */
export function routerRegistry(): PluginRegistry {
  const registry = new PluginRegistry();
  registry.register(...BUILTIN_PLUGINS, ...ROUTER_PLUGINS);
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
  /** Bound ports (useful with port 0). */
  readonly ports: { grpc: number; grpcHealth: number; metrics: number; proxy: number | null };
  /** PEM of the ext_proc server certificate when serving TLS. */
  readonly certificate: string | null;
  close(): Promise<void>;
}

/** Extra inputs of {@link startRouter}, for tests and embedding. */
export interface RouterDeps {
  logger: Logger;
  policies?: RoutingPolicies;
}

/**
 * Builds and starts the router: config (or the built-in default), datastore and discovery
 * (file discovery from the config or `--endpoints-file`), metrics scraping, the director, and the
 * servers (ext_proc, gRPC health, metrics, and the standalone proxy when `--proxy-port` is given).
 */
export async function startRouter(options: RouterOptions, deps: RouterDeps): Promise<RunningRouter> {
  const { logger } = deps;
  const random = options.seed === null ? Math.random : seededRandom(options.seed);
  const now = () => performance.now();
  const datastore = new InMemoryDatastore({ logger });
  const metrics = new RouterMetrics(() => datastore.endpoints().length);
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
  if (isPdDecisionSource(config.profileHandler)) {
    config.profileHandler.onDecision((d) => metrics.pdDecisions.inc({ model_name: d.model, decision_type: d.decisionType }));
  }

  let discovery = config.dataLayer.discovery;
  if (options.endpointsFile !== null) {
    if (discovery) throw new FlagError('--endpoints-file', `the config already names a discovery plugin (${discovery.name}); use one or the other`);
    discovery = new FileDiscovery({ path: options.endpointsFile, watchFile: true, logger });
  }
  if (!(discovery instanceof FileDiscovery)) {
    if (options.poolName !== null) {
      throw new FlagError('--pool-name', 'Kubernetes discovery of an InferencePool is not available in this version; use --endpoints-file or a file-discovery plugin');
    }
    throw new FlagError('--endpoints-file', 'no endpoint discovery configured: give --endpoints-file or a file-discovery plugin in dataLayer.discovery');
  }

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
    ...(deps.policies ? { policies: deps.policies } : {}),
  });

  const healthState: HealthState = { ready: () => datastore.synced };
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
    await discovery.start(datastore);
    closers.push(() => (discovery as FileDiscovery).stop());
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
    const ports = { grpc, grpcHealth, metrics: portOf(metricsServer), proxy: proxyPort };
    logger.info({ ports, endpoints: datastore.endpoints().length, plugins: [...config.plugins.keys()] }, 'router listening');
    return { config, datastore, director, metrics, ports, certificate: extProc.certificate, close, [Symbol.asyncDispose]: close };
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
