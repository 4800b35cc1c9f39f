/**
 * `npm run bench -- <name>`: runs one benchmark; each prints progress to stderr and
 * one JSON object (its figures, with ratios between the compared variants) as the
 * last line of stdout. Loopback only; every loop is bounded.
 */
import '@autoresearch/protocol'

const BENCHES: Record<string, () => Promise<Record<string, unknown>>> = {
  signatures: async () => (await import('./signatures.ts')).run(),
  intake: async () => (await import('./intake.ts')).run(),
  transfer: async () => (await import('./transfer.ts')).run()
}

const name = process.argv[2]
if (name === undefined || !(name in BENCHES)) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}>`)
  process.exit(2)
}
const result = await (BENCHES[name] as () => Promise<Record<string, unknown>>)()
console.log(JSON.stringify({ bench: name, node: process.version, ...result }))
process.exit(0)
