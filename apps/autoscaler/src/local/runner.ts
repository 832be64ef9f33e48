// Starts and stops simulated model servers for the local mode, and keeps the router's endpoints
// file in step with them.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

/** The built simulator, relative to this file's place in dist/ or src/. */
export const DEFAULT_SIMULATOR = fileURLToPath(new URL('../../../inference-sim/dist/main.js', import.meta.url));

/** One running replica. */
export interface LocalReplica {
  readonly pod: string;
  readonly workload: string;
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
}

/** Options of a {@link ProcessRunner}. */
export interface ProcessRunnerOptions {
  readonly simulator?: string | undefined;
  readonly namespace: string;
  readonly endpointsFile?: string | undefined;
  readonly logger: Logger;
  /** Called with every running replica after each start or stop (e.g. to point a Prometheus at them). */
  readonly onChange?: (replicas: readonly LocalReplica[]) => void | Promise<void>;
}

/** The local process group: replicas per workload, started and stopped on request. */
export class ProcessRunner {
  readonly #o: ProcessRunnerOptions;
  readonly #replicas = new Map<string, LocalReplica[]>();
  readonly #wanted = new Map<string, number>();
  readonly #serial = new Map<string, number>();
  #queue: Promise<void> = Promise.resolve();

  constructor(options: ProcessRunnerOptions) {
    this.#o = options;
  }

  /** Replicas running now, per workload. */
  running(workload: string): readonly LocalReplica[] {
    return this.#replicas.get(workload) ?? [];
  }

  /** Every running replica. */
  all(): LocalReplica[] {
    return [...this.#replicas.values()].flat();
  }

  /** The count last asked for (the workload's `spec.replicas`). */
  wanted(workload: string): number | undefined {
    return this.#wanted.get(workload);
  }

  /** Starts or stops replicas until `count` run; changes are applied one at a time, in order. */
  scaleTo(workload: string, args: readonly string[], count: number): Promise<void> {
    this.#wanted.set(workload, count);
    const job = this.#queue.then(() => this.#apply(workload, args));
    this.#queue = job.catch(() => undefined);
    return job;
  }

  async #apply(workload: string, args: readonly string[]): Promise<void> {
    const target = this.#wanted.get(workload) ?? 0;
    const list = this.#replicas.get(workload) ?? [];
    this.#replicas.set(workload, list);
    const started: Promise<void>[] = [];
    for (let i = list.length; i < target; i++) started.push(this.#start(workload, args).then((r) => void list.push(r)));
    await Promise.all(started);
    if (started.length > 0) await this.#changed();
    while (list.length > target) {
      const r = list.pop() as LocalReplica;
      await this.#changed();
      await stopChild(r.child);
      this.#o.logger.info({ pod: r.pod, url: r.url }, 'stopped a simulated replica');
    }
  }

  async #changed(): Promise<void> {
    this.#writeEndpoints();
    await this.#o.onChange?.(this.all());
  }

  async #start(workload: string, args: readonly string[]): Promise<LocalReplica> {
    const simulator = this.#o.simulator ?? DEFAULT_SIMULATOR;
    if (!existsSync(simulator)) throw new Error(`${simulator} is missing: build the simulator first (pnpm nx build inference-sim)`);
    const n = (this.#serial.get(workload) ?? 0) + 1;
    this.#serial.set(workload, n);
    const pod = `${workload}-local-${n}`;
    const child = spawn(process.execPath, [simulator, ...args, '--host', '127.0.0.1', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, POD_NAME: pod, POD_NAMESPACE: this.#o.namespace },
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-2000)));
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.once('exit', (code) => reject(new Error(`simulator ${pod} exited with code ${code}: ${stderr.trim()}`)));
      child.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          try {
            const entry = JSON.parse(line) as { msg?: string; urls?: string[] };
            if (entry.msg === 'simulator listening' && entry.urls?.[0]) resolve(entry.urls[0]);
          } catch {
            // Not a JSON log line.
          }
        }
      });
    });
    child.stdout?.resume();
    this.#o.logger.info({ pod, url }, 'started a simulated replica');
    return { pod, workload, url, port: Number(new URL(url).port), child };
  }

  /** Writes the router's endpoints file (atomically: a reader never sees half a file). */
  #writeEndpoints(): void {
    const file = this.#o.endpointsFile;
    if (!file) return;
    const lines = ['endpoints:'];
    for (const r of this.all()) lines.push(`- name: ${r.pod}`, `  namespace: ${this.#o.namespace}`, '  address: "127.0.0.1"', `  port: ${r.port}`);
    if (lines.length === 1) lines[0] = 'endpoints: []';
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, `${lines.join('\n')}\n`);
    renameSync(`${file}.tmp`, file);
  }

  /** Stops every replica. */
  async stopAll(): Promise<void> {
    await this.#queue;
    const all = this.all();
    this.#replicas.clear();
    await this.#changed();
    await Promise.all(all.map((r) => stopChild(r.child)));
  }
}

/** SIGTERM, then SIGKILL if the server has not exited after `graceMs` (a client holding a connection open must not stall scaling). */
function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
