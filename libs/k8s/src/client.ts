import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';

/** Where a pod finds its service account (the in-cluster configuration). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Which Kubernetes configuration to use, as a program's options resolved it (the library reads no environment). */
export interface KubeConfigSource {
  /** `--kubeconfig`, else `$KUBECONFIG` (the first file of a `:`-separated list); null for none. */
  readonly kubeconfig: string | null;
  /** `--kube-context`: a context of the kubeconfig other than its current one. */
  readonly context?: string | null;
  /**
   * `$KUBERNETES_SERVICE_HOST` and `$KUBERNETES_SERVICE_PORT` when running in a pod; `true` lets
   * client-node read them (and the service account) itself.
   */
  readonly inCluster?: { readonly host: string; readonly port: string } | boolean | null;
  /** Service account folder for the in-cluster configuration (tests point it elsewhere). */
  readonly serviceAccountDir?: string;
  /** The home folder holding `.kube/config`, the last resort. */
  readonly home?: string;
}

/** No usable Kubernetes configuration, or a cluster a program cannot work with (CRD missing, no permission). */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

/**
 * Loads the client configuration in the order controller-runtime uses: `--kubeconfig`, then
 * `$KUBECONFIG`, then the in-cluster service account, then `~/.kube/config`.
 */
export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const kc = new KubeConfig();
  const fromFile = (file: string, what: string) => {
    try {
      kc.loadFromFile(file);
    } catch (cause) {
      throw new KubeConfigError(`cannot load the kubeconfig ${file} (${what}): ${(cause as Error).message}`, { cause });
    }
  };
  if (source.kubeconfig !== null) {
    fromFile(source.kubeconfig, '--kubeconfig or $KUBECONFIG');
  } else if (source.inCluster === true) {
    try {
      kc.loadFromCluster();
    } catch (cause) {
      throw new KubeConfigError(`in-cluster configuration: ${(cause as Error).message}`, { cause });
    }
  } else if (source.inCluster) {
    const dir = source.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
    const tokenFile = join(dir, 'token');
    if (!existsSync(tokenFile)) throw new KubeConfigError(`in-cluster configuration: no service account token at ${tokenFile}`);
    const { host, port } = source.inCluster;
    const scheme = port === '80' || port === '8080' ? 'http' : 'https';
    const namespaceFile = join(dir, 'namespace');
    kc.loadFromOptions({
      clusters: [{ name: 'in-cluster', server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
      // The token file is re-read on every request: kubelet rotates projected tokens.
      users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
      contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account', ...(existsSync(namespaceFile) ? { namespace: readFileSync(namespaceFile, 'utf8').trim() } : {}) }],
      currentContext: 'in-cluster',
    });
  } else {
    const file = join(source.home ?? homedir(), '.kube', 'config');
    if (!existsSync(file)) {
      throw new KubeConfigError('no Kubernetes configuration: give --kubeconfig (or $KUBECONFIG), run in a pod, or create ~/.kube/config');
    }
    fromFile(file, '~/.kube/config');
  }
  if (source.context) {
    if (!kc.getContextObject(source.context)) throw new KubeConfigError(`the kubeconfig has no context ${JSON.stringify(source.context)}`);
    kc.setCurrentContext(source.context);
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigError('the kubeconfig names no current cluster (set current-context or give --kube-context)');
  return kc;
}

/** A Kubernetes `Status` object, as the API server returns with errors. */
export interface KubeStatus {
  readonly kind?: string;
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
}

/** An error answer of the API server (or a transport failure, with `status` 0). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';

  constructor(
    message: string,
    /** HTTP status; 0 when no answer arrived. */
    readonly status: number,
    /** `Status.reason` (e.g. `NotFound`, `Conflict`, `Expired`, `Gone`). */
    readonly reason = '',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** The resource version asked for is older than what the server keeps: list again. */
  get gone(): boolean {
    return this.status === 410 || this.reason === 'Expired' || this.reason === 'Gone';
  }
}

/** One event of a watch stream. */
export interface WatchEvent<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: T;
}

/** A list answer: the items and the resource version to watch from. */
export interface KubeList<T> {
  readonly items: T[];
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
}

/** Query parameters of a request; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** Whether an error is the API server answering 404 Not Found. */
export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;
/** Whether an error is the API server answering 409 Conflict (a stale resourceVersion, or the object exists). */
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;

