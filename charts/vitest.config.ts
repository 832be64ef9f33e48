import { defineConfig, mergeConfig } from 'vitest/config';
import { projectVitestConfig } from '../vitest.shared';

// The chart's tests run helm, the project's binaries and a real kube-apiserver; files run one after
// another so a loaded machine runs at most one API server and a few helm processes at a time.
export default mergeConfig(
  projectVitestConfig({ name: '@llmd/charts', include: ['test/**/*.test.ts'], testTimeout: 120_000 }),
  defineConfig({ test: { hookTimeout: 240_000, teardownTimeout: 60_000, fileParallelism: false } }),
);
