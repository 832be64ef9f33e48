import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import type { PrefillAllowlist } from './allowlist.js';

/** Largest endpoints file read (as the router's file discovery). */
export const MAX_ALLOWLIST_FILE_BYTES = 1 << 20;

/** An endpoints file that cannot be used at all. */
export class AllowlistFileError extends Error {
  override readonly name = 'AllowlistFileError';
}

/** What an endpoints file allows: its `address:port` entries, and the problems of entries that were skipped. */
export interface AllowlistFileContent {
  readonly targets: readonly string[];
  readonly issues: readonly string[];
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads the router's endpoints file format (`endpoints: [{name, namespace?, address, port, labels?}]`,
 * YAML or JSON) as allowed prefill targets `address:port`. Entries without a usable address or port
 * are skipped and listed in `issues`; a file that is not such a document throws.
 */
export function parseAllowlistFile(text: string): AllowlistFileContent {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AllowlistFileError(`invalid YAML/JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isMapping(doc) || !Array.isArray(doc['endpoints'])) throw new AllowlistFileError('expected a mapping with an "endpoints" list');
  const targets: string[] = [];
  const issues: string[] = [];
  (doc['endpoints'] as unknown[]).forEach((entry, i) => {
    const at = `endpoints[${i}]`;
    if (!isMapping(entry)) return void issues.push(`${at}: expected a mapping`);
    const { address, port } = entry;
    if (typeof address !== 'string' || address.trim() === '') return void issues.push(`${at}.address: required`);
    const portText = typeof port === 'number' ? String(port) : typeof port === 'string' ? port.trim() : '';
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return void issues.push(`${at}.port: expected 1..65535`);
    targets.push(address.includes(':') && !address.startsWith('[') ? `[${address}]:${portText}` : `${address}:${portText}`);
  });
  return { targets, issues };
}

/**
 * Feeds a {@link PrefillAllowlist} from an endpoints file and keeps it current: the folder is
 * watched (so edits, atomic renames and ConfigMap symlink swaps all count) and the file re-read
 * after changes settle. A reload that fails keeps the previous entries and logs why.
 */
export class AllowlistFileSource {
  static readonly SOURCE = 'prefill-allowlist-file';
  readonly path: string;
  readonly #allowlist: PrefillAllowlist;
  readonly #logger: Logger;
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #loads = 0;
  #failures = 0;

  constructor(path: string, allowlist: PrefillAllowlist, logger: Logger) {
    this.path = resolve(path);
    this.#allowlist = allowlist;
    this.#logger = logger.child({ component: 'allowlist-file' });
  }

  /** Successful loads so far (tests wait on it). */
  get loads(): number {
    return this.#loads;
  }

  /** Reloads that failed and kept the previous entries. */
  get failures(): number {
    return this.#failures;
  }

  /** Loads the file (throwing when it is unusable) and starts watching it. */
  async start(): Promise<void> {
    await this.#load();
    this.#watcher = watch(dirname(this.path), (_event, name) => {
      if (name !== null && name !== basename(this.path) && !name.startsWith('..')) return;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#load().catch((err: Error) => {
          this.#failures++;
          this.#logger.warn({ file: this.path, err: err.message }, 'allowlist file reload failed; keeping the previous entries');
        });
      }, 50);
    });
    this.#watcher.on('error', (err) => this.#logger.warn({ file: this.path, err: err.message }, 'allowlist file watch failed'));
  }

  /** Stops watching. */
  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #load(): Promise<void> {
    let buf: Buffer;
    try {
      buf = await readFile(this.path);
    } catch (err) {
      throw new AllowlistFileError(`cannot read ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    if (buf.byteLength > MAX_ALLOWLIST_FILE_BYTES) throw new AllowlistFileError(`${this.path} is larger than ${MAX_ALLOWLIST_FILE_BYTES} bytes`);
    const content = parseAllowlistFile(buf.toString('utf8'));
    const invalid = this.#allowlist.replace(AllowlistFileSource.SOURCE, content.targets);
    const issues = [...content.issues, ...invalid.map((t) => `not a host:port: ${t}`)];
    if (issues.length > 0) this.#logger.warn({ file: this.path, issues }, 'skipped allowlist entries');
    this.#loads++;
    this.#logger.info({ file: this.path, targets: content.targets.length }, 'allowlist loaded');
  }
}
