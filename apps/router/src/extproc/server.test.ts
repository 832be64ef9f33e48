import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '@llmd/observability';
import { RouterError } from '@llmd/scheduling';
import { waitUntil } from '@llmd/testing';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_CHUNK_BYTES } from './messages.js';
import { createExtProcServer } from './server.js';
import {
  bodyMsg,
  endpoint,
  ExtProcCall,
  extProcClient,
  FakeDirector,
  headersMsg,
  plain,
  RecordingTracker,
  type FakeAnswer,
  type Reply,
} from './test-support/ext-proc-harness.js';

const ready = { ready: () => true };

/** A plaintext ext_proc server on a free loopback port, with a fake director. */
async function startServer(director: FakeDirector) {
  const server = createExtProcServer({ director, logger: silentLogger(), secure: false, healthState: ready });
  const port = await server.listen(0, '127.0.0.1');
  return Object.assign(server, { port });
}

/** The decoded `streamed_response` of a request_body / response_body reply. */
function streamed(reply: Reply): { body: Buffer; end_of_stream?: boolean } {
  const phase = reply[reply.response] as { response: { body_mutation: { streamed_response: { body: Buffer; end_of_stream?: boolean } } } };
  return phase.response.body_mutation.streamed_response;
}

const hv = (key: string, value: string) => ({ header: { key, raw_value: value } });
const lbMetadata = (destination: string) => ({
  fields: {
    'envoy.lb': {
      kind: 'structValue',
      structValue: { fields: { 'x-gateway-destination-endpoint': { kind: 'stringValue', stringValue: destination } } },
    },
  },
});
const bodyReply = (phase: 'request_body' | 'response_body', body: string, eos: boolean) => ({
  response: phase,
  [phase]: { response: { body_mutation: { mutation: 'streamed_response', streamed_response: eos ? { body, end_of_stream: true } : { body } } } },
});

const llmHeaders = {
  ':method': 'POST',
  ':path': '/v1/completions',
  hi: 'mom',
  'x-request-id': 'test-request-id',
  'x-llm-d-inference-objective': 'my-model',
  'content-length': '77',
};

