import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { postJson, startTestSim } from '../test-support/harness.js';

const model = 'Qwen/Qwen3-0.6B';

describe('the official openai client against the simulator', () => {
  it('completes and streams completions', async () => {
    await using sim = await startTestSim();
    const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x' });
    const done = await client.completions.create({ model, prompt: 'Say something about caches.', max_tokens: 12 });
    expect(done.object).toBe('text_completion');
    expect(done.choices[0]?.text.length).toBeGreaterThan(0);
    expect(done.usage?.completion_tokens).toBeLessThanOrEqual(12);
    expect(done.usage?.prompt_tokens).toBeGreaterThan(0);

    const stream = await client.completions.create({ model, prompt: 'Stream please.', max_tokens: 10, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(finish);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
  });

  it('completes and streams chat completions with ignore_eos for an exact length', async () => {
    await using sim = await startTestSim();
    const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x' });
    const chat = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 7, ignore_eos: true } as never);
    expect(chat.object).toBe('chat.completion');
    expect(chat.choices[0]?.message.role).toBe('assistant');
    expect(chat.usage?.completion_tokens).toBe(7);
    expect(chat.choices[0]?.finish_reason).toBe('length');

    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }],
      max_tokens: 9,
      stream: true,
      stream_options: { include_usage: true },
      ignore_eos: true,
    } as never) as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>;
    const roles: string[] = [];
    let content = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      chunks++;
      const delta = chunk.choices[0]?.delta;
      if (delta?.role) roles.push(delta.role);
      content += delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(roles).toEqual(['assistant']);
    expect(content.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(9);
    // One role chunk, at least one content chunk per engine step, and the usage chunk.
    expect(chunks).toBeGreaterThanOrEqual(3);
  });

  it('echoes the last user message in echo mode, truncated by max_tokens', async () => {
    await using sim = await startTestSim(['--mode', 'echo']);
    const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x' });
    const full = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'repeat these exact words' }], max_tokens: 50 });
    expect(full.choices[0]?.message.content).toBe('repeat these exact words');
    expect(full.choices[0]?.finish_reason).toBe('stop');
    const cut = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'repeat these exact words' }], max_tokens: 2 });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.usage?.completion_tokens).toBe(2);
    expect('repeat these exact words'.startsWith(cut.choices[0]?.message.content ?? 'x')).toBe(true);
  });

  it('gives the same response for the same seed', async () => {
    const ask = async () => {
      await using sim = await startTestSim(['--seed', '99']);
      const r = await postJson(`${sim.url}/v1/completions`, { model, prompt: 'determinism', max_tokens: 20 });
      return r.body.choices[0].text as string;
    };
    expect(await ask()).toBe(await ask());
  });

  it.each([
    ['a list of strings', ['one', 'two', 'three'], 3],
    ['token ids', [9707, 11, 1879], 1],
    ['lists of token ids', [[9707, 11], [1879, 0]], 2],
  ])('accepts a prompt given as %s', async (_label, prompt, choices) => {
    await using sim = await startTestSim();
    const r = await postJson(`${sim.url}/v1/completions`, { model, prompt, max_tokens: 3 });
    expect(r.status).toBe(200);
    expect(r.body.choices).toHaveLength(choices);
    expect(r.body.choices.map((c: { index: number }) => c.index)).toEqual([...Array(choices).keys()]);
  });

  it('lists served names and adapters in /v1/models and adds pod headers when POD_NAME is set', async () => {
    await using sim = await startTestSim(['--served-model-name', 'qwen', 'qwen-alias', '--lora-modules', 'Alice=/adapters/alice'], { POD_NAME: 'sim-0', POD_NAMESPACE: 'llm' });
    const res = await fetch(`${sim.url}/v1/models`);
    const body = (await res.json()) as { data: Array<{ id: string; parent: string | null }> };
    expect(body.data.map((m) => [m.id, m.parent])).toEqual([
      ['qwen', null],
      ['qwen-alias', null],
      ['Alice', 'qwen'],
    ]);
    const r = await postJson(`${sim.url}/v1/completions`, { model: 'qwen-alias', prompt: 'hi', max_tokens: 2 }, { headers: { 'content-type': 'application/json', 'x-request-id': 'req-123' } });
    expect(r.headers.get('x-inference-pod')).toBe('sim-0');
    expect(r.headers.get('x-inference-namespace')).toBe('llm');
    expect(r.headers.get('x-inference-port')).toBe(String(sim.servers[0]?.port));
    expect(r.headers.get('x-request-id')).toBe('req-123');
    expect(r.body.id).toBe('cmpl-req-123');
  });
});
