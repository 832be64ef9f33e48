// Kubernetes discovery against a real kube-apiserver + etcd (libs/testing-k8s). No scheduler or
// kubelet runs: the test writes pod status itself, as a kubelet would.
import { silentLogger } from '@llmd/observability';
import { startTcpRelay, waitUntil } from '@llmd/testing';
import { deleteObject, startControlPlane, type ControlPlane } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryDatastore } from '../datastore/in-memory.js';
import { KubeClient } from '@llmd/k8s';
import { KubernetesPoolDiscovery } from './pool-discovery.js';
import { ROUTER_CRDS, createNamespace, deletePod, podManifest, poolV1, setPodStatus, testClient } from './test-support/cluster.js';

// Generous: a loaded 2-core machine runs the API server, etcd and several test files at once.
const WAIT = 6000; // × 5 ms ticks = 30 s
const fast = { initialMs: 50, maxMs: 500 };

let plane: ControlPlane;
beforeAll(async () => {
  plane = await startControlPlane({ crds: ROUTER_CRDS });
}, 180_000);
afterAll(async () => {
  await plane?.stop();
});

function hostPorts(ds: InMemoryDatastore): string[] {
  return ds
    .endpoints()
    .map((e) => e.metadata.hostPort)
    .sort();
}

async function started(namespace: string, poolName: string, group = 'inference.networking.k8s.io', client?: KubeClient) {
  const c = client ?? testClient(plane);
  const datastore = new InMemoryDatastore();
  const discovery = new KubernetesPoolDiscovery({ client: c, pool: { name: poolName, namespace, group }, logger: silentLogger(), backoff: fast });
  await discovery.start(datastore);
  return {
    datastore,
    discovery,
    async [Symbol.asyncDispose]() {
      await discovery.stop();
      c.close();
    },
  };
}

