import { defineConfig, mergeConfig } from 'vitest/config';
import { projectVitestConfig } from '../../vitest.shared';

// Integration tests against a real etcd and kube-apiserver: starting one can take a minute on a
// loaded machine, and files run one after another so at most one control plane runs at a time.
export default mergeConfig(
  projectVitestConfig({ name: '@llmd/testing-k8s', testTimeout: 120_000 }),
  defineConfig({ test: { hookTimeout: 240_000, teardownTimeout: 60_000, fileParallelism: false } }),
);