describe('ext_proc server: request phase', () => {
  it('holds the headers until the body ends, then answers headers (destination, Content-Length, forwarded headers, metadata) and the routed body', async () => {
    const routedBody = '{"max_tokens":100,"model":"my-model-12345","prompt":"test1","temperature":0}';
    const director = new FakeDirector({
      targets: [endpoint('192.168.1.3:8000'), endpoint('192.168.1.1:8000')],
      headers: { hi: 'mom', 'x-request-id': 'test-request-id', 'x-prefiller-host-port': '192.168.1.1:8000' },
      removedHeaders: ['x-llm-d-inference-objective'],
      body: Buffer.from(routedBody),
    });
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const { replies, status } = await new ExtProcCall(client).exchange(
      headersMsg('request_headers', llmHeaders),
      bodyMsg('request_body', '{"max_tokens":100,"model":"my-model",'),
      bodyMsg('request_body', '"prompt":"test1","temperature":0}', true),
    );

    expect(status.code).toBe(grpc.status.OK);
    expect(director.calls).toEqual([
      {
        method: 'POST',
        path: '/v1/completions',
        headers: llmHeaders,
        body: Buffer.from('{"max_tokens":100,"model":"my-model","prompt":"test1","temperature":0}'),
        subsetHint: null,
        signal: expect.any(AbortSignal),
      },
    ]);
    expect(replies.map(plain)).toEqual([
      {
        response: 'request_headers',
        request_headers: {
          response: {
            clear_route_cache: true,
            header_mutation: {
              set_headers: [
                hv('x-gateway-destination-endpoint', '192.168.1.3:8000,192.168.1.1:8000'),
                hv('Content-Length', String(Buffer.byteLength(routedBody))),
                hv('hi', 'mom'),
                hv('x-request-id', 'test-request-id'),
                hv('x-prefiller-host-port', '192.168.1.1:8000'),
              ],
              remove_headers: ['x-llm-d-inference-objective'],
            },
          },
        },
        dynamic_metadata: lbMetadata('192.168.1.3:8000,192.168.1.1:8000'),
      },
      bodyReply('request_body', routedBody, true),
    ]);
  });

  it('splits a 150 KB body received in many small chunks into pieces of at most 62,000 bytes', async () => {
    // The routed body differs from the incoming one, so the test sees which one is sent.
    const routed = Buffer.alloc(150 * 1024, 'abcdefghij');
    const director = new FakeDirector({ body: routed });
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const incoming = Buffer.alloc(150 * 1024, 'z');
    const chunks = [];
    for (let i = 0; i < incoming.byteLength; i += 1000) chunks.push(bodyMsg('request_body', incoming.subarray(i, i + 1000), i + 1000 >= incoming.byteLength));
    const { replies } = await new ExtProcCall(client).exchange(headersMsg('request_headers', { ':method': 'POST', ':path': '/v1/completions' }), ...chunks);

    expect(director.calls[0]?.body).toEqual(incoming);
    expect(replies.map((r) => r.response)).toEqual(['request_headers', 'request_body', 'request_body', 'request_body']);
    const setHeaders = plain((replies[0] as unknown as { request_headers: { response: { header_mutation: { set_headers: unknown[] } } } }).request_headers.response.header_mutation.set_headers);
    expect(setHeaders).toContainEqual(hv('Content-Length', String(150 * 1024)));
    const pieces = replies.slice(1).map(streamed);
    expect(pieces.map((p) => p.body.byteLength)).toEqual([MAX_BODY_CHUNK_BYTES, MAX_BODY_CHUNK_BYTES, 150 * 1024 - 2 * MAX_BODY_CHUNK_BYTES]);
    expect(pieces.map((p) => p.end_of_stream === true)).toEqual([false, false, true]);
    expect(Buffer.concat(pieces.map((p) => p.body))).toEqual(routed);
  });

  it('routes a header-only request (GET) at once with a null body, no Content-Length and no body replies', async () => {
    const director = new FakeDirector({ headers: { 'x-request-id': 'r1' } });
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const { replies } = await new ExtProcCall(client).exchange(headersMsg('request_headers', { ':method': 'GET', ':path': '/v1/models' }, true));

    expect(director.calls).toEqual([
      { method: 'GET', path: '/v1/models', headers: { ':method': 'GET', ':path': '/v1/models' }, body: null, subsetHint: null, signal: expect.any(AbortSignal) },
    ]);
    expect(replies.map(plain)).toEqual([
      {
        response: 'request_headers',
        request_headers: {
          response: { clear_route_cache: true, header_mutation: { set_headers: [hv('x-gateway-destination-endpoint', '192.168.1.2:8000'), hv('x-request-id', 'r1')], remove_headers: [] } },
        },
        dynamic_metadata: lbMetadata('192.168.1.2:8000'),
      },
    ]);
  });

  it('answers a body that ends with an empty chunk with Content-Length 0 and one empty end-of-stream piece', async () => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const { replies } = await new ExtProcCall(client).exchange(headersMsg('request_headers', { ':method': 'POST', ':path': '/x' }), bodyMsg('request_body', '', true));

    expect(director.calls[0]?.body).toBeNull();
    expect(plain(replies[0])).toMatchObject({ request_headers: { response: { header_mutation: { set_headers: expect.arrayContaining([hv('Content-Length', '0')]) } } } });
    expect(replies.slice(1).map(plain)).toEqual([bodyReply('request_body', '', true)]);
  });

  it('reads raw_value before value, lower-cases names and keeps the first of repeated headers', async () => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const headers = {
      request_headers: {
        headers: {
          headers: [
            { key: ':method', value: 'GET' },
            { key: ':path', raw_value: Buffer.from('/v1/models?x=1') },
            { key: 'X-Both', value: 'from-value', raw_value: Buffer.from('from-raw') },
            { key: 'x-dup', raw_value: Buffer.from('first') },
            { key: 'x-dup', raw_value: Buffer.from('second') },
            { key: 'x-latin1', raw_value: Buffer.from([0x63, 0x61, 0x66, 0xe9]) },
          ],
        },
        end_of_stream: true,
      },
    };
    await new ExtProcCall(client).exchange(headers);
    expect(director.calls[0]?.path).toBe('/v1/models?x=1');
    expect(director.calls[0]?.headers).toEqual({ ':method': 'GET', ':path': '/v1/models?x=1', 'x-both': 'from-raw', 'x-dup': 'first', 'x-latin1': 'café' });
  });

  it('never sets the destination, Content-Length or pseudo-headers from the director\'s forwarded headers', async () => {
    const director = new FakeDirector({ headers: { 'content-length': '1', 'x-gateway-destination-endpoint': 'evil:1', ':authority': 'x', ok: 'yes' } });
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const { replies } = await new ExtProcCall(client).exchange(headersMsg('request_headers', { ':method': 'POST' }), bodyMsg('request_body', 'ab', true));
    expect(plain((replies[0] as unknown as { request_headers: { response: { header_mutation: unknown } } }).request_headers.response.header_mutation)).toEqual({
      set_headers: [hv('x-gateway-destination-endpoint', '192.168.1.2:8000'), hv('Content-Length', '2'), hv('ok', 'yes')],
      remove_headers: [],
    });
  });

  const subsetKey = 'x-gateway-destination-endpoint-subset';
  const list = (...ips: string[]) => ({ fields: { [subsetKey]: { listValue: { values: ips.map((s) => ({ stringValue: s })) } } } });
  it.each([
    ['absent', undefined, null],
    ['all pods', { 'envoy.lb.subset_hint': list('192.168.1.1:8000', '192.168.1.2:8000', '192.168.1.3:8000') }, ['192.168.1.1:8000', '192.168.1.2:8000', '192.168.1.3:8000']],
    ['some pods', { 'envoy.lb.subset_hint': list('192.168.1.3:8000') }, ['192.168.1.3:8000']],
    ['an empty list (no candidates)', { 'envoy.lb.subset_hint': list() }, []],
    ['a namespace without the key', { 'envoy.lb.subset_hint': { fields: { other: { stringValue: 'x' } } } }, null],
    ['another namespace only', { 'envoy.lb': list('192.168.1.1:8000') }, null],
  ])('passes the subset hint through: %s', async (_name, filterMetadata, expected) => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    await new ExtProcCall(client).exchange(headersMsg('request_headers', { ':method': 'POST' }, false, filterMetadata), bodyMsg('request_body', '{}', true));
    expect(director.calls[0]?.subsetHint).toEqual(expected);
  });

  it.each<[string, FakeAnswer, number, string, string | null]>([
    [
      'BadRequest',
      { error: new RouterError('BadRequest', 'model not found in request body') },
      400,
      'inference error: BadRequest - model not found in request body',
      null,
    ],
    [
      'ResourceExhausted (shed)',
      { error: new RouterError('ResourceExhausted', 'system saturated, request dropped', { droppedReason: 'rejected-saturated' }) },
      429,
      'inference error: ResourceExhausted - system saturated, request dropped',
      'rejected-saturated',
    ],
    [
      'ServiceUnavailable (subset without pods)',
      { error: new RouterError('ServiceUnavailable', 'failed to find endpoint candidates for serving the request', { droppedReason: 'rejected-no-endpoints' }) },
      503,
      'inference error: ServiceUnavailable - failed to find endpoint candidates for serving the request',
      'rejected-no-endpoints',
    ],
    ['an unknown error', { error: new Error('no pods available in datastore') }, 500, 'inference error: Internal - no pods available in datastore', null],
  ])('answers %s with an ImmediateResponse and ends the stream', async (_name, answer, code, body, reason) => {
    const director = new FakeDirector(answer);
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const call = new ExtProcCall(client).send(headersMsg('request_headers', llmHeaders), bodyMsg('request_body', '{"prompt":"hello world"}', true));
    // No half-close from the client: the server ends the stream itself after an ImmediateResponse.
    const status = await call.finished;
    expect(status.code).toBe(grpc.status.OK);
    const immediate: Record<string, unknown> = { status: { code }, body };
    if (reason) immediate.headers = { set_headers: [hv('x-llm-d-request-dropped-reason', reason)], remove_headers: [] };
    expect(call.replies.map(plain)).toEqual([{ response: 'immediate_response', immediate_response: immediate }]);
  });

  it('answers request trailers with an empty TrailersResponse, routing first when the body had no end of stream', async () => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const { replies } = await new ExtProcCall(client).exchange(
      headersMsg('request_headers', { ':method': 'POST' }),
      bodyMsg('request_body', 'abc'),
      { request_trailers: { trailers: { headers: [{ key: 'grpc-status', raw_value: Buffer.from('0') }] } } },
    );
    expect(director.calls[0]?.body).toEqual(Buffer.from('abc'));
    expect(replies.slice(1).map(plain)).toEqual([bodyReply('request_body', 'abc', false), { response: 'request_trailers', request_trailers: {} }]);
  });
});

