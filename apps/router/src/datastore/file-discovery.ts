import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { isIP } from 'node:net';
import { basename, dirname, resolve } from 'node:path';
import type { EndpointMetadata } from '@llmd/scheduling';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { createEndpointMetadata } from './in-memory.js';
import type { EndpointDatastore } from './types.js';

/** Plugin type name, as upstream. */
export const FILE_DISCOVERY_TYPE = 'file-discovery';

/** Largest endpoints file accepted, as upstream (1 MiB). */
export const MAX_ENDPOINTS_FILE_BYTES = 1 << 20;

/** Parameters of the `file-discovery` plugin. */
export const fileDiscoveryParamsSchema = z
  .object({
    /** The endpoints file (YAML or JSON). */
    path: z.string().min(1),
    /** Reload on change (edits, atomic renames, ConfigMap symlink swaps). Off by default, as upstream. */
    watchFile: z.boolean().default(false),
  })
  .strict();

/** Validated `file-discovery` parameters. */
export type FileDiscoveryParams = z.output<typeof fileDiscoveryParamsSchema>;

/** A whole endpoints file that cannot be used, or an initial load with invalid entries; `issues` lists each problem with its path. */
export class EndpointsFileError extends Error {
  override readonly name = 'EndpointsFileError';

  constructor(
    message: string,
    readonly issues: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(issues.length > 0 ? `${message}: ${issues.join('; ')}` : message, options);
  }
}

/** The usable content of an endpoints file. */
export interface ParsedEndpointsFile {
  /** Valid entries by id, the last duplicate winning, in order of first appearance. */
  readonly endpoints: readonly EndpointMetadata[];
  /** Invalid entries, each as `endpoints[<index>].<field>: <problem>`. */
  readonly issues: readonly string[];
  /** Ids of invalid entries whose name and namespace could be read (a reload keeps their previous state). */
  readonly invalidIds: ReadonlySet<string>;
}

const NAME_RE = /^[^\s/]+$/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The port as a number 1..65535 (string or number in the file), or a problem description. */
function readPort(value: unknown): number | string {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\d{1,5}$/.test(value.trim())) n = Number(value.trim());
  else if (value === undefined) return 'required';
  else return `expected a number 1..65535 (or a string of one), got ${describe(value)}`;
  if (!Number.isInteger(n) || n < 1 || n > 65535) return `expected a number 1..65535, got ${JSON.stringify(value)}`;
  return n;
}

/**
 * Parses an endpoints file (YAML or JSON): `endpoints: [{name, namespace?, address, port, labels?}]`.
 * `address` must be an IPv4 or IPv6 literal or `localhost` (upstream accepts IP literals only);
 * `port` may be a string (upstream's form) or a number. Invalid entries are skipped and listed in
 * `issues`. Throws {@link EndpointsFileError} when the file as a whole is unusable (bad YAML, no
 * `endpoints` list, empty document).
 */
export function parseEndpointsFile(text: string): ParsedEndpointsFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new EndpointsFileError(`invalid YAML/JSON: ${(err as Error).message}`, [], { cause: err });
  }
  if (doc === null || doc === undefined) throw new EndpointsFileError('the file is empty (write "endpoints: []" for no endpoints)');
  if (!isMapping(doc)) throw new EndpointsFileError(`expected a mapping with an "endpoints" list, got ${describe(doc)}`);
  const list = doc['endpoints'];
  if (list === undefined) throw new EndpointsFileError('endpoints: required');
  if (!Array.isArray(list)) throw new EndpointsFileError(`endpoints: expected a list, got ${describe(list)}`);

  const byId = new Map<string, EndpointMetadata>();
  const issues: string[] = [];
  const invalidIds = new Set<string>();
  list.forEach((entry: unknown, i) => {
    const at = `endpoints[${i}]`;
    if (!isMapping(entry)) {
      issues.push(`${at}: expected a mapping, got ${describe(entry)}`);
      return;
    }
    const before = issues.length;
    const { name, namespace: rawNamespace, address, port: rawPort, labels: rawLabels } = entry;
    if (name === undefined || name === '') issues.push(`${at}.name: required`);
    else if (typeof name !== 'string' || !NAME_RE.test(name)) issues.push(`${at}.name: expected a non-empty string without "/" or blanks, got ${describe(name)}`);
    let namespace = 'default';
    if (rawNamespace !== undefined && rawNamespace !== null && rawNamespace !== '') {
      if (typeof rawNamespace !== 'string' || !NAME_RE.test(rawNamespace)) issues.push(`${at}.namespace: expected a string without "/" or blanks, got ${describe(rawNamespace)}`);
      else namespace = rawNamespace;
    }
    const idKnown = issues.length === before;
    if (address === undefined || address === '') issues.push(`${at}.address: required`);
    else if (typeof address !== 'string') issues.push(`${at}.address: expected a string, got ${describe(address)}`);
    else if (isIP(address) === 0 && address !== 'localhost') issues.push(`${at}.address: ${JSON.stringify(address)} is not an IPv4/IPv6 literal or "localhost"`);
    const port = readPort(rawPort);
    if (typeof port === 'string') issues.push(`${at}.port: ${port}`);
    const labels: Record<string, string> = {};
    if (rawLabels !== undefined && rawLabels !== null) {
      if (!isMapping(rawLabels)) issues.push(`${at}.labels: expected a mapping, got ${describe(rawLabels)}`);
      else {
        for (const [k, v] of Object.entries(rawLabels)) {
          if (typeof v === 'string') labels[k] = v;
          else issues.push(`${at}.labels.${k}: expected a string (quote it), got ${describe(v)}`);
        }
      }
    }
    if (issues.length > before) {
      if (idKnown) invalidIds.add(`${namespace}/${name as string}`);
      return;
    }
    const metadata = createEndpointMetadata({ name: name as string, namespace, address: address as string, port: port as number, labels });
    byId.set(metadata.id, metadata);
  });
  // An id that is valid somewhere in the file is not "invalid" as a whole.
  for (const id of byId.keys()) invalidIds.delete(id);
  return { endpoints: [...byId.values()], issues, invalidIds };
}

