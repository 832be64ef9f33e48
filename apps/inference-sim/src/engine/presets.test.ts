import { describe, expect, it } from 'vitest';
import { EngineOptionsError } from './errors.js';
import { DEFAULT_PRESET, PRESETS, derivedNumGpuBlocks, getPreset, kvBytesPerToken } from './presets.js';

describe('presets', () => {
  it('lists the default first, with unique names, a description and sources each', () => {
    expect(PRESETS[0]?.name).toBe(DEFAULT_PRESET);
    expect(new Set(PRESETS.map((p) => p.name)).size).toBe(PRESETS.length);
    for (const p of PRESETS) {
      expect(p.description.length).toBeGreaterThan(10);
      expect(p.description).not.toContain('\n');
      expect(p.sources.length).toBeGreaterThan(0);
      expect(p.linearCoefficientsUs).toHaveLength(3);
    }
  });

  it.each([
    ['llama-3.1-8b/h100', 131_072],
    ['qwen3-0.6b/h100', 114_688],
    ['qwen3-8b/h100', 147_456],
    ['qwen3-32b/h100-tp2', 262_144],
  ])('%s stores %i KV bytes per token (engine-model.md §3.1)', (name, bytes) => {
    expect(kvBytesPerToken(getPreset(name))).toBe(bytes);
  });

  // KV capacity at 0.9 utilization against the ranges derived in engine-model.md §3.2.
  it.each([
    ['llama-3.1-8b/h100', 410_000, 449_000],
    ['qwen3-0.6b/h100', 600_000, 640_000],
    ['qwen3-8b/h100', 360_000, 397_000],
    ['qwen3-32b/h100-tp2', 284_000, 316_000],
  ])('%s derives a KV cache of %i–%i tokens', (name, lo, hi) => {
    const tokens = derivedNumGpuBlocks(name, 16, 0.9) * 16;
    expect(tokens).toBeGreaterThanOrEqual(lo);
    expect(tokens).toBeLessThanOrEqual(hi);
  });

  it('grows with memory utilization and keeps the token capacity across block sizes', () => {
    const p = getPreset(DEFAULT_PRESET);
    expect(derivedNumGpuBlocks(p, 16, 0.95)).toBeGreaterThan(derivedNumGpuBlocks(p, 16, 0.9));
    const at16 = derivedNumGpuBlocks(p, 16, 0.9) * 16;
    const at64 = derivedNumGpuBlocks(p, 64, 0.9) * 64;
    expect(Math.abs(at16 - at64)).toBeLessThan(64);
  });

  it.each([
    [() => derivedNumGpuBlocks(DEFAULT_PRESET, 16, 0), 'gpuMemoryUtilization'],
    [() => derivedNumGpuBlocks(DEFAULT_PRESET, 16, 0.2), 'gpuMemoryUtilization'],
    [() => derivedNumGpuBlocks(DEFAULT_PRESET, 0, 0.9), 'blockSize'],
    [() => getPreset('gpt-5/tpu'), 'latency.preset'],
  ])('rejects bad input naming the option (%#)', (fn, option) => {
    try {
      fn();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(EngineOptionsError);
      expect((err as EngineOptionsError).option).toBe(option);
    }
  });

  it('names the known presets when one is unknown', () => {
    expect(() => getPreset('nope')).toThrow(/known: llama-3\.1-8b\/h100, qwen3-0\.6b\/h100/);
  });
});