describe('ext_proc server: response phase', () => {
  const request = [headersMsg('request_headers', { ':method': 'POST', ':path': '/v1/chat/completions' }), bodyMsg('request_body', '{"model":"m"}', true)];

  it('calls headers() with status, headers and the served endpoint, and echoes the headers plus x-went-into-resp-headers and the added ones', async () => {
    const tracker = new RecordingTracker({ 'x-session-token': 'c2Vzcw==' });
    const director = new FakeDirector({ targets: [endpoint('192.168.1.1:8000'), endpoint('192.168.1.2:8000')] }, tracker);
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const { replies } = await new ExtProcCall(client).exchange(
      ...request,
      headersMsg('response_headers', { ':status': '200', 'content-type': 'application/json', 'x-inference-pod': 'pod-2' }, false, {
        'envoy.lb': { fields: { 'x-gateway-destination-endpoint-served': { stringValue: '192.168.1.2:8000' } } },
      }),
      bodyMsg('response_body', '{}', true),
    );
    expect(tracker.headerCalls).toEqual([{ status: 200, headers: { 'content-type': 'application/json', 'x-inference-pod': 'pod-2' }, servedBy: '192.168.1.2:8000' }]);
    expect(plain(replies[2])).toEqual({
      response: 'response_headers',
      response_headers: {
        response: {
          header_mutation: {
            set_headers: [
              hv('x-went-into-resp-headers', 'true'),
              hv('content-type', 'application/json'),
              hv('x-inference-pod', 'pod-2'),
              hv('x-session-token', 'c2Vzcw=='),
            ],
            remove_headers: [],
          },
        },
      },
    });
  });

  it('reports the primary target as the served endpoint when the proxy sends none', async () => {
    const director = new FakeDirector({ targets: [endpoint('192.168.1.1:8000'), endpoint('192.168.1.2:8000')] });
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    await new ExtProcCall(client).exchange(...request, headersMsg('response_headers', { ':status': '503' }, true));
    expect(director.tracker.headerCalls).toEqual([{ status: 503, headers: {}, servedBy: '192.168.1.1:8000' }]);
    // Headers with end of stream: the response is over, without body bytes.
    expect(director.tracker.firstChunks).toBe(0);
    expect(director.tracker.completions).toEqual([{ usage: null, failed: false }]);
  });

  it('passes server-sent events through chunk by chunk and reads usage from the final chunk', async () => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const sse = [
      'data: {"choices":[{"text":"Hi"}]}\n\n',
      'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\ndata: [DONE]\n\n',
      '',
    ];
    const { replies } = await new ExtProcCall(client).exchange(
      ...request,
      headersMsg('response_headers', { ':status': '200', 'content-type': 'text/event-stream' }),
      bodyMsg('response_body', sse[0] as string),
      bodyMsg('response_body', sse[1] as string),
      bodyMsg('response_body', sse[2] as string, true),
    );
    expect(replies.slice(3).map(plain)).toEqual([bodyReply('response_body', sse[0] as string, false), bodyReply('response_body', sse[1] as string, false), bodyReply('response_body', '', true)]);
    expect(director.tracker.firstChunks).toBe(1);
    expect(director.tracker.completions).toEqual([{ usage: { promptTokens: 7, completionTokens: 3, cachedTokens: null }, failed: false }]);
  });

  it('sends each SSE chunk before the next one arrives', async () => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const call = new ExtProcCall(client).send(...request, headersMsg('response_headers', { ':status': '200', 'content-type': 'text/event-stream' }), bodyMsg('response_body', 'data: {}\n\n'));
    const replies = await call.waitForReplies(4);
    expect(plain(replies[3])).toEqual(bodyReply('response_body', 'data: {}\n\n', false));
    call.send(bodyMsg('response_body', '', true)).end();
    await call.finished;
    expect(director.tracker.completions).toEqual([{ usage: null, failed: false }]);
  });

  const usageJson = JSON.stringify({ id: 'c1', choices: [{ text: 'x'.repeat(70_000) }], usage: { prompt_tokens: 12, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 8 } } });
  it.each([
    ['two chunks then an empty end-of-stream chunk', ['{"usage":{"prompt_tokens":7,', '"completion_tokens":2}}', ''], [{ promptTokens: 7, completionTokens: 2, cachedTokens: null }]],
    ['invalid JSON (echoed unchanged, no usage)', ['no healthy ', 'upstream'], [null]],
    ['a body above 62,000 bytes (re-chunked)', [usageJson.slice(0, 30_000), usageJson.slice(30_000)], [{ promptTokens: 12, completionTokens: 5, cachedTokens: 8 }]],
  ])('buffers a non-streaming body until its end, then emits it once: %s', async (_name, chunks, usage) => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const body = chunks.join('');
    const { replies } = await new ExtProcCall(client).exchange(
      ...request,
      headersMsg('response_headers', { ':status': '200', 'content-type': 'application/json' }),
      ...chunks.map((c, i) => bodyMsg('response_body', c, i === chunks.length - 1)),
    );
    const pieces = replies.slice(3).map(streamed);
    const expectedSizes = [];
    for (let left = Buffer.byteLength(body); left > 0; left -= MAX_BODY_CHUNK_BYTES) expectedSizes.push(Math.min(left, MAX_BODY_CHUNK_BYTES));
    expect(pieces.map((p) => p.body.byteLength)).toEqual(expectedSizes);
    expect(pieces.map((p) => p.end_of_stream === true)).toEqual(expectedSizes.map((_, i) => i === expectedSizes.length - 1));
    expect(Buffer.concat(pieces.map((p) => p.body)).toString()).toBe(body);
    expect(director.tracker.firstChunks).toBe(1);
    expect(director.tracker.completions).toEqual([{ usage: usage[0], failed: false }]);
  });

  it('answers response trailers with an empty TrailersResponse after flushing the buffered body', async () => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const { replies } = await new ExtProcCall(client).exchange(
      ...request,
      headersMsg('response_headers', { ':status': '200', 'content-type': 'application/grpc' }),
      bodyMsg('response_body', 'abc'),
      { response_trailers: { trailers: { headers: [{ key: 'grpc-status', raw_value: Buffer.from('0') }] } } },
    );
    expect(replies.slice(3).map(plain)).toEqual([bodyReply('response_body', 'abc', false), { response: 'response_trailers', response_trailers: {} }]);
    expect(director.tracker.completions).toEqual([{ usage: null, failed: false }]);
  });

  it('reports a response cut by a client cancel as failed, once', async () => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const call = new ExtProcCall(client).send(
      ...request,
      headersMsg('response_headers', { ':status': '200', 'content-type': 'text/event-stream' }),
      bodyMsg('response_body', 'data: {"usage":{"prompt_tokens":3,"completion_tokens":1}}\n'),
    );
    await call.waitForReplies(4);
    expect(director.tracker.completions).toEqual([]);
    call.cancel();
    await director.tracker.completed;
    await server.close();
    expect(director.tracker.completions).toEqual([{ usage: { promptTokens: 3, completionTokens: 1, cachedTokens: null }, failed: true }]);
  });

  it('reports a request cancelled while it was being routed as failed, once', async () => {
    let open!: () => void;
    const director = new FakeDirector();
    director.gate = new Promise((resolve) => {
      open = resolve;
    });
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const call = new ExtProcCall(client).send(...request);
    await director.routeCalled;
    call.cancel();
    expect((await call.finished).code).toBe(grpc.status.CANCELLED);
    // The director learns at once (a request waiting in flow control leaves its queue).
    await waitUntil(() => director.calls[0]?.signal?.aborted === true, 'the abort signal');
    open();
    await director.tracker.completed;
    await server.close();
    expect(director.tracker.completions).toEqual([{ usage: null, failed: true }]);
  });

  it('reports a stream that Envoy closes before the response ends as failed', async () => {
    const director = new FakeDirector();
    await using server = await startServer(director);
    using client = extProcClient(server.port);
    const { status } = await new ExtProcCall(client).exchange(...request, headersMsg('response_headers', { ':status': '200', 'content-type': 'application/json' }), bodyMsg('response_body', '{"a":'));
    expect(status.code).toBe(grpc.status.OK);
    expect(director.tracker.completions).toEqual([{ usage: null, failed: true }]);
  });
});
