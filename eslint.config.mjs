// Flat ESLint config for the whole workspace; projects extend it from their own eslint.config.mjs.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/** The project's dependency rules between Nx tags. */
function moduleBoundaries({ libsMayUseTesting }) {
  const lib = libsMayUseTesting ? ['type:lib', 'type:testing'] : ['type:lib'];
  return {
    enforceBuildableLibDependency: true,
    allow: [],
    depConstraints: [
      // Apps are leaves: nothing may import an app.
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
      { sourceTag: 'type:lib', onlyDependOnLibsWithTags: lib },
      { sourceTag: 'type:plugin', onlyDependOnLibsWithTags: lib },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
      { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
      // Stable code never reaches into incubating code.
      { sourceTag: 'maturity:stable', onlyDependOnLibsWithTags: ['maturity:stable'] },
      { sourceTag: 'maturity:incubating', onlyDependOnLibsWithTags: ['maturity:stable', 'maturity:incubating'] },
    ],
  };
}

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/node_modules', '**/.cache', '**/vite.config.*.timestamp*', '**/vitest.config.*.timestamp*'],
  },
  {
    files: ["**/src/**/*.ts", "**/bench/**/*.ts", "**/src/**/*.mts", "**/src/**/*.mjs"],
    rules: { '@nx/enforce-module-boundaries': ['error', moduleBoundaries({ libsMayUseTesting: false })] },
  },
  {
    // Tests and their helpers may use the test harnesses of libs/testing; production code may not.
    files: ['**/*.test.ts', '**/test-support/**/*.ts', '**/bench/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', moduleBoundaries({ libsMayUseTesting: true })] },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
];
