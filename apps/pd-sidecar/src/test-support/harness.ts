// In-process sidecars for the integration tests: real sockets on free loopback ports.
import { silentLogger } from '@llmd/observability';
import { scrapeMetrics, metricValue } from '@llmd/testing';
import { startSidecar, type RunningSidecar } from '../app.js';
import { parseSidecarOptions, type SidecarOptions } from '../options.js';

/** Options for a test sidecar: loopback, free ports, plaintext, in front of `modelServerPort`, the given flags on top. */
export function testSidecarOptions(modelServerPort: number, flags: readonly string[] = []): SidecarOptions {
  const parsed = parseSidecarOptions(
    ['--host', '127.0.0.1', '--port', '0', '--model-server-host', '127.0.0.1', '--model-server-port', String(modelServerPort), '--secure-serving=false', ...flags],
    {},
  );
  if (parsed.kind !== 'run') throw new Error('unexpected help');
  return parsed.options;
}

/** A running in-process sidecar with its own metrics on a free port. */
export type TestSidecar = RunningSidecar & AsyncDisposable & { readonly url: string };

/** Starts a sidecar in this process; `random` drives prefiller sampling, `maxBodyBytes` bounds buffered bodies. */
export async function startTestSidecar(modelServerPort: number, flags: readonly string[] = [], extra: { random?: () => number; maxBodyBytes?: number } = {}): Promise<TestSidecar> {
  const options: SidecarOptions = { ...testSidecarOptions(modelServerPort, flags), metricsPort: 0 };
  const sidecar = await startSidecar(options, { logger: silentLogger(), ...extra });
  return Object.assign(sidecar, { url: sidecar.urls[0] as string, [Symbol.asyncDispose]: () => sidecar.close() });
}

/** A counter or gauge of a simulator, 0 when absent. */
export async function simMetric(simUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrapeMetrics(simUrl), name, labels) ?? 0;
}
