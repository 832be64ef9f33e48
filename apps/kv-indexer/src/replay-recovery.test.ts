import { freePort, postJson, startSimProcess, waitUntil } from '@llmd/testing';
import { describe, expect, it } from 'vitest';
import { startTestIndexer } from './test-support/harness.js';

const model = 'Qwen/Qwen3-0.6B';

describe('recovery through the publishers\' replay sockets', () => {
  it('rebuilds the index after the indexer is killed and restarted, from a simulated server\'s replay buffer', async () => {
    const [zmq, replay] = [await freePort(), await freePort()];
    await using sim = await startSimProcess([
      '--model', model, '--preset', 'qwen3-0.6b/h100', '--enable-kvcache', '--hash-seed', '42',
      '--zmq-endpoint', `tcp://127.0.0.1:${zmq}`, '--kv-events-replay-endpoint', `tcp://127.0.0.1:${replay}`,
    ]);
    const url = sim.urls[0] as string;
    const pod = url.replace(/^http:\/\//, '');
    const flags = ['--zmq-endpoint', `tcp://127.0.0.1:${zmq}`, '--replay-port', String(replay)];
    const prompt = Array.from({ length: 160 }, (_, i) => 3000 + i);
    const scoreOf = async (indexer: { scores(b: unknown): Promise<{ body: { scores: Record<string, number> } }> }) =>
      (await indexer.scores({ model, token_ids: prompt })).body.scores[pod] ?? 0;

    const first = await startTestIndexer(flags);
    // The conversation is served while the first indexer runs. Its events may go out before the
    // subscription reaches the publisher (ZMQ's slow joiner); later batches then show the gap and the
    // indexer replays what it missed.
    await postJson(`${url}/v1/completions`, { model, prompt, max_tokens: 1 });
    for (let i = 0; (await scoreOf(first)) < 10; i++) {
      if (i > 200) throw new Error(`the first indexer never indexed the prompt: ${JSON.stringify(first.ingestion.subscriber.counters)}`);
      await postJson(`${url}/v1/completions`, { model, prompt: Array.from({ length: 40 }, (_, k) => 80_000 + i * 40 + k), max_tokens: 1 });
      await first.ingestion.idle();
      await first.ingestion.subscriber.replaysSettled();
    }
    await first.close();

    // A new indexer starts empty; the publisher's next batch shows it joined late, and it replays from 0.
    await using second = await startTestIndexer(flags);
    expect(await scoreOf(second)).toBe(0);
    for (let i = 0; second.ingestion.pool.counters.applied === 0; i++) {
      if (i > 200) throw new Error('the second indexer never heard from the publisher');
      await postJson(`${url}/v1/completions`, { model, prompt: Array.from({ length: 40 }, (_, k) => 90_000 + i * 40 + k), max_tokens: 1 });
      await second.ingestion.idle();
    }
    await second.ingestion.subscriber.replaysSettled();
    await waitUntil(async () => (await scoreOf(second)) === 10, 'the replayed blocks of the first prompt');
  }, 60_000);
});
