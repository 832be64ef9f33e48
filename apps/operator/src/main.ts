#!/usr/bin/env node
// Wiring only: parse options, start the operator, stop it on a signal.
import { closeOnSignals, ConfigError, runMain } from '@llmd/cli';
import { createLogger } from '@llmd/observability';
import { startOperator } from './app.js';
import { parseOperatorOptions } from './options.js';

runMain(
  async () => {
    const command = parseOperatorOptions(process.argv.slice(2));
    if (command.kind === 'help') {
      console.log(command.text);
      return 0;
    }
    const { options } = command;
    const logger = createLogger({ name: 'operator', level: options.logLevel });
    const operator = await startOperator(options, {
      logger,
      // A leader that lost its lease exits, so a restart campaigns afresh with nothing stale.
      onLeadershipLost: () => void operator.close().then(() => process.exit(1)),
    });
    closeOnSignals(() => operator.close(), (signal) => logger.info({ signal }, 'shutting down'));
    return 'running';
  },
  { name: 'operator', isUsageError: (err) => err instanceof ConfigError },
);
