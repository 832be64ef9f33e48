// Settings every project's vitest config starts from.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const workspaceRoot = fileURLToPath(new URL('.', import.meta.url));

/**
 * Base vitest config: resolve workspace packages to their TypeScript source (no build step for
 * tests), node environment, no watch. Each run also writes a JSON report to
 * `.cache/test-results/<name>.json`, which `tools/test-all.sh` sums into its closing line.
 */
export function projectVitestConfig(options: { name: string; include?: string[]; exclude?: string[]; testTimeout?: number }) {
  const reportName = options.name.replace(/^@/, '').replace(/[/]/g, '__');
  return defineConfig({
    resolve: { conditions: ['@llmd/source'] },
    ssr: { resolve: { conditions: ['@llmd/source'] } },
    test: {
      name: options.name,
      environment: 'node',
      include: options.include ?? ['src/**/*.test.ts'],
      exclude: options.exclude ?? ['**/node_modules/**', '**/dist/**'],
      watch: false,
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      pool: 'forks',
      reporters: ['default', 'json'],
      outputFile: { json: `${workspaceRoot}.cache/test-results/${reportName}.json` },
    },
  });
}
