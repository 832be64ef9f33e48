// A small client of Prometheus's HTTP API (`/api/v1/query`), with TLS and a bearer token.
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';

/** One element of an instant vector: the series' labels and its value. */
export interface VectorSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Evaluation time, in milliseconds since the epoch. */
  readonly timestampMs: number;
}

/** Runs instant PromQL queries; the collector depends only on this. */
export interface PromQueryClient {
  /** Evaluates `promql` now and returns the vector (a scalar comes back as one sample without labels). */
  query(promql: string, signal?: AbortSignal): Promise<VectorSample[]>;
}

/** Thrown when Prometheus cannot be reached or answers with an error; `query` is the PromQL at fault. */
export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
  readonly query: string;
  constructor(message: string, query: string, options?: { cause?: unknown }) {
    super(message, options);
    this.query = query;
  }
}

/** How to reach Prometheus. */
export interface PrometheusClientOptions {
  /** Base URL, e.g. `http://prometheus:9090` (a path prefix is kept). */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly bearerToken?: string | undefined;
  /** PEM CA bundle path for an https URL. */
  readonly caCertPath?: string | undefined;
  /** Client certificate and key paths for mutual TLS. */
  readonly clientCertPath?: string | undefined;
  readonly clientKeyPath?: string | undefined;
  /** Name expected in the server certificate, when it differs from the URL's host. */
  readonly serverName?: string | undefined;
  /** Accept any server certificate (development only). */
  readonly insecureSkipVerify?: boolean | undefined;
  /** Per-query timeout in milliseconds (default 5000, as upstream). */
  readonly timeoutMs?: number | undefined;
}

interface ApiAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** The Prometheus HTTP API client. Queries are POSTed form-encoded, so long PromQL never hits URL limits. */
export class PrometheusClient implements PromQueryClient {
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #timeoutMs: number;

  constructor(options: PrometheusClientOptions) {
    const base = new URL(options.baseUrl);
    this.#url = new URL(`${base.pathname.replace(/\/$/, '')}/api/v1/query`, base).toString();
    this.#headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (options.bearerToken) this.#headers.authorization = `Bearer ${options.bearerToken}`;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    if (base.protocol === 'https:') {
      this.#dispatcher = new Agent({
        connect: {
          ca: options.caCertPath ? readFileSync(options.caCertPath) : undefined,
          cert: options.clientCertPath ? readFileSync(options.clientCertPath) : undefined,
          key: options.clientKeyPath ? readFileSync(options.clientKeyPath) : undefined,
          servername: options.serverName,
          rejectUnauthorized: !options.insecureSkipVerify,
        },
      });
    }
  }

  async query(promql: string, signal?: AbortSignal): Promise<VectorSample[]> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let res;
    try {
      res = await undiciFetch(this.#url, {
        method: 'POST',
        headers: this.#headers,
        body: new URLSearchParams({ query: promql }).toString(),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        dispatcher: this.#dispatcher,
      });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause;
      throw new PrometheusError(`Prometheus at ${this.#url} is unreachable: ${cause?.message ?? (err as Error).message}`, promql, { cause: err });
    }
    const text = await res.text();
    let body: ApiAnswer;
    try {
      body = JSON.parse(text) as ApiAnswer;
    } catch (err) {
      throw new PrometheusError(`Prometheus answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`, promql, { cause: err });
    }
    if (body.status !== 'success') {
      throw new PrometheusError(`Prometheus answered ${res.status} (${body.errorType ?? 'error'}): ${body.error ?? 'no message'}`, promql);
    }
    return decodeResult(body.data, promql);
  }
}

/** Turns the `data` of a query answer into samples; NaN and ±Inf (0/0 ratios, empty rates) are dropped. */
export function decodeResult(data: ApiAnswer['data'], promql = ''): VectorSample[] {
  const type = data?.resultType;
  const result = data?.result;
  if (type === 'scalar') {
    const [ts, v] = result as [number, string];
    const value = Number(v);
    return Number.isFinite(value) ? [{ labels: {}, value, timestampMs: ts * 1000 }] : [];
  }
  if (type !== 'vector' || !Array.isArray(result)) {
    throw new PrometheusError(`expected an instant vector, Prometheus answered a ${type ?? 'missing'} result`, promql);
  }
  const out: VectorSample[] = [];
  for (const item of result as Array<{ metric?: Record<string, string>; value?: [number, string] }>) {
    if (!item.value) continue;
    const value = Number(item.value[1]);
    if (!Number.isFinite(value)) continue;
    out.push({ labels: item.metric ?? {}, value, timestampMs: item.value[0] * 1000 });
  }
  return out;
}
