// Helpers shared by the router benchmarks: argument parsing, percentiles, the JSON report and the
// built apps started as child processes.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startNodeProcess } from '@llmd/testing';

/** `--name value` pairs of the command line. */
export function benchArgs(): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 2; i < process.argv.length; i += 2) args.set((process.argv[i] as string).replace(/^--/, ''), process.argv[i + 1] ?? '');
  return args;
}

/** The p-th percentile of `xs` (nearest rank). */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

/** Writes the report as JSON to `path` and prints it. */
export function writeReport(path: string, report: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(report, null, 2));
  console.log(JSON.stringify(report, null, 2));
}

const children: ChildProcess[] = [];
process.on('exit', () => stopProcesses());

/**
 * Starts a built app (`node <script> ...argv`) and resolves with its first JSON log line whose msg
 * is `ready`; every process started this way is stopped when the benchmark exits.
 */
export async function startProcess(script: string, argv: string[], ready: string): Promise<{ entry: Record<string, unknown>; child: ChildProcess }> {
  const proc = await startNodeProcess(script, argv, {
    buildHint: 'pnpm nx run-many -t build -p router,inference-sim',
    ready: (entry) => (entry.msg === ready ? entry : undefined),
  });
  children.push(proc.child);
  return { entry: proc.ready, child: proc.child };
}

/** Sends SIGTERM to every process {@link startProcess} started. */
export function stopProcesses(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
