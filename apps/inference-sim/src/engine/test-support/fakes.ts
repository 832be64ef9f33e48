// Deterministic stand-ins for the engine's collaborators, shared by the engine tests.
import { createHash } from 'node:crypto';
import type {
  BlockHasher,
  EngineRequest,
  KvBlockRemoved,
  KvBlockStored,
  KvEventSink,
  RequestObserver,
  RequestOutcome,
} from '../contracts.js';

/** sha256 over a JSON rendering of (parent, tokens, extra keys); the event hash is the first 8 bytes. */
export const jsonHasher: BlockHasher = {
  hashBlock(parent, tokens, extraKeys) {
    const parentHex = parent ? Buffer.from(parent).toString('hex') : null;
    return new Uint8Array(createHash('sha256').update(JSON.stringify([parentHex, Array.from(tokens), extraKeys])).digest());
  },
  eventHash(digest) {
    return Buffer.from(digest).readBigUInt64BE(0);
  },
};

/** One recorded KV event. */
export type RecordedEvent =
  | ({ type: 'stored' } & KvBlockStored)
  | ({ type: 'removed' } & KvBlockRemoved)
  | { type: 'cleared' };

/** A sink that keeps every event, and the set of hashes an indexer fed by them would hold. */
export class RecordingSink implements KvEventSink {
  readonly events: RecordedEvent[] = [];
  readonly indexed = new Set<bigint>();

  blockStored(e: KvBlockStored): void {
    this.events.push({ type: 'stored', ...e });
    for (const h of e.blockHashes) this.indexed.add(h);
  }

  blockRemoved(e: KvBlockRemoved): void {
    this.events.push({ type: 'removed', ...e });
    for (const h of e.blockHashes) this.indexed.delete(h);
  }

  allBlocksCleared(): void {
    this.events.push({ type: 'cleared' });
    this.indexed.clear();
  }

  /** Events of one type. */
  ofType<T extends RecordedEvent['type']>(type: T): Extract<RecordedEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<RecordedEvent, { type: T }> => e.type === type);
  }
}

/** Records one request's callbacks and fails loudly on a second onFinished or tokens after it. */
export class RecordingObserver implements RequestObserver {
  readonly tokenTimes: number[] = [];
  outcome: RequestOutcome | null = null;
  finishCalls = 0;
  /** Optional hook run inside onTokens (to test re-entrant calls into the engine). */
  onTokensHook: ((count: number, atMs: number) => void) | null = null;

  onTokens(count: number, atMs: number): void {
    if (this.outcome) throw new Error('onTokens after onFinished');
    for (let i = 0; i < count; i++) this.tokenTimes.push(atMs);
    this.onTokensHook?.(count, atMs);
  }

  onFinished(r: RequestOutcome): void {
    this.finishCalls++;
    if (this.outcome) throw new Error('onFinished called twice');
    this.outcome = r;
  }

  /** Gaps between consecutive tokens. */
  gaps(): number[] {
    return this.tokenTimes.slice(1).map((t, i) => t - (this.tokenTimes[i] as number));
  }
}

/** The value, or a test failure when it is missing. */
export function must<T>(value: T | null | undefined, what = 'value'): T {
  if (value === null || value === undefined) throw new Error(`expected a ${what}`);
  return value;
}

/** The seeded uniform generator the simulator uses for `--seed` (mulberry32). */
export { seededRandom } from '@llmd/cli';

let nextBase = 1;

/**
 * Builds a request with defaults for everything the test does not care about. A token count
 * instead of ids gives tokens no other request shares, so prefix hits happen only on purpose.
 */
export function request(
  id: string,
  prompt: readonly number[] | number,
  output: readonly number[] | number,
  extra: Partial<EngineRequest> = {},
): EngineRequest {
  const seq = (n: number) => {
    const from = nextBase++ * 100_000;
    return Array.from({ length: n }, (_, i) => from + i);
  };
  return {
    id,
    promptTokenIds: typeof prompt === 'number' ? seq(prompt) : prompt,
    outputTokenIds: typeof output === 'number' ? seq(output) : output,
    loraName: null,
    cacheSalt: null,
    priority: 0,
    pd: null,
    ...extra,
  };
}
