// The operator against a real API server: it creates every child (compared with the golden files),
// follows edits, restores deleted and drifted children, reports status and failures, and removes
// everything when the ModelService goes.
import { silentLogger } from '@llmd/observability';
import { deleteObject, getObject, KubeApiError, kubeRequest, startControlPlane, type ControlPlane, type KubeObject } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperator, type RunningOperator } from './app.js';
import { parseOperatorOptions } from './options.js';
import { conditionOf, eventually, idsOf, listChildren, TEST_CRDS } from './test-support/cluster.js';
import { GOLDEN_PRESETS, GOLDEN_RENDER_CONFIG, goldenChildren, goldenInput, normalizeServerObject, projectOnto } from './test-support/golden.js';

const NS = 'llm-d';
const msRef = (name: string) => ({ apiVersion: 'llm-d.ai/v1alpha1', kind: 'ModelService', metadata: { name, namespace: NS } });
const ref = (apiVersion: string, kind: string, name: string) => ({ apiVersion, kind, metadata: { name, namespace: NS } });

let plane: ControlPlane;
let operator: RunningOperator;

async function mergePatch(object: { apiVersion: string; kind: string; metadata: { name: string } }, path: string, patch: unknown): Promise<KubeObject> {
  return (await kubeRequest(plane.kubeConfig, { method: 'PATCH', path, body: patch, contentType: 'application/merge-patch+json' })) as KubeObject;
}

const getMs = (name: string) => getObject(plane.kubeConfig, msRef(name));

/** Patches a Deployment's status as the deployment controller and kubelets would once its pods run. */
async function markAvailable(name: string): Promise<void> {
  const d = (await getObject(plane.kubeConfig, ref('apps/v1', 'Deployment', name))) as KubeObject & { spec: { replicas?: number } };
  const n = d.spec.replicas ?? 1;
  await plane.patchStatus(ref('apps/v1', 'Deployment', name), {
    observedGeneration: d.metadata.generation,
    replicas: n,
    updatedReplicas: n,
    readyReplicas: n,
    availableReplicas: n,
    conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok', lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
  });
}

beforeAll(async () => {
  plane = await startControlPlane({ crds: TEST_CRDS });
  await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const command = parseOperatorOptions(
    [
      '--kubeconfig', plane.kubeconfigPath,
      '--metrics-port', '0',
      '--host', '127.0.0.1',
      '--router-image', GOLDEN_RENDER_CONFIG.routerImage,
      '--pd-sidecar-image', GOLDEN_RENDER_CONFIG.pdSidecarImage,
      '--model-server-image', GOLDEN_RENDER_CONFIG.modelServerImage,
    ],
    {},
  );
  if (command.kind !== 'run') throw new Error('expected options');
  operator = await startOperator(command.options, { logger: silentLogger(), kubeConfig: plane.kubeConfig, backoff: { baseMs: 100, maxMs: 2000 } });
}, 240_000);

afterAll(async () => {
  await operator?.close();
  await plane?.stop();
});

describe('a ModelService per preset creates every child, as the golden files say', () => {
  it.each(GOLDEN_PRESETS)('%s', async (preset) => {
    const input = goldenInput(preset);
    const golden = goldenChildren(preset);
    await plane.apply(input);
    let children: KubeObject[] = [];
    await eventually(
      async () => {
        children = await listChildren(plane, NS, input.metadata.name);
        return JSON.stringify(idsOf(children)) === JSON.stringify(idsOf(golden));
      },
      () => `children ${JSON.stringify(idsOf(golden))}; have ${JSON.stringify(idsOf(children))}`,
    );
    for (const expected of golden) {
      const actual = children.find((c) => c.kind === expected.kind && c.metadata.name === expected.metadata.name) as KubeObject;
      expect(projectOnto(expected, normalizeServerObject(actual)), `${expected.kind}/${expected.metadata.name}`).toEqual(expected);
    }
    const ms = await getMs(input.metadata.name);
    expect(ms?.metadata.finalizers).toContain('llm-d.ai/operator-cleanup');
  });
});

