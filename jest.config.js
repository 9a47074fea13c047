// Test layers by suffix (STYLE.md habit 9): each project runs alone with `--selectProjects`.
// TypeScript is compiled by @swc/jest (types are checked by `tsc -b` separately); workspace
// imports map to their sources so unit and integration tests need no build step.
/** @type {import('jest').Config} */
const common = {
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
    ],
  },
  // @kubernetes/client-node and its helpers ship ESM only; let swc turn them into CommonJS for jest.
  transformIgnorePatterns: [
    '/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose|hpagent)/)',
  ],
  moduleNameMapper: {
    '^@orderflow/([^/]+)$': [
      '<rootDir>/packages/$1/src/index.ts',
      '<rootDir>/services/$1/src/index.ts',
      '<rootDir>/tools/$1/src/index.ts',
      '<rootDir>/$1/src/index.ts',
    ],
  },
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/.run/', '<rootDir>/.tools/', '<rootDir>/.tmp/', '/dist/'],
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/.run/',
    '<rootDir>/.tools/',
    '<rootDir>/.tmp/',
    '/dist/',
  ],
};
module.exports = {
  transform: common.transform,
  // One PostgreSQL for the whole run; test files create their own databases and nats-servers.
  globalSetup: '<rootDir>/tests/global-setup.ts',
  globalTeardown: '<rootDir>/tests/global-teardown.ts',
  // Two cores: one worker per core.
  maxWorkers: 2,
  // Integration and end-to-end tests start real servers; a hung one still fails within minutes.
  testTimeout: 300_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/**/*.unit.test.ts'] },
    { ...common, displayName: 'int', testMatch: ['<rootDir>/**/*.int.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/**/*.e2e.test.ts'] },
  ],
};
