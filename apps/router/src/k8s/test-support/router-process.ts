import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { healthClient } from '../../extproc/protos.js';

/** The built router (`pnpm nx build router`). */
export const ROUTER_MAIN = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));

/** A router started as its own process. */
export interface RouterProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  readonly ports: { grpc: number; grpcHealth: number; metrics: number; proxy: number | null };
  /** Everything it printed so far (JSON log lines), for failure messages. */
  output(): string;
  /** `GET /readyz` on the metrics port: 200 → true, 503 → false. */
  httpReady(): Promise<boolean>;
  /** gRPC `grpc.health.v1.Health/Check` status of `service` on the health port (1 = SERVING). */
  grpcHealth(service: string): Promise<number>;
  /** SIGKILL: no clean-up, no lease release. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

interface HealthStub extends grpc.Client {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status?: number }) => void): void;
}

/** Starts `node dist/main.js <args>` and resolves once it logs `router listening` (with its ports). */
export async function startRouterProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RouterProcess> {
  if (!existsSync(ROUTER_MAIN)) throw new Error(`${ROUTER_MAIN} is missing: run pnpm nx build router`);
  const child = spawn(process.execPath, [ROUTER_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, ...env } });
  let out = '';
  child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ports = await new Promise<RouterProcess['ports']>((resolve, reject) => {
    let buffered = '';
    child.once('exit', (code, signal) => reject(new Error(`router exited (${signal ?? code}) before listening:\n${out}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      out += text;
      buffered += text;
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; ports?: RouterProcess['ports'] };
          if (entry.msg === 'router listening' && entry.ports) resolve(entry.ports);
        } catch {
          // Not a JSON log line.
        }
      }
    });
  });
  const Health = healthClient();
  const health = new Health(`127.0.0.1:${ports.grpcHealth}`, grpc.credentials.createInsecure()) as unknown as HealthStub;
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stopWith = async (signal: NodeJS.Signals) => {
    health.close();
    if (alive()) child.kill(signal);
    await exited;
  };
  return {
    child,
    ports,
    output: () => out,
    async httpReady() {
      const res = await fetch(`http://127.0.0.1:${ports.metrics}/readyz`);
      await res.text();
      if (res.status !== 200 && res.status !== 503) throw new Error(`/readyz answered ${res.status}`);
      return res.status === 200;
    },
    grpcHealth: (service) =>
      new Promise((resolve, reject) =>
        health.Check({ service }, (err, res) => (err ? reject(err) : resolve(res?.status ?? 0))),
      ),
    kill: () => stopWith('SIGKILL'),
    stop: () => stopWith('SIGTERM'),
    [Symbol.asyncDispose]: () => stopWith('SIGKILL'),
  };
}
