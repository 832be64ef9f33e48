#!/usr/bin/env node
// Wiring only: parse options, start the simulated servers, stop them on a signal.
import { closeOnSignals, ConfigError, runMain } from '@llmd/cli';
import { createLogger } from '@llmd/observability';
import { runProfile } from './cli/profile.js';
import { startSimulator } from './cluster.js';
import { parseOptions } from './options.js';

runMain(
  async () => {
    const argv = process.argv.slice(2);
    if (argv[0] === 'profile') return runProfile(argv.slice(1));
    const command = parseOptions(argv);
    if (command.kind === 'help') {
      console.log(command.text);
      return 0;
    }
    const { options, ignoredFlags } = command;
    const logger = createLogger({ name: 'inference-sim', level: options.logLevel });
    if (ignoredFlags.length > 0) logger.info({ flags: ignoredFlags }, 'ignoring vLLM engine flags the simulator does not model');
    const cluster = await startSimulator(options, { logger });
    closeOnSignals(() => cluster.close(), (signal) => logger.info({ signal }, 'shutting down'));
    return 'running';
  },
  { name: 'inference-sim', isUsageError: (err) => err instanceof ConfigError },
);
