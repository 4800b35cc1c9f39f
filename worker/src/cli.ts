import '@autoresearch/protocol'
import { join, resolve } from 'node:path'
import { Command } from 'commander'
import { selectBackend, type SandboxKind } from '@autoresearch/runner'
import { logger } from '@libp2p/logger'
import { abortOnSignals, configDir, CoordinatorClient, createNode, dataDir, describeHardware, detectGpus, HARDWARE_CLASS_ENV, hardwareClassArg, Identity, retryWithBackoff, numberIn, UsageError, wholeNumber } from '@autoresearch/protocol'
import { commandAgent } from './agents/command.ts'
import { AGENT_TEMPLATES } from './agents/templates.ts'
import { openaiAgent } from './agents/openai.ts'
import { searchAgent } from './agents/search.ts'
import type { Agent } from './agents/types.ts'
import { describeVerifierEvent, Verifier, verifierHardware } from 'autoresearch-verifier'
import { Planner } from './planner/planner.ts'
import { openaiPlanner, rulePlanner, type HypothesisSource } from './planner/sources.ts'
import { lockStateDir } from './state-lock.ts'
import { StatusLine } from './status-line.ts'
import { describeMeasuring } from './events.ts'
import { Worker, type WorkerEvent } from './worker.ts'

const log = logger('autoresearch:worker:cli')

const fmt = (x: number | null): string => (x === null ? 'n/a' : x.toPrecision(6))

function describe (e: WorkerEvent): string | undefined {
  switch (e.type) {
    case 'best': return `following best ${e.commit.slice(0, 10)} (network ${fmt(e.networkMetric)}, ${e.verifiedRuns > 0 ? `verifiers' run on this hardware class ${fmt(e.localMetric)}, not run again` : `measured here ${fmt(e.localMetric)}`}, noise σ ${e.noiseDue === true ? 'measured when a gain needs it' : fmt(e.noise)})`
    case 'experiment': return `experiment ${e.n}: ${e.row.status.padEnd(7)} ${e.row.status === 'crash' ? '   crash' : fmt(e.row.metric)}  ${e.row.description}  (local best ${fmt(e.localBest)})${e.row.status === 'crash' && e.log !== undefined ? `\n  its log: ${e.log}` : ''}`
    case 'confirm': return `confirmation run: baseline ${fmt(e.baseline)} vs candidate ${fmt(e.candidate)}: ${e.passed ? 'confirmed' : 'not confirmed; back to the network best'}`
    case 'noise': return `noise σ on best ${e.commit.slice(0, 10)}: ${fmt(e.noise)} (measured for a gain within its reach)`
    case 'beyond-doubt': return `no confirmation run: baseline ${fmt(e.baseline)} vs candidate ${fmt(e.candidate)} here is a gain beyond doubt at the cause's declared noise`
    case 'submitted': return `submitted candidate #${e.receipt.candidateSeq} (${e.receipt.candidate.slice(0, 10)})${e.on === undefined ? '' : ` on top of your pending candidate ${e.on.slice(0, 10)}, verified once that one has merged,`} claiming ${fmt(e.claimedMetric)}`
    case 'submit-failed': return e.willRetry ? `submission not answered (${e.error}: ${e.message}); it is kept and sent again on the next step` : `submission refused: ${e.error}: ${e.message}`
    case 'no-proposal': return `experiment ${e.n}: the agent proposed nothing`
    case 'agent-error': return `experiment ${e.n}: the agent failed: ${e.error}: ${e.message}`
    case 'verdict': return `candidate #${e.status.seq}: ${e.status.state}${e.status.reason === null ? '' : `: ${e.status.reason}`}`
    case 'phase': return undefined
    case 'measuring': return `${describeMeasuring(e)} (${e.commit.slice(0, 10)}, seed ${e.seed}) …`
    case 'resumed': return `resumed after experiment ${e.experiments} on best ${e.base.slice(0, 10)} (local ${e.local.slice(0, 10)})`
    case 'rebased-local': return `carried local improvements onto the new best: ${fmt(e.metric)} (${e.commit.slice(0, 10)})`
    case 'pending-measured': return `candidate #${e.seq} (claimed ${fmt(e.claimedMetric)}) measured here ${fmt(e.metric)}: ${e.adopted ? 'building on it while it is verified' : 'not beyond the margin here; searching on the best'}`
    case 'adopted-dropped': return `candidate #${e.seq}, which this worker built on, is ${e.state}: going on from the network best`
    case 'local-dropped': return `the network rejected the local best ${e.commit.slice(0, 10)} (measured here ${fmt(e.metric)}, most likely a lucky run): going on from the network best`
    case 'waiting': return `nothing to do on best ${e.commit.slice(0, 10)} (${e.reason}): waiting for a new best, ${e.retryInMs / 1000} s at the most`
    case 'announcement': return `announcement: new best ${e.body.best.commit.slice(0, 10)} (${e.body.kind} ${e.body.best.seq}, metric ${fmt(e.body.best.metric)})`
    case 'agent-backoff': return `the agent ${e.errors > 0 ? `failed ${e.errors}` : `proposed nothing ${e.empty}`} time(s) in a row${e.errors > 0 ? '' : ' on this best'}: asking it again in ${e.retryInMs / 1000} s${e.untilNewBest ? ', or at once on a new best' : ''}`
    case 'reports-sent': return undefined
    case 'report-failed': return e.dropped > 0 ? `${e.dropped} experiment report(s) refused (${e.error}: ${e.message}); not sent again` : `experiment reports not sent yet (${e.error}: ${e.message}); they go with the next ones`
    case 'claim-failed': return `the edit could not be claimed (${e.error}: ${e.message}); it runs unclaimed, so another worker may run it too`
    case 'history-failed': return `what the network tried could not be read (${e.error}: ${e.message}); the agent works without it this time`
    case 'duplicate': return `experiment ${e.n}: "${e.description}" ${e.by === 'claimed' ? 'is claimed by another worker' : `was already tried on this best${e.by === 'network' ? ' by the network' : ' here'}`}; asking the agent for another`
    case 'near-duplicate': return `experiment ${e.n}: "${e.description}" is close to ${e.near} edit(s) tried or claimed on this best; asking the agent once more`
    case 'hypothesis': return `testing the planner's hypothesis #${e.id}: ${e.text}`
    case 'plateau': return `${e.experiments} experiments in a row without a keep: asking the agent for bolder changes for the next ${e.bold}, then ordinary ones again`
    case 'help-failed': return e.stopped ? `--also-verify is off: ${e.message}` : `verifying for the network failed (${e.error}: ${e.message}); research goes on`
  }
}

