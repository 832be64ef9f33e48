import { describe, expect, it } from 'vitest';
import { FeatureGateError, FeatureGates } from './registry.js';
import { FLOW_CONTROL_GATE, ROUTER_FEATURE_GATES } from './router-gates.js';

const gates = () =>
  new FeatureGates([
    { name: 'flowControl', default: false, maturity: 'beta', description: 'queue requests in the router' },
    { name: 'prefixCache', default: true, maturity: 'stable', description: 'prefix cache' },
    { name: 'experimentalThing', default: false, maturity: 'experimental', description: 'incubating' },
  ]);

describe('FeatureGates', () => {
  it('uses defaults until told otherwise', () => {
    const g = gates();
    expect(g.enabled('flowControl')).toBe(false);
    expect(g.enabled('prefixCache')).toBe(true);
    expect(g.enabled('experimentalThing')).toBe(false);
    expect(g.enabledNames()).toEqual(['prefixCache']);
  });

  it.each([
    ['list form', ['flowControl', 'experimentalThing']],
    ['map form', { flowControl: true, experimentalThing: true }],
    ['string form', 'flowControl=true, experimentalThing'],
  ])('applies the %s', (_label, settings) => {
    const g = gates().apply(settings as never);
    expect(g.enabled('flowControl')).toBe(true);
    expect(g.enabled('experimentalThing')).toBe(true);
  });

  it('turns a default-on gate off', () => {
    expect(gates().apply('prefixCache=false').enabled('prefixCache')).toBe(false);
  });

  it('rejects an unknown gate and names it with its source', () => {
    expect(() => gates().apply(['flowControll'], '--feature-gates')).toThrowError(
      /--feature-gates\.flowControll: unknown feature gate \(known: experimentalThing, flowControl, prefixCache\)/,
    );
  });

  it('rejects a malformed value', () => {
    expect(() => gates().apply('flowControl=yes')).toThrowError(FeatureGateError);
  });

  it('keeps experimental components unreachable while their gate is off', () => {
    const g = gates();
    expect(() => g.require('experimentalThing', 'the thing')).toThrowError(/the thing is behind the "experimentalThing" feature gate/);
    g.apply(['experimentalThing']);
    expect(() => g.require('experimentalThing')).not.toThrow();
  });

  it.each([
    [{ name: 'shinyThing', default: false, maturity: 'experimental' as const }, /must have "experimental" in its name/],
    [{ name: 'experimentalOn', default: true, maturity: 'experimental' as const }, /must be off by default/],
    [{ name: 'bad name', default: false, maturity: 'beta' as const }, /letters, digits and dashes/],
  ])('refuses to declare %j', (spec, message) => {
    expect(() => new FeatureGates([{ ...spec, description: '' }])).toThrowError(message);
  });

  it('refuses to answer for an undeclared gate', () => {
    expect(() => gates().enabled('nope')).toThrowError(/never declared/);
  });
});

describe('ROUTER_FEATURE_GATES', () => {
  it('declares flowControl (off) and haPopulateNonLeaderDatastore (on) under their upstream names', () => {
    const g = new FeatureGates(ROUTER_FEATURE_GATES);
    expect(g.list().map((s) => [s.name, s.default, s.maturity])).toEqual([
      [FLOW_CONTROL_GATE, false, 'beta'],
      ['haPopulateNonLeaderDatastore', true, 'beta'],
    ]);
    expect(g.apply(['flowControl']).enabled(FLOW_CONTROL_GATE)).toBe(true);
  });
});
