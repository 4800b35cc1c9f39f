import { z } from 'zod'
import { editableEntry, isEditable } from './editable.ts'
import { InvalidManifestError } from './errors.ts'

export const MANIFEST_FILE = 'autoresearch.json'

/** A path inside the cause repo: relative, forward slashes, no `.`/`..` segments. */
export const RepoPath = z.string().min(1).max(255).refine(
  (p) => !p.startsWith('/') && !p.includes('\\') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
  'a relative path inside the repository, without "." or ".." segments'
)

/** An `editable` entry: a file, or a directory written with a trailing slash (`src/`). */
export const EditableEntry = z.string().min(1).max(255).refine(
  (p) => RepoPath.safeParse(p.endsWith('/') ? p.slice(0, -1) : p).success,
  'a relative path inside the repository (a directory ends with "/"), without "." or ".." segments'
)

/** Seconds between the budget's SIGTERM and the SIGKILL when a cause gives no `train.graceSeconds`. */
export const DEFAULT_GRACE_SECONDS = 10

/** Defaults of `verification.seedInsensitivity`: flags a candidate whose seed spread is far below the baseline's. */
export const SEED_INSENSITIVITY = { varianceRatio: 0.05, significance: 0.01 }

const Command = z.array(z.string().min(1)).min(1).max(64)

const Step = z.object({
  command: Command,
  timeoutSeconds: z.number().positive().max(24 * 3600).default(600)
}).strict()

/** The defaults of a manifest's `collaboration`. */
export const COLLABORATION = { claimMinutes: 15, plateau: 8, buildOnPending: false }

/** The deepest `verification.speculation.window` a cause may declare. */
export const MAX_SPECULATION_WINDOW = 16

/** The most members `verification.batch.size` may declare. */
export const MAX_BATCH_SIZE = 16

