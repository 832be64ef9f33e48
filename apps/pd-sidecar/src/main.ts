#!/usr/bin/env node
// Wiring only: parse options, start the sidecar, stop it on a signal.
import { closeOnSignals, ConfigError, runMain } from '@llmd/cli';
import { createLogger } from '@llmd/observability';
import { startSidecar } from './app.js';
import { parseSidecarOptions } from './options.js';

runMain(
  async () => {
    const command = parseSidecarOptions(process.argv.slice(2));
    if (command.kind === 'help') {
      console.log(command.text);
      return 0;
    }
    const { options, notices } = command;
    const logger = createLogger({ name: 'pd-sidecar', level: options.logLevel });
    for (const notice of notices) logger.warn(notice);
    const sidecar = await startSidecar(options, { logger });
    closeOnSignals(() => sidecar.close(), (signal) => logger.info({ signal }, 'shutting down'));
    return 'running';
  },
  { name: 'pd-sidecar', isUsageError: (err) => err instanceof ConfigError },
);
