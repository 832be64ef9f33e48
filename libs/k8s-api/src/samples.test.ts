import { describe, expect, it } from 'vitest';
import type { Schema } from './schema/dsl.js';
import { CASES } from './test-support/samples.js';
import { ruleAgreement, validateAsApiServer, validateWithZod } from './test-support/validate.js';

describe('zod and the CRD schema agree on sample objects', () => {
  it.each(CASES.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    const byZod = validateWithZod(c.schema, c.object);
    const byServer = validateAsApiServer(c.schema, c.object);
    if (c.invalid === undefined) {
      expect(byZod.messages, 'zod').toEqual([]);
      expect(byServer.messages, 'API server').toEqual([]);
    } else {
      expect(byZod.ok, 'zod rejects it').toBe(false);
      expect(byServer.ok, 'API server rejects it').toBe(false);
      expect(byZod.fields, `zod names ${c.invalid}: ${byZod.messages.join('; ')}`).toContain(c.invalid);
      expect(byServer.fields, `API server names ${c.invalid}: ${byServer.messages.join('; ')}`).toContain(c.invalid);
    }
  });
});

describe('every CEL rule and its TypeScript twin give the same answer', () => {
  it.each(CASES.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    for (const r of ruleAgreement(c.schema, c.object)) expect(r.ts, r.rule).toBe(r.cel);
  });

  it('the samples exercise every CEL rule both ways', () => {
    const seen = new Map<string, Set<boolean>>();
    for (const c of CASES) for (const r of ruleAgreement(c.schema, c.object)) seen.set(r.rule, (seen.get(r.rule) ?? new Set()).add(r.cel));
    const all = new Set<string>();
    const walk = (s: Schema) => {
      for (const r of s.rules) all.add(r.rule);
      Object.values(s.children).forEach(walk);
    };
    for (const c of CASES) walk(c.schema);
    for (const rule of all) expect([...(seen.get(rule) ?? [])].sort(), rule).toEqual([false, true]);
  });
});
