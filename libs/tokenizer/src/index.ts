export { TokenizerError, toTokenizerError } from './errors.js';
export type { TokenizerErrorCode } from './errors.js';
export type {
  AsyncTokenizer,
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  TextContentPart,
  Tokenizer,
  TokenizerSource,
} from './types.js';
export { FALLBACK_TOKENIZER, resolveBundledTokenizer } from './bundled.js';
export type { BundledTokenizer } from './bundled.js';
export { loadTokenizer, loadTokenizerSync } from './load.js';
export { TokenizerPool } from './pool.js';
export type { TokenizerPoolOptions } from './pool.js';
export { PrefixTokenCache, isSafeCut, segmentCuts } from './prefix-cache.js';
export type { PrefixTokenCacheOptions, PrefixTokenCacheStats, SegmentEncoder } from './prefix-cache.js';
