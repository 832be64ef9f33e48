// The real router (apps/router, built) as a child process for tests: standalone proxy with flow
// control, endpoints from a file the test rewrites.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the built router entry point. */
export const ROUTER_MAIN = fileURLToPath(new URL('../../../router/dist/main.js', import.meta.url));

/** Flow control gated by a concurrency detector: with no endpoints, every request waits in the queue. */
export const FLOW_CONTROL_CONFIG = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
featureGates: [flowControl]
plugins:
- type: concurrency-detector
  parameters: {maxConcurrency: 8}
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins: [{pluginRef: concurrency-detector}, {pluginRef: queue-scorer}]
flowControl:
  saturationDetector: {pluginRef: concurrency-detector}
`;

/** A running router. */
export interface RouterProcess extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of the OpenAI-compatible proxy. */
  readonly proxyUrl: string;
  /** `http://127.0.0.1:<port>/metrics`. */
  readonly metricsUrl: string;
  /** The endpoints file the router follows (the local mode's runner may write it instead). */
  readonly endpointsFile: string;
  /** Replaces the endpoints the router routes to. */
  setEndpoints(endpoints: ReadonlyArray<{ name: string; url: string }>): void;
  stop(): Promise<void>;
}

/** Starts the built router with `config` and no endpoints. Needs `nx build router` first. */
export async function startRouterProcess(config = FLOW_CONTROL_CONFIG): Promise<RouterProcess> {
  if (!existsSync(ROUTER_MAIN)) throw new Error(`${ROUTER_MAIN} is missing: build the router first (pnpm nx build router)`);
  const dir = mkdtempSync(join(tmpdir(), 'llmd-router-'));
  const configFile = join(dir, 'config.yaml');
  const endpointsFile = join(dir, 'endpoints.yaml');
  writeFileSync(configFile, config);
  const setEndpoints = (endpoints: ReadonlyArray<{ name: string; url: string }>) => {
    const lines = endpoints.length === 0 ? ['endpoints: []'] : ['endpoints:', ...endpoints.flatMap((e) => [`- name: ${e.name}`, '  namespace: default', '  address: "127.0.0.1"', `  port: ${new URL(e.url).port}`])];
    writeFileSync(`${endpointsFile}.tmp`, `${lines.join('\n')}\n`);
    renameSync(`${endpointsFile}.tmp`, endpointsFile);
  };
  setEndpoints([]);
  const child = spawn(
    process.execPath,
    [ROUTER_MAIN, '--config-file', configFile, '--endpoints-file', endpointsFile, '--host', '127.0.0.1', '--proxy-port', '0', '--metrics-port', '0', '--grpc-port', '0', '--grpc-health-port', '0', '--secure-serving=false'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ports = await new Promise<{ proxy: number; metrics: number }>((resolve, reject) => {
    let buffered = '';
    child.once('exit', (code) => reject(new Error(`router exited with code ${code}: ${stderr.trim()}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; ports?: { proxy: number; metrics: number } };
          if (entry.msg === 'router listening' && entry.ports) resolve(entry.ports);
        } catch {
          // Not a JSON line.
        }
      }
    });
  });
  child.stdout?.resume();
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(force);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { proxyUrl: `http://127.0.0.1:${ports.proxy}`, metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`, endpointsFile, setEndpoints, stop, [Symbol.asyncDispose]: stop };
}
