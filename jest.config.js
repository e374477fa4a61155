/** @type {import('jest').Config} */
module.exports = {
  // Node's, failing a test file that leaves a long timer running (test/support/timer-leak-environment.ts).
  testEnvironment: '<rootDir>/test/support/timer-leak-environment.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // tsconfig sets isolatedModules: ts-jest transpiles per file; type checking is `npm run lint`.
    '^.+\\.ts$': 'ts-jest',
  },
  setupFiles: ['<rootDir>/lib/rehearsal/promise-compat.ts'],
  // After each test: no test-server password in anything printed or in any local execution history.
  setupFilesAfterEnv: ['<rootDir>/test/support/secret-scan.ts'],
  testTimeout: 60_000,
  // PostgreSQL-backed suites start their own clusters; two workers match the 2-core budget.
  maxWorkers: 2,
};
