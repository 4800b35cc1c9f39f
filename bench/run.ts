/**
 * `npm run bench -- <name>`: runs bench/<name>.ts; each prints progress to stderr and
 * one JSON object (its figures, with ratios between the compared variants) as the
 * last line of stdout. Loopback only; every loop is bounded.
 */
import '@autoresearch/protocol'
import { readdirSync } from 'node:fs'

const BENCHES = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3))
  .sort()

const name = process.argv[2]
if (name === undefined || !BENCHES.includes(name)) {
  console.error(`usage: npm run bench -- <${BENCHES.join('|')}> [options]`)
  process.exit(2)
}
const bench = await import(`./${name}.ts`) as { run: (args: string[]) => Promise<Record<string, unknown>> }
const result = await bench.run(process.argv.slice(3))
console.log(JSON.stringify({ bench: name, node: process.version, ...result }))
process.exit(0)
