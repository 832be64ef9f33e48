// Test helpers shared by the P/D handler tests: decode/prefill profiles over role-labelled
// endpoints, run through the real Scheduler loop.
import type { Endpoint, Filter, Picker, SchedulerProfile } from '@llmd/scheduling';
import { endpoint } from '../../test-support/fixtures.js';

/** The role label the P/D filters read. */
export const ROLE = 'llm-d.ai/role';

const firstPicker: Picker = { type: 'first-picker', name: 'first', pick: (_ctx, scored) => ({ targets: scored.slice(0, 1).map((s) => s.endpoint) }) };

/** A profile keeping the endpoints labelled `role`, and counting how often it ran. */
export interface CountingProfile extends SchedulerProfile {
  readonly runs: () => number;
}

/** A profile that keeps endpoints whose role label is `role` and picks the first. */
export function roleProfile(name: string, role: string): CountingProfile {
  let runs = 0;
  const filter: Filter = {
    type: 'role-filter',
    name: `${name}-filter`,
    filter: (_ctx, _req, endpoints) => {
      runs++;
      return endpoints.filter((e) => e.metadata.labels[ROLE] === role);
    },
  };
  return { name, filters: [filter], scorers: [], picker: firstPicker, runs: () => runs };
}

/** `decode` and `prefill` profiles over role labels. */
export function pdProfiles(): { decode: CountingProfile; prefill: CountingProfile; profiles: Map<string, SchedulerProfile> } {
  const decode = roleProfile('decode', 'decode');
  const prefill = roleProfile('prefill', 'prefill');
  return { decode, prefill, profiles: new Map<string, SchedulerProfile>([['decode', decode], ['prefill', prefill]]) };
}

/** An endpoint with a P/D role label. */
export function roleEndpoint(role: string, address: string): Endpoint {
  return endpoint({ name: `${role}-${address.replaceAll('.', '-')}`, address, port: 8000, labels: { [ROLE]: role } });
}
