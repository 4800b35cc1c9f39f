import '@autoresearch/protocol'
import { join, resolve } from 'node:path'
import { Command } from 'commander'
import { logger } from '@libp2p/logger'
import { selectBackend, type SandboxKind } from '@autoresearch/runner'
import {
  abortOnSignals, AutoresearchError, configDir, CoordinatorClient, createNode, dataDir, HARDWARE_CLASS_ENV, hardwareClassArg, Identity, retryWithBackoff, wholeNumber
} from '@autoresearch/protocol'
import { describeVerifierEvent } from './describe.ts'
import { verifierHardware } from './slots.ts'
import { Verifier } from './verifier.ts'

const log = logger('autoresearch:verifier')

/** More slots than this is a typo, not a machine. */
const MAX_SLOTS = 64

const program = new Command('autoresearch-verifier')
  .description('Re-run candidates of an autoresearch cause under the trusted runner and sign attestations of what was measured.')
  .requiredOption('--coordinator <multiaddr>', 'the coordinator to verify for (or set AUTORESEARCH_COORDINATOR)', process.env.AUTORESEARCH_COORDINATOR)
  .option('--identity <file>', 'verifier key file (created with mode 0600 if missing)', join(configDir('verifier'), 'identity.key'))
  .option('--state <dir>', 'where the cause repository, prepared data and scratch runs live', dataDir('verifier'))
  .option('--max-jobs <n>', 'exit after this many attested jobs', wholeNumber(1))
  .option('--slots <n>', 'run this many pairs of trials side by side (default 1); with GPUs each slot gets its own (CUDA_VISIBLE_DEVICES, else all found)', wholeNumber(1, MAX_SLOTS), 1)
  .option('--sandbox <kind>', 'where experiments run: bwrap (default), docker, podman, or none (no isolation; prints a warning on every run)')
  .option('--image <image>', 'container image for --sandbox docker|podman')
  .option('--hardware-class <class>', `the hardware class this machine reports, instead of the one detected (or set ${HARDWARE_CLASS_ENV}); a cause verified per class leases only to its reference class`, hardwareClassArg, process.env[HARDWARE_CLASS_ENV])
  .option('--json', 'print events as JSON lines')
  .showHelpAfterError()
  .action(async (opts: { coordinator: string, identity: string, state: string, maxJobs?: number, slots: number, json?: boolean, sandbox?: string, image?: string, hardwareClass?: string }) => {
    const backend = selectBackend({ sandbox: opts.sandbox as SandboxKind | undefined, image: opts.image, warn: (m) => { console.error(m) } })
    const { identity, created } = Identity.loadOrCreate(resolve(opts.identity))
    if (created) console.error(`created verifier identity ${identity.publicKey} in ${opts.identity}; the coordinator must allowlist this key`)
    const node = await createNode({ identity })
    const controller = abortOnSignals()
    const hardware = verifierHardware(undefined, opts.hardwareClass)
    const verifier = new Verifier({ client: new CoordinatorClient(node, opts.coordinator), identity, stateDir: resolve(opts.state), backend, slots: opts.slots, hardware })
    verifier.on('event', (e) => {
      if (opts.json === true) console.log(JSON.stringify({ event: e.type, ...e }))
      else { const line = describeVerifierEvent(e); if (line !== undefined) console.log(line) }
    })
    console.error(`verifier ${identity.publicKey.slice(0, 16)}… working for ${opts.coordinator} (hardware: ${hardware.class})`)
    const { maxJobs } = opts
    let done = 0
    await retryWithBackoff(async () => { done += await verifier.run({ signal: controller.signal, maxJobs: maxJobs === undefined ? undefined : maxJobs - done }) }, {
      signal: controller.signal,
      done: () => maxJobs !== undefined && done >= maxJobs,
      onError: (err, ms) => { console.error(`verifier: ${err.name}: ${err.message}; retrying in ${ms / 1000} s`) }
    })
    await node.stop()
  })

// One line for the person at the keyboard; the stack of an unexpected failure goes to DEBUG=autoresearch:verifier.
program.parseAsync().catch((err: Error) => {
  if (!(err instanceof AutoresearchError)) log.error('%s failed: %e', process.argv.slice(2).join(' '), err)
  console.error(`autoresearch-verifier: ${err.name}: ${err.message}`)
  process.exit(1)
})
