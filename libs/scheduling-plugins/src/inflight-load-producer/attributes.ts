import type { Plugin } from '@llmd/scheduling';

/** Attribute name of an endpoint's live {@link InFlightLoad} (upstream's data key name). */
export const IN_FLIGHT_LOAD = 'InFlightLoad';

/** Attribute name of the current request's {@link UncachedRequestTokens} on a candidate. */
export const UNCACHED_REQUEST_TOKENS = 'UncachedRequestTokens';

/** Requests and prompt tokens this router has sent to an endpoint and not yet seen released. */
export interface InFlightLoad {
  readonly requests: number;
  readonly tokens: number;
}

/** What the current request would add to a candidate: its prompt tokens the endpoint has not cached. */
export interface UncachedRequestTokens {
  readonly tokens: number;
}

/** The attribute key of {@link InFlightLoad}: plain, or `InFlightLoad/<producer>` for one producer instance. */
export function inFlightLoadKey(producerName?: string | null): string {
  return producerName ? `${IN_FLIGHT_LOAD}/${producerName}` : IN_FLIGHT_LOAD;
}

/** The attribute key of {@link UncachedRequestTokens}: plain, or `UncachedRequestTokens/<producer>`. */
export function uncachedRequestTokensKey(producerName?: string | null): string {
  return producerName ? `${UNCACHED_REQUEST_TOKENS}/${producerName}` : UNCACHED_REQUEST_TOKENS;
}

/** A plugin other plugins can ask for an endpoint's in-flight load (found with `handle.plugin(name)`). */
export interface InFlightLoadSource extends Plugin {
  /** The endpoint's load now (zeros for an endpoint never targeted). */
  inFlightLoad(endpointId: string): InFlightLoad;
}

/** True for plugins that expose {@link InFlightLoadSource.inFlightLoad}. */
export function isInFlightLoadSource(p: Plugin | undefined): p is InFlightLoadSource {
  return p !== undefined && typeof (p as InFlightLoadSource).inFlightLoad === 'function';
}
