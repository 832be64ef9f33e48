import {
  DESTINATION_ENDPOINT_HEADER,
  DESTINATION_ENDPOINT_SERVED_KEY,
  DESTINATION_ENDPOINT_SUBSET_KEY,
  LB_METADATA_NAMESPACE,
  REQUEST_ID_HEADER,
  SUBSET_HINT_NAMESPACE,
  WENT_INTO_RESP_HEADERS_HEADER,
} from '@llmd/api';
import { RouterError, toRouterError } from '@llmd/scheduling';
import type { Logger } from 'pino';
import type { Director, RoutedRequest } from '../director/types.js';
import { UsageSniffer } from '../director/usage.js';
import {
  bodyChunks,
  headerRecord,
  immediateResponseOf,
  setHeader,
  structString,
  structStringList,
  toStruct,
  type HeaderMutation,
  type HttpBody,
  type HttpHeaders,
  type ProcessingRequest,
  type ProcessingResponse,
} from './messages.js';

const EMPTY = Buffer.alloc(0);

/** What one stream needs: the director, a logger, and the two ways to talk back to Envoy. */
export interface ExtProcStreamDeps {
  director: Director;
  logger: Logger;
  /** Writes one ProcessingResponse (in order; never called after the stream closed). */
  send(response: ProcessingResponse): void;
  /** Ends the stream from our side: OK after an ImmediateResponse, or with an INTERNAL status carrying `error`. */
  end(error?: Error): void;
}

/**
 * One `Process` stream, that is one HTTP request through Envoy in FULL_DUPLEX_STREAMED mode:
 * the request headers and body are held until the body ends, then routed, answered with the
 * header mutation and the (possibly rewritten) body; then the response headers and body pass
 * through, feeding the director's response tracker. Messages must be handed in one at a time,
 * each `handle` awaited before the next, so replies keep Envoy's header-body-trailer order.
 */
export class ExtProcStream {
  readonly #d: ExtProcStreamDeps;
  #headers: Record<string, string> = {};
  #subsetHint: string[] | null = null;
  #body: Buffer[] = [];
  #bodyBytes = 0;
  #routed: RoutedRequest | null = null;
  /** An ImmediateResponse went out, or the request was routed: the request phase is over. */
  #requestDone = false;
  /** The stream is gone (cancelled, failed, or ended by us): nothing more is sent. */
  #closed = false;
  #sniffer: UsageSniffer | null = null;
  #respBody: Buffer[] = [];
  #firstChunkSeen = false;
  #completed = false;
  /** Aborted when the stream goes away, so a request waiting in flow control leaves its queue at once. */
  readonly #gone = new AbortController();

  constructor(deps: ExtProcStreamDeps) {
    this.#d = deps;
  }

