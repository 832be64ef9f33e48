import { describe, expect, it } from 'vitest';
import { PluginRegistry } from './registry.js';
import { fake } from './test-support/fakes.js';

describe('PluginRegistry', () => {
  it('finds factories by type and by alias, and lists types without aliases', () => {
    const queue = fake('queue-scorer', ['scorer'], { aliases: ['queue-depth-scorer'] });
    const picker = fake('max-score-picker', ['picker']);
    const registry = new PluginRegistry().register(queue, picker);
    expect(registry.get('queue-scorer')).toBe(queue);
    expect(registry.get('queue-depth-scorer')).toBe(queue);
    expect(registry.has('queue-depth-scorer')).toBe(true);
    expect(registry.has('random-picker')).toBe(false);
    expect(registry.get('random-picker')).toBeUndefined();
    expect(registry.types()).toEqual(['max-score-picker', 'queue-scorer']);
  });

  it.each([
    { case: 'same type twice', factories: [fake('a-scorer', []), fake('a-scorer', [])], error: /"a-scorer" is registered twice/ },
    { case: 'alias equal to a type', factories: [fake('a-scorer', []), fake('b-scorer', [], { aliases: ['a-scorer'] })], error: /"a-scorer" is registered twice/ },
    { case: 'type equal to an alias', factories: [fake('b-scorer', [], { aliases: ['old'] }), fake('old', [])], error: /"old" is registered twice \(already taken by "b-scorer"\)/ },
    { case: 'alias equal to its own type', factories: [fake('c-scorer', [], { aliases: ['c-scorer'] })], error: /"c-scorer" lists the same name twice/ },
    { case: 'not kebab-case', factories: [fake('QueueScorer', [])], error: /"QueueScorer": type names are kebab-case/ },
  ])('rejects $case', ({ factories, error }) => {
    expect(() => new PluginRegistry().register(...factories)).toThrow(error);
  });
});
