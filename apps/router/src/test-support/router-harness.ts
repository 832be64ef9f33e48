import { silentLogger } from '@llmd/observability';
import { waitUntil } from '@llmd/testing';
import { startRouter, type RunningRouter } from '../app.js';
import { parseRouterOptions, type RouterOptions } from '../options.js';

/** Options for a test router: plaintext, every port free, the given flags on top. */
export function testRouterOptions(flags: readonly string[]): RouterOptions {
  const parsed = parseRouterOptions(
    ['--host', '127.0.0.1', '--grpc-port', '0', '--grpc-health-port', '0', '--metrics-port', '0', '--secure-serving=false', '--seed', '11', '--refresh-metrics-interval', '20ms', ...flags],
    {},
  );
  if (parsed.kind !== 'run') throw new Error('unexpected help');
  return parsed.options;
}

/** Starts a router and waits until every endpoint has been scraped once. */
export async function startTestRouter(flags: readonly string[]): Promise<RunningRouter> {
  const router = await startRouter(testRouterOptions(flags), { logger: silentLogger() });
  await waitUntil(() => router.datastore.endpoints().every((e) => e.metrics.updateTime > 0), 'the first scrape of every endpoint');
  return router;
}
