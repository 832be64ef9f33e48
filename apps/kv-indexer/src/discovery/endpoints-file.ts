import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';

/** One model-server endpoint of the endpoints file, and where its KV events are published. */
export interface DiscoveredEndpoint {
  /** `namespace/name`. */
  readonly id: string;
  /** The endpoint's identity in the index: `<address>:<port>` (the serving port), as the router addresses it. */
  readonly pod: string;
  /** The endpoint's KV-event PUB socket: `tcp://<address>:<zmq port>`. */
  readonly zmqEndpoint: string;
  /** Host part of the endpoint's address (for replay sockets). */
  readonly address: string;
}

/** An endpoints file that cannot be used as a whole (bad YAML, no `endpoints` list). */
export class EndpointsFileError extends Error {
  override readonly name = 'EndpointsFileError';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Reads the router's endpoints file format, YAML or JSON: `endpoints: [{name, namespace?, address,
 * port, labels?}]`. Only what the indexer needs is checked (labels are ignored). Invalid entries are
 * skipped and described in `issues` (`endpoints[2].port: …`); a file unusable as a whole throws
 * {@link EndpointsFileError}.
 */
export function parseEndpointsFile(text: string, zmqPort: number): { endpoints: DiscoveredEndpoint[]; issues: string[] } {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new EndpointsFileError(`invalid YAML/JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isMapping(doc)) throw new EndpointsFileError(`expected a mapping with an "endpoints" list, got ${describe(doc ?? null)}`);
  const list = doc['endpoints'] ?? [];
  if (!Array.isArray(list)) throw new EndpointsFileError(`endpoints: expected a list, got ${describe(list)}`);
  const endpoints = new Map<string, DiscoveredEndpoint>();
  const issues: string[] = [];
  list.forEach((entry: unknown, i) => {
    const at = `endpoints[${i}]`;
    if (!isMapping(entry)) return void issues.push(`${at}: expected a mapping, got ${describe(entry)}`);
    const { name, namespace, address, port } = entry;
    if (typeof name !== 'string' || name === '') return void issues.push(`${at}.name: expected a non-empty string, got ${describe(name ?? null)}`);
    if (namespace != null && typeof namespace !== 'string') return void issues.push(`${at}.namespace: expected a string, got ${describe(namespace)}`);
    if (typeof address !== 'string' || (isIP(address) === 0 && address !== 'localhost')) {
      return void issues.push(`${at}.address: expected an IPv4/IPv6 literal or "localhost", got ${describe(address ?? null)}`);
    }
    const n = typeof port === 'string' && /^\d+$/.test(port.trim()) ? Number(port) : port;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) return void issues.push(`${at}.port: expected a number 1..65535, got ${describe(port ?? null)}`);
    const id = `${namespace || 'default'}/${name}`;
    endpoints.set(id, { id, pod: hostPort(address, n), zmqEndpoint: `tcp://${hostPort(address, zmqPort)}`, address });
  });
  return { endpoints: [...endpoints.values()], issues };
}

/** Options of {@link EndpointsFileWatcher}. */
export interface EndpointsFileWatcherOptions {
  readonly path: string;
  /** Port of every endpoint's KV-event PUB socket. */
  readonly zmqPort: number;
  readonly logger: Logger;
  /** Called with what changed since the previous load (the first load adds everything); awaited before the next. */
  readonly onChange: (added: readonly DiscoveredEndpoint[], removed: readonly DiscoveredEndpoint[]) => Promise<void> | void;
}

/**
 * Follows an endpoints file: loads it on `start` (an unusable file fails the start), then reloads on
 * every change of its directory (in-place writes, atomic renames, Kubernetes ConfigMap `..data` swaps).
 * Reloads run one at a time; a file that cannot be read or parsed keeps the current endpoints.
 */
export class EndpointsFileWatcher {
  readonly path: string;
  readonly #options: EndpointsFileWatcherOptions;
  readonly #current = new Map<string, DiscoveredEndpoint>();
  #watcher: FSWatcher | undefined;
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: EndpointsFileWatcherOptions) {
    this.#options = options;
    this.path = resolve(options.path);
  }

  /** Endpoints of the last good load. */
  get endpoints(): DiscoveredEndpoint[] {
    return [...this.#current.values()];
  }

  /** Loads the file (throws {@link EndpointsFileError} when unusable) and starts watching it. */
  async start(): Promise<void> {
    const base = basename(this.path);
    // Watch before the first read so a change made during it is not missed.
    this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
      const name = filename === null ? null : filename.toString();
      if (name === null || name === base || name.startsWith('..')) void this.reload().catch(() => undefined);
    });
    this.#watcher.on('error', (err) => this.#options.logger.error({ err }, 'watching the endpoints file failed; reloads stop'));
    try {
      await this.#enqueue(true);
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /** Reloads now; resolves when applied. */
  reload(): Promise<void> {
    return this.#enqueue(false);
  }

  /** Stops watching; queued reloads change nothing. */
  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #enqueue(initial: boolean): Promise<void> {
    const run = this.#queue.then(() => this.#load(initial));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #load(initial: boolean): Promise<void> {
    if (this.#stopped) return;
    const { logger, zmqPort, onChange } = this.#options;
    let parsed;
    try {
      parsed = parseEndpointsFile(await readFile(this.path, 'utf8'), zmqPort);
    } catch (err) {
      const message = `${this.path}: ${(err as Error).message}`;
      if (initial) throw new EndpointsFileError(message, { cause: err });
      logger.error({ err: message }, 'reloading the endpoints file failed; keeping the current endpoints');
      return;
    }
    for (const issue of parsed.issues) logger.warn({ issue }, 'skipping an invalid endpoint');
    const next = new Map(parsed.endpoints.map((e) => [e.id, e]));
    const same = (a: DiscoveredEndpoint, b: DiscoveredEndpoint) => a.pod === b.pod && a.zmqEndpoint === b.zmqEndpoint;
    const removed = [...this.#current.values()].filter((e) => !next.has(e.id) || !same(e, next.get(e.id) as DiscoveredEndpoint));
    const added = [...next.values()].filter((e) => !this.#current.has(e.id) || !same(e, this.#current.get(e.id) as DiscoveredEndpoint));
    if (added.length === 0 && removed.length === 0) return;
    this.#current.clear();
    for (const [id, e] of next) this.#current.set(id, e);
    logger.info({ added: added.map((e) => e.id), removed: removed.map((e) => e.id), endpoints: next.size }, 'endpoints file loaded');
    await onChange(added, removed);
  }
}
