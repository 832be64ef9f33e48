// Unit tests, plus the integration tests (*.k8s.test.ts) against a real API server in their own
// project: longer timeouts, one file at a time.
import { defineConfig, mergeConfig } from 'vitest/config';
import { projectVitestConfig } from '../../vitest.shared';

const k8sTests = ['src/**/*.k8s.test.ts'];

export default mergeConfig(
  projectVitestConfig({ name: '@llmd/k8s' }),
  defineConfig({
    test: {
      projects: [
        projectVitestConfig({ name: '@llmd/k8s', exclude: ['**/node_modules/**', '**/dist/**', ...k8sTests] }),
        mergeConfig(
          projectVitestConfig({ name: '@llmd/k8s:k8s', include: k8sTests, testTimeout: 120_000 }),
          defineConfig({ test: { hookTimeout: 240_000, fileParallelism: false } }),
        ),
      ],
    },
  }),
);
