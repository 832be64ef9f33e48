import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { KubeApiError, type KubeClient } from './client.js';
import { sleep } from './sleep.js';

/** controller-runtime's defaults. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

/** client-go's jitter factor on the retry period of replicas that are not leading. */
const JITTER = 1.2;

/** An identity unique to this process: the pod (or host) name and a random suffix, as controller-runtime makes it. */
export function leaderIdentity(podName: string | null): string {
  return `${podName || hostname()}_${randomUUID()}`;
}

/** A `coordination.k8s.io/v1` Lease, the fields leader election uses. */
export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
}

/** Options of a {@link LeaderElector}. */
export interface LeaderElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** Written as the holder; unique per process (default: {@link leaderIdentity} of the host name). */
  readonly identity?: string;
  /** How long a lease holds without renewal before another replica may take it (default 15s). */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it steps down (default 10s). */
  readonly renewDeadlineMs?: number;
  /** Pause between attempts (default 2s). */
  readonly retryPeriodMs?: number;
  readonly logger: Logger;
  /** Called when this replica becomes the leader and when it stops being it (also on `stop`). */
  readonly onChange?: (leading: boolean) => void;
  /** Called when this replica becomes the leader. */
  readonly onStartedLeading?: () => void;
  /**
   * Called when this replica stops being the leader: `lost` when it stepped down (renewal failed,
   * another holder), `stopped` when `stop` ended it.
   */
  readonly onStoppedLeading?: (reason: 'lost' | 'stopped') => void;
  /** Monotonic clock in ms (tests inject one). */
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Rejects leader-election timings that cannot work (client-go's checks). */
export function validateLeaseTimings(leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number): void {
  if (!(leaseDurationMs > renewDeadlineMs)) throw new RangeError(`the lease duration (${leaseDurationMs}ms) must be longer than the renew deadline (${renewDeadlineMs}ms)`);
  if (!(renewDeadlineMs > JITTER * retryPeriodMs)) throw new RangeError(`the renew deadline (${renewDeadlineMs}ms) must be longer than ${JITTER} × the retry period (${retryPeriodMs}ms)`);
  if (!(retryPeriodMs >= 1)) throw new RangeError('the retry period must be positive');
  if (leaseDurationMs < 1000) throw new RangeError('the lease duration must be at least 1s (a Lease counts whole seconds)');
}

/** A Lease time: RFC 3339 with microseconds, as `MicroTime` fields require. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's algorithm: a replica takes
 * the lease when it is free, released, or was not renewed for a lease duration as seen on this
 * replica's own clock (no clock comparison across machines); the leader renews every retry period
 * and steps down when it could not renew within the renew deadline or sees another holder. Writes
 * carry the lease's resource version, so two replicas never both win one round. `stop({release})`
 * hands the lease back (upstream's ReleaseOnCancel), so a standby takes over at once on a clean
 * shutdown; after a crash it takes over once the lease has expired.
 */
export class LeaderElector {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly #o: LeaderElectorOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #abort = new AbortController();
  readonly #path: string;
  #leading = false;
  #running: Promise<void> | null = null;
  /** The lease as last read or written, and when (our clock) its content last changed. */
  #observed: Lease | null = null;
  #observedKey = '';
  #observedAt = 0;

  constructor(options: LeaderElectorOptions) {
    this.#o = options;
    this.identity = options.identity ?? leaderIdentity(null);
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    validateLeaseTimings(this.leaseDurationMs, this.renewDeadlineMs, this.retryPeriodMs);
    this.#now = options.now ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger.child({ component: 'leader-election', lease: `${options.namespace}/${options.name}`, identity: this.identity });
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases`;
  }

  /** True while this replica holds the lease. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** Who holds the lease as last seen ('' when free or not read yet). */
  get observedHolder(): string {
    return this.#observed?.spec?.holderIdentity ?? '';
  }

  /** Starts contending (idempotent); returns at once. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops; with `release` (the default) a leader hands the lease back first. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    const wasLeading = this.#leading;
    this.#abort.abort();
    await this.#running;
    if (wasLeading) this.#setLeading(false, 'stopped');
    if (wasLeading && options.release !== false) await this.#release();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      // Contend until the lease is ours.
      while (!signal.aborted && !(await this.#tryAcquireOrRenew())) {
        await sleep(this.retryPeriodMs * (1 + this.#random() * (JITTER - 1)), signal);
      }
      if (signal.aborted) return;
      this.#setLeading(true);
      // Renew; step down when the deadline passes without a renewal, or someone else holds it.
      let lastRenewal = this.#now();
      while (!signal.aborted) {
        await sleep(this.retryPeriodMs, signal);
        if (signal.aborted) return;
        const renewed = await this.#tryAcquireOrRenew();
        if (renewed) {
          lastRenewal = this.#now();
          continue;
        }
        const holder = this.observedHolder;
        if (holder !== '' && holder !== this.identity) {
          this.#logger.warn({ holder }, 'another replica holds the lease; stepping down');
          break;
        }
        if (this.#now() - lastRenewal >= this.renewDeadlineMs) {
          this.#logger.warn({ renewDeadlineMs: this.renewDeadlineMs }, 'could not renew the lease in time; stepping down');
          break;
        }
      }
      if (signal.aborted) return;
      this.#setLeading(false, 'lost');
    }
  }

  #setLeading(leading: boolean, reason: 'lost' | 'stopped' = 'lost'): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    this.#logger.info(leading ? 'became the leader' : 'stopped being the leader');
    try {
      this.#o.onChange?.(leading);
      if (leading) this.#o.onStartedLeading?.();
      else this.#o.onStoppedLeading?.(reason);
    } catch (err) {
      this.#logger.error({ err }, 'leader-election handler threw');
    }
  }

  #observe(lease: Lease): void {
    const s = lease.spec ?? {};
    const key = JSON.stringify([s.holderIdentity ?? '', s.leaseDurationSeconds ?? 0, s.acquireTime ?? '', s.renewTime ?? '', s.leaseTransitions ?? 0]);
    if (key !== this.#observedKey) {
      this.#observedKey = key;
      this.#observedAt = this.#now();
    }
    this.#observed = lease;
  }

  /** One round: create, take over or renew the lease. True when this replica holds it afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, name, namespace } = this.#o;
    const requestSignal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.renewDeadlineMs)]);
    const nowDate = new Date();
    const durationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    let current: Lease;
    try {
      current = await client.request<Lease>('GET', `${this.#path}/${encodeURIComponent(name)}`, { signal: requestSignal });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) {
        this.#logger.warn({ err: (err as Error).message }, 'reading the lease failed');
        return false;
      }
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { holderIdentity: this.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(nowDate), renewTime: microTime(nowDate), leaseTransitions: 0 },
      };
      try {
        this.#observe(await client.request<Lease>('POST', this.#path, { body: lease, signal: requestSignal }));
        return true;
      } catch (createErr) {
        // 409: another replica created it first; the next round reads it.
        if (!(createErr instanceof KubeApiError && createErr.status === 409)) this.#logger.warn({ err: (createErr as Error).message }, 'creating the lease failed');
        return false;
      }
    }
    this.#observe(current);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const leaseMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    const held = holder !== '' && holder !== this.identity && this.#observedAt + leaseMs > this.#now();
    if (held) return false;
    const mine = holder === this.identity;
    const next: Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(nowDate),
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(nowDate),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      this.#observe(await client.request<Lease>('PUT', `${this.#path}/${encodeURIComponent(name)}`, { body: next, signal: requestSignal }));
      if (!mine) this.#logger.info({ previousHolder: holder || null }, 'acquired the lease');
      return true;
    } catch (err) {
      // 409: someone wrote the lease since we read it; they win this round.
      if (!(err instanceof KubeApiError && err.status === 409)) this.#logger.warn({ err: (err as Error).message }, 'updating the lease failed');
      return false;
    }
  }

  /** Hands the lease back: empty holder, 1s duration, so a standby takes it on its next round. */
  async #release(): Promise<void> {
    const { client, name } = this.#o;
    const signal = AbortSignal.timeout(this.renewDeadlineMs);
    try {
      const current = await client.request<Lease>('GET', `${this.#path}/${encodeURIComponent(name)}`, { signal });
      if ((current.spec?.holderIdentity ?? '') !== this.identity) return;
      const now = microTime(new Date());
      await client.request('PUT', `${this.#path}/${encodeURIComponent(name)}`, {
        body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } },
        signal,
      });
      this.#logger.info('released the lease');
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'releasing the lease failed; the other replicas wait for it to expire');
    }
  }
}
