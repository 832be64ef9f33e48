export { KubeApiError, KubeClient, KubeConfigError, loadKubeConfig, SERVICE_ACCOUNT_DIR } from './client.js';
export type { KubeConfigSource, KubeList, KubeStatus, WatchEvent } from './client.js';
export { endpointId, isPodReady, isPodTerminating, podEndpoints, podExclusionReason, selectorMatches, selectorQuery } from './endpoints.js';
export type { LabelSelector, LabelSelectorRequirement, PodLike, PoolView } from './endpoints.js';
export { Informer, objectKey } from './informer.js';
export type { InformerChange, InformerOptions, KubeObject, ListWatch } from './informer.js';
export { collectionListWatch } from './list-watch.js';
export {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  LeaderElector,
  leaderElectionLeaseName,
  leaderIdentity,
  microTime,
  validateLeaseTimings,
} from './leader-election.js';
export type { Lease, LeaderElectorOptions } from './leader-election.js';
export { inferencePoolResource, poolViewOf } from './pool.js';
export { KubernetesPoolDiscovery } from './pool-discovery.js';
export type { KubernetesPoolDiscoveryOptions, PoolIdentity } from './pool-discovery.js';
export { KubernetesPolicySource, objectiveRecordOf, POLICY_GROUPS, refersToPool, rewriteRecordOf } from './policy-source.js';
export type { KubernetesPolicySourceOptions } from './policy-source.js';
export { startKubernetesMode } from './kubernetes-mode.js';
export type { KubernetesMode, KubernetesModeDeps } from './kubernetes-mode.js';
