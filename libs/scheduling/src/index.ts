export * from './framework/index.js';
export { PluginRegistry } from './registry.js';
export { Scheduler } from './scheduler.js';
export type { ExtensionPoint, SchedulerConfig, SchedulerObserver } from './scheduler.js';
export { ConfigError, formatConfigPath } from './config/errors.js';
export {
  CORE_METRICS_EXTRACTOR_TYPE,
  DEFAULT_ENDPOINT_PICKER_CONFIG,
  DEFAULT_FAIRNESS_POLICY_TYPE,
  DEFAULT_ORDERING_POLICY_TYPE,
  DEFAULT_PRIORITY_BAND_MAX_BYTES,
  DEFAULT_REQUEST_TTL_MS,
  DEFAULT_USAGE_LIMIT_POLICY_TYPE,
  FLOW_CONTROL_GATE,
  DEFAULT_PARSER_TYPES,
  DEFAULT_PROFILE_NAME,
  DEFAULT_SATURATION_DETECTOR_TYPE,
  DEFAULT_SCORER_WEIGHT,
  MAX_SCORE_PICKER_TYPE,
  METRICS_DATA_SOURCE_TYPE,
  SINGLE_PROFILE_HANDLER_TYPE,
} from './config/defaults.js';
export { ENDPOINT_PICKER_API_VERSIONS } from './config/schema.js';
export type { EndpointPickerApiVersion } from './config/schema.js';
export { parseEndpointPickerConfig, validateEndpointPickerConfig } from './config/parse.js';
export type {
  DataLayerSourceSpec,
  DataLayerSpec,
  EndpointPickerConfigSpec,
  FlowControlSpec,
  ParseOptions,
  PluginRefSpec,
  PluginSpec,
  PriorityBandSpec,
  PriorityBandTemplateSpec,
  ProfilePluginSpec,
  ProfileSpec,
} from './config/parse.js';
export { instantiateEndpointPickerConfig, loadEndpointPickerConfig } from './config/load.js';
export type {
  AutoAddedPlugin,
  LoadedBandTemplate,
  LoadedConfig,
  LoadedDataLayer,
  LoadedDataSource,
  LoadedFlowControl,
  LoadedPriorityBand,
  LoadOptions,
} from './config/load.js';
