import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startNodeProcess } from './node-process.js';

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
  const proc = await startNodeProcess(SIM_MAIN, ['--host', '127.0.0.1', '--port', '0', ...args], {
    buildHint: 'pnpm nx build inference-sim',
    ready: (entry) => (entry.msg === 'simulator listening' && Array.isArray(entry.urls) ? (entry.urls as string[]) : undefined),
  });
  const stop = async () => {
    await proc.stop();
  };
  return { child: proc.child, urls: proc.ready, stop, [Symbol.asyncDispose]: stop };
}
