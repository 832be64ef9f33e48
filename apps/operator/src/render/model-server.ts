// Model-server Deployment and Service of one role.
import type { EnvVar, ModelService, ModelServiceRole } from '@llmd/k8s-api';
import { kvEventsMode } from './presets.js';
import {
  childNames,
  commonLabels,
  INFERENCE_SERVING_LABEL,
  INFERENCE_SERVING_LABEL_KEBAB,
  KV_EVENTS_PORT,
  MODEL_LABEL,
  NIXL_SIDE_CHANNEL_PORT,
  OWNER_LABEL,
  type Role,
  ROLE_LABEL,
  servedName,
  SERVING_PORT,
  SIDECAR_BACKEND_PORT,
} from './names.js';
import type { KubeObject, RenderConfig } from './types.js';

const MODEL_MOUNT = '/model-cache';

/** Where the engine finds the weights: its `--model` argument, and the volume that holds them. */
export function modelSource(ms: ModelService): { modelArg: string; volume: Record<string, unknown>; env: EnvVar[] } {
  const uri = ms.spec.model.uri;
  const rest = uri.slice(uri.indexOf('://') + 3);
  if (uri.startsWith('pvc://')) {
    const slash = rest.indexOf('/');
    const claim = slash < 0 ? rest : rest.slice(0, slash);
    const path = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
    return {
      modelArg: path === '' ? MODEL_MOUNT : `${MODEL_MOUNT}/${path}`,
      volume: { name: 'model-storage', persistentVolumeClaim: { claimName: claim, readOnly: true } },
      env: [],
    };
  }
  if (uri.startsWith('oci://')) {
    return { modelArg: MODEL_MOUNT, volume: { name: 'model-storage', image: { reference: rest, pullPolicy: 'IfNotPresent' } }, env: [] };
  }
  // hf://<repo>: the engine downloads into a scratch cache.
  return { modelArg: rest, volume: { name: 'model-storage', emptyDir: {} }, env: [{ name: 'HF_HOME', value: MODEL_MOUNT }] };
}

/** The env list with `extra` overriding same-named entries (env is a list keyed by name). */
function mergeEnv(base: EnvVar[], extra: readonly EnvVar[] | undefined): EnvVar[] {
  const out = new Map<string, EnvVar>();
  for (const e of [...base, ...(extra ?? [])]) out.set(e.name, e);
  return [...out.values()];
}

/** Quantities as strings, the form the API server stores them in. */
function quantities(map: Record<string, string | number> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, String(v)]));
}

