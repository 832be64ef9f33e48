/** What a program's main function reports: an exit code, or `'running'` for a server that keeps going. */
export type MainResult = number | 'running';

/** Options of {@link runMain}. */
export interface RunMainOptions {
  /** Program name, the prefix of error messages. */
  readonly name: string;
  /** Errors printed as one line and exiting with code 2 (bad flags or config) rather than a stack trace. */
  readonly isUsageError?: (err: unknown) => boolean;
}

/**
 * Runs a program's main function: exits with its code, or leaves a running server alone; a usage
 * error prints `<name>: <message>` and exits 2, anything else prints the error and exits 1.
 */
export function runMain(main: () => Promise<MainResult>, options: RunMainOptions): void {
  main().then(
    (result) => {
      if (result !== 'running') process.exit(result);
    },
    (err: unknown) => {
      if (options.isUsageError?.(err)) {
        console.error(`${options.name}: ${(err as Error).message}`);
        process.exit(2);
      }
      console.error(err);
      process.exit(1);
    },
  );
}

/** Calls `close` once on SIGINT or SIGTERM, then exits 0; `log` hears which signal arrived. */
export function closeOnSignals(close: () => Promise<void>, log: (signal: string) => void): void {
  const stop = async (signal: string) => {
    log(signal);
    await close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
