import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EMPTY_METRICS, type EndpointMetrics } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { MetricsScraper, formatHostPort, isStale, type ScrapeLogger, type ScrapeTarget } from './scraper.js';

/** A local HTTP server on 127.0.0.1:0; closes every connection on dispose. */
interface TestServer extends AsyncDisposable {
  readonly port: number;
  readonly requests: number;
}

async function startServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    get requests() {
      return requests;
    },
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A metrics page server whose page a test can change. */
async function startPage(initial: string): Promise<TestServer & { page: string }> {
  const state = { page: initial };
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(state.page);
  });
  // Accessors, not Object.assign: the test's writes must reach the handler's state.
  return Object.defineProperty(server, 'page', { get: () => state.page, set: (v: string) => (state.page = v) }) as TestServer & { page: string };
}

/** A free loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** Collects callback arguments and lets a test wait for one that satisfies a predicate. */
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

type Update = { id: string; metrics: EndpointMetrics };

function target(id: string, port: number, labels: Record<string, string> = {}): ScrapeTarget {
  return { id, address: '127.0.0.1', port, labels };
}

function page(waiting: number, kv = 0.1): string {
  return `# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name="m"} ${waiting}\nvllm:num_requests_running 1\nvllm:kv_cache_usage_perc ${kv}\n`;
}

function recordingLogger(): ScrapeLogger & { warns: Inbox<object>; infos: object[] } {
  const warns = new Inbox<object>();
  const infos: object[] = [];
  return { warns, infos, warn: (obj) => warns.push(obj), info: (obj) => infos.push(obj), debug: () => undefined };
}

