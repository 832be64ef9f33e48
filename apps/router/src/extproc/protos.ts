import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * `apps/router/proto`. This module sits two levels below the app folder both as source
 * (`src/extproc/protos.ts`, run by vitest) and built (`dist/extproc/protos.js`), so one relative
 * URL finds the folder in both cases. Built images must ship `proto/` beside `dist/`.
 */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** The ext_proc service file, relative to {@link PROTO_DIR}. */
export const EXT_PROC_PROTO = 'envoy/service/ext_proc/v3/external_processor.proto';

/** The gRPC health service file, relative to {@link PROTO_DIR}. */
export const HEALTH_PROTO = 'grpc/health/v1/health.proto';

/**
 * How messages map to JS objects: field names as in the .proto (snake_case, as the reference
 * spells them), oneofs named by a virtual field (`request: 'request_body'`), enums as numbers
 * (an HTTP status is its own number), empty lists and maps present. google/protobuf/*.proto
 * resolve to the definitions bundled with protobufjs, so only our own files are on disk; those
 * bundled types keep camelCase field names (`Value.stringValue`) whatever `keepCase` says.
 */
export const LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: Number,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});

let extProcCache: grpc.GrpcObject | undefined;
let healthCache: grpc.GrpcObject | undefined;

/** Loads (once) the ext_proc protos; clients and the server share the same definitions. */
export function loadExtProcPackage(): grpc.GrpcObject {
  extProcCache ??= grpc.loadPackageDefinition(protoLoader.loadSync(EXT_PROC_PROTO, LOADER_OPTIONS));
  return extProcCache;
}

/** Loads (once) the gRPC health protos. */
export function loadHealthPackage(): grpc.GrpcObject {
  healthCache ??= grpc.loadPackageDefinition(protoLoader.loadSync(HEALTH_PROTO, LOADER_OPTIONS));
  return healthCache;
}

/** Follows a dotted name (`envoy.service.ext_proc.v3.ExternalProcessor`) through a loaded package. */
function lookup(pkg: grpc.GrpcObject, dotted: string): unknown {
  let node: unknown = pkg;
  for (const part of dotted.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (node === undefined) throw new Error(`${dotted} not found in the loaded protos`);
  return node;
}

/** The client constructor of `envoy.service.ext_proc.v3.ExternalProcessor` (its `.service` is the server definition). */
export function externalProcessorClient(): grpc.ServiceClientConstructor {
  return lookup(loadExtProcPackage(), 'envoy.service.ext_proc.v3.ExternalProcessor') as grpc.ServiceClientConstructor;
}

/** The client constructor of `grpc.health.v1.Health`. */
export function healthClient(): grpc.ServiceClientConstructor {
  return lookup(loadHealthPackage(), 'grpc.health.v1.Health') as grpc.ServiceClientConstructor;
}
