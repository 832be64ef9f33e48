import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { healthClient } from './protos.js';
import { startGrpcServer, type GrpcListener } from './listener.js';

/** `grpc.health.v1.HealthCheckResponse.ServingStatus` values. */
export const ServingStatus = Object.freeze({ UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const);

/** One of the {@link ServingStatus} values. */
export type ServingStatusValue = (typeof ServingStatus)[keyof typeof ServingStatus];

/**
 * Whether the router may take traffic: the pool has synced, the plugins are ready, this
 * replica leads (when leader election is on) and it is not draining. Read on every check.
 */
export interface HealthState {
  ready(): boolean;
}

/** The ext_proc service name, which Envoy health-checks. */
export const EXT_PROC_SERVICE_NAME = 'envoy.service.ext_proc.v3.ExternalProcessor';

/** Service names the router answers for; anything else is SERVICE_UNKNOWN (R:cmd/epp/runner/health.go). */
export const HEALTH_SERVICE_NAMES: readonly string[] = Object.freeze(['liveness', 'readiness', '', EXT_PROC_SERVICE_NAME]);

/** The status of one service name: `liveness` while the process runs, the readiness names from `state`. */
export function healthStatusOf(service: string, state: HealthState): ServingStatusValue {
  if (service === 'liveness') return ServingStatus.SERVING;
  if (service === 'readiness' || service === '' || service === EXT_PROC_SERVICE_NAME) {
    return state.ready() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }
  return ServingStatus.SERVICE_UNKNOWN;
}

/** Registers `grpc.health.v1.Health` (Check, List; Watch is UNIMPLEMENTED as upstream) on a server. */
export function addHealthService(server: grpc.Server, state: HealthState): void {
  const impl: grpc.UntypedServiceImplementation = {
    Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, { status: healthStatusOf(call.request.service ?? '', state) });
    },
    List: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const statuses: Record<string, { status: ServingStatusValue }> = {};
      for (const name of HEALTH_SERVICE_NAMES) statuses[name] = { status: healthStatusOf(name, state) };
      callback(null, { statuses });
    },
    Watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'Watch is not implemented' });
    },
  };
  server.addService(healthClient().service, impl);
}

/** Options of the stand-alone health server (`--grpc-health-port`). */
export interface HealthServerOptions {
  healthState: HealthState;
  logger: Logger;
}

/** The gRPC health server on its own plaintext port, as upstream serves it for probes. */
export function createHealthServer(opts: HealthServerOptions): GrpcListener {
  const server = new grpc.Server();
  addHealthService(server, opts.healthState);
  return startGrpcServer(server, async () => grpc.ServerCredentials.createInsecure(), opts.logger.child({ component: 'grpc-health' }));
}
