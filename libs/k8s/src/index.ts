export { isConflict, isNotFound, KubeApiError, KubeClient, KubeConfigError, loadKubeConfig, resourcePath, SERVICE_ACCOUNT_DIR } from './client.js';
export type { KubeClientOptions, KubeConfigSource, KubeList, KubeStatus, NamedObject, Query, ResourceType, WatchEvent } from './client.js';
export { Informer, objectKey } from './informer.js';
export type { BackoffOptions, InformerChange, InformerOptions, KubeObject, ListWatch } from './informer.js';
export { collectionListWatch, resourceListWatch } from './list-watch.js';
export { DEFAULT_LEASE_DURATION_MS, DEFAULT_RENEW_DEADLINE_MS, DEFAULT_RETRY_PERIOD_MS, LeaderElector, leaderIdentity, microTime, validateLeaseTimings } from './leader-election.js';
export type { Lease, LeaderElectorOptions } from './leader-election.js';
export { sleep } from './sleep.js';
