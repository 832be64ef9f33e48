// A small Kubernetes REST client: the credentials come from a KubeConfig (file or in-cluster), the
// requests are the few the operator makes (get, list, server-side apply, patch, delete, watch).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../render/types.js';
import type { ResourceType } from './types.js';

/** A request the API server refused. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** `reason` of the returned Status (NotFound, Conflict, Invalid, …). */
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Whether an error is the API server saying 404. */
export const isNotFound = (err: unknown) => err instanceof KubeApiError && err.status === 404;
/** Whether an error is the API server saying 409. */
export const isConflict = (err: unknown) => err instanceof KubeApiError && err.status === 409;

/** One event of a watch. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

interface RawResponse {
  status: number;
  body: unknown;
}

/** A list of objects and the resourceVersion to watch from. */
export interface ObjectList {
  items: KubeObject[];
  resourceVersion: string;
}

/** Options of {@link KubeClient.watch}. */
export interface WatchOptions {
  resourceVersion: string;
  labelSelector?: string;
  /** Server-side end of the watch, in seconds (the caller starts another). */
  timeoutSeconds?: number;
}

function statusText(body: unknown, fallback: string): { reason?: string; message: string } {
  if (body !== null && typeof body === 'object' && (body as { kind?: unknown }).kind === 'Status') {
    const s = body as { reason?: string; message?: string };
    return { ...(s.reason === undefined ? {} : { reason: s.reason }), message: s.message ?? fallback };
  }
  return { message: typeof body === 'string' && body !== '' ? body : fallback };
}

/** REST access to one cluster with the credentials of a KubeConfig's current context. */
export class KubeClient {
  readonly #kubeConfig: KubeConfig;
  readonly #userAgent: string;

  constructor(kubeConfig: KubeConfig, options: { userAgent?: string } = {}) {
    this.#kubeConfig = kubeConfig;
    this.#userAgent = options.userAgent ?? 'llmd-operator';
  }

  /** The URL path of a type's collection (no name) or of one object. */
  path(type: ResourceType, namespace: string | undefined, name?: string, subresource?: string): string {
    const [group, version] = type.apiVersion.includes('/') ? type.apiVersion.split('/') : ['', type.apiVersion];
    let path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    if (type.namespaced && namespace !== undefined) path += `/namespaces/${encodeURIComponent(namespace)}`;
    path += `/${type.plural}`;
    if (name !== undefined) path += `/${encodeURIComponent(name)}`;
    if (subresource !== undefined) path += `/${subresource}`;
    return path;
  }

  async #open(method: string, path: string, body: string | undefined, contentType: string, timeoutMs: number): Promise<IncomingMessage> {
    const cluster = this.#kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server);
    const q = path.indexOf('?');
    url.pathname = `${url.pathname.replace(/\/$/, '')}${q < 0 ? path : path.slice(0, q)}`;
    url.search = q < 0 ? '' : path.slice(q);
    const options: RequestOptions = {};
    await this.#kubeConfig.applyToHTTPSOptions(options);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.#userAgent };
    for (const [k, v] of Object.entries(options.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    if (body !== undefined) {
      headers['content-type'] = contentType;
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { ...options, auth: undefined, method, headers, timeout: timeoutMs }, resolve);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Sends one request and reads the whole answer; never throws on an HTTP status. */
  async raw(method: string, path: string, body?: unknown, contentType = 'application/json', timeoutMs = 30_000): Promise<RawResponse> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await this.#open(method, path, payload, contentType, timeoutMs);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: res.statusCode ?? 0, body: parsed };
  }

  /** Sends one request; throws a KubeApiError unless the status is 2xx. */
  async request(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
    const res = await this.raw(method, path, body, contentType);
    if (res.status >= 200 && res.status < 300) return res.body;
    const { reason, message } = statusText(res.body, `HTTP ${res.status}`);
    throw new KubeApiError(res.status, reason, `${method} ${path.split('?')[0]}: ${message}`);
  }

  /** Reads one object; undefined when it does not exist. */
  async get(type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return (await this.request('GET', this.path(type, namespace, name))) as KubeObject;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Lists objects of a type (in a namespace, or everywhere), optionally by label selector. */
  async list(type: ResourceType, namespace: string | undefined, labelSelector?: string): Promise<ObjectList> {
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const body = (await this.request('GET', this.path(type, namespace) + query)) as { items?: KubeObject[]; metadata?: { resourceVersion?: string } };
    // List items of built-in types come without apiVersion and kind.
    const items = (body.items ?? []).map((o) => ({ ...o, apiVersion: type.apiVersion, kind: type.kind }));
    return { items, resourceVersion: body.metadata?.resourceVersion ?? '' };
  }

  /** Server-side apply of an object (or of its status), owned by `fieldManager`; returns it as stored. */
  async apply(type: ResourceType, object: KubeObject, fieldManager: string, options: { force?: boolean; subresource?: 'status' } = {}): Promise<KubeObject> {
    const query = `?fieldManager=${encodeURIComponent(fieldManager)}&force=${options.force ?? true}`;
    const path = this.path(type, object.metadata.namespace, object.metadata.name, options.subresource) + query;
    return (await this.request('PATCH', path, object, 'application/apply-patch+yaml')) as KubeObject;
  }

  /** A JSON merge patch of one object. */
  async mergePatch(type: ResourceType, namespace: string | undefined, name: string, patch: unknown, subresource?: string): Promise<KubeObject> {
    return (await this.request('PATCH', this.path(type, namespace, name, subresource), patch, 'application/merge-patch+json')) as KubeObject;
  }

  /** Creates an object. */
  async create(type: ResourceType, object: KubeObject): Promise<KubeObject> {
    return (await this.request('POST', this.path(type, object.metadata.namespace), object)) as KubeObject;
  }

  /** Replaces an object (optimistic concurrency through its resourceVersion). */
  async replace(type: ResourceType, object: KubeObject): Promise<KubeObject> {
    return (await this.request('PUT', this.path(type, object.metadata.namespace, object.metadata.name), object)) as KubeObject;
  }

  /** Deletes an object in the background (dependents, if a garbage collector runs, after it); false when it was already gone. */
  async delete(type: ResourceType, namespace: string | undefined, name: string): Promise<boolean> {
    try {
      await this.request('DELETE', this.path(type, namespace, name), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Watches a type from a resourceVersion, calling `onEvent` for each event, until the server ends
   * the watch, `signal` aborts it, or the stream fails (which rejects).
   */
  async watch(type: ResourceType, namespace: string | undefined, options: WatchOptions, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const params = new URLSearchParams({ watch: '1', resourceVersion: options.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(options.timeoutSeconds ?? 300) });
    if (options.labelSelector) params.set('labelSelector', options.labelSelector);
    const res = await this.#open('GET', `${this.path(type, namespace)}?${params}`, undefined, 'application/json', ((options.timeoutSeconds ?? 300) + 30) * 1000);
    if ((res.statusCode ?? 0) !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep text
      }
      const { reason, message } = statusText(body, `HTTP ${res.statusCode}`);
      throw new KubeApiError(res.statusCode ?? 0, reason, `watch ${type.plural}: ${message}`);
    }
    const abort = () => res.destroy();
    signal.addEventListener('abort', abort, { once: true });
    try {
      let buffered = '';
      for await (const chunk of res) {
        buffered += (chunk as Buffer).toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== '') onEvent(JSON.parse(line) as WatchEvent);
          newline = buffered.indexOf('\n');
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }
}
