export { FeatureGates, FeatureGateError } from './registry.js';
export type { FeatureGateSpec, Maturity } from './registry.js';
