export { FeatureGates, FeatureGateError } from './registry.js';
export type { FeatureGateSpec, Maturity } from './registry.js';
export { FLOW_CONTROL_GATE, HA_POPULATE_NON_LEADER_DATASTORE_GATE, ROUTER_FEATURE_GATES } from './router-gates.js';
