// The chart README documents every value: each key of values.yaml and of every subchart's
// values.yaml appears in it, itself or through a parent key (`router.epp.resources` covers its
// requests and limits), written out or in a brace group (`router.epp.image.{repository,tag}`).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CHART_DIR } from './test-support/helm.js';

const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');

/** Every key path named in the README, brace groups expanded. */
function documentedPaths(text: string): Set<string> {
  const paths = new Set<string>();
  const prose = text.replace(/^```[\s\S]*?^```/gm, '');
  for (const m of prose.matchAll(/`([^`\n]+)`/g)) {
    for (const token of (m[1] as string).split(/,\s+/)) {
      const group = /^([\w.-]+)\.\{([\w.,-]+)\}$/.exec(token.trim());
      if (group) for (const leaf of (group[2] as string).split(',')) paths.add(`${group[1]}.${leaf}`);
      else paths.add(token.trim());
    }
  }
  return paths;
}

/** Key paths of a values tree down to its leaves (free-form maps and lists are leaves). */
function keyPaths(value: unknown, prefix: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => keyPaths(v, `${prefix}.${k}`));
}

const documented = documentedPaths(readme);
const isDocumented = (path: string) => {
  const parts = path.split('.');
  // The path itself or a parent below the component's name.
  for (let n = parts.length; n >= 2; n--) if (documented.has(parts.slice(0, n).join('.'))) return true;
  return false;
};

const subcharts = readdirSync(join(CHART_DIR, 'charts'));
const values: [string, string[]][] = [
  ['values.yaml', keyPaths((parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as { global: unknown }).global, 'global')],
  ...subcharts.map((name) => [`charts/${name}/values.yaml`, keyPaths(parse(readFileSync(join(CHART_DIR, 'charts', name, 'values.yaml'), 'utf8')), name)] as [string, string[]]),
];

describe('README.md values tables', () => {
  it.each(values)('cover every key of %s', (_file, paths) => {
    expect(paths.length).toBeGreaterThan(1);
    expect(paths.filter((p) => !isDocumented(p))).toEqual([]);
  });

  it('would notice an undocumented key', () => {
    expect(isDocumented('router.epp.noSuchKey')).toBe(false);
    expect(isDocumented('router.epp.image.tag')).toBe(true);
  });

  it('lists every example values file', () => {
    for (const file of readdirSync(join(CHART_DIR, 'examples'))) expect(readme).toContain(`\`${file}\``);
  });
});
