export { DEFAULT_TIER_WEIGHTS, longestPrefixScores } from './longest-prefix.js';
export type { TierWeights } from './longest-prefix.js';
