#!/usr/bin/env node
// Wiring only: parse options, start the simulated servers, stop them on a signal.
import { createLogger } from '@llmd/observability';
import { ConfigError } from '@llmd/cli';
import { runProfile } from './cli/profile.js';
import { startSimulator } from './cluster.js';
import { parseOptions } from './options.js';

async function main(argv: string[]): Promise<number> {
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
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await cluster.close();
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
      console.error(`inference-sim: ${err.message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
