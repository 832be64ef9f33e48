import type { RequestDroppedReason } from '@llmd/api';
import { RouterError } from '@llmd/scheduling';

/**
 * How a request's stay in flow control ended, with upstream's names (they are the `outcome`
 * label of `llm_d_epp_flow_control_request_queue_duration_seconds`).
 */
export type QueueOutcome =
  | 'Dispatched'
  | 'RejectedCapacity'
  | 'RejectedNoEndpoints'
  | 'RejectedOther'
  | 'EvictedTTL'
  | 'EvictedNoEndpoints'
  | 'EvictedContextCancelled'
  | 'EvictedOther';

/** Every outcome, for tests and dashboards. */
export const QUEUE_OUTCOMES: readonly QueueOutcome[] = [
  'Dispatched',
  'RejectedCapacity',
  'RejectedNoEndpoints',
  'RejectedOther',
  'EvictedTTL',
  'EvictedNoEndpoints',
  'EvictedContextCancelled',
  'EvictedOther',
];

/** Why a `RejectedOther` / `EvictedOther` happened: the controller was closed, or something broke. */
export type OtherCause = 'shutting-down' | 'internal';

/**
 * The error a request that was not dispatched is answered with: the one mapping from flow-control
 * outcomes to status codes and `x-llm-d-request-dropped-reason`, as upstream's admission layer
 * maps them. Capacity → 429 `rejected-saturated`; an empty pool → 503 `rejected-no-endpoints`;
 * TTL → 503 `rejected-ttl-expired`; client gone → 503 `rejected-context-cancelled`; shutdown →
 * 503 `rejected-shutting-down`; anything else → 500.
 */
export function flowControlError(outcome: Exclude<QueueOutcome, 'Dispatched'>, detail: string, cause: OtherCause = 'internal'): RouterError {
  const drop = (code: 'ResourceExhausted' | 'ServiceUnavailable', message: string, reason: RequestDroppedReason): RouterError =>
    new RouterError(code, `${message}: ${detail}`, { droppedReason: reason });
  switch (outcome) {
    case 'RejectedCapacity':
      return drop('ResourceExhausted', 'request rejected by flow control', 'rejected-saturated');
    case 'RejectedNoEndpoints':
      return drop('ServiceUnavailable', 'no endpoints available', 'rejected-no-endpoints');
    case 'EvictedNoEndpoints':
      return drop('ServiceUnavailable', 'request timed out in queue and no endpoints are available', 'rejected-no-endpoints');
    case 'EvictedTTL':
      return drop('ServiceUnavailable', 'request timed out in queue', 'rejected-ttl-expired');
    case 'EvictedContextCancelled':
      return drop('ServiceUnavailable', 'client disconnected', 'rejected-context-cancelled');
    case 'RejectedOther':
    case 'EvictedOther':
      if (cause === 'shutting-down') return drop('ServiceUnavailable', 'flow controller shutting down', 'rejected-shutting-down');
      return new RouterError('Internal', `internal flow control error: ${detail}`);
  }
}
