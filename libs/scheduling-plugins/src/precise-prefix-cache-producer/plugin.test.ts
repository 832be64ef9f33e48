import { createServer, type Server } from 'node:http';
import { decodeKvEventBatch, encodeKvEventBatch, VllmBlockHasher } from '@llmd/kv-cache';
import type { DataProducer, Endpoint } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from '../approx-prefix-cache-producer/attributes.js';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import type { EmbeddedIndexSource } from './embedded.js';
import { precisePrefixCacheProducer, preciseProducerParameters, type PrecisePrefixCacheProducer } from './plugin.js';

const info = (ctx: ReturnType<typeof context>, e: Endpoint, name?: string) => ctx.attributes.get<PrefixCacheMatchInfo>(e.metadata.id, prefixCacheMatchInfoKey(name));

/** A stand-in kv-indexer answering POST /v1/scores with fixed scores (and recording the bodies). */
async function fakeIndexer(answer: (body: Record<string, unknown>) => { status: number; json: unknown }): Promise<{ url: string; bodies: Record<string, unknown>[]; server: Server }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      bodies.push(body);
      const a = answer(body);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.json));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, bodies, server };
}

describe('precise-prefix-cache-producer', () => {
  it('accepts upstream parameters and rejects unknown ones', () => {
    expect(preciseProducerParameters.parse(undefined)).toMatchObject({ speculativeIndexing: false, speculativeTTL: '2s', kvEventsConfig: { socketPort: 5557, concurrency: 4, discoverPods: true } });
    expect(preciseProducerParameters.safeParse({ tokenProcessorConfig: { blockSizeTokens: 64, hashSeed: '42' }, indexerConfig: { kvBlockIndexConfig: { redisConfig: { address: 'redis://r:6379' } } } }).success).toBe(true);
    expect(preciseProducerParameters.safeParse({ kvEventsConfig: { zmqEndpont: 'tcp://*:5557' } }).success).toBe(false);
  });

  it('writes PrefixCacheMatchInfo from a remote kv-indexer, under its own name and the plain key', async () => {
    const [a, b] = [endpoint({ address: '10.0.0.1', port: 8000 }), endpoint({ address: '10.0.0.2', port: 8000 })] as [Endpoint, Endpoint];
    const idx = await fakeIndexer(() => ({ status: 200, json: { scores: { '10.0.0.1:8000': 12 }, total_blocks: 20 } }));
    const producer = precisePrefixCacheProducer.create('precise', preciseProducerParameters.parse({ indexerURL: idx.url }), handle()) as PrecisePrefixCacheProducer;
    const ctx = context();
    // The indexer's own block count wins over an estimate from the prompt's length.
    await producer.produce(ctx, request({ model: 'm', prompt: 'x'.repeat(4 * 16 * 33) }), [a, b]);
    expect(info(ctx, a, 'precise')).toEqual({ matchBlocks: 12, totalBlocks: 20, blockSize: 16 });
    expect(info(ctx, b)).toEqual({ matchBlocks: 0, totalBlocks: 20, blockSize: 16 });
    expect(idx.bodies[0]).toMatchObject({ model: 'm', pods: ['10.0.0.1:8000', '10.0.0.2:8000'] });
    idx.server.close();
    await producer.close();
  });

  it('treats a failing indexer as "no prefix known" and keeps routing', async () => {
    const idx = await fakeIndexer(() => ({ status: 503, json: { error: 'down' } }));
    const producer = precisePrefixCacheProducer.create('precise', preciseProducerParameters.parse({ indexerURL: idx.url }), handle()) as DataProducer & { close(): Promise<void> };
    const ctx = context();
    const e = endpoint();
    await expect(producer.produce(ctx, request(), [e])).resolves.toBeUndefined();
    expect(info(ctx, e)).toBeUndefined();
    idx.server.close();
    await producer.close();
  });

  it('scores from the embedded index once KV events for the same tokens were applied', async () => {
    const producer = precisePrefixCacheProducer.create('precise', preciseProducerParameters.parse({ kvEventsConfig: { discoverPods: false } }), handle()) as PrecisePrefixCacheProducer;
    const source = producer.source as EmbeddedIndexSource;
    const tokens = Array.from({ length: 64 }, (_, i) => 100 + i);
    const engine = new VllmBlockHasher({ seed: '42', blockSize: 16 }).hashBlocks(tokens).hashes;
    const batch = encodeKvEventBatch(
      { ts: 1, dataParallelRank: null, events: [{ type: 'BlockStored', blockHashes: engine, parentBlockHash: null, tokenIds: tokens, blockSize: 16, loraId: null, medium: 'GPU', loraName: null }] },
      { format: 'array' },
    );
    await source.ingestion.applier.apply('10.0.0.9:8000', 'm', decodeKvEventBatch(batch));
    const [held, other] = [endpoint({ address: '10.0.0.9', port: 8000 }), endpoint({ address: '10.0.0.8', port: 8000 })] as [Endpoint, Endpoint];
    const ctx = context();
    await producer.produce(ctx, request({ model: 'm', promptView: { text: tokens.join(','), tokenIds: tokens, messages: null } }), [held, other]);
    expect(info(ctx, held)).toEqual({ matchBlocks: 4, totalBlocks: 4, blockSize: 16 });
    expect(info(ctx, other)?.matchBlocks).toBe(0);
    await producer.close();
  });
});
