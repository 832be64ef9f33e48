// Prefill/decode disaggregation end to end, every part a real process: two prefill simulators,
// two decode simulators each behind its own sidecar, and the router in standalone proxy mode
// reading one endpoints file with `llm-d.ai/role` labels, driven by the official OpenAI client.
// Both upstream P/D configurations are exercised: HEAD's disagg-profile-handler with the
// prefix-based decider, and v0.3.0's pd-profile-handler with its threshold.
import { metricValue, startSimProcess, type SimProcess } from '@llmd/testing';
import OpenAI, { APIError, PermissionDeniedError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simMetric } from './test-support/harness.js';
import { startRouterProcess, startSidecarProcess, writeEndpointsFile, type EndpointEntry, type NodeProcess } from './test-support/processes.js';

const model = 'Qwen/Qwen3-0.6B';
const label = { model_name: model };
const ROLE = 'llm-d.ai/role';
const simArgs = (seed: number) => ['--model', model, '--preset', 'qwen3-0.6b/h100', '--mode', 'echo', '--seed', String(seed)];
const hostPort = (url: string) => url.replace(/^https?:\/\//, '');

/** ~1,900 bytes: far over 256 estimated tokens (bytes ÷ 4) when nothing of it is cached. */
const longPrompt = (tag: string) => Array.from({ length: 120 }, (_, i) => `${tag} clause ${i} of the contract`).join('; ');
/** ~60 bytes: under any threshold used here. */
const shortPrompt = (tag: string) => `${tag}: a short question, answered right away.`;

// HEAD form (llm-d-router deploy/config/pd-epp-config.yaml): the decider disaggregates when at
// least 256 of the prompt's estimated tokens are not believed cached on the chosen decode endpoint.
const HEAD_CONFIG = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: approx-prefix-cache-producer
- type: prefix-cache-scorer
- type: queue-scorer
- type: prefill-filter
- type: decode-filter
- type: max-score-picker
- type: disagg-profile-handler
  parameters:
    deciders:
      prefill: prefix-based-pd-decider
- type: prefix-based-pd-decider
  parameters:
    nonCachedTokens: 256
schedulingProfiles:
- name: prefill
  plugins:
  - pluginRef: prefill-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
  - pluginRef: queue-scorer
    weight: 1
- name: decode
  plugins:
  - pluginRef: decode-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
  - pluginRef: queue-scorer
    weight: 1
`;

// v0.3.0 form (llm-d-inference-scheduler deploy/config/pd-epp-config.yaml) with a threshold of
// 1,024 uncached prompt characters, and the separate header handler.
const LEGACY_CONFIG = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefill-header-handler
- type: prefix-cache-scorer
- type: prefill-filter
- type: decode-filter
- type: max-score-picker
- type: pd-profile-handler
  parameters:
    threshold: 1024
schedulingProfiles:
- name: prefill
  plugins:
  - pluginRef: prefill-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
- name: decode
  plugins:
  - pluginRef: decode-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
`;

let prefill: SimProcess[] = [];
let decode: SimProcess[] = [];
let sidecars: Array<NodeProcess & { url: string; port: number }> = [];
let endpointsFile = '';

/** Totals over a set of simulators. */
async function total(sims: readonly SimProcess[], name: string, labels: Record<string, string> = label): Promise<number> {
  let sum = 0;
  for (const s of sims) sum += await simMetric(s.urls[0] as string, name, labels);
  return sum;
}

/** What the P/D path is judged on: router decisions and the simulators' own counters. */
async function snapshot(routerMetrics: string) {
  const text = await (await fetch(routerMetrics)).text();
  return {
    disaggregated: metricValue(text, 'llm_d_epp_pd_decision_total', { ...label, decision_type: 'prefill-decode' }) ?? 0,
    decodeOnly: metricValue(text, 'llm_d_epp_pd_decision_total', { ...label, decision_type: 'decode-only' }) ?? 0,
    prefillLegs: await total(prefill, 'vllm:request_success_total', { ...label, finish_reason: 'remote_decode' }),
    transferredTokens: await total(decode, 'vllm:external_prefix_cache_hits_total'),
    decodeRequests: (await total(decode, 'vllm:request_success_total', { ...label, finish_reason: 'length' })) + (await total(decode, 'vllm:request_success_total', { ...label, finish_reason: 'stop' })),
  };
}

/** The echo simulator's answer for a prompt, asked of a prefill simulator directly (the router's index never sees it). */
async function expectedEcho(prompt: string, maxTokens: number): Promise<string> {
  const direct = new OpenAI({ baseURL: `${prefill[0]?.urls[0]}/v1`, apiKey: 'unused', maxRetries: 0 });
  return (await direct.completions.create({ model, prompt, max_tokens: maxTokens })).choices[0]?.text ?? '';
}

beforeAll(async () => {
  [prefill, decode] = [
    await Promise.all([startSimProcess(simArgs(21)), startSimProcess(simArgs(22))]),
    await Promise.all([startSimProcess(simArgs(23)), startSimProcess(simArgs(24))]),
  ];
  const prefillEntries: EndpointEntry[] = prefill.map((s, i) => ({ name: `prefill-${i}`, hostPort: hostPort(s.urls[0] as string), labels: { [ROLE]: 'prefill' } }));
  // The sidecars allow what the endpoints file lists; at their start it lists the prefill pods, then
  // it is rewritten with the decode pods (the sidecars) added, for the router, and they follow.
  endpointsFile = writeEndpointsFile(prefillEntries);
  sidecars = await Promise.all(
    decode.map((s) =>
      startSidecarProcess(Number(new URL(s.urls[0] as string).port), [
        '--enable-ssrf-protection', '--prefill-allowlist-file', endpointsFile, '--prefill-max-retries', '1', '--prefill-retry-backoff', '20ms',
      ]),
    ),
  );
  writeEndpointsFile([...prefillEntries, ...sidecars.map((s, i) => ({ name: `decode-${i}`, hostPort: hostPort(s.url), labels: { [ROLE]: 'decode' } }))], endpointsFile);
}, 120_000);

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await Promise.all([...prefill, ...decode].map((s) => s.stop()));
});

