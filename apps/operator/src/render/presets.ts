// The router configuration (an EndpointPickerConfig) of each well-lit path, as the router reads it.
import type { ModelService, ModelServicePreset } from '@llmd/k8s-api';
import { stringify } from 'yaml';
import { KV_EVENTS_PORT } from './names.js';

const HEADER = { apiVersion: 'llm-d.ai/v1alpha1', kind: 'EndpointPickerConfig' };

/** How the router hears the engines' KV events on the precise path. */
export type KvEventsMode = 'centralized' | 'discovery';

/**
 * The precise path needs every router replica to see every event. One router binds a ZMQ socket
 * that all engines publish to (centralized); with more replicas each router connects to every
 * engine's own publisher instead (pod discovery), as upstream's active-active setup does.
 */
export function kvEventsMode(ms: ModelService): KvEventsMode {
  return ms.spec.router.replicas > 1 ? 'discovery' : 'centralized';
}

/** The EndpointPickerConfig document of a preset, for this ModelService. */
export function presetConfig(preset: ModelServicePreset, ms: ModelService): Record<string, unknown> {
  switch (preset) {
    case 'optimized-baseline':
      // "Sticky until saturated": stay with the endpoint that holds the prefix unless it is loaded.
      return {
        ...HEADER,
        plugins: [
          { type: 'approx-prefix-cache-producer' },
          { type: 'inflight-load-producer' },
          { type: 'prefix-cache-affinity-filter', parameters: { affinityThreshold: 0.8, maxTokensInFlightPenalty: 286720 } },
          { type: 'token-load-scorer' },
          { type: 'max-score-picker' },
          { type: 'single-profile-handler' },
        ],
        schedulingProfiles: [{ name: 'default', plugins: [{ pluginRef: 'prefix-cache-affinity-filter' }, { pluginRef: 'token-load-scorer' }, { pluginRef: 'max-score-picker' }] }],
      };
    case 'inference-scheduling':
      // The older default blend: prefix 3, queue 2, KV-cache use 2.
      return {
        ...HEADER,
        plugins: [{ type: 'queue-scorer' }, { type: 'kv-cache-utilization-scorer' }, { type: 'prefix-cache-scorer' }, { type: 'max-score-picker' }, { type: 'single-profile-handler' }],
        schedulingProfiles: [
          {
            name: 'default',
            plugins: [
              { pluginRef: 'queue-scorer', weight: 2 },
              { pluginRef: 'kv-cache-utilization-scorer', weight: 2 },
              { pluginRef: 'prefix-cache-scorer', weight: 3 },
              { pluginRef: 'max-score-picker' },
            ],
          },
        ],
      };
    case 'precise-prefix-cache-routing': {
      const kvEventsConfig = kvEventsMode(ms) === 'centralized' ? { zmqEndpoint: `tcp://*:${KV_EVENTS_PORT}` } : { discoverPods: true, socketPort: KV_EVENTS_PORT };
      return {
        ...HEADER,
        plugins: [
          {
            type: 'precise-prefix-cache-producer',
            parameters: { tokenProcessorConfig: { blockSizeTokens: ms.spec.prefixCache.blockSize, hashSeed: ms.spec.prefixCache.hashSeed }, kvEventsConfig },
          },
          { type: 'prefix-cache-scorer', parameters: { prefixMatchInfoProducerName: 'precise-prefix-cache-producer' } },
          { type: 'queue-scorer' },
          { type: 'kv-cache-utilization-scorer' },
          { type: 'max-score-picker' },
          { type: 'single-profile-handler' },
        ],
        schedulingProfiles: [
          {
            name: 'default',
            plugins: [
              { pluginRef: 'prefix-cache-scorer', weight: 3 },
              { pluginRef: 'queue-scorer', weight: 2 },
              { pluginRef: 'kv-cache-utilization-scorer', weight: 2 },
              { pluginRef: 'max-score-picker' },
            ],
          },
        ],
      };
    }
    case 'pd-disaggregation':
      // Decode first; prefill on another pod only when enough of the prompt is uncached there.
      return {
        ...HEADER,
        plugins: [
          { type: 'prefill-header-handler' },
          { type: 'prefix-cache-scorer' },
          { type: 'queue-scorer' },
          { type: 'prefill-filter' },
          { type: 'decode-filter' },
          { type: 'max-score-picker' },
          { type: 'prefix-based-pd-decider', parameters: { nonCachedTokens: 16 } },
          { type: 'disagg-profile-handler', parameters: { deciders: { prefill: 'prefix-based-pd-decider' } } },
        ],
        schedulingProfiles: [
          {
            name: 'prefill',
            plugins: [{ pluginRef: 'prefill-filter' }, { pluginRef: 'max-score-picker' }, { pluginRef: 'prefix-cache-scorer', weight: 2 }, { pluginRef: 'queue-scorer', weight: 1 }],
          },
          {
            name: 'decode',
            plugins: [{ pluginRef: 'decode-filter' }, { pluginRef: 'max-score-picker' }, { pluginRef: 'prefix-cache-scorer', weight: 2 }, { pluginRef: 'queue-scorer', weight: 1 }],
          },
        ],
      };
  }
}

/** The router's config file: the user's EndpointPickerConfig, else the (router's or spec's) preset's. */
export function routerConfigText(ms: ModelService): string {
  if (ms.spec.router.endpointPickerConfig !== undefined) return ms.spec.router.endpointPickerConfig;
  return stringify(presetConfig(ms.spec.router.preset ?? ms.spec.preset, ms), { lineWidth: 0 });
}
