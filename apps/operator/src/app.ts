// The running operator: cluster access, the controller (behind leader election when asked), and
// the HTTP server of /healthz, /readyz and /metrics.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, LeaderElector, loadKubeConfig as loadConfig } from '@llmd/k8s';
import type { Logger } from '@llmd/observability';
import { ModelServiceController } from './controller/controller.js';
import { EventRecorder } from './controller/events.js';
import { createOperatorMetrics, type OperatorMetrics } from './metrics.js';
import type { OperatorOptions } from './options.js';

/** A running operator. */
export interface RunningOperator extends AsyncDisposable {
  readonly controller: ModelServiceController;
  readonly metrics: OperatorMetrics;
  /** Bound port of the HTTP server. */
  readonly port: number;
  /** Whether this process leads (always true without leader election). */
  readonly isLeader: () => boolean;
  /** Whether /readyz answers 200: leading and every informer synced. */
  readonly isReady: () => boolean;
  close(): Promise<void>;
}

/** What the operator needs besides its options. */
export interface OperatorDeps {
  logger: Logger;
  /** Cluster credentials; loaded from the options when absent. */
  kubeConfig?: KubeConfig;
  /** Called when leadership is lost: the process should exit (its state may be stale). */
  onLeadershipLost?: () => void;
  /** Backoff of failed reconciles (tests shorten it). */
  backoff?: { baseMs: number; maxMs: number };
}

/** Loads the kubeconfig the options name, or the in-cluster service account. */
export function loadKubeConfig(options: Pick<OperatorOptions, 'kubeconfig'>): KubeConfig {
  return loadConfig({ kubeconfig: options.kubeconfig, inCluster: options.kubeconfig === null });
}

/** Starts the operator. */
export async function startOperator(options: OperatorOptions, deps: OperatorDeps): Promise<RunningOperator> {
  const { logger } = deps;
  const kubeConfig = deps.kubeConfig ?? loadKubeConfig(options);
  const client = new KubeClient(kubeConfig, { userAgent: 'llmd-operator', timeoutMs: 30_000 });
  const metrics = createOperatorMetrics();
  const events = new EventRecorder(client, logger, options.leaderElection.identity);
  const controller = new ModelServiceController({
    client,
    logger,
    metrics,
    events,
    render: { routerImage: options.images.router, pdSidecarImage: options.images.pdSidecar, modelServerImage: options.images.modelServer },
    ...(options.watchNamespace === null ? {} : { namespace: options.watchNamespace }),
    concurrency: options.concurrency,
    resyncPeriodMs: options.resyncPeriodMs,
    ...(deps.backoff ? { baseBackoffMs: deps.backoff.baseMs, maxBackoffMs: deps.backoff.maxMs } : {}),
  });
  const le = options.leaderElection;
  const elector = le.enabled
    ? new LeaderElector({
        client,
        namespace: le.namespace,
        name: le.id,
        identity: le.identity,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        logger,
        onStartedLeading: () => {
          metrics.leader.set({ name: le.id }, 1);
          controller.start();
        },
        onStoppedLeading: (reason) => {
          metrics.leader.set({ name: le.id }, 0);
          if (reason !== 'lost') return;
          logger.error('leadership lost; stopping');
          // No second term: the process is expected to exit and start afresh.
          void elector?.stop({ release: false });
          void controller.stop();
          deps.onLeadershipLost?.();
        },
      })
    : null;
  const isLeader = () => elector === null || elector.isLeader;
  const isReady = () => isLeader() && controller.synced;

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const ready = isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : isLeader() ? 'informers not synced' : 'not the leader');
    } else if (path === '/metrics') {
      metrics.queueDepth.set({ name: 'modelservice' }, controller.queue.depth);
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.metricsPort, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, leaderElection: le.enabled }, 'operator listening');

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await controller.stop();
    await elector?.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
  };

  if (elector) {
    metrics.leader.set({ name: le.id }, 0);
    elector.start();
  } else {
    metrics.leader.set({ name: 'none' }, 1);
    controller.start();
  }

  return { controller, metrics, port, isLeader, isReady, close, [Symbol.asyncDispose]: close };
}
