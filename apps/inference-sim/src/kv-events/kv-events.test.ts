import type { BlockRemoved, BlockStored } from '@llmd/kv-cache';
import { Dealer } from 'zeromq';
import { describe, expect, it } from 'vitest';
import { EventCollector, postJson, readVector, startTestSim, type ReceivedBatch } from '../test-support/harness.js';

const model = 'Qwen/Qwen3-0.6B';

interface RecordedEvent {
  prompt: string;
  token_ids: number[];
  block_hashes: bigint[];
}

/** The recorded vLLM file's event: its token ids and the hashes vLLM published for them. */
function recorded(file: string): RecordedEvent {
  const v = readVector<Record<string, unknown>>(file);
  // The file holds the prompt, its token ids and one BlockStored event; find the hashes wherever they sit.
  const find = (o: unknown, key: string): unknown => {
    if (o && typeof o === 'object') {
      if (key in (o as Record<string, unknown>)) return (o as Record<string, unknown>)[key];
      for (const child of Object.values(o as Record<string, unknown>)) {
        const hit = find(child, key);
        if (hit !== undefined) return hit;
      }
    }
    return undefined;
  };
  return {
    prompt: v.prompt as string,
    token_ids: (find(v, 'token_ids') as Array<number | bigint>).map(Number),
    block_hashes: (find(v, 'block_hashes') as Array<number | bigint>).map((h) => BigInt(h)),
  };
}

const stored = (events: ReturnType<EventCollector['events']>) => events.filter((e): e is BlockStored => e.type === 'BlockStored');
const removed = (events: ReturnType<EventCollector['events']>) => events.filter((e): e is BlockRemoved => e.type === 'BlockRemoved');

/** Sends small requests until the publisher's first batch reaches the collector (ZMQ slow joiner). */
async function warmUp(url: string, collector: EventCollector): Promise<void> {
  for (let i = 0; collector.batches.length === 0; i++) {
    if (i > 200) throw new Error('no KV events arrived');
    await postJson(`${url}/v1/completions`, { model, prompt: Array.from({ length: 17 }, (_, k) => 100_000 + i * 17 + k), max_tokens: 1 });
    await new Promise((r) => setImmediate(r));
  }
}

