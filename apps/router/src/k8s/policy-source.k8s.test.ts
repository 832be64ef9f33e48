// InferenceObjectives and InferenceModelRewrites read from a real kube-apiserver + etcd.
import { silentLogger } from '@llmd/observability';
import { waitUntil } from '@llmd/testing';
import { deleteObject, startControlPlane, type ControlPlane } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryPolicyDatastore } from '../datastore/policies.js';
import { KubernetesPolicySource } from './policy-source.js';
import { ROUTER_CRDS, createNamespace, testClient } from './test-support/cluster.js';

const WAIT = 6000;
const ns = 'policies';
const pool = { name: 'pool', namespace: ns, group: 'inference.networking.k8s.io' };

let plane: ControlPlane;
beforeAll(async () => {
  plane = await startControlPlane({ crds: ROUTER_CRDS });
  await createNamespace(plane, ns);
}, 180_000);
afterAll(async () => {
  await plane?.stop();
});

const objective = (apiVersion: string, name: string, priority: number | undefined, poolName = 'pool') => ({
  apiVersion,
  kind: 'InferenceObjective',
  metadata: { name, namespace: ns },
  spec: { ...(priority === undefined ? {} : { priority }), poolRef: { name: poolName } },
});

const rewrite = (name: string, rules: unknown[], poolName = 'pool') => ({
  apiVersion: 'llm-d.ai/v1alpha2',
  kind: 'InferenceModelRewrite',
  metadata: { name, namespace: ns },
  spec: { poolRef: { name: poolName }, rules },
});

describe('objectives and rewrites from CRDs', () => {
  it('reads the pool\'s objectives and rewrites, follows changes and deletions, and ignores other pools', async () => {
    await plane.apply([
      objective('llm-d.ai/v1alpha2', 'critical', 10),
      objective('llm-d.ai/v1alpha2', 'no-priority', undefined),
      objective('inference.networking.x-k8s.io/v1alpha2', 'legacy-group', -1),
      objective('llm-d.ai/v1alpha2', 'elsewhere', 7, 'another-pool'),
      rewrite('canary', [{ matches: [{ model: { value: 'llama' } }], targets: [{ modelRewrite: 'llama-v2', weight: 1 }] }]),
      rewrite('other-pool-rewrite', [{ targets: [{ modelRewrite: 'x' }] }], 'another-pool'),
    ]);
    const client = testClient(plane);
    const store = new InMemoryPolicyDatastore();
    const source = new KubernetesPolicySource({ client, pool, logger: silentLogger(), backoff: { initialMs: 50, maxMs: 500 } });
    await source.start(store);
    try {
      expect(source.watching.sort()).toEqual([
        'InferenceModelRewrite inference.networking.x-k8s.io',
        'InferenceModelRewrite llm-d.ai',
        'InferenceObjective inference.networking.x-k8s.io',
        'InferenceObjective llm-d.ai',
      ]);
      await waitUntil(() => source.synced && store.objectives().length === 3 && store.rewrites().length === 1, 'objectives and rewrites read', WAIT);
      expect(store.objectivePriority('critical')).toBe(10);
      expect(store.objectivePriority('no-priority')).toBe(0);
      expect(store.objectivePriority('legacy-group')).toBe(-1);
      expect(store.objectivePriority('elsewhere')).toBeUndefined();
      expect(store.rewriteModel('llama', () => 0.5)).toEqual({ model: 'llama-v2', rewriteName: 'canary' });
      expect(store.rewriteModel('mistral', () => 0.5)).toBeNull();

      // Changes arrive through the watch.
      await plane.apply(objective('llm-d.ai/v1alpha2', 'critical', 20));
      await waitUntil(() => store.objectivePriority('critical') === 20, 'the new priority', WAIT);
      await plane.apply(
        rewrite('canary', [{ matches: [{ model: { value: 'llama' } }], targets: [{ modelRewrite: 'llama-v2', weight: 1 }, { modelRewrite: 'llama-v3', weight: 3 }] }]),
      );
      await waitUntil(() => store.rewriteModel('llama', () => 0.99)?.model === 'llama-v3', 'the second target', WAIT);
      expect(store.rewriteModel('llama', () => 0.1)?.model).toBe('llama-v2');

      // An objective moved to another pool leaves; deletions leave.
      await plane.apply(objective('llm-d.ai/v1alpha2', 'no-priority', undefined, 'another-pool'));
      await deleteObject(plane.kubeConfig, { apiVersion: 'llm-d.ai/v1alpha2', kind: 'InferenceModelRewrite', metadata: { name: 'canary', namespace: ns } });
      await deleteObject(plane.kubeConfig, { apiVersion: 'inference.networking.x-k8s.io/v1alpha2', kind: 'InferenceObjective', metadata: { name: 'legacy-group', namespace: ns } });
      await waitUntil(
        () => store.objectivePriority('no-priority') === undefined && store.objectivePriority('legacy-group') === undefined && store.rewrites().length === 0,
        'the removals',
        WAIT,
      );
      expect(store.objectivePriority('critical')).toBe(20);
    } finally {
      await source.stop();
      client.close();
    }
  });

  it('prefers the llm-d.ai object when both groups hold one of the same name, and falls back when it goes', async () => {
    await plane.apply([objective('llm-d.ai/v1alpha2', 'both', 3), objective('inference.networking.x-k8s.io/v1alpha2', 'both', 1)]);
    const client = testClient(plane);
    const store = new InMemoryPolicyDatastore();
    const source = new KubernetesPolicySource({ client, pool, logger: silentLogger(), backoff: { initialMs: 50, maxMs: 500 } });
    await source.start(store);
    try {
      await waitUntil(() => source.synced && store.objectivePriority('both') === 3, 'the llm-d.ai objective', WAIT);
      await deleteObject(plane.kubeConfig, { apiVersion: 'llm-d.ai/v1alpha2', kind: 'InferenceObjective', metadata: { name: 'both', namespace: ns } });
      await waitUntil(() => store.objectivePriority('both') === 1, 'the x-k8s.io objective', WAIT);
    } finally {
      await source.stop();
      client.close();
    }
  });
});
