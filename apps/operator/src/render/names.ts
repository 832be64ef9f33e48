// Names, labels and ports of the objects a ModelService owns.
import type { ModelService } from '@llmd/k8s-api';

/** The field manager of every write the operator makes. */
export const FIELD_MANAGER = 'llmd-operator';
/** Finalizer that makes the operator delete the children before the ModelService goes. */
export const CLEANUP_FINALIZER = 'llm-d.ai/operator-cleanup';

/** Label naming the ModelService that owns an object; children are listed by it. */
export const OWNER_LABEL = 'llm-d.ai/model-service';
/** Model-server role of a pod. */
export const ROLE_LABEL = 'llm-d.ai/role';
/** The model a pod serves (the ModelService name: model names themselves are not label values). */
export const MODEL_LABEL = 'llm-d.ai/model';
/** Marks model-server pods (the upstream modelservice chart's spelling). */
export const INFERENCE_SERVING_LABEL = 'llm-d.ai/inferenceServing';
/** Marks model-server pods (the spelling the KV-event pod discovery selects on). */
export const INFERENCE_SERVING_LABEL_KEBAB = 'llm-d.ai/inference-serving';
/** Annotation of the router pod template: hash of its configuration, so a new config rolls the pods. */
export const CONFIG_HASH_ANNOTATION = 'llm-d.ai/config-hash';

/** Port the pool targets on every model-server pod (the engine, or the P/D sidecar in decode pods). */
export const SERVING_PORT = 8000;
/** Port of the engine behind the P/D sidecar in decode pods. */
export const SIDECAR_BACKEND_PORT = 8200;
/** ZMQ port of KV-cache events (router's SUB socket, or each engine's PUB socket). */
export const KV_EVENTS_PORT = 5557;
/** NIXL side-channel port of P/D engines. */
export const NIXL_SIDE_CHANNEL_PORT = 5600;
/** Router ports: Envoy ext_proc, gRPC health, metrics. */
export const ROUTER_PORTS = { grpc: 9002, grpcHealth: 9003, metrics: 9090 } as const;

/** A model-server role. */
export type Role = 'decode' | 'prefill';

/** Names of a ModelService's children. */
export function childNames(ms: ModelService) {
  const name = ms.metadata.name as string;
  return {
    pool: name,
    route: name,
    router: `${name}-epp`,
    routerConfig: `${name}-epp`,
    role: (role: Role) => `${name}-${role}`,
  };
}

/** Labels every child carries. */
export function commonLabels(ms: ModelService, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'llm-d',
    'app.kubernetes.io/instance': ms.metadata.name as string,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'llm-d',
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
    [OWNER_LABEL]: ms.metadata.name as string,
  };
}

/** Label selector (`key=value,…`) of every child of a ModelService. */
export function childSelector(msName: string): string {
  return `app.kubernetes.io/managed-by=${FIELD_MANAGER},${OWNER_LABEL}=${msName}`;
}

/** Labels the pool selects model-server pods by. */
export function poolSelector(ms: ModelService): Record<string, string> {
  return { [MODEL_LABEL]: ms.metadata.name as string, [INFERENCE_SERVING_LABEL_KEBAB]: 'true' };
}

/** The name clients send as `model`. */
export function servedName(ms: ModelService): string {
  return ms.spec.model.servedName ?? ms.spec.model.name;
}
