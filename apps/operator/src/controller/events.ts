// Kubernetes Events about a ModelService (core/v1), counted up when the same one repeats.
import { createHash } from 'node:crypto';
import type { Logger } from '@llmd/observability';
import { isConflict, type KubeClient } from '@llmd/k8s';
import { TYPES } from '../kube/types.js';
import type { KubeObject } from '../render/types.js';

/** Records events; never throws (an event that cannot be written is only logged). */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #logger: Logger;
  readonly #instance: string;

  constructor(client: KubeClient, logger: Logger, instance: string) {
    this.#client = client;
    this.#logger = logger;
    this.#instance = instance;
  }

  /** Records an event about `object`; the same reason and message on the same object bumps one event's count. */
  async record(object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const namespace = object.metadata.namespace ?? 'default';
    const digest = createHash('sha256').update(`${object.metadata.uid ?? ''}|${reason}|${message}`).digest('hex').slice(0, 16);
    const name = `${object.metadata.name}.${digest}`;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      try {
        await this.#client.create(TYPES.Event, {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: object.metadata.name,
            namespace,
            uid: object.metadata.uid,
            resourceVersion: object.metadata.resourceVersion,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: 'llmd-operator' },
          reportingComponent: 'llmd-operator',
          reportingInstance: this.#instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        });
      } catch (err) {
        if (!isConflict(err)) throw err;
        const existing = await this.#client.read<KubeObject & { count?: number }>(TYPES.Event, namespace, name);
        await this.#client.mergePatch(TYPES.Event, namespace, name, { count: (existing?.count ?? 1) + 1, lastTimestamp: now });
      }
    } catch (err) {
      this.#logger.warn({ err, reason }, 'could not record an event');
    }
  }
}
