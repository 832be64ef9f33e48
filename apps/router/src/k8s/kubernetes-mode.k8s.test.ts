// The router's Kubernetes wiring in process: readiness = synced and leading; the
// haPopulateNonLeaderDatastore gate; objectives read through the same wiring.
import { silentLogger } from '@llmd/observability';
import { waitUntil } from '@llmd/testing';
import { startControlPlane, type ControlPlane } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryDatastore } from '../datastore/in-memory.js';
import { InMemoryPolicyDatastore } from '../datastore/policies.js';
import { startKubernetesMode, type KubernetesMode } from './kubernetes-mode.js';
import { ROUTER_CRDS, createNamespace, podManifest, poolV1, setPodStatus, testClient } from './test-support/cluster.js';

const WAIT = 6000;
const ns = 'k8s-mode';
const timings = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };

let plane: ControlPlane;
beforeAll(async () => {
  plane = await startControlPlane({ crds: ROUTER_CRDS });
  await createNamespace(plane, ns);
  await plane.apply(poolV1(ns, 'pool', { app: 'vllm' }, [8000]));
  await plane.apply(podManifest(ns, 'p', { app: 'vllm' }));
  await setPodStatus(plane, ns, 'p', '10.9.0.1', true);
  await plane.apply({ apiVersion: 'llm-d.ai/v1alpha2', kind: 'InferenceObjective', metadata: { name: 'gold', namespace: ns }, spec: { priority: 4, poolRef: { name: 'pool' } } });
}, 180_000);
afterAll(async () => {
  await plane?.stop();
});

function options(leaderElection: boolean, podName: string) {
  return { poolName: 'pool', poolNamespace: ns, poolGroup: 'inference.networking.k8s.io', kubeconfig: null, kubeContext: null, inCluster: null, leaderElection, podName, ...timings };
}

async function start(leaderElection: boolean, podName: string, populateNonLeaderDatastore: boolean) {
  const datastore = new InMemoryDatastore();
  const policies = new InMemoryPolicyDatastore();
  const mode = await startKubernetesMode(options(leaderElection, podName), { datastore, logger: silentLogger(), populateNonLeaderDatastore, policies, client: testClient(plane) });
  return { datastore, policies, mode };
}

describe('startKubernetesMode', () => {
  it('is ready once synced when leader election is off, and reads objectives into the policy store', async () => {
    const { datastore, policies, mode } = await start(false, 'solo', true);
    try {
      await waitUntil(() => mode.ready() && datastore.size === 1 && policies.objectivePriority('gold') === 4, 'synced, the pod, and the objective', WAIT);
      expect(mode.elector).toBeNull();
      expect(mode.policyStore).toBe(policies);
    } finally {
      await mode.close();
    }
  });

  it('keeps a standby\'s datastore empty with haPopulateNonLeaderDatastore off, and fills it when it comes to lead', async () => {
    const first = await start(true, 'first', false);
    let second: Awaited<ReturnType<typeof start>> | null = null;
    try {
      await waitUntil(() => first.mode.ready() && first.datastore.size === 1, 'the first replica leading and synced', WAIT);
      second = await start(true, 'second', false);
      const standby: KubernetesMode = second.mode;
      await waitUntil(() => standby.elector?.observedHolder.startsWith('first_') ?? false, 'the standby to see the leader', WAIT);
      expect(standby.ready()).toBe(false);
      expect(second.datastore.size).toBe(0);
      expect(standby.discovery.synced).toBe(false);

      await first.mode.close(); // releases the lease
      await waitUntil(() => standby.ready() && (second?.datastore.size ?? 0) === 1, 'the second replica leading with a filled datastore', WAIT);
      await waitUntil(() => second?.policies.objectivePriority('gold') === 4, 'the objective read once leading', WAIT);
    } finally {
      await first.mode.close();
      await second?.mode.close();
    }
  });
});
