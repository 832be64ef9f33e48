export { NO_POLICIES, RouterDirector, SHED_MESSAGE, requestTtlMs } from './director.js';
export type { DirectorDeps, RoutingPolicies, SchedulerLike } from './director.js';
export { parseInferenceRequest, promptViewOf, requestIdOf } from './request-parser.js';
export type { Director, IncomingRequest, ResponseTracker, RoutedRequest } from './types.js';
export { readUsage, UsageSniffer } from './usage.js';
