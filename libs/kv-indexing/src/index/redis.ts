// The KV-block index in Redis or Valkey, shared by every indexer replica that points at the same
// server. The schema is upstream llm-d's, so both can read one database:
//   <decimal request key>        HASH, one field per entry: JSON {"PodIdentifier","DeviceTier","Speculative"} → ""
//   engine:<decimal engine key>  ZSET of decimal request keys, scored by the order they were mapped in
// plus a HASH `stats` {blocks, entries} kept by the scripts for metrics. Every write is one Lua script,
// so an eviction's "are these blocks empty now? then drop the engine key" cannot interleave with an
// add (the race upstream fixed in llm-d-kv-cache#232). The scripts name request keys they read from
// an engine key's members, so they need a standalone server, not Redis Cluster.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { assertBlockKeys, forEachKeyPair, isBlockKey } from './block-key.js';
import type { BlockKey, KeyType, KvBlockIndex, PodEntry } from './types.js';

/** Where a {@link RedisKvBlockIndex} keeps its keys and how it reads them. */
export interface RedisKvBlockIndexOptions {
  /** `redis://[user:password@]host:port[/db]`; `rediss://`, `valkey://` and `valkeys://` also work. */
  readonly url: string;
  /** Put before every key name, so several pools or test suites can share one database (default none, as upstream). */
  readonly keyPrefix?: string;
  /** Keys in a lookup's first pipelined round trip; each round that hits every key doubles it (default 64). */
  readonly lookupBatch?: number;
  /** Receives connection errors, which the client retries by itself. */
  readonly logger?: Logger;
}

// KEYS: stats, request keys ×m, engine keys (one per pair). ARGV: m, entry count,
// (confirmed field, speculative field, '1' if speculative) per entry, request-key member per pair.
const ADD = `
local m = tonumber(ARGV[1])
local ne = tonumber(ARGV[2])
local blocks, entries = 0, 0
for i = 2, m + 1 do
  local rk = KEYS[i]
  local existed = redis.call('EXISTS', rk)
  for j = 0, ne - 1 do
    local confirmed, speculative = ARGV[3 + 3 * j], ARGV[4 + 3 * j]
    if ARGV[5 + 3 * j] == '1' then
      if redis.call('HEXISTS', rk, confirmed) == 0 then
        entries = entries + redis.call('HSET', rk, speculative, '')
      end
    else
      entries = entries - redis.call('HDEL', rk, speculative) + redis.call('HSET', rk, confirmed, '')
    end
  end
  if existed == 0 and redis.call('EXISTS', rk) == 1 then blocks = blocks + 1 end
end
local first = 3 + 3 * ne
for i = m + 2, #KEYS do
  local ek, member = KEYS[i], ARGV[first + i - m - 2]
  if not redis.call('ZSCORE', ek, member) then
    redis.call('ZADD', ek, redis.call('ZCARD', ek), member)
  end
end
if blocks ~= 0 then redis.call('HINCRBY', KEYS[1], 'blocks', blocks) end
if entries ~= 0 then redis.call('HINCRBY', KEYS[1], 'entries', entries) end
return 0
`;

// KEYS: stats, request key. ARGV: fields to delete.
const EVICT_REQUEST = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local removed = redis.call('HDEL', KEYS[2], unpack(ARGV))
if removed ~= 0 then redis.call('HINCRBY', KEYS[1], 'entries', -removed) end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('HINCRBY', KEYS[1], 'blocks', -1) end
return removed
`;

// KEYS: stats, engine key. ARGV: key prefix, fields to delete. The engine key goes when none of
// its request keys has an entry left.
const EVICT_ENGINE = `
local members = redis.call('ZRANGE', KEYS[2], 0, -1)
if #members == 0 then return 0 end
local removed, emptied, held = 0, 0, false
for _, member in ipairs(members) do
  local rk = ARGV[1] .. member
  if redis.call('EXISTS', rk) == 1 then
    removed = removed + redis.call('HDEL', rk, unpack(ARGV, 2))
    if redis.call('EXISTS', rk) == 1 then held = true else emptied = emptied + 1 end
  end
