import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // `src/**/*.spec.ts`: pure specs beside their source (also `npm run test:unit`);
    // `test/**/*.test.ts` and `tests/`: real processes, libp2p, the sandbox and Python.
    include: ['**/src/**/*.spec.ts', '**/test/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    setupFiles: ['./protocol/src/polyfill.ts'],
    // One temporary folder for the whole run, removed at its end (tests/temp-root.ts).
    globalSetup: ['./tests/temp-root.ts'],
    // Real processes, real libp2p and real training runs: generous per-test limits,
    // because a slow machine must not fail a correct test.
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', './tests/summary-reporter.ts']
  }
})
