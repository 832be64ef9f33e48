// The router (endpoint picker) of a ModelService: config, identity, permissions, Deployment, Service.
import { createHash } from 'node:crypto';
import type { ModelService } from '@llmd/k8s-api';
import { childNames, commonLabels, CONFIG_HASH_ANNOTATION, KV_EVENTS_PORT, ROUTER_PORTS } from './names.js';
import { kvEventsMode, routerConfigText } from './presets.js';
import type { KubeObject, RenderConfig } from './types.js';

const CONFIG_KEY = 'config.yaml';
const CONFIG_DIR = '/config';

/** What the router reads and writes in its namespace (a Role can only grant what the operator holds). */
export const ROUTER_RULES = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['inference.networking.k8s.io'], resources: ['inferencepools'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['inference.networking.x-k8s.io'], resources: ['inferencepools', 'inferenceobjectives', 'inferencemodelrewrites'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['llm-d.ai'], resources: ['inferenceobjectives', 'inferencemodelrewrites'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

function routerSelector(ms: ModelService): Record<string, string> {
  return { 'app.kubernetes.io/instance': ms.metadata.name as string, 'app.kubernetes.io/component': 'router' };
}

/** The router's objects: ServiceAccount, Role, RoleBinding, ConfigMap, Deployment, Service. */
export function renderRouter(ms: ModelService, config: RenderConfig): KubeObject[] {
  const names = childNames(ms);
  const namespace = ms.metadata.namespace as string;
  const labels = commonLabels(ms, 'router');
  const meta = (name: string) => ({ name, namespace, labels });
  const configText = routerConfigText(ms);
  const standalone = ms.spec.routing.standalone;
  const precise = ms.spec.preset === 'precise-prefix-cache-routing' && kvEventsMode(ms) === 'centralized';
  const router = ms.spec.router;

  const args = [
    `--pool-name=${names.pool}`,
    `--pool-namespace=${namespace}`,
    '--pool-group=inference.networking.k8s.io',
    `--config-file=${CONFIG_DIR}/${CONFIG_KEY}`,
    `--grpc-port=${ROUTER_PORTS.grpc}`,
    `--grpc-health-port=${ROUTER_PORTS.grpcHealth}`,
    `--metrics-port=${ROUTER_PORTS.metrics}`,
  ];
  if (standalone) args.push(`--proxy-port=${standalone.port}`);
  if (router.replicas > 1) args.push('--ha-enable-leader-election');
  args.push(...(router.args ?? []));

  const containerPorts: Record<string, unknown>[] = [
    { name: 'grpc', containerPort: ROUTER_PORTS.grpc, protocol: 'TCP' },
    { name: 'grpc-health', containerPort: ROUTER_PORTS.grpcHealth, protocol: 'TCP' },
    { name: 'metrics', containerPort: ROUTER_PORTS.metrics, protocol: 'TCP' },
  ];
  const servicePorts: Record<string, unknown>[] = [
    { name: 'grpc-ext-proc', port: ROUTER_PORTS.grpc, targetPort: ROUTER_PORTS.grpc, protocol: 'TCP', appProtocol: 'http2' },
    { name: 'metrics', port: ROUTER_PORTS.metrics, targetPort: ROUTER_PORTS.metrics, protocol: 'TCP' },
  ];
  if (standalone) {
    containerPorts.push({ name: 'proxy', containerPort: standalone.port, protocol: 'TCP' });
    servicePorts.push({ name: 'proxy', port: standalone.port, targetPort: standalone.port, protocol: 'TCP' });
  }
  if (precise) {
    containerPorts.push({ name: 'kv-events', containerPort: KV_EVENTS_PORT, protocol: 'TCP' });
    servicePorts.push({ name: 'kv-events', port: KV_EVENTS_PORT, targetPort: KV_EVENTS_PORT, protocol: 'TCP' });
  }

  const container: Record<string, unknown> = {
    name: 'epp',
    image: router.image ?? config.routerImage,
    args,
    env: [
      { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    ports: containerPorts,
    volumeMounts: [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }],
    livenessProbe: { httpGet: { path: '/healthz', port: ROUTER_PORTS.metrics }, periodSeconds: 10, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port: ROUTER_PORTS.metrics }, periodSeconds: 2, failureThreshold: 3 },
  };
  if (router.resources) {
    const q = (m: Record<string, string | number> | undefined) => Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, String(v)]));
    container.resources = {
      ...(router.resources.limits ? { limits: q(router.resources.limits) } : {}),
      ...(router.resources.requests ? { requests: q(router.resources.requests) } : {}),
    };
  }

  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(names.router) },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(names.router), rules: ROUTER_RULES },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(names.router),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.router },
      subjects: [{ kind: 'ServiceAccount', name: names.router, namespace }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(names.routerConfig), data: { [CONFIG_KEY]: configText } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(names.router),
      spec: {
        replicas: router.replicas,
        selector: { matchLabels: routerSelector(ms) },
        template: {
          metadata: { labels, annotations: { [CONFIG_HASH_ANNOTATION]: createHash('sha256').update(configText).digest('hex').slice(0, 16) } },
          spec: {
            serviceAccountName: names.router,
            containers: [container],
            volumes: [{ name: 'config', configMap: { name: names.routerConfig } }],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: meta(names.router), spec: { selector: routerSelector(ms), ports: servicePorts } },
  ];
}
