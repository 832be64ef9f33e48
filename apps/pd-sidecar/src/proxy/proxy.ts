import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { PREFILLER_HOST_PORT_HEADER, PREFILLER_URL_HEADER_LEGACY, REQUEST_ID_HEADER } from '@llmd/api';
import type { Logger } from 'pino';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import { formatHostPort, parseHostPort, type HostPort, type PrefillAllowlist } from '../allowlist/allowlist.js';
import { SidecarError, toHttpError } from '../errors.js';
import type { SidecarMetrics } from '../metrics.js';
import type { LegTls, SidecarOptions } from '../options.js';
import { decodeBody, DISAGGREGATED_PATHS, parseJsonObject, prefillBody, returnedKvTransferParams, type ApiType, type JsonObject } from './nixlv2.js';

/** Largest request body a disaggregated request may have (it is buffered to be rewritten twice). */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;
/** Largest prefill answer read (one token plus `kv_transfer_params`; anything near this is wrong). */
export const MAX_PREFILL_ANSWER_BYTES = 16 * 1024 * 1024;
/** Prefill statuses worth another attempt, as upstream: the pod is overloaded or restarting. */
const RETRYABLE_STATUSES = new Set([502, 503, 504]);

// Connection-level headers that never cross a proxy (RFC 9110 §7.6.1), plus those undici sets
// itself or refuses (`expect`, `host`).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'expect', 'http2-settings']);

/** What the proxy needs from the process. */
export interface PdProxyDeps {
  readonly options: SidecarOptions;
  readonly logger: Logger;
  readonly allowlist: PrefillAllowlist;
  readonly metrics: SidecarMetrics;
  /** Random source of `--enable-prefiller-sampling` (default Math.random). */
  readonly random?: () => number;
  /** Largest disaggregated request body (default {@link MAX_BODY_BYTES}). */
  readonly maxBodyBytes?: number;
}

/** How one prefill attempt ended without an answer usable for the decode leg. */
type PrefillFailure = { kind: 'status'; target: HostPort; status: number; headers: IncomingHttpHeaders; body: Buffer } | { kind: 'transport'; target: HostPort; error: Error };

function agentFor(tls: LegTls, options: SidecarOptions): Agent {
  return new Agent({
    connect: { timeout: 10_000, ...(tls.enabled ? { rejectUnauthorized: !tls.insecureSkipVerify } : {}) },
    keepAliveTimeout: 90_000,
    keepAliveMaxTimeout: 600_000,
    // Go's MaxIdleConnsPerHost has no exact undici twin; bounding the pool per origin keeps the same ceiling.
    connections: options.maxIdleConnsPerHost,
    pipelining: 1,
  });
}

/** Request headers to forward: everything but hop-by-hop headers (and `content-length` when the body changes). */
function forwardedHeaders(incoming: IncomingHttpHeaders, keepContentLength: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (name === 'content-length' && !keepContentLength) continue;
    out[name] = value;
  }
  return out;
}

