// Flow control end to end: the standalone proxy in front of simulated servers (real processes),
// driven by the official openai client. Capacity is made exact with the concurrency detector, so
// every assertion is about counts and order, never about time.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricValue, startSimProcess, waitUntil, type SimProcess } from '@llmd/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from './app.js';
import { writeEndpointsFile } from './test-support/fake-vllm.js';
import { startTestRouter } from './test-support/router-harness.js';

const model = 'Qwen/Qwen3-0.6B';
const DROPPED = 'x-llm-d-request-dropped-reason';
const hostPortOf = (url: string) => url.replace(/^http:\/\//, '');

/** Simulated servers with a constant latency model: TTFT and inter-token time as given. */
function startSims(servers: number, ttft: string, itl: string): Promise<SimProcess> {
  return startSimProcess([
    '--model', model, '--preset', 'qwen3-0.6b/h100', '--seed', '3', '--data-parallel-size', String(servers),
    '--latency-calculator', 'constant', '--time-to-first-token', ttft, '--inter-token-latency', itl,
    '--time-to-first-token-std-dev', '0', '--inter-token-latency-std-dev', '0',
  ]);
}

function writeObjectives(): string {
  const dir = mkdtempSync(join(tmpdir(), 'router-objectives-'));
  const file = join(dir, 'objectives.yaml');
  writeFileSync(
    file,
    ['critical', 10, 'standard', 0, 'batch', -1]
      .reduce<string[]>((docs, v, i, all) => (i % 2 === 0 ? [...docs, `apiVersion: llm-d.ai/v1alpha2\nkind: InferenceObjective\nmetadata: {name: ${v}}\nspec: {priority: ${all[i + 1]}}\n`] : docs), [])
      .join('---\n'),
  );
  return file;
}

/** A flow-control config: the concurrency detector as gate and filter, and the given bands. */
function flowConfig(maxConcurrency: number, bands: string): string {
  return `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
featureGates: [flowControl]
plugins:
- type: concurrency-detector
  parameters: {maxConcurrency: ${maxConcurrency}}
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins: [{pluginRef: concurrency-detector}, {pluginRef: queue-scorer}]
flowControl:
  saturationDetector: {pluginRef: concurrency-detector}
  priorityBands:
${bands}
`;
}

function clientOf(router: RunningRouter): OpenAI {
  return new OpenAI({ baseURL: `http://127.0.0.1:${router.ports.proxy}/v1`, apiKey: 'not-needed', maxRetries: 0, timeout: 120_000 });
}

/** One completion; `ignore_eos` makes its length exact. */
function complete(client: OpenAI, headers: Record<string, string>, maxTokens: number, signal?: AbortSignal) {
  const body = { model, prompt: 'Tell me about flow control.', max_tokens: maxTokens, ignore_eos: true } as OpenAI.CompletionCreateParamsNonStreaming;
  return client.completions.create(body, { headers, ...(signal ? { signal } : {}) });
}

/** What a request ended with: 200, or an explicit status with its dropped reason. */
interface Ending {
  status: number;
  reason: string | null;
}

async function ending(p: Promise<unknown>): Promise<Ending> {
  try {
    await p;
    return { status: 200, reason: null };
  } catch (err) {
    if (err instanceof OpenAI.APIError) return { status: err.status ?? 0, reason: err.headers?.get(DROPPED) ?? null };
    throw err;
  }
}

/** Jain's fairness index of the given throughputs: 1 is perfectly fair, 1/n is one takes all. */
function jain(xs: readonly number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return (sum * sum) / (xs.length * squares);
}

/**
 * Two tenants in closed loops (each keeps `concurrency` requests outstanding) until `total`
 * requests have completed; returns each tenant's completions at that moment.
 */
async function overload(client: OpenAI, tenants: Record<string, number>, total: number): Promise<Record<string, number>> {
  const done: Record<string, number> = Object.fromEntries(Object.keys(tenants).map((t) => [t, 0]));
  let finished = 0;
  const failures: string[] = [];
  const loops = Object.entries(tenants).flatMap(([tenant, concurrency]) =>
    Array.from({ length: concurrency }, async () => {
      while (finished < total) {
        const e = await ending(complete(client, { 'x-llm-d-inference-fairness-id': tenant }, 8));
        if (e.status !== 200) failures.push(`${tenant}: ${e.status} ${e.reason}`);
        else if (finished < total) {
          finished++;
          (done[tenant] as number)++;
        }
      }
    }),
  );
  await Promise.all(loops);
  expect(failures).toEqual([]);
  return done;
}

describe('flow control: fairness between tenants above capacity', () => {
  let sims: SimProcess;
  let endpoints: string;

  beforeAll(async () => {
    // Two servers; each request takes 20 ms + 7 × 5 ms of engine time.
    sims = await startSims(2, '20ms', '5ms');
    endpoints = writeEndpointsFile(sims.urls.map(hostPortOf));
  }, 120_000);
  afterAll(async () => {
    await sims?.stop();
  });

  async function run(policy: string, tenants: Record<string, number>, total: number) {
    // 2 endpoints × 4 = 8 requests in flight at most; the rest waits in the router.
    await using router = await startTestRouter(['--config-text', flowConfig(4, `  - {priority: 0, fairnessPolicyRef: ${policy}}`), '--endpoints-file', endpoints, '--proxy-port', '0']);
    const done = await overload(clientOf(router), tenants, total);
    const text = await router.metrics.registry.metrics();
    await waitUntil(() => router.flowControl?.stats().requests === 0, 'the queues to drain');
    return { done, text, router };
  }

  it('gives two tenants of equal demand equal throughput (Jain ≥ 0.95, within 5%) with round-robin fairness', async () => {
    const { done, text } = await run('round-robin-fairness-policy', { 'tenant-a': 12, 'tenant-b': 12 }, 600);
    const [a, b] = [done['tenant-a'] as number, done['tenant-b'] as number];
    expect(a + b).toBe(600);
    expect(jain([a, b])).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(a - b) / Math.max(a, b)).toBeLessThanOrEqual(0.05);
    // Demand (24 outstanding) was above capacity (8): requests did wait in the router.
    expect(metricValue(text, 'llm_d_epp_flow_control_request_queue_duration_seconds_count', { fairness_id: 'tenant-a', outcome: 'Dispatched' })).toBeGreaterThan(0);
  }, 120_000);

  it('keeps a flooding tenant to its share with round-robin, where global-strict lets it take what its backlog asks', async () => {
    const tenants = { flood: 16, modest: 6 };
    const rr = (await run('round-robin-fairness-policy', tenants, 300)).done;
    const gs = (await run('global-strict-fairness-policy', tenants, 300)).done;
    const share = (d: Record<string, number>) => [d.flood as number, d.modest as number];
    expect(jain(share(rr))).toBeGreaterThanOrEqual(0.95);
    // Arrival order follows the backlog: the flood gets about 16/22 of the dispatches.
    expect(jain(share(gs))).toBeLessThan(0.9);
    expect(gs.flood as number).toBeGreaterThan(2 * (gs.modest as number));
  }, 180_000);
});

