#!/usr/bin/env node
// In the repository: run the TypeScript sources through tsx (see docs/dependencies.md).
// In the published package (no src/): run the bundle built by scripts/pack.mjs.
import { existsSync } from 'node:fs'

if (existsSync(new URL('../src/cli.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/cli.ts')
} else {
  await import('../dist/autoresearch-worker.mjs')
}
