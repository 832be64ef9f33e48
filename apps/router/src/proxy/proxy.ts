import type { ServerResponse } from 'node:http';
import { openAIErrorTypeFor } from '@llmd/api';
import { RouterError, toRouterError } from '@llmd/scheduling';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import type { Director, RoutedRequest } from '../director/types.js';
import { UsageSniffer } from '../director/usage.js';

/** Response header telling the client which endpoint served it (the protocol's served-endpoint key). */
export const SERVED_ENDPOINT_HEADER = 'x-gateway-destination-endpoint-served';

/** Options of the standalone proxy. */
export interface ProxyOptions {
  director: Director;
  logger: Logger;
  /** How many times a request is routed again after every target refused the connection (default 3). */
  maxRoutingAttempts?: number;
  /** Connection timeout towards model servers (default 5 s). */
  connectTimeoutMs?: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);

/** Errors that mean the request never reached the model server, so another endpoint may take it. */
function isConnectFailure(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  return ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'EPIPE', 'ENOTFOUND'].includes(code ?? '');
}

/** The OpenAI-style error body the proxy answers with. */
function errorBody(err: RouterError): { error: { message: string; type: string; param: null; code: number } } {
  return { error: { message: err.wireMessage, type: openAIErrorTypeFor(err.status), param: null, code: err.status } };
}

function firstValues(headers: FastifyRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? (v[0] ?? '') : v;
  }
  return out;
}

/**
 * The standalone OpenAI-compatible reverse proxy: every request goes through the director, then
 * to the chosen endpoint with undici. Responses stream through as they arrive (SSE is never
 * buffered); usage is read from the final chunk. When connecting fails before any byte was sent,
 * the fallback endpoints are tried, then the request is routed again without the failed ones.
 */
export function createProxyServer(opts: ProxyOptions): FastifyInstance {
  const app = (Fastify as unknown as (o: object) => FastifyInstance)({
    loggerInstance: opts.logger.child({ component: 'proxy' }),
    disableRequestLogging: true,
    bodyLimit: 256 * 1024 * 1024,
  });
  const agent = new Agent({ connect: { timeout: opts.connectTimeoutMs ?? 5000 }, keepAliveTimeout: 30_000, pipelining: 1 });
  const maxAttempts = opts.maxRoutingAttempts ?? 3;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addHook('onClose', async () => agent.close());

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const headers = firstValues(req.headers);
    const body = Buffer.isBuffer(req.body) && req.body.byteLength > 0 ? req.body : null;
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const excluded = new Set<string>();
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      let routed: RoutedRequest;
      try {
        routed = await opts.director.route({ method: req.method, path: req.url, headers, body, subsetHint: null, excludeEndpoints: excluded, signal: abort.signal });
      } catch (err) {
        // The client left while the request waited (e.g. in flow control): nobody to answer.
        if (abort.signal.aborted) return abandon(reply);
        const e = toRouterError(err);
        if (e.code === 'ServiceUnavailable' && excluded.size > 0) {
          return sendError(reply, new RouterError('ServiceUnavailable', `no endpoint accepted the connection (tried ${[...excluded].join(', ')})`, { droppedReason: 'rejected-no-endpoints' }));
        }
        return sendError(reply, e);
      }
      if (abort.signal.aborted) {
        routed.response.complete(null, true);
        return abandon(reply);
      }
      for (const target of routed.targets) {
        const hostPort = target.metadata.hostPort;
        let upstream: Dispatcher.ResponseData;
        try {
          upstream = await undiciRequest(`http://${hostPort}${req.url}`, {
            method: req.method as Dispatcher.HttpMethod,
            headers: { ...routed.headers, ...(routed.body.byteLength > 0 ? { 'content-length': String(routed.body.byteLength) } : {}) },
            body: routed.body.byteLength > 0 ? routed.body : null,
            dispatcher: agent,
            signal: abort.signal,
          });
        } catch (err) {
          if (abort.signal.aborted) {
            routed.response.complete(null, true);
            return;
          }
          if (!isConnectFailure(err)) {
            routed.response.complete(null, true);
            return sendError(reply, new RouterError('ServiceUnavailable', `endpoint ${hostPort} failed: ${(err as Error).message}`));
          }
          excluded.add(hostPort);
          opts.logger.warn({ endpoint: hostPort, err: (err as Error).message }, 'endpoint refused the connection; trying another');
          continue;
        }
        await relay(reply, routed, upstream, hostPort);
        return;
      }
      routed.response.complete(null, true);
    }
    return sendError(reply, new RouterError('ServiceUnavailable', `no endpoint accepted the connection (tried ${[...excluded].join(', ')})`, { droppedReason: 'rejected-no-endpoints' }));
  };

  app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/*', handler });
  return app;
}

/** The client is gone: tell Fastify the reply is handled here and drop the socket. */
function abandon(reply: FastifyReply): void {
  reply.hijack();
  reply.raw.destroy();
}

function sendError(reply: FastifyReply, err: RouterError): void {
  if (reply.sent || reply.raw.headersSent) {
    reply.raw.destroy();
    return;
  }
  if (err.droppedReason) void reply.header('x-llm-d-request-dropped-reason', err.droppedReason);
  void reply.code(err.status).send(errorBody(err));
}

/** Copies the model server's response to the client chunk by chunk, feeding usage and timing to the tracker. */
async function relay(reply: FastifyReply, routed: RoutedRequest, upstream: Dispatcher.ResponseData, hostPort: string): Promise<void> {
  reply.hijack();
  const res: ServerResponse = reply.raw;
  const upstreamHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(upstream.headers)) {
    if (v === undefined) continue;
    upstreamHeaders[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  const extra = routed.response.headers(upstream.statusCode, upstreamHeaders, hostPort);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(upstreamHeaders)) if (!HOP_BY_HOP.has(k) || k === 'content-length') out[k] = v;
  Object.assign(out, extra);
  out[SERVED_ENDPOINT_HEADER] = hostPort;
  res.writeHead(upstream.statusCode, out);
  const sniffer = new UsageSniffer(upstreamHeaders['content-type']);
  let first = true;
  try {
    for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
      if (first) {
        first = false;
        routed.response.firstChunk();
      }
      sniffer.push(chunk);
      if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
      if (res.destroyed) throw new Error('client went away');
    }
    res.end();
    routed.response.complete(sniffer.result(), false);
  } catch {
    routed.response.complete(sniffer.result(), true);
    upstream.body.destroy();
    res.destroy();
  }
}
