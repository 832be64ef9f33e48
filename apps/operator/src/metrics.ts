// The operator's Prometheus metrics, under the names controller-runtime and client-go use.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's metrics and their registry. */
export interface OperatorMetrics {
  readonly registry: Registry;
  /** Reconciles by result: success, error, requeue_after. */
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  /** Keys waiting in the work queue. */
  readonly queueDepth: Gauge<'name'>;
  readonly queueAdds: Counter<'name'>;
  readonly queueRetries: Counter<'name'>;
  /** 1 while this process leads (or when leader election is off). */
  readonly leader: Gauge<'name'>;
}

/** Creates the metrics in a fresh registry (with the process metrics). */
export function createOperatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    reconcileTotal: new Counter({ name: 'controller_runtime_reconcile_total', help: 'Reconciles per controller and result.', labelNames: ['controller', 'result'], registers }),
    reconcileErrors: new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Reconciles that failed, per controller.', labelNames: ['controller'], registers }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Time per reconcile.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({ name: 'workqueue_depth', help: 'Keys waiting in the work queue.', labelNames: ['name'], registers }),
    queueAdds: new Counter({ name: 'workqueue_adds_total', help: 'Keys added to the work queue.', labelNames: ['name'], registers }),
    queueRetries: new Counter({ name: 'workqueue_retries_total', help: 'Keys requeued after a failure.', labelNames: ['name'], registers }),
    leader: new Gauge({ name: 'leader_election_master_status', help: '1 while this process is the leader.', labelNames: ['name'], registers }),
  };
}
