#!/usr/bin/env node
// Builds the publishable autoresearch-worker package: one ESM bundle with every
// dependency inside (so installing it fetches nothing), a bin, README and a
// package.json without dependencies; then `npm pack`s it.
// Usage: node worker/scripts/pack.mjs [--out <dir>]   prints the tarball's path.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const workerDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({ options: { out: { type: 'string', default: join(workerDir, 'dist') } } })
const manifest = JSON.parse(readFileSync(join(workerDir, 'package.json'), 'utf8'))
const stage = mkdtempSync(join(tmpdir(), 'autoresearch-worker-pack-'))
try {
  await build({
    entryPoints: [join(workerDir, 'src', 'cli.ts')],
    outfile: join(stage, 'dist', 'autoresearch-worker.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    legalComments: 'linked',
    // Some bundled CommonJS modules call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning'
  })
  mkdirSync(join(stage, 'bin'))
  writeFileSync(join(stage, 'bin', 'autoresearch-worker.js'), "#!/usr/bin/env node\nawait import('../dist/autoresearch-worker.mjs')\n", { mode: 0o755 })
  cpSync(join(workerDir, 'README.md'), join(stage, 'README.md'))
  const published = {
    name: manifest.name,
    version: manifest.version,
    description: manifest.description,
    license: manifest.license,
    type: 'module',
    engines: { node: '>=20.6' },
    bin: { 'autoresearch-worker': './bin/autoresearch-worker.js' },
    files: ['bin/', 'dist/', 'README.md']
  }
  writeFileSync(join(stage, 'package.json'), JSON.stringify(published, null, 2) + '\n')
  mkdirSync(values.out, { recursive: true })
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', resolve(values.out)], { cwd: stage, encoding: 'utf8' }).trim().split('\n').pop()
  console.log(join(resolve(values.out), name))
} finally {
  rmSync(stage, { recursive: true, force: true })
}
