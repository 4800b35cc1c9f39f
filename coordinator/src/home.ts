import * as fs from 'node:fs'
import { join } from 'node:path'
import git from 'isomorphic-git'
import { z } from 'zod'
import { claimPidLock, editableProblems, gitFs, Identity, MANIFEST_FILE, writeNestedTree, parseManifestText, PublicKeyHex, InvalidManifestError, UsageError, type Manifest } from '@autoresearch/protocol'
import { listCause } from './cause-files.ts'
import { Store } from './store/index.ts'

export const BEST_REF = 'refs/heads/best'

export const ConfigSchema = z.object({
  causeId: z.string().min(1),
  /** Public keys whose attestations count (default: the host's own verifier). */
  verifiers: z.array(PublicKeyHex).min(1),
  /** `allowlist` (default): only `verifiers` count. `open`: any key, weighed by reputation. */
  verifierMode: z.enum(['allowlist', 'open']).default('allowlist'),
  /** Open mode: agreements in a row with trusted verifiers after which a new key's attestations count (default OPEN_VERIFICATION.agreementsToTrust). */
  trustAfterAgreements: z.number().int().min(1).max(1000).optional(),
  leaseSeconds: z.number().int().positive().optional(),
  /** Refused submissions one address may send per hour before all of its submissions are refused (default REFUSALS.perAddress). */
  refusalsPerAddress: z.number().int().positive().optional(),
  /** Experiment reports one identity may send per minute, and at once (default REPORT_RATE, rules/report-rate.ts). */
  reportsPerMinute: z.number().int().positive().optional(),
  reportBurst: z.number().int().positive().optional(),
  /** Identities' worth of those allowances (and of claims and hypotheses) one address gets (default SHARED_PER_ADDRESS, shared-intake.ts). */
  sharedPerAddress: z.number().int().positive().optional()
}).strict()
export type Config = z.infer<typeof ConfigSchema>

export interface HomePaths {
  home: string
  gitdir: string
  database: string
  identity: string
  verifierIdentity: string
  config: string
  /** Holds the pid of the process serving this home. */
  lock: string
}

export function homePaths (home: string): HomePaths {
  return {
    home,
    gitdir: join(home, 'cause.git'),
    database: join(home, 'coordinator.db'),
    identity: join(home, 'identity.key'),
    verifierIdentity: join(home, 'verifier.key'),
    config: join(home, 'config.json'),
    lock: join(home, 'serve.lock')
  }
}

export class HomeInUseError extends UsageError {
  override name = 'HomeInUseError'
}

/**
 * Claims the home for one serving process: two coordinators on one database and
 * repository would hand out the same sequence numbers. A lock whose process is
 * gone (killed with SIGKILL, the machine rebooted) is taken over.
 */
export function lockHome (paths: HomePaths): () => void {
  return claimPidLock(paths.lock, (pid) => new HomeInUseError(pid > 0
    ? `${paths.home} is already served by process ${pid}; stop it first (or remove ${paths.lock} if that process is not a coordinator)`
    : `could not claim ${paths.lock}`))
}

export class HomeExistsError extends UsageError {
  override name = 'HomeExistsError'
}

/**
 * Makes a coordinator home from a cause directory: a bare git repository whose
 * first commit holds the cause's files (the first best), the database, the
 * coordinator's identity and the host's own verifier identity.
 */
export async function initHome (home: string, causeDir: string): Promise<{ paths: HomePaths, manifest: Manifest, causeId: string, commit: string }> {
  const paths = homePaths(home)
  if (fs.existsSync(paths.config)) throw new HomeExistsError(`${home} is already a coordinator home (found ${paths.config})`)
  const manifestPath = join(causeDir, MANIFEST_FILE)
  if (!fs.existsSync(manifestPath)) throw new InvalidManifestError(`${causeDir} has no ${MANIFEST_FILE}`)
  const manifest = parseManifestText(fs.readFileSync(manifestPath, 'utf8'))
  const { files, links } = listCause(causeDir)
  if (links.length > 0) throw new InvalidManifestError(`${join(causeDir, links[0] as string)} is a symlink; a cause may hold only regular files`)
  assertCauseFiles(manifest, files, causeDir)

  fs.mkdirSync(home, { recursive: true, mode: 0o700 })
  const { gitdir } = paths
  // HEAD names refs/heads/best, so `git clone http://HOST:PORT/cause.git` checks out the best (git-http/).
  await git.init({ fs: gitFs, dir: gitdir, gitdir, bare: true, defaultBranch: 'best' })
  const commit = await commitDirectory(gitdir, causeDir, files, `cause ${manifest.name}: initial best`)
  await git.writeRef({ fs: gitFs, gitdir, ref: BEST_REF, value: commit, force: true })

  return { paths, manifest, commit, causeId: recordHome(paths, manifest, commit) }
}