/** Repeatable, and each value may list several, comma-separated. */
const list = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')]

interface AgentFlags {
  agent: string, baseUrl: string, model?: string, apiKeyEnv: string,
  /** A number, undefined for the default, false after --no-temperature. */
  temperature?: number | false, maxTokens: number, maxCompletionTokens?: boolean, agentAttempts: number, requestRetries: number, agentCommand?: string, agentTimeout: number, agentEnv?: string[], agentExpose?: string[], agentSandbox?: string }

function makeAgent (opts: AgentFlags): Agent | undefined {
  const timeoutMs = opts.agentTimeout * 1000
  switch (opts.agent) {
    case 'search': return undefined
    case 'openai':
      if (opts.model === undefined) throw new UsageError('--agent openai needs --model (or OPENAI_MODEL)')
      return openaiAgent({
        baseUrl: opts.baseUrl, model: opts.model, apiKey: process.env[opts.apiKeyEnv], timeoutMs,
        temperature: opts.temperature === false ? null : opts.temperature, maxTokens: opts.maxTokens,
        tokenLimit: opts.maxCompletionTokens === true ? 'max_completion_tokens' : 'max_tokens',
        attempts: opts.agentAttempts, requestRetries: opts.requestRetries,
        onRetry: (e) => { console.error(`agent answer refused: ${e}`) },
        onRequestRetry: (reason, ms) => { console.error(`agent request failed (${reason}); asking again in ${ms / 1000} s`) }
      })
    case 'claude':
    case 'codex':
    case 'opencode': {
      const template = AGENT_TEMPLATES[opts.agent]
      if (opts.agentSandbox !== undefined && opts.agentSandbox !== 'bwrap' && opts.agentSandbox !== 'none') throw new UsageError(`--agent-sandbox is bwrap or none, not "${opts.agentSandbox}"`)
      return commandAgent({
        command: opts.agentCommand ?? template.command, stdin: template.stdin, timeoutMs, passEnv: [...template.env, ...(opts.agentEnv ?? [])], expose: opts.agentExpose, sandbox: opts.agentSandbox,
        warn: (m) => { console.error(`WARNING: ${m}`) },
        onReverted: (paths) => { console.error(`agent changed protected files, reverted: ${paths.join(', ')}`) }
      })
    }
    case 'command':
      if (opts.agentCommand === undefined) throw new UsageError('--agent command needs --agent-command "<cli agent>"')
      if (opts.agentSandbox !== undefined && opts.agentSandbox !== 'bwrap' && opts.agentSandbox !== 'none') throw new UsageError(`--agent-sandbox is bwrap or none, not "${opts.agentSandbox}"`)
      return commandAgent({
        command: opts.agentCommand, timeoutMs, passEnv: opts.agentEnv, expose: opts.agentExpose, sandbox: opts.agentSandbox,
        warn: (m) => { console.error(`WARNING: ${m}`) },
        onReverted: (paths) => { console.error(`agent changed protected files, reverted: ${paths.join(', ')}`) }
      })
    default: throw new UsageError(`unknown agent "${opts.agent}"; available: search, openai, command, ${Object.keys(AGENT_TEMPLATES).join(', ')}`)
  }
}

