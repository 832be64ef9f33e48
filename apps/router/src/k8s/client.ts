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

/** Which Kubernetes configuration to use, as the options resolved it (only `options.ts` reads the environment). */
export interface KubeConfigSource {
  /** `--kubeconfig`, else `$KUBECONFIG` (the first file of a `:`-separated list); null for none. */
  readonly kubeconfig: string | null;
  /** `--kube-context`: a context of the kubeconfig other than its current one. */
  readonly context?: string | null;
  /** `$KUBERNETES_SERVICE_HOST` and `$KUBERNETES_SERVICE_PORT` when running in a pod. */
  readonly inCluster?: { readonly host: string; readonly port: string } | null;
  /** Service account folder for the in-cluster configuration (tests point it elsewhere). */
  readonly serviceAccountDir?: string;
  /** The home folder holding `.kube/config`, the last resort. */
  readonly home?: string;
}

/** No usable Kubernetes configuration, or a cluster the router cannot work with (CRD missing, no permission). */
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

type Query = Record<string, string | number | boolean | undefined>;

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
  #closed = false;

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
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

  /** Sends one request and parses the JSON answer; a non-2xx answer throws {@link KubeApiError}. */
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
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    let body: string | undefined;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = init.contentType ?? 'application/json';
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
      });
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
