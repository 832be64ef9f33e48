import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/**
 * Runs the binary under a small POSIX shell that
 * - starts it in the background with stdin from /dev/null and waits for it, exiting with its code;
 * - forwards SIGTERM and SIGINT to it, so a graceful stop ends with the shell's own exit;
 * - runs a watchdog that blocks reading the shell's stdin, a pipe whose only writer is the test
 *   process: when the test process ends in any way (even SIGKILL) the pipe reaches end of file
 *   and the watchdog kills the whole process group.
 * The shell is the leader of its own process group (spawned detached), so SIGKILL to the group
 * ends the binary, the watchdog and the shell at once.
 */
const SUPERVISOR = `
exec 3<&0 </dev/null
"$@" 3<&- &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
( read -r _ <&3; kill -KILL 0 ) &
watchdog=$!
exec 3<&-
while :; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || break
done
kill -KILL "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
exit "$status"
`;

/** How a supervised process ended. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A binary started by {@link startSupervised}. */
export interface SupervisedProcess {
  /** Short name used in messages (`etcd`, `kube-apiserver`). */
  readonly name: string;
  /** Process group id (the supervising shell's pid). */
  readonly pgid: number;
  /** File holding the binary's stdout and stderr. */
  readonly logPath: string;
  /** Set once the process has exited. */
  exitStatus(): ExitStatus | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** The last `lines` lines of the log, for error messages. */
  logTail(lines?: number): string;
  /**
   * Asks the binary to stop (SIGTERM), waits up to `graceMs`, then kills the whole process group
   * (SIGKILL) in any case so nothing it started survives.
   */
  stop(graceMs?: number): Promise<void>;
  /** Kills the process group synchronously; for exit hooks. */
  killNow(): void;
}

function tail(path: string, lines: number): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trim();
  } catch {
    return '';
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Starts `binary args…` under the supervising shell, with output appended to `logPath`. */
export function startSupervised(name: string, binary: string, args: readonly string[], options: { cwd: string; logPath: string }): SupervisedProcess {
  const logFd = openSync(options.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', SUPERVISOR, `llmd-${name}`, binary, ...args], {
      cwd: options.cwd,
      detached: true,
      stdio: ['pipe', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  if (child.pid === undefined) {
    // spawn reports the reason asynchronously through 'error'; /bin/sh missing is the only likely one.
    throw new Error(`could not start /bin/sh to run ${binary}`);
  }
  const pgid = child.pid;
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
  });
  child.once('error', () => {
    // Reported through exitStatus() and the log; nothing else to do here.
  });
  // Neither the child nor its stdin pipe keeps the test process alive: if a test forgets stop(),
  // the process still ends, and the watchdog then kills the group.
  child.unref();
  (child.stdin as Socket | null)?.unref();

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 10_000): Promise<void> => {
    stopping ??= (async () => {
      // Keep the test process alive until the group is gone.
      child.ref();
      if (status === undefined) {
        try {
          process.kill(pgid, 'SIGTERM');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), graceMs);
        });
        const outcome = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (outcome === 'timeout') killGroup(pgid, 'SIGKILL');
      }
      // The shell has gone; make sure nothing else of its group is left either.
      killGroup(pgid, 'SIGKILL');
      await exited;
      child.stdin?.destroy();
    })();
    return stopping;
  };

  return {
    name,
    pgid,
    logPath: options.logPath,
    exitStatus: () => status,
    exited,
    logTail: (lines = 30) => tail(options.logPath, lines),
    stop,
    killNow: () => killGroup(pgid, 'SIGKILL'),
  };
}
