import { describe, expect, it } from 'vitest';
import { bodyMsg, ExtProcCall, extProcClient, headersMsg, plain, type Reply } from './extproc/test-support/ext-proc-harness.js';
import { FakeVllm, writeEndpointsFile, type FakeMetrics } from './test-support/fake-vllm.js';
import { startTestRouter } from './test-support/router-harness.js';

// The scorers of upstream's hermetic ext_proc tests, each at weight 1.
const CONFIG = `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
- type: lora-affinity-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: kv-cache-utilization-scorer
  - pluginRef: prefix-cache-scorer
  - pluginRef: lora-affinity-scorer
`;

/** `ip:port` of the i-th fake. */
const hostPortOf = (env: { fakes: FakeVllm[] }, i: number) => (env.fakes[i] as FakeVllm).hostPort;

const headers = { ':method': 'POST', ':path': '/v1/completions', hi: 'mom', 'x-request-id': 'test-request-id', 'content-type': 'application/json' };
const body = (model: string, prompt = 'test1') => JSON.stringify({ max_tokens: 100, model, prompt, temperature: 0 });

/** Fake model servers with the given metrics, a router over them, and a raw ext_proc client. */
async function setUp(pods: FakeMetrics[]) {
  const fakes = await Promise.all(pods.map((m) => FakeVllm.start(m)));
  const file = writeEndpointsFile(fakes.map((f) => f.hostPort));
  const router = await startTestRouter(['--config-text', CONFIG, '--endpoints-file', file]);
  const client = extProcClient(router.ports.grpc);
  return {
    fakes,
    router,
    call: () => new ExtProcCall(client),
    async [Symbol.asyncDispose]() {
      client.close();
      await router.close();
      for (const f of fakes) await f[Symbol.asyncDispose]();
    },
  };
}

function setHeaders(reply: Reply): Record<string, string> {
  const common = (reply.request_headers as { response: { header_mutation: { set_headers: Array<{ header: { key: string; raw_value: Buffer } }> } } }).response;
  return Object.fromEntries(common.header_mutation.set_headers.map((h) => [h.header.key, Buffer.from(h.header.raw_value).toString('utf8')]));
}

function immediate(reply: Reply): { status: number; body: string; headers: Record<string, string> } {
  const r = reply.immediate_response as { status: { code: string | number }; body: Buffer; headers?: { set_headers?: Array<{ header: { key: string; raw_value: Buffer } }> } };
  return {
    status: typeof r.status.code === 'number' ? r.status.code : Number(r.status.code),
    body: Buffer.from(r.body).toString('utf8'),
    headers: Object.fromEntries((r.headers?.set_headers ?? []).map((h) => [h.header.key, Buffer.from(h.header.raw_value).toString('utf8')])),
  };
}

async function routeTo(env: Awaited<ReturnType<typeof setUp>>, reqBody: string, metadata?: Record<string, unknown>): Promise<string> {
  const { replies } = await env.call().exchange(headersMsg('request_headers', headers, false, metadata), bodyMsg('request_body', reqBody, true));
  expect(replies[0]?.response).toBe('request_headers');
  return setHeaders(replies[0] as Reply)['x-gateway-destination-endpoint'] as string;
}

