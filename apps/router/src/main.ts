#!/usr/bin/env node
// Wiring only: parse options, validate or start the router, stop it on a signal.
import { closeOnSignals, ConfigError as FlagError, runMain } from '@llmd/cli';
import { createLogger } from '@llmd/observability';
import { ConfigError } from '@llmd/scheduling';
import { loadRouterConfig, startRouter } from './app.js';
import { KubeConfigError } from '@llmd/k8s';
import { parseRouterOptions } from './options.js';

runMain(
  async () => {
    const command = parseRouterOptions(process.argv.slice(2));
    if (command.kind === 'help') {
      console.log(command.text);
      return 0;
    }
    const { options, ignoredFlags } = command;
    const logger = createLogger({ name: 'router', level: options.logLevel });
    if (options.validateConfigOnly) {
      const config = loadRouterConfig(options, { logger, endpoints: () => [], random: Math.random, now: () => performance.now() });
      for (const w of config.warnings) console.log(`warning: ${w}`);
      const profiles = [...config.profiles.values()].map(
        (p) => `${p.name}: ${[...p.filters.map((f) => f.name), ...p.scorers.map((s) => `${s.scorer.name}×${s.weight}`), p.picker.name].join(' → ')}`,
      );
      console.log(`configuration is valid (${config.apiVersion}); profile handler ${config.profileHandler.name}; profiles:\n  ${profiles.join('\n  ')}`);
      return 0;
    }
    if (ignoredFlags.length > 0) logger.info({ flags: ignoredFlags }, 'ignoring upstream flags this router does not implement');
    const router = await startRouter(options, { logger });
    closeOnSignals(() => router.close(), (signal) => logger.info({ signal }, 'shutting down'));
    return 'running';
  },
  { name: 'router', isUsageError: (err) => err instanceof FlagError || err instanceof ConfigError || err instanceof KubeConfigError },
);