end
if not held then redis.call('DEL', KEYS[2]) end
if removed ~= 0 then redis.call('HINCRBY', KEYS[1], 'entries', -removed) end
if emptied ~= 0 then redis.call('HINCRBY', KEYS[1], 'blocks', -emptied) end
return removed
`;

// KEYS: stats, request keys. ARGV: the start every field of the endpoint has ({"PodIdentifier":"<pod>",).
const CLEAR = `
local start = ARGV[1]
local n = #start
local removed, emptied = 0, 0
for i = 2, #KEYS do
  local doomed = {}
  for _, field in ipairs(redis.call('HKEYS', KEYS[i])) do
    if string.sub(field, 1, n) == start then doomed[#doomed + 1] = field end
  end
  if #doomed > 0 then
    removed = removed + redis.call('HDEL', KEYS[i], unpack(doomed))
    if redis.call('EXISTS', KEYS[i]) == 0 then emptied = emptied + 1 end
  end
end
if removed ~= 0 then redis.call('HINCRBY', KEYS[1], 'entries', -removed) end
if emptied ~= 0 then redis.call('HINCRBY', KEYS[1], 'blocks', -emptied) end
return removed
`;

interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SCRIPTS = { add: script(ADD), evictRequest: script(EVICT_REQUEST), evictEngine: script(EVICT_ENGINE), clear: script(CLEAR) };

/** Hash fields of one entry; Go's encoding/json writes the same bytes for these three fields. */
function entryField(pod: string, tier: string, speculative: boolean): string {
  return JSON.stringify({ PodIdentifier: pod, DeviceTier: tier, Speculative: speculative });
}

const DIGITS = /^[0-9]+$/;
/** Parsed hash fields; bounded because it only saves the JSON parse of a few distinct fields. */
const FIELD_CACHE_LIMIT = 4096;
const SCAN_COUNT = 1000;

/**
 * {@link KvBlockIndex} over Redis/Valkey (upstream's RedisIndex schema). Call {@link connect} first.
 * Lookups pipeline HKEYS in growing batches and stop at the first key no endpoint (of the filter) holds.
 */
export class RedisKvBlockIndex implements KvBlockIndex {
  /** The prefix before every key name. */
  readonly keyPrefix: string;
  readonly #client: ReturnType<typeof createClient>;
  readonly #statsKey: string;
  readonly #lookupBatch: number;
  readonly #fields = new Map<string, PodEntry | null>();
  #connected = false;

  /** A client for `url` (or the options); nothing connects until {@link connect}. */
  constructor(options: string | RedisKvBlockIndexOptions) {
    const opts = typeof options === 'string' ? { url: options } : options;
    this.keyPrefix = opts.keyPrefix ?? '';
    this.#statsKey = `${this.keyPrefix}stats`;
    this.#lookupBatch = opts.lookupBatch ?? 64;
    if (!Number.isSafeInteger(this.#lookupBatch) || this.#lookupBatch < 1) throw new RangeError(`lookupBatch must be a positive integer, got ${this.#lookupBatch}`);
    // Valkey speaks the Redis protocol; upstream accepts its URL schemes the same way.
    const url = opts.url.replace(/^valkey(s?):\/\//, 'redis$1://');
    this.#client = createClient({
      url,
      socket: {
        // Fail connect() at once, as upstream's constructor does with its PING; once connected,
        // ride out restarts and network blips with backoff up to 2 s.
        reconnectStrategy: (retries: number, cause: Error) => (this.#connected ? Math.min(50 * 2 ** retries, 2000) : cause),
      },
    });
    this.#client.on('error', (err: unknown) => opts.logger?.warn({ err }, 'redis index connection error'));
  }

  /** Opens the connection and loads the scripts; rejects if the server cannot be reached. */
  async connect(): Promise<void> {
    await this.#client.connect();
    this.#connected = true;
    for (const s of Object.values(SCRIPTS)) await this.#client.sendCommand(['SCRIPT', 'LOAD', s.source]);
  }

  async close(): Promise<void> {
    if (this.#client.isOpen) await this.#client.close();
  }

  async lookup(requestKeys: readonly BlockKey[], pods?: ReadonlySet<string>): Promise<PodEntry[][]> {
    const rows: PodEntry[][] = [];
    let batch = this.#lookupBatch;
    for (let start = 0; start < requestKeys.length; start += batch, batch *= 2) {
      const keys = requestKeys.slice(start, start + batch);
      const valid = keys.findIndex((key) => !isBlockKey(key));
      if (valid >= 0) keys.length = valid;
      // Sent in the same tick, so the client writes them as one pipeline.
      const replies = await Promise.all(keys.map((key) => this.#client.sendCommand<string[]>(['HKEYS', this.#requestKey(key)])));
      for (const fields of replies) {
        const row: PodEntry[] = [];
        for (const field of fields) {
          const entry = this.#parseField(field);
          if (entry && (pods === undefined || pods.has(entry.pod))) row.push(entry);
        }
        if (row.length === 0) return rows;
        rows.push(row);
      }
      if (valid >= 0) break;
    }
    return rows;
  }

  async add(engineKeys: readonly BlockKey[] | null, requestKeys: readonly BlockKey[], entries: readonly PodEntry[]): Promise<void> {
    assertBlockKeys(requestKeys, 'request key');
    if (engineKeys) assertBlockKeys(engineKeys, 'engine key');
    if (entries.length === 0 || requestKeys.length === 0) return;
    const keys = [this.#statsKey, ...requestKeys.map((key) => this.#requestKey(key))];
    const args = [String(requestKeys.length), String(entries.length)];
    for (const { pod, tier, speculative } of entries) {
      args.push(entryField(pod, tier, false), entryField(pod, tier, true), speculative === true ? '1' : '0');
    }
    if (engineKeys) {
      forEachKeyPair(engineKeys.length, requestKeys.length, (e, r) => {
        keys.push(this.#engineKey(engineKeys[e] as bigint));
        args.push((requestKeys[r] as bigint).toString());
      });
    }
    await this.#run(SCRIPTS.add, keys, args);
  }

  async evict(key: BlockKey, keyType: KeyType, entries: readonly PodEntry[]): Promise<void> {
    if (!isBlockKey(key) || entries.length === 0) return;
    // A speculative eviction removes only the guess; a confirmed one removes the entry either way.
    const fields: string[] = [];
    for (const { pod, tier, speculative } of entries) {
      fields.push(entryField(pod, tier, true));
      if (speculative !== true) fields.push(entryField(pod, tier, false));
    }
    if (keyType === 'request') await this.#run(SCRIPTS.evictRequest, [this.#statsKey, this.#requestKey(key)], fields);
    else await this.#run(SCRIPTS.evictEngine, [this.#statsKey, this.#engineKey(key)], [this.keyPrefix, ...fields]);
  }

  async getRequestKey(engineKey: BlockKey): Promise<BlockKey | null> {
    if (!isBlockKey(engineKey)) return null;
    const [last] = await this.#client.sendCommand<string[]>(['ZRANGE', this.#engineKey(engineKey), '-1', '-1']);
    return last !== undefined && DIGITS.test(last) ? BigInt(last) : null;
  }

  /** Scans the request-key hashes under the prefix and deletes the endpoint's fields, one script per page. */
  async clear(pod: string): Promise<void> {
    const start = `{"PodIdentifier":${JSON.stringify(pod)},`;
    const match = `${this.keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.#client.sendCommand<[string, string[]]>(['SCAN', cursor, 'MATCH', match, 'COUNT', String(SCAN_COUNT), 'TYPE', 'hash']);
      cursor = next;
      const mine = keys.filter((k) => DIGITS.test(k.slice(this.keyPrefix.length)));
      if (mine.length > 0) await this.#run(SCRIPTS.clear, [this.#statsKey, ...mine], [start]);
    } while (cursor !== '0');
  }

  /** Kept by the scripts, so shared by every client of the database; off if keys are changed behind their back. */
  async stats(): Promise<{ blocks: number; entries: number }> {
    const [blocks, entries] = await this.#client.sendCommand<(string | null)[]>(['HMGET', this.#statsKey, 'blocks', 'entries']);
    return { blocks: Number(blocks ?? 0), entries: Number(entries ?? 0) };
  }

  #requestKey(key: BlockKey): string {
    return `${this.keyPrefix}${key.toString()}`;
  }

  #engineKey(key: BlockKey): string {
    return `${this.keyPrefix}engine:${key.toString()}`;
  }

  #parseField(field: string): PodEntry | null {
    let entry = this.#fields.get(field);
    if (entry !== undefined) return entry;
    entry = null;
    try {
      const raw = JSON.parse(field) as { PodIdentifier?: unknown; DeviceTier?: unknown; Speculative?: unknown };
      if (typeof raw.PodIdentifier === 'string' && typeof raw.DeviceTier === 'string') {
        entry = Object.freeze(raw.Speculative === true ? { pod: raw.PodIdentifier, tier: raw.DeviceTier, speculative: true } : { pod: raw.PodIdentifier, tier: raw.DeviceTier });
      }
    } catch {
      // Not an entry this schema knows (another writer's format): not an endpoint.
    }
    if (this.#fields.size >= FIELD_CACHE_LIMIT) this.#fields.clear();
    this.#fields.set(field, entry);
    return entry;
  }

  /** EVALSHA, loading the script again if the server lost it (restart, SCRIPT FLUSH). */
  async #run(s: Script, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.#client.sendCommand(['EVALSHA', s.sha, ...tail]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await this.#client.sendCommand(['EVAL', s.source, ...tail]);
    }
  }
}
