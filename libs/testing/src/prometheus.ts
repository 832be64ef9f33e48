import { spawn } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** One endpoint Prometheus scrapes, with the labels its series get (e.g. `namespace`, `pod`). */
export interface PrometheusTarget {
  /** `http://host:port` of the server; metrics are read from `<url><metricsPath>`. */
  readonly url: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Default `/metrics`. */
  readonly metricsPath?: string;
}

/** How {@link startPrometheus} starts the server. */
export interface StartPrometheusOptions {
  /** Targets scraped from the start; {@link PrometheusServer.setTargets} replaces them later. */
  readonly scrapeTargets?: readonly PrometheusTarget[];
  /** Scrape interval, a Prometheus duration (default `1s`: tests want fresh data fast). */
  readonly scrapeInterval?: string;
  /** The executable (default `/usr/bin/prometheus`, Debian's package). */
  readonly binary?: string;
  /** Times to try again with another port when the one picked was taken in between (default 3). */
  readonly retries?: number;
}

/** One element of an instant-query answer. */
export interface PromSample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** A throw-away Prometheus on a loopback port with its own storage directory. */
export interface PrometheusServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Replaces the scraped targets (file-based discovery: Prometheus notices the file change by itself). */
  setTargets(targets: readonly PrometheusTarget[]): Promise<void>;
  /** Runs an instant query and returns the vector (NaN samples dropped). */
  query(promql: string): Promise<PromSample[]>;
  /** The targets Prometheus is scraping, as `/api/v1/targets` reports them (`health` is `up`, `down` or `unknown`). */
  activeTargets(): Promise<Array<{ scrapeUrl: string; health: string; labels: Record<string, string> }>>;
  /** Stops the server, waits for it to exit and removes its directory. */
  stop(): Promise<void>;
}

function targetGroups(targets: readonly PrometheusTarget[]): string {
  return JSON.stringify(
    targets.map((t) => {
      const u = new URL(t.url);
      return { targets: [u.host], labels: { ...(t.labels ?? {}), __scheme__: u.protocol.replace(':', ''), __metrics_path__: t.metricsPath ?? '/metrics' } };
    }),
    null,
    1,
  );
}

/**
 * Starts Debian's `prometheus` with a generated config (one job, file-based discovery so targets
 * can change at run time), a temporary TSDB directory and a free loopback port, and resolves once
 * `/-/ready` answers. It never touches the system service the package may have installed.
 */
export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = options.binary ?? '/usr/bin/prometheus';
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'llmd-prometheus-'));
    try {
      return await launch(binary, port, dir, options);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      const taken = err instanceof Error && /address already in use/i.test(err.message);
      if (!taken || attempt >= (options.retries ?? 3)) throw err;
    }
  }
}

async function launch(binary: string, port: number, dir: string, options: StartPrometheusOptions): Promise<PrometheusServer> {
  const interval = options.scrapeInterval ?? '1s';
  const targetsFile = join(dir, 'targets.json');
  await writeFile(targetsFile, targetGroups(options.scrapeTargets ?? []));
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: test',
    '    honor_labels: true',
    '    file_sd_configs:',
    `      - files: [${JSON.stringify(targetsFile)}]`,
    '        refresh_interval: 1s',
    '',
  ].join('\n');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, config);
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', '--storage.tsdb.retention.time=1h'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output = (output + c.toString('utf8')).slice(-4000)));
  child.stderr.on('data', (c: Buffer) => (output = (output + c.toString('utf8')).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let exitedEarly: Error | undefined;
  child.once('error', (err: NodeJS.ErrnoException) => {
    exitedEarly =
      err.code === 'ENOENT'
        ? new Error(`${binary} not found: install it with tools/install-system-packages.sh`, { cause: err })
        : new Error(`could not start ${binary}: ${err.message}`, { cause: err });
  });
  child.once('exit', (code, signal) => {
    exitedEarly ??= new Error(`${binary} exited (${signal ?? code}) before it was ready: ${output.trim()}`);
  });
  // Ready when /-/ready answers 200 (the TSDB is open and the config loaded).
  for (let i = 0; ; i++) {
    if (exitedEarly) throw exitedEarly;
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (i > 600) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`prometheus did not become ready within a minute: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  return {
    url,
    port,
    setTargets: async (targets) => {
      // Written aside and renamed, so Prometheus never reads half a file.
      await writeFile(`${targetsFile}.tmp`, targetGroups(targets));
      await rename(`${targetsFile}.tmp`, targetsFile);
    },
    query: async (promql) => {
      const res = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: promql }) });
      const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> | [number, string] } };
      if (body.status !== 'success' || !body.data) throw new Error(`query ${promql} failed: ${body.error ?? res.status}`);
      if (body.data.resultType === 'scalar') {
        const v = Number((body.data.result as [number, string])[1]);
        return Number.isNaN(v) ? [] : [{ labels: {}, value: v }];
      }
      return (body.data.result as Array<{ metric: Record<string, string>; value: [number, string] }>)
        .map((r) => ({ labels: r.metric, value: Number(r.value[1]) }))
        .filter((s) => !Number.isNaN(s.value));
    },
    activeTargets: async () => {
      const res = await fetch(`${url}/api/v1/targets?state=active`);
      const body = (await res.json()) as { data: { activeTargets: Array<{ scrapeUrl: string; health: string; labels: Record<string, string> }> } };
      return body.data.activeTargets;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
