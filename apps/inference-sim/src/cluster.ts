import { loadTokenizer, type Tokenizer } from '@llmd/tokenizer';
import type { Logger } from 'pino';
import { realClock, type Clock, type KvEventSink } from './engine/index.js';
import { KvEventPublisher, offsetEndpointPort } from './kv-events/publisher.js';
import type { SimOptions } from './options.js';
import { buildEngineSetup } from './server/engine-setup.js';
import { SimServer } from './server/sim-server.js';

/** Forwards engine events to a publisher once it exists (the topic needs the port, known after listen). */
class ForwardingSink implements KvEventSink {
  target: KvEventSink | null = null;
  blockStored(e: Parameters<KvEventSink['blockStored']>[0]): void {
    this.target?.blockStored(e);
  }
  blockRemoved(e: Parameters<KvEventSink['blockRemoved']>[0]): void {
    this.target?.blockRemoved(e);
  }
  allBlocksCleared(): void {
    this.target?.allBlocksCleared();
  }
}

/** The servers one simulator process runs, and how to stop them. */
export interface SimCluster extends AsyncDisposable {
  readonly servers: readonly SimServer[];
  readonly publishers: readonly KvEventPublisher[];
  /** `http://host:port` of each server. */
  readonly urls: readonly string[];
  close(): Promise<void>;
}

/** The host part other components use to reach this server (the KV-event topic, P/D params). */
export function advertisedHost(options: SimOptions): string {
  if (options.podIp) return options.podIp;
  return options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
}

/**
 * Starts `--data-parallel-size` independent simulated servers on consecutive ports (each with its own
 * engine, metrics and KV-event publisher; ZMQ ports offset by rank as vLLM does). The tokenizer is
 * loaded once and shared.
 */
export async function startSimulator(
  options: SimOptions,
  deps: { logger: Logger; clock?: Clock; tokenizer?: Tokenizer },
): Promise<SimCluster> {
  const { logger } = deps;
  const tokenizer = deps.tokenizer ?? (await loadTokenizer({ model: options.model }));
  const engineSetup = buildEngineSetup(options);
  if (options.enableKvcache && options.hashSeed === undefined) {
    logger.warn('KV events are on but no --hash-seed/PYTHONHASHSEED is set: block hashes are random per process, as in vLLM');
  }
  const servers: SimServer[] = [];
  const publishers: KvEventPublisher[] = [];
  const close = async () => {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(publishers.map((p) => p.close()));
  };
  try {
    for (let rank = 0; rank < options.dataParallelSize; rank++) {
      const sink = new ForwardingSink();
      const server = new SimServer({ options, rank, tokenizer, engineSetup, logger, clock: deps.clock ?? realClock, events: sink });
      servers.push(server);
      const port = await server.listen();
      if (options.enableKvcache) {
        const dp = options.dataParallelSize > 1 ? rank : null;
        const publisher = new KvEventPublisher({
          endpoint: offsetEndpointPort(options.zmqEndpoint, rank),
          topic: options.kvEventsTopic ?? `kv@${advertisedHost(options)}:${port}@${options.servedModelNames[0]}`,
          replayEndpoint: options.kvEventsReplayEndpoint ? offsetEndpointPort(options.kvEventsReplayEndpoint, rank) : null,
          batchSize: options.eventBatchSize,
          format: options.useVllmMapEventFormat ? 'map' : 'array',
          bufferSteps: options.kvEventsBufferSteps,
          dataParallelRank: dp,
          loraId: (name) => server.loras.get(name)?.id ?? null,
          logger: logger.child({ rank }),
        });
        await publisher.start();
        publishers.push(publisher);
        sink.target = publisher;
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  const urls = servers.map((s) => `http://${advertisedHost(options)}:${s.port}`);
  logger.info({ urls, model: options.model, preset: options.preset, latency: options.latencyCalculator }, 'simulator listening');
  return { servers, publishers, urls, close, [Symbol.asyncDispose]: close };
}
