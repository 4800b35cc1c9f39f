import '@autoresearch/protocol'
import { join, resolve } from 'node:path'
import { Command } from 'commander'
import { configDir, CoordinatorClient, createNode, dataDir, Identity } from '@autoresearch/protocol'
import { searchAgent } from './agents/search.ts'
import { Worker, type WorkerEvent } from './worker.ts'

const fmt = (x: number | null): string => (x === null ? 'n/a' : x.toPrecision(6))

function describe (e: WorkerEvent): string {
  switch (e.type) {
    case 'best': return `following best ${e.commit.slice(0, 10)} (network ${fmt(e.networkMetric)}, measured here ${fmt(e.localMetric)})`
    case 'experiment': return `experiment ${e.n}: ${e.row.status.padEnd(7)} ${e.row.status === 'crash' ? '   crash' : fmt(e.row.metric)}  ${e.row.description}  (local best ${fmt(e.localBest)})`
    case 'confirm': return `confirmation run: baseline ${fmt(e.baseline)} vs candidate ${fmt(e.candidate)}: ${e.passed ? 'confirmed' : 'not confirmed, keep searching'}`
    case 'submitted': return `submitted candidate #${e.receipt.candidateSeq} (${e.receipt.candidate.slice(0, 10)}) claiming ${fmt(e.claimedMetric)}`
    case 'submit-failed': return `submission refused: ${e.error}: ${e.message}`
    case 'no-proposal': return `experiment ${e.n}: the agent proposed nothing`
    case 'verdict': return `candidate #${e.status.seq}: ${e.status.state}${e.status.reason === null ? '' : `: ${e.status.reason}`}`
    case 'announcement': return `announcement: new best ${e.body.best.commit.slice(0, 10)} (${e.body.kind} ${e.body.best.seq}, metric ${fmt(e.body.best.metric)})`
  }
}

const program = new Command('autoresearch-worker')
  .description('Join an autoresearch cause: your agent edits the cause\'s code, runs short experiments, and submits improvements for verification.')
  .requiredOption('--coordinator <multiaddr>', 'the cause\'s coordinator (or set AUTORESEARCH_COORDINATOR)', process.env.AUTORESEARCH_COORDINATOR)
  .option('--agent <name>', 'agent that proposes edits: search (offline numeric search)', 'search')
  .option('--identity <file>', 'your key file (created with mode 0600 if missing)', join(configDir('worker'), 'identity.key'))
  .option('--state <dir>', 'where the local repository, results.tsv and runs live', dataDir('worker'))
  .option('--seed <n>', 'seed for your own experiments', '1')
  .option('--max-experiments <n>', 'stop after this many experiments')
  .option('--json', 'print events as JSON lines')
  .showHelpAfterError()
  .action(async (opts: { coordinator: string, agent: string, identity: string, state: string, seed: string, maxExperiments?: string, json?: boolean }) => {
    if (opts.agent !== 'search') throw new Error(`unknown agent "${opts.agent}"; available: search`)
    const { identity, created } = Identity.loadOrCreate(resolve(opts.identity))
    if (created) console.error(`created your identity ${identity.publicKey} in ${opts.identity}`)
    const node = await createNode({ identity })
    const controller = new AbortController()
    const stop = (): void => { controller.abort() }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    const seed = Number(opts.seed)
    const worker = new Worker({ client: new CoordinatorClient(node, opts.coordinator), identity, agent: searchAgent({ seed: seed * 7919 + 17 }), stateDir: resolve(opts.state), seed })
    worker.on('event', (e) => { console.log(opts.json === true ? JSON.stringify({ event: e.type, ...e }) : describe(e)) })
    console.error(`worker ${identity.publicKey.slice(0, 16)}… on ${opts.coordinator}; results in ${worker.results.path}`)
    const maxExperiments = opts.maxExperiments === undefined ? undefined : Number(opts.maxExperiments)
    let backoffMs = 1000
    while (!controller.signal.aborted && (maxExperiments === undefined || worker.experiments < maxExperiments)) {
      try {
        await worker.run({ signal: controller.signal, maxExperiments })
        backoffMs = 1000
      } catch (err) {
        if (controller.signal.aborted) break
        console.error(`worker: ${(err as Error).name}: ${(err as Error).message}; retrying in ${backoffMs / 1000} s`)
        await new Promise((resolve) => setTimeout(resolve, backoffMs))
        backoffMs = Math.min(backoffMs * 2, 60_000)
      }
    }
    await node.stop()
  })

program.parseAsync().catch((err: Error) => {
  console.error(`autoresearch-worker: ${err.name}: ${err.message}`)
  process.exit(1)
})