/** A resource type and how to address it (no discovery: callers name their types). */
export interface ResourceType {
  readonly apiVersion: string;
  readonly kind: string;
  /** The plural of the REST path (`deployments`). */
  readonly plural: string;
  readonly namespaced: boolean;
}

/** The least an object written through the typed helpers carries. */
export interface NamedObject {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [key: string]: unknown;
}

/** Options of a {@link KubeClient}. */
export interface KubeClientOptions {
  /** Gives up on a (non-watch) request without an answer after this long; none by default. */
  readonly timeoutMs?: number;
  /** The `user-agent` header. */
  readonly userAgent?: string;
}

/** The API path of a type's collection (no name) or of one object, or one of its subresources. */
export function resourcePath(type: ResourceType, namespace: string | undefined, name?: string, subresource?: string): string {
  const slash = type.apiVersion.indexOf('/');
  let path = slash < 0 ? `/api/${type.apiVersion}` : `/apis/${type.apiVersion}`;
  if (type.namespaced && namespace !== undefined) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${type.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

/**
 * A small JSON client of the Kubernetes API on top of client-node's configuration (TLS material,
 * tokens, exec and OIDC plugins): plain requests and line-delimited watch streams, over one
 * keep-alive agent. Paths are API paths (`/api/v1/namespaces/ns/pods`).
 */
export class KubeClient {
  /** The configuration requests are authenticated with. */
  readonly kubeConfig: KubeConfig;
  /** The API server URL. */
  readonly server: URL;
  readonly #agent: http.Agent;
  readonly #secure: boolean;
  readonly #timeoutMs: number | undefined;
  readonly #userAgent: string | undefined;
  #closed = false;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.kubeConfig = kubeConfig;
    this.#timeoutMs = options.timeoutMs;
    this.#userAgent = options.userAgent;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeConfigError('the kubeconfig names no current cluster');
    try {
      this.server = new URL(cluster.server);
    } catch (cause) {
      throw new KubeConfigError(`the cluster's server ${JSON.stringify(cluster.server)} is not a URL`, { cause });
    }
    this.#secure = this.server.protocol === 'https:';
    this.#agent = this.#secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** The namespace of the kubeconfig's current context, if it names one. */
  get contextNamespace(): string | null {
    const ctx = this.kubeConfig.getContextObject(this.kubeConfig.getCurrentContext());
    return ctx?.namespace || null;
  }

  /** GET a JSON object. */
  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /**
   * Sends one request and parses the JSON answer; a non-2xx answer throws {@link KubeApiError}.
   * A body goes as JSON, a PATCH body as a JSON merge patch, unless `contentType` says otherwise.
   */
  async request<T>(method: string, path: string, init: { query?: Query; body?: unknown; contentType?: string; signal?: AbortSignal } = {}): Promise<T> {
    const res = await this.#send(method, path, init);
    const text = await readAll(res);
    if ((res.statusCode ?? 0) >= 300) throw errorFrom(method, path, res.statusCode ?? 0, text);
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new KubeApiError(`${method} ${path}: the answer is not JSON`, res.statusCode ?? 0, '', { cause });
    }
  }

  /**
   * Opens a watch (`?watch=1`) and calls `onEvent` for each event until the server ends the stream
   * (resolves) or the connection fails (rejects with {@link KubeApiError}). An `ERROR` event is
   * turned into a rejection carrying its status (410 for an expired resource version). `signal`
   * closes the stream; the promise then resolves.
   */
  async watch<T>(path: string, query: Query, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const res = await this.#send('GET', path, { query: { ...query, watch: 'true' }, signal, stream: true });
    if ((res.statusCode ?? 0) >= 300) throw errorFrom('WATCH', path, res.statusCode ?? 0, await readAll(res));
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        lines.close();
        res.destroy();
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      const onAbort = () => finish();
      signal.addEventListener('abort', onAbort, { once: true });
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      lines.on('line', (line) => {
        if (settled || line.trim() === '') return;
        let event: WatchEvent<T>;
        try {
          event = JSON.parse(line) as WatchEvent<T>;
        } catch (cause) {
          finish(new KubeApiError(`WATCH ${path}: unreadable event line`, 0, '', { cause }));
          return;
        }
        if (event.type === 'ERROR') {
          const st = event.object as KubeStatus;
          finish(new KubeApiError(`WATCH ${path}: ${st.message ?? 'error event'}`, st.code ?? 0, st.reason ?? ''));
          return;
        }
        try {
          onEvent(event);
        } catch (err) {
          finish(err as Error);
        }
      });
      res.on('error', (cause) => finish(new KubeApiError(`WATCH ${path}: ${cause.message}`, 0, '', { cause })));
      res.on('aborted', () => finish(new KubeApiError(`WATCH ${path}: connection aborted`, 0)));
      lines.on('close', () => finish());
      if (signal.aborted) finish();
    });
  }

  /** Reads one object of a type; undefined when it does not exist. */
  async read<T = unknown>(type: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', resourcePath(type, namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Lists the objects of a type (in a namespace, or everywhere), optionally by label selector.
   * Items get the type's `apiVersion` and `kind`, which lists of built-in types leave out.
   */
  async list<T = unknown>(type: ResourceType, namespace: string | undefined, options: { labelSelector?: string } = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const list = await this.get<KubeList<T>>(resourcePath(type, namespace), { labelSelector: options.labelSelector || undefined });
    const items = (list.items ?? []).map((o) => ({ ...o, apiVersion: type.apiVersion, kind: type.kind }));
    return { items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /** Creates an object. */
  create<T = unknown>(type: ResourceType, object: NamedObject): Promise<T> {
    return this.request<T>('POST', resourcePath(type, object.metadata.namespace), { body: object });
  }

  /** Replaces an object; its `metadata.resourceVersion`, if set, makes the write conditional. */
  replace<T = unknown>(type: ResourceType, object: NamedObject): Promise<T> {
    return this.request<T>('PUT', resourcePath(type, object.metadata.namespace, object.metadata.name), { body: object });
  }

  /** Server-side apply of an object (or, with `subresource: 'status'`, of its status) owned by `fieldManager`; returns it as stored. */
  apply<T = unknown>(type: ResourceType, object: NamedObject, fieldManager: string, options: { force?: boolean; subresource?: 'status' } = {}): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, object.metadata.namespace, object.metadata.name, options.subresource), {
      query: { fieldManager, force: options.force ?? true },
      body: object,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /** A JSON merge patch of an object, or of one of its subresources (`status`, `scale`). */
  mergePatch<T = unknown>(type: ResourceType, namespace: string | undefined, name: string, patch: unknown, subresource?: string): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, namespace, name, subresource), { body: patch, contentType: 'application/merge-patch+json' });
  }

  /** Deletes an object in the background (its dependents after it); false when it was already gone. */
  async delete(type: ResourceType, namespace: string | undefined, name: string): Promise<boolean> {
    try {
      await this.request('DELETE', resourcePath(type, namespace, name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Closes idle connections; later requests fail. */
  close(): void {
    this.#closed = true;
    this.#agent.destroy();
  }

  async #send(method: string, path: string, init: { query?: Query; body?: unknown; contentType?: string; signal?: AbortSignal; stream?: boolean }): Promise<http.IncomingMessage> {
    if (this.#closed) throw new KubeApiError(`${method} ${path}: the client is closed`, 0);
    const url = new URL(this.server.href.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    // Credentials are applied per request: tokens from files, exec plugins and OIDC refresh.
    const opts: https.RequestOptions = { headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#userAgent !== undefined) headers['user-agent'] = this.#userAgent;
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    let body: string | undefined;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = init.contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const transport = this.#secure ? https : http;
    const tls = this.#secure
      ? { ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, servername: opts.servername, ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}) }
      : {};
    return new Promise((resolve, reject) => {
      const req = transport.request(url, {
        method,
        headers,
        // A watch holds its connection for minutes: give it its own socket instead of the pool's.
        agent: init.stream ? false : this.#agent,
        ...(opts.auth ? { auth: opts.auth } : {}),
        ...tls,
        ...(init.signal ? { signal: init.signal } : {}),
        ...(!init.stream && this.#timeoutMs !== undefined ? { timeout: this.#timeoutMs } : {}),
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('response', resolve);
      req.on('error', (cause) => reject(new KubeApiError(`${method} ${path}: ${cause.message}`, 0, '', { cause })));
      if (init.stream) req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
      req.end(body);
    });
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function errorFrom(method: string, path: string, status: number, text: string): KubeApiError {
  let st: KubeStatus = {};
  try {
    st = JSON.parse(text) as KubeStatus;
  } catch {
    // Not a Status object (a proxy's page, say): keep the text.
  }
  const message = st.message ?? (text.trim().slice(0, 200) || http.STATUS_CODES[status] || 'error');
  return new KubeApiError(`${method} ${path}: ${status} ${message}`, status, st.reason ?? '');
}
