// Admission through the ext_proc server: shedding without flow control, and every flow-control
// outcome as the ImmediateResponse Envoy returns to the client (same status and dropped reason as
// the standalone proxy answers with).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from '@llmd/testing';
import { describe, expect, it } from 'vitest';
import { bodyMsg, ExtProcCall, extProcClient, headersMsg, type Reply } from './extproc/test-support/ext-proc-harness.js';
import { FakeVllm, writeEndpointsFile, type FakeMetrics } from './test-support/fake-vllm.js';
import { startTestRouter } from './test-support/router-harness.js';

const OBJECTIVES = ['batch', -1, 'critical', 5]
  .reduce<string[]>((docs, v, i, all) => (i % 2 === 0 ? [...docs, `apiVersion: llm-d.ai/v1alpha2\nkind: InferenceObjective\nmetadata: {name: ${v}}\nspec: {priority: ${all[i + 1]}}\n`] : docs), [])
  .join('---\n');

const base = { ':method': 'POST', ':path': '/v1/completions', 'content-type': 'application/json', 'x-request-id': 'r' };
const body = JSON.stringify({ model: 'm', prompt: 'hello', max_tokens: 4 });

async function setUp(config: string, metrics: FakeMetrics) {
  const fake = await FakeVllm.start(metrics);
  const dir = mkdtempSync(join(tmpdir(), 'router-admission-'));
  writeFileSync(join(dir, 'objectives.yaml'), OBJECTIVES);
  const router = await startTestRouter(['--config-text', config, '--endpoints-file', writeEndpointsFile([fake.hostPort]), '--objectives-file', join(dir, 'objectives.yaml')]);
  const client = extProcClient(router.ports.grpc);
  return {
    fake,
    router,
    call: () => new ExtProcCall(client),
    async [Symbol.asyncDispose]() {
      client.close();
      await router.close();
      await fake[Symbol.asyncDispose]();
    },
  };
}

/** Sends a request with the given extra headers; the call stays open (no half-close). */
function send(call: ExtProcCall, headers: Record<string, string> = {}): ExtProcCall {
  return call.send(headersMsg('request_headers', { ...base, ...headers }), bodyMsg('request_body', body, true));
}

function immediate(reply: Reply | undefined): { status: number; body: string; headers: Record<string, string> } {
  const r = reply?.immediate_response as { status: { code: number | string }; body: Buffer; headers?: { set_headers?: Array<{ header: { key: string; raw_value: Buffer } }> } };
  expect(r, `expected an immediate_response, got ${reply?.response}`).toBeDefined();
  return {
    status: Number(r.status.code),
    body: Buffer.from(r.body).toString('utf8'),
    headers: Object.fromEntries((r.headers?.set_headers ?? []).map((h) => [h.header.key, Buffer.from(h.header.raw_value).toString('utf8')])),
  };
}

function setHeaders(reply: Reply | undefined): Record<string, string> {
  const m = (reply?.[reply.response] as { response?: { header_mutation?: { set_headers?: Array<{ header: { key: string; raw_value: Buffer } }> } } })?.response?.header_mutation;
  return Object.fromEntries((m?.set_headers ?? []).map((h) => [h.header.key, Buffer.from(h.header.raw_value).toString('utf8')]));
}