describe('flow control: priority bands, shedding, TTL and disconnects', () => {
  let sims: SimProcess;
  let router: RunningRouter;
  let client: OpenAI;
  const objective = (name: string) => ({ 'x-llm-d-inference-objective': name });

  beforeAll(async () => {
    // One server, one request at a time: dispatch order is completion order. A request of n
    // tokens takes 150 ms + (n − 1) × 10 ms of engine time.
    sims = await startSims(1, '150ms', '10ms');
    const bands = ['  - {priority: 10}', '  - {priority: 0}', '  - {priority: -1, maxRequests: 6}'].join('\n');
    router = await startTestRouter([
      '--config-text', flowConfig(1, bands),
      '--endpoints-file', writeEndpointsFile(sims.urls.map(hostPortOf)),
      '--objectives-file', writeObjectives(),
      '--proxy-port', '0',
    ]);
    client = clientOf(router);
  }, 120_000);
  afterAll(async () => {
    await router?.close();
    await sims?.stop();
  });

  const band = (priority: number) => router.flowControl?.stats().bands.find((b) => b.priority === priority)?.requests ?? 0;
  const saturated = () => (router.config.saturationDetector?.saturation(router.datastore.endpoints()) ?? 0) >= 1;

  it('serves the high band before every queued lower request, sheds the sheddable band at its limit, and answers every request', async () => {
    const order: string[] = [];
    const track = (label: string, p: Promise<unknown>) => ending(p).then((e) => (e.status === 200 && order.push(label), e));
    // 20 sheddable requests: 1 runs, 6 wait (the band's maxRequests), 13 are shed at once.
    const batch = Array.from({ length: 20 }, () => track('batch', complete(client, objective('batch'), 5)));
    await waitUntil(() => band(-1) === 6, 'six batch requests queued', 20_000);
    const high = Array.from({ length: 3 }, () => track('critical', complete(client, objective('critical'), 5)));
    const mid = Array.from({ length: 2 }, () => track('standard', complete(client, objective('standard'), 5)));
    await waitUntil(() => band(10) === 3 && band(0) === 2, 'the critical and standard requests queued', 20_000);
    // Batch requests already dispatched when the higher bands were all waiting.
    const dispatchedBatch = 7 - band(-1);

    const endings = await Promise.all([...batch, ...high, ...mid]);
    const shed = endings.filter((e) => e.status !== 200);
    expect(shed).toHaveLength(13);
    expect(shed.every((e) => e.status === 429 && e.reason === 'rejected-saturated')).toBe(true);
    expect(order).toEqual([
      ...Array<string>(dispatchedBatch).fill('batch'),
      'critical', 'critical', 'critical',
      'standard', 'standard',
      ...Array<string>(7 - dispatchedBatch).fill('batch'),
    ]);

    // Nothing is left waiting, and the metrics account for every request.
    expect(router.flowControl?.stats()).toMatchObject({ requests: 0, bytes: 0 });
    const text = await router.metrics.registry.metrics();
    const count = (labels: Record<string, string>) => metricValue(text, 'llm_d_epp_flow_control_request_queue_duration_seconds_count', labels) ?? 0;
    expect(count({ priority: '-1', outcome: 'Dispatched' }) + count({ priority: '-1', outcome: 'RejectedCapacity' })).toBe(20);
    expect(count({ priority: '10', outcome: 'Dispatched' })).toBe(3);
    expect(metricValue(text, 'llm_d_epp_flow_control_queue_size', { priority: '-1', fairness_id: 'default-flow' })).toBe(0);
  }, 120_000);

  it('evicts a request whose own TTL runs out with 503 rejected-ttl-expired', async () => {
    const holder = ending(complete(client, objective('standard'), 200));
    await waitUntil(saturated, 'the holder to occupy the only slot');
    const short = await Promise.all([1, 2].map(() => ending(complete(client, { ...objective('standard'), 'x-llm-d-inference-ttl': '50ms' }, 1))));
    expect(short).toEqual([
      { status: 503, reason: 'rejected-ttl-expired' },
      { status: 503, reason: 'rejected-ttl-expired' },
    ]);
    expect(await holder).toEqual({ status: 200, reason: null });
  }, 60_000);

  it('drops a queued request from its queue as soon as its client disconnects', async () => {
    const before = metricValue(await router.metrics.registry.metrics(), 'llm_d_epp_flow_control_request_queue_duration_seconds_count', { outcome: 'EvictedContextCancelled' }) ?? 0;
    const holder = ending(complete(client, objective('standard'), 200));
    await waitUntil(saturated, 'the holder to occupy the only slot');
    const abort = new AbortController();
    const leaving = complete(client, objective('critical'), 1, abort.signal).catch((err: unknown) => err);
    await waitUntil(() => band(10) === 1, 'the request to queue');
    abort.abort();
    await waitUntil(() => band(10) === 0, 'the queue to drop it');
    // Still saturated: the holder runs. The request left because its client did, not by dispatch.
    expect(saturated()).toBe(true);
    expect(await leaving).toBeInstanceOf(OpenAI.APIUserAbortError);
    const after = metricValue(await router.metrics.registry.metrics(), 'llm_d_epp_flow_control_request_queue_duration_seconds_count', { outcome: 'EvictedContextCancelled' });
    expect(after).toBe(before + 1);
    expect(await holder).toEqual({ status: 200, reason: null });
  }, 60_000);

  it('tells a dispatched request how long it waited', async () => {
    const { response } = await client.completions.create({ model, prompt: 'hi', max_tokens: 1 }, { headers: objective('critical') }).withResponse();
    expect(response.headers.get('x-llm-d-flow-queue-duration-ms')).toMatch(/^\d+$/);
  });
});

