import { isIP } from 'node:net';

/** A host and port read from a header or an allowlist entry; the host is lower case, IPv6 without brackets. */
export interface HostPort {
  readonly host: string;
  /** Null for an allowlist entry that allows every port of the host. */
  readonly port: number | null;
}

const HOST_RE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i;

/**
 * Parses `host:port`, `[v6]:port`, a bare host (when `portRequired` is false) or a bare IPv6
 * literal. A leading `http://` or `https://` is dropped, as upstream drops `http://` from the
 * legacy `x-prefiller-url`. Returns null when the text is not one of these.
 */
export function parseHostPort(text: string, portRequired: boolean): HostPort | null {
  let s = text.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '');
  if (s === '') return null;
  let host: string;
  let portText: string | null = null;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end === -1) return null;
    host = s.slice(1, end);
    const rest = s.slice(end + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return null;
      portText = rest.slice(1);
    }
    if (isIP(host) !== 6) return null;
  } else if (isIP(s) === 6) {
    host = s; // a bare IPv6 literal: no port
  } else {
    const colon = s.lastIndexOf(':');
    if (colon !== -1) {
      portText = s.slice(colon + 1);
      s = s.slice(0, colon);
    }
    host = s;
    if (isIP(host) === 0 && !HOST_RE.test(host)) return null;
  }
  let port: number | null = null;
  if (portText !== null) {
    if (!/^\d{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port < 1 || port > 65535) return null;
  }
  if (port === null && portRequired) return null;
  return { host: host.toLowerCase(), port };
}

/** `host:port` with IPv6 hosts in brackets, as URLs need it. */
export function formatHostPort(hp: HostPort): string {
  const host = isIP(hp.host) === 6 ? `[${hp.host}]` : hp.host;
  return hp.port === null ? host : `${host}:${hp.port}`;
}

/**
 * The prefill targets the sidecar may contact when SSRF protection is on. Several sources feed it
 * independently (the command line, an endpoints file, and later a Kubernetes pod watch, as
 * upstream builds it from the InferencePool's pods); each source replaces its own entries and the
 * allowlist is their union. An entry is `host:port` (that port only) or `host` (any port, as the
 * 2025 sidecar allowed any port of a pool pod).
 */
export class PrefillAllowlist {
  readonly #sources = new Map<string, readonly HostPort[]>();
  #exact = new Set<string>();
  #anyPort = new Set<string>();

  /** Replaces the entries of `source`; returns the entries that could not be parsed. */
  replace(source: string, entries: readonly string[]): string[] {
    const parsed: HostPort[] = [];
    const invalid: string[] = [];
    for (const entry of entries) {
      const hp = parseHostPort(entry, false);
      if (hp === null) invalid.push(entry);
      else parsed.push(hp);
    }
    this.#sources.set(source, parsed);
    this.#rebuild();
    return invalid;
  }

  /** Drops every entry of `source`. */
  remove(source: string): void {
    if (this.#sources.delete(source)) this.#rebuild();
  }

  /** Whether the target may be contacted. */
  isAllowed(target: HostPort): boolean {
    if (target.port !== null && this.#exact.has(`${target.host}:${target.port}`)) return true;
    return this.#anyPort.has(target.host);
  }

  /** Number of distinct entries. */
  get size(): number {
    return this.#exact.size + this.#anyPort.size;
  }

  /** The entries, sorted, for logs and tests. */
  entries(): string[] {
    return [...[...this.#exact], ...[...this.#anyPort]].sort();
  }

  #rebuild(): void {
    const exact = new Set<string>();
    const anyPort = new Set<string>();
    for (const list of this.#sources.values()) {
      for (const hp of list) {
        if (hp.port === null) anyPort.add(hp.host);
        else exact.add(`${hp.host}:${hp.port}`);
      }
    }
    this.#exact = exact;
    this.#anyPort = anyPort;
  }
}
