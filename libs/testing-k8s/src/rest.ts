import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A Kubernetes object as JSON: apiVersion, kind, metadata and anything else. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** What identifies one object: its type and its name (and namespace, for namespaced types). */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** A request the API server refused; `message` carries the server's own explanation. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status code. */
  readonly status: number;
  /** `reason` of the returned Status (`NotFound`, `Invalid`, `Conflict`, ...), if any. */
  readonly reason: string | undefined;
  /** The response body, parsed when it is JSON. */
  readonly body: unknown;

  constructor(status: number, reason: string | undefined, message: string, body: unknown) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.body = body;
  }

  /** `details.causes` of the returned Status: which fields were invalid and why. */
  get causes(): { field?: string; reason?: string; message?: string }[] {
    const details = (this.body as { details?: { causes?: unknown } } | undefined)?.details;
    return Array.isArray(details?.causes) ? (details.causes as { field?: string; reason?: string; message?: string }[]) : [];
  }
}

/** One HTTP exchange with the API server. */
export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, e.g. `/api/v1/namespaces/default/configmaps`. */
  readonly path: string;
  readonly body?: unknown;
  /** Content type of the body (default `application/json`). */
  readonly contentType?: string;
  /** Milliseconds before the request is abandoned (default 30 s). */
  readonly timeoutMs?: number;
}

/** Status code and parsed body of a response. */
export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Sends a request with the credentials of the kubeconfig's current context; never throws on status. */
export async function kubeFetch(kubeConfig: KubeConfig, req: KubeRequest): Promise<KubeResponse> {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  // The path goes after whatever path prefix the server URL has.
  const url = new URL(cluster.server);
  const query = req.path.indexOf('?');
  url.pathname = `${url.pathname.replace(/\/$/, '')}${query < 0 ? req.path : req.path.slice(0, query)}`;
  url.search = query < 0 ? '' : req.path.slice(query);
  const options: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const payload = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [key, value] of Object.entries(options.headers ?? {})) {
    if (typeof value === 'string') headers[key.toLowerCase()] = value;
  }
  if (options.auth) headers['authorization'] = `Basic ${Buffer.from(options.auth).toString('base64')}`;
  if (payload !== undefined) {
    headers['content-type'] = req.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  const timeoutMs = req.timeoutMs ?? 30_000;
  return new Promise<KubeResponse>((resolve, reject) => {
    const outgoing = send(
      url,
      { ...options, auth: undefined, method: req.method, headers, timeout: timeoutMs },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            // Not JSON (e.g. /healthz says "ok"): keep the text.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${req.method} ${url.href} timed out after ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

function statusOf(body: unknown): { reason?: string; message?: string } {
  if (typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'Status') {
    const status = body as { reason?: unknown; message?: unknown };
    return {
      ...(typeof status.reason === 'string' ? { reason: status.reason } : {}),
      ...(typeof status.message === 'string' ? { message: status.message } : {}),
    };
  }
  return {};
}

/** Like {@link kubeFetch}, but throws {@link KubeApiError} unless the status is 2xx. */
export async function kubeRequest(kubeConfig: KubeConfig, req: KubeRequest): Promise<unknown> {
  const res = await kubeFetch(kubeConfig, req);
  if (res.status >= 200 && res.status < 300) return res.body;
  const { reason, message } = statusOf(res.body);
  const detail = message ?? (typeof res.body === 'string' ? res.body.trim() : JSON.stringify(res.body));
  throw new KubeApiError(res.status, reason, `${req.method} ${req.path}: ${res.status}${reason ? ` ${reason}` : ''}: ${detail}`, res.body);
}

/** Where a type of object lives in the API. */
interface ResourceInfo {
  readonly plural: string;
  readonly namespaced: boolean;
}

interface DiscoveredResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

// Per kubeconfig and apiVersion; refreshed on a miss, since a CRD may have been installed since.
const discoveryCache = new WeakMap<KubeConfig, Map<string, DiscoveredResource[]>>();

async function discover(kubeConfig: KubeConfig, apiVersion: string): Promise<DiscoveredResource[]> {
  const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const res = await kubeFetch(kubeConfig, { method: 'GET', path });
  if (res.status === 404) return [];
  if (res.status !== 200) throw new KubeApiError(res.status, statusOf(res.body).reason, `GET ${path}: ${res.status}: ${JSON.stringify(res.body)}`, res.body);
  const resources = ((res.body as { resources?: DiscoveredResource[] }).resources ?? []).filter((r) => !r.name.includes('/'));
  let perVersion = discoveryCache.get(kubeConfig);
  if (perVersion === undefined) {
    perVersion = new Map();
    discoveryCache.set(kubeConfig, perVersion);
  }
  perVersion.set(apiVersion, resources);
  return resources;
}

/** The plural resource name and scope of `kind` in `apiVersion`, from the server's discovery. */
export async function resourceFor(kubeConfig: KubeConfig, apiVersion: string, kind: string): Promise<ResourceInfo> {
  const cached = discoveryCache.get(kubeConfig)?.get(apiVersion)?.find((r) => r.kind === kind);
  const found = cached ?? (await discover(kubeConfig, apiVersion)).find((r) => r.kind === kind);
  if (found === undefined) {
    throw new KubeApiError(404, 'NotFound', `the server does not serve kind ${kind} in ${apiVersion} (is its CRD installed?)`, undefined);
  }
  return { plural: found.name, namespaced: found.namespaced };
}

/** The namespace of the kubeconfig's current context, or `default`. */
export function defaultNamespace(kubeConfig: KubeConfig): string {
  return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
}

/** The URL path of one object (with `name`) or of its collection (without). */
export async function objectPath(kubeConfig: KubeConfig, ref: ObjectRef, withName = true): Promise<string> {
  const { plural, namespaced } = await resourceFor(kubeConfig, ref.apiVersion, ref.kind);
  const prefix = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  const namespace = namespaced ? `/namespaces/${encodeURIComponent(ref.metadata.namespace ?? defaultNamespace(kubeConfig))}` : '';
  const name = withName ? `/${encodeURIComponent(ref.metadata.name)}` : '';
  return `${prefix}${namespace}/${plural}${name}`;
}