/** Reads an endpoints file (at most {@link MAX_ENDPOINTS_FILE_BYTES}) as UTF-8 text. */
export async function readEndpointsFileText(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new EndpointsFileError(`reading ${path}: ${(err as Error).message}`, [], { cause: err });
  }
  try {
    const buffer = Buffer.alloc(MAX_ENDPOINTS_FILE_BYTES + 1);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, size, buffer.length - size, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > MAX_ENDPOINTS_FILE_BYTES) throw new EndpointsFileError(`${path} exceeds the 1 MiB limit`);
    }
    return buffer.toString('utf8', 0, size);
  } finally {
    await handle.close();
  }
}

/** What one load of the endpoints file changed (for the reload log line). */
interface EndpointsLoadResult {
  /** Valid entries applied (upserts; unchanged ones are no-ops in the datastore). */
  readonly applied: number;
  /** Ids removed because the file no longer lists them. */
  readonly removed: readonly string[];
  /** Invalid entries skipped. */
  readonly issues: readonly string[];
}

/** Options of a {@link FileDiscovery}. */
export interface FileDiscoveryOptions {
  /** Instance name; defaults to the type name. */
  readonly name?: string;
  readonly path: string;
  readonly watchFile?: boolean;
  readonly logger: Logger;
}

/**
 * Endpoint discovery from a file, for running without Kubernetes (upstream `file-discovery`).
 * `start` loads the file (any invalid entry fails it, as upstream's code does), applies it and marks
 * the datastore synced; with `watchFile`, a watch on the file's directory reloads on every change,
 * which covers in-place writes, atomic renames over the file and ConfigMap `..data` symlink swaps.
 * A reload applies the valid entries, removes ids dropped since the previous load and logs the
 * invalid ones; an entry that became invalid keeps its previous state; a file that cannot be read
 * or parsed changes nothing.
 */
export class FileDiscovery {
  /** Plugin type. */
  readonly type = FILE_DISCOVERY_TYPE;
  /** Plugin instance name. */
  readonly name: string;
  /** Absolute path of the endpoints file. */
  readonly path: string;
  /** Whether changes are watched. */
  readonly watchFile: boolean;
  readonly #logger: Logger;
  #datastore: EndpointDatastore | undefined;
  #watcher: FSWatcher | undefined;
  #ids = new Set<string>();
  #lastText: string | undefined;
  #reloading: Promise<void> | undefined;
  #pending = false;
  #loaded = false;
  #stopped = false;

  constructor(options: FileDiscoveryOptions) {
    this.name = options.name ?? FILE_DISCOVERY_TYPE;
    this.path = resolve(options.path);
    this.watchFile = options.watchFile ?? false;
    this.#logger = options.logger.child({ plugin: FILE_DISCOVERY_TYPE, path: this.path });
  }

