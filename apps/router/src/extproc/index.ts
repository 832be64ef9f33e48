// Public entry of the ext_proc transport: the Envoy ext_proc v3 server and the gRPC health service.
export {
  addHealthService,
  createHealthServer,
  EXT_PROC_SERVICE_NAME,
  HEALTH_SERVICE_NAMES,
  healthStatusOf,
  ServingStatus,
} from './health.js';
export type { HealthServerOptions, HealthState, ServingStatusValue } from './health.js';
export type { GrpcListener } from './listener.js';
export { MAX_BODY_CHUNK_BYTES } from './messages.js';
export type { ProcessingRequest, ProcessingResponse } from './messages.js';
export { externalProcessorClient, healthClient, LOADER_OPTIONS, PROTO_DIR } from './protos.js';
export { createExtProcServer } from './server.js';
export type { ExtProcServer, ExtProcServerOptions } from './server.js';
export { generateSelfSignedCertificate, readCertificateDir } from './tls.js';
export type { ServingCertificate } from './tls.js';
