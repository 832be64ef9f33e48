import { pino, type Logger, type LevelWithSilent } from 'pino';

/** Options of the one logger a process creates and passes down. */
export interface LoggerOptions {
  /** Component name, the `name` field of every line. */
  name: string;
  level?: LevelWithSilent;
  /** Where lines go; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/** Creates the process logger: JSON lines (pino), structured fields, child loggers per component. */
export function createLogger(options: LoggerOptions): Logger {
  const base = { name: options.name, level: options.level ?? 'info' };
  return options.destination ? pino(base, options.destination as never) : pino(base);
}

/** A logger that drops everything, for tests and benchmarks that measure other things. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type { Logger };
