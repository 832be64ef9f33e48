import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const dirs = (p: string) => readdirSync(join(root, p)).filter((d) => statSync(join(root, p, d)).isDirectory());
const apps = dirs('apps');

describe('container images', () => {
  const withDockerfile = apps.filter((a) => existsSync(join(root, 'apps', a, 'Dockerfile')));

  it('exist for every app', () => {
    expect(withDockerfile.sort()).toEqual([...apps].sort());
  });

  it.each(withDockerfile)('apps/%s/Dockerfile builds its own package on Node 24 and runs its entry point as a non-root user', (app) => {
    const dockerfile = read(`apps/${app}/Dockerfile`);
    const pkg = JSON.parse(read(`apps/${app}/package.json`)) as { name: string; main: string; nx: { name: string } };
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^node:24[-.]/);
    expect(dockerfile).toContain('pnpm install --frozen-lockfile');
    expect(dockerfile).toContain(`pnpm nx build ${pkg.nx.name}`);
    expect(dockerfile).toContain(`--filter ${pkg.name} deploy`);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain(`ENTRYPOINT ["node", "/app/${pkg.main.replace(/^\.\//, '')}"]`);
    expect(dockerfile).not.toMatch(/:latest\b/);
  });
});

describe('ownership', () => {
  it.each(['OWNERS', 'OWNERS_ALIASES', ...apps.map((a) => `apps/${a}/OWNERS`), 'libs/OWNERS', 'tools/OWNERS', 'docs/OWNERS', 'charts/OWNERS', 'incubation/OWNERS'])('%s exists and names approvers', (file) => {
    expect(existsSync(join(root, file)), file).toBe(true);
    if (file !== 'OWNERS_ALIASES') expect(read(file)).toMatch(/^approvers:/m);
  });

  it('only names aliases that OWNERS_ALIASES defines', () => {
    const aliases = new Set([...read('OWNERS_ALIASES').matchAll(/^ {2}([a-z0-9-]+):/gm)].map((m) => m[1]));
    const files = ['OWNERS', ...apps.map((a) => `apps/${a}/OWNERS`), 'libs/OWNERS', 'tools/OWNERS', 'docs/OWNERS', 'charts/OWNERS', 'incubation/OWNERS'];
    for (const file of files) {
      for (const m of read(file).matchAll(/^\s*-\s*([a-z0-9-]+)\s*$/gm)) expect(aliases.has(m[1]), `${file}: ${m[1]}`).toBe(true);
    }
  });
});

describe('plugins', () => {
  const pluginDirs = dirs('libs/scheduling-plugins/src').filter((d) => existsSync(join(root, 'libs/scheduling-plugins/src', d, 'plugin.ts')));

  it.each(pluginDirs)('%s has tests and a README', (dir) => {
    const base = `libs/scheduling-plugins/src/${dir}`;
    expect(existsSync(join(root, base, 'README.md'))).toBe(true);
    expect(readdirSync(join(root, base)).some((f) => f.endsWith('.test.ts'))).toBe(true);
  });
});

describe('README and CI', () => {
  it('gives exactly the two set-up commands, and .ci/run runs the test one', () => {
    const readme = read('README.md');
    const block = /## Two commands[\s\S]*?```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = block.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    expect(commands).toEqual(['bash tools/local-stack.sh', 'bash tools/test-all.sh']);
    expect(read('.ci/run')).toMatch(/^exec bash tools\/test-all\.sh$/m);
  });

  it('never lets Nx talk to a cloud service', () => {
    expect(JSON.parse(read('nx.json')).neverConnectToCloud).toBe(true);
  });
});
