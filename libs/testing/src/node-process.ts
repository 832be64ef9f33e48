import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A built app of this repository running as a child Node process. */
export interface NodeProcess<T> extends AsyncDisposable {
  readonly child: ChildProcess;
  /** What `ready` returned for the log line that announced the process ready. */
  readonly ready: T;
  /** Sends SIGTERM (once) and waits for the process to exit; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node <main> ...args` and resolves once a JSON log line on stdout makes `ready` return a
 * value (for example the ports in a "listening" line). Rejects, with the process's stderr, if it
 * exits first. `buildHint` names the command that builds `main` when the file is missing.
 */
export async function startNodeProcess<T>(
  main: string,
  args: readonly string[],
  options: { ready: (entry: Record<string, unknown>) => T | undefined; buildHint: string; env?: NodeJS.ProcessEnv },
): Promise<NodeProcess<T>> {
  if (!existsSync(main)) throw new Error(`${main} is missing: build it first (${options.buildHint})`);
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<T>((resolve, reject) => {
    let buffered = '';
    child.once('exit', (code) => reject(new Error(`${main} exited with code ${code} before it was ready: ${stderr.trim()}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let entry: unknown;
        try {
          entry = JSON.parse(line);
        } catch {
          continue; // not a JSON log line
        }
        if (typeof entry !== 'object' || entry === null) continue;
        const value = options.ready(entry as Record<string, unknown>);
        if (value !== undefined) resolve(value);
      }
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return {
    child,
    ready,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}