export const ManifestSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, ".", "_" or "-", at most 64'),
  description: z.string().max(2000).optional(),
  program: RepoPath.default('program.md'),
  editable: z.array(EditableEntry).min(1).max(64),
  /** `network: true`: prepare may reach the internet through its own network namespace, never the host's loopback or private ranges (docs/sandbox.md). */
  prepare: Step.extend({
    network: z.boolean().default(false),
    /** `true`: prepare also writes held-out data into AUTORESEARCH_HELDOUT, which the runner shows to evaluate and never to train (docs/causes.md). */
    heldOut: z.boolean().optional()
  }).strict().optional(),
  train: Step.extend({
    /** Wall time train may take, enforced by the runner: SIGTERM at the budget, SIGKILL `graceSeconds` (default 10) later; a train still running at its budget fails. */
    budgetSeconds: z.number().positive().max(24 * 3600).optional(),
    graceSeconds: z.number().min(0).max(600).optional(),
    /**
     * A budget of work (examples, tokens, steps) that frozen code counts in train and evaluate
     * reports as the result's `trained`; the runner refuses a result over `amount` (docs/causes.md).
     */
    workBudget: z.object({
      unit: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a lowercase word, such as "tokens" or "examples"'),
      amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER)
    }).strict().optional()
  }).strict(),
  /**
   * `seeded: true` gives evaluate the trial's AUTORESEARCH_SEED; by default it does not see it,
   * so no seed can select the held-out split or what evaluate samples (docs/causes.md).
   */
  evaluate: Step.extend({ seeded: z.boolean().default(false) }).strict().optional(),
  metric: z.object({
    name: z.string().min(1).max(64),
    direction: z.enum(['minimize', 'maximize']),
    /** Only for causes without an evaluate step: the metric is read from train's stdout. */
    stdoutPattern: z.string().max(200).optional()
  }).strict(),
  verification: z.object({
    trials: z.number().int().min(1).max(32).default(3),
    quorum: z.number().int().min(1).max(16).default(1),
    /** 1 − confidence: how often at most a candidate without the margin is accepted, spent over its rounds (spending.ts). */
    confidence: z.number().gt(0.5).lt(1).default(0.95),
    minImprovement: z.number().min(0),
    /**
     * A candidate whose metric varies across seeds less than `varianceRatio` times the
     * baseline's, by a one-sided F test at `significance`, ignores AUTORESEARCH_SEED and is
     * rejected (docs/causes.md). `varianceRatio: 0` turns the rule off.
     */
    seedInsensitivity: z.object({
      varianceRatio: z.number().min(0).max(1).default(SEED_INSENSITIVITY.varianceRatio),
      significance: z.number().gt(0).lt(0.5).default(SEED_INSENSITIVITY.significance)
    }).strict().default(SEED_INSENSITIVITY),
    /**
     * Lets a verifier stop a clear loser before its last pair (protocol/src/sequential.ts,
     * docs/trust.md): `noise` is the standard deviation of one paired gain (candidate minus
     * baseline on one seed) in metric units, `futility` the most a true gain of minImprovement
     * may lose per look (default 0.01). Absent: only a failed pair stops a job early.
     * `accept`: the share of the false-acceptance rate (1 − confidence) spent on early
     * acceptance, at most half of it; the rounds' tests share what is left
     * (protocol/src/sequential.ts `acceptEarly`, protocol/src/spending.ts). Absent: acceptance
     * always reads the whole round.
     */
    sequential: z.object({
      noise: z.number().positive(),
      futility: z.number().gt(0).max(0.2).default(0.01),
      accept: z.number().gt(0).max(0.25).optional()
    }).strict().optional(),
    /**
     * Lets the coordinator spread the pairs of one round over the verifiers waiting for work
     * (with quorum 1 and an allowlist), so a round takes about one pair's time. Only for causes
     * whose verifiers' machines measure alike (one hardware class, or a CPU cause): the
     * seed-insensitivity test then also pools the spread across machines (docs/trust.md).
     */
    splitRounds: z.boolean().default(false),
    /**
     * A candidate's verified runs serve as baselines once it is the best (or the base of a
     * speculative job): the pool of seeds on a commit that was a candidate begins with the seeds
     * it was verified on, and verifiers keep their candidate runs as baseline runs of that
     * commit, so a job after a merge mostly costs its candidate runs. The trade-off: the first
     * round on a new best uses seeds already published with its verdict (docs/trust.md).
     */
    reuseCandidateRuns: z.boolean().default(false),
    /**
     * Speculative verification (docs/trust.md, "Speculation"): while a candidate on the best is
     * verified, the next in the queue whose change merges cleanly onto it is verified on top of
     * it, up to `window` deep (the coordinator's window grows by one per merge on the best and
     * halves per rejection, never past this). Absent: every candidate is verified on the best.
     */
    speculation: z.object({ window: z.number().int().min(1).max(MAX_SPECULATION_WINDOW) }).strict().optional(),
    /**
     * Batches (docs/trust.md, "Batches"): up to `size` queued candidates on the best that were
     * never verified, from submitters with a verified merge, are combined into one group commit
     * and verified once; a pass merges them as one step, each author credited an equal share of
     * the group's verified gain; a failure splits the batch in halves. Absent: each candidate is
     * verified on its own.
     */
    batch: z.object({ size: z.number().int().min(2).max(MAX_BATCH_SIZE) }).strict().optional(),
    /**
     * A queued candidate whose change conflicts with a newer best (docs/trust.md, "Conflicts"):
     * `stale` sends it back to its author; `candidate` carries it with its own lines where the two
     * conflict, when its claimed metric still beats the new best's by `minImprovement`, and
     * verifies it against the new best like any carried candidate. Default `stale`.
     */
    conflicts: z.enum(['stale', 'candidate']).default('stale')
  }).strict(),
  /**
   * How volunteers share the search (issue [collab]): a claim on an edit or a hypothesis holds
   * for `claimMinutes`; after `plateau` experiments in a row without a keep a worker changes
   * strategy (bolder changes, a planner's hypothesis). `buildOnPending`: a worker with nothing
   * kept on the best may build on another worker's candidate still queued there (docs/trust.md,
   * "Building on a pending candidate"): queued candidates are then readable by every peer.
   */
  collaboration: z.object({
    claimMinutes: z.number().gt(0).max(24 * 60).default(COLLABORATION.claimMinutes),
    plateau: z.number().int().min(1).max(1000).default(COLLABORATION.plateau),
    buildOnPending: z.boolean().default(COLLABORATION.buildOnPending)
  }).strict().default(COLLABORATION),
  /** What a machine needs to run this cause; a worker without it says so and stops. */
  requires: z.object({ gpu: z.boolean().default(false) }).strict().default({ gpu: false }),
  /**
   * How results depend on the machine (docs/causes.md, hardware classes). `any`: they compare
   * across machines (a fixed step budget). `class`: they do not (a wall-clock budget), so
   * verification is leased only to verifiers of the reference class: `reference` when given,
   * else the class of the first counting verifier to ask for work, which the coordinator records.
   */
  hardware: z.object({
    matters: z.enum(['any', 'class']).default('any'),
    reference: z.string().trim().min(1).max(200).optional()
  }).strict().default({ matters: 'any' }),
  limits: z.object({
    maxPackBytes: z.number().int().positive().max(256 * 1024 * 1024).default(8 * 1024 * 1024),
    maxFileBytes: z.number().int().positive().max(64 * 1024 * 1024).default(1024 * 1024)
  }).strict().default({ maxPackBytes: 8 * 1024 * 1024, maxFileBytes: 1024 * 1024 })
}).strict().superRefine((m, ctx) => {
  if (isEditable(m, MANIFEST_FILE)) ctx.addIssue({ code: 'custom', path: ['editable'], message: `${MANIFEST_FILE} is always protected` })
  const grace = m.train.graceSeconds ?? DEFAULT_GRACE_SECONDS
  if (m.train.budgetSeconds !== undefined && m.train.budgetSeconds + grace > m.train.timeoutSeconds) {
    ctx.addIssue({ code: 'custom', path: ['train', 'budgetSeconds'], message: `budgetSeconds (${m.train.budgetSeconds}) plus graceSeconds (${grace}) must fit in train.timeoutSeconds (${m.train.timeoutSeconds}), the hard cap` })
  }
  if (m.train.graceSeconds !== undefined && m.train.budgetSeconds === undefined) {
    ctx.addIssue({ code: 'custom', path: ['train', 'graceSeconds'], message: 'graceSeconds only means something with train.budgetSeconds' })
  }
  const accept = m.verification.sequential?.accept
  if (accept !== undefined && accept > (1 - m.verification.confidence) / 2) {
    ctx.addIssue({ code: 'custom', path: ['verification', 'sequential', 'accept'], message: `accept (${accept}) may spend at most half of the false-acceptance rate 1 − confidence (${(1 - m.verification.confidence).toPrecision(3)}); the rounds keep the rest` })
  }
  if (accept !== undefined && m.verification.trials < 3) {
    ctx.addIssue({ code: 'custom', path: ['verification', 'sequential', 'accept'], message: `an early acceptance looks after two pairs and before the last, so it needs trials of at least 3 (this cause has ${m.verification.trials})` })
  }
  if (m.hardware.reference !== undefined && m.hardware.matters !== 'class') {
    ctx.addIssue({ code: 'custom', path: ['hardware', 'reference'], message: 'a reference class only means something with hardware.matters "class"' })
  }
  // Both are checked by or shown to the frozen evaluate step alone.
  if (m.evaluate === undefined && m.prepare?.heldOut === true) ctx.addIssue({ code: 'custom', path: ['prepare', 'heldOut'], message: 'held-out data are for the evaluate step, and this cause has none' })
  if (m.evaluate === undefined && m.train.workBudget !== undefined) ctx.addIssue({ code: 'custom', path: ['train', 'workBudget'], message: 'the evaluate step reports the work train did, and this cause has none' })
  if (m.evaluate === undefined && m.metric.stdoutPattern === undefined) {
    ctx.addIssue({ code: 'custom', path: ['metric', 'stdoutPattern'], message: 'a cause without an evaluate step must give metric.stdoutPattern' })
  }
  // Prepare and evaluate run only the protected files: an editable file they name would be
  // missing there, and if it were not, a candidate could rewrite its own data or score.
  for (const step of ['prepare', 'evaluate'] as const) {
    for (const arg of m[step]?.command ?? []) {
      const editable = editableEntry(m, arg.replace(/^\.\//, ''))
      if (editable !== undefined) ctx.addIssue({ code: 'custom', path: ['editable'], message: `"${editable}" is listed as editable, but the ${step} step runs "${arg}": ${step} code must be protected, or a candidate could change its own ${step === 'evaluate' ? 'score' : 'data'}` })
    }
  }
  if (m.metric.stdoutPattern !== undefined) {
    let groups = -1
    try {
      // A regex with N groups matches the empty string with N + 1 entries.
      groups = (new RegExp(`${m.metric.stdoutPattern}|`).exec('')?.length ?? 1) - 1
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['metric', 'stdoutPattern'], message: `not a valid regular expression: ${(err as Error).message}` })
    }
    if (groups === 0) ctx.addIssue({ code: 'custom', path: ['metric', 'stdoutPattern'], message: 'needs a capturing group around the number, e.g. "val_bpb: ([0-9.]+)"' })
  }
})

export type Manifest = z.infer<typeof ManifestSchema>

/** Parses a manifest, turning schema issues into one readable InvalidManifestError. */
export function parseManifest (json: unknown): Manifest {
  const result = ManifestSchema.safeParse(json)
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new InvalidManifestError(`${MANIFEST_FILE} is invalid:\n${lines.join('\n')}`)
  }
  return result.data
}

export function parseManifestText (text: string): Manifest {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new InvalidManifestError(`${MANIFEST_FILE} is not JSON: ${(err as Error).message}`)
  }
  return parseManifest(json)
}

/** Whether `candidate` is better than `reference` by more than `margin` in the manifest's direction. */
export function improvement (manifest: Pick<Manifest, 'metric'>, reference: number, candidate: number): number {
  return manifest.metric.direction === 'minimize' ? reference - candidate : candidate - reference
}

/** Where a cause's metric comes from: its frozen evaluate step, or (self-reported) train's stdout. */
export function metricSource (manifest: Manifest): 'evaluator' | 'stdout' {
  return manifest.evaluate !== undefined ? 'evaluator' : 'stdout'
}
