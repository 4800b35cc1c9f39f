import '@autoresearch/protocol'
import * as fs from 'node:fs'
import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import git from 'isomorphic-git'
import { logger } from '@libp2p/logger'
import { AutoresearchError, gitFs, hardwareClassArg, MANIFEST_FILE, parseManifestText, PublicKeyHex, readFileAt, UsageError, wholeNumber } from '@autoresearch/protocol'
import { SANDBOX_KINDS, type SandboxKind } from '@autoresearch/runner'
import { candidatesReport, credits, revertLatestMerge } from './admin.ts'
import { candidateLines } from './candidate-lines.ts'
import { CauseCheckError, checkCause, describeCheck } from './check.ts'
import { DEFAULT_LISTEN } from './coordinator.ts'
import { describeEvent, describePeerEvent } from './events.ts'
import { listenNotes } from './listen-notes.ts'
import { BEST_REF, homePaths, initHome, loadConfig, writeConfig } from './home.ts'
import { describeHostStatus, loadHostStatus } from './host-status.ts'
import { describeReference } from './rules/hardware-class.ts'
import { initHomeFromGit, isGitSource, isGitUrl } from './import-git.ts'
import { updateProgram } from './program-update.ts'
import { SCAFFOLD_BASE, scaffoldCause } from './scaffold.ts'
import { addVerifier, removeVerifier } from './verifier-keys.ts'
import { reportDigest, reportDigestWithModel } from './report.ts'
import { serveCoordinator } from './serve.ts'
import { Store } from './store/index.ts'
import { TEMPLATES, templateDir } from './templates.ts'

const log = logger('autoresearch:coordinator:cli')

/** `--key` is not an Ed25519 public key in hex. */
class InvalidPublicKeyError extends UsageError { override name = 'InvalidPublicKeyError' }
/** Options that exclude each other were both given, or neither of those that one is needed. */
class ConflictingOptionsError extends UsageError { override name = 'ConflictingOptionsError' }

/** Opens a home's database for an admin command; safe while `serve` runs (SQLite WAL). */
function openStore (home: string): { store: Store, paths: ReturnType<typeof homePaths> } {
  const paths = homePaths(resolve(home))
  loadConfig(paths)
  return { store: new Store(paths.database), paths }
}

/** The manifest of a home's current best (what an admin command reads the cause's rules from). */
async function bestManifest (store: Store, paths: ReturnType<typeof homePaths>): Promise<ReturnType<typeof parseManifestText>> {
  const best = store.lastMerge()?.commit_oid as string
  return parseManifestText(await readFileAt(paths.gitdir, best, MANIFEST_FILE) ?? '')
}

function publicKey (key: string): string {
  const parsed = PublicKeyHex.safeParse(key)
  if (!parsed.success) throw new InvalidPublicKeyError(`"${key}" is not a public key (64 lowercase hex digits)`)
  return parsed.data
}

const program = new Command('autoresearch-coordinator')
  .description('Host an autoresearch cause: publish its best commit, take signed submissions, lease verification, merge verified improvements.')
  .showHelpAfterError()

program.command('init')
  .description('make a coordinator home from a cause directory, a git repository (keeping its history) or an example cause; or write a new cause to start from (--new)')
  .option('--home <dir>', 'coordinator home to create (required, except with --new alone)')
  .option('--from <cause dir or git repository>', 'directory holding autoresearch.json and the cause files; a git repository (a URL, or a directory with .git) is imported with its history, its HEAD commit becoming the first best')
  .option('--template <name>', `start from an example cause of this repository: ${TEMPLATES.join(', ')}`)
  .option('--new <name>', `write a new cause named <name> into --dir, from the ${SCAFFOLD_BASE} scaffold (a frozen model with its bounds and causal mask, frozen prepare and evaluate, an editable train.py); with --home, also make a home from it`)
  .option('--dir <dir>', 'with --new: where to write the cause (default: ./<name>)')
  .action(async (opts: { home?: string, from?: string, template?: string, new?: string, dir?: string }) => {
    if ([opts.from, opts.template, opts.new].filter((o) => o !== undefined).length !== 1) throw new ConflictingOptionsError('give one of --from <cause dir or git repository>, --template <name> or --new <name>')
    if (opts.new !== undefined) {
      const dir = resolve(opts.dir ?? opts.new)
      const files = scaffoldCause(opts.new, dir)
      console.log(`wrote cause ${opts.new} in ${dir}: ${files.join(', ')}`)
      console.log(`next: fill in ${dir}/program.md (and replace prepare.py, model.py, evaluate.py with your task's, keeping their patterns: docs/causes.md), then`)
      console.log(`  autoresearch-coordinator check ${opts.dir ?? opts.new}`)
      if (opts.home === undefined) {
        console.log(`  autoresearch-coordinator init --home <dir> --from ${opts.dir ?? opts.new}`)
        return
      }
    }
    if (opts.home === undefined) throw new ConflictingOptionsError('--home <dir> is required: where to make the coordinator home')
    const from = opts.template !== undefined ? templateDir(opts.template) : resolve(opts.from ?? opts.dir ?? opts.new as string)
    const fromGit = opts.from !== undefined && isGitSource(opts.from)
    const { causeId, commit, paths, notes } = fromGit
      ? await initHomeFromGit(resolve(opts.home), isGitUrl(opts.from as string) ? opts.from as string : from)
      : { ...await initHome(resolve(opts.home), from), notes: [] }
    for (const note of notes) console.log(`note: ${note}`)
    console.log(`initialised ${causeId} in ${paths.home}${fromGit ? ' (history imported)' : ''}`)
    console.log(`  best commit      ${commit}`)
    console.log(`  identity         ${paths.identity}`)
    console.log(`  host's verifier  ${paths.verifierIdentity} (allowlisted in ${paths.config})`)
    console.log(`next: autoresearch-coordinator serve --home ${opts.home}`)
  })

