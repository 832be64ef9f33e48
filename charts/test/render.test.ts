// `helm template` of the default values, every example and single switches: the objects and the
// fields that make the stack work together (labels, flags, config preset, pool, KV events, sidecar).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  CHART_DIR,
  EXAMPLES,
  all,
  container,
  examplePath,
  find,
  flagValue,
  render,
  type Container,
  type Deployment,
  type Manifest,
} from './test-support/helm.js';

const NS = 'inference';
const APP_VERSION = String((parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion);

interface PoolSpec {
  selector: { matchLabels: Record<string, string> };
  targetPorts: { number: number }[];
  appProtocol?: string;
  endpointPickerRef: { group?: string; kind: string; name: string; port: { number: number }; failureMode: string };
}
interface ServiceSpec {
  selector: Record<string, string>;
  ports: { name: string; port: number; targetPort: string | number }[];
}
interface PickerConfig {
  apiVersion?: string;
  kind?: string;
  plugins: { name?: string; type: string; parameters?: Record<string, unknown> }[];
  schedulingProfiles: { name: string; plugins: { pluginRef: string; weight?: number }[] }[];
}
interface RoleRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const example = (name: string, set: string[] = []) => render({ values: [examplePath(name)], set, namespace: NS });
const defaults = (set: string[] = []) => render({ set, namespace: NS });

function routerDeployment(objects: Manifest[], pool = 'llm-d'): Deployment {
  return find<Deployment>(objects, 'Deployment', `${pool}-epp`);
}

/** The EndpointPickerConfig the router Deployment loads, read from its ConfigMap. */
function loadedConfig(objects: Manifest[], pool = 'llm-d'): { file: string; config: PickerConfig } {
  const args = container(routerDeployment(objects, pool), 'router').args;
  const path = flagValue(args, 'config-file');
  expect(path).toMatch(/^\/config\//);
  const file = (path as string).slice('/config/'.length);
  const data = find(objects, 'ConfigMap', `${pool}-epp`).data ?? {};
  expect(Object.keys(data)).toContain(file);
  return { file, config: parse(data[file] as string) as PickerConfig };
}

const pluginTypes = (config: PickerConfig) => config.plugins.map((p) => p.type);
const plugin = (config: PickerConfig, type: string) => config.plugins.find((p) => p.type === type);
const weights = (config: PickerConfig, profile: string) =>
  Object.fromEntries((config.schedulingProfiles.find((p) => p.name === profile)?.plugins ?? []).map((p) => [p.pluginRef, p.weight]));

function envValue(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

function expectSubset(labels: Record<string, string>, subset: Record<string, string>) {
  for (const [k, v] of Object.entries(subset)) expect(labels[k], `label ${k}`).toBe(v);
}

function gpuKeys(c: Container): string[] {
  return [...Object.keys(c.resources?.requests ?? {}), ...Object.keys(c.resources?.limits ?? {})].filter((k) => k !== 'cpu' && k !== 'memory');
}

describe('default values', () => {
  const objects = defaults();
  const router = routerDeployment(objects);
  const routerContainer = container(router, 'router');
  const decode = find<Deployment>(objects, 'Deployment', 'llm-d-decode');
  const pool = find(objects, 'InferencePool', 'llm-d');
  const service = find(objects, 'Service', 'llm-d-epp');

  it('renders the router, its RBAC, the pool and the decode servers, and nothing optional', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/llm-d-epp',
        'Deployment/llm-d-decode',
        'Deployment/llm-d-epp',
        'InferencePool/llm-d',
        'Role/llm-d-epp',
        'RoleBinding/llm-d-epp',
        'Service/llm-d-epp',
        'ServiceAccount/llm-d-epp',
      ].sort(),
    );
  });

  it('labels every object as part of llm-d and puts it in the release namespace', () => {
    for (const o of objects) {
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NS);
      expectSubset(o.metadata.labels ?? {}, { 'app.kubernetes.io/part-of': 'llm-d', 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': 'llm-d' });
    }
  });

  it('runs the router image with the pool, the config file and the fixed ports', () => {
    expect(routerContainer.image).toBe(`ghcr.io/llm-d-ts/router:${APP_VERSION}`);
    expect(routerContainer.command).toBeUndefined();
    const args = routerContainer.args ?? [];
    expect(flagValue(args, 'pool-name')).toBe('llm-d');
    expect(flagValue(args, 'pool-namespace')).toBe(NS);
    expect(flagValue(args, 'pool-group')).toBe('inference.networking.k8s.io');
    expect(flagValue(args, 'grpc-port')).toBe('9002');
    expect(flagValue(args, 'grpc-health-port')).toBe('9003');
    expect(flagValue(args, 'metrics-port')).toBe('9090');
    expect(args).not.toContain('--ha-enable-leader-election');
    expect(flagValue(args, 'proxy-port')).toBeUndefined();
    expect(router.spec.replicas).toBe(1);
  });

  it('loads the default preset: queue 2, KV-cache utilization 2, prefix cache 3', () => {
    const { file, config } = loadedConfig(objects);
    expect(file).toBe('default.yaml');
    expect(config.apiVersion).toBe('llm-d.ai/v1alpha1');
    expect(config.kind).toBe('EndpointPickerConfig');
    expect(weights(config, 'default')).toEqual({ 'queue-scorer': 2, 'kv-cache-utilization-scorer': 2, 'prefix-cache-scorer': 3 });
  });

  it('mounts the ConfigMap at /config and restarts the pods when it changes', () => {
    expect(routerContainer.volumeMounts).toContainEqual({ name: 'config', mountPath: '/config', readOnly: true });
    expect(router.spec.template.spec.volumes).toContainEqual({ name: 'config', configMap: { name: 'llm-d-epp' } });
    const before = router.spec.template.metadata.annotations?.['checksum/config'];
    const after = routerDeployment(defaults(['global.preset=optimized-baseline'])).spec.template.metadata.annotations?.['checksum/config'];
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
  });

  it('probes readiness at /readyz and liveness at /healthz on the metrics port', () => {
    const metricsPort = routerContainer.ports?.find((p) => p.name === 'http-metrics');
    expect(metricsPort?.containerPort).toBe(9090);
    expect(routerContainer.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' });
    expect(routerContainer.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' });
  });

  it('runs the router as non-root on a read-only root filesystem without capabilities, with resources', () => {
    expect(routerContainer.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(routerContainer.resources?.requests).toMatchObject({ cpu: '500m', memory: '512Mi' });
    expect(routerContainer.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  it('exposes ext_proc, health and metrics on the router Service, selecting the router pods only', () => {
    const spec = service.spec as ServiceSpec;
    expect(spec.ports.map((p) => [p.name, p.port])).toEqual([
      ['grpc-ext-proc', 9002],
      ['grpc-health', 9003],
      ['http-metrics', 9090],
    ]);
    expectSubset(router.spec.template.metadata.labels, spec.selector);
    expect(Object.entries(spec.selector).every(([k, v]) => decode.spec.template.metadata.labels[k] === v)).toBe(false);
  });

  it('binds a Role with the router permissions to its ServiceAccount', () => {
    const rules = (find(objects, 'Role', 'llm-d-epp') as Manifest & { rules: RoleRule[] }).rules;
    const allowed = (group: string, resource: string, verb: string) =>
      rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    for (const verb of ['get', 'list', 'watch']) {
      expect(allowed('', 'pods', verb)).toBe(true);
      expect(allowed('inference.networking.k8s.io', 'inferencepools', verb)).toBe(true);
      expect(allowed('llm-d.ai', 'inferenceobjectives', verb)).toBe(true);
      expect(allowed('llm-d.ai', 'inferencemodelrewrites', verb)).toBe(true);
      expect(allowed('inference.networking.x-k8s.io', 'inferenceobjectives', verb)).toBe(true);
    }
    for (const verb of ['get', 'create', 'update']) expect(allowed('coordination.k8s.io', 'leases', verb)).toBe(true);
    expect(allowed('', 'events', 'create')).toBe(true);
    expect(allowed('', 'pods', 'delete')).toBe(false);
    expect(allowed('', 'secrets', 'get')).toBe(false);
    const binding = find(objects, 'RoleBinding', 'llm-d-epp') as Manifest & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: 'llm-d-epp' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'llm-d-epp', namespace: NS }]);
    expect(router.spec.template.spec.serviceAccountName).toBe('llm-d-epp');
  });

  it('makes an InferencePool of the decode pods whose endpoint picker is the router Service', () => {
    expect(pool.apiVersion).toBe('inference.networking.k8s.io/v1');
    const spec = pool.spec as PoolSpec;
    expect(spec.selector.matchLabels).toEqual({ 'llm-d.ai/inference-serving': 'true', 'llm-d.ai/pool': 'llm-d' });
    expectSubset(decode.spec.template.metadata.labels, spec.selector.matchLabels);
    expect(spec.targetPorts).toEqual([{ number: 8000 }]);
    expect(spec.endpointPickerRef).toEqual({ group: '', kind: 'Service', name: service.metadata.name, port: { number: 9002 }, failureMode: 'FailOpen' });
    expect((service.spec as ServiceSpec).ports.find((p) => p.name === 'grpc-ext-proc')?.port).toBe(spec.endpointPickerRef.port.number);
  });

  it('runs vLLM on the decode pods with the model, served name, parallelism, port and one GPU', () => {
    const labels = decode.spec.template.metadata.labels;
    expectSubset(labels, { 'llm-d.ai/role': 'decode', 'llm-d.ai/inference-serving': 'true' });
    expectSubset(labels, decode.spec.selector.matchLabels);
    const vllm = container(decode, 'vllm');
    expect(vllm.image).toBe('vllm/vllm-openai:v0.11.0');
    expect(vllm.command).toEqual(['vllm', 'serve']);
    expect(flagValue(vllm.args, 'model')).toBe('Qwen/Qwen3-0.6B');
    expect(flagValue(vllm.args, 'served-model-name')).toBe('Qwen/Qwen3-0.6B');
    expect(flagValue(vllm.args, 'tensor-parallel-size')).toBe('1');
    expect(flagValue(vllm.args, 'port')).toBe('8000');
    expect(vllm.resources?.limits).toEqual({ 'nvidia.com/gpu': 1 });
    expect(flagValue(vllm.args, 'kv-events-config')).toBeUndefined();
    expect(decode.spec.template.spec.initContainers).toBeUndefined();
    expect(vllm.readinessProbe?.httpGet).toEqual({ path: '/health', port: 8000 });
  });
});

describe('examples/optimized-baseline.yaml', () => {
  const objects = example('optimized-baseline.yaml');

  it('elects a leader among its two routers', () => {
    const router = routerDeployment(objects);
    expect(router.spec.replicas).toBe(2);
    expect(container(router, 'router').args).toContain('--ha-enable-leader-election');
  });

  it('loads the sticky-until-saturated config', () => {
    const { file, config } = loadedConfig(objects);
    expect(file).toBe('optimized-baseline.yaml');
    expect(pluginTypes(config)).toEqual(['approx-prefix-cache-producer', 'inflight-load-producer', 'prefix-cache-affinity-filter', 'token-load-scorer', 'max-score-picker']);
    expect(plugin(config, 'prefix-cache-affinity-filter')?.parameters).toEqual({ affinityThreshold: 0.8, maxTTFTPenaltyMs: 18000, peakPrefillThroughput: 15928 });
  });

  it('runs 8 decode pods of Qwen3-32B with two GPUs each', () => {
    const decode = find<Deployment>(objects, 'Deployment', 'llm-d-decode');
    expect(decode.spec.replicas).toBe(8);
    const vllm = container(decode, 'vllm');
    expect(flagValue(vllm.args, 'tensor-parallel-size')).toBe('2');
    expect(vllm.resources?.requests).toEqual({ 'nvidia.com/gpu': 2 });
    expect(vllm.resources?.limits).toEqual({ 'nvidia.com/gpu': 2 });
    expect(vllm.args).toContain('--max-model-len=32768');
  });

  it('routes the gateway to the pool with an HTTPRoute', () => {
    const route = find(objects, 'HTTPRoute', 'llm-d');
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    const spec = route.spec as { parentRefs: { name: string }[]; rules: { backendRefs: { group: string; kind: string; name: string }[] }[] };
    expect(spec.parentRefs).toEqual([{ name: 'inference-gateway' }]);
    expect(spec.rules[0]?.backendRefs).toEqual([{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'llm-d' }]);
  });
});

describe('examples/precise-prefix-cache.yaml', () => {
  const objects = example('precise-prefix-cache.yaml');
  const service = find(objects, 'Service', 'llm-d-epp');
  const vllm = container(find<Deployment>(objects, 'Deployment', 'llm-d-decode'), 'vllm');

  it('configures the precise producer to bind the ZMQ socket on 5557 and feed the prefix-cache scorer', () => {
    const { config } = loadedConfig(objects);
    const producer = plugin(config, 'precise-prefix-cache-producer');
    expect(producer?.parameters).toMatchObject({
      tokenProcessorConfig: { blockSizeTokens: 64 },
      kvEventsConfig: { zmqEndpoint: 'tcp://*:5557', discoverPods: false, engineType: 'vllm' },
    });
    expect(plugin(config, 'prefix-cache-scorer')?.parameters).toEqual({ prefixMatchInfoProducerName: 'precise-prefix-cache-producer' });
    expect(weights(config, 'default')).toEqual({ 'prefix-cache-scorer': 3, 'queue-scorer': 2, 'kv-cache-utilization-scorer': 2 });
  });

  it('opens the ZMQ port on the router pod and Service', () => {
    expect((service.spec as ServiceSpec).ports).toContainEqual({ name: 'zmq-kv-events', port: 5557, targetPort: 'zmq-kv-events', protocol: 'TCP' });
    expect(container(routerDeployment(objects), 'router').ports).toContainEqual({ name: 'zmq-kv-events', containerPort: 5557, protocol: 'TCP' });
  });

  it('makes vLLM publish KV events to the router Service, hashed reproducibly', () => {
    const json = flagValue(vllm.args, 'kv-events-config');
    expect(json).toBeDefined();
    const kv = JSON.parse(json as string) as Record<string, unknown>;
    expect(kv).toEqual({
      enable_kv_cache_events: true,
      publisher: 'zmq',
      endpoint: `tcp://${service.metadata.name}.${NS}.svc.cluster.local:5557`,
      topic: 'kv@$(POD_IP):8000@Qwen/Qwen3-32B',
    });
    expect(flagValue(vllm.args, 'prefix-caching-hash-algo')).toBe('sha256_cbor');
    expect(flagValue(vllm.args, 'block-size')).toBe('64');
    expect(envValue(vllm, 'PYTHONHASHSEED')).toBe('42');
    // $(POD_IP) in the topic is expanded by the kubelet from a variable defined in the container.
    expect(vllm.env?.find((e) => e.name === 'POD_IP')?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
  });
});

describe('examples/pd-disaggregation.yaml', () => {
  const objects = example('pd-disaggregation.yaml');
  const decode = find<Deployment>(objects, 'Deployment', 'llm-d-decode');
  const prefill = find<Deployment>(objects, 'Deployment', 'llm-d-prefill');

  it('loads the disaggregation config with the prefix-based decider and role filters', () => {
    const { config } = loadedConfig(objects);
    expect(pluginTypes(config)).toEqual(expect.arrayContaining(['disagg-profile-handler', 'prefix-based-pd-decider', 'prefill-filter', 'decode-filter']));
    expect(plugin(config, 'disagg-profile-handler')?.parameters).toEqual({ deciders: { prefill: 'prefix-based-pd-decider' } });
    expect(plugin(config, 'prefix-based-pd-decider')?.parameters).toEqual({ nonCachedTokens: 16 });
    expect(Object.keys(weights(config, 'prefill'))).toContain('prefill-filter');
    expect(Object.keys(weights(config, 'decode'))).toContain('decode-filter');
  });

  it('labels prefill and decode pods by role, both members of the pool', () => {
    const matchLabels = (find(objects, 'InferencePool', 'llm-d').spec as PoolSpec).selector.matchLabels;
    expectSubset(prefill.spec.template.metadata.labels, { ...matchLabels, 'llm-d.ai/role': 'prefill' });
    expectSubset(decode.spec.template.metadata.labels, { ...matchLabels, 'llm-d.ai/role': 'decode' });
    expect(prefill.spec.selector.matchLabels['llm-d.ai/role']).toBe('prefill');
    expect(decode.spec.selector.matchLabels['llm-d.ai/role']).toBe('decode');
  });

  it('puts the sidecar in front of the decode engine on the pool port, and none on prefill pods', () => {
    const sidecar = container(decode, 'pd-sidecar');
    expect(sidecar.image).toBe(`ghcr.io/llm-d-ts/pd-sidecar:${APP_VERSION}`);
    expect(sidecar.restartPolicy).toBe('Always');
    expect(flagValue(sidecar.args, 'port')).toBe('8000');
    expect(flagValue(sidecar.args, 'model-server-port')).toBe('8200');
    expect(flagValue(sidecar.args, 'kv-connector')).toBe('nixlv2');
    expect(flagValue(sidecar.args, 'inference-pool')).toBe(`${NS}/llm-d`);
    expect(flagValue(sidecar.args, 'secure-serving')).toBe('false');
    expect(sidecar.args).not.toContain('--enable-ssrf-protection');
    expect(flagValue(container(decode, 'vllm').args, 'port')).toBe('8200');
    expect(prefill.spec.template.spec.initContainers).toBeUndefined();
    expect(flagValue(container(prefill, 'vllm').args, 'port')).toBe('8000');
  });

  it('sizes GPUs by tensor parallelism and sets up NIXL on both roles', () => {
    expect(container(decode, 'vllm').resources?.limits).toEqual({ 'nvidia.com/gpu': 4 });
    expect(container(prefill, 'vllm').resources?.limits).toEqual({ 'nvidia.com/gpu': 1 });
    expect(decode.spec.replicas).toBe(2);
    expect(prefill.spec.replicas).toBe(8);
    for (const d of [decode, prefill]) {
      const vllm = container(d, 'vllm');
      expect(JSON.parse(flagValue(vllm.args, 'kv-transfer-config') as string)).toEqual({ kv_connector: 'NixlConnector', kv_role: 'kv_both' });
      expect(envValue(vllm, 'VLLM_NIXL_SIDE_CHANNEL_HOST')).toBe('$(POD_IP)');
      expect(flagValue(vllm.args, 'served-model-name')).toBe('openai/gpt-oss-120b');
    }
  });
});

describe('examples/simulated-accelerators.yaml', () => {
  const objects = example('simulated-accelerators.yaml');
  const decode = find<Deployment>(objects, 'Deployment', 'llm-d-decode');
  const prefill = find<Deployment>(objects, 'Deployment', 'llm-d-prefill');

  it('runs the simulator instead of vLLM, on CPUs only', () => {
    for (const d of [decode, prefill]) {
      const sim = container(d, 'simulator');
      expect(sim.image).toBe(`ghcr.io/llm-d-ts/inference-sim:${APP_VERSION}`);
      expect(sim.command).toBeUndefined();
      expect(flagValue(sim.args, 'preset')).toBe('qwen3-0.6b/h100');
      expect(flagValue(sim.args, 'model')).toBe('Qwen/Qwen3-0.6B');
      expect(gpuKeys(sim)).toEqual([]);
      expect(sim.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
    }
    for (const o of all<Deployment>(objects, 'Deployment')) {
      const pod = o.spec.template.spec;
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) expect(gpuKeys(c), `${o.metadata.name}/${c.name}`).toEqual([]);
    }
  });

  it('keeps the P/D shape: three decode pods with sidecars, one prefill pod', () => {
    expect(decode.spec.replicas).toBe(3);
    expect(prefill.spec.replicas).toBe(1);
    expect(container(decode, 'pd-sidecar').args).toContain('--model-server-port=8200');
  });

  it('serves the router standalone proxy on the Service', () => {
    const args = container(routerDeployment(objects), 'router').args;
    expect(flagValue(args, 'proxy-port')).toBe('8000');
    expect(flagValue(args, 'secure-serving')).toBe('false');
    expect((find(objects, 'Service', 'llm-d-epp').spec as ServiceSpec).ports).toContainEqual({ name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP' });
  });
});

describe('examples/simulated-precise-prefix-cache.yaml', () => {
  const objects = example('simulated-precise-prefix-cache.yaml');

  it('deploys the kv-indexer and sends the engines’ KV events to it rather than to the router', () => {
    const indexer = find<Deployment>(objects, 'Deployment', 'llm-d-kv-indexer');
    const service = find(objects, 'Service', 'llm-d-kv-indexer');
    expect((service.spec as ServiceSpec).ports.map((p) => [p.name, p.port])).toEqual([
      ['http', 8080],
      ['grpc', 50051],
      ['zmq-kv-events', 5557],
    ]);
    const args = container(indexer, 'kv-indexer').args;
    expect(flagValue(args, 'zmq-endpoint')).toBe('tcp://*:5557');
    expect(flagValue(args, 'block-size')).toBe('16');
    const sim = container(find<Deployment>(objects, 'Deployment', 'llm-d-decode'), 'simulator');
    const kv = JSON.parse(flagValue(sim.args, 'kv-events-config') as string) as { endpoint: string };
    expect(kv.endpoint).toBe(`tcp://llm-d-kv-indexer.${NS}.svc.cluster.local:5557`);
    expect((find(objects, 'Service', 'llm-d-epp').spec as ServiceSpec).ports.map((p) => p.name)).not.toContain('zmq-kv-events');
  });

  it('points the router’s precise producer at the kv-indexer', () => {
    const producer = plugin(loadedConfig(objects).config, 'precise-prefix-cache-producer');
    expect(producer?.parameters).toEqual({ tokenProcessorConfig: { blockSizeTokens: 16 }, indexerURL: `http://llm-d-kv-indexer.${NS}.svc.cluster.local:8080` });
  });
});

describe('switches', () => {
  it('adds the P/D sidecar only with routing.proxy.enabled', () => {
    const without = find<Deployment>(defaults(), 'Deployment', 'llm-d-decode');
    expect(without.spec.template.spec.initContainers).toBeUndefined();
    const withProxy = find<Deployment>(defaults(['model-servers.routing.proxy.enabled=true']), 'Deployment', 'llm-d-decode');
    expect(withProxy.spec.template.spec.initContainers?.map((c) => c.name)).toEqual(['pd-sidecar']);
  });

  it.each([
    [['router.epp.replicas=1'], false],
    [['router.epp.replicas=3'], true],
    [['router.epp.replicas=3', 'router.epp.leaderElection=false'], false],
    [['router.epp.replicas=1', 'router.epp.leaderElection=true'], true],
  ])('leader election with %j: %s', (set, elected) => {
    const args = container(routerDeployment(defaults(set)), 'router').args;
    expect(args?.includes('--ha-enable-leader-election')).toBe(elected);
  });

  it('loads an inline pluginsCustomConfig instead of the preset', () => {
    const objects = defaults(['router.epp.pluginsCustomConfig.mine\\.yaml=plugins: [{type: random-picker}]']);
    const { file, config } = loadedConfig(objects);
    expect(file).toBe('mine.yaml');
    expect(pluginTypes(config)).toEqual(['random-picker']);
    expect(Object.keys(find(objects, 'ConfigMap', 'llm-d-epp').data ?? {}).sort()).toEqual(['default.yaml', 'mine.yaml']);
  });

  it('passes router.epp.flags through as --key=value', () => {
    const args = container(routerDeployment(defaults(['router.epp.flags.v=4', 'router.epp.flags.secure-serving=false', 'router.epp.flags.refresh-metrics-interval=100ms'])), 'router').args;
    expect(args).toEqual(expect.arrayContaining(['--v=4', '--secure-serving=false', '--refresh-metrics-interval=100ms']));
  });

  it('takes the image registry and tag of every project image from global', () => {
    const objects = defaults(['global.imageRegistry=registry.example.com/llmd', 'global.imageTag=1.2.3', 'model-servers.engine=simulator', 'model-servers.routing.proxy.enabled=true']);
    expect(container(routerDeployment(objects), 'router').image).toBe('registry.example.com/llmd/router:1.2.3');
    const decode = find<Deployment>(objects, 'Deployment', 'llm-d-decode');
    expect(container(decode, 'simulator').image).toBe('registry.example.com/llmd/inference-sim:1.2.3');
    expect(container(decode, 'pd-sidecar').image).toBe('registry.example.com/llmd/pd-sidecar:1.2.3');
  });

  it('names everything after global.poolName', () => {
    const objects = defaults(['global.poolName=qwen']);
    const pool = find(objects, 'InferencePool', 'qwen');
    expect((pool.spec as PoolSpec).endpointPickerRef.name).toBe('qwen-epp');
    expect(flagValue(container(routerDeployment(objects, 'qwen'), 'router').args, 'pool-name')).toBe('qwen');
    expect(find<Deployment>(objects, 'Deployment', 'qwen-decode').spec.template.metadata.labels['llm-d.ai/pool']).toBe('qwen');
  });

  it('uses global.poolMatchLabels on both the pool and the model servers', () => {
    const objects = defaults(['global.poolMatchLabels.app=qwen']);
    expect((find(objects, 'InferencePool', 'llm-d').spec as PoolSpec).selector.matchLabels).toEqual({ app: 'qwen' });
    expectSubset(find<Deployment>(objects, 'Deployment', 'llm-d-decode').spec.template.metadata.labels, { app: 'qwen', 'llm-d.ai/inference-serving': 'true' });
  });

  it('creates no InferencePool with inferencePool.create=false, and InferenceObjectives from the list', () => {
    const objects = defaults(['router.inferencePool.create=false', 'router.inferenceObjectives[0].name=critical', 'router.inferenceObjectives[0].priority=10', 'router.inferenceObjectives[1].name=batch']);
    expect(all(objects, 'InferencePool')).toEqual([]);
    const objectives = all(objects, 'InferenceObjective');
    expect(objectives.map((o) => [o.apiVersion, o.metadata.name, o.spec])).toEqual([
      ['llm-d.ai/v1alpha2', 'critical', { priority: 10, poolRef: { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'llm-d' } }],
      ['llm-d.ai/v1alpha2', 'batch', { poolRef: { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'llm-d' } }],
    ]);
  });

  it('leaves out a disabled component', () => {
    expect(defaults(['router.enabled=false']).filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'router')).toEqual([]);
    expect(all(defaults(['model-servers.enabled=false']), 'Deployment').map((d) => d.metadata.name)).toEqual(['llm-d-epp']);
  });

  it('places the router with nodeSelector, tolerations and affinity', () => {
    const pod = routerDeployment(defaults(['router.epp.nodeSelector.pool=cpu', 'router.epp.tolerations[0].key=dedicated', 'router.epp.tolerations[0].operator=Exists'])).spec.template.spec;
    expect(pod.nodeSelector).toEqual({ pool: 'cpu' });
    expect(pod.tolerations).toEqual([{ key: 'dedicated', operator: 'Exists' }]);
  });

  it('mounts weights from a pvc:// uri and reads a gated model’s token from a Secret', () => {
    const decode = find<Deployment>(defaults(['model-servers.modelArtifacts.uri=pvc://models/qwen/0.6b', 'model-servers.modelArtifacts.authSecretName=hf-token']), 'Deployment', 'llm-d-decode');
    const vllm = container(decode, 'vllm');
    expect(flagValue(vllm.args, 'model')).toBe('/model-cache/qwen/0.6b');
    expect(decode.spec.template.spec.volumes).toContainEqual({ name: 'model-cache', persistentVolumeClaim: { claimName: 'models', readOnly: true } });
    expect(vllm.env?.find((e) => e.name === 'HF_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'hf-token', key: 'HF_TOKEN' });
  });

  it.each([
    ['amd', 'amd.com/gpu'],
    ['intel-gaudi', 'habana.ai/gaudi'],
    ['google-tpu', 'google.com/tpu'],
  ])('asks for accelerator type %s as %s', (type, resource) => {
    const vllm = container(find<Deployment>(defaults([`model-servers.accelerator.type=${type}`, 'model-servers.decode.parallelism.tensor=4']), 'Deployment', 'llm-d-decode'), 'vllm');
    expect(vllm.resources?.limits).toEqual({ [resource]: 4 });
  });

  it('asks for no accelerator with type cpu', () => {
    expect(gpuKeys(container(find<Deployment>(defaults(['model-servers.accelerator.type=cpu']), 'Deployment', 'llm-d-decode'), 'vllm'))).toEqual([]);
  });

  it('stores the router index in Redis when presetOptions.redisAddress is given', () => {
    const { config } = loadedConfig(defaults(['global.preset=precise-prefix-cache', 'router.epp.presetOptions.redisAddress=valkey:6379']));
    expect(plugin(config, 'precise-prefix-cache-producer')?.parameters).toMatchObject({ indexerConfig: { kvBlockIndexConfig: { redisConfig: { address: 'valkey:6379' } } } });
  });

  it('reads the kv-indexer’s Redis URL from a Secret', () => {
    const objects = defaults(['global.kvCache.index=kv-indexer', 'kv-indexer.enabled=true', 'kv-indexer.index.backend=redis', 'kv-indexer.replicas=2', 'kv-indexer.redis.existingSecret.name=redis']);
    const indexer = container(find<Deployment>(objects, 'Deployment', 'llm-d-kv-indexer'), 'kv-indexer');
    expect(flagValue(indexer.args, 'redis-url')).toBe('$(REDIS_URL)');
    expect(indexer.env?.[0]).toEqual({ name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: 'redis', key: 'url' } } });
  });
});

describe('every example with model servers', () => {
  const withServers = EXAMPLES.filter((name) => all(example(name), 'InferencePool').length > 0);

  it('is every example but the operator-only one', () => {
    expect(EXAMPLES.filter((name) => !withServers.includes(name))).toEqual(['operator.yaml']);
  });

  it.each(withServers)('%s: the pool selects every model-server pod and targets the port they serve', (name) => {
    const objects = example(name);
    const pool = find(objects, 'InferencePool', 'llm-d').spec as PoolSpec;
    const servers = all<Deployment>(objects, 'Deployment').filter((d) => d.metadata.labels?.['app.kubernetes.io/name'] === 'model-servers');
    expect(servers.length).toBeGreaterThan(0);
    for (const d of servers) {
      expectSubset(d.spec.template.metadata.labels, pool.selector.matchLabels);
      const pod = d.spec.template.spec;
      const ports = [...pod.containers, ...(pod.initContainers ?? [])].flatMap((c) => c.ports ?? []).map((p) => p.containerPort);
      for (const { number } of pool.targetPorts) expect(ports, d.metadata.name).toContain(number);
    }
  });
});

describe('examples/workload-autoscaling.yaml', () => {
  const objects = example('workload-autoscaling.yaml');
  const autoscaler = find<Deployment>(objects, 'Deployment', 'llm-d-autoscaler');
  const c = container(autoscaler, 'autoscaler');

  it('makes a VariantAutoscaling for the decode Deployment and leaves its replicas to the autoscaler', () => {
    const decode = find<Deployment>(objects, 'Deployment', 'llm-d-decode');
    expect(decode.spec.replicas).toBeUndefined();
    const va = find(objects, 'VariantAutoscaling', 'llm-d-decode');
    expect(va.apiVersion).toBe('llm-d.ai/v1alpha1');
    expect(va.metadata.labels?.['inference.optimization/acceleratorName']).toBe('H100');
    expect(va.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llm-d-decode' },
      modelID: 'Qwen/Qwen3-32B',
      minReplicas: 1,
      maxReplicas: 8,
      variantCost: '20.0',
      accelerator: 'H100',
      acceleratorCount: 2,
    });
    expect(all(objects, 'VariantAutoscaling')).toHaveLength(1);
  });

  it('runs the autoscaler image with its namespace, actuation and probe ports', () => {
    expect(c.image).toBe(`ghcr.io/llm-d-ts/autoscaler:${APP_VERSION}`);
    expect(flagValue(c.args, 'config-namespace')).toBe(NS);
    expect(flagValue(c.args, 'config-map-name')).toBe('wva-variantautoscaling-config');
    expect(flagValue(c.args, 'actuation')).toBe('direct');
    expect(c.args).not.toContain('--leader-elect');
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http-health' });
    expect(c.ports?.map((p) => p.containerPort)).toEqual([8080, 8081]);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
  });

  it('writes its settings into the ConfigMaps the autoscaler reads', () => {
    expect(find(objects, 'ConfigMap', 'wva-variantautoscaling-config').data).toEqual({
      PROMETHEUS_BASE_URL: 'http://prometheus-operated.monitoring.svc:9090',
      PROMETHEUS_TLS_INSECURE_SKIP_VERIFY: 'false',
      GLOBAL_OPT_INTERVAL: '30s',
      WVA_SCALE_TO_ZERO: 'false',
    });
    const saturation = find(objects, 'ConfigMap', 'wva-saturation-scaling-config').data ?? {};
    expect(parse(saturation['default'] as string)).toEqual({ kvCacheThreshold: 0.8, queueLengthThreshold: 5, kvSpareTrigger: 0.1, queueSpareTrigger: 3 });
    expect(all(objects, 'ConfigMap').map((m) => m.metadata.name)).not.toContain('wva-queueing-model-config');
  });

  it('lets it read VariantAutoscalings and set their targets’ replicas everywhere, and hold its lease at home', () => {
    const cluster = find(objects, 'ClusterRole', `${NS}-llm-d-autoscaler`) as Manifest & { rules: RoleRule[] };
    const can = (group: string, resource: string, verb: string) => cluster.rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    expect(can('llm-d.ai', 'variantautoscalings', 'list')).toBe(true);
    expect(can('llm-d.ai', 'variantautoscalings/status', 'patch')).toBe(true);
    expect(can('apps', 'deployments/scale', 'patch')).toBe(true);
    expect(can('', 'configmaps', 'get')).toBe(true);
    expect(can('apps', 'deployments', 'delete')).toBe(false);
    expect(can('coordination.k8s.io', 'leases', 'update')).toBe(false);
    const role = find(objects, 'Role', 'llm-d-autoscaler') as Manifest & { rules: RoleRule[] };
    expect(role.rules).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }]);
  });

  it('elects a leader with two replicas and takes a bearer token from a Secret', () => {
    const two = container(find<Deployment>(example('workload-autoscaling.yaml', ['autoscaler.replicas=2', 'autoscaler.prometheus.bearerTokenSecret.name=prom']), 'Deployment', 'llm-d-autoscaler'), 'autoscaler');
    expect(two.args).toEqual(expect.arrayContaining(['--leader-elect', '--leader-election-id=llm-d-autoscaler.llm-d.ai']));
    expect(two.env?.find((e) => e.name === 'PROMETHEUS_BEARER_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'prom', key: 'token' });
  });
});

describe('examples/operator.yaml', () => {
  const objects = example('operator.yaml');
  const c = container(find<Deployment>(objects, 'Deployment', 'llm-d-operator'), 'operator');

  it('deploys only the operator, its RBAC and its metrics Service', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      ['ClusterRole/inference-llm-d-operator', 'ClusterRoleBinding/inference-llm-d-operator', 'Deployment/llm-d-operator', 'Service/llm-d-operator', 'ServiceAccount/llm-d-operator'].sort(),
    );
  });

  it('runs two operators with leader election, deploying this chart’s images', () => {
    expect(find<Deployment>(objects, 'Deployment', 'llm-d-operator').spec.replicas).toBe(2);
    expect(c.image).toBe(`ghcr.io/llm-d-ts/operator:${APP_VERSION}`);
    expect(c.args).toEqual(
      expect.arrayContaining([
        '--leader-elect',
        '--leader-election-id=llm-d-operator.llm-d.ai',
        `--leader-election-namespace=${NS}`,
        '--metrics-port=8080',
        `--router-image=ghcr.io/llm-d-ts/router:${APP_VERSION}`,
        `--pd-sidecar-image=ghcr.io/llm-d-ts/pd-sidecar:${APP_VERSION}`,
        '--model-server-image=vllm/vllm-openai:v0.11.0',
      ]),
    );
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' });
  });

  it('may manage ModelServices and every child kind, and holds the rights it grants routers', () => {
    const rules = (find(objects, 'ClusterRole', `${NS}-llm-d-operator`) as Manifest & { rules: RoleRule[] }).rules;
    const can = (group: string, resource: string, verb: string) => rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    expect(can('llm-d.ai', 'modelservices', 'watch')).toBe(true);
    expect(can('llm-d.ai', 'modelservices/status', 'patch')).toBe(true);
    expect(can('llm-d.ai', 'modelservices/finalizers', 'update')).toBe(true);
    for (const [group, resource] of [['apps', 'deployments'], ['', 'services'], ['rbac.authorization.k8s.io', 'roles'], ['inference.networking.k8s.io', 'inferencepools'], ['gateway.networking.k8s.io', 'httproutes'], ['llm-d.ai', 'variantautoscalings']] as const) {
      expect(can(group, resource, 'create'), `${group}/${resource}`).toBe(true);
      expect(can(group, resource, 'delete'), `${group}/${resource}`).toBe(true);
    }
    expect(can('', 'pods', 'watch')).toBe(true);
    expect(can('', 'secrets', 'get')).toBe(false);
  });
});