/** Response headers to relay to the client. */
function relayedHeaders(upstream: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The prefill targets named by the request: `x-prefiller-host-port` (or the legacy `x-prefiller-url`), comma-separated. */
function prefillerTargets(headers: IncomingHttpHeaders): string[] {
  for (const name of [PREFILLER_HOST_PORT_HEADER, PREFILLER_URL_HEADER_LEGACY]) {
    const raw = headers[name];
    const values = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
    if (values.length > 0) return values;
  }
  return [];
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a stream to its end, failing with `tooLarge` past `limit` bytes. */
async function readAll(body: AsyncIterable<Buffer>, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/**
 * Reads a request body up to `limit` bytes; null when it is larger, in which case the rest is
 * drained unread so the error answer can still go out on the connection.
 */
function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.resume();
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks, size));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function describeTransportError(err: Error): string {
  const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
  const message = err.message || String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * The sidecar's request handling. `/v1/completions` and `/v1/chat/completions` with a prefill
 * target run the nixlv2 flow: the prefill leg on the named pod (bounded retries, rotating over the
 * targets the header lists), then the decode leg on the local model server with the returned
 * `kv_transfer_params` and the same `x-request-id`. Everything else — those paths without a
 * prefill target, `/metrics`, `/v1/models`, … — streams straight to the local model server.
 * Responses stream to the client chunk by chunk, byte for byte.
 */
export class PdProxy {
  readonly #deps: PdProxyDeps;
  readonly #log: Logger;
  readonly #prefillAgent: Agent;
  readonly #decoderAgent: Agent;
  readonly #prefillScheme: string;
  readonly #random: () => number;
  readonly #connector: string;

  constructor(deps: PdProxyDeps) {
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'proxy' });
    this.#prefillAgent = agentFor(deps.options.prefiller, deps.options);
    this.#decoderAgent = agentFor(deps.options.decoder, deps.options);
    this.#prefillScheme = deps.options.prefiller.enabled ? 'https' : 'http';
    this.#random = deps.random ?? Math.random;
    this.#connector = deps.options.kvConnector;
  }

  /** The origin of the local model server of data-parallel rank `rank`. */
  decoderOrigin(rank: number): string {
    const { modelServerHost, modelServerPort, decoder } = this.#deps.options;
    const host = modelServerHost.includes(':') && !modelServerHost.startsWith('[') ? `[${modelServerHost}]` : modelServerHost;
    return `${decoder.enabled ? 'https' : 'http'}://${host}:${modelServerPort + rank}`;
  }

  /** A Node request listener for the listener of `rank`, proxying to that rank's model server. */
  listener(rank: number): (req: IncomingMessage, res: ServerResponse) => void {
    const origin = this.decoderOrigin(rank);
    return (req, res) => {
      this.#handle(req, res, origin).catch((err: unknown) => {
        this.#log.error({ err }, 'request failed unexpectedly');
        this.#sendError(res, err);
      });
    };
  }

  /** Closes the upstream connection pools. */
  async close(): Promise<void> {
    await Promise.all([this.#prefillAgent.close(), this.#decoderAgent.close()]);
  }

  async #handle(req: IncomingMessage, res: ServerResponse, decoderOrigin: string): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] as string;
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-length': '0' });
      res.end();
      return;
    }
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const api = req.method === 'POST' ? DISAGGREGATED_PATHS.get(path) : undefined;
    if (api === undefined) return this.#passThrough(req, res, decoderOrigin + url, forwardedHeaders(req.headers, true), abort.signal);

    this.#deps.metrics.requests.inc({ api_type: api });
    const targets = prefillerTargets(req.headers);
    // The prefill headers are for this sidecar alone: the model server never sees them.
    const headers = forwardedHeaders(req.headers, true);
    delete headers[PREFILLER_HOST_PORT_HEADER];
    delete headers[PREFILLER_URL_HEADER_LEGACY];
    if (targets.length === 0) return this.#passThrough(req, res, decoderOrigin + url, headers, abort.signal);
    return this.#disaggregate(req, res, { url, api, targets, headers, decoderOrigin, signal: abort.signal });
  }

  /** Streams the request to the local model server and its answer back, untouched. */
  async #passThrough(req: IncomingMessage, res: ServerResponse, target: string, headers: Record<string, string | string[]>, signal: AbortSignal): Promise<void> {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await undiciRequest(target, {
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: hasBody ? req : null,
        dispatcher: this.#decoderAgent,
        signal,
      });
    } catch (err) {
      if (signal.aborted) return;
      this.#log.warn({ target, err: describeTransportError(err as Error) }, 'model server unreachable');
      return this.#sendError(res, new SidecarError('decoder_unavailable', `local model server ${new URL(target).host} failed: ${describeTransportError(err as Error)}`, { cause: err }));
    }
    await this.#relay(res, upstream, req.method === 'HEAD');
  }

  async #disaggregate(
    req: IncomingMessage,
    res: ServerResponse,
    r: { url: string; api: ApiType; targets: string[]; headers: Record<string, string | string[]>; decoderOrigin: string; signal: AbortSignal },
  ): Promise<void> {
    const { options, allowlist, metrics } = this.#deps;
    const connector = { connector: this.#connector };
    // 1. Which prefill targets: all must be host:port; start from the first (or a random one with
    //    sampling); with SSRF protection the chosen one must be allowed, and others that are not are skipped.
    const parsed: HostPort[] = [];
    for (const t of r.targets) {
      const hp = parseHostPort(t, true);
      if (hp === null) {
        req.resume();
        return this.#sendError(res, new SidecarError('invalid_request', `${PREFILLER_HOST_PORT_HEADER}: "${t}" is not host:port`, { param: PREFILLER_HOST_PORT_HEADER }));
      }
      parsed.push(hp);
    }
    const start = options.enablePrefillerSampling ? Math.min(parsed.length - 1, Math.floor(this.#random() * parsed.length)) : 0;
    const ordered = [...parsed.slice(start), ...parsed.slice(0, start)];
    const chosen = ordered[0] as HostPort;
    if (options.enableSsrfProtection && !allowlist.isAllowed(chosen)) {
      this.#log.warn({ target: formatHostPort(chosen), client: req.socket.remoteAddress, path: r.url }, 'SSRF protection: prefill target not in allowlist');
      req.resume();
      return this.#sendError(res, new SidecarError('prefill_target_forbidden', `prefill target ${formatHostPort(chosen)} is not allowed by SSRF protection`));
    }
    const rotation = options.enableSsrfProtection ? ordered.filter((t) => allowlist.isAllowed(t)) : ordered;

    // 2. The client's body, once.
    const limit = this.#deps.maxBodyBytes ?? MAX_BODY_BYTES;
    let body: Buffer | null;
    try {
      body = await readRequestBody(req, limit);
    } catch {
      return; // the client went away while sending
    }
    if (body === null) return this.#sendError(res, new SidecarError('request_too_large', `the request body is over ${limit} bytes, the most a disaggregated request may have`));
    const original = parseJsonObject(body);
    if (original === null) return this.#sendError(res, new SidecarError('invalid_request', 'the request body is not a JSON object'));
    const requestId = firstValue(r.headers[REQUEST_ID_HEADER]) || randomUUID();
    metrics.disaggregated.inc(connector);
    const log = this.#log.child({ requestId });

    // 3. Prefill leg.
    const prefillStarted = performance.now();
    const pBody = Buffer.from(JSON.stringify(prefillBody(original, r.api)), 'utf8');
    const pHeaders: Record<string, string | string[]> = { ...r.headers, [REQUEST_ID_HEADER]: requestId, 'content-type': 'application/json', 'content-length': String(pBody.byteLength) };
    delete pHeaders['accept-encoding']; // the answer is parsed here
    let answer: Buffer | null = null;
    let failure: PrefillFailure | null = null;
    const attempts = 1 + options.prefillMaxRetries;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const target = rotation[attempt % rotation.length] as HostPort;
      try {
        const upstream = await undiciRequest(`${this.#prefillScheme}://${formatHostPort(target)}${r.url}`, {
          method: 'POST',
          headers: pHeaders,
          body: pBody,
          dispatcher: this.#prefillAgent,
          signal: r.signal,
        });
        const data = await readAll(upstream.body as AsyncIterable<Buffer>, MAX_PREFILL_ANSWER_BYTES, () => new Error(`prefill answer over ${MAX_PREFILL_ANSWER_BYTES} bytes`));
        if (upstream.statusCode < 400) {
          answer = data;
          failure = null;
          break;
        }
        failure = { kind: 'status', target, status: upstream.statusCode, headers: upstream.headers as IncomingHttpHeaders, body: data };
        if (!RETRYABLE_STATUSES.has(upstream.statusCode)) break;
      } catch (err) {
        if (r.signal.aborted) return;
        failure = { kind: 'transport', target, error: err as Error };
      }
      if (attempt + 1 < attempts) {
        const next = rotation[(attempt + 1) % rotation.length] as HostPort;
        log.info({ attempt: attempt + 1, target: formatHostPort(target), next: formatHostPort(next), reason: failureReason(failure) }, 'retrying prefill');
        await sleep(options.prefillRetryBackoffMs, r.signal);
        if (r.signal.aborted) return;
      }
    }
    metrics.prefillDuration.observe(connector, (performance.now() - prefillStarted) / 1000);
    if (answer === null) {
      metrics.errors.inc({ ...connector, stage: 'prefill' });
      const f = failure as PrefillFailure;
      log.warn({ target: formatHostPort(f.target), attempts, reason: failureReason(f) }, 'prefill failed');
      if (f.kind === 'status') {
        // As upstream: the prefiller's own error goes back as it answered.
        const out = relayedHeaders(f.headers);
        out['content-length'] = String(f.body.byteLength);
        res.writeHead(f.status, out);
        res.end(f.body);
        return;
      }
      const tried = [...new Set(rotation.slice(0, attempts).map(formatHostPort))].join(', ');
      return this.#sendError(
        res,
        new SidecarError('prefill_failed', `prefill failed after ${attempts} attempt${attempts === 1 ? '' : 's'} (targets tried: ${tried}): ${formatHostPort(f.target)}: ${describeTransportError(f.error)}`, { cause: f.error }),
      );
    }
    let parsedAnswer: unknown;
    try {
      parsedAnswer = JSON.parse(answer.toString('utf8'));
    } catch (err) {
      metrics.errors.inc({ ...connector, stage: 'prefill' });
      return this.#sendError(res, new SidecarError('prefill_failed', 'the prefill answer is not JSON', { cause: err }));
    }
    const kv = returnedKvTransferParams(parsedAnswer);
    if (kv === undefined) log.warn('the prefill answer has no kv_transfer_params; the decoder will compute the prompt itself');

    // 4. Decode leg, on the local model server, with the client's stream settings and the same request id.
    const decodeStarted = performance.now();
    const dBody = Buffer.from(JSON.stringify(decodeBody(original as JsonObject, kv)), 'utf8');
    const dHeaders = { ...r.headers, [REQUEST_ID_HEADER]: requestId, 'content-type': 'application/json', 'content-length': String(dBody.byteLength) };
    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await undiciRequest(r.decoderOrigin + r.url, { method: 'POST', headers: dHeaders, body: dBody, dispatcher: this.#decoderAgent, signal: r.signal });
    } catch (err) {
      if (r.signal.aborted) return;
      metrics.errors.inc({ ...connector, stage: 'decode' });
      return this.#sendError(res, new SidecarError('decoder_unavailable', `local model server ${new URL(r.decoderOrigin).host} failed: ${describeTransportError(err as Error)}`, { cause: err }));
    }
    if (upstream.statusCode >= 400) metrics.errors.inc({ ...connector, stage: 'decode' });
    const ok = await this.#relay(res, upstream, false);
    if (!ok) metrics.errors.inc({ ...connector, stage: 'decode' });
    metrics.decodeDuration.observe(connector, (performance.now() - decodeStarted) / 1000);
  }

  /** Copies an upstream answer to the client as it arrives; false when either side broke off. */
  async #relay(res: ServerResponse, upstream: Dispatcher.ResponseData, headOnly: boolean): Promise<boolean> {
    if (res.destroyed) {
      upstream.body.destroy();
      return false;
    }
    res.writeHead(upstream.statusCode, relayedHeaders(upstream.headers));
    if (headOnly) {
      upstream.body.resume();
      res.end();
      return true;
    }
    try {
      await pipeline(upstream.body, res);
      return true;
    } catch {
      upstream.body.destroy();
      res.destroy();
      return false;
    }
  }

  #sendError(res: ServerResponse, err: unknown): void {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const e = toHttpError(err);
    const body = JSON.stringify(e.toBody());
    res.writeHead(e.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }
}

function failureReason(f: PrefillFailure | null): string {
  if (f === null) return 'none';
  return f.kind === 'status' ? `status ${f.status}` : describeTransportError(f.error);
}