  /** Processes one message from Envoy. */
  async handle(msg: ProcessingRequest): Promise<void> {
    if (this.#closed) return;
    switch (msg.request) {
      case 'request_headers':
        return this.#onRequestHeaders(msg.request_headers ?? {}, msg);
      case 'request_body':
        return this.#onRequestBody(msg.request_body ?? {}, msg);
      case 'request_trailers':
        // Trailers end the body (gRPC-style requests): route now if the body had no end of stream.
        if (!this.#requestDone) await this.#route(true, false);
        if (!this.#closed) this.#d.send({ request_trailers: {} });
        return;
      case 'response_headers':
        return this.#onResponseHeaders(msg.response_headers ?? {}, msg);
      case 'response_body':
        return this.#onResponseBody(msg.response_body ?? {});
      case 'response_trailers':
        if (this.#sniffer && !this.#sniffer.streaming) this.#flushResponse(false);
        this.#d.send({ response_trailers: {} });
        this.#complete(false);
        return;
      default:
        this.#d.logger.debug({ request: msg.request }, 'ext_proc message without a known phase; ignored');
    }
  }

  /**
   * The stream ended (client cancel, transport error, or Envoy half-closed early): a routed
   * request whose response has not completed is reported as failed, exactly once.
   */
  close(): void {
    this.#closed = true;
    if (!this.#gone.signal.aborted) this.#gone.abort();
    this.#complete(true);
  }

  /**
   * Something unexpected broke this stream: answer 500 while the request is unanswered, else
   * end the stream with an INTERNAL status (Envoy then fails the request per its failure mode).
   */
  fail(err: unknown): void {
    this.#d.logger.error({ err, requestId: this.#headers[REQUEST_ID_HEADER] }, 'ext_proc stream failed');
    if (!this.#closed) {
      if (!this.#requestDone) {
        this.#reject(toRouterError(err));
      } else {
        this.#closed = true;
        this.#d.end(err instanceof Error ? err : new Error(String(err)));
      }
    }
    this.close();
  }

  #readSubsetHint(msg: ProcessingRequest): void {
    const ns = msg.metadata_context?.filter_metadata?.[SUBSET_HINT_NAMESPACE];
    if (ns) this.#subsetHint = structStringList(ns, DESTINATION_ENDPOINT_SUBSET_KEY);
  }

  async #onRequestHeaders(h: HttpHeaders, msg: ProcessingRequest): Promise<void> {
    this.#headers = headerRecord(h);
    this.#readSubsetHint(msg);
    // No body follows (e.g. GET): route right away; no body replies are expected.
    if (h.end_of_stream) await this.#route(false, false);
  }

  async #onRequestBody(b: HttpBody, msg: ProcessingRequest): Promise<void> {
    if (this.#requestDone) return;
    this.#readSubsetHint(msg);
    if (b.body && b.body.byteLength > 0) {
      this.#body.push(b.body);
      this.#bodyBytes += b.body.byteLength;
    }
    if (b.end_of_stream) await this.#route(true, true);
  }

  /**
   * Routes the held request and answers it: the request-headers reply, then (when Envoy is in
   * the body phase) the body in pieces, `end_of_stream` on the last unless trailers follow.
   */
  async #route(bodyPhase: boolean, bodyEndsStream: boolean): Promise<void> {
    this.#requestDone = true;
    const body = this.#bodyBytes > 0 ? (this.#body.length === 1 ? (this.#body[0] as Buffer) : Buffer.concat(this.#body, this.#bodyBytes)) : null;
    this.#body = [];
    const headers = this.#headers;
    let routed: RoutedRequest;
    try {
      routed = await this.#d.director.route({
        method: headers[':method'] ?? (body ? 'POST' : 'GET'),
        path: headers[':path'] ?? '/',
        headers,
        body,
        subsetHint: this.#subsetHint,
        signal: this.#gone.signal,
      });
    } catch (err) {
      const e = toRouterError(err);
      if (!(err instanceof RouterError)) this.#d.logger.error({ err, requestId: headers[REQUEST_ID_HEADER] }, 'director failed');
      else this.#d.logger.debug({ code: e.code, reason: e.droppedReason, requestId: headers[REQUEST_ID_HEADER] }, e.message);
      if (!this.#closed) this.#reject(e);
      return;
    }
    this.#routed = routed;
    if (this.#closed) {
      // Envoy went away while we were scheduling: the tracker still needs its one complete().
      this.#complete(true);
      return;
    }
    this.#d.send(requestHeadersReply(routed, bodyPhase));
    if (!bodyPhase) return;
    for (const piece of bodyChunks(routed.body, bodyEndsStream)) {
      this.#d.send({ request_body: { response: { body_mutation: { streamed_response: piece } } } });
    }
  }

  #reject(err: RouterError): void {
    this.#requestDone = true;
    this.#d.send(immediateResponseOf(err));
    this.#closed = true;
    this.#d.end();
  }

