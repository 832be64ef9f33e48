// Unit tests, plus the integration tests (src/integration) that start real servers — Prometheus,
// simulated model servers, the router, a kube-apiserver — in their own project: longer timeouts,
// one file at a time so a 2-core machine is not asked to run two clusters at once.
import { defineConfig, mergeConfig } from 'vitest/config';
import { projectVitestConfig } from '../../vitest.shared';

const integration = ['src/integration/**/*.test.ts'];

export default mergeConfig(
  projectVitestConfig({ name: '@llmd/autoscaler' }),
  defineConfig({
    test: {
      projects: [
        projectVitestConfig({ name: '@llmd/autoscaler', exclude: ['**/node_modules/**', '**/dist/**', ...integration] }),
        mergeConfig(
          projectVitestConfig({ name: '@llmd/autoscaler:integration', include: integration, testTimeout: 240_000 }),
          defineConfig({ test: { hookTimeout: 240_000, fileParallelism: false } }),
        ),
      ],
    },
  }),
);