describe('ext_proc routing with the real scheduler (upstream hermetic cases)', () => {
  it('selects the endpoint with the lower queue and KV use, and answers headers, metadata and body exactly', async () => {
    await using env = await setUp([{ waiting: 3, kv: 0.2 }, { waiting: 0, kv: 0.1 }, { waiting: 10, kv: 0.2 }]);
    const reqBody = body('my-model');
    const { replies, status } = await env.call().exchange(headersMsg('request_headers', headers), bodyMsg('request_body', reqBody, true));
    expect(status.code).toBe(0);
    expect(replies.map((r) => r.response)).toEqual(['request_headers', 'request_body']);
    const target = hostPortOf(env, 1);
    expect(setHeaders(replies[0] as Reply)).toEqual({
      'x-gateway-destination-endpoint': target,
      'Content-Length': String(Buffer.byteLength(reqBody)),
      hi: 'mom',
      'x-request-id': 'test-request-id',
      'content-type': 'application/json',
    });
    expect(plain(replies[0]?.dynamic_metadata)).toEqual({
      fields: { 'envoy.lb': { kind: 'structValue', structValue: { fields: { 'x-gateway-destination-endpoint': { kind: 'stringValue', stringValue: target } } } } },
    });
    expect(plain(replies[1])).toMatchObject({ request_body: { response: { body_mutation: { streamed_response: { body: reqBody, end_of_stream: true } } } } });
  });

  it('prefers lower KV-cache use when queues are equal', async () => {
    await using env = await setUp([{ waiting: 0, kv: 0.6 }, { waiting: 0, kv: 0.1 }, { waiting: 0, kv: 0.9 }]);
    expect(await routeTo(env, body('my-model'))).toBe(hostPortOf(env, 1));
  });

  it('prefers the endpoint with the adapter already active, despite a higher KV use', async () => {
    await using env = await setUp([
      { waiting: 0, kv: 0.1, runningLoras: ['other-a', 'other-b'], maxLoras: 2 },
      { waiting: 0, kv: 0.4, runningLoras: ['sql-lora-1fdg2'], maxLoras: 2 },
      { waiting: 0, kv: 0.1, runningLoras: ['other-c', 'other-d'], maxLoras: 2 },
    ]);
    expect(await routeTo(env, body('sql-lora-1fdg2'))).toBe(hostPortOf(env, 1));
  });

  it('accepts a body split over many chunks', async () => {
    await using env = await setUp([{ waiting: 5, kv: 0.5 }, { waiting: 0, kv: 0.1 }]);
    const text = body('sql-lora-1fdg3', 'x'.repeat(5000));
    const chunks = [];
    for (let i = 0; i < text.length; i += 97) chunks.push(bodyMsg('request_body', text.slice(i, i + 97), i + 97 >= text.length));
    const { replies } = await env.call().exchange(headersMsg('request_headers', headers), ...chunks);
    expect(setHeaders(replies[0] as Reply)['x-gateway-destination-endpoint']).toBe(hostPortOf(env, 1));
    const routed = replies.slice(1).map((r) => Buffer.from((plain(r) as { request_body: { response: { body_mutation: { streamed_response: { body: string } } } } }).request_body.response.body_mutation.streamed_response.body)).join('');
    expect(routed).toBe(text);
  });

  it('answers invalid JSON with 400', async () => {
    await using env = await setUp([{ waiting: 0, kv: 0.1 }]);
    const { replies } = await env.call().exchange(headersMsg('request_headers', headers), bodyMsg('request_body', 'no healthy upstream', true));
    expect(replies).toHaveLength(1);
    const r = immediate(replies[0] as Reply);
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/^inference error: BadRequest - error unmarshaling request body: /);
  });

  it('answers a body without a model with 400', async () => {
    await using env = await setUp([{ waiting: 0, kv: 0.1 }]);
    const { replies } = await env.call().exchange(headersMsg('request_headers', headers), bodyMsg('request_body', '{"prompt":"hello world"}', true));
    expect(immediate(replies[0] as Reply)).toMatchObject({ status: 400, body: 'inference error: BadRequest - model not found in request body' });
  });

  it('routes a GET with no body to an endpoint at once', async () => {
    await using env = await setUp([{ waiting: 0, kv: 0.1 }]);
    const { replies } = await env.call().exchange(headersMsg('request_headers', { ':method': 'GET', ':path': '/v1/models' }, true));
    expect(replies.map((r) => r.response)).toEqual(['request_headers']);
    expect(setHeaders(replies[0] as Reply)['x-gateway-destination-endpoint']).toBe(hostPortOf(env, 0));
  });

  it.each([
    ['all endpoints', (f: FakeVllm[]) => f.map((x) => x.hostPort), 1],
    ['some endpoints', (f: FakeVllm[]) => [(f[2] as FakeVllm).hostPort], 2],
  ])('honours a subset hint covering %s', async (_label, subset, expected) => {
    await using env = await setUp([{ waiting: 5, kv: 0.5 }, { waiting: 0, kv: 0.1 }, { waiting: 9, kv: 0.9 }]);
    const metadata = { 'envoy.lb.subset_hint': { fields: { 'x-gateway-destination-endpoint-subset': { listValue: { values: subset(env.fakes).map((s) => ({ stringValue: s })) } } } } };
    expect(await routeTo(env, body('my-model'), metadata)).toBe(hostPortOf(env, expected));
  });

  it('answers 503 with a dropped reason when the subset hint matches no endpoint', async () => {
    await using env = await setUp([{ waiting: 0, kv: 0.1 }]);
    const metadata = { 'envoy.lb.subset_hint': { fields: { 'x-gateway-destination-endpoint-subset': { listValue: { values: [{ stringValue: '192.168.1.99:8000' }] } } } } };
    const { replies } = await env.call().exchange(headersMsg('request_headers', headers, false, metadata), bodyMsg('request_body', body('my-model'), true));
    expect(immediate(replies[0] as Reply)).toEqual({
      status: 503,
      body: 'inference error: ServiceUnavailable - failed to find endpoint candidates for serving the request',
      headers: { 'x-llm-d-request-dropped-reason': 'rejected-no-endpoints' },
    });
  });

  it('answers 503 when there are no endpoints at all', async () => {
    await using env = await setUp([]);
    const { replies } = await env.call().exchange(headersMsg('request_headers', headers), bodyMsg('request_body', body('my-model'), true));
    expect(immediate(replies[0] as Reply)).toMatchObject({ status: 503, headers: { 'x-llm-d-request-dropped-reason': 'rejected-no-endpoints' } });
  });
});