program.command('check')
  .description('check a cause before hosting it: validate the manifest and files, run prepare and a few baseline trials in the sandbox, report the noise and suggest minImprovement and trials')
  .argument('<cause dir>', 'directory holding autoresearch.json and the cause files')
  .option('--trials <n>', 'baseline trials, on seeds seed-base, seed-base + 1, ...', wholeNumber(1), 3)
  .option('--seed-base <n>', 'seed of the first trial', wholeNumber(1), 1)
  .addOption(new Option('--sandbox <kind>', 'sandbox backend (default: bubblewrap); "none" runs WITHOUT isolation').choices([...SANDBOX_KINDS]))
  .option('--image <image>', 'container image for --sandbox docker|podman')
  .option('--expose <path>', 'host path to show read-only inside bubblewrap (an interpreter outside /usr); repeatable', (v: string, all: string[]) => [...all, resolve(v)], [] as string[])
  .option('--data-root <dir>', 'keep prepared data here (default: a temporary directory, so prepare always runs)')
  .option('--json', 'print the report as JSON')
  .action(async (dir: string, opts: { trials: number, seedBase: number, sandbox?: SandboxKind, image?: string, expose: string[], dataRoot?: string, json?: boolean }) => {
    let report
    const controller = new AbortController()
    process.once('SIGINT', () => { controller.abort() })
    try {
      report = await checkCause({
        signal: controller.signal,
        causeDir: resolve(dir), trials: opts.trials, seedBase: opts.seedBase, dataRoot: opts.dataRoot === undefined ? undefined : resolve(opts.dataRoot),
        sandbox: { sandbox: opts.sandbox, image: opts.image, expose: opts.expose, warn: (m) => { console.error(m) } },
        onTrial: ({ seed, result }, i, n) => { if (opts.json !== true) console.error(`trial ${i + 1}/${n} (seed ${seed}): ${result.ok ? result.metric : `failed: ${result.reason}`}`) }
      })
    } catch (err) {
      if (!(err instanceof CauseCheckError)) throw err
      if (opts.json === true) console.log(JSON.stringify({ ok: false, problems: err.problems }, null, 2))
      else console.error(`autoresearch-coordinator check: ${err.message}`)
      process.exitCode = 1
      return
    }
    const ok = report.trials.every((t) => t.ok)
    if (opts.json === true) console.log(JSON.stringify({ ok, ...report }, null, 2))
    else for (const line of describeCheck(report)) console.log(line)
    if (!ok) process.exitCode = 1
  })