describe('InferencePool v1 discovery', () => {
  it('adds pods as they become Ready and drops them when NotReady, terminating or deleted', async () => {
    const ns = 'disc-lifecycle';
    await createNamespace(plane, ns);
    await plane.apply(poolV1(ns, 'pool', { app: 'vllm' }, [8000]));
    await plane.apply([
      podManifest(ns, 'a', { app: 'vllm', 'llm-d.ai/role': 'decode' }),
      podManifest(ns, 'b', { app: 'vllm', 'llm-d.ai/role': 'prefill' }, { finalizers: ['test.llm-d.ai/hold'] }),
      podManifest(ns, 'outsider', { app: 'other' }),
    ]);
    await using d = await started(ns, 'pool');
    await waitUntil(() => d.discovery.synced, 'discovery synced', WAIT);
    expect(d.datastore.synced).toBe(true);
    // Pods exist but none is Ready yet.
    expect(d.datastore.endpoints()).toEqual([]);

    await setPodStatus(plane, ns, 'a', '10.1.0.1', true);
    await waitUntil(() => d.datastore.size === 1, 'pod a as an endpoint', WAIT);
    const a = d.datastore.get(`${ns}/a-rank-0`);
    expect(a?.metadata.hostPort).toBe('10.1.0.1:8000');
    expect(a?.metadata.labels['llm-d.ai/role']).toBe('decode');

    await setPodStatus(plane, ns, 'b', '10.1.0.2', false);
    await setPodStatus(plane, ns, 'outsider', '10.1.0.9', true);
    await setPodStatus(plane, ns, 'b', '10.1.0.2', true);
    await waitUntil(() => d.datastore.size === 2, 'pod b as an endpoint', WAIT);
    expect(hostPorts(d.datastore)).toEqual(['10.1.0.1:8000', '10.1.0.2:8000']);

    // NotReady: out.
    await setPodStatus(plane, ns, 'a', '10.1.0.1', false);
    await waitUntil(() => !d.datastore.get(`${ns}/a-rank-0`), 'pod a gone when NotReady', WAIT);
    // Ready again: back.
    await setPodStatus(plane, ns, 'a', '10.1.0.1', true);
    await waitUntil(() => d.datastore.get(`${ns}/a-rank-0`) !== undefined, 'pod a back when Ready', WAIT);

    // Terminating (the finalizer keeps it, still Ready): out.
    await deletePod(plane, ns, 'b');
    await waitUntil(() => !d.datastore.get(`${ns}/b-rank-0`), 'terminating pod b gone', WAIT);
    // Deleted: out.
    await deletePod(plane, ns, 'a');
    await waitUntil(() => d.datastore.size === 0, 'deleted pod a gone', WAIT);
    expect(d.datastore.get('10.1.0.9:8000')).toBeUndefined();
  });

  it('gives one endpoint per target port and follows port and selector changes', async () => {
    const ns = 'disc-changes';
    await createNamespace(plane, ns);
    await plane.apply(poolV1(ns, 'pool', { app: 'vllm' }, [8000]));
    await plane.apply([podManifest(ns, 'v1', { app: 'vllm' }), podManifest(ns, 'v2', { app: 'vllm' }), podManifest(ns, 's1', { app: 'sglang' })]);
    await setPodStatus(plane, ns, 'v1', '10.2.0.1', true);
    await setPodStatus(plane, ns, 'v2', '10.2.0.2', true);
    await setPodStatus(plane, ns, 's1', '10.2.0.3', true);
    await using d = await started(ns, 'pool');
    await waitUntil(() => d.datastore.size === 2, 'two endpoints', WAIT);

    // A second target port doubles the endpoints.
    await plane.apply(poolV1(ns, 'pool', { app: 'vllm' }, [8000, 8001]));
    await waitUntil(() => d.datastore.size === 4, 'four endpoints', WAIT);
    expect(hostPorts(d.datastore)).toEqual(['10.2.0.1:8000', '10.2.0.1:8001', '10.2.0.2:8000', '10.2.0.2:8001']);
    expect(d.datastore.get(`${ns}/v2-rank-1`)?.metadata.port).toBe(8001);

    // Another selector: the old pods leave, the new ones join.
    await plane.apply(poolV1(ns, 'pool', { app: 'sglang' }, [8000]));
    await waitUntil(() => hostPorts(d.datastore).join() === '10.2.0.3:8000', 'the sglang pod alone', WAIT);
  });

  it('empties the datastore and stops being synced when the pool is deleted, and recovers when it returns', async () => {
    const ns = 'disc-pool-gone';
    await createNamespace(plane, ns);
    await using d = await started(ns, 'pool');
    // No pool yet: nothing served, not synced.
    await plane.apply(podManifest(ns, 'p', { app: 'vllm' }));
    await setPodStatus(plane, ns, 'p', '10.3.0.1', true);
    expect(d.discovery.synced).toBe(false);
    await plane.apply(poolV1(ns, 'pool', { app: 'vllm' }, [8000]));
    await waitUntil(() => d.discovery.synced && d.datastore.size === 1, 'the pool found', WAIT);

    await deleteObject(plane.kubeConfig, { apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool', metadata: { name: 'pool', namespace: ns } });
    await waitUntil(() => !d.discovery.synced && d.datastore.size === 0, 'the endpoints dropped with the pool', WAIT);

    await plane.apply(poolV1(ns, 'pool', { app: 'vllm' }, [9000]));
    await waitUntil(() => d.discovery.synced && hostPorts(d.datastore).join() === '10.3.0.1:9000', 'the pool back', WAIT);
  });

  it('ignores pools of other names and pods of other namespaces', async () => {
    const ns = 'disc-scope';
    await createNamespace(plane, ns);
    await createNamespace(plane, `${ns}-other`);
    await plane.apply(poolV1(ns, 'pool', { app: 'vllm' }, [8000]));
    await plane.apply(poolV1(ns, 'another', { app: 'x' }, [7000]));
    await plane.apply([podManifest(ns, 'mine', { app: 'vllm' }), podManifest(`${ns}-other`, 'theirs', { app: 'vllm' })]);
    await setPodStatus(plane, ns, 'mine', '10.4.0.1', true);
    await setPodStatus(plane, `${ns}-other`, 'theirs', '10.4.0.2', true);
    await using d = await started(ns, 'pool');
    await waitUntil(() => d.datastore.size === 1, 'one endpoint', WAIT);
    expect(d.discovery.poolView?.targetPorts).toEqual([8000]);
    expect(hostPorts(d.datastore)).toEqual(['10.4.0.1:8000']);
  });
});

describe('InferencePool v1alpha2 discovery (--pool-group inference.networking.x-k8s.io)', () => {
  it('reads the map selector and targetPortNumber', async () => {
    const ns = 'disc-alpha';
    await createNamespace(plane, ns);
    await plane.apply({
      apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
      kind: 'InferencePool',
      metadata: { name: 'pool', namespace: ns },
      spec: { selector: { app: 'vllm' }, targetPortNumber: 8200, extensionRef: { name: 'pool-epp' } },
    });
    await plane.apply(podManifest(ns, 'p', { app: 'vllm' }));
    await setPodStatus(plane, ns, 'p', '10.5.0.1', true);
    await using d = await started(ns, 'pool', 'inference.networking.x-k8s.io');
    await waitUntil(() => d.datastore.size === 1, 'the pod as an endpoint', WAIT);
    expect(hostPorts(d.datastore)).toEqual(['10.5.0.1:8200']);
  });
});

describe('reconnection', () => {
  it('lists again after its connections to the API server were cut, and sees what changed meanwhile', async () => {
    const ns = 'disc-outage';
    await createNamespace(plane, ns);
    await plane.apply(poolV1(ns, 'pool', { app: 'vllm' }, [8000]));
    await plane.apply([podManifest(ns, 'stays', { app: 'vllm' }), podManifest(ns, 'leaves', { app: 'vllm' }), podManifest(ns, 'joins', { app: 'vllm' })]);
    await setPodStatus(plane, ns, 'stays', '10.6.0.1', true);
    await setPodStatus(plane, ns, 'leaves', '10.6.0.2', true);
    const url = new URL(plane.server);
    await using relay = await startTcpRelay(url.hostname, Number(url.port));
    await using d = await started(ns, 'pool', 'inference.networking.k8s.io', testClient(plane, relay.port));
    await waitUntil(() => d.datastore.size === 2, 'two endpoints', WAIT);
    const listsBefore = d.discovery.podLists;

    await relay.cut();
    // While the router cannot reach the API server: one pod leaves, another becomes Ready.
    await deletePod(plane, ns, 'leaves');
    await setPodStatus(plane, ns, 'joins', '10.6.0.3', true);
    // The router keeps serving what it knew.
    expect(d.datastore.size).toBe(2);
    await relay.restore();

    await waitUntil(() => hostPorts(d.datastore).join() === '10.6.0.1:8000,10.6.0.3:8000', 'the changes made during the outage', WAIT);
    expect(d.discovery.podLists).toBeGreaterThan(listsBefore);
    // And the new watch works: a later change arrives too.
    await setPodStatus(plane, ns, 'stays', '10.6.0.1', false);
    await waitUntil(() => hostPorts(d.datastore).join() === '10.6.0.3:8000', 'a change after the outage', WAIT);
  });
});

describe('start-up errors', () => {
  it('says when the router may not read InferencePools', async () => {
    const kc = plane.userKubeConfig('no-rights');
    const client = new KubeClient(kc);
    const discovery = new KubernetesPoolDiscovery({ client, pool: { name: 'pool', namespace: 'default', group: 'inference.networking.k8s.io' }, logger: silentLogger() });
    await expect(discovery.start(new InMemoryDatastore())).rejects.toThrow(/403.*service account needs get\/list\/watch on inferencepools\.inference\.networking\.k8s\.io/);
    client.close();
  });
});
