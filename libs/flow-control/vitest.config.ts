import { projectVitestConfig } from '../../vitest.shared';

export default projectVitestConfig({ name: '@llmd/flow-control' });