describe('MetricsScraper', () => {
  it('scrapes a real server and sees the page change', async () => {
    await using server = await startPage(page(3, 0.25));
    const inbox = new Inbox<Update>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 5, onMetrics: (id, metrics) => inbox.push({ id, metrics }) }));
    scraper.start(target('ns/a', server.port));

    const first = await inbox.waitFor((u) => u.length > 0);
    expect(first[0]?.id).toBe('ns/a');
    expect(first[0]?.metrics).toMatchObject({ waitingQueueSize: 3, runningRequestsSize: 1, kvCacheUsagePercent: 0.25 });
    expect(first[0]?.metrics.updateTime).toBeGreaterThan(0);

    server.page = page(17, 0.5);
    const updates = await inbox.waitFor((u) => u.some((x) => x.metrics.waitingQueueSize === 17));
    const last = updates.at(-1)?.metrics as EndpointMetrics;
    expect(last.kvCacheUsagePercent).toBe(0.5);
    expect(last.updateTime).toBeGreaterThanOrEqual(first[0]?.metrics.updateTime as number);
    expect(scraper.stats('ns/a')?.failures).toBe(0);
  });

  it('reuses one keep-alive connection per endpoint', async () => {
    const sockets = new Set<unknown>();
    await using server = await startServer((req, res) => {
      sockets.add(req.socket);
      res.end(page(1));
    });
    const inbox = new Inbox<Update>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 1, onMetrics: (id, metrics) => inbox.push({ id, metrics }) }));
    scraper.start(target('a', server.port));
    await inbox.waitFor((u) => u.length >= 5);
    expect(server.requests).toBeGreaterThanOrEqual(5);
    expect(sockets.size).toBe(1);
  });

  it('keeps scraping a healthy endpoint while another hangs, never overlapping scrapes of the hung one', async () => {
    const hung: http.ServerResponse[] = [];
    await using blackHole = await startServer((_req, res) => hung.push(res));
    await using healthy = await startPage(page(2));
    const inbox = new Inbox<Update>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 2, timeoutMs: 60_000, onMetrics: (id, metrics) => inbox.push({ id, metrics }) }));
    scraper.start(target('hung', blackHole.port));
    scraper.start(target('ok', healthy.port));

    await inbox.waitFor((u) => u.filter((x) => x.id === 'ok').length >= 5);
    expect(inbox.items.every((x) => x.id === 'ok')).toBe(true);
    expect(blackHole.requests).toBe(1);
    expect(scraper.stats('hung')).toMatchObject({ scrapes: 0, failures: 0 });

    // Stopping aborts the hung request: the server sees its connection close.
    const closed = once(hung[0] as http.ServerResponse, 'close');
    scraper.stop('hung');
    await closed;
    expect(scraper.has('hung')).toBe(false);
  });

  it('times out a hung scrape, counts it and tries again', async () => {
    await using blackHole = await startServer(() => undefined);
    const failures = new Inbox<string>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 1, timeoutMs: 20, onFailure: (_id, err) => failures.push(err.message) }));
    scraper.start(target('slow', blackHole.port));
    await failures.waitFor((f) => f.length >= 2);
    expect(failures.items[0]).toMatch(/timed out after 20 ms/);
    expect(blackHole.requests).toBeGreaterThanOrEqual(2);
  });

  it('counts failures of an unreachable endpoint and logs them at most once per interval', async () => {
    const port = await closedPort();
    const logger = recordingLogger();
    const failures = new Inbox<number>();
    using scraper = disposable(
      new MetricsScraper({ intervalMs: 1, logger, failureLogIntervalMs: 3_600_000, onFailure: (_id, _err, stats) => failures.push(stats.failures) }),
    );
    scraper.start(target('gone', port));
    await failures.waitFor((f) => f.length >= 4);
    expect(failures.items.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(logger.warns.items).toHaveLength(1);
    expect(logger.warns.items[0]).toMatchObject({ endpoint: 'gone', consecutiveFailures: 1 });
    expect(scraper.stats('gone')?.lastError).toMatch(/ECONNREFUSED/);
  });

  it.each([
    ['a non-200 answer', (res: http.ServerResponse) => res.writeHead(500).end('boom'), /answered 500/],
    ['a page without mapped metrics', (res: http.ServerResponse) => res.end('process_cpu_seconds_total 3\n'), /no mapped metric/],
  ])('fails a scrape on %s', async (_what, respond, message) => {
    await using server = await startServer((_req, res) => respond(res));
    const failures = new Inbox<string>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 5, onFailure: (_id, err) => failures.push(err.message) }));
    scraper.start(target('x', server.port));
    await failures.waitFor((f) => f.length >= 1);
    expect(failures.items[0]).toMatch(message);
  });

  it('fails a scrape whose page exceeds the size limit', async () => {
    await using server = await startPage(page(1) + '#'.repeat(4096));
    const failures = new Inbox<string>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 5, maxResponseBytes: 1024, onFailure: (_id, err) => failures.push(err.message) }));
    scraper.start(target('big', server.port));
    await failures.waitFor((f) => f.length >= 1);
    expect(failures.items[0]).toMatch(/larger than 1024 bytes/);
  });

  it('logs recovery after a logged failure and resets the streak', async () => {
    let fail = true;
    await using server = await startServer((_req, res) => (fail ? res.writeHead(503).end() : res.end(page(4))));
    const logger = recordingLogger();
    const inbox = new Inbox<Update>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 1, logger, onMetrics: (id, metrics) => inbox.push({ id, metrics }) }));
    scraper.start(target('flaky', server.port));
    await logger.warns.waitFor((w) => w.length >= 1);
    fail = false;
    await inbox.waitFor((u) => u.length >= 1);
    expect(logger.infos).toEqual([expect.objectContaining({ endpoint: 'flaky' })]);
    expect(scraper.stats('flaky')?.consecutiveFailures).toBe(0);
  });

  it('reads SGLang names for an endpoint labelled sglang', async () => {
    await using server = await startPage('sglang:num_queue_reqs 8\nsglang:num_running_reqs 2\nsglang:token_usage 0.6\n' + page(1));
    const inbox = new Inbox<Update>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 5, onMetrics: (id, metrics) => inbox.push({ id, metrics }) }));
    scraper.start(target('s', server.port, { 'llm-d.ai/engine-type': 'sglang' }));
    const [u] = await inbox.waitFor((x) => x.length >= 1);
    expect(u?.metrics).toMatchObject({ waitingQueueSize: 8, runningRequestsSize: 2, kvCacheUsagePercent: 0.6 });
  });

  it('starts from the given previous metrics so partial pages keep the other values', async () => {
    await using server = await startPage('vllm:num_requests_waiting 5\n');
    const inbox = new Inbox<Update>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 5, onMetrics: (id, metrics) => inbox.push({ id, metrics }) }));
    scraper.start(target('p', server.port), { ...EMPTY_METRICS, runningRequestsSize: 9, updateTime: 1 });
    const [u] = await inbox.waitFor((x) => x.length >= 1);
    expect(u?.metrics).toMatchObject({ waitingQueueSize: 5, runningRequestsSize: 9 });
  });

  it('restarts the loop at the new address when an endpoint moves', async () => {
    await using a = await startPage(page(1));
    await using b = await startPage(page(2));
    const inbox = new Inbox<Update>();
    using scraper = disposable(new MetricsScraper({ intervalMs: 2, onMetrics: (id, metrics) => inbox.push({ id, metrics }) }));
    scraper.start(target('m', a.port));
    await inbox.waitFor((u) => u.length >= 1);
    scraper.start(target('m', b.port));
    const requestsAtMove = a.requests;
    await inbox.waitFor((u) => u.some((x) => x.metrics.waitingQueueSize === 2));
    await inbox.waitFor((u) => u.filter((x) => x.metrics.waitingQueueSize === 2).length >= 3);
    expect(a.requests).toBe(requestsAtMove);
    expect(scraper.size).toBe(1);
  });

  it('drops metrics from a stopped endpoint and refuses to start after close', async () => {
    await using server = await startPage(page(1));
    const scraper = new MetricsScraper({ intervalMs: 5 });
    scraper.start(target('z', server.port));
    expect(scraper.has('z')).toBe(true);
    scraper.stop('z');
    expect(scraper.stats('z')).toBeUndefined();
    scraper.close();
    expect(() => scraper.start(target('z', server.port))).toThrow(/closed/);
  });

  it.each([
    [{ intervalMs: 0 }, 'intervalMs'],
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ path: 'metrics' }, 'path'],
    [{ defaultEngine: 'nope' }, 'defaultEngine'],
  ])('rejects options %j naming %s', (options, key) => {
    expect(() => new MetricsScraper(options)).toThrow(key);
  });
});

describe('isStale', () => {
  it.each([
    [0, 1000, 200, true],
    [900, 1000, 200, false],
    [800, 1000, 200, false],
    [799, 1000, 200, true],
  ])('updateTime %i at %i with threshold %i → %s', (updateTime, now, threshold, stale) => {
    expect(isStale({ ...EMPTY_METRICS, updateTime }, threshold, now)).toBe(stale);
  });
});

describe('formatHostPort', () => {
  it.each([
    ['10.0.0.1', 8000, '10.0.0.1:8000'],
    ['::1', 8000, '[::1]:8000'],
    ['localhost', 80, 'localhost:80'],
  ])('%s %i → %s', (address, port, expected) => {
    expect(formatHostPort(address, port)).toBe(expected);
  });
});

/** Wraps a scraper for `using`. */
function disposable(scraper: MetricsScraper): MetricsScraper & Disposable {
  return Object.assign(scraper, { [Symbol.dispose]: () => scraper.close() });
}
