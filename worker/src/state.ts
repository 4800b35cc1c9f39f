import * as fs from 'node:fs'
import { logger } from '@libp2p/logger'
import { z } from 'zod'
import { ExperimentReport, SubmissionBody } from '@autoresearch/protocol'

const log = logger('autoresearch:worker:state')

const LocalSchema = z.object({ commit: z.string(), metric: z.number() })
const SeedsSchema = z.object({ experiment: z.number().int().min(0), confirm: z.number().int().min(0) })

/** What a submission is made of before it is signed (what `CoordinatorClient.submit` takes). */
const SubmissionFieldsSchema = SubmissionBody.omit({ type: true, publicKey: true, nonce: true, time: true, packSha256: true })
export type SubmissionFields = z.infer<typeof SubmissionFieldsSchema>

/** A submission the network did not answer (coordinator down, connection lost): sent again on the next step. */
const UnsentSchema = z.object({ fields: SubmissionFieldsSchema, attempts: z.number() })
export type UnsentSubmission = z.infer<typeof UnsentSchema>

/** Where the loop stands on one network best. */
const PositionSchema = z.object({
  /** The network best this worker builds on, with its own measurement of it. */
  base: LocalSchema,
  /** The seeds the loop runs on this base (operations/seeds.ts); `base.metric` and `local.metric` are on `seeds.experiment`. */
  seeds: SeedsSchema,
  /** The best commit found locally on that base (the base itself until an edit is kept). */
  local: LocalSchema,
  /** Descriptions of the edits kept on the current base, for the submission. */
  keptSinceBase: z.array(z.string()),
  /** Our own measurement (first seed) of the last candidate submitted on this base. */
  lastClaim: z.number().optional(),
  /** The local commit last submitted on this base: a later submission carries only what was kept after it (operations/delta.ts). */
  submittedLocal: z.string().optional(),
  /** The candidate the coordinator received for `submittedLocal`: a later find that does not apply without its edits goes on top of it (operations/delta.ts, `onto`). */
  submittedCandidate: z.string().optional(),
  /**
   * Another worker's pending candidate on this base that the local chain starts with
   * (operations/adopt.ts): never sent as this worker's own, dropped if it is rejected.
   */
  adopted: z.object({ seq: z.number().int().positive(), commit: z.string() }).optional(),
  /** Standard deviation of the best's metric over this worker's seeds; null until measured. */
  noise: z.number().nullable(),
  /** The noise is not measured on this best yet: it is when a decision first hangs on it (operations/noise.ts `noiseNeeded`). */
  noiseDue: z.boolean().optional(),
  /** Bests followed since the noise was measured (0 on the best it was measured on); see operations/noise.ts. */
  noiseAge: z.number().int().min(0).optional(),
  /** The hardware class the noise was measured on: on other hardware it is measured again. */
  noiseHardware: z.string().optional()
})
export type Position = z.infer<typeof PositionSchema>

/** What survives a restart (results.tsv holds the history; this holds where the loop stands). */
const SavedStateSchema = PositionSchema.extend({
  /** Absent from the state of workers before seeds were planned per best: the worker's own seeds. */
  seeds: SeedsSchema.optional(),
  /** Our submissions whose fate is not known yet, by candidate sequence number. */
  pending: z.array(z.number()),
  experiments: z.number(),
  unsent: z.array(UnsentSchema).optional(),
  /** Experiment reports not sent yet (operations/reports.ts). */
  reports: z.array(ExperimentReport).optional(),
  /** Local bests already confirmed once, oldest first (absent from older state files). */
  tried: z.array(z.string()).optional(),
  /** Trees of our receipted submissions, oldest first (absent from older state files). */
  submittedTrees: z.array(z.string()).optional(),
  /** The tree each submission in `pending` sent (absent from older state files): freed if it goes stale. */
  pendingTrees: z.array(z.object({ seq: z.number().int().min(0), tree: z.string() })).optional(),
  /** Finds sent alone (operations/delta.ts), oldest first: each one's tree and the local best it came from, dropped if it is rejected (absent from older state files). */
  deltas: z.array(z.object({ tree: z.string(), local: z.string() })).optional()
})
export type SavedState = z.infer<typeof SavedStateSchema>

/**
 * How many of `tried`, `submittedTrees` and `deltas` state.json keeps, the newest. They only matter
 * while the local best can still come back to one of them (a carry-over onto a new best
 * rebuilds the tree of a pending submission): a handful of bests at a time, far under this
 * bound, which keeps a worker that runs for months from growing its state file without end.
 */
export const REMEMBERED = 256

/** The saved state, or undefined when there is none or it cannot be read (the loop then starts from the best). */
export function loadState (path: string): SavedState | undefined {
  let text: string
  try {
    text = fs.readFileSync(path, 'utf8')
  } catch (err) {
    log('no saved state at %s: %e', path, err)
    return undefined
  }
  try {
    return SavedStateSchema.parse(JSON.parse(text))
  } catch (err) {
    log.error('ignoring unreadable %s: %e', path, err)
    return undefined
  }
}

/** Written after every step (temp file + rename), so a crash or Ctrl-C loses at most the step in flight. */
export function saveState (path: string, state: SavedState): void {
  const { tried, submittedTrees, deltas } = state
  const bounded = {
    ...state,
    ...(tried === undefined ? {} : { tried: tried.slice(-REMEMBERED) }),
    ...(submittedTrees === undefined ? {} : { submittedTrees: submittedTrees.slice(-REMEMBERED) }),
    ...(deltas === undefined ? {} : { deltas: deltas.slice(-REMEMBERED) })
  }
  fs.writeFileSync(`${path}.tmp`, JSON.stringify(bounded))
  fs.renameSync(`${path}.tmp`, path)
}
