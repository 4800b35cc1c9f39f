import '@autoresearch/protocol'
import * as fs from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { dataDir, MANIFEST_FILE, parseManifestText } from '@autoresearch/protocol'
import { metricSource, runTrial } from './trial.ts'
import { SANDBOX_KINDS, SandboxUnavailableError, selectBackend, type SandboxKind } from './select.ts'
import type { SandboxLimits } from './types.ts'

/** Exit statuses: a trial that failed, and a run that could not start (bad arguments, cause or sandbox). */
const EXIT_FAILED = 1
const EXIT_UNUSABLE = 2

function integer (value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer')
  return n
}

/** 512M, 4G, 1048576: bytes. */
function bytes (value: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim())
  if (m === null) throw new InvalidArgumentError('expected a size such as 512M or 4G')
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] as string).toLowerCase() as '' | 'k' | 'm' | 'g' | 't']
  return Math.floor(Number(m[1]) * scale)
}

interface Opts {
  seed: number
  sandbox?: SandboxKind
  image?: string
  expose: string[]
  json?: boolean
  dataRoot: string
  scratchRoot?: string
  memory?: number
  processes?: number
  cpuSeconds?: number
  artifactBytes?: number
  diskBytes?: number
}

const program = new Command('autoresearch-run')
  .description('Run one trial of a cause as it stands in a directory: prepare (cached), train, evaluate, and print the metric.\n' +
    'Runs in a sandbox (bubblewrap by default); the worker and the verifier use the same code.')
  .argument('<cause-dir>', `directory holding the cause (${MANIFEST_FILE} at its root)`)
  .option('--seed <n>', 'the trial\'s seed', integer, 1)
  .addOption(new Option('--sandbox <kind>', 'sandbox backend; "none" runs WITHOUT isolation and says so').choices([...SANDBOX_KINDS]))
  .option('--image <image>', 'container image for --sandbox docker|podman')
  .option('--expose <path>', 'host path to show read-only inside bubblewrap (an interpreter outside /usr); repeatable', (v: string, all: string[]) => [...all, resolve(v)], [] as string[])
  .option('--json', 'print the result as JSON on stdout')
  .option('--data-root <dir>', 'cache of prepared data', join(dataDir('run'), 'data'))
  .option('--scratch-root <dir>', 'where checkouts and out dirs live during the trial (default: the temp dir)')
  .option('--memory <size>', 'memory limit per process, e.g. 8G (0: none); CUDA programs need a high one', bytes)
  .option('--processes <n>', 'processes and threads at once', integer)
  .option('--cpu-seconds <n>', 'CPU seconds per process (default: time limit × cores)', integer)
  .option('--artifact-bytes <size>', 'limit on the out dir and any one file, e.g. 1G', bytes)
  .option('--disk-bytes <size>', 'limit on what a step writes in its checkout and /tmp (a tmpfs), e.g. 4G', bytes)
  .showHelpAfterError()
  .action(async (dir: string, opts: Opts) => {
    const causeDir = resolve(dir)
    let text: string
    try {
      text = fs.readFileSync(join(causeDir, MANIFEST_FILE), 'utf8')
    } catch (err) {
      console.error(`autoresearch-run: cannot read ${join(causeDir, MANIFEST_FILE)}: ${(err as Error).message}`)
      process.exitCode = EXIT_UNUSABLE
      return
    }
    const manifest = parseManifestText(text)
    const backend = selectBackend({ sandbox: opts.sandbox, image: opts.image, expose: opts.expose })
    const limits: Partial<SandboxLimits> = {}
    if (opts.memory !== undefined) limits.memoryBytes = opts.memory
    if (opts.processes !== undefined) limits.processes = opts.processes
    if (opts.cpuSeconds !== undefined) limits.cpuSeconds = opts.cpuSeconds
    if (opts.artifactBytes !== undefined) limits.artifactBytes = opts.artifactBytes
    if (opts.diskBytes !== undefined) limits.diskBytes = opts.diskBytes

    const controller = new AbortController()
    process.once('SIGINT', () => controller.abort())
    process.once('SIGTERM', () => controller.abort())
    const source = metricSource(manifest)
    if (opts.json !== true) {
      console.error(`autoresearch-run: ${manifest.name}, seed ${opts.seed}, sandbox ${backend.name}, metric from ${source === 'evaluator' ? 'the evaluate step' : 'train\'s output (self-reported)'}`)
    }
    const result = await runTrial({
      causeDir, manifest, seed: opts.seed, backend, limits, signal: controller.signal,
      dataRoot: resolve(opts.dataRoot), scratchRoot: opts.scratchRoot === undefined ? undefined : resolve(opts.scratchRoot),
      onLine: opts.json === true ? undefined : (phase, line) => { console.error(`[${phase}] ${line}`) }
    })
    if (opts.json === true) {
      console.log(JSON.stringify({ ...result, seed: opts.seed, sandbox: backend.name, metricSource: source, metricName: manifest.metric.name }))
    } else if (result.ok) {
      console.log(`${manifest.metric.name} = ${result.metric} (${manifest.metric.direction}; seed ${opts.seed}; ${(result.durationMs / 1000).toFixed(1)} s)`)
    } else {
      console.log(`trial failed: ${result.reason}: ${result.message}`)
    }
    if (!result.ok) process.exitCode = EXIT_FAILED
  })

program.exitOverride()
program.parseAsync().catch((err: Error) => {
  // Commander has printed its own message (or the help, with status 0).
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_UNUSABLE)
  console.error(`autoresearch-run: ${err instanceof SandboxUnavailableError ? '' : `${err.name}: `}${err.message}`)
  process.exit(EXIT_UNUSABLE)
})
