import { projectVitestConfig } from '../../vitest.shared';

export default projectVitestConfig({ name: '@llmd/pd-sidecar' });
