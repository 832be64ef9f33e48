// The chart's full output for the defaults and every example, compared with golden files in
// test/golden/. After an intended change, regenerate them and review the diff:
//   UPDATE_GOLDEN=1 pnpm nx test charts
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, examplePath, renderText } from './test-support/helm.js';

const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));
const update = process.env['UPDATE_GOLDEN'] === '1';

const cases: [string, string[]][] = [['default-values.yaml', []], ...EXAMPLES.map((name) => [name, [examplePath(name)]] as [string, string[]])];

describe('golden output (release llm-d, namespace inference)', () => {
  it.each(cases)('%s', (golden, values) => {
    const path = `${GOLDEN_DIR}${golden}`;
    const rendered = renderText({ values, releaseName: 'llm-d', namespace: 'inference' });
    if (update) writeFileSync(path, rendered);
    expect(existsSync(path), `${path} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(rendered, `${golden} differs from the golden file: review, then run with UPDATE_GOLDEN=1`).toBe(readFileSync(path, 'utf8'));
  });
});
