import type { PluginFactory } from '@llmd/scheduling';
import { disaggProfileHandler } from './disagg-profile-handler/plugin.js';
import { pdProfileHandler } from './pd-profile-handler/plugin.js';
import { prefillHeaderHandler } from './prefill-header-handler/plugin.js';
import { prefixBasedPdDecider } from './prefix-based-pd-decider/plugin.js';

export { isPdDecider, isPdDecisionSource } from './disagg-profile-handler/decider.js';
export type { PdDecider, PdDecision, PdDecisionCounts, PdDecisionSource, PdDecisionType } from './disagg-profile-handler/decider.js';
export { DisaggProfileHandler } from './disagg-profile-handler/plugin.js';
export { PdProfileHandler } from './pd-profile-handler/plugin.js';
export { PREFILLER_HOST_PORT_HEADER } from './prefill-header-handler/plugin.js';
export { PrefixBasedPdDecider } from './prefix-based-pd-decider/plugin.js';

/** The P/D disaggregation plugins (profile handlers of v0.3.0 and HEAD, the prefix decider, the prefill header hook), for explicit registration. */
export const PD_PLUGINS: readonly PluginFactory[] = Object.freeze([
  // profile handlers
  pdProfileHandler,
  disaggProfileHandler,
  // deciders
  prefixBasedPdDecider,
  // PreRequest hooks
  prefillHeaderHandler,
]);
