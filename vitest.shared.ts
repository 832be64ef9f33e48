// Settings every project's vitest config starts from.
import { defineConfig } from 'vitest/config';

/** Base vitest config: resolve workspace packages to their TypeScript source, no watch, node env. */
export function projectVitestConfig(options: { name: string; include?: string[]; testTimeout?: number }) {
  return defineConfig({
    resolve: { conditions: ['@llmd/source'] },
    ssr: { resolve: { conditions: ['@llmd/source'] } },
    test: {
      name: options.name,
      environment: 'node',
      include: options.include ?? ['src/**/*.test.ts'],
      watch: false,
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      pool: 'forks',
      reporters: process.env.CI ? ['default'] : ['default'],
    },
  });
}
