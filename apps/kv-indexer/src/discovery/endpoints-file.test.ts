import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@llmd/observability';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EndpointsFileError, EndpointsFileWatcher, parseEndpointsFile, type DiscoveredEndpoint } from './endpoints-file.js';

describe('parseEndpointsFile', () => {
  it('reads YAML entries into pods (serving address) and ZMQ endpoints (the events port)', () => {
    const text = `
endpoints:
- name: vllm-0
  address: 10.0.0.7
  port: 8000
  labels: {llm-d.ai/role: decode}
- {name: vllm-1, namespace: prod, address: "::1", port: "8001"}
`;
    expect(parseEndpointsFile(text, 5557)).toEqual({
      endpoints: [
        { id: 'default/vllm-0', pod: '10.0.0.7:8000', zmqEndpoint: 'tcp://10.0.0.7:5557', address: '10.0.0.7' },
        { id: 'prod/vllm-1', pod: '[::1]:8001', zmqEndpoint: 'tcp://[::1]:5557', address: '::1' },
      ],
      issues: [],
    });
  });

  it('reads JSON too, and an empty list', () => {
    expect(parseEndpointsFile('{"endpoints": [{"name": "a", "address": "localhost", "port": 1}]}', 9).endpoints).toEqual([
      { id: 'default/a', pod: 'localhost:1', zmqEndpoint: 'tcp://localhost:9', address: 'localhost' },
    ]);
    expect(parseEndpointsFile('endpoints: []', 9)).toEqual({ endpoints: [], issues: [] });
  });

  it.each([
    ['- 1', 'endpoints[0]: expected a mapping'],
    ['- {address: 10.0.0.1, port: 1}', 'endpoints[0].name'],
    ['- {name: a, namespace: [x], address: 10.0.0.1, port: 1}', 'endpoints[0].namespace'],
    ['- {name: a, address: vllm.svc, port: 1}', 'endpoints[0].address'],
    ['- {name: a, address: 10.0.0.1, port: 0}', 'endpoints[0].port'],
    ['- {name: a, address: 10.0.0.1, port: "http"}', 'endpoints[0].port'],
  ])('skips an invalid entry %j, naming the field', (entry, issue) => {
    const parsed = parseEndpointsFile(`endpoints:\n${entry}\n- {name: ok, address: 10.0.0.2, port: 2}`, 5557);
    expect(parsed.endpoints.map((e) => e.id)).toEqual(['default/ok']);
    expect(parsed.issues).toHaveLength(1);
    expect(parsed.issues[0]).toContain(issue);
  });

  it.each([
    ['endpoints: [', 'invalid YAML'],
    ['- a', 'expected a mapping'],
    ['', 'expected a mapping'],
    ['endpoints: 5', 'endpoints: expected a list'],
  ])('rejects the file %j as a whole', (text, message) => {
    expect(() => parseEndpointsFile(text, 1)).toThrow(EndpointsFileError);
    expect(() => parseEndpointsFile(text, 1)).toThrow(message);
  });
});

describe('EndpointsFileWatcher', () => {
  let dir: string;
  let path: string;
  let watcher: EndpointsFileWatcher | undefined;
  const changes: Array<{ added: string[]; removed: string[] }> = [];
  let onNextChange: (() => void) | undefined;

  function start(): Promise<void> {
    watcher = new EndpointsFileWatcher({
      path,
      zmqPort: 5557,
      logger: silentLogger(),
      onChange: (added: readonly DiscoveredEndpoint[], removed: readonly DiscoveredEndpoint[]) => {
        changes.push({ added: added.map((e) => e.pod), removed: removed.map((e) => e.pod) });
        onNextChange?.();
      },
    });
    return watcher.start();
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kv-indexer-endpoints-'));
    path = join(dir, 'endpoints.yaml');
    changes.length = 0;
  });
  afterEach(() => {
    watcher?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds every endpoint on start, then applies only the difference on reload', async () => {
    writeFileSync(path, 'endpoints:\n- {name: a, address: 10.0.0.1, port: 8000}\n- {name: b, address: 10.0.0.2, port: 8000}\n');
    await start();
    writeFileSync(path, 'endpoints:\n- {name: b, address: 10.0.0.2, port: 8000}\n- {name: c, address: 10.0.0.3, port: 8000}\n');
    await watcher?.reload();
    writeFileSync(path, 'endpoints:\n- {name: b, address: 10.0.0.9, port: 8000}\n- {name: c, address: 10.0.0.3, port: 8000}\n');
    await watcher?.reload();
    await watcher?.reload();
    expect(changes).toEqual([
      { added: ['10.0.0.1:8000', '10.0.0.2:8000'], removed: [] },
      { added: ['10.0.0.3:8000'], removed: ['10.0.0.1:8000'] },
      { added: ['10.0.0.9:8000'], removed: ['10.0.0.2:8000'] },
    ]);
    expect(watcher?.endpoints.map((e) => e.id)).toEqual(['default/b', 'default/c']);
  });

  it('fails to start on a missing or unusable file', async () => {
    await expect(start()).rejects.toThrow(EndpointsFileError);
    writeFileSync(path, 'endpoints: 5');
    await expect(start()).rejects.toThrow('endpoints: expected a list');
  });

  it('keeps the current endpoints when a reload finds a broken file', async () => {
    writeFileSync(path, 'endpoints:\n- {name: a, address: 10.0.0.1, port: 8000}\n');
    await start();
    writeFileSync(path, 'endpoints: [');
    await watcher?.reload();
    expect(changes).toHaveLength(1);
    expect(watcher?.endpoints.map((e) => e.pod)).toEqual(['10.0.0.1:8000']);
  });

  it('follows an atomic rename over the file without being asked', async () => {
    writeFileSync(path, 'endpoints: []\n');
    await start();
    const changed = new Promise<void>((resolve) => (onNextChange = resolve));
    writeFileSync(join(dir, 'next.yaml'), 'endpoints:\n- {name: a, address: 10.0.0.1, port: 8000}\n');
    renameSync(join(dir, 'next.yaml'), path);
    await changed;
    expect(changes).toEqual([{ added: ['10.0.0.1:8000'], removed: [] }]);
  });
});
