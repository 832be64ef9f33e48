// Builds the autoscaler from its options: metrics source, cluster (Kubernetes or local), controller
// loop, scale-from-zero engine, leader election, and the metrics and health endpoints.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '@llmd/cli';
import { KubeClient, LeaderElector, loadKubeConfig } from '@llmd/k8s';
import type { Logger } from 'pino';
import { ActuationMetrics } from './actuation/metrics.js';
import { EppMetricsReader, ScaleFromZeroEngine, type FlowQueueReader } from './actuation/scale-from-zero.js';
import type { Cluster } from './cluster.js';
import { MetricsCollector, type MetricsSource } from './collector/collector.js';
import { Controller, type CycleReport } from './controller.js';
import { KubeCluster } from './kube/kube-cluster.js';
import { DirectScrapeSource } from './local/direct-source.js';
import { LocalCluster } from './local/local-cluster.js';
import { readLocalConfig } from './local/local-config.js';
import { ProcessRunner } from './local/runner.js';
import { applyControllerConfigMap, intervalFromConfigMap, type AutoscalerOptions } from './options.js';
import { PrometheusClient } from './prometheus/client.js';

/** A running autoscaler. */
export interface Autoscaler {
  readonly controller: Controller;
  readonly scaleFromZero: ScaleFromZeroEngine;
  readonly metrics: ActuationMetrics;
  /** `http://host:port/metrics`, when served. */
  readonly metricsUrl: string | null;
  /** `http://host:port` of /healthz and /readyz, when served. */
  readonly healthUrl: string | null;
  /** The local cluster, in local mode. */
  readonly local: LocalCluster | null;
  /** Runs a cycle now (if leading) and resolves with its report. */
  reconcileNow(): Promise<CycleReport | null>;
  /** Resolves after the next cycle that starts from now. */
  nextCycle(): Promise<CycleReport | null>;
  close(): Promise<void>;
}