describe('KV events over ZMQ', () => {
  it.each([
    ['positional arrays', []],
    ['maps with type', ['--use-vllm-map-event-format']],
  ])('publishes exactly the recorded vLLM hashes for the recorded tokens (%s)', async (_label, extra) => {
    const base = recorded('kvcm_kv_event_base_qwen3-0.6b_seed42.json');
    await using collector = await EventCollector.bind();
    await using sim = await startTestSim(['--enable-kvcache', '--hash-seed', '42', '--block-size', '16', '--zmq-endpoint', collector.endpoint, ...extra]);
    await warmUp(sim.url, collector);
    const r = await postJson(`${sim.url}/v1/completions`, { model, prompt: base.token_ids, max_tokens: 1 });
    expect(r.status).toBe(200);
    const events = await collector.waitFor((ev) => stored(ev).some((e) => e.blockHashes.includes(base.block_hashes.at(-1) as bigint)));
    const hashes = stored(events).flatMap((e) => e.blockHashes);
    const start = hashes.indexOf(base.block_hashes[0] as bigint);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(hashes.slice(start, start + 25)).toEqual(base.block_hashes);
    const first = stored(events).find((e) => e.blockHashes.includes(base.block_hashes[0] as bigint)) as BlockStored;
    expect(first).toMatchObject({ parentBlockHash: null, blockSize: 16, medium: 'GPU', loraName: null });
    const topic = collector.batches.at(-1) as ReceivedBatch;
    expect(topic.topic).toBe(`kv@127.0.0.1:${sim.servers[0]?.port}@${model}`);
  });

  it('publishes the recorded LoRA hashes for adapter Alice', async () => {
    const lora = recorded('kvcm_kv_event_lora_alice_qwen3-0.6b_seed42.json');
    await using collector = await EventCollector.bind();
    await using sim = await startTestSim(['--enable-kvcache', '--hash-seed', '42', '--zmq-endpoint', collector.endpoint, '--lora-modules', 'Alice=/adapters/alice']);
    await warmUp(sim.url, collector);
    await postJson(`${sim.url}/v1/completions`, { model: 'Alice', prompt: lora.token_ids, max_tokens: 1 });
    const events = await collector.waitFor((ev) => stored(ev).some((e) => e.blockHashes.includes(lora.block_hashes.at(-1) as bigint)));
    const hashes = stored(events).filter((e) => e.loraName === 'Alice').flatMap((e) => e.blockHashes);
    expect(hashes).toEqual(lora.block_hashes);
    expect(stored(events).find((e) => e.loraName === 'Alice')?.loraId).toBe(1);
  });

  it('tokenizes the recorded prompt into the recorded token ids', async () => {
    const base = recorded('kvcm_kv_event_base_qwen3-0.6b_seed42.json');
    await using sim = await startTestSim();
    const r = await postJson(`${sim.url}/tokenize`, { model, prompt: base.prompt, add_special_tokens: false });
    expect(r.body.count).toBe(402);
    expect(r.body.tokens.slice(0, 400)).toEqual(base.token_ids);
  });

  it('evicts cached blocks when the cache is full and publishes BlockRemoved', async () => {
    await using collector = await EventCollector.bind();
    // 10 blocks of 16 tokens, one of them the null block: 9 usable.
    await using sim = await startTestSim(['--enable-kvcache', '--hash-seed', '1', '--zmq-endpoint', collector.endpoint, '--kv-cache-size', '10', '--max-model-len', '144']);
    await warmUp(sim.url, collector);
    const a = Array.from({ length: 128 }, (_, i) => 1000 + i);
    const b = Array.from({ length: 128 }, (_, i) => 5000 + i);
    await postJson(`${sim.url}/v1/completions`, { model, prompt: a, max_tokens: 1 });
    const afterA = stored(await collector.waitFor((ev) => stored(ev).some((e) => e.tokenIds.includes(1127))));
    const aHashes = afterA.filter((e) => e.tokenIds[0] !== undefined && e.tokenIds[0] >= 1000 && e.tokenIds[0] < 1128).flatMap((e) => e.blockHashes);
    expect(aHashes).toHaveLength(8);
    await postJson(`${sim.url}/v1/completions`, { model, prompt: b, max_tokens: 1 });
    const events = await collector.waitFor((ev) => removed(ev).flatMap((e) => e.blockHashes).filter((h) => aHashes.includes(h)).length >= 7);
    const evicted = removed(events).flatMap((e) => e.blockHashes).filter((h) => aHashes.includes(h));
    expect(evicted.length).toBeGreaterThanOrEqual(7);
    expect(removed(events).every((e) => e.medium === 'GPU')).toBe(true);
  });

  it('publishes AllBlocksCleared when the prefix cache is reset', async () => {
    await using collector = await EventCollector.bind();
    await using sim = await startTestSim(['--enable-kvcache', '--zmq-endpoint', collector.endpoint]);
    await warmUp(sim.url, collector);
    expect((await fetch(`${sim.url}/reset_prefix_cache`, { method: 'POST' })).status).toBe(200);
    await collector.waitFor((ev) => ev.some((e) => e.type === 'AllBlocksCleared'));
  });

  it('numbers batches from 0 and replays them through the ROUTER socket', async () => {
    await using collector = await EventCollector.bind();
    const replayPort = 20000 + Math.floor(Math.random() * 20000);
    await using sim = await startTestSim(['--enable-kvcache', '--zmq-endpoint', collector.endpoint, '--kv-events-replay-endpoint', `tcp://127.0.0.1:${replayPort}`]);
    await warmUp(sim.url, collector);
    const published = sim.publishers[0]?.published ?? 0;
    expect(published).toBeGreaterThan(0);
    const dealer = new Dealer({ linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${replayPort}`);
    const start = Buffer.alloc(8);
    await dealer.send([Buffer.alloc(0), start]);
    const seqs: bigint[] = [];
    for (;;) {
      const [, seq, payload] = await dealer.receive();
      if (!seq) throw new Error('short replay frame');
      if (seq.equals(Buffer.alloc(8, 0xff))) {
        expect(payload?.length ?? 0).toBe(0);
        break;
      }
      seqs.push(seq.readBigUInt64BE());
    }
    dealer.close();
    expect(seqs[0]).toBe(0n);
    expect(seqs).toEqual(seqs.map((_, i) => BigInt(i)));
    expect(seqs.length).toBeGreaterThanOrEqual(published);
  });
});
