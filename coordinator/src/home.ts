import * as fs from 'node:fs'
import { join } from 'node:path'
import git from 'isomorphic-git'
import { z } from 'zod'
import { editableProblems, gitFs, Identity, MANIFEST_FILE, writeNestedTree, parseManifestText, PublicKeyHex, InvalidManifestError, UsageError, type Manifest } from '@autoresearch/protocol'
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

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Claims the home for one serving process: two coordinators on one database and
 * repository would hand out the same sequence numbers. A lock whose process is
 * gone (killed with SIGKILL, the machine rebooted) is taken over.
 */
export function lockHome (paths: HomePaths): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(paths.lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 })
      return () => { fs.rmSync(paths.lock, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number(fs.readFileSync(paths.lock, 'utf8').trim())
      if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new HomeInUseError(`${paths.home} is already served by process ${pid}; stop it first (or remove ${paths.lock} if that process is not a coordinator)`)
      }
      fs.rmSync(paths.lock, { force: true })
    }
  }
  throw new HomeInUseError(`could not claim ${paths.lock}`)
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
  // The same rule as `check` (protocol's editableProblems): a directory entry must hold files.
  const problems = [
    ...(files.includes(manifest.program) ? [] : [`${MANIFEST_FILE} names ${manifest.program}, which is not in ${causeDir}`]),
    ...editableProblems(manifest, files, causeDir)
  ]
  if (problems.length > 0) throw new InvalidManifestError(problems.join('; '))

  fs.mkdirSync(home, { recursive: true, mode: 0o700 })
  const { gitdir } = paths
  await git.init({ fs: gitFs, dir: gitdir, gitdir, bare: true, defaultBranch: 'best' })
  const commit = await commitDirectory(gitdir, causeDir, files, `cause ${manifest.name}: initial best`)
  await git.writeRef({ fs: gitFs, gitdir, ref: BEST_REF, value: commit, force: true })

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
  return { paths, manifest, causeId, commit }
}

async function commitDirectory (gitdir: string, dir: string, files: string[], message: string): Promise<string> {
  const entries = new Map<string, { oid: string, mode: string }>()
  for (const path of files) entries.set(path, { oid: await git.writeBlob({ fs: gitFs, gitdir, blob: fs.readFileSync(join(dir, path)) }), mode: '100644' })
  const tree = await writeNestedTree(gitdir, entries)
  const author = { name: 'autoresearch-coordinator', email: 'coordinator@autoresearch.invalid', timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 }
  return git.writeCommit({ fs: gitFs, gitdir, commit: { tree, parent: [], author, committer: author, message: message + '\n' } })
}

/** A directory given as a home that `init` never made. */
export class NotAHomeError extends UsageError {
  override name = 'NotAHomeError'
}

export function loadConfig (paths: HomePaths): Config {
  if (!fs.existsSync(paths.config)) throw new NotAHomeError(`${paths.home} is not a coordinator home; create one with: autoresearch-coordinator init --home ${paths.home} --from <cause dir>`)
  return ConfigSchema.parse(JSON.parse(fs.readFileSync(paths.config, 'utf8')))
}
