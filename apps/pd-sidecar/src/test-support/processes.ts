// Built apps as child processes for the end-to-end tests: the sidecar and the router, each started
// on free ports and ready once it logs its `listening` line.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built sidecar entry point. */
export const SIDECAR_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
/** The built router entry point. */
export const ROUTER_MAIN = fileURLToPath(new URL('../../../router/dist/main.js', import.meta.url));

/** How long a process may take to log its ready line. */
const READY_TIMEOUT_MS = 60_000;

/** A node process started by a test. */
export interface NodeProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  /** The JSON log line that announced readiness. */
  readonly ready: Record<string, unknown>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Stops the process (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `node script ...args` and resolves with the first JSON log line whose `msg` is `readyMsg`. */
export async function startNodeProcess(script: string, args: readonly string[], readyMsg: string, env: NodeJS.ProcessEnv = {}): Promise<NodeProcess> {
  if (!existsSync(script)) throw new Error(`${script} is missing: build first (pnpm nx run-many -t build -p pd-sidecar,router,inference-sim)`);
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = '';
    // A process that never logs its ready line (a log level above info, a hang) fails the caller instead of hanging it.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not log "${readyMsg}" within ${READY_TIMEOUT_MS} ms: ${stderr.trim()}`));
    }, READY_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code}: ${stderr.trim()}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === readyMsg) {
            clearTimeout(timer);
            resolve(entry);
          }
        } catch {
          // not a JSON log line
        }
      }
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return { child, ready, stderr: () => stderr, stop, [Symbol.asyncDispose]: stop };
}

/** A sidecar process on a free port, plaintext unless the flags say otherwise. */
export async function startSidecarProcess(modelServerPort: number, flags: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<NodeProcess & { url: string; port: number }> {
  const p = await startNodeProcess(
    SIDECAR_MAIN,
    ['--host', '127.0.0.1', '--port', '0', '--model-server-host', '127.0.0.1', '--model-server-port', String(modelServerPort), '--secure-serving=false', ...flags],
    'pd-sidecar listening',
    env,
  );
  const url = (p.ready.urls as string[])[0] as string;
  return Object.assign(p, { url, port: Number(new URL(url).port) });
}

/** A router process in standalone proxy mode; `proxy` is its OpenAI base URL, `metrics` its /metrics URL. */
export async function startRouterProcess(configText: string, endpointsFile: string): Promise<NodeProcess & { proxy: string; metrics: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pd-router-'));
  const configFile = join(dir, 'epp-config.yaml');
  writeFileSync(configFile, configText);
  const p = await startNodeProcess(
    ROUTER_MAIN,
    [
      '--config-file', configFile, '--endpoints-file', endpointsFile, '--host', '127.0.0.1', '--proxy-port', '0', '--grpc-port', '0',
      '--grpc-health-port', '0', '--metrics-port', '0', '--secure-serving=false', '--refresh-metrics-interval', '100ms', '--seed', '7',
    ],
    'router listening',
  );
  const ports = p.ready.ports as { proxy: number; metrics: number };
  return Object.assign(p, { proxy: `http://127.0.0.1:${ports.proxy}`, metrics: `http://127.0.0.1:${ports.metrics}/metrics` });
}

/** One entry of an endpoints file. */
export interface EndpointEntry {
  readonly name: string;
  readonly hostPort: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Writes an endpoints file in the router's format (`port` as a string, as upstream requires) to `path` (default: a new temporary file) and returns its path. */
export function writeEndpointsFile(entries: readonly EndpointEntry[], path?: string): string {
  const file = path ?? join(mkdtempSync(join(tmpdir(), 'pd-endpoints-')), 'endpoints.yaml');
  const lines = [entries.length === 0 ? 'endpoints: []' : 'endpoints:'];
  for (const e of entries) {
    const colon = e.hostPort.lastIndexOf(':');
    lines.push(`- name: ${e.name}`, '  namespace: default', `  address: "${e.hostPort.slice(0, colon)}"`, `  port: "${e.hostPort.slice(colon + 1)}"`);
    if (e.labels && Object.keys(e.labels).length > 0) {
      lines.push('  labels:');
      for (const [k, v] of Object.entries(e.labels)) lines.push(`    ${k}: "${v}"`);
    }
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** A TCP port nothing listens on (bound and released; the tests use it for a dead prefill target). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