describe('admission without flow control (the flowControl gate off)', () => {
  const CONFIG = `
plugins:
- type: utilization-detector
  parameters: {metricsStalenessThreshold: 30s}
- type: queue-scorer
flowControl:
  saturationDetector: {pluginRef: utilization-detector}
`;

  it('sheds priority < 0 with 429 while the pool is saturated and routes everything else', async () => {
    await using env = await setUp(CONFIG, { waiting: 10, kv: 0.1 });
    const shed = await env.call().exchange(headersMsg('request_headers', { ...base, 'x-llm-d-inference-objective': 'batch' }), bodyMsg('request_body', body, true));
    expect(shed.replies).toHaveLength(1);
    expect(immediate(shed.replies[0])).toEqual({
      status: 429,
      body: 'inference error: ResourceExhausted - system saturated, sheddable request dropped',
      headers: { 'x-llm-d-request-dropped-reason': 'rejected-saturated' },
    });
    const objectives: Record<string, string>[] = [{ 'x-llm-d-inference-objective': 'critical' }, { 'x-gateway-inference-objective': 'critical' }, {}];
    for (const objective of objectives) {
      const { replies } = await env.call().exchange(headersMsg('request_headers', { ...base, ...objective }), bodyMsg('request_body', body, true));
      expect(replies[0]?.response).toBe('request_headers');
      expect(setHeaders(replies[0])['x-gateway-destination-endpoint']).toBe(env.fake.hostPort);
    }
    // Once the pool has room again, sheddable requests go through too.
    env.fake.metrics = { waiting: 0, kv: 0.1 };
    await waitUntil(() => env.router.datastore.endpoints()[0]?.metrics.waitingQueueSize === 0, 'the next scrape');
    const { replies } = await env.call().exchange(headersMsg('request_headers', { ...base, 'x-llm-d-inference-objective': 'batch' }), bodyMsg('request_body', body, true));
    expect(replies[0]?.response).toBe('request_headers');
  });
});

describe('flow control outcomes through ext_proc', () => {
  const CONFIG = `
featureGates: [flowControl]
plugins:
- type: concurrency-detector
  parameters: {maxConcurrency: 1}
- type: queue-scorer
flowControl:
  saturationDetector: {pluginRef: concurrency-detector}
  priorityBands:
  - {priority: 0, maxRequests: 1}
`;

  it('answers TTL expiry, a full band and a cancelled stream as upstream does, and frees the slot on completion', async () => {
    await using env = await setUp(CONFIG, { waiting: 0, kv: 0 });
    const fc = env.router.flowControl;
    if (fc === null) throw new Error('flow control should be on');

    // The only slot: routed, its response still open.
    const holder = send(env.call());
    await holder.waitForReplies(2);
    expect(holder.replies[0]?.response).toBe('request_headers');

    const expired = await send(env.call(), { 'x-llm-d-inference-ttl': '100ms' }).waitForReplies(1);
    expect(immediate(expired[0])).toEqual({
      status: 503,
      body: 'inference error: ServiceUnavailable - request timed out in queue: not dispatched within 0.1s',
      headers: { 'x-llm-d-request-dropped-reason': 'rejected-ttl-expired' },
    });

    const waiting = send(env.call());
    await waitUntil(() => fc.stats().requests === 1, 'a request queued');
    const full = await send(env.call()).waitForReplies(1);
    expect(immediate(full[0])).toEqual({
      status: 429,
      body: 'inference error: ResourceExhausted - request rejected by flow control: priority band 0 holds 1 requests (maxRequests 1)',
      headers: { 'x-llm-d-request-dropped-reason': 'rejected-saturated' },
    });

    // Envoy cancels the stream when the client goes away: the request leaves the queue at once.
    waiting.cancel();
    await waitUntil(() => fc.stats().requests === 0, 'the cancelled request to leave');
    expect(waiting.replies).toEqual([]);

    // The holder's response completes: the slot frees and the next request is routed at once.
    holder.send(headersMsg('response_headers', { ':status': '200', 'content-type': 'application/json' }), bodyMsg('response_body', '{"usage":{"prompt_tokens":1,"completion_tokens":1}}', true));
    await holder.waitForReplies(4);
    holder.end();
    const next = send(env.call());
    await next.waitForReplies(2);
    expect(next.replies[0]?.response).toBe('request_headers');
    next.send(headersMsg('response_headers', { ':status': '200', 'content-type': 'application/json' }));
    await next.waitForReplies(3);
    expect(setHeaders(next.replies[2])['x-llm-d-flow-queue-duration-ms']).toMatch(/^\d+$/);
    next.cancel();
  });
});
