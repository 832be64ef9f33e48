import { mkdtemp, rename, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { EndpointsFileError, FileDiscovery, MAX_ENDPOINTS_FILE_BYTES, parseEndpointsFile, readEndpointsFileText } from './file-discovery.js';
import { InMemoryDatastore } from './in-memory.js';
import type { DatastoreEvent } from './types.js';

/** A temporary directory removed on dispose. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await mkdtemp(join(tmpdir(), 'llmd-file-discovery-'));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/** Collects items and lets a test wait for one that satisfies a predicate. */
class Inbox<T> {
  readonly items: T[] = [];
  #waiters: Array<() => void> = [];

  push = (item: T): void => {
    this.items.push(item);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  };

  async waitFor(predicate: (items: readonly T[]) => boolean): Promise<readonly T[]> {
    while (!predicate(this.items)) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.items;
  }
}

/** A pino logger whose lines land in an inbox. */
function capturingLogger(): { logger: Logger; lines: Inbox<{ level: number; msg: string; [k: string]: unknown }> } {
  const lines = new Inbox<{ level: number; msg: string }>();
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function events(ds: InMemoryDatastore): Inbox<string> {
  const inbox = new Inbox<string>();
  ds.subscribe((e: DatastoreEvent) => inbox.push(`${e.type} ${e.endpoint.metadata.id} ${e.endpoint.metadata.hostPort}`));
  return inbox;
}

const YAML_FILE = `
endpoints:
  - name: vllm-0
    namespace: prod
    address: "10.0.0.1"
    port: "8000"
    labels: {llm-d.ai/role: decode}
  - name: vllm-1
    address: 10.0.0.2
    port: 8001
`;

describe('parseEndpointsFile', () => {
  it.each([
    ['YAML (port as string and as number)', YAML_FILE],
    [
      'JSON',
      JSON.stringify({
        endpoints: [
          { name: 'vllm-0', namespace: 'prod', address: '10.0.0.1', port: '8000', labels: { 'llm-d.ai/role': 'decode' } },
          { name: 'vllm-1', address: '10.0.0.2', port: 8001 },
        ],
      }),
    ],
  ])('reads %s', (_what, text) => {
    const parsed = parseEndpointsFile(text);
    expect(parsed.issues).toEqual([]);
    expect(parsed.endpoints).toEqual([
      { id: 'prod/vllm-0', name: 'vllm-0', namespace: 'prod', address: '10.0.0.1', port: 8000, hostPort: '10.0.0.1:8000', labels: { 'llm-d.ai/role': 'decode' } },
      { id: 'default/vllm-1', name: 'vllm-1', namespace: 'default', address: '10.0.0.2', port: 8001, hostPort: '10.0.0.2:8001', labels: {} },
    ]);
  });

  it.each([
    ['an IPv6 literal', '::1', '[::1]:80'],
    ['localhost', 'localhost', 'localhost:80'],
  ])('accepts %s as address', (_what, address, hostPort) => {
    const parsed = parseEndpointsFile(JSON.stringify({ endpoints: [{ name: 'a', address, port: 80 }] }));
    expect(parsed.endpoints[0]?.hostPort).toBe(hostPort);
  });

  it('lets the last duplicate id win', () => {
    const parsed = parseEndpointsFile('endpoints:\n- {name: a, address: 10.0.0.1, port: 1}\n- {name: b, address: 10.0.0.2, port: 2}\n- {name: a, address: 10.0.0.3, port: 3}\n');
    expect(parsed.endpoints.map((e) => `${e.id}@${e.hostPort}`)).toEqual(['default/a@10.0.0.3:3', 'default/b@10.0.0.2:2']);
  });

  it('accepts an empty list', () => {
    expect(parseEndpointsFile('endpoints: []').endpoints).toEqual([]);
  });

  it.each([
    ['{address: 10.0.0.1, port: 1}', 'endpoints[1].name: required'],
    ['{name: "a/b", address: 10.0.0.1, port: 1}', 'endpoints[1].name: expected a non-empty string without "/" or blanks, got string "a/b"'],
    ['{name: 7, address: 10.0.0.1, port: 1}', 'endpoints[1].name: expected a non-empty string without "/" or blanks, got number 7'],
    ['{name: a, namespace: [x], address: 10.0.0.1, port: 1}', 'endpoints[1].namespace: expected a string without "/" or blanks, got a list'],
    ['{name: a, port: 1}', 'endpoints[1].address: required'],
    ['{name: a, address: vllm.example.com, port: 1}', 'endpoints[1].address: "vllm.example.com" is not an IPv4/IPv6 literal or "localhost"'],
    ['{name: a, address: "10.0.0.256", port: 1}', 'endpoints[1].address: "10.0.0.256" is not an IPv4/IPv6 literal or "localhost"'],
    ['{name: a, address: 10.0.0.1}', 'endpoints[1].port: required'],
    ['{name: a, address: 10.0.0.1, port: 0}', 'endpoints[1].port: expected a number 1..65535, got 0'],
    ['{name: a, address: 10.0.0.1, port: "70000"}', 'endpoints[1].port: expected a number 1..65535, got "70000"'],
    ['{name: a, address: 10.0.0.1, port: 80.5}', 'endpoints[1].port: expected a number 1..65535, got 80.5'],
    ['{name: a, address: 10.0.0.1, port: "http"}', 'endpoints[1].port: expected a number 1..65535 (or a string of one), got string "http"'],
    ['{name: a, address: 10.0.0.1, port: 1, labels: [x]}', 'endpoints[1].labels: expected a mapping, got a list'],
    ['{name: a, address: 10.0.0.1, port: 1, labels: {on: true}}', 'endpoints[1].labels.on: expected a string (quote it), got boolean true'],
    ['just-a-string', 'endpoints[1]: expected a mapping, got string "just-a-string"'],
  ])('reports %s with its path and keeps the valid entries', (entry, issue) => {
    const parsed = parseEndpointsFile(`endpoints:\n- {name: ok, address: 10.0.0.9, port: 9}\n- ${entry}\n`);
    expect(parsed.issues).toEqual([issue]);
    expect(parsed.endpoints.map((e) => e.id)).toEqual(['default/ok']);
  });

  it('reports every problem of an entry and remembers its id when name and namespace are valid', () => {
    const parsed = parseEndpointsFile('endpoints:\n- {name: a, namespace: n, address: nope, port: 0}\n- {address: nope}\n');
    expect(parsed.issues).toEqual([
      'endpoints[0].address: "nope" is not an IPv4/IPv6 literal or "localhost"',
      'endpoints[0].port: expected a number 1..65535, got 0',
      'endpoints[1].name: required',
      'endpoints[1].address: "nope" is not an IPv4/IPv6 literal or "localhost"',
      'endpoints[1].port: required',
    ]);
    expect([...parsed.invalidIds]).toEqual(['n/a']);
  });

  it.each([
    ['broken YAML', 'endpoints: [\n', /invalid YAML\/JSON/],
    ['an empty file', '', /the file is empty/],
    ['a list at the top', '- name: a', /expected a mapping with an "endpoints" list, got a list/],
    ['no endpoints key', 'endpoint: []', /^endpoints: required$/],
    ['endpoints not a list', 'endpoints: {name: a}', /^endpoints: expected a list, got a mapping$/],
  ])('rejects %s as a whole', (_what, text, message) => {
    expect(() => parseEndpointsFile(text)).toThrow(EndpointsFileError);
    expect(() => parseEndpointsFile(text)).toThrow(message);
  });
});

describe('readEndpointsFileText', () => {
  it('rejects files over 1 MiB and reads one at the limit', async () => {
    await using dir = await tempDir();
    const big = join(dir.path, 'big.yaml');
    await writeFile(big, `endpoints: []\n#${'x'.repeat(MAX_ENDPOINTS_FILE_BYTES)}`);
    await expect(readEndpointsFileText(big)).rejects.toThrow(/exceeds the 1 MiB limit/);
    const atLimit = join(dir.path, 'limit.yaml');
    const text = `endpoints: []\n#${'x'.repeat(MAX_ENDPOINTS_FILE_BYTES - 15)}`;
    await writeFile(atLimit, text);
    expect(Buffer.byteLength(text)).toBe(MAX_ENDPOINTS_FILE_BYTES);
    expect(await readEndpointsFileText(atLimit)).toBe(text);
  });
});

describe('FileDiscovery', () => {
  it('loads the file, marks the datastore synced, and does not watch by default', async () => {
    await using dir = await tempDir();
    const path = join(dir.path, 'endpoints.yaml');
    await writeFile(path, YAML_FILE);
    const ds = new InMemoryDatastore();
    await using discovery = new FileDiscovery({ path, logger: capturingLogger().logger });
    await discovery.start(ds);
    expect(ds.synced).toBe(true);
    expect(discovery.watchFile).toBe(false);
    expect(ds.endpoints().map((e) => e.metadata.hostPort)).toEqual(['10.0.0.1:8000', '10.0.0.2:8001']);
  });

  it.each([
    ['an invalid entry', 'endpoints:\n- {name: a, address: 10.0.0.1, port: 1}\n- {name: b, address: 10.0.0.2, port: 0}\n', /endpoints\[1\]\.port: expected a number 1\.\.65535, got 0/],
    ['broken YAML', 'endpoints: [', /initial load of .* failed: invalid YAML/],
  ])('fails the initial load on %s, applying nothing', async (_what, text, message) => {
    await using dir = await tempDir();
    const path = join(dir.path, 'endpoints.yaml');
    await writeFile(path, text);
    const ds = new InMemoryDatastore();
    const discovery = new FileDiscovery({ path, watchFile: true, logger: capturingLogger().logger });
    const err = await discovery.start(ds).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndpointsFileError);
    expect((err as Error).message).toMatch(message);
    expect(ds.synced).toBe(false);
    expect(ds.endpoints()).toEqual([]);
  });

  it('fails the initial load of a missing file, naming it', async () => {
    await using dir = await tempDir();
    const path = join(dir.path, 'absent.yaml');
    const discovery = new FileDiscovery({ path, logger: capturingLogger().logger });
    await expect(discovery.start(new InMemoryDatastore())).rejects.toThrow(`initial load of ${path} failed: reading ${path}`);
  });

  it('on reload upserts valid entries, removes dropped ids, keeps an entry that became invalid, and logs the issues', async () => {
    await using dir = await tempDir();
    const path = join(dir.path, 'endpoints.yaml');
    await writeFile(path, 'endpoints:\n- {name: a, address: 10.0.0.1, port: 1}\n- {name: b, address: 10.0.0.2, port: 2}\n- {name: c, address: 10.0.0.3, port: 3}\n');
    const ds = new InMemoryDatastore();
    const { logger, lines } = capturingLogger();
    await using discovery = new FileDiscovery({ path, logger });
    await discovery.start(ds);
    const seen = events(ds);

    await writeFile(path, 'endpoints:\n- {name: a, address: 10.0.0.1, port: 1}\n- {name: b, address: 10.0.0.2, port: 0}\n- {name: d, address: 10.0.0.4, port: 4}\n');
    await discovery.reload();
    expect(seen.items).toEqual(['added default/d 10.0.0.4:4', 'removed default/c 10.0.0.3:3']);
    expect(ds.endpoints().map((e) => e.metadata.id)).toEqual(['default/a', 'default/b', 'default/d']);
    expect(lines.items.find((l) => l.msg.includes('invalid entries'))).toMatchObject({ issues: ['endpoints[1].port: expected a number 1..65535, got 0'] });
  });

  it('keeps every endpoint when a reload cannot parse or read the file', async () => {
    await using dir = await tempDir();
    const path = join(dir.path, 'endpoints.yaml');
    await writeFile(path, YAML_FILE);
    const ds = new InMemoryDatastore();
    const { logger, lines } = capturingLogger();
    await using discovery = new FileDiscovery({ path, logger });
    await discovery.start(ds);
    const before = ds.endpoints();

    await writeFile(path, 'endpoints: [');
    await discovery.reload();
    await rm(path);
    await discovery.reload();
    expect(ds.endpoints()).toBe(before);
    expect(lines.items.filter((l) => l.msg.startsWith('reloading the endpoints file failed')).map((l) => String(l['err']))).toEqual([
      expect.stringMatching(/invalid YAML/),
      expect.stringMatching(/ENOENT/),
    ]);
  });

  it('changes nothing after stop', async () => {
    await using dir = await tempDir();
    const path = join(dir.path, 'endpoints.yaml');
    await writeFile(path, YAML_FILE);
    const ds = new InMemoryDatastore();
    const discovery = new FileDiscovery({ path, logger: capturingLogger().logger });
    await discovery.start(ds);
    discovery.stop();
    await writeFile(path, 'endpoints: []');
    await discovery.reload();
    expect(ds.size).toBe(2);
  });

  describe('with watchFile', () => {
    it('reloads when the file is written in place', async () => {
      await using dir = await tempDir();
      const path = join(dir.path, 'endpoints.yaml');
      await writeFile(path, 'endpoints:\n- {name: a, address: 10.0.0.1, port: "8000"}\n');
      const ds = new InMemoryDatastore();
      await using discovery = new FileDiscovery({ path, watchFile: true, logger: capturingLogger().logger });
      await discovery.start(ds);
      const seen = events(ds);

      await writeFile(path, 'endpoints:\n- {name: a, address: 10.0.0.1, port: "8000"}\n- {name: b, address: 10.0.0.2, port: "8000"}\n');
      await seen.waitFor((e) => e.includes('added default/b 10.0.0.2:8000'));
      await writeFile(path, 'endpoints:\n- {name: b, address: 10.0.0.2, port: "8000"}\n');
      await seen.waitFor((e) => e.includes('removed default/a 10.0.0.1:8000'));
      expect(ds.endpoints().map((e) => e.metadata.id)).toEqual(['default/b']);
    });

    it('follows an atomic rename over the file', async () => {
      await using dir = await tempDir();
      const path = join(dir.path, 'endpoints.yaml');
      await writeFile(path, 'endpoints:\n- {name: a, address: 10.0.0.1, port: 1}\n');
      const ds = new InMemoryDatastore();
      await using discovery = new FileDiscovery({ path, watchFile: true, logger: capturingLogger().logger });
      await discovery.start(ds);
      const seen = events(ds);

      for (const port of [2, 3]) {
        const tmp = join(dir.path, `.endpoints.yaml.${port}.tmp`);
        await writeFile(tmp, `endpoints:\n- {name: a, address: 10.0.0.1, port: ${port}}\n`);
        await rename(tmp, path);
        await seen.waitFor((e) => e.includes(`updated default/a 10.0.0.1:${port}`));
      }
      expect(ds.get('default/a')?.metadata.port).toBe(3);
    });

    it('follows a ConfigMap-style ..data symlink swap', async () => {
      await using dir = await tempDir();
      const v1 = join(dir.path, '..2026_01_01_v1');
      const v2 = join(dir.path, '..2026_01_01_v2');
      await mkdir(v1);
      await mkdir(v2);
      await writeFile(join(v1, 'endpoints.yaml'), 'endpoints:\n- {name: a, address: 10.0.0.1, port: 1}\n');
      await writeFile(join(v2, 'endpoints.yaml'), 'endpoints:\n- {name: z, address: 10.0.0.26, port: 26}\n');
      await symlink('..2026_01_01_v1', join(dir.path, '..data'));
      await symlink('..data/endpoints.yaml', join(dir.path, 'endpoints.yaml'));
      const ds = new InMemoryDatastore();
      await using discovery = new FileDiscovery({ path: join(dir.path, 'endpoints.yaml'), watchFile: true, logger: capturingLogger().logger });
      await discovery.start(ds);
      const seen = events(ds);

      // What the kubelet does: a new link, renamed over ..data.
      await symlink('..2026_01_01_v2', join(dir.path, '..data_tmp'));
      await rename(join(dir.path, '..data_tmp'), join(dir.path, '..data'));
      await seen.waitFor((e) => e.includes('removed default/a 10.0.0.1:1'));
      expect(seen.items).toContain('added default/z 10.0.0.26:26');
    });
  });

  describe('fromParameters', () => {
    it('defaults watchFile to false', () => {
      const d = FileDiscovery.fromParameters('fd', { path: '/etc/epp/endpoints.yaml' }, capturingLogger().logger);
      expect([d.type, d.name, d.path, d.watchFile]).toEqual(['file-discovery', 'fd', '/etc/epp/endpoints.yaml', false]);
    });

    it.each([
      [{}, /parameters\.path: /],
      [{ path: 7 }, /parameters\.path: /],
      [{ path: '/x', watchFile: 'yes' }, /parameters\.watchFile: /],
      [{ path: '/x', watchfile: true }, /parameters: .*watchfile/],
      [undefined, /parameters\.path: /],
    ])('rejects %j naming the parameter', (params, message) => {
      expect(() => FileDiscovery.fromParameters('fd', params, capturingLogger().logger)).toThrow(message);
    });
  });
});
