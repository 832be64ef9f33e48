// Starts the project's built apps with the arguments a chart renders, the way the kubelet would.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type Container } from './helm.js';

/** `apps/<app>/dist/main.js`; throws naming the build command when it has not been built. */
export function appMain(app: string): string {
  const main = join(REPO_ROOT, 'apps', app, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build it first (\`pnpm nx build ${app}\`; \`pnpm nx test charts\` does it)`);
  return main;
}

/** Expands `$(NAME)` as the kubelet does in a container's args and env values. */
export function expandVars(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => vars[name] ?? whole);
}

/**
 * The environment a container would see: its literal values (expanded), plus the given values
 * for variables the kubelet fills from the pod (fieldRef, secrets).
 */
export function containerEnv(c: Container, fromPod: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expandVars(e.value, { ...fromPod, ...env });
    else if (fromPod[e.name] !== undefined) env[e.name] = fromPod[e.name] as string;
  }
  return env;
}

// Apps still running when the test process ends (a failed test that never reached stop()) are killed.
const running = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
}

/** A running app whose log announced it is serving. */
export interface RunningApp {
  /** The log line that matched last. */
  readonly line: string;
  /** Everything logged so far. */
  output(): string;
  /** Stops it (SIGTERM, then SIGKILL) and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `node <main> ...args` and resolves once log lines have matched every pattern of `ready`
 * (in any order); rejects with the output when the process exits first or `timeoutMs` passes.
 */
export function startApp(main: string, args: readonly string[], options: { env?: Record<string, string>; ready: RegExp | readonly RegExp[]; timeoutMs?: number }): Promise<RunningApp> {
  const waitingFor = new Set<RegExp>(Array.isArray(options.ready) ? options.ready : [options.ready as RegExp]);
  const child: ChildProcess = spawn(process.execPath, [main, ...args], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let output = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    }
  };
  return new Promise<RunningApp>((resolve, reject) => {
    let pending = '';
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      void stop().then(() => reject(new Error(`no line matching ${[...waitingFor].join(', ')} within ${options.timeoutMs ?? 60_000} ms; output:\n${output}`)));
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      let line: string | undefined;
      for (const l of lines) {
        for (const pattern of waitingFor) {
          if (pattern.test(l)) {
            waitingFor.delete(pattern);
            line = l;
          }
        }
      }
      if (line !== undefined && waitingFor.size === 0 && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ line, output: () => output, stop });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
    void exit.then(() => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${main} exited (code ${child.exitCode}) before it was ready; output:\n${output}`));
    });
  });
}
