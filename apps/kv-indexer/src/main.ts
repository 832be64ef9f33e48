#!/usr/bin/env node
// Wiring only: parse options, start the indexer, stop it on a signal.
import { ConfigError } from '@llmd/cli';
import { createLogger } from '@llmd/observability';
import { startKvIndexer } from './app.js';
import { parseKvIndexerOptions } from './options.js';

async function main(argv: string[]): Promise<number> {
  const command = parseKvIndexerOptions(argv);
  if (command.kind === 'help') {
    console.log(command.text);
    return 0;
  }
  const { options } = command;
  const logger = createLogger({ name: 'kv-indexer', level: options.logLevel });
  const indexer = await startKvIndexer(options, { logger });
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await indexer.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`kv-indexer: ${err.message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
