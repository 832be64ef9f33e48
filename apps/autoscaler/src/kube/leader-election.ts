// Leader election on a coordination.k8s.io/v1 Lease (client-go's algorithm): only the leader
// reconciles and scales; standbys take over when the lease has not been renewed for its duration.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { KubeApiError, type KubeClient } from './client.js';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** Options of a {@link LeaderElector}. */
export interface LeaderElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly logger: Logger;
  /** Called when leadership is gained (true) or lost (false). */
  readonly onChange: (leading: boolean) => void;
}

const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** Campaigns for a Lease until stopped. */
export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly identity = `${hostname()}_${randomUUID()}`;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  // What this replica last saw of someone else's lease, on its own clock.
  #observed: { renewTime: string | undefined; holder: string | null | undefined; at: number } | undefined;
  #lastRenew = 0;

  constructor(options: LeaderElectorOptions) {
    this.#o = options;
  }

  /** Whether this replica leads now. */
  get leading(): boolean {
    return this.#leading;
  }

  /** Starts campaigning. */
  start(): void {
    const loop = async () => {
      if (this.#stopped) return;
      await this.#round().catch((err: Error) => this.#o.logger.warn({ err: err.message }, 'leader election round failed'));
      if (this.#leading && Date.now() - this.#lastRenew > this.#o.renewDeadlineMs) this.#setLeading(false);
      if (!this.#stopped) this.#timer = setTimeout(() => void loop(), this.#o.retryPeriodMs);
    };
    void loop();
  }

  /** Stops campaigning; a leader releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#setLeading(false);
    try {
      const lease = await this.#get();
      if (lease?.spec?.holderIdentity === this.identity) {
        await this.#o.client.request('PUT', this.#path(), { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1 } });
      }
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message }, 'could not release the lease');
    }
  }

  #path(withName = true): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#o.namespace)}/leases`;
    return withName ? `${base}/${encodeURIComponent(this.#o.name)}` : base;
  }

  async #get(): Promise<Lease | null> {
    try {
      return await this.#o.client.request<Lease>('GET', this.#path());
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    this.#o.logger.info({ lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.identity }, leading ? 'became the leader' : 'stopped leading');
    this.#o.onChange(leading);
  }

  async #round(): Promise<void> {
    const now = new Date();
    const spec = { holderIdentity: this.identity, leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000), renewTime: microTime(now) };
    const lease = await this.#get();
    if (lease === null) {
      await this.#o.client.request('POST', this.#path(false), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#o.name, namespace: this.#o.namespace },
        spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
      });
      this.#lastRenew = Date.now();
      this.#setLeading(true);
      return;
    }
    const holder = lease.spec?.holderIdentity;
    if (holder === this.identity) {
      await this.#o.client.request('PUT', this.#path(), { ...lease, spec: { ...lease.spec, ...spec } });
      this.#lastRenew = Date.now();
      this.#setLeading(true);
      return;
    }
    this.#setLeading(false);
    const seen = this.#observed;
    if (!seen || seen.renewTime !== lease.spec?.renewTime || seen.holder !== holder) {
      this.#observed = { renewTime: lease.spec?.renewTime, holder, at: Date.now() };
    }
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    const expired = !holder || Date.now() - (this.#observed?.at ?? Date.now()) > durationMs;
    if (!expired) return;
    try {
      await this.#o.client.request('PUT', this.#path(), {
        ...lease,
        spec: { ...lease.spec, ...spec, acquireTime: microTime(now), leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 },
      });
      this.#lastRenew = Date.now();
      this.#setLeading(true);
    } catch (err) {
      // Another replica won this round (409 Conflict on the resource version).
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    }
  }
}