/** Starts the autoscaler. In local mode (`localConfig`), the cluster is the local process group. */
export async function startAutoscaler(initial: AutoscalerOptions, deps: { logger: Logger }): Promise<Autoscaler> {
  const { logger } = deps;
  let options = initial;
  let cluster: Cluster;
  let kube: KubeClient | null = null;
  let local: LocalCluster | null = null;
  let runner: ProcessRunner | null = null;
  if (options.localConfig !== null) {
    const file = options.localConfig;
    const firstRead = readLocalConfig(file);
    runner = new ProcessRunner({ simulator: firstRead.simulator, namespace: firstRead.namespace, endpointsFile: firstRead.endpointsFile, logger: logger.child({ component: 'local' }) });
    local = new LocalCluster(file, runner, logger.child({ component: 'local' }));
    cluster = local;
  } else {
    kube = new KubeClient(loadKubeConfig({ kubeconfig: options.kubeconfig, inCluster: options.inCluster }), { timeoutMs: 60_000 });
    cluster = new KubeCluster(kube, { watchNamespace: options.watchNamespace, controllerInstance: options.controllerInstance });
    const data = await cluster.readConfigMap(options.configNamespace, options.configMapName).catch((err: Error) => {
      logger.warn({ err: err.message }, 'cannot read the controller ConfigMap; flags, environment and defaults apply');
      return null;
    });
    if (data) options = applyControllerConfigMap(options, data);
  }

  const metrics = new ActuationMetrics({ controllerInstance: options.controllerInstance, processMetrics: true });
  let source: MetricsSource;
  let flowReader: FlowQueueReader;
  const eppReader = options.eppMetricsUrls.length > 0 ? new EppMetricsReader(options.eppMetricsUrls, { bearerToken: options.eppBearerToken, metricNames: options.flowControlMetrics }) : null;
  let direct: DirectScrapeSource | null = null;
  if (options.prometheus.url !== null) {
    const p = options.prometheus;
    const bearerToken = p.bearerToken ?? (p.bearerTokenFile ? readFileSync(p.bearerTokenFile, 'utf8').trim() : undefined);
    const prom = new PrometheusClient({ baseUrl: p.url as string, bearerToken, caCertPath: p.caCertPath, clientCertPath: p.clientCertPath, clientKeyPath: p.clientKeyPath, serverName: p.serverName, insecureSkipVerify: p.insecureSkipVerify });
    const collector = new MetricsCollector(prom, { windows: options.windows, stalenessMs: options.metricsStalenessMs, flowControlMetrics: options.flowControlMetrics });
    source = collector;
    flowReader = eppReader ?? { queued: (model) => collector.flowControlQueue(model) };
  } else if (local && runner) {
    const routerReader = local.config.routerMetricsUrls.length > 0 ? new EppMetricsReader(local.config.routerMetricsUrls, { metricNames: options.flowControlMetrics }) : null;
    const r = runner;
    direct = new DirectScrapeSource({
      targets: () => r.all().map((x) => ({ pod: x.pod, url: x.url })),
      windows: options.windows,
      stalenessMs: options.metricsStalenessMs,
      scrapeIntervalMs: local.config.scrapeIntervalMs,
      flowQueue: eppReader ?? routerReader ?? undefined,
    });
    source = direct;
    flowReader = eppReader ?? routerReader ?? { queued: async () => undefined };
  } else {
    throw new ConfigError('--prometheus-url', 'required (or PROMETHEUS_BASE_URL, or the controller ConfigMap key); only the local mode can run without Prometheus');
  }

  const controller = new Controller(
    { cluster, metricsSource: source, metrics, logger: logger.child({ component: 'controller' }) },
    {
      configNamespace: local ? local.config.namespace : options.configNamespace,
      scaleToZeroDefault: options.scaleToZero,
      limitedMode: options.limitedMode,
      acceleratorCapacity: options.acceleratorCapacity,
      actuation: options.actuation,
    },
  );

  let leading = !options.leaderElection.enabled || local !== null;
  let wake: (() => void) | null = null;
  let closed = false;
  const waiters: Array<(r: CycleReport | null) => void> = [];
  let cycleRunning: Promise<CycleReport | null> | null = null;
  let firstCycleDone = false;
  // Reconcile cycles and scale-from-zero actions take turns (see ScaleFromZeroOptions.exclusive).
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(action: () => Promise<T>): Promise<T> => {
    const run = turn.then(action, action);
    turn = run.catch(() => undefined);
    return run;
  };
  const runCycle = (): Promise<CycleReport | null> => {
    cycleRunning ??= exclusive(async () => {
      if (!leading) return null;
      const report = await controller.reconcile();
      engine.observe(controller.lastResolved);
      firstCycleDone = true;
      return report;
    }).finally(() => (cycleRunning = null));
    return cycleRunning;
  };
  const engine = new ScaleFromZeroEngine({
    cluster,
    reader: flowReader,
    metrics,
    logger: logger.child({ component: 'scale-from-zero' }),
    maxConcurrency: options.scaleFromZeroMaxConcurrency,
    onScaled: () => wake?.(),
    exclusive,
  });

  const loop = async () => {
    while (!closed) {
      const report = await runCycle().catch((err: Error) => {
        logger.error({ err: err.message, stack: err.stack }, 'reconcile cycle failed');
        return null;
      });
      for (const w of waiters.splice(0)) w(report);
      let intervalMs = options.intervalMs;
      if (kube) {
        const data = await cluster.readConfigMap(options.configNamespace, options.configMapName).catch(() => null);
        try {
          const next = intervalFromConfigMap(options, data);
          if (next !== intervalMs) logger.info({ old: intervalMs, new: next }, 'updated the optimization interval');
          intervalMs = next;
          options = { ...options, intervalMs };
        } catch (err) {
          logger.error({ err: (err as Error).message }, 'invalid GLOBAL_OPT_INTERVAL; keeping the interval');
        }
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  };

  let elector: LeaderElector | null = null;
  if (options.leaderElection.enabled && kube) {
    elector = new LeaderElector({
      client: kube,
      namespace: options.configNamespace,
      name: options.leaderElection.id,
      leaseDurationMs: options.leaderElection.leaseDurationMs,
      renewDeadlineMs: options.leaderElection.renewDeadlineMs,
      retryPeriodMs: options.leaderElection.retryPeriodMs,
      logger: logger.child({ component: 'leader-election' }),
      onChange: (now) => {
        leading = now;
        if (now) {
          engine.start(options.scaleFromZeroIntervalMs);
          wake?.();
        } else engine.stop();
      },
    });
    elector.start();
  }

  // Endpoints.
  const listen = async (bind: { host: string; port: number } | null, handler: http.RequestListener): Promise<{ server: http.Server; url: string } | null> => {
    if (!bind) return null;
    const server = http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(bind.port, bind.host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return { server, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${a.port}` };
  };
  const metricsServer = await listen(options.metricsBind, (req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      void metrics.expose().then(({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      });
      return;
    }
    res.writeHead(404).end();
  });
  const healthServer = await listen(options.healthBind, (req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/healthz') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    else if (path === '/readyz') {
      const ready = firstCycleDone || !leading;
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : 'first cycle pending');
    } else res.writeHead(404).end();
  });

  if (local) await local.startWorkloads();
  direct?.start();
  if (leading) engine.start(options.scaleFromZeroIntervalMs);
  void loop();
  logger.info(
    {
      mode: local ? 'local' : 'kubernetes',
      prometheus: options.prometheus.url,
      intervalMs: options.intervalMs,
      actuation: options.actuation,
      metrics: metricsServer ? `${metricsServer.url}/metrics` : null,
      health: healthServer?.url ?? null,
      leaderElection: options.leaderElection.enabled,
    },
    'autoscaler started',
  );

  return {
    controller,
    scaleFromZero: engine,
    metrics,
    metricsUrl: metricsServer ? `${metricsServer.url}/metrics` : null,
    healthUrl: healthServer?.url ?? null,
    local,
    reconcileNow: () => runCycle(),
    nextCycle: () =>
      new Promise((resolve) => {
        waiters.push(resolve);
        wake?.();
      }),
    close: async () => {
      closed = true;
      wake?.();
      engine.stop();
      direct?.stop();
      await elector?.stop();
      await cycleRunning?.catch(() => undefined);
      await Promise.all([metricsServer, healthServer].map((s) => (s ? new Promise<void>((r) => s.server.close(() => r())) : undefined)));
      await runner?.stopAll();
      kube?.close();
    },
  };
}
