export type { DatastoreEvent, EndpointDatastore } from './types.js';
export { InMemoryDatastore, createEndpointMetadata } from './in-memory.js';
export type { EndpointInit, InMemoryDatastoreOptions } from './in-memory.js';
export {
  EndpointsFileError,
  FILE_DISCOVERY_TYPE,
  FileDiscovery,
  MAX_ENDPOINTS_FILE_BYTES,
  fileDiscoveryParamsSchema,
  parseEndpointsFile,
  readEndpointsFileText,
} from './file-discovery.js';
export type { FileDiscoveryOptions, FileDiscoveryParams, ParsedEndpointsFile } from './file-discovery.js';
export { attachScraper } from './scraper-glue.js';
export { InMemoryPolicyDatastore, NO_POLICIES, drawTarget } from './policies.js';
export type {
  ModelRewriteRecord,
  ModelRewriteRule,
  ModelRewriteTarget,
  ObjectiveRecord,
  PolicyDatastore,
  PoolRef,
  RewriteDecision,
  RoutingPolicies,
} from './policies.js';
export { POLICY_API_VERSIONS, PoliciesFile, PoliciesFileError, parsePolicies } from './policies-file.js';
export type { ParsedPolicies, PoliciesFileOptions } from './policies-file.js';
