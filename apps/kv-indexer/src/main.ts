#!/usr/bin/env node
// Wiring only: parse options, start the indexer, stop it on a signal.
import { closeOnSignals, ConfigError, runMain } from '@llmd/cli';
import { createLogger } from '@llmd/observability';
import { startKvIndexer } from './app.js';
import { parseKvIndexerOptions } from './options.js';

runMain(
  async () => {
    const command = parseKvIndexerOptions(process.argv.slice(2));
    if (command.kind === 'help') {
      console.log(command.text);
      return 0;
    }
    const { options } = command;
    const logger = createLogger({ name: 'kv-indexer', level: options.logLevel });
    const indexer = await startKvIndexer(options, { logger });
    closeOnSignals(() => indexer.close(), (signal) => logger.info({ signal }, 'shutting down'));
    return 'running';
  },
  { name: 'kv-indexer', isUsageError: (err) => err instanceof ConfigError },
);
