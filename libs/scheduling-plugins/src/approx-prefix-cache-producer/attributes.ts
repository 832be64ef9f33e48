/** Attribute name under which prefix producers publish {@link PrefixCacheMatchInfo} (upstream's data key name). */
export const PREFIX_CACHE_MATCH_INFO = 'PrefixCacheMatchInfo';

/**
 * How much of the current request an endpoint is believed to hold in its KV cache, in blocks of
 * `blockSize` tokens: the first `matchBlocks` of the request's `totalBlocks` blocks.
 */
export interface PrefixCacheMatchInfo {
  readonly matchBlocks: number;
  readonly totalBlocks: number;
  /** Tokens per block (the producer's effective block size). */
  readonly blockSize: number;
}

/**
 * The attribute key a consumer reads: the plain name when no producer is named (whichever prefix
 * producer ran last), `PrefixCacheMatchInfo/<producer>` to read one producer instance. Producers
 * write both, so two producers of the same kind can coexist when consumers name theirs.
 */
export function prefixCacheMatchInfoKey(producerName?: string | null): string {
  return producerName ? `${PREFIX_CACHE_MATCH_INFO}/${producerName}` : PREFIX_CACHE_MATCH_INFO;
}