describe.each([
  { name: 'disagg-profile-handler + prefix-based-pd-decider (nonCachedTokens 256)', config: HEAD_CONFIG },
  { name: 'pd-profile-handler (threshold 1024 characters) + prefill-header-handler', config: LEGACY_CONFIG },
])('P/D through the router: $name', ({ config }) => {
  let router: NodeProcess & { proxy: string; metrics: string };
  let client: OpenAI;
  const tag = config === HEAD_CONFIG ? 'head' : 'legacy';

  beforeAll(async () => {
    router = await startRouterProcess(config, endpointsFile);
    client = new OpenAI({ baseURL: `${router.proxy}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  }, 60_000);

  afterAll(async () => {
    await router?.stop();
  });

  it('disaggregates a long uncached prompt: prefill leg on a prefill pod, KV transferred to the decode pod, correct answer', async () => {
    const prompt = longPrompt(`${tag}-A`);
    const expected = await expectedEcho(prompt, 16);
    const before = await snapshot(router.metrics);
    const answer = await client.completions.create({ model, prompt, max_tokens: 16 });
    expect(answer.choices[0]?.text).toBe(expected);
    expect(answer.usage?.completion_tokens).toBe(16);
    const after = await snapshot(router.metrics);
    expect(after.disaggregated - before.disaggregated).toBe(1);
    expect(after.decodeOnly - before.decodeOnly).toBe(0);
    expect(after.prefillLegs - before.prefillLegs).toBe(1);
    // The decode pod computed none of the prompt: all of it arrived by KV transfer.
    expect(after.transferredTokens - before.transferredTokens).toBe(answer.usage?.prompt_tokens);
  });

  it('disaggregates a long streamed chat and streams the decode pod’s answer back', async () => {
    const content = longPrompt(`${tag}-chat`);
    const before = await snapshot(router.metrics);
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content }], max_tokens: 12, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(usage?.completion_tokens).toBe(12);
    expect(text.length).toBeGreaterThan(0);
    expect(content.startsWith(text)).toBe(true); // echo mode: the message's first tokens
    const after = await snapshot(router.metrics);
    expect(after.disaggregated - before.disaggregated).toBe(1);
    expect(after.prefillLegs - before.prefillLegs).toBe(1);
    expect(after.transferredTokens - before.transferredTokens).toBe(usage?.prompt_tokens);
  });

  it('keeps a short prompt on the decode pod alone', async () => {
    const prompt = shortPrompt(`${tag}-B`);
    const before = await snapshot(router.metrics);
    const answer = await client.completions.create({ model, prompt, max_tokens: 4 });
    expect(answer.usage?.completion_tokens).toBe(4);
    const after = await snapshot(router.metrics);
    expect(after.decodeOnly - before.decodeOnly).toBe(1);
    expect(after.disaggregated - before.disaggregated).toBe(0);
    expect(after.prefillLegs - before.prefillLegs).toBe(0);
    expect(after.transferredTokens - before.transferredTokens).toBe(0);
    expect(after.decodeRequests - before.decodeRequests).toBe(1);
  });

  it('keeps a repeated (cached) long prompt on the decode pod that holds it', async () => {
    const prompt = longPrompt(`${tag}-C`);
    const first = await client.completions.create({ model, prompt, max_tokens: 8 });
    const before = await snapshot(router.metrics);
    const again = await client.completions.create({ model, prompt, max_tokens: 8 });
    expect(again.choices[0]?.text).toBe(first.choices[0]?.text);
    const after = await snapshot(router.metrics);
    expect(after.decodeOnly - before.decodeOnly).toBe(1);
    expect(after.prefillLegs - before.prefillLegs).toBe(0);
    expect(after.transferredTokens - before.transferredTokens).toBe(0);
    // The decode pod found the prompt in its own prefix cache.
    expect(again.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
  });

  it('clears a client-sent x-prefiller-host-port: a short prompt stays aggregated although it names a prefill pod', async () => {
    const before = await snapshot(router.metrics);
    const answer = await client.completions.create(
      { model, prompt: shortPrompt(`${tag}-D`), max_tokens: 4 },
      { headers: { 'x-prefiller-host-port': hostPort(prefill[0]?.urls[0] as string) } },
    );
    expect(answer.usage?.completion_tokens).toBe(4);
    const after = await snapshot(router.metrics);
    expect(after.decodeOnly - before.decodeOnly).toBe(1);
    expect(after.prefillLegs - before.prefillLegs).toBe(0);
  });
});

describe('P/D sidecars on their own', () => {
  it('refuse a prefill target outside the allowlist (the endpoints file) with 403', async () => {
    const direct = new OpenAI({ baseURL: `${sidecars[0]?.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const before = await total(decode, 'vllm:request_success_total', { ...label, finish_reason: 'length' });
    // The other decode simulator's own port is not in the pool file (only its sidecar is).
    const err = await direct.completions
      .create({ model, prompt: longPrompt('ssrf'), max_tokens: 4 }, { headers: { 'x-prefiller-host-port': hostPort(decode[1]?.urls[0] as string) } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect((err as APIError).code).toBe('prefill_target_forbidden');
    expect(await total(decode, 'vllm:request_success_total', { ...label, finish_reason: 'length' })).toBe(before);
  });
});

describe('P/D with a failed prefill pod', () => {
  let router: NodeProcess & { proxy: string; metrics: string };

  beforeAll(async () => {
    router = await startRouterProcess(HEAD_CONFIG, endpointsFile);
    await prefill[1]?.stop(); // prefill-1 dies; the router still lists it
  }, 60_000);

  afterAll(async () => {
    await router?.stop();
  });

  it('retries the prefill leg on another listed prefill pod', async () => {
    const direct = new OpenAI({ baseURL: `${sidecars[0]?.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const before = await simMetric(prefill[0]?.urls[0] as string, 'vllm:request_success_total', { ...label, finish_reason: 'remote_decode' });
    const answer = await direct.completions.create(
      { model, prompt: longPrompt('fallback'), max_tokens: 6 },
      { headers: { 'x-prefiller-host-port': `${hostPort(prefill[1]?.urls[0] as string)},${hostPort(prefill[0]?.urls[0] as string)}` } },
    );
    expect(answer.usage?.completion_tokens).toBe(6);
    expect(await simMetric(prefill[0]?.urls[0] as string, 'vllm:request_success_total', { ...label, finish_reason: 'remote_decode' })).toBe(before + 1);
  });

  it('through the router, every disaggregated request either succeeds on the live prefill pod or fails cleanly with 502 prefill_failed', async () => {
    const client = new OpenAI({ baseURL: `${router.proxy}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
    const livePrefillBefore = await simMetric(prefill[0]?.urls[0] as string, 'vllm:request_success_total', { ...label, finish_reason: 'remote_decode' });
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const outcome = await client.completions.create({ model, prompt: longPrompt(`dead-${i}`), max_tokens: 4 }).then(
        (a) => (a.usage?.completion_tokens === 4 ? 'ok' : `bad answer ${JSON.stringify(a)}`),
        (e: unknown) => (e instanceof APIError && e.status === 502 && e.code === 'prefill_failed' && e.message.includes(hostPort(prefill[1]?.urls[0] as string)) ? 'clean-502' : `unclean: ${String(e)}`),
      );
      outcomes.push(outcome);
    }
    expect(outcomes.filter((o) => o !== 'ok' && o !== 'clean-502')).toEqual([]);
    const ok = outcomes.filter((o) => o === 'ok').length;
    expect(await simMetric(prefill[0]?.urls[0] as string, 'vllm:request_success_total', { ...label, finish_reason: 'remote_decode' })).toBe(livePrefillBefore + ok);
    const decisions = await (await fetch(router.metrics)).text();
    expect(metricValue(decisions, 'llm_d_epp_pd_decision_total', { ...label, decision_type: 'prefill-decode' })).toBe(8);
  });
});
