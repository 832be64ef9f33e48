import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, applyManifests, createObject, getObject, kubeFetch, kubeRequest, patchStatus, poll, startControlPlane, type ControlPlane } from './index.js';

const WIDGETS_CRD = fileURLToPath(new URL('./test-support/crds/widgets.yaml', import.meta.url));

function widget(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'testing.llm-d.ai/v1alpha1', kind: 'Widget', metadata: { name, namespace: 'default' }, spec };
}

// One control plane for the whole file: starting one takes seconds to a minute.
let plane: ControlPlane;
beforeAll(async () => {
  plane = await startControlPlane();
});
afterAll(async () => {
  await plane?.stop();
});

describe('startControlPlane', () => {
  it('serves Kubernetes v1.36.3', async () => {
    const version = await plane.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.36.3');
    expect(version.major).toBe('1');
    expect(version.minor).toBe('36');
    expect(plane.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('writes a kubeconfig file that client-node can use', async () => {
    const fromFile = new KubeConfig();
    fromFile.loadFromFile(plane.kubeconfigPath);
    expect(fromFile.getCurrentCluster()?.server).toBe(plane.server);
    const core = fromFile.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'greeting' }, data: { hello: 'world' } } });
    const read = await core.readNamespacedConfigMap({ namespace: 'default', name: 'greeting' });
    expect(read.data).toEqual({ hello: 'world' });
  });

  it('authenticates the admin by client certificate as a member of system:masters', async () => {
    const review = (await kubeRequest(plane.kubeConfig, {
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    })) as { status: { userInfo: { username: string; groups: string[] } } };
    expect(review.status.userInfo.username).toBe('admin');
    expect(review.status.userInfo.groups).toContain('system:masters');
  });

  it('enforces RBAC for other users', async () => {
    const viewer = plane.userKubeConfig('viewer', ['llmd-test-viewers']);
    const core = viewer.makeApiClient(CoreV1Api);
    await expect(core.listNamespacedConfigMap({ namespace: 'default' })).rejects.toMatchObject({ code: 403 });
    // No controller manager runs, so aggregated roles such as `view` stay empty: grant explicitly.
    await plane.apply(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: configmap-reader, namespace: default }
rules: [{ apiGroups: [''], resources: [configmaps], verbs: [get, list] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: viewers-read-configmaps, namespace: default }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: llmd-test-viewers }]
`);
    // The authorizer sees new bindings through its informers, a moment later.
    await poll(async () => (await kubeFetch(viewer, { method: 'GET', path: '/api/v1/namespaces/default/configmaps' })).status === 200, {
      timeoutMs: 30_000,
      what: 'the role binding to take effect',
    });
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    expect(list.items.map((c) => c.metadata?.name)).toContain('greeting');
    await expect(core.deleteNamespacedConfigMap({ namespace: 'default', name: 'greeting' })).rejects.toMatchObject({ code: 403 });
  });
});

describe('installCrds', () => {
  it('installs only the CRDs of a file and waits until their kinds are served', async () => {
    await plane.installCrds(WIDGETS_CRD);
    const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
    const created = (await custom.createNamespacedCustomObject({
      group: 'testing.llm-d.ai',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'widgets',
      body: widget('first', { size: 'small', replicas: 2 }),
    })) as { metadata: { uid?: string }; spec: unknown };
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.spec).toEqual({ size: 'small', replicas: 2 });
    const notACrd = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ignored-by-install-crds', namespace: 'default' } };
    expect(await getObject(plane.kubeConfig, notACrd)).toBeUndefined();
  });

  it('rejects a file without any CRD', async () => {
    const manifestOnly = fileURLToPath(new URL('./test-support/manifests/configmap.yaml', import.meta.url));
    await expect(plane.installCrds(manifestOnly)).rejects.toThrow(/no CustomResourceDefinition found/);
  });

  it('lets the server reject an object that breaks the CRD schema, naming the field', async () => {
    const created = createObject(plane.kubeConfig, widget('bad', { size: 'small', replicas: 'many' }));
    await expect(created).rejects.toBeInstanceOf(KubeApiError);
    await expect(created).rejects.toMatchObject({ status: 422, reason: 'Invalid', message: expect.stringMatching(/spec\.replicas.*must be of type integer/) });
    await created.catch((err: KubeApiError) => expect(err.causes.map((c) => c.field)).toEqual(['spec.replicas']));

    // Server-side apply checks types while merging, before validation, and answers differently.
    await expect(plane.apply(widget('bad', { size: 'small', replicas: 'many' }))).rejects.toThrow(/spec\.replicas: expected numeric/);

    const missing = plane.apply(widget('bad', { replicas: 1 }));
    await expect(missing).rejects.toMatchObject({ status: 422, reason: 'Invalid', message: expect.stringMatching(/spec\.size: Required value/) });
    const outOfEnum = plane.apply(widget('bad', { size: 'medium' }));
    await expect(outOfEnum).rejects.toMatchObject({ status: 422, message: expect.stringMatching(/spec\.size: Unsupported value: "medium"/) });
    expect(await getObject(plane.kubeConfig, widget('bad', {}))).toBeUndefined();
  });
});

describe('apply and patchStatus', () => {
  it('applies a bundle with a namespace, a CRD and objects of its kind in one call', async () => {
    const bundle = `
apiVersion: testing.llm-d.ai/v1alpha1
kind: Gadget
metadata: { name: g1, namespace: gadgets }
spec: { colour: blue }
---
apiVersion: v1
kind: Namespace
metadata: { name: gadgets }
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: gadgets.testing.llm-d.ai }
spec:
  group: testing.llm-d.ai
  scope: Namespaced
  names: { plural: gadgets, singular: gadget, kind: Gadget }
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { colour: { type: string } } }
`;
    const stored = await applyManifests(plane.kubeConfig, bundle);
    expect(stored.map((o) => o.kind)).toEqual(['Gadget', 'Namespace', 'CustomResourceDefinition']);
    expect(stored[0]?.['spec']).toEqual({ colour: 'blue' });
    // Applying again is a no-op that still succeeds.
    const again = await applyManifests(plane.kubeConfig, bundle);
    expect(again[0]?.metadata['resourceVersion']).toBe(stored[0]?.metadata['resourceVersion']);
  });

  it('writes the status subresource, which a plain apply leaves alone', async () => {
    const [stored] = await plane.apply(widget('with-status', { size: 'large' }));
    expect(stored?.['status']).toBeUndefined();

    const merged = await patchStatus(plane.kubeConfig, widget('with-status', {}), { phase: 'Ready', readyReplicas: 3 });
    expect(merged['status']).toEqual({ phase: 'Ready', readyReplicas: 3 });

    // A status in the main resource is dropped by the server, not written.
    const [reapplied] = await plane.apply({ ...widget('with-status', { size: 'large' }), status: { phase: 'Broken' } });
    expect(reapplied?.['status']).toEqual({ phase: 'Ready', readyReplicas: 3 });

    const applied = await plane.patchStatus(widget('with-status', {}), { phase: 'Degraded' }, { strategy: 'apply', fieldManager: 'status-writer' });
    expect(applied['status']).toMatchObject({ phase: 'Degraded' });
    const read = await getObject(plane.kubeConfig, widget('with-status', {}));
    expect((read?.['status'] as { phase?: string }).phase).toBe('Degraded');
  });

  it('reports a missing kind with a hint about CRDs', async () => {
    await expect(plane.apply({ apiVersion: 'testing.llm-d.ai/v1alpha1', kind: 'Unknown', metadata: { name: 'x' } })).rejects.toThrow(/does not serve kind Unknown.*CRD/);
  });

  it('reads manifests from files', async () => {
    const text = await readFile(fileURLToPath(new URL('./test-support/manifests/configmap.yaml', import.meta.url)), 'utf8');
    const [configMap] = await plane.apply(text);
    expect(configMap?.['data']).toEqual({ source: 'file' });
  });
});
