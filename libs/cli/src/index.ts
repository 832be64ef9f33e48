export { ConfigError, parseDurationMs, splitArgs } from './flags.js';
export type { FlagArity, SplitArgs } from './flags.js';
export { seededRandom } from './random.js';
export { closeOnSignals, runMain } from './process.js';
export type { MainResult, RunMainOptions } from './process.js';
export { generateSelfSignedCertificate, readCertificateDir } from './tls.js';
export type { ServingCertificate } from './tls.js';
