// Leader election on a coordination.k8s.io/v1 Lease, in the manner of client-go: a lease is
// free when its holder is empty or its record has not changed for leaseDuration as observed by
// this process's own clock (so clocks of different hosts need not agree).
import type { Logger } from '@llmd/observability';
import type { KubeObject } from '../render/types.js';
import { isConflict, isNotFound, type KubeClient } from '../kube/client.js';
import { TYPES } from '../kube/types.js';

/** Options of {@link LeaderElector}. */
export interface LeaderElectionOptions {
  namespace: string;
  /** Lease name. */
  name: string;
  /** This process's identity, written as the holder. */
  identity: string;
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leadership. */
  renewDeadlineMs: number;
  /** Pause between attempts. */
  retryPeriodMs: number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

/** Lease times in the MicroTime format the API server expects. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Holds (or waits for) a Lease; calls back when leadership starts and when it is lost. */
export class LeaderElector {
  readonly #client: KubeClient;
  readonly #options: LeaderElectionOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  #leader = false;
  #observed: { record: string; at: number } | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(client: KubeClient, options: LeaderElectionOptions, logger: Logger, now: () => number = Date.now) {
    this.#client = client;
    this.#options = options;
    this.#logger = logger.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    this.#now = now;
  }

  /** Whether this process holds the lease. */
  get isLeader(): boolean {
    return this.#leader;
  }

  /**
   * Campaigns until leading, then renews until stopped or renewal fails for renewDeadline.
   * `onStarted` runs when leadership begins, `onStopped` when it ends for any reason but stop().
   */
  start(callbacks: { onStarted: () => void; onStopped: () => void }): void {
    this.#loop ??= this.#run(callbacks);
  }

  /** Stops campaigning; a leader hands the lease back so another replica can take it at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    if (this.#leader) {
      this.#leader = false;
      try {
        const lease = (await this.#client.get(TYPES.Lease, this.#options.namespace, this.#options.name)) as Lease | undefined;
        if (lease?.spec?.holderIdentity === this.#options.identity) {
          const now = microTime(this.#now());
          await this.#client.replace(TYPES.Lease, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } });
        }
      } catch (err) {
        this.#logger.warn({ err }, 'could not release the lease');
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopped) return resolve();
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  async #run(callbacks: { onStarted: () => void; onStopped: () => void }): Promise<void> {
    // Campaign.
    while (!this.#stopped && !(await this.#tryAcquireOrRenew())) await this.#sleep(this.#options.retryPeriodMs);
    if (this.#stopped) return;
    this.#leader = true;
    this.#logger.info('became leader');
    callbacks.onStarted();
    // Renew.
    let lastRenew = this.#now();
    while (!this.#stopped) {
      await this.#sleep(this.#options.retryPeriodMs);
      if (this.#stopped) return;
      if (await this.#tryAcquireOrRenew()) {
        lastRenew = this.#now();
        continue;
      }
      if (this.#now() - lastRenew >= this.#options.renewDeadlineMs) {
        this.#leader = false;
        this.#logger.warn('could not renew the lease in time; leadership lost');
        callbacks.onStopped();
        return;
      }
    }
  }

  /** One attempt: true when this process holds the lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#options;
    const nowMs = this.#now();
    const now = microTime(nowMs);
    const durationSeconds = Math.max(1, Math.ceil(this.#options.leaseDurationMs / 1000));
    try {
      const lease = (await this.#client.get(TYPES.Lease, namespace, name)) as Lease | undefined;
      if (!lease) {
        await this.#client.create(TYPES.Lease, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        });
        this.#observed = undefined;
        return true;
      }
      const spec = lease.spec ?? {};
      const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
      if (this.#observed?.record !== record) this.#observed = { record, at: nowMs };
      const holder = spec.holderIdentity ?? '';
      const heldByOther = holder !== '' && holder !== identity;
      const expired = nowMs - this.#observed.at >= (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (heldByOther && !expired) return false;
      const next: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: holder === identity ? (spec.acquireTime ?? now) : now,
        renewTime: now,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
      };
      await this.#client.replace(TYPES.Lease, { ...lease, spec: next });
      return true;
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return false;
      this.#logger.warn({ err }, 'lease attempt failed');
      return false;
    }
  }
}