function resourcesOf(role: ModelServiceRole): Record<string, unknown> | undefined {
  const limits = quantities(role.resources?.limits);
  const requests = quantities(role.resources?.requests);
  const acc = role.accelerator;
  if (acc) {
    const count = acc.count ?? role.parallelism.tensor * role.parallelism.data;
    if (count > 0) {
      limits[acc.resource] ??= String(count);
      requests[acc.resource] ??= limits[acc.resource] as string;
    }
  }
  const out: Record<string, unknown> = {};
  if (Object.keys(limits).length > 0) out.limits = limits;
  if (Object.keys(requests).length > 0) out.requests = requests;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The engine's command-line arguments for a role. */
export function engineArgs(ms: ModelService, role: Role, roleSpec: ModelServiceRole): string[] {
  const names = childNames(ms);
  const pd = ms.spec.preset === 'pd-disaggregation';
  const port = pd && role === 'decode' ? SIDECAR_BACKEND_PORT : SERVING_PORT;
  const args = [
    '--model',
    modelSource(ms).modelArg,
    '--served-model-name',
    servedName(ms),
    '--port',
    String(port),
    '--tensor-parallel-size',
    String(roleSpec.parallelism.tensor),
    '--data-parallel-size',
    String(roleSpec.parallelism.data),
  ];
  if (ms.spec.preset === 'precise-prefix-cache-routing') {
    const centralized = kvEventsMode(ms) === 'centralized';
    const endpoint = centralized ? `tcp://${names.router}.${ms.metadata.namespace}.svc.cluster.local:${KV_EVENTS_PORT}` : `tcp://*:${KV_EVENTS_PORT}`;
    // $(POD_IP) is expanded by the kubelet from the container's POD_IP variable.
    const kvEvents = { enable_kv_cache_events: true, publisher: 'zmq', endpoint, topic: `kv@$(POD_IP):${SERVING_PORT}@${servedName(ms)}` };
    args.push('--kv-events-config', JSON.stringify(kvEvents), '--prefix-caching-hash-algo', 'sha256_cbor', '--block-size', String(ms.spec.prefixCache.blockSize));
  }
  if (pd) args.push('--kv-transfer-config', JSON.stringify({ kv_connector: 'NixlConnector', kv_role: 'kv_both' }));
  return [...args, ...(roleSpec.args ?? [])];
}

function engineEnv(ms: ModelService, roleSpec: ModelServiceRole): EnvVar[] {
  const env: EnvVar[] = [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, ...modelSource(ms).env];
  if (ms.spec.model.authSecretName) env.push({ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: ms.spec.model.authSecretName, key: 'HF_TOKEN' } } });
  if (ms.spec.preset === 'precise-prefix-cache-routing') env.push({ name: 'PYTHONHASHSEED', value: ms.spec.prefixCache.hashSeed });
  if (ms.spec.preset === 'pd-disaggregation') {
    env.push({ name: 'VLLM_NIXL_SIDE_CHANNEL_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'VLLM_NIXL_SIDE_CHANNEL_PORT', value: String(NIXL_SIDE_CHANNEL_PORT) });
  }
  return mergeEnv(env, roleSpec.env);
}

/** Labels of a role's pods; the pool selects on the model and serving labels. */
export function podLabels(ms: ModelService, role: Role): Record<string, string> {
  return {
    ...commonLabels(ms, role),
    [ROLE_LABEL]: role,
    [MODEL_LABEL]: ms.metadata.name as string,
    [INFERENCE_SERVING_LABEL]: 'true',
    [INFERENCE_SERVING_LABEL_KEBAB]: 'true',
  };
}

/** The Deployment and Service of one model-server role. */
export function renderRole(ms: ModelService, role: Role, roleSpec: ModelServiceRole, config: RenderConfig): KubeObject[] {
  const name = childNames(ms).role(role);
  const namespace = ms.metadata.namespace as string;
  const pd = ms.spec.preset === 'pd-disaggregation';
  const sidecar = pd && role === 'decode';
  const enginePort = sidecar ? SIDECAR_BACKEND_PORT : SERVING_PORT;
  const ports: Record<string, unknown>[] = [{ name: sidecar ? 'engine' : 'http', containerPort: enginePort, protocol: 'TCP' }];
  if (ms.spec.preset === 'precise-prefix-cache-routing' && kvEventsMode(ms) === 'discovery') ports.push({ name: 'kv-events', containerPort: KV_EVENTS_PORT, protocol: 'TCP' });
  if (pd) ports.push({ name: 'nixl', containerPort: NIXL_SIDE_CHANNEL_PORT, protocol: 'TCP' });
  const engine: Record<string, unknown> = {
    name: 'vllm',
    image: roleSpec.image ?? config.modelServerImage,
    args: engineArgs(ms, role, roleSpec),
    env: engineEnv(ms, roleSpec),
    ports,
    volumeMounts: [{ name: 'model-storage', mountPath: '/model-cache' }],
    startupProbe: { httpGet: { path: '/health', port: enginePort }, periodSeconds: 10, failureThreshold: 90 },
    readinessProbe: { httpGet: { path: '/health', port: enginePort }, periodSeconds: 5, failureThreshold: 3 },
  };
  const resources = resourcesOf(roleSpec);
  if (resources) engine.resources = resources;
  const containers: Record<string, unknown>[] = [];
  if (sidecar) {
    containers.push({
      name: 'routing-proxy',
      image: config.pdSidecarImage,
      args: [`--port=${SERVING_PORT}`, `--model-server-port=${SIDECAR_BACKEND_PORT}`, '--kv-connector=nixlv2', '--secure-serving=false'],
      ports: [{ name: 'http', containerPort: SERVING_PORT, protocol: 'TCP' }],
    });
  }
  containers.push(engine);
  const podSpec: Record<string, unknown> = { containers, volumes: [modelSource(ms).volume] };
  if (roleSpec.nodeSelector && Object.keys(roleSpec.nodeSelector).length > 0) podSpec.nodeSelector = roleSpec.nodeSelector;
  const deploymentSpec: Record<string, unknown> = {
    selector: { matchLabels: { [OWNER_LABEL]: ms.metadata.name as string, [ROLE_LABEL]: role } },
    template: { metadata: { labels: podLabels(ms, role) }, spec: podSpec },
  };
  // With autoscaling on, replicas belong to the autoscaler: leaving the field out keeps apply from fighting it.
  if (!ms.spec.autoscaling?.enabled) deploymentSpec.replicas = roleSpec.replicas;
  return [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels: { ...commonLabels(ms, role), [ROLE_LABEL]: role } }, spec: { ...deploymentSpec } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels: { ...commonLabels(ms, role), [ROLE_LABEL]: role } },
      spec: { selector: { [OWNER_LABEL]: ms.metadata.name as string, [ROLE_LABEL]: role }, ports: [{ name: 'http', port: SERVING_PORT, targetPort: SERVING_PORT, protocol: 'TCP' }] },
    },
  ];
}
