import { defineConfig } from 'vitest/config'

/**
 * The fast lane (`npm run test:unit`): pure specs beside their source, `src/**\/*.spec.ts`.
 * A spec here starts no process, no libp2p node, no sandbox and no Python, so files run
 * in parallel and the whole lane takes seconds.
 */
export default defineConfig({
  test: {
    include: ['**/src/**/*.spec.ts'],
    exclude: ['**/node_modules/**'],
    setupFiles: ['./protocol/src/polyfill.ts'],
    // One temporary folder for the whole run, removed at its end (tests/temp-root.ts).
    globalSetup: ['./tests/temp-root.ts'],
    testTimeout: 10_000,
    pool: 'threads',
    // Specs are pure, so one module graph serves them all: each file would otherwise
    // import protocol's barrel (and libp2p behind it) again, seconds per file on 2 cores.
    isolate: false,
    reporters: ['default', './tests/summary-reporter.ts']
  }
})
