import type { Logger } from 'pino';
import type { PolicyDatastore } from '../datastore/policies.js';
import type { EndpointDatastore } from '../datastore/types.js';
import type { RouterOptions } from '../options.js';
import { KubeClient, LeaderElector, leaderIdentity, loadKubeConfig } from '@llmd/k8s';
import { leaderElectionLeaseName } from './lease.js';
import { KubernetesPolicySource } from './policy-source.js';
import { KubernetesPoolDiscovery } from './pool-discovery.js';

/** The router's Kubernetes side: the client, pool discovery and (with `--ha-enable-leader-election`) the elector. */
export interface KubernetesMode {
  readonly client: KubeClient;
  readonly discovery: KubernetesPoolDiscovery;
  /** Objectives and rewrites from CRDs; null when no policy datastore was given. */
  readonly policies: KubernetesPolicySource | null;
  /** The datastore the policies are written to (what the director reads). */
  readonly policyStore: PolicyDatastore | null;
  /** Null without leader election (every replica then counts as leader, as upstream). */
  readonly elector: LeaderElector | null;
  /** Upstream's readiness: the pool and its pods have been read, and this replica leads. */
  ready(): boolean;
  close(): Promise<void>;
}

/** What {@link startKubernetesMode} needs besides the options. */
export interface KubernetesModeDeps {
  readonly datastore: EndpointDatastore;
  readonly logger: Logger;
  /** `haPopulateNonLeaderDatastore`: standbys keep their datastore warm (default on, as upstream). */
  readonly populateNonLeaderDatastore: boolean;
  /** Where InferenceObjectives and InferenceModelRewrites of the pool are written (not watched without one). */
  readonly policies?: PolicyDatastore;
  /** A client made elsewhere (tests); otherwise one is made from the options. */
  readonly client?: KubeClient;
}

/**
 * Starts the Kubernetes side of the router for `--pool-name`: connects with the configured
 * credentials, starts watching the InferencePool and its pods into `datastore` and the pool's
 * InferenceObjectives and InferenceModelRewrites into `policies`, and contends for
 * the pool's Lease when leader election is on. With `haPopulateNonLeaderDatastore` off, a standby
 * only starts watching once it leads.
 */
export async function startKubernetesMode(
  options: Pick<RouterOptions, 'poolName' | 'poolNamespace' | 'poolGroup' | 'kubeconfig' | 'kubeContext' | 'inCluster' | 'leaderElection' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs' | 'podName'>,
  deps: KubernetesModeDeps,
): Promise<KubernetesMode> {
  if (options.poolName === null) throw new Error('Kubernetes mode needs --pool-name');
  const client = deps.client ?? new KubeClient(loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.kubeContext, inCluster: options.inCluster }));
  const pool = { name: options.poolName, namespace: options.poolNamespace, group: options.poolGroup };
  const discovery = new KubernetesPoolDiscovery({ client, pool, logger: deps.logger });
  const policies = deps.policies ? new KubernetesPolicySource({ client, pool, logger: deps.logger }) : null;
  let elector: LeaderElector | null = null;
  let discoveryStarted: Promise<void> | null = null;
  const startDiscovery = () =>
    (discoveryStarted ??= (async () => {
      await discovery.start(deps.datastore);
      if (policies && deps.policies) await policies.start(deps.policies);
    })());
  const close = async () => {
    await elector?.stop({ release: true });
    await Promise.all([discovery.stop(), policies?.stop()]);
    client.close();
  };
  try {
    if (options.leaderElection) {
      elector = new LeaderElector({
        client,
        namespace: pool.namespace,
        name: leaderElectionLeaseName(pool.namespace, pool.name),
        identity: leaderIdentity(options.podName),
        leaseDurationMs: options.leaseDurationMs,
        renewDeadlineMs: options.renewDeadlineMs,
        retryPeriodMs: options.retryPeriodMs,
        logger: deps.logger,
        onChange: (leading) => {
          if (leading && !deps.populateNonLeaderDatastore) {
            startDiscovery().catch((err: Error) => deps.logger.error({ err: err.message }, 'starting Kubernetes discovery failed'));
          }
        },
      });
    }
    if (!elector || deps.populateNonLeaderDatastore) await startDiscovery();
    elector?.start();
  } catch (err) {
    await close();
    throw err;
  }
  deps.logger.info({ pool, leaderElection: elector ? { lease: leaderElectionLeaseName(pool.namespace, pool.name), identity: elector.identity } : false, server: client.server.origin }, 'Kubernetes discovery started');
  return {
    client,
    discovery,
    policies,
    policyStore: deps.policies ?? null,
    elector,
    ready: () => discovery.synced && (elector === null || elector.isLeader),
    close,
  };
}
