// A small JSON client of the Kubernetes API on top of client-node's configuration loading (TLS
// material, tokens, exec plugins).
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** Where the configuration comes from, as the options resolved it. */
export interface KubeConfigSource {
  /** `--kubeconfig`, else the first file of `$KUBECONFIG`; null for none. */
  readonly kubeconfig: string | null;
  /** True when running in a pod (`$KUBERNETES_SERVICE_HOST` is set). */
  readonly inCluster: boolean;
}

/** No usable Kubernetes configuration. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

/** Loads the configuration in controller-runtime's order: flag/`$KUBECONFIG`, in-cluster, `~/.kube/config`. */
export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (source.kubeconfig !== null) kc.loadFromFile(source.kubeconfig);
    else if (source.inCluster) kc.loadFromCluster();
    else {
      const file = join(homedir(), '.kube', 'config');
      if (!existsSync(file)) throw new KubeConfigError('no Kubernetes configuration: give --kubeconfig (or $KUBECONFIG), run in a pod, or use --local-config');
      kc.loadFromFile(file);
    }
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new KubeConfigError(`cannot load the Kubernetes configuration: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigError('the kubeconfig names no current cluster');
  return kc;
}

/** An error answer of the API server (status 0 when no answer arrived). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly reason = '',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** JSON requests to the API server over one keep-alive agent. */
export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly #server: URL;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: { timeoutMs?: number } = {}) {
    this.kubeConfig = kubeConfig;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeConfigError('the kubeconfig names no current cluster');
    this.#server = new URL(cluster.server);
    this.#agent = this.#server.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** The namespace of the kubeconfig's current context, or null. */
  get contextNamespace(): string | null {
    return this.kubeConfig.getContextObject(this.kubeConfig.getCurrentContext())?.namespace || null;
  }

  /** Sends one request; a non-2xx answer throws {@link KubeApiError}. `contentType` defaults to JSON (merge-patch for PATCH). */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType?: string): Promise<T> {
    const url = new URL(this.#server);
    const q = path.indexOf('?');
    url.pathname = `${url.pathname.replace(/\/$/, '')}${q < 0 ? path : path.slice(0, q)}`;
    url.search = q < 0 ? '' : path.slice(q);
    const options: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(options);
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const [k, v] of Object.entries(options.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      headers['content-type'] = contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'http:' ? http.request : https.request;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(url, { ...options, auth: undefined, agent: this.#agent, method, headers, timeout: this.#timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.#timeoutMs} ms`)));
      req.on('error', (err) => reject(new KubeApiError(`${method} ${path}: ${err.message}`, 0, '', { cause: err })));
      req.end(payload);
    });
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (status >= 300) {
      const s = (parsed ?? {}) as { reason?: string; message?: string };
      throw new KubeApiError(`${method} ${path}: ${status}${s.reason ? ` ${s.reason}` : ''}: ${s.message ?? text.slice(0, 300)}`, status, s.reason ?? '');
    }
    return parsed as T;
  }

  /** Closes idle connections. */
  close(): void {
    this.#agent.destroy();
  }
}
