import { REQUEST_DROPPED_REASON_HEADER } from '@llmd/api';
import type { RouterError } from '@llmd/scheduling';

// JS shapes of the ext_proc v3 messages as the proto-loader options in protos.ts decode and encode
// them (snake_case fields, enums as numbers, bytes as Buffer). Only the fields the router uses.

/**
 * `google.protobuf.Value`, decoded (`kind` names the member that is set). Its fields are
 * camelCase even with `keepCase`: protobufjs bundles the well-known types with those names.
 */
export interface ProtoValue {
  kind?: 'nullValue' | 'numberValue' | 'stringValue' | 'boolValue' | 'structValue' | 'listValue';
  nullValue?: number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
}

/** `google.protobuf.Struct`. */
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

/** `envoy.config.core.v3.HeaderValue`: Envoy sends `raw_value`; `value` is the older spelling. */
export interface HeaderValue {
  key: string;
  value?: string;
  raw_value?: Buffer;
}

/** `envoy.config.core.v3.HeaderValueOption`. */
export interface HeaderValueOption {
  header: HeaderValue;
  append_action?: number;
  keep_empty_value?: boolean;
}

/** `envoy.service.ext_proc.v3.HeaderMutation`. */
export interface HeaderMutation {
  set_headers?: HeaderValueOption[];
  remove_headers?: string[];
}

/** `envoy.service.ext_proc.v3.HttpHeaders`. */
export interface HttpHeaders {
  headers?: { headers?: HeaderValue[] };
  end_of_stream?: boolean;
}

/** `envoy.service.ext_proc.v3.HttpBody`. */
export interface HttpBody {
  body?: Buffer;
  end_of_stream?: boolean;
}

/** `envoy.service.ext_proc.v3.ProcessingRequest`, decoded. */
export interface ProcessingRequest {
  request?: 'request_headers' | 'response_headers' | 'request_body' | 'response_body' | 'request_trailers' | 'response_trailers';
  request_headers?: HttpHeaders;
  response_headers?: HttpHeaders;
  request_body?: HttpBody;
  response_body?: HttpBody;
  request_trailers?: { trailers?: { headers?: HeaderValue[] } };
  response_trailers?: { trailers?: { headers?: HeaderValue[] } };
  metadata_context?: { filter_metadata?: Record<string, ProtoStruct> };
  observability_mode?: boolean;
}

/** `envoy.service.ext_proc.v3.StreamedBodyResponse`. */
export interface StreamedBody {
  body: Buffer;
  end_of_stream?: boolean;
}

/** `envoy.service.ext_proc.v3.CommonResponse`. */
export interface CommonResponse {
  status?: number;
  header_mutation?: HeaderMutation;
  body_mutation?: { streamed_response?: StreamedBody };
  clear_route_cache?: boolean;
}

/** `envoy.service.ext_proc.v3.ImmediateResponse`. */
export interface ImmediateResponse {
  status: { code: number };
  headers?: HeaderMutation;
  body?: Buffer;
}

/** `envoy.service.ext_proc.v3.ProcessingResponse`, as the server writes it (exactly one phase member set). */
export interface ProcessingResponse {
  request_headers?: { response: CommonResponse };
  response_headers?: { response: CommonResponse };
  request_body?: { response: CommonResponse };
  response_body?: { response: CommonResponse };
  request_trailers?: { header_mutation?: HeaderMutation };
  response_trailers?: { header_mutation?: HeaderMutation };
  immediate_response?: ImmediateResponse;
  dynamic_metadata?: ProtoStruct;
}

/** Largest body piece the router sends in one `streamed_response`, as upstream (R:pkg/common/envoy/chunking.go). */
export const MAX_BODY_CHUNK_BYTES = 62_000;

/**
 * Header values travel as bytes; they are read and written as latin1 so every byte round-trips
 * unchanged, the same convention as Node's http module.
 */
export function headerText(h: HeaderValue): string {
  return h.raw_value && h.raw_value.byteLength > 0 ? h.raw_value.toString('latin1') : (h.value ?? '');
}

/** A header to set, spelled with `raw_value` as upstream does (Envoy ignores `value` when `raw_value` is set). */
export function setHeader(key: string, value: string): HeaderValueOption {
  return { header: { key, raw_value: Buffer.from(value, 'latin1') } };
}

/** Lower-cased header map of an HttpHeaders message; a repeated name keeps its first value. */
export function headerRecord(h: HttpHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const hv of h?.headers?.headers ?? []) {
    const name = hv.key.toLowerCase();
    if (!(name in out)) out[name] = headerText(hv);
  }
  return out;
}

/** Splits a body into `streamed_response` pieces of at most {@link MAX_BODY_CHUNK_BYTES}; `endOfStream` goes on the last. An empty body gives one empty piece. */
export function bodyChunks(body: Buffer, endOfStream: boolean): StreamedBody[] {
  // `end_of_stream` is left out rather than sent as false, as Go's encoder does for zero values.
  const piece = (b: Buffer, last: boolean): StreamedBody => (last && endOfStream ? { body: b, end_of_stream: true } : { body: b });
  if (body.byteLength <= MAX_BODY_CHUNK_BYTES) return [piece(body, true)];
  const out: StreamedBody[] = [];
  for (let start = 0; start < body.byteLength; start += MAX_BODY_CHUNK_BYTES) {
    const end = Math.min(start + MAX_BODY_CHUNK_BYTES, body.byteLength);
    out.push(piece(body.subarray(start, end), end === body.byteLength));
  }
  return out;
}

/** A Struct holding string values and nested Structs (what the router writes as dynamic metadata). */
export function toStruct(obj: Readonly<Record<string, string | Readonly<Record<string, string>>>>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [k, v] of Object.entries(obj)) {
    fields[k] = typeof v === 'string' ? { stringValue: v } : { structValue: toStruct(v) };
  }
  return { fields };
}

/** A string field of a Struct, or undefined when missing or not a string. */
export function structString(s: ProtoStruct | undefined, key: string): string | undefined {
  const v = s?.fields?.[key];
  return typeof v?.stringValue === 'string' ? v.stringValue : undefined;
}

/**
 * A list-of-strings field of a Struct; null when the key is missing or holds no list (then
 * the hint does not apply). Non-string entries are skipped. An empty list stays empty: the
 * protocol says it means "no candidates".
 */
export function structStringList(s: ProtoStruct | undefined, key: string): string[] | null {
  const v = s?.fields?.[key];
  if (!v?.listValue) return null;
  const out: string[] = [];
  for (const item of v.listValue.values ?? []) if (typeof item.stringValue === 'string') out.push(item.stringValue);
  return out;
}

/** The ImmediateResponse for a rejected request: status, `inference error: <Code> - <msg>`, and the dropped-reason header when set. */
export function immediateResponseOf(err: RouterError): ProcessingResponse {
  const immediate: ImmediateResponse = { status: { code: err.status }, body: Buffer.from(err.wireMessage, 'utf8') };
  if (err.droppedReason) immediate.headers = { set_headers: [setHeader(REQUEST_DROPPED_REASON_HEADER, err.droppedReason)] };
  return { immediate_response: immediate };
}