  /** Builds the plugin from raw `parameters` of the config; errors name the parameter. */
  static fromParameters(name: string, parameters: unknown, logger: Logger): FileDiscovery {
    const parsed = fileDiscoveryParamsSchema.safeParse(parameters ?? {});
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `parameters${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`).join('; ');
      throw new Error(`${FILE_DISCOVERY_TYPE} plugin ${JSON.stringify(name)}: ${detail}`);
    }
    return new FileDiscovery({ name, path: parsed.data.path, watchFile: parsed.data.watchFile, logger });
  }

  /**
   * Loads the file into `datastore` and marks it synced, then watches (with `watchFile`). Throws
   * {@link EndpointsFileError} when the file is unusable or has any invalid entry; nothing is applied then.
   */
  async start(datastore: EndpointDatastore): Promise<void> {
    if (this.#datastore) throw new Error(`${FILE_DISCOVERY_TYPE}: already started`);
    this.#datastore = datastore;
    // Watch before the first read so a change made during it is not missed.
    if (this.watchFile) this.#watch();
    let text: string;
    let parsed: ParsedEndpointsFile;
    try {
      text = await readEndpointsFileText(this.path);
      parsed = parseEndpointsFile(text);
    } catch (err) {
      this.stop();
      const issues = err instanceof EndpointsFileError ? err.issues : [];
      throw new EndpointsFileError(`initial load of ${this.path} failed: ${(err as Error).message}`, issues, { cause: err });
    }
    if (parsed.issues.length > 0) {
      this.stop();
      throw new EndpointsFileError(`initial load of ${this.path} failed`, parsed.issues);
    }
    if (this.#stopped) return;
    this.#apply(parsed, text);
    this.#loaded = true;
    this.#logger.info({ endpoints: this.#ids.size, watching: this.watchFile }, 'endpoints file loaded');
    datastore.markSynced();
    // Changes seen while the first load ran.
    if (this.#pending) this.#requestReload();
  }

  /** Reloads the file now (also what a watch event does); resolves when this and any queued reload are done. */
  async reload(): Promise<void> {
    this.#requestReload();
    await this.#reloading;
  }

  /** Stops watching; later events and in-flight reloads change nothing. */
  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  /** Same as {@link stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.stop();
    await this.#reloading;
  }

  #watch(): void {
    const base = basename(this.path);
    this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
      // Our file, or Kubernetes' `..data` link and its timestamped targets; other files are ignored.
      const name = filename === null ? null : filename.toString();
      if (name === null || name === base || name.startsWith('..')) this.#requestReload();
    });
    this.#watcher.on('error', (err) => this.#logger.error({ err }, 'watching the endpoints file failed; reloads stop'));
  }

  #requestReload(): void {
    if (this.#stopped) return;
    if (this.#reloading || !this.#loaded) {
      this.#pending = true;
      return;
    }
    this.#reloading = this.#reloadLoop().finally(() => {
      this.#reloading = undefined;
    });
  }

  async #reloadLoop(): Promise<void> {
    do {
      this.#pending = false;
      await this.#reloadOnce();
    } while (this.#pending && !this.#stopped);
  }

  async #reloadOnce(): Promise<void> {
    let text: string;
    let parsed: ParsedEndpointsFile;
    try {
      text = await readEndpointsFileText(this.path);
      if (text === this.#lastText) return;
      parsed = parseEndpointsFile(text);
    } catch (err) {
      // A missing file mid-rename or a half-written one: keep what we have; the next event retries.
      if (!this.#stopped) this.#logger.error({ err: (err as Error).message }, 'reloading the endpoints file failed; keeping the current endpoints');
      return;
    }
    if (this.#stopped) return;
    const result = this.#apply(parsed, text);
    if (result.issues.length > 0) this.#logger.error({ issues: result.issues }, 'endpoints file has invalid entries; they were skipped');
    this.#logger.info({ applied: result.applied, removed: result.removed }, 'endpoints file reloaded');
  }

  #apply(parsed: ParsedEndpointsFile, text: string): EndpointsLoadResult {
    const datastore = this.#datastore as EndpointDatastore;
    const incoming = new Set<string>();
    for (const metadata of parsed.endpoints) {
      incoming.add(metadata.id);
      datastore.upsert(metadata);
    }
    const removed: string[] = [];
    for (const id of this.#ids) {
      if (incoming.has(id)) continue;
      if (parsed.invalidIds.has(id)) {
        incoming.add(id);
        continue;
      }
      datastore.remove(id);
      removed.push(id);
    }
    this.#ids = incoming;
    this.#lastText = text;
    return { applied: parsed.endpoints.length, removed, issues: parsed.issues };
  }
}