describe('flow control: priority-holdback keeps room for the high band', () => {
  let sims: SimProcess;
  let router: RunningRouter;
  let client: OpenAI;

  beforeAll(async () => {
    sims = await startSims(1, '300ms', '10ms');
    const config = flowConfig(2, '  - {priority: 10}\n  - {priority: 0}\n  usageLimitPolicyPluginRef: holdback').replace(
      '- type: queue-scorer',
      "- type: queue-scorer\n- {name: holdback, type: priority-holdback-policy, parameters: {domain: explicit, ceilings: {'10': 1.0, '0': 0.5}}}",
    );
    router = await startTestRouter(['--config-text', config, '--endpoints-file', writeEndpointsFile(sims.urls.map(hostPortOf)), '--objectives-file', writeObjectives(), '--proxy-port', '0']);
    client = clientOf(router);
  }, 120_000);
  afterAll(async () => {
    await router?.close();
    await sims?.stop();
  });

  const band = (priority: number) => router.flowControl?.stats().bands.find((b) => b.priority === priority)?.requests ?? 0;
  const saturation = () => router.config.saturationDetector?.saturation(router.datastore.endpoints()) ?? 0;

  it('dispatches a high-priority request into the reserved slot at once, while lower requests keep waiting', async () => {
    const order: string[] = [];
    const track = (label: string, p: Promise<unknown>) => ending(p).then((e) => (order.push(label), e));
    // Two slots; the standard band may use one of them (ceiling 0.5): one runs, five wait.
    const standard = Array.from({ length: 6 }, () => track('standard', complete(client, { 'x-llm-d-inference-objective': 'standard' }, 10)));
    await waitUntil(() => band(0) === 5 && saturation() === 0.5, 'one standard request running, five waiting', 20_000);
    const critical = track('critical', complete(client, { 'x-llm-d-inference-objective': 'critical' }, 10));
    // The critical request took the free slot without waiting for any completion.
    await waitUntil(() => saturation() === 1, 'the critical request to be dispatched', 20_000);
    expect([band(10), band(0)]).toEqual([0, 5]);
    const endings = await Promise.all([...standard, critical]);
    expect(endings.every((e) => e.status === 200)).toBe(true);
    // It ran beside the first standard request, so it finished before the second started.
    expect(order).toEqual(['standard', 'critical', 'standard', 'standard', 'standard', 'standard', 'standard']);
  }, 120_000);
});
