/**
 * `npm run bench -- <name>`: runs bench/<name>.ts; each prints progress to stderr and
 * one JSON object (its figures, with ratios between the compared variants) as the
 * last line of stdout. Loopback only; every loop is bounded. `--help` lists a bench's
 * options (its exported `options`, what it gives parseArgs); a flag it does not take
 * or a value out of range ends it with the reason and that list (exit code 2).
 */
import '@autoresearch/protocol'
import { readdirSync } from 'node:fs'
import type { ParseArgsConfig } from 'node:util'

type Options = NonNullable<ParseArgsConfig['options']>
interface Bench { run: (args: string[]) => Promise<Record<string, unknown>>, options?: Options }

const BENCHES = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3))
  .sort()

const name = process.argv[2]
if (name === undefined || !BENCHES.includes(name)) {
  console.error(`usage: npm run bench -- <${BENCHES.join('|')}> [options]; npm run bench -- <name> --help lists its options`)
  process.exit(2)
}
const bench = await import(`./${name}.ts`) as Bench
const args = process.argv.slice(3)

function usage (): string {
  const flags = Object.entries(bench.options ?? {}).map(([flag, o]) => o.type === 'boolean' ? `[--${flag}]` : `[--${flag} ${o.default === undefined ? 'VALUE' : String(o.default)}]`)
  return `usage: npm run bench -- ${name}${flags.length === 0 ? ' (no options)' : ` ${flags.join(' ')}`}; docs/benchmarks.md says what each figure means`
}

if (args.includes('--help') || args.includes('-h')) {
  console.log(usage())
  process.exit(0)
}
/** parseArgs' own refusals (an unknown flag, a missing value) and the benches' UsageErrors: the person typed something wrong. */
const isUsage = (err: unknown): err is Error => err instanceof Error && (err.name.endsWith('UsageError') || String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_'))
let result: Record<string, unknown>
try {
  result = await bench.run(args)
} catch (err) {
  if (!isUsage(err)) throw err
  console.error(`npm run bench -- ${name}: ${err.message}\n${usage()}`)
  process.exit(2)
}
console.log(JSON.stringify({ bench: name, node: process.version, ...result }))
process.exit(0)
