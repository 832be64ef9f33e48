import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of the built simulator entry point. */
export const SIM_MAIN = fileURLToPath(new URL('../../../apps/inference-sim/dist/main.js', import.meta.url));

/** A simulator running as a child process. */
export interface SimProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` of each simulated server. */
  readonly urls: readonly string[];
  /** Stops the process and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts the built simulator (`apps/inference-sim/dist/main.js`) with `args` plus loopback and a
 * free port, and resolves once it logs the URLs it listens on (at level info: do not pass a higher
 * `--log-level`). Needs `nx build inference-sim` first.
 */
export async function startSimProcess(args: readonly string[]): Promise<SimProcess> {
  if (!existsSync(SIM_MAIN)) throw new Error(`${SIM_MAIN} is missing: build the simulator first (pnpm nx build inference-sim)`);
  const child = spawn(process.execPath, [SIM_MAIN, '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const urls = await new Promise<string[]>((resolve, reject) => {
    let buffered = '';
    child.once('exit', (code) => reject(new Error(`simulator exited with code ${code}: ${stderr.trim()}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; urls?: string[] };
          if (entry.msg === 'simulator listening' && entry.urls) resolve(entry.urls);
        } catch {
          // Not a JSON log line.
        }
      }
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return { child, urls, stop, [Symbol.asyncDispose]: stop };
}
