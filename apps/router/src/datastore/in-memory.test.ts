import { EMPTY_METRICS, type EndpointMetrics } from '@llmd/scheduling';
import type { Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { InMemoryDatastore, createEndpointMetadata } from './in-memory.js';
import type { DatastoreEvent } from './types.js';

const metrics = (waitingQueueSize: number): EndpointMetrics => ({ ...EMPTY_METRICS, waitingQueueSize, updateTime: 1 });

function recorded(ds: InMemoryDatastore): string[] {
  const events: string[] = [];
  ds.subscribe((e: DatastoreEvent) => events.push(`${e.type} ${e.endpoint.metadata.id}`));
  return events;
}

describe('createEndpointMetadata', () => {
  it.each([
    [{ name: 'a', address: '10.0.0.1', port: 8000 }, 'default/a', '10.0.0.1:8000'],
    [{ name: 'b', namespace: 'ns', address: 'fd00::1', port: 80 }, 'ns/b', '[fd00::1]:80'],
    [{ name: 'c', address: 'localhost', port: 1 }, 'default/c', 'localhost:1'],
  ])('%j → id %s, hostPort %s', (init, id, hostPort) => {
    const m = createEndpointMetadata(init);
    expect([m.id, m.hostPort]).toEqual([id, hostPort]);
    expect(Object.isFrozen(m) && Object.isFrozen(m.labels)).toBe(true);
  });
});

describe('InMemoryDatastore', () => {
  it('adds endpoints, finds them by id or ip:port, and emits added', () => {
    const ds = new InMemoryDatastore();
    const events = recorded(ds);
    ds.upsert(createEndpointMetadata({ name: 'a', address: '10.0.0.1', port: 8000 }));
    ds.upsert(createEndpointMetadata({ name: 'b', namespace: 'x', address: '::1', port: 9000 }));
    expect(events).toEqual(['added default/a', 'added x/b']);
    expect(ds.endpoints().map((e) => e.metadata.id)).toEqual(['default/a', 'x/b']);
    expect(ds.get('default/a')?.metadata.port).toBe(8000);
    expect(ds.get('10.0.0.1:8000')?.metadata.id).toBe('default/a');
    expect(ds.get('[::1]:9000')?.metadata.id).toBe('x/b');
    expect(ds.get('10.0.0.1:8001')).toBeUndefined();
    expect(ds.get('unknown')).toBeUndefined();
    expect(ds.size).toBe(2);
  });

  it('returns the same frozen array until the set or a metadata changes', () => {
    const ds = new InMemoryDatastore();
    const a = createEndpointMetadata({ name: 'a', address: '10.0.0.1', port: 8000 });
    ds.upsert(a);
    const first = ds.endpoints();
    expect(Object.isFrozen(first)).toBe(true);
    expect(ds.endpoints()).toBe(first);
    ds.updateMetrics('default/a', metrics(3));
    expect(ds.endpoints()).toBe(first);
    expect(first[0]?.metrics.waitingQueueSize).toBe(3);
    ds.upsert(createEndpointMetadata({ name: 'a', address: '10.0.0.1', port: 8000 }));
    expect(ds.endpoints()).toBe(first);
    ds.upsert(createEndpointMetadata({ name: 'a', address: '10.0.0.1', port: 8000, labels: { role: 'decode' } }));
    expect(ds.endpoints()).not.toBe(first);
  });

  it('ignores an upsert with unchanged metadata (no event)', () => {
    const ds = new InMemoryDatastore();
    ds.upsert(createEndpointMetadata({ name: 'a', address: '10.0.0.1', port: 8000, labels: { k: 'v' } }));
    const events = recorded(ds);
    ds.upsert(createEndpointMetadata({ name: 'a', address: '10.0.0.1', port: 8000, labels: { k: 'v' } }));
    expect(events).toEqual([]);
  });

  it.each([
    ['new labels', { labels: { role: 'prefill' } }, 7, '10.0.0.1:8000'],
    ['a new port', { port: 8001 }, 0, '10.0.0.1:8001'],
    ['a new address', { address: '10.0.0.2' }, 0, '10.0.0.2:8000'],
  ])('on %s emits updated, keeps metrics only for the same address and re-indexes ip:port', (_what, change, waiting, hostPort) => {
    const ds = new InMemoryDatastore();
    const base = { name: 'a', address: '10.0.0.1', port: 8000 };
    ds.upsert(createEndpointMetadata(base));
    ds.updateMetrics('default/a', metrics(7));
    const events = recorded(ds);
    ds.upsert(createEndpointMetadata({ ...base, ...change }));
    expect(events).toEqual(['updated default/a']);
    expect(ds.get('default/a')?.metrics.waitingQueueSize).toBe(waiting);
    expect(ds.get(hostPort)?.metadata.id).toBe('default/a');
    if (hostPort !== '10.0.0.1:8000') expect(ds.get('10.0.0.1:8000')).toBeUndefined();
  });

  it('removes endpoints with an event; unknown ids and metrics for them are ignored', () => {
    const ds = new InMemoryDatastore();
    ds.upsert(createEndpointMetadata({ name: 'a', address: '10.0.0.1', port: 8000 }));
    const events = recorded(ds);
    ds.remove('default/a');
    ds.remove('default/a');
    ds.updateMetrics('default/a', metrics(1));
    expect(events).toEqual(['removed default/a']);
    expect(ds.endpoints()).toEqual([]);
    expect(ds.get('10.0.0.1:8000')).toBeUndefined();
  });

  it('hands ip:port to another endpoint at the same address when one is removed', () => {
    const ds = new InMemoryDatastore();
    ds.upsert(createEndpointMetadata({ name: 'a', address: '10.0.0.1', port: 8000 }));
    ds.upsert(createEndpointMetadata({ name: 'b', address: '10.0.0.1', port: 8000 }));
    expect(ds.get('10.0.0.1:8000')?.metadata.id).toBe('default/b');
    ds.remove('default/b');
    expect(ds.get('10.0.0.1:8000')?.metadata.id).toBe('default/a');
  });

  it('stops notifying after unsubscribe and isolates a throwing listener', () => {
    const error = vi.fn();
    const ds = new InMemoryDatastore({ logger: { error } as unknown as Logger });
    const seen: string[] = [];
    ds.subscribe(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = ds.subscribe((e) => seen.push(e.type));
    ds.upsert(createEndpointMetadata({ name: 'a', address: '10.0.0.1', port: 8000 }));
    unsubscribe();
    ds.remove('default/a');
    expect(seen).toEqual(['added']);
    expect(error).toHaveBeenCalledTimes(2);
  });

  it('marks synced once and resolves whenSynced', async () => {
    const ds = new InMemoryDatastore();
    expect(ds.synced).toBe(false);
    const waiting = ds.whenSynced();
    ds.markSynced();
    ds.markSynced();
    await waiting;
    expect(ds.synced).toBe(true);
  });
});
