#!/usr/bin/env node
// Wiring only: parse options, start the autoscaler, stop it on a signal.
import { closeOnSignals, ConfigError, runMain } from '@llmd/cli';
import { createLogger } from '@llmd/observability';
import { startAutoscaler } from './app.js';
import { KubeConfigError } from '@llmd/k8s';
import { parseAutoscalerOptions } from './options.js';

runMain(
  async () => {
    const command = parseAutoscalerOptions(process.argv.slice(2), process.env);
    if (command.kind === 'help') {
      console.log(command.text);
      return 0;
    }
    const { options } = command;
    const logger = createLogger({ name: 'autoscaler', level: options.logLevel });
    const autoscaler = await startAutoscaler(options, { logger });
    closeOnSignals(() => autoscaler.close(), (signal) => logger.info({ signal }, 'shutting down'));
    return 'running';
  },
  { name: 'autoscaler', isUsageError: (err) => err instanceof ConfigError || err instanceof KubeConfigError },
);
