import { waitUntil } from '@llmd/testing';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { KubeApiError, type KubeList, type WatchEvent } from './client.js';
import { Informer, type InformerChange, type KubeObject, type ListWatch } from './informer.js';

interface Obj extends KubeObject {
  readonly data?: string;
}

const obj = (name: string, rv: string, data = ''): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv }, data });

/**
 * A scripted collection: `list` answers the current objects; each `watch` call runs the next
 * script step (emit events, then end or fail), and records the resource version it was asked for.
 */
class ScriptedCollection implements ListWatch<Obj> {
  items = new Map<string, Obj>();
  rv = 1;
  listCalls = 0;
  listFailures: Error[] = [];
  watchFrom: string[] = [];
  steps: Array<(emit: (e: WatchEvent<Obj>) => void, signal: AbortSignal) => Promise<void>> = [];

  put(name: string, data: string): Obj {
    const o = obj(name, String(++this.rv), data);
    this.items.set(name, o);
    return o;
  }

  async list(): Promise<KubeList<Obj>> {
    this.listCalls++;
    const failure = this.listFailures.shift();
    if (failure) throw failure;
    return { items: [...this.items.values()], metadata: { resourceVersion: String(this.rv) } };
  }

  async watch(resourceVersion: string, onEvent: (e: WatchEvent<Obj>) => void, signal: AbortSignal): Promise<void> {
    this.watchFrom.push(resourceVersion);
    const step = this.steps.shift();
    if (step) return step(onEvent, signal);
    // No more script: hold the stream open until stopped.
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
}

const logger = pino({ level: 'silent' });
const fast = { initialMs: 1, maxMs: 5 };

function track(): { changes: string[]; onChange: (c: InformerChange<Obj>) => void } {
  const changes: string[] = [];
  return { changes, onChange: (c) => changes.push(`${c.type} ${c.object.metadata?.name}${c.object.data ? `=${c.object.data}` : ''}`) };
}

describe('Informer', () => {
  it('lists, then applies watch events from the list\'s resource version', async () => {
    const col = new ScriptedCollection();
    col.put('a', '1');
    const rvAtList = String(col.rv);
    const { changes, onChange } = track();
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    col.steps.push(async (emit) => {
      emit({ type: 'ADDED', object: obj('b', '10', '1') });
      emit({ type: 'MODIFIED', object: obj('a', '11', '2') });
      emit({ type: 'DELETED', object: obj('b', '12') });
      await hold;
    });
    const inf = new Informer<Obj>({ what: 'objs', listWatch: col, logger, onChange, backoff: fast });
    inf.start();
    await inf.whenSynced();
    await waitUntil(() => changes.length === 4, 'four changes');
    expect(changes).toEqual(['added a=1', 'added b=1', 'modified a=2', 'deleted b']);
    expect(col.watchFrom).toEqual([rvAtList]);
    expect([...inf.store.keys()]).toEqual(['ns/a']);
    release();
    await inf.stop();
  });

  it('re-opens a watch the server ended from the last resource version seen, bookmarks included, without listing again', async () => {
    const col = new ScriptedCollection();
    const { changes, onChange } = track();
    col.steps.push(async (emit) => {
      emit({ type: 'ADDED', object: obj('a', '20', 'x') });
      emit({ type: 'BOOKMARK', object: obj('', '25') });
      // A stream that lasted long enough to count as healthy.
      await new Promise((r) => setTimeout(r, 1100));
    });
    const inf = new Informer<Obj>({ what: 'objs', listWatch: col, logger, onChange, backoff: fast });
    inf.start();
    await waitUntil(() => col.watchFrom.length === 2, 'the second watch', 4000);
    expect(col.watchFrom[1]).toBe('25');
    expect(col.listCalls).toBe(1);
    expect(changes).toEqual(['added a=x']);
    await inf.stop();
  });

  it('lists again after 410 Gone and reports what changed while it was not watching', async () => {
    const col = new ScriptedCollection();
    col.put('a', '1');
    col.put('b', '1');
    const { changes, onChange } = track();
    col.steps.push(async () => {
      // Meanwhile: a deleted, b changed, c created; then the watch's version has expired.
      col.items.delete('a');
      col.put('b', '2');
      col.put('c', '1');
      throw new KubeApiError('too old resource version', 410, 'Expired');
    });
    let synced = 0;
    const inf = new Informer<Obj>({ what: 'objs', listWatch: col, logger, onChange, onSynced: () => synced++, backoff: fast });
    inf.start();
    await waitUntil(() => synced === 2, 'the relist');
    expect(col.listCalls).toBe(2);
    expect(changes).toEqual(['added a=1', 'added b=1', 'modified b=2', 'added c=1', 'deleted a=1']);
    expect([...inf.store.keys()].sort()).toEqual(['ns/b', 'ns/c']);
    await inf.stop();
  });

  it('keeps retrying a failing list and a failing watch, then recovers', async () => {
    const col = new ScriptedCollection();
    col.put('a', '1');
    col.listFailures.push(new KubeApiError('connection refused', 0), new KubeApiError('503', 503));
    col.steps.push(async () => {
      throw new KubeApiError('connection reset', 0);
    });
    const { changes, onChange } = track();
    const inf = new Informer<Obj>({ what: 'objs', listWatch: col, logger, onChange, backoff: fast });
    inf.start();
    await inf.whenSynced();
    expect(col.listCalls).toBe(3);
    await waitUntil(() => col.listCalls === 4, 'a list after the failed watch');
    expect(changes).toEqual(['added a=1']);
    expect(inf.synced).toBe(true);
    await inf.stop();
  });

  it('survives a handler that throws', async () => {
    const col = new ScriptedCollection();
    col.put('a', '1');
    col.put('b', '1');
    const seen: string[] = [];
    const inf = new Informer<Obj>({
      what: 'objs',
      listWatch: col,
      logger,
      onChange: (c) => {
        seen.push(c.object.metadata?.name ?? '');
        if (c.object.metadata?.name === 'a') throw new Error('handler bug');
      },
      backoff: fast,
    });
    inf.start();
    await inf.whenSynced();
    expect(seen).toEqual(['a', 'b']);
    await inf.stop();
  });

  it('stop ends an open watch and resolves whenSynced for waiters', async () => {
    const col = new ScriptedCollection();
    col.listFailures.push(...Array.from({ length: 100 }, () => new KubeApiError('down', 0)));
    const inf = new Informer<Obj>({ what: 'objs', listWatch: col, logger, backoff: { initialMs: 50, maxMs: 50 } });
    inf.start();
    const waiting = inf.whenSynced();
    await inf.stop();
    await waiting;
    expect(inf.synced).toBe(false);
  });
});
