import { definePlugin, type Plugin, type PluginFactory } from '@llmd/scheduling';
import { z } from 'zod';
import { FILE_DISCOVERY_TYPE, FileDiscovery, fileDiscoveryParamsSchema } from '../datastore/index.js';
import { parseDurationMs } from '@llmd/cli';

/** `metrics-data-source`: where and how model-server metrics are scraped (upstream HEAD parameters). */
export const metricsDataSourceParams = z
  .object({
    scheme: z.enum(['http', 'https']).default('http'),
    path: z.string().startsWith('/').default('/metrics'),
    insecureSkipVerify: z.boolean().default(true),
    /** Overrides `--refresh-metrics-interval` (Go duration or ms). */
    interval: z.union([z.string(), z.number()]).optional(),
  })
  .strict()
  .prefault({});

/** A configured `metrics-data-source`. */
export interface MetricsDataSource extends Plugin {
  readonly scheme: 'http' | 'https';
  readonly path: string;
  readonly insecureSkipVerify: boolean;
  readonly intervalMs: number | null;
}

const metricsDataSource = definePlugin({
  type: 'metrics-data-source',
  parameters: metricsDataSourceParams,
  create(name, p): MetricsDataSource {
    const intervalMs = p.interval === undefined ? null : parseDurationMs(p.interval, `${name}.parameters.interval`);
    return { type: 'metrics-data-source', name, scheme: p.scheme, path: p.path, insecureSkipVerify: p.insecureSkipVerify, intervalMs };
  },
});

/** `core-metrics-extractor`: maps engine metrics (vLLM, SGLang, …) to endpoint metrics; engine configs are accepted as data. */
const coreMetricsExtractor = definePlugin({
  type: 'core-metrics-extractor',
  parameters: z.object({ engineConfigs: z.array(z.record(z.string(), z.unknown())).optional() }).strict().prefault({}),
  create: (name) => ({ type: 'core-metrics-extractor', name }),
});

const fileDiscovery = definePlugin({
  type: FILE_DISCOVERY_TYPE,
  parameters: fileDiscoveryParamsSchema,
  create: (name, p, handle) => new FileDiscovery({ name, path: p.path, watchFile: p.watchFile, logger: handle.logger }),
});

/** Request parsers of upstream configs: the router reads OpenAI, Anthropic-shaped and vLLM bodies itself, so these carry no settings. */
const parser = (type: string) =>
  definePlugin({ type, parameters: z.object({}).strict().prefault({}), create: (name) => ({ type, name }) });

/** The data-layer and parser plugin types the router registers beside the scheduling plugins. */
export const ROUTER_PLUGINS: readonly PluginFactory[] = [
  metricsDataSource,
  coreMetricsExtractor,
  fileDiscovery,
  parser('openai-parser'),
  parser('anthropic-parser'),
  parser('vllmhttp-parser'),
  parser('passthrough-parser'),
] as readonly PluginFactory[];
