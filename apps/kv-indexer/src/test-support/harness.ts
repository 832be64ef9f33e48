import type { KvBlockIndex } from '@llmd/kv-indexing';
import { silentLogger } from '@llmd/observability';
import { postJson, waitUntil } from '@llmd/testing';
import { startKvIndexer, type RunningKvIndexer } from '../app.js';
import { parseKvIndexerOptions, type KvIndexerOptions } from '../options.js';

/** Options for a test indexer: loopback, free HTTP and gRPC ports, an ephemeral SUB port, the flags on top. */
export function testIndexerOptions(flags: readonly string[]): KvIndexerOptions {
  const command = parseKvIndexerOptions(['--host', '127.0.0.1', '--http-port', '0', '--tokenizer-pool-size', '1', ...flags]);
  if (command.kind !== 'run') throw new Error('unexpected help');
  const centralized = command.options.endpointsFile === null && !flags.includes('--zmq-endpoint');
  // 0 means "off" on the command line; in options built by hand it picks a free port.
  return { ...command.options, grpcPort: 0, ...(centralized ? { zmqEndpoint: 'tcp://127.0.0.1:*' } : {}) };
}

/** A started test indexer with helpers. */
export interface TestIndexer extends RunningKvIndexer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** POSTs a body to /v1/scores. */
  scores(body: unknown): Promise<{ status: number; body: { scores: Record<string, number> } & Record<string, unknown> }>;
  /** Resolves once `n` batches in all have been applied to the index. */
  applied(n: number): Promise<void>;
}

/** Starts an indexer for a test; dispose it with `await using`. */
export async function startTestIndexer(flags: readonly string[] = [], deps: { index?: KvBlockIndex } = {}): Promise<TestIndexer> {
  const running = await startKvIndexer(testIndexerOptions(flags), { logger: silentLogger(), ...deps });
  const url = `http://127.0.0.1:${running.ports.http}`;
  return Object.assign(running, {
    url,
    scores: (body: unknown) => postJson(`${url}/v1/scores`, body),
    applied: (n: number) => waitUntil(() => running.ingestion.pool.counters.applied >= n, `${n} applied batches`),
  });
}
