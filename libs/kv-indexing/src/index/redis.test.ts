// The module-boundary rule reads test files like library code, which may not import testing
// harnesses; a test starting a real server has to.
import { startRedis, type RedisServer } from '@llmd/testing';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisKvBlockIndex } from './redis.js';
import { describeKvBlockIndex } from './test-support/conformance.js';
import type { KvBlockIndex } from './types.js';

let server: RedisServer;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server?.stop();
});

/** A connected index under a prefix no other test uses, so tests share one server without clearing it. */
async function connected(options: { keyPrefix?: string; lookupBatch?: number; url?: string } = {}): Promise<RedisKvBlockIndex> {
  const index = new RedisKvBlockIndex({ url: options.url ?? server.url, keyPrefix: options.keyPrefix ?? `t${++prefixes}:`, lookupBatch: options.lookupBatch });
  await index.connect();
  return index;
}

describeKvBlockIndex('RedisKvBlockIndex', () => connected(), {
  connectPeer: (first: KvBlockIndex) => connected({ keyPrefix: (first as RedisKvBlockIndex).keyPrefix }),
});

describeKvBlockIndex('RedisKvBlockIndex, lookups in batches of 2', () => connected({ lookupBatch: 2 }));

describe('RedisKvBlockIndex', () => {
  const opened: { close(): Promise<unknown> }[] = [];
  const raw = async (url = server.url) => {
    const client = createClient({ url });
    await client.connect();
    opened.push({ close: () => client.close() });
    return client;
  };
  const index = async (options: Parameters<typeof connected>[0] = {}) => {
    const made = await connected(options);
    opened.push(made);
    return made;
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((o) => o.close()));
  });

  it('writes upstream llm-d’s schema', async () => {
    const idx = await index({ keyPrefix: 'schema:' });
    await idx.add([7n], [18446744073709551615n, 5n], [{ pod: '10.0.0.1:8000', tier: 'gpu' }]);
    await idx.add(null, [6n], [{ pod: '10.0.0.1:8000', tier: 'gpu', speculative: true }]);
    const client = await raw();
    expect(await client.hGetAll('schema:18446744073709551615')).toEqual({ '{"PodIdentifier":"10.0.0.1:8000","DeviceTier":"gpu","Speculative":false}': '' });
    expect(await client.hKeys('schema:6')).toEqual(['{"PodIdentifier":"10.0.0.1:8000","DeviceTier":"gpu","Speculative":true}']);
    expect(await client.zRangeWithScores('schema:engine:7', 0, -1)).toEqual([
      { value: '18446744073709551615', score: 0 },
      { value: '5', score: 1 },
    ]);
  });

  it('reads entries another writer added with fields this schema lacks, and skips what is not JSON', async () => {
    const idx = await index({ keyPrefix: 'foreign:' });
    const client = await raw();
    await client.hSet('foreign:1', '{"PodIdentifier":"10.0.0.9:8000","DeviceTier":"cpu","Speculative":false,"HasGroup":true,"GroupIdx":1}', '');
    await client.hSet('foreign:1', '10.0.0.8:8000@gpu', '');
    await client.hSet('foreign:2', '10.0.0.8:8000@gpu', '');
    expect(await idx.lookup([1n, 2n])).toEqual([[{ pod: '10.0.0.9:8000', tier: 'cpu' }]]);
  });

  it('keeps prefixes apart', async () => {
    const [a, b] = [await index(), await index()];
    await a.add([11n], [1n], [{ pod: 'p', tier: 'gpu' }]);
    expect(await b.lookup([1n])).toEqual([]);
    expect(await b.getRequestKey(11n)).toBeNull();
    await b.add(null, [1n], [{ pod: 'p', tier: 'gpu' }]);
    await b.clear('p');
    expect(await a.lookup([1n])).toHaveLength(1);
    expect(await a.stats()).toEqual({ blocks: 1, entries: 1 });
  });

  it('uses the database the URL names', async () => {
    const idx = await index({ url: `${server.url}/3`, keyPrefix: 'db:' });
    await idx.add(null, [1n], [{ pod: 'p', tier: 'gpu' }]);
    expect(await (await raw(`${server.url}/3`)).exists('db:1')).toBe(1);
    expect(await (await raw()).exists('db:1')).toBe(0);
  });

  it('loads its scripts again after the server dropped them', async () => {
    const idx = await index();
    await (await raw()).sendCommand(['SCRIPT', 'FLUSH']);
    await idx.add([11n], [1n], [{ pod: 'p', tier: 'gpu' }]);
    expect(await idx.lookup([1n])).toHaveLength(1);
  });

  it('clears an endpoint across more hashes than one SCAN page', async () => {
    const idx = await index();
    const keys = Array.from({ length: 2500 }, (_, i) => BigInt(i + 1));
    await idx.add(null, keys, [{ pod: 'a', tier: 'gpu' }]);
    await idx.add(null, keys.slice(0, 10), [{ pod: 'b', tier: 'gpu' }]);
    await idx.clear('a');
    expect(await idx.stats()).toEqual({ blocks: 10, entries: 10 });
    expect(await idx.lookup(keys)).toHaveLength(10);
  });

  it('rejects connect() when nothing listens', async () => {
    const gone = await startRedis();
    await gone.stop();
    const idx = new RedisKvBlockIndex({ url: gone.url });
    await expect(idx.connect()).rejects.toThrow(/ECONNREFUSED/);
    await idx.close();
  });

  it('reconnects after the server drops its connection', async () => {
    const idx = await index();
    await idx.add(null, [1n], [{ pod: 'p', tier: 'gpu' }]);
    expect(await (await raw()).sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'])).toBeGreaterThan(0);
    expect(await idx.lookup([1n])).toHaveLength(1);
  });

  it('accepts valkey:// URLs', async () => {
    const idx = await index({ url: server.url.replace('redis://', 'valkey://') });
    await idx.add(null, [1n], [{ pod: 'p', tier: 'gpu' }]);
    expect(await idx.lookup([1n])).toHaveLength(1);
  });
});
