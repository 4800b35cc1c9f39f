import '@autoresearch/protocol'
import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import git from 'isomorphic-git'
import { logger } from '@libp2p/logger'
import { AutoresearchError, gitFs, MANIFEST_FILE, parseManifestText, PublicKeyHex, readFileAt, UsageError, wholeNumber } from '@autoresearch/protocol'
import { SANDBOX_KINDS, type SandboxKind } from '@autoresearch/runner'
import { candidatesReport, credits, revertLatestMerge } from './admin.ts'
import { CauseCheckError, checkCause, describeCheck } from './check.ts'
import { describeEvent } from './events.ts'
import { BEST_REF, homePaths, initHome, loadConfig } from './home.ts'
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
  .description('make a coordinator home from a cause directory or an example cause (its files become the first best)')
  .requiredOption('--home <dir>', 'coordinator home to create')
  .option('--from <cause dir>', 'directory holding autoresearch.json and the cause files')
  .option('--template <name>', `start from an example cause of this repository: ${TEMPLATES.join(', ')}`)
  .action(async (opts: { home: string, from?: string, template?: string }) => {
    if ((opts.from === undefined) === (opts.template === undefined)) throw new ConflictingOptionsError('give either --from <cause dir> or --template <name> (one of them, not both)')
    const from = opts.template !== undefined ? templateDir(opts.template) : resolve(opts.from as string)
    const { causeId, commit, paths } = await initHome(resolve(opts.home), from)
    console.log(`initialised ${causeId} in ${paths.home}`)
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
  .option('--listen <multiaddr...>', 'libp2p listen addresses', ['/ip4/0.0.0.0/tcp/4001'])
  .option('--http-port <port>', 'HTTP port for the status API (0 picks a free one)', wholeNumber(0, 65535), 8080)
  .option('--http-host <host>', 'HTTP bind address', '127.0.0.1')
  .option('--report-every <minutes>', 'write a digest of findings this often when experiments came in since the last (0: never; `report` writes one by hand)', wholeNumber(0), 30)
  .option('--json', 'print events as JSON lines instead of text')
  .action(async (opts: { home: string, listen: string[], httpPort: number, httpHost: string, reportEvery: number, json?: boolean }) => {
    const running = await serveCoordinator({ home: resolve(opts.home), listen: opts.listen, httpPort: opts.httpPort, httpHost: opts.httpHost, reportEveryMs: opts.reportEvery * 60_000 })
    const print = (line: string, json: object): void => { console.log(opts.json === true ? JSON.stringify(json) : line) }
    print([`coordinator ready: ${running.coordinator.causeId}`, ...running.multiaddrs.map((a) => `  libp2p ${a}`), `  http   ${running.httpUrl}`].join('\n'),
      { event: 'ready', causeId: running.coordinator.causeId, multiaddrs: running.multiaddrs, http: running.httpUrl })
    running.coordinator.on('event', (e) => { print(describeEvent(e), { event: e.type, ...e }) })
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
    const report = candidatesReport(store) as Array<Record<string, unknown>>
    store.close()
    if (opts.json === true) { console.log(JSON.stringify(report, null, 2)); return }
    for (const c of report) console.log(`#${String(c.seq).padEnd(4)} ${String(c.state).padEnd(9)} ${String(c.submitter).slice(0, 10)} claimed ${c.claimedMetric} ${c.reason ?? ''}`)
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

// One line for the person at the keyboard; the stack of an unexpected failure goes to DEBUG=autoresearch:coordinator:cli.
program.parseAsync().catch((err: Error) => {
  if (!(err instanceof AutoresearchError)) log.error('%s failed: %e', process.argv.slice(2).join(' '), err)
  console.error(`autoresearch-coordinator: ${err.name}: ${err.message}`)
  process.exit(1)
})
