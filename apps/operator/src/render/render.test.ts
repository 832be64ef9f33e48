import { ModelServiceSchema, type ModelService, type ModelServiceInput } from '@llmd/k8s-api';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GOLDEN_PRESETS, GOLDEN_RENDER_CONFIG, goldenChildren, goldenModelService, UPDATE_GOLDEN, writeGoldenChildren } from '../test-support/golden.js';
import { childSelector, kvEventsMode, renderChildren, type KubeObject } from './index.js';

const config = GOLDEN_RENDER_CONFIG;

function modelService(spec: Record<string, unknown>, name = 'qwen'): ModelService {
  const input = { apiVersion: 'llm-d.ai/v1alpha1', kind: 'ModelService', metadata: { name, namespace: 'ns', uid: 'u-1' }, spec } as ModelServiceInput;
  return ModelServiceSchema.parse(input);
}
const base = { model: { name: 'Qwen/Qwen3-0.6B', uri: 'hf://Qwen/Qwen3-0.6B' }, decode: { replicas: 2 } };
const find = (objects: KubeObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o as KubeObject & { spec: any; data?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any
};
const engine = (d: { spec: any }) => d.spec.template.spec.containers.find((c: { name: string }) => c.name === 'vllm'); // eslint-disable-line @typescript-eslint/no-explicit-any

describe('golden files', () => {
  it.each(GOLDEN_PRESETS)('%s renders its golden children', (preset) => {
    const objects = renderChildren(goldenModelService(preset), config);
    if (UPDATE_GOLDEN) writeGoldenChildren(preset, objects);
    expect(JSON.parse(JSON.stringify(objects))).toEqual(goldenChildren(preset));
  });
});

describe('renderChildren', () => {
  it('renders the router, the decode role and the pool for the default preset, all owned and labelled', () => {
    const objects = renderChildren(modelService(base), config);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/qwen-epp',
      'Role/qwen-epp',
      'RoleBinding/qwen-epp',
      'ConfigMap/qwen-epp',
      'Deployment/qwen-epp',
      'Service/qwen-epp',
      'Deployment/qwen-decode',
      'Service/qwen-decode',
      'InferencePool/qwen',
    ]);
    for (const o of objects) {
      expect(o.metadata.namespace).toBe('ns');
      expect(o.metadata.ownerReferences).toEqual([{ apiVersion: 'llm-d.ai/v1alpha1', kind: 'ModelService', name: 'qwen', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
      const selector = Object.fromEntries(childSelector('qwen').split(',').map((kv) => kv.split('=')));
      expect(o.metadata.labels).toMatchObject(selector);
    }
  });

  it('labels model-server pods with role, model and serving labels, and the pool selects them', () => {
    const objects = renderChildren(modelService(base), config);
    const labels = find(objects, 'Deployment', 'qwen-decode').spec.template.metadata.labels;
    expect(labels).toMatchObject({ 'llm-d.ai/role': 'decode', 'llm-d.ai/model': 'qwen', 'llm-d.ai/inferenceServing': 'true', 'llm-d.ai/inference-serving': 'true' });
    const pool = find(objects, 'InferencePool', 'qwen').spec;
    for (const [k, v] of Object.entries(pool.selector.matchLabels)) expect(labels[k]).toBe(v);
    expect(pool.targetPorts).toEqual([{ number: 8000 }]);
    expect(pool.endpointPickerRef).toEqual({ name: 'qwen-epp', port: { number: 9002 }, failureMode: 'FailClose' });
  });

  it('gives the engine the model, served name, port and parallelism, then the user args', () => {
    const ms = modelService({ ...base, model: { ...base.model, servedName: 'qwen' }, decode: { parallelism: { tensor: 2, data: 2 }, args: ['--max-model-len', '4096'] } });
    expect(engine(find(renderChildren(ms, config), 'Deployment', 'qwen-decode')).args).toEqual([
      '--model', 'Qwen/Qwen3-0.6B', '--served-model-name', 'qwen', '--port', '8000', '--tensor-parallel-size', '2', '--data-parallel-size', '2', '--max-model-len', '4096',
    ]);
  });

  it.each([
    ['hf://org/m', 'org/m', { emptyDir: {} }],
    ['pvc://claim/some/dir/', '/model-cache/some/dir', { persistentVolumeClaim: { claimName: 'claim', readOnly: true } }],
    ['pvc://claim', '/model-cache', { persistentVolumeClaim: { claimName: 'claim', readOnly: true } }],
    ['oci://reg.example.com/m:1', '/model-cache', { image: { reference: 'reg.example.com/m:1', pullPolicy: 'IfNotPresent' } }],
  ])('loads %s as --model %s from the right volume', (uri, modelArg, volume) => {
    const d = find(renderChildren(modelService({ ...base, model: { name: 'm', uri } }), config), 'Deployment', 'qwen-decode');
    expect(engine(d).args.slice(0, 2)).toEqual(['--model', modelArg]);
    expect(d.spec.template.spec.volumes).toEqual([{ name: 'model-storage', ...volume }]);
  });

  it('on the precise path publishes KV events to the router with the pod topic, sha256_cbor hashing and the hash seed', () => {
    const ms = modelService({ ...base, preset: 'precise-prefix-cache-routing', prefixCache: { blockSize: 32, hashSeed: '7' } });
    const objects = renderChildren(ms, config);
    const args: string[] = engine(find(objects, 'Deployment', 'qwen-decode')).args;
    const kvConfig = JSON.parse(args[args.indexOf('--kv-events-config') + 1] as string);
    expect(kvConfig).toEqual({ enable_kv_cache_events: true, publisher: 'zmq', endpoint: 'tcp://qwen-epp.ns.svc.cluster.local:5557', topic: 'kv@$(POD_IP):8000@Qwen/Qwen3-0.6B' });
    expect(args[args.indexOf('--prefix-caching-hash-algo') + 1]).toBe('sha256_cbor');
    expect(args[args.indexOf('--block-size') + 1]).toBe('32');
    expect(engine(find(objects, 'Deployment', 'qwen-decode')).env).toEqual(
      expect.arrayContaining([{ name: 'PYTHONHASHSEED', value: '7' }, { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]),
    );
    const routerConfig = parse(find(objects, 'ConfigMap', 'qwen-epp').data?.['config.yaml'] as string);
    expect(routerConfig.plugins[0]).toEqual({
      type: 'precise-prefix-cache-producer',
      parameters: { tokenProcessorConfig: { blockSizeTokens: 32, hashSeed: '7' }, kvEventsConfig: { zmqEndpoint: 'tcp://*:5557' } },
    });
    expect(find(objects, 'Service', 'qwen-epp').spec.ports).toContainEqual({ name: 'kv-events', port: 5557, targetPort: 5557, protocol: 'TCP' });
  });

  it('on the precise path with several routers, each router connects to every engine instead', () => {
    const ms = modelService({ ...base, preset: 'precise-prefix-cache-routing', router: { replicas: 2 } });
    expect(kvEventsMode(ms)).toBe('discovery');
    const objects = renderChildren(ms, config);
    const args: string[] = engine(find(objects, 'Deployment', 'qwen-decode')).args;
    expect(JSON.parse(args[args.indexOf('--kv-events-config') + 1] as string).endpoint).toBe('tcp://*:5557');
    expect(parse(find(objects, 'ConfigMap', 'qwen-epp').data?.['config.yaml'] as string).plugins[0].parameters.kvEventsConfig).toEqual({ discoverPods: true, socketPort: 5557 });
    expect(find(objects, 'Deployment', 'qwen-epp').spec.template.spec.containers[0].args).toContain('--ha-enable-leader-election');
  });

  it('on the P/D path adds the sidecar to decode pods only, NIXL to both roles, and P/D scheduling to the router', () => {
    const ms = modelService({ ...base, preset: 'pd-disaggregation', prefill: { replicas: 3 } });
    const objects = renderChildren(ms, config);
    const decode = find(objects, 'Deployment', 'qwen-decode');
    const prefill = find(objects, 'Deployment', 'qwen-prefill');
    expect(decode.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['routing-proxy', 'vllm']);
    expect(decode.spec.template.spec.containers[0]).toMatchObject({ image: config.pdSidecarImage, args: ['--port=8000', '--model-server-port=8200', '--kv-connector=nixlv2', '--secure-serving=false'] });
    expect(prefill.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['vllm']);
    expect(prefill.spec.replicas).toBe(3);
    for (const [d, port] of [[decode, '8200'], [prefill, '8000']] as const) {
      const args: string[] = engine(d).args;
      expect(args[args.indexOf('--port') + 1]).toBe(port);
      expect(JSON.parse(args[args.indexOf('--kv-transfer-config') + 1] as string)).toEqual({ kv_connector: 'NixlConnector', kv_role: 'kv_both' });
    }
    expect(prefill.spec.template.metadata.labels['llm-d.ai/role']).toBe('prefill');
    const routerConfig = parse(find(objects, 'ConfigMap', 'qwen-epp').data?.['config.yaml'] as string);
    expect(routerConfig.schedulingProfiles.map((p: { name: string }) => p.name)).toEqual(['prefill', 'decode']);
  });

  it('requests the accelerator (tensor × data by default) without overriding explicit resources', () => {
    const ms = modelService({ ...base, decode: { parallelism: { tensor: 2, data: 2 }, accelerator: { type: 'H100' }, resources: { limits: { cpu: '8' } } } });
    expect(engine(find(renderChildren(ms, config), 'Deployment', 'qwen-decode')).resources).toEqual({ limits: { cpu: '8', 'nvidia.com/gpu': '4' }, requests: { 'nvidia.com/gpu': '4' } });
    const explicit = modelService({ ...base, decode: { accelerator: { type: 'MI300', resource: 'amd.com/gpu', count: 8 }, resources: { limits: { 'amd.com/gpu': 2 } } } });
    expect(engine(find(renderChildren(explicit, config), 'Deployment', 'qwen-decode')).resources).toEqual({ limits: { 'amd.com/gpu': '2' }, requests: { 'amd.com/gpu': '2' } });
  });

  it('lets user env override generated variables by name', () => {
    const ms = modelService({ ...base, preset: 'precise-prefix-cache-routing', decode: { env: [{ name: 'PYTHONHASHSEED', value: '9' }, { name: 'EXTRA', value: 'x' }] } });
    const env = engine(find(renderChildren(ms, config), 'Deployment', 'qwen-decode')).env as { name: string; value?: string }[];
    expect(env.filter((e) => e.name === 'PYTHONHASHSEED')).toEqual([{ name: 'PYTHONHASHSEED', value: '9' }]);
    expect(env.at(-1)).toEqual({ name: 'EXTRA', value: 'x' });
  });

  it('with autoscaling leaves replicas to the autoscaler and creates a VariantAutoscaling per role', () => {
    const ms = modelService({ ...base, preset: 'pd-disaggregation', prefill: { accelerator: { type: 'A100-80GB' } }, autoscaling: { enabled: true, maxReplicas: 5 } });
    const objects = renderChildren(ms, config);
    expect(find(objects, 'Deployment', 'qwen-decode').spec).not.toHaveProperty('replicas');
    expect(find(objects, 'VariantAutoscaling', 'qwen-decode').spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'qwen-decode' },
      modelID: 'Qwen/Qwen3-0.6B',
      variantCost: '10.0',
      minReplicas: 1,
      maxReplicas: 5,
    });
    const prefill = find(objects, 'VariantAutoscaling', 'qwen-prefill');
    expect(prefill.spec).toMatchObject({ accelerator: 'A100-80GB', acceleratorCount: 1 });
    expect(prefill.metadata.labels).toMatchObject({ 'inference.optimization/acceleratorName': 'A100-80GB' });
  });

  it('renders no VariantAutoscaling when autoscaling is off, and no HTTPRoute when standalone', () => {
    const objects = renderChildren(modelService({ ...base, autoscaling: { enabled: false } }), config);
    expect(objects.filter((o) => o.kind === 'VariantAutoscaling' || o.kind === 'HTTPRoute')).toEqual([]);
    expect(find(objects, 'Deployment', 'qwen-decode').spec.replicas).toBe(2);
    expect(find(objects, 'Deployment', 'qwen-epp').spec.template.spec.containers[0].args).toContain('--proxy-port=8000');
  });

  it('routes through a Gateway with an HTTPRoute whose backend is the pool, and then runs no proxy', () => {
    const ms = modelService({ ...base, routing: { gateway: { parentRef: { name: 'gw', namespace: 'infra' } } } });
    const objects = renderChildren(ms, config);
    expect(find(objects, 'HTTPRoute', 'qwen').spec).toEqual({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw', namespace: 'infra' }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'qwen' }] }],
    });
    expect(find(objects, 'Deployment', 'qwen-epp').spec.template.spec.containers[0].args.some((a: string) => a.startsWith('--proxy-port'))).toBe(false);
  });

  it('passes the user\'s EndpointPickerConfig through unchanged, and rolls the router when it changes', () => {
    const a = renderChildren(modelService({ ...base, router: { endpointPickerConfig: 'plugins: [{type: queue-scorer}]\n' } }), config);
    const b = renderChildren(modelService({ ...base, router: { endpointPickerConfig: 'plugins: [{type: kv-cache-utilization-scorer}]\n' } }), config);
    expect(find(a, 'ConfigMap', 'qwen-epp').data).toEqual({ 'config.yaml': 'plugins: [{type: queue-scorer}]\n' });
    const hash = (objs: KubeObject[]) => find(objs, 'Deployment', 'qwen-epp').spec.template.metadata.annotations['llm-d.ai/config-hash'];
    expect(hash(a)).not.toBe(hash(b));
  });

  it('gives the router the pool flags and the RBAC it needs', () => {
    const objects = renderChildren(modelService(base), config);
    expect(find(objects, 'Deployment', 'qwen-epp').spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(['--pool-name=qwen', '--pool-namespace=ns', '--config-file=/config/config.yaml']),
    );
    const rules = (find(objects, 'Role', 'qwen-epp') as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }).rules;
    const allows = (group: string, resource: string, verb: string) => rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    for (const verb of ['get', 'list', 'watch']) {
      expect(allows('', 'pods', verb)).toBe(true);
      expect(allows('inference.networking.k8s.io', 'inferencepools', verb)).toBe(true);
      expect(allows('inference.networking.x-k8s.io', 'inferenceobjectives', verb)).toBe(true);
      expect(allows('inference.networking.x-k8s.io', 'inferencemodelrewrites', verb)).toBe(true);
    }
    for (const verb of ['get', 'create', 'update']) expect(allows('coordination.k8s.io', 'leases', verb)).toBe(true);
    expect(allows('', 'events', 'create')).toBe(true);
  });
});
