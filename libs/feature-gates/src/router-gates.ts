import type { FeatureGateSpec } from './registry.js';

/** Gate that turns the router's flow control on (upstream name): requests queue in the router while the pool is saturated. */
export const FLOW_CONTROL_GATE = 'flowControl';

/** Gate that keeps a non-leader router replica's datastore populated (upstream name, on by default). */
export const HA_POPULATE_NON_LEADER_DATASTORE_GATE = 'haPopulateNonLeaderDatastore';

/** The router's feature gates, as upstream's endpoint picker declares them (`featureGates` of its config). */
export const ROUTER_FEATURE_GATES: readonly FeatureGateSpec[] = Object.freeze([
  {
    name: FLOW_CONTROL_GATE,
    default: false,
    maturity: 'beta',
    description: 'Queue requests in the router while the pool is saturated: priority bands, fairness between tenants, limits, TTLs and shedding with a reason.',
  },
  { name: HA_POPULATE_NON_LEADER_DATASTORE_GATE, default: true, maturity: 'beta', description: 'Keep the datastore of non-leader replicas populated.' },
]);
