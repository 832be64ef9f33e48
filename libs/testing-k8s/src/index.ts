export { BUILD_COMMAND, MissingBinaryError, envtestBinDir, findControlPlaneBinaries, findEnvtestBinary, findRepoRoot } from './binaries.js';
export type { ControlPlaneBinaries, EnvtestBinary, FindBinaryOptions } from './binaries.js';
export { createCertificateAuthority, generateControlPlaneCerts } from './certs.js';
export type { CertificateAuthority, ControlPlaneCerts, LeafOptions, PemPair } from './certs.js';
export { parseGoDuration, startControlPlane } from './control-plane.js';
export type { ControlPlane, StartControlPlaneOptions } from './control-plane.js';
export { KUBECONFIG_CLUSTER, loadKubeConfig, renderKubeConfig } from './kubeconfig.js';
export type { KubeConfigInput } from './kubeconfig.js';
export {
  DEFAULT_FIELD_MANAGER,
  applyManifestFiles,
  applyManifests,
  applyObject,
  createObject,
  deleteObject,
  getObject,
  loadManifestFiles,
  parseManifests,
  patchStatus,
  waitForCrds,
} from './manifests.js';
export type { ApplyOptions, PatchStatusOptions } from './manifests.js';
export { poll } from './poll.js';
export type { PollOptions } from './poll.js';
export { KubeApiError, kubeFetch, kubeRequest, objectPath, resourceFor } from './rest.js';
export type { KubeObject, KubeRequest, KubeResponse, ObjectRef } from './rest.js';