describe('status', () => {
  it('reports Progressing until the Deployments are available, then Ready with per-role counts', async () => {
    await eventually(async () => conditionOf(await getMs('pd'), 'Progressing')?.status === 'True', 'pd to be Progressing');
    const before = await getMs('pd');
    expect(conditionOf(before, 'Ready')).toMatchObject({ status: 'False', reason: 'DeploymentsNotReady' });
    expect(conditionOf(before, 'Degraded')).toMatchObject({ status: 'False' });

    for (const d of ['pd-decode', 'pd-prefill', 'pd-epp']) await markAvailable(d);
    await eventually(async () => conditionOf(await getMs('pd'), 'Ready')?.status === 'True', 'pd to be Ready');
    const ms = (await getMs('pd')) as KubeObject & { status: Record<string, unknown> };
    expect(ms.status.observedGeneration).toBe(ms.metadata.generation);
    expect(ms.status.roles).toEqual({
      decode: { replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 },
      prefill: { replicas: 4, readyReplicas: 4, availableReplicas: 4, updatedReplicas: 4 },
    });
    expect(ms.status.router).toEqual({ replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 });
    expect(ms.status.inferencePool).toBe('pd');
    expect(conditionOf(ms, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
  });
});

describe('editing a ModelService', () => {
  const msPath = `/apis/llm-d.ai/v1alpha1/namespaces/${NS}/modelservices/baseline`;

  it('updates the children: replicas, router config, routing and autoscaling', async () => {
    await mergePatch(msRef('baseline'), msPath, { spec: { decode: { replicas: 3 }, router: { endpointPickerConfig: 'plugins: [{type: queue-scorer}]\n' }, routing: { gateway: { parentRef: { name: 'gw' } }, standalone: null } } });
    await eventually(async () => {
      const d = (await getObject(plane.kubeConfig, ref('apps/v1', 'Deployment', 'baseline-decode'))) as KubeObject & { spec: { replicas: number } };
      const cm = (await getObject(plane.kubeConfig, ref('v1', 'ConfigMap', 'baseline-epp'))) as KubeObject & { data: Record<string, string> };
      const route = await getObject(plane.kubeConfig, ref('gateway.networking.k8s.io/v1', 'HTTPRoute', 'baseline'));
      return d.spec.replicas === 3 && cm.data['config.yaml'] === 'plugins: [{type: queue-scorer}]\n' && route !== undefined;
    }, 'baseline children to follow the edit');
    const router = (await getObject(plane.kubeConfig, ref('apps/v1', 'Deployment', 'baseline-epp'))) as KubeObject & { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    expect(router.spec.template.spec.containers[0]?.args.some((a) => a.startsWith('--proxy-port'))).toBe(false);

    // Back to standalone and on with autoscaling: the HTTPRoute goes, VariantAutoscaling comes.
    await mergePatch(msRef('baseline'), msPath, { spec: { routing: { gateway: null, standalone: { port: 8000 } }, autoscaling: { enabled: true, maxReplicas: 6 } } });
    await eventually(async () => {
      const ids = idsOf(await listChildren(plane, NS, 'baseline'));
      return !ids.includes('HTTPRoute/baseline') && ids.includes('VariantAutoscaling/baseline-decode');
    }, 'the HTTPRoute to be pruned and a VariantAutoscaling created');
    const va = (await getObject(plane.kubeConfig, ref('llm-d.ai/v1alpha1', 'VariantAutoscaling', 'baseline-decode'))) as KubeObject & { spec: Record<string, unknown> };
    expect(va.spec).toMatchObject({ scaleTargetRef: { kind: 'Deployment', name: 'baseline-decode' }, modelID: 'Qwen/Qwen3-0.6B', maxReplicas: 6 });

    await mergePatch(msRef('baseline'), msPath, { spec: { autoscaling: { enabled: false } } });
    await eventually(async () => !idsOf(await listChildren(plane, NS, 'baseline')).includes('VariantAutoscaling/baseline-decode'), 'the VariantAutoscaling to be pruned');
  });

  it('rejects an invalid ModelService at the API server with a message naming the field', async () => {
    const bad = [
      [{ model: { name: 'm', uri: 's3://bucket/m' }, decode: {} }, 'spec.model.uri'],
      [{ model: { name: 'm', uri: 'hf://m' }, decode: {}, prefill: {} }, 'spec.prefill'],
      [{ model: { name: 'm', uri: 'hf://m' }, decode: { replicas: -1 } }, 'spec.decode.replicas'],
      [{ model: { name: 'm', uri: 'hf://m' } }, 'spec.decode'],
    ] as const;
    for (const [spec, field] of bad) {
      const err = await plane.apply({ ...msRef('invalid'), spec: spec as unknown as Record<string, unknown> }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).status).toBe(422);
      expect((err as Error).message).toContain(field);
    }
    expect(await getMs('invalid')).toBeUndefined();
  });
});

describe('children are kept in shape', () => {
  it('brings back a deleted child', async () => {
    const before = await getObject(plane.kubeConfig, ref('v1', 'Service', 'baseline-decode'));
    await deleteObject(plane.kubeConfig, ref('v1', 'Service', 'baseline-decode'));
    await deleteObject(plane.kubeConfig, ref('apps/v1', 'Deployment', 'baseline-epp'));
    await eventually(async () => {
      const svc = await getObject(plane.kubeConfig, ref('v1', 'Service', 'baseline-decode'));
      const router = await getObject(plane.kubeConfig, ref('apps/v1', 'Deployment', 'baseline-epp'));
      return svc !== undefined && svc.metadata.uid !== before?.metadata.uid && router !== undefined;
    }, 'the deleted children to come back');
  });

  it('corrects drift of fields it owns', async () => {
    await mergePatch(ref('v1', 'ConfigMap', 'baseline-epp'), `/api/v1/namespaces/${NS}/configmaps/baseline-epp`, { data: { 'config.yaml': 'edited by hand' } });
    await mergePatch(ref('apps/v1', 'Deployment', 'baseline-decode'), `/apis/apps/v1/namespaces/${NS}/deployments/baseline-decode`, { metadata: { labels: { 'llm-d.ai/role': 'tampered' } }, spec: { replicas: 9 } });
    await eventually(async () => {
      const cm = (await getObject(plane.kubeConfig, ref('v1', 'ConfigMap', 'baseline-epp'))) as KubeObject & { data: Record<string, string> };
      const d = (await getObject(plane.kubeConfig, ref('apps/v1', 'Deployment', 'baseline-decode'))) as KubeObject & { spec: { replicas: number }; metadata: { labels: Record<string, string> } };
      return cm.data['config.yaml'] === 'plugins: [{type: queue-scorer}]\n' && d.spec.replicas === 3 && d.metadata.labels['llm-d.ai/role'] === 'decode';
    }, 'the drifted fields to be restored');
  });
});

describe('failures', () => {
  it('reports a child the API server refuses as Degraded, with a Warning event, until the spec is fixed', async () => {
    // Requests above limits pass the ModelService schema but not Deployment validation.
    await plane.apply({ ...msRef('broken'), spec: { model: { name: 'm', uri: 'hf://m' }, decode: { resources: { limits: { cpu: '1' }, requests: { cpu: '2' } } } } });
    await eventually(async () => conditionOf(await getMs('broken'), 'Degraded')?.status === 'True', 'broken to be Degraded');
    const degraded = conditionOf(await getMs('broken'), 'Degraded');
    expect(degraded?.reason).toBe('ApplyFailed');
    expect(degraded?.message).toContain('Deployment broken-decode');
    await eventually(async () => {
      const events = (await kubeRequest(plane.kubeConfig, { method: 'GET', path: `/api/v1/namespaces/${NS}/events` })) as { items: { reason: string; type: string; involvedObject: { name: string }; message: string }[] };
      return events.items.some((e) => e.involvedObject.name === 'broken' && e.reason === 'ApplyFailed' && e.type === 'Warning' && e.message.includes('broken-decode'));
    }, 'a Warning event about broken');
    // The other children were applied all the same.
    expect(idsOf(await listChildren(plane, NS, 'broken'))).toContain('InferencePool/broken');

    await plane.apply({ ...msRef('broken'), spec: { model: { name: 'm', uri: 'hf://m' }, decode: { resources: { limits: { cpu: '2' }, requests: { cpu: '1' } } } } });
    await eventually(async () => conditionOf(await getMs('broken'), 'Degraded')?.status === 'False', 'broken to recover');
    expect(idsOf(await listChildren(plane, NS, 'broken'))).toContain('Deployment/broken-decode');
  });
});

describe('health and metrics', () => {
  it('serves /healthz, /readyz and Prometheus metrics of reconciles and the queue', async () => {
    const base = `http://127.0.0.1:${operator.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^controller_runtime_reconcile_total\{controller="modelservice",result="success"\} [1-9]\d*$/m);
    expect(text).toMatch(/^controller_runtime_reconcile_errors_total\{controller="modelservice"\} [1-9]\d*$/m);
    expect(text).toMatch(/^workqueue_depth\{name="modelservice"\} \d+$/m);
  });
});

describe('deleting a ModelService', () => {
  it.each(['baseline', 'scheduling', 'precise', 'pd', 'broken'])('removes every child of %s, then the ModelService', async (name) => {
    expect((await listChildren(plane, NS, name)).length).toBeGreaterThan(0);
    await deleteObject(plane.kubeConfig, msRef(name));
    await eventually(async () => (await listChildren(plane, NS, name)).length === 0 && (await getMs(name)) === undefined, `${name} and its children to be gone`);
  });
});