  #onResponseHeaders(h: HttpHeaders, msg: ProcessingRequest): void {
    const all = headerRecord(h);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(all)) if (!name.startsWith(':')) headers[name] = value;
    const status = Number.parseInt(all[':status'] ?? '', 10);
    const routed = this.#routed;
    const servedBy =
      structString(msg.metadata_context?.filter_metadata?.[LB_METADATA_NAMESPACE], DESTINATION_ENDPOINT_SERVED_KEY) ?? routed?.targets[0]?.metadata.hostPort ?? null;
    let added: Record<string, string> = {};
    if (routed) {
      try {
        added = routed.response.headers(Number.isFinite(status) ? status : 0, headers, servedBy);
      } catch (err) {
        this.#d.logger.warn({ err }, 'response tracker failed on headers');
      }
    }
    // Upstream echoes the response headers and marks the reply; plugin headers win over echoed ones.
    const out = new Map<string, string>([[WENT_INTO_RESP_HEADERS_HEADER, 'true']]);
    for (const [name, value] of Object.entries(headers)) if (name !== WENT_INTO_RESP_HEADERS_HEADER) out.set(name, value);
    for (const [name, value] of Object.entries(added)) out.set(name.toLowerCase(), value);
    this.#sniffer = new UsageSniffer(headers['content-type']);
    this.#d.send({ response_headers: { response: { header_mutation: { set_headers: [...out].map(([k, v]) => setHeader(k, v)) } } } });
    if (h.end_of_stream) this.#complete(false);
  }

  #onResponseBody(b: HttpBody): void {
    const chunk = b.body ?? EMPTY;
    const eos = b.end_of_stream === true;
    if (chunk.byteLength > 0 && !this.#firstChunkSeen) {
      this.#firstChunkSeen = true;
      try {
        this.#routed?.response.firstChunk();
      } catch (err) {
        this.#d.logger.warn({ err }, 'response tracker failed on first chunk');
      }
    }
    const sniffer = (this.#sniffer ??= new UsageSniffer(undefined));
    if (sniffer.streaming) {
      // Server-sent events go out as they come: buffering would hold back every token.
      sniffer.push(chunk);
      for (const piece of bodyChunks(chunk, eos)) this.#d.send({ response_body: { response: { body_mutation: { streamed_response: piece } } } });
    } else {
      if (chunk.byteLength > 0) this.#respBody.push(chunk);
      if (eos) this.#flushResponse(true);
    }
    if (eos) this.#complete(false);
  }

  /** Sends the buffered (non-streaming) response body once, re-chunked, and feeds it to the usage sniffer. */
  #flushResponse(endOfStream: boolean): void {
    const whole = Buffer.concat(this.#respBody);
    this.#respBody = [];
    this.#sniffer?.push(whole);
    for (const piece of bodyChunks(whole, endOfStream)) this.#d.send({ response_body: { response: { body_mutation: { streamed_response: piece } } } });
  }

  #complete(failed: boolean): void {
    if (this.#completed || !this.#routed) return;
    this.#completed = true;
    try {
      this.#routed.response.complete(this.#sniffer?.result() ?? null, failed);
    } catch (err) {
      this.#d.logger.warn({ err }, 'response tracker failed on complete');
    }
  }
}

/**
 * The request-headers reply: clear the route cache (the destination header changes the route),
 * set the destination, `Content-Length` of the body sent (only when a body phase exists: a
 * header-only request keeps having no body) and the forwarded headers, remove the consumed
 * ones, and repeat the destination in `envoy.lb` dynamic metadata.
 */
function requestHeadersReply(routed: RoutedRequest, bodyPhase: boolean): ProcessingResponse {
  const set = [setHeader(DESTINATION_ENDPOINT_HEADER, routed.destination)];
  if (bodyPhase) set.push(setHeader('Content-Length', String(routed.body.byteLength)));
  for (const [name, value] of Object.entries(routed.headers)) {
    const lower = name.toLowerCase();
    // The transport owns these two; pseudo-headers are Envoy's and not ours to set.
    if (lower === 'content-length' || lower === DESTINATION_ENDPOINT_HEADER || lower.startsWith(':')) continue;
    set.push(setHeader(name, value));
  }
  const mutation: HeaderMutation = { set_headers: set };
  if (routed.removedHeaders.length > 0) mutation.remove_headers = [...routed.removedHeaders];
  return {
    request_headers: { response: { clear_route_cache: true, header_mutation: mutation } },
    dynamic_metadata: toStruct({ [LB_METADATA_NAMESPACE]: { [DESTINATION_ENDPOINT_HEADER]: routed.destination } }),
  };
}