program.command('serve')
  .description('serve the cause on libp2p and HTTP until interrupted')
  .requiredOption('--home <dir>', 'coordinator home made by init')
  .option('--listen <multiaddr...>', 'libp2p listen addresses (default: loopback only; /ip4/0.0.0.0/tcp/4001 lets other machines join)', DEFAULT_LISTEN)
  .option('--http-port <port>', 'HTTP port for the status API (0 picks a free one)', wholeNumber(0, 65535), 8080)
  .option('--http-host <host>', 'HTTP bind address (0.0.0.0: all interfaces)', '127.0.0.1')
  .option('--report-every <minutes>', 'write a digest of findings this often when experiments came in since the last (0: never; `report` writes one by hand)', wholeNumber(0), 30)
  .option('--json', 'print events as JSON lines instead of text')
  .action(async (opts: { home: string, listen: string[], httpPort: number, httpHost: string, reportEvery: number, json?: boolean }) => {
    const running = await serveCoordinator({ home: resolve(opts.home), listen: opts.listen, httpPort: opts.httpPort, httpHost: opts.httpHost, reportEveryMs: opts.reportEvery * 60_000 })
    const print = (line: string, json: object): void => { console.log(opts.json === true ? JSON.stringify(json) : line) }
    const notes = listenNotes(opts.listen, opts.httpHost)
    print([`coordinator ready: ${running.coordinator.causeId}`, ...running.multiaddrs.map((a) => `  libp2p ${a}`), `  http   ${running.httpUrl}`, ...notes.map((n) => `note: ${n}`)].join('\n'),
      { event: 'ready', causeId: running.coordinator.causeId, multiaddrs: running.multiaddrs, http: running.httpUrl, notes })
    running.coordinator.on('event', (e) => { print(describeEvent(e), { event: e.type, ...e }) })
    running.coordinator.on('peer', (e) => { print(describePeerEvent(e), { event: e.type, ...e }) })
    let stopping = false
    const stop = (): void => {
      if (stopping) return
      stopping = true
      running.stop().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })

program.command('report')
  .description('write a digest of the findings so far (what helped, what did not, crashes, open questions); the site shows the latest and workers\' agents read it')
  .requiredOption('--home <dir>', 'coordinator home')
  .option('--model <name>', 'have this OpenAI-compatible model write the digest from the facts the rules find (the facts follow it); without it the rules write it')
  .option('--base-url <url>', 'with --model: the API base URL, e.g. http://127.0.0.1:8080/v1', process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1')
  .option('--api-key-env <var>', 'with --model: environment variable holding the API key', 'OPENAI_API_KEY')
  .option('--json', 'print JSON')
  .action(async (opts: { home: string, json?: boolean, model?: string, baseUrl: string, apiKeyEnv: string }) => {
    const { store, paths } = openStore(opts.home)
    const manifest = await bestManifest(store, paths)
    const digest = opts.model === undefined
      ? reportDigest(store, manifest)
      : await reportDigestWithModel(store, manifest, { baseUrl: opts.baseUrl, model: opts.model, apiKey: process.env[opts.apiKeyEnv], onRequestRetry: (reason, ms) => { console.error(`model request failed (${reason}); asking again in ${ms / 1000} s`) } })
    store.close()
    console.log(opts.json === true ? JSON.stringify(digest) : `digest #${digest.seq}\n\n${digest.text}`)
  })

program.command('candidates')
  .description('list every candidate with its state, seeds, trials and the test\'s figures')
  .requiredOption('--home <dir>', 'coordinator home')
  .option('--json', 'print JSON (one array)')
  .action((opts: { home: string, json?: boolean }) => {
    const { store } = openStore(opts.home)
    const report = candidatesReport(store)
    store.close()
    if (opts.json === true) { console.log(JSON.stringify(report, null, 2)); return }
    if (report.length === 0) console.log('no candidates yet')
    for (const c of report) for (const line of candidateLines(c)) console.log(line)
  })

program.command('credits')
  .description('credit per identity: verified gain of standing merges, verification runs, quota, reputation')
  .requiredOption('--home <dir>', 'coordinator home')
  .option('--json', 'print JSON')
  .action(async (opts: { home: string, json?: boolean }) => {
    const { store, paths } = openStore(opts.home)
    const rows = credits(store, await bestManifest(store, paths))
    store.close()
    if (opts.json === true) { console.log(JSON.stringify(rows, null, 2)); return }
    for (const r of rows) console.log(`${r.publicKey.slice(0, 16)}  gain ${r.verifiedGain.toPrecision(4)}  merges ${r.merges}  runs ${r.verificationRuns}  quota ${r.quota}${r.banned ? '  BANNED' : ''}`)
  })

program.command('revert')
  .description('move the best back to before the latest verified merge (credits are recomputed; a running serve announces it)')
  .requiredOption('--home <dir>', 'coordinator home')
  .action(async (opts: { home: string }) => {
    const { store, paths } = openStore(opts.home)
    const { reverted, commit } = revertLatestMerge(store)
    store.close()
    await git.writeRef({ fs: gitFs, gitdir: paths.gitdir, ref: BEST_REF, value: commit, force: true })
    console.log(`reverted merge ${reverted}; the best is ${commit} again`)
  })

program.command('ban')
  .description('refuse every submission from an identity')
  .requiredOption('--home <dir>', 'coordinator home')
  .requiredOption('--key <public key>', 'the identity to ban')
  .option('--reason <text>', 'shown to the identity on each refused submission')
  .action((opts: { home: string, key: string, reason?: string }) => {
    const { store } = openStore(opts.home)
    store.setBanned(publicKey(opts.key), true, opts.reason ?? null)
    store.close()
    console.log(`banned ${opts.key}`)
  })

program.command('unban')
  .description('accept submissions from a banned identity again')
  .requiredOption('--home <dir>', 'coordinator home')
  .requiredOption('--key <public key>', 'the identity to unban')
  .action((opts: { home: string, key: string }) => {
    const { store } = openStore(opts.home)
    store.setBanned(publicKey(opts.key), false, null)
    store.close()
    console.log(`unbanned ${opts.key}`)
  })

program.command('hardware-class')
  .description('show, set or forget the reference hardware class of a cause whose manifest says hardware.matters "class" (docs/causes.md); works while serve runs')
  .requiredOption('--home <dir>', 'coordinator home')
  .addOption(new Option('--set <class>', 'lease jobs only to verifiers of this class from now on').argParser(hardwareClassArg).conflicts('forget'))
  .option('--forget', 'forget the recorded class: the next verifier to ask for work sets it')
  .action(async (opts: { home: string, set?: string, forget?: boolean }) => {
    const { store, paths } = openStore(opts.home)
    try {
      const { hardware } = await bestManifest(store, paths)
      if (opts.set !== undefined) store.recordHardwareReference(opts.set)
      if (opts.forget === true) store.forgetHardwareReference()
      console.log(describeReference(hardware, store.hardwareReference()))
    } finally {
      store.close()
    }
  })

program.command('program')
  .description('replace the cause\'s program.md on the running cause: a host commit on top of the best, announced to workers (who read it at their next step); works while serve runs')
  .requiredOption('--home <dir>', 'coordinator home')
  .argument('<file>', 'the new program.md')
  .option('--message <text>', 'why it changed (kept in the commit message)')
  .action(async (file: string, opts: { home: string, message?: string }) => {
    const { store, paths } = openStore(opts.home)
    try {
      const update = await updateProgram(paths, store, fs.readFileSync(resolve(file)), opts.message)
      console.log(`${update.path} updated: best ${update.commit} (program ${update.seq}, on ${update.parent.slice(0, 12)}); a running serve announces it within 2 s`)
    } finally {
      store.close()
    }
  })

const verifiers = program.command('verifiers')
  .description('list, add or remove the verifier keys whose attestations count (config.json\'s verifiers); a running serve takes a change up within 2 s')

verifiers.command('list')
  .requiredOption('--home <dir>', 'coordinator home')
  .option('--json', 'print JSON')
  .action((opts: { home: string, json?: boolean }) => {
    const config = loadConfig(homePaths(resolve(opts.home)))
    if (opts.json === true) console.log(JSON.stringify({ verifierMode: config.verifierMode, verifiers: config.verifiers }, null, 2))
    else for (const key of config.verifiers) console.log(key)
  })

for (const [name, edit, done] of [['add', addVerifier, 'added'], ['remove', removeVerifier, 'removed']] as const) {
  verifiers.command(name)
    .requiredOption('--home <dir>', 'coordinator home')
    .argument('<public key>', 'the verifier\'s public key (64 hex digits; the verifier prints it at start-up)')
    .action((key: string, opts: { home: string }) => {
      const paths = homePaths(resolve(opts.home))
      const config = edit(loadConfig(paths), key)
      writeConfig(paths, config)
      console.log(`${done} ${key.trim()}; ${config.verifiers.length} verifier key(s) now (a running serve takes it up within 2 s)`)
    })
}

program.command('status')
  .description('the cause at a glance from the home\'s database, without the site: the best, candidates by state, verifiers seen, the last merges; works while serve runs')
  .requiredOption('--home <dir>', 'coordinator home')
  .option('--json', 'print JSON')
  .action(async (opts: { home: string, json?: boolean }) => {
    const paths = homePaths(resolve(opts.home))
    const config = loadConfig(paths)
    const store = new Store(paths.database, { readonly: true })
    try {
      const status = loadHostStatus(store, await bestManifest(store, paths), config)
      if (opts.json === true) console.log(JSON.stringify(status, null, 2))
      else for (const line of describeHostStatus(status, Date.now())) console.log(line)
    } finally {
      store.close()
    }
  })

// One line for the person at the keyboard; the stack of an unexpected failure goes to DEBUG=autoresearch:coordinator:cli.
program.parseAsync().catch((err: Error) => {
  if (!(err instanceof AutoresearchError)) log.error('%s failed: %e', process.argv.slice(2).join(' '), err)
  console.error(`autoresearch-coordinator: ${err.name}: ${err.message}`)
  process.exit(1)
})
