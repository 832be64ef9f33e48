/**
 * Upstream's built-in config, used when neither `--config-file` nor `--config-text` is given
 * (llm-d-router HEAD `pkg/epp/config/loader/defaults.go`): the 2/2/3 blend of queue,
 * KV-cache-utilization and prefix-cache scorers, plus the metrics data source and extractor.
 * The loader's system defaults then add the profile handler, picker and auto-required producers.
 */
export const DEFAULT_ENDPOINT_PICKER_CONFIG = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
- type: metrics-data-source
- type: core-metrics-extractor
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix-cache-scorer
    weight: 3
dataLayer:
  sources:
  - pluginRef: metrics-data-source
    extractors:
    - pluginRef: core-metrics-extractor
`;

/** Weight of a scorer referenced without one. */
export const DEFAULT_SCORER_WEIGHT = 1;

/** Name of the profile created when the config has none. */
export const DEFAULT_PROFILE_NAME = 'default';

/** Profile handler added when there is exactly one profile and no handler. */
export const SINGLE_PROFILE_HANDLER_TYPE = 'single-profile-handler';

/** Picker added to profiles without one when no picker is configured at all. */
export const MAX_SCORE_PICKER_TYPE = 'max-score-picker';

/** Saturation detector used when none is configured (added when the registry has it). */
export const DEFAULT_SATURATION_DETECTOR_TYPE = 'utilization-detector';

/** Parsers used when none are configured (those the registry has are added). */
export const DEFAULT_PARSER_TYPES: readonly string[] = ['openai-parser', 'anthropic-parser', 'vllmhttp-parser', 'passthrough-parser'];

/** Data-layer source injected unless `dataLayer.injectDefaults: false`. */
export const METRICS_DATA_SOURCE_TYPE = 'metrics-data-source';

/** Extractor injected with {@link METRICS_DATA_SOURCE_TYPE}. */
export const CORE_METRICS_EXTRACTOR_TYPE = 'core-metrics-extractor';

/** Feature gate that turns flow control on (declared in libs/feature-gates). */
export { FLOW_CONTROL_GATE } from '@llmd/feature-gates';

/** Fairness policy of a priority band that names none (upstream default). */
export const DEFAULT_FAIRNESS_POLICY_TYPE = 'global-strict-fairness-policy';

/** Ordering policy of a priority band that names none (upstream default). */
export const DEFAULT_ORDERING_POLICY_TYPE = 'fcfs-ordering-policy';

/** How long a request may wait in flow control when `defaultRequestTTL` is not set (upstream: 60 s). */
export const DEFAULT_REQUEST_TTL_MS = 60_000;

/** Byte capacity of a priority band whose `maxBytes` is unset or 0 (upstream: 1 GB). */
export const DEFAULT_PRIORITY_BAND_MAX_BYTES = 1_000_000_000;

/** Usage-limit policy used when `flowControl.usageLimitPolicyPluginRef` is unset (upstream default: no gating). */
export const DEFAULT_USAGE_LIMIT_POLICY_TYPE = 'static-usage-limit-policy';