const program = new Command('autoresearch-worker')
  .description('Join an autoresearch cause: your agent edits the cause\'s code, runs short experiments, and submits improvements for verification.')
  .requiredOption('--coordinator <multiaddr>', 'the cause\'s coordinator (or set AUTORESEARCH_COORDINATOR)', process.env.AUTORESEARCH_COORDINATOR)
  .option('--agent <name>', `agent that proposes edits: search (offline numeric search), openai (any OpenAI-compatible chat API), command (a CLI coding agent: --agent-command), or a ready template for one: ${Object.entries(AGENT_TEMPLATES).map(([name, t]) => `${name} (${t.about}: ${t.command}; passes ${t.env.join(', ')})`).join('; ')}`, 'search')
  .option('--base-url <url>', 'openai agent: API base URL, e.g. http://127.0.0.1:8080/v1 for llama.cpp', process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1')
  .option('--model <name>', 'openai agent: model name', process.env.OPENAI_MODEL)
  .option('--api-key-env <var>', 'openai agent: environment variable holding the API key', 'OPENAI_API_KEY')
  .option('--temperature <t>', 'openai agent: sampling temperature, 0 to 2 (default 0.7; --no-temperature sends none, for models that accept only their own)', numberIn(0, 2))
  .option('--no-temperature', 'openai agent: send no temperature')
  .option('--max-tokens <n>', 'openai agent: the answer\'s token limit', wholeNumber(1), 2048)
  .option('--max-completion-tokens', 'openai agent: send the limit as max_completion_tokens (reasoning models require it) instead of max_tokens')
  .option('--agent-attempts <n>', 'openai agent: answers asked for per proposal when one cannot be used (malformed, a protected file, text that does not match)', wholeNumber(1, 20), 3)
  .option('--request-retries <n>', 'openai agent: times a request is sent again after a rate limit (429, honouring Retry-After), a server error (5xx), a timeout or no connection', wholeNumber(0, 20), 4)
  .option('--agent-command <command>', 'command agent: e.g. "claude -p", "codex exec", "opencode run"; the prompt is its last argument (with --agent claude|codex|opencode: instead of the template\'s command)')
  .option('--agent-timeout <seconds>', 'time limit for one agent proposal', wholeNumber(1), 1800)
  .option('--agent-env <names>', 'command agent: variables it gets from your environment, e.g. ANTHROPIC_API_KEY (it gets no others but PATH and LANG)', list)
  .option('--agent-expose <path>', 'command agent: a path outside /usr and /opt it may read (its installation), shown read-only', list)
  .option('--agent-sandbox <kind>', 'command agent: bwrap (default where it works; its work tree, a scratch HOME and the network) or none (scrubbed environment only)')
  .option('--identity <file>', 'your key file (created with mode 0600 if missing)', join(configDir('worker'), 'identity.key'))
  .option('--state <dir>', 'where the local repository, results.tsv and runs live', dataDir('worker'))
  .option('--seed <n>', 'seed for your own experiments', wholeNumber(0), 1)
  .option('--name <name>', 'your name on the leaderboard')
  .option('--team <team>', 'your team on the leaderboard')
  .option('--gpu <index>', 'use only this GPU (sets CUDA_VISIBLE_DEVICES for experiments)')
  .option('--hardware-class <class>', `the hardware class this machine reports, instead of the one detected (or set ${HARDWARE_CLASS_ENV})`, hardwareClassArg, process.env[HARDWARE_CLASS_ENV])
  .option('--max-experiments <n>', 'stop after this many experiments', wholeNumber(1))
  .option('--once', 'run one experiment, then exit (same as --max-experiments 1)')
  .option('--sandbox <kind>', 'where experiments run: bwrap (default), docker, podman, or none (no isolation; prints a warning on every run)')
  .option('--image <image>', 'container image for --sandbox docker|podman')
  .option('--also-verify', 'between experiments, take a verification job when the cause\'s verifiers are all busy (never one of your own candidates); your key must be on the coordinator\'s verifier allowlist, or the coordinator must run open verification')
  .option('--no-lookahead', 'let the agent propose only after each run has finished (by default it proposes the next experiment while one runs, a kept result is confirmed or a new best measured; a proposal made before a kept result or a new best is dropped and asked for again on the new files)')
  .option('--role <role>', 'worker (default): run experiments, testing the planners\' hypotheses when there are open ones; planner: run nothing, post hypotheses for workers to test (from rules with --agent search, from the model with --agent openai)', 'worker')
  .option('--plan-interval <seconds>', 'planner: time between planning rounds', wholeNumber(1), 60)
  .option('--max-rounds <n>', 'planner: stop after this many rounds', wholeNumber(1))
  .option('--json', 'print events as JSON lines')
  .showHelpAfterError()
  .action(async (opts: AgentFlags & { coordinator: string, identity: string, state: string, seed: number, maxExperiments?: number, once?: boolean, json?: boolean, name?: string, team?: string, gpu?: string, hardwareClass?: string, sandbox?: string, image?: string, alsoVerify?: boolean, lookahead: boolean, role: string, planInterval: number, maxRounds?: number }) => {
    if (opts.role !== 'worker' && opts.role !== 'planner') throw new UsageError(`--role is worker or planner, not "${opts.role}" (the reporter runs at the coordinator: autoresearch-coordinator report)`)
    lockStateDir(resolve(opts.state))
    if (opts.role === 'planner') { await runPlanner(opts); return }
    const backend = selectBackend({ sandbox: opts.sandbox as SandboxKind | undefined, image: opts.image, warn: (m) => { console.error(m) } })
    const agent = makeAgent(opts)
    if (opts.gpu !== undefined) process.env.CUDA_VISIBLE_DEVICES = opts.gpu
    const gpus = detectGpus()
    const hardware = describeHardware(gpus, opts.hardwareClass)
    const { identity, created } = Identity.loadOrCreate(resolve(opts.identity))
    if (created) console.error(`created your identity ${identity.publicKey} in ${opts.identity}`)
    const node = await createNode({ identity })
    const controller = abortOnSignals()
    const { seed } = opts
    const client = new CoordinatorClient(node, opts.coordinator)
    const alsoVerify = opts.alsoVerify === true ? new Verifier({ client, identity, stateDir: join(resolve(opts.state), 'verifier'), backend, help: true, hardware: verifierHardware(gpus, opts.hardwareClass) }) : undefined
    const worker = new Worker({ client, identity, agent: agent ?? searchAgent({ seed: seed * 7919 + 17 }), stateDir: resolve(opts.state), seed, name: opts.name, team: opts.team, hardware, backend, secretEnv: [opts.apiKeyEnv, ...(opts.agentEnv ?? [])], alsoVerify, lookahead: opts.lookahead })
    const status = opts.json !== true && process.stdout.isTTY ? new StatusLine(process.stdout) : undefined
    const print = (line: string | undefined): void => {
      if (line === undefined) return
      if (status !== undefined) status.log(line)
      else console.log(line)
    }
    worker.on('event', (e) => {
      if (opts.json === true) { console.log(JSON.stringify({ event: e.type, ...e })); return }
      status?.update(e)
      print(describe(e))
    })
    alsoVerify?.on('event', (e) => {
      if (opts.json === true) { console.log(JSON.stringify({ event: `verify:${e.type}`, ...e })); return }
      const line = describeVerifierEvent(e)
      print(line === undefined ? undefined : `verify: ${line}`)
    })
    console.error(`hardware: ${hardware.class}${gpus.length === 0 ? ' (no NVIDIA GPU found; experiments run on the CPU)' : ''}`)
    // Only to refuse early on a GPU cause; the loop asks again (and retries) when it starts.
    const causeInfo = await client.info({ signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => { log.error('no cause info yet: %e', err); return undefined })
    if (causeInfo?.manifest.requires.gpu === true && gpus.length === 0) {
      throw new UsageError(`the cause ${causeInfo.causeId} needs an NVIDIA GPU and nvidia-smi found none${opts.gpu === undefined ? '' : ` (with --gpu ${opts.gpu})`}; join a CPU cause instead, or check the driver with nvidia-smi`)
    }
    console.error(`worker ${identity.publicKey.slice(0, 16)}… on ${opts.coordinator}; results in ${worker.results.path}`)
    const limit = opts.once === true ? 1 : opts.maxExperiments
    const maxExperiments = limit === undefined ? undefined : worker.experiments + limit
    await retryWithBackoff(async () => worker.run({ signal: controller.signal, maxExperiments }), {
      signal: controller.signal,
      done: () => maxExperiments !== undefined && worker.experiments >= maxExperiments,
      onError: (err, ms) => { console.error(`worker: ${err.name}: ${err.message}; retrying in ${ms / 1000} s`) }
    })
    status?.stop()
    if (controller.signal.aborted) console.error(`stopped after experiment ${worker.experiments}; state and results.tsv are saved in ${resolve(opts.state)}; run the same command to resume`)
    await node.stop()
  })

/** `--role planner`: posts hypotheses each round; runs no experiment, so it needs no sandbox. */
async function runPlanner (opts: AgentFlags & { coordinator: string, identity: string, state: string, json?: boolean, planInterval: number, maxRounds?: number }): Promise<void> {
  let source: HypothesisSource
  if (opts.agent === 'search') source = rulePlanner()
  else if (opts.agent === 'openai') {
    if (opts.model === undefined) throw new UsageError('--agent openai needs --model (or OPENAI_MODEL)')
    source = openaiPlanner({
      baseUrl: opts.baseUrl, model: opts.model, apiKey: process.env[opts.apiKeyEnv], timeoutMs: opts.agentTimeout * 1000,
      temperature: opts.temperature === false ? null : opts.temperature, maxTokens: opts.maxTokens, tokenLimit: opts.maxCompletionTokens === true ? 'max_completion_tokens' : 'max_tokens', requestRetries: opts.requestRetries,
      onRequestRetry: (reason, ms) => { console.error(`planner request failed (${reason}); asking again in ${ms / 1000} s`) }
    })
  } else throw new UsageError('--role planner takes --agent search (rules, offline) or --agent openai')
  const { identity, created } = Identity.loadOrCreate(resolve(opts.identity))
  if (created) console.error(`created your identity ${identity.publicKey} in ${opts.identity}`)
  const node = await createNode({ identity })
  const controller = abortOnSignals()
  const planner = new Planner({ client: new CoordinatorClient(node, opts.coordinator), identity, source, stateDir: join(resolve(opts.state), 'planner'), intervalMs: opts.planInterval * 1000 })
  planner.on('event', (e) => {
    if (opts.json === true) { console.log(JSON.stringify({ event: e.type, ...e })); return }
    if (e.type === 'planned') console.log(`posted hypotheses ${e.ids.map((id, i) => `#${id} "${e.hypotheses[i] ?? ''}"`).join(', ')}`)
    else if (e.type === 'nothing-to-plan') console.log(`nothing new to suggest on best ${e.best.slice(0, 10)}`)
    else console.error(`planning failed (${e.error}: ${e.message}); trying again in ${opts.planInterval} s`)
  })
  console.error(`planner ${identity.publicKey.slice(0, 16)}… (${source.name}) on ${opts.coordinator}`)
  await planner.run({ signal: controller.signal, maxRounds: opts.maxRounds })
  await node.stop()
}

program.parseAsync().catch((err: Error) => {
  console.error(`autoresearch-worker: ${err.name}: ${err.message}`)
  process.exit(1)
})
