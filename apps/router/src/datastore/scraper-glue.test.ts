import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsScraper } from '@llmd/model-server';
import type { EndpointMetrics } from '@llmd/scheduling';
import { pino } from 'pino';
import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { FileDiscovery } from './file-discovery.js';
import { InMemoryDatastore, createEndpointMetadata } from './in-memory.js';
import { attachScraper } from './scraper-glue.js';

/** A vLLM-like metrics server on 127.0.0.1:0 reporting `waiting` queued requests. */
async function startMetricsServer(waiting: number): Promise<AsyncDisposable & { port: number; waiting: number }> {
  const state = { waiting };
  const server = http.createServer((_req, res) => {
    res.end(`vllm:num_requests_waiting{model_name="m"} ${state.waiting}\nvllm:num_requests_running 0\nvllm:kv_cache_usage_perc 0.5\n`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const handle = {
    port: (server.address() as AddressInfo).port,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return Object.defineProperty(handle, 'waiting', { get: () => state.waiting, set: (v: number) => (state.waiting = v) }) as typeof handle & { waiting: number };
}

/** A scraper whose metrics a test can wait for; closed on dispose. */
function testScraper(): MetricsScraper & Disposable & { next(predicate: (id: string, m: EndpointMetrics) => boolean): Promise<void> } {
  const scraper = new MetricsScraper({ intervalMs: 2 });
  const next = (predicate: (id: string, m: EndpointMetrics) => boolean): Promise<void> =>
    new Promise((resolve) => {
      const stop = scraper.subscribe((id, m) => {
        if (predicate(id, m)) {
          stop();
          resolve();
        }
      });
    });
  return Object.assign(scraper, { next, [Symbol.dispose]: () => scraper.close() });
}

const local = (name: string, port: number) => createEndpointMetadata({ name, address: '127.0.0.1', port });

describe('attachScraper', () => {
  it('scrapes endpoints present at attach time and added later, writing metrics into the datastore', async () => {
    await using a = await startMetricsServer(3);
    await using b = await startMetricsServer(5);
    const ds = new InMemoryDatastore();
    ds.upsert(local('a', a.port));
    using scraper = testScraper();
    // The glue subscribes first, so by the time a test listener hears of a scrape the datastore has it.
    const detach = attachScraper(ds, scraper);
    await scraper.next((id) => id === 'default/a');
    expect(ds.get('default/a')?.metrics.waitingQueueSize).toBe(3);

    ds.upsert(local('b', b.port));
    await scraper.next((id) => id === 'default/b');
    expect(ds.get('default/b')?.metrics).toMatchObject({ waitingQueueSize: 5, kvCacheUsagePercent: 0.5 });

    a.waiting = 11;
    await scraper.next((id, m) => id === 'default/a' && m.waitingQueueSize === 11);
    expect(ds.get('default/a')?.metrics.waitingQueueSize).toBe(11);
    detach();
    expect(scraper.size).toBe(0);
  });

  it('stops scraping removed endpoints and follows an address change', async () => {
    await using a = await startMetricsServer(1);
    await using b = await startMetricsServer(2);
    const ds = new InMemoryDatastore();
    using scraper = testScraper();
    attachScraper(ds, scraper);
    ds.upsert(local('x', a.port));
    await scraper.next((id) => id === 'default/x');

    ds.upsert(local('x', b.port));
    expect(ds.get('default/x')?.metrics.updateTime).toBe(0);
    await scraper.next((id, m) => id === 'default/x' && m.waitingQueueSize === 2);
    expect(ds.get('default/x')?.metrics.waitingQueueSize).toBe(2);

    ds.remove('default/x');
    expect(scraper.has('default/x')).toBe(false);
  });

  it('keeps metrics and the loop when only labels change', async () => {
    await using a = await startMetricsServer(4);
    const ds = new InMemoryDatastore();
    using scraper = testScraper();
    attachScraper(ds, scraper);
    ds.upsert(local('x', a.port));
    await scraper.next((id) => id === 'default/x');
    ds.upsert(createEndpointMetadata({ name: 'x', address: '127.0.0.1', port: a.port, labels: { 'llm-d.ai/role': 'decode' } }));
    expect(ds.get('default/x')?.metrics.waitingQueueSize).toBe(4);
    expect(scraper.stats('default/x')?.scrapes).toBeGreaterThanOrEqual(1);
  });

  it('carries an endpoints file through discovery and scraping into the datastore', async () => {
    await using server = await startMetricsServer(8);
    const dir = await mkdtemp(join(tmpdir(), 'llmd-glue-'));
    try {
      const path = join(dir, 'endpoints.yaml');
      await writeFile(path, `endpoints:\n- name: sim-0\n  address: 127.0.0.1\n  port: "${server.port}"\n`);
      const ds = new InMemoryDatastore();
      using scraper = testScraper();
      attachScraper(ds, scraper);
      await using discovery = new FileDiscovery({ path, watchFile: true, logger: pino({ level: 'silent' }) });
      const scraped = scraper.next((id) => id === 'default/sim-0');
      await discovery.start(ds);
      await scraped;
      expect(ds.get(`127.0.0.1:${server.port}`)?.metrics.waitingQueueSize).toBe(8);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [true, 'scrapes'],
    [false, 'rejects'],
  ])('over https with insecureSkipVerify=%s %s a self-signed model server', async (insecureSkipVerify) => {
    const pems = await generate([{ name: 'commonName', value: 'model-server' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
    const server = https.createServer({ key: pems.private, cert: pems.cert }, (_req, res) => res.end('vllm:num_requests_waiting 6\n'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const ds = new InMemoryDatastore();
      let report!: (outcome: string) => void;
      const outcome = new Promise<string>((resolve) => (report = resolve));
      using scraper = Object.assign(
        new MetricsScraper({ scheme: 'https', insecureSkipVerify, intervalMs: 5, onMetrics: () => report('metrics'), onFailure: (_id, err) => report(err.message) }),
        { [Symbol.dispose]: () => scraper.close() },
      );
      attachScraper(ds, scraper);
      ds.upsert(local('tls', (server.address() as AddressInfo).port));
      const result = await outcome;
      if (insecureSkipVerify) {
        expect(result).toBe('metrics');
        expect(ds.get('default/tls')?.metrics.waitingQueueSize).toBe(6);
      } else {
        expect(result).toMatch(/self[- ]signed/i);
      }
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
