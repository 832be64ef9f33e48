// The informer and the typed requests against a real API server: list, watch, a relist after the
// connection was lost, and a kind that is not served.
import { silentLogger } from '@llmd/observability';
import { startTcpRelay, waitUntil } from '@llmd/testing';
import { startControlPlane, type ControlPlane } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient, ResourceType } from './client.js';
import { Informer, type InformerChange, type KubeObject } from './informer.js';
import { collectionListWatch, resourceListWatch } from './list-watch.js';
import { testClient } from './test-support/cluster.js';

const CONFIG_MAP: ResourceType = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
const DEPLOYMENT: ResourceType = { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true };
const NOT_SERVED: ResourceType = { apiVersion: 'example.llm-d.ai/v1', kind: 'Missing', plural: 'missings', namespaced: true };

type ConfigMap = KubeObject & { kind?: string; data?: Record<string, string> };

let plane: ControlPlane;
let client: KubeClient;
beforeAll(async () => {
  plane = await startControlPlane();
  client = testClient(plane);
}, 180_000);
afterAll(async () => {
  client?.close();
  await plane?.stop();
});

async function namespace(name: string): Promise<string> {
  await client.create({ apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

const configMap = (ns: string, name: string, data: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data });

describe('typed requests', () => {
  it('creates, applies, patches, lists, reads and deletes', async () => {
    const ns = await namespace('typed');
    await client.create(CONFIG_MAP, configMap(ns, 'a', { k: '1' }));
    await client.apply(CONFIG_MAP, configMap(ns, 'b', { k: '2' }), 'k8s-test');
    await client.mergePatch(CONFIG_MAP, ns, 'a', { metadata: { labels: { team: 'x' } } });
    expect(await client.read<ConfigMap>(CONFIG_MAP, ns, 'a')).toMatchObject({ metadata: { labels: { team: 'x' } }, data: { k: '1' } });
    const labelled = await client.list<ConfigMap>(CONFIG_MAP, ns, { labelSelector: 'team=x' });
    expect(labelled.items.map((o) => [o.kind, o.metadata?.name])).toEqual([['ConfigMap', 'a']]);
    expect(labelled.resourceVersion).not.toBe('');
    expect(await client.delete(CONFIG_MAP, ns, 'a')).toBe(true);
    expect(await client.delete(CONFIG_MAP, ns, 'a')).toBe(false);
    expect(await client.read(CONFIG_MAP, ns, 'a')).toBeUndefined();
  });

  it('writes a status subresource by server-side apply', async () => {
    const ns = await namespace('status');
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: ns },
      spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    };
    await client.apply(DEPLOYMENT, deployment, 'k8s-test');
    await client.apply(DEPLOYMENT, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: ns }, status: { observedGeneration: 1, replicas: 0 } }, 'k8s-test', { subresource: 'status' });
    expect(await client.read<{ status?: { observedGeneration?: number } }>(DEPLOYMENT, ns, 'd')).toMatchObject({ status: { observedGeneration: 1 } });
  });
});

describe('Informer', () => {
  it('lists, follows the watch, and relists what changed while the connection was down', async () => {
    const ns = await namespace('informed');
    await client.create(CONFIG_MAP, configMap(ns, 'before'));
    const url = new URL(plane.server);
    await using relay = await startTcpRelay(url.hostname, Number(url.port));
    const viaRelay = testClient(plane, relay.port);
    const changes: string[] = [];
    const informer = new Informer<ConfigMap>({
      what: 'configmaps',
      listWatch: collectionListWatch<ConfigMap>(viaRelay, `/api/v1/namespaces/${ns}/configmaps`),
      logger: silentLogger(),
      onChange: (c: InformerChange<ConfigMap>) => changes.push(`${c.type}:${c.object.metadata?.name}`),
      backoff: { initialMs: 50, maxMs: 500 },
    });
    informer.start();
    await informer.whenSynced();
    expect(changes).toContain('added:before');

    await client.create(CONFIG_MAP, configMap(ns, 'watched'));
    await waitUntil(() => changes.includes('added:watched'), 'the watch to report the new ConfigMap');
    await client.mergePatch(CONFIG_MAP, ns, 'watched', { data: { k: 'v' } });
    await waitUntil(() => changes.includes('modified:watched'), 'the watch to report the change');

    await relay.cut();
    const listsBefore = informer.lists;
    await client.delete(CONFIG_MAP, ns, 'before');
    await client.create(CONFIG_MAP, configMap(ns, 'meanwhile'));
    await relay.restore();
    await waitUntil(() => informer.lists > listsBefore && changes.includes('added:meanwhile') && changes.includes('deleted:before'), 'a relist to catch up', 4000);
    expect([...informer.store.keys()].sort()).toEqual([`${ns}/meanwhile`, `${ns}/watched`]);

    await informer.stop();
    viaRelay.close();
  });

  it('counts a kind that is not served as synced and empty, and says so', async () => {
    const informer = new Informer<KubeObject>({ what: 'missings', listWatch: resourceListWatch(client, NOT_SERVED, 'default'), logger: silentLogger(), absentRetryMs: 60_000 });
    informer.start();
    await informer.whenSynced();
    expect(informer.synced).toBe(true);
    expect(informer.absent).toBe(true);
    expect(informer.store.size).toBe(0);
    await informer.stop();
  });

  it('gives listed objects of built-in kinds their kind', async () => {
    const ns = await namespace('kinds');
    await client.create(CONFIG_MAP, configMap(ns, 'one'));
    const objects: KubeObject[] = [];
    const informer = new Informer<KubeObject & { kind?: string }>({
      what: 'configmaps',
      listWatch: resourceListWatch(client, CONFIG_MAP, ns),
      logger: silentLogger(),
      onChange: (c) => objects.push(c.object),
    });
    informer.start();
    await informer.whenSynced();
    expect(objects).toMatchObject([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' } }]);
    await informer.stop();
  });
});