/** What `init` checks of a cause's files, from a directory or a git commit; the same rule as `check` (protocol's editableProblems): a directory entry must hold files. */
export function assertCauseFiles (manifest: Manifest, files: string[], where: string): void {
  const problems = [
    ...(files.includes(manifest.program) ? [] : [`${MANIFEST_FILE} names ${manifest.program}, which is not in ${where}`]),
    ...editableProblems(manifest, files, where)
  ]
  if (problems.length > 0) throw new InvalidManifestError(problems.join('; '))
}

/** Writes the rest of a home around a repository whose best is `commit`: the database, the identities, config.json (last). Returns the cause id. */
export function recordHome (paths: HomePaths, manifest: Manifest, commit: string): string {
  const causeId = `${manifest.name}/${commit.slice(0, 12)}`
  const store = new Store(paths.database)
  store.transaction(() => {
    store.setMeta('cause_id', causeId)
    store.insertMerge({ commit_oid: commit, parent_oid: null, candidate_seq: null, metric: null, baseline_metric: null, merged_at: Date.now(), kind: 'initial' })
  })
  store.close()

  Identity.loadOrCreate(paths.identity)
  const { identity: verifier } = Identity.loadOrCreate(paths.verifierIdentity)
  const config: Config = { causeId, verifiers: [verifier.publicKey], verifierMode: 'allowlist' }
  // Written last: its presence marks a finished init.
  fs.writeFileSync(paths.config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
  return causeId
}

async function commitDirectory (gitdir: string, dir: string, files: string[], message: string): Promise<string> {
  const entries = new Map<string, { oid: string, mode: string }>()
  for (const path of files) entries.set(path, { oid: await git.writeBlob({ fs: gitFs, gitdir, blob: fs.readFileSync(join(dir, path)) }), mode: '100644' })
  const tree = await writeNestedTree(gitdir, entries)
  const author = { name: 'autoresearch-coordinator', email: 'coordinator@autoresearch.invalid', timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 }
  return git.writeCommit({ fs: gitFs, gitdir, commit: { tree, parent: [], author, committer: author, message: message + '\n' } })
}

/** Points the bare repository's HEAD at the best (a clone checks out what HEAD names), if it names anything else. */
export async function ensureHeadIsBest (gitdir: string): Promise<void> {
  const head = await git.resolveRef({ fs: gitFs, gitdir, ref: 'HEAD', depth: 2 }).catch(() => undefined)
  if (head !== BEST_REF) await git.writeRef({ fs: gitFs, gitdir, ref: 'HEAD', value: BEST_REF, symbolic: true, force: true })
}

/** A directory given as a home that `init` never made. */
export class NotAHomeError extends UsageError {
  override name = 'NotAHomeError'
}

/** Writes config.json whole or not at all (a running `serve` re-reads it: see Coordinator's config watch). */
export function writeConfig (paths: HomePaths, config: Config): void {
  const temporary = `${paths.config}.${process.pid}.partial`
  fs.writeFileSync(temporary, JSON.stringify(ConfigSchema.parse(config), null, 2) + '\n', { mode: 0o600 })
  fs.renameSync(temporary, paths.config)
}

export function loadConfig (paths: HomePaths): Config {
  if (!fs.existsSync(paths.config)) throw new NotAHomeError(`${paths.home} is not a coordinator home; create one with: autoresearch-coordinator init --home ${paths.home} --from <cause dir>`)
  return ConfigSchema.parse(JSON.parse(fs.readFileSync(paths.config, 'utf8')))
}
