// zod field types shared by the ConfigMap schemas: YAML gives numbers and booleans, but a value
// written in quotes ("0.8", "true") is accepted too, as upstream's Go parsers accept both.
import { parseDurationMs } from '@llmd/cli';
import { z } from 'zod';

const NUMBER_TEXT = /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/;

/** A finite number, or a string holding one. */
export const numberField = z.union([
  z.number().refine(Number.isFinite, 'expected a finite number'),
  z.string().regex(NUMBER_TEXT, 'expected a number').transform(Number),
]);

/** A number within [min, max] (`exclusiveMin` makes the lower bound open). */
export function boundedNumber(min: number, max: number, exclusiveMin = false) {
  const range = `${exclusiveMin ? '(' : '['}${min}, ${max === Infinity ? '∞)' : `${max}]`}`;
  return numberField.refine((v) => (exclusiveMin ? v > min : v >= min) && v <= max, `expected a number in ${range}`);
}

/** A boolean, or the strings "true"/"false". */
export const boolField = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
  error: 'expected true or false',
});

/** A duration in milliseconds: a Go-style string ("10m", "90s", "1h30m") or a number of seconds. */
export const durationField = z.unknown().transform((v, ctx) => {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v === 'string') {
    const text = v.trim();
    try {
      return parseDurationMs(/^\d+(\.\d+)?$/.test(text) ? `${text}s` : text, 'duration');
    } catch {
      // Reported below.
    }
  }
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a duration (use e.g. "10m", "90s", "1h")` });
  return z.NEVER;
});
