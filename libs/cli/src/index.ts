export { ConfigError, parseDurationMs, splitArgs } from './flags.js';
export type { FlagArity, SplitArgs } from './flags.js';
export { seededRandom } from './random.js';
