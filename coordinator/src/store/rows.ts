import { AttestationBody, AutoresearchError, CandidateState as CandidateStateSchema, ExperimentStatus, ReceiptBody, SubmissionBody } from '@autoresearch/protocol'
import { z } from 'zod'
import { StoredVerdictSchema } from './verdict.ts'

/**
 * The rows the store hands out, decoded once here: JSON columns parsed and checked with
 * zod, so no caller casts what it reads. Field names are the columns' own.
 */

/** A row that does not decode: the database was changed outside the coordinator, or is damaged. */
export class CorruptRowError extends AutoresearchError { override name = 'CorruptRowError' }

/** A TEXT column holding JSON that must match `schema`. */
export const json = <T extends z.ZodType>(schema: T) => z.string().transform((text, ctx): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    ctx.issues.push({ code: 'custom', message: 'not JSON', input: text })
    return z.NEVER
  }
}).pipe(schema)

/** A candidate's states, as the wire names them. */
export const CANDIDATE_STATES = CandidateStateSchema.options
export type CandidateState = z.infer<typeof CandidateStateSchema>

/** The signed receipt and the signed submission as intake stored them. */
const SignedReceipt = z.object({ receipt: ReceiptBody, signature: z.string() })
export const SignedSubmission = z.object({ body: SubmissionBody, signature: z.string() })

const Candidate = z.object({
  seq: z.number().int(),
  commit_oid: z.string(),
  tree_oid: z.string(),
  parent_oid: z.string(),
  submitter: z.string(),
  claimed_metric: z.number(),
  description: z.string(),
  received_at: z.number(),
  state: CandidateStateSchema,
  reason: z.string().nullable(),
  /** The rounds of seeds asked for so far, one array per round. */
  seeds: json(z.array(z.array(z.number().int()))),
  receipt: json(SignedReceipt),
  submission: json(SignedSubmission),
  verdict: json(StoredVerdictSchema).nullable(),
  /** For a coordinator-made rebase: the candidate it re-verifies (credit goes to that one's submitter). */
  origin_seq: z.number().int().nullable(),
  /** Verification rounds asked for so far (a near-tie or a split adds one). */
  rounds: z.number().int()
})
export type CandidateRow = z.output<typeof Candidate>

/** What a candidate's line in the site's lists shows, read without decoding its receipt and submission whole (StoreViews.summariesTouchedAfter). */
export const SummaryRow = Candidate.pick({
  seq: true, commit_oid: true, parent_oid: true, submitter: true, origin_seq: true, state: true, reason: true, description: true, claimed_metric: true, received_at: true
}).extend({
  candidate_metric: z.number().nullable(),
  baseline_metric: z.number().nullable(),
  mean_improvement: z.number().nullable(),
  /** JSON true and false read as 1 and 0; null without a verdict. */
  claim_contradicted: z.number().nullable(),
  name: z.string().nullable(),
  team: z.string().nullable()
})

const Job = z.object({
  id: z.number().int(),
  candidate_seq: z.number().int(),
  baseline_oid: z.string(),
  seeds: json(z.array(z.number().int())),
  verifier: z.string(),
  leased_at: z.number(),
  lease_expires_at: z.number(),
  state: z.enum(['leased', 'done', 'expired']),
  round: z.number().int()
})
export type JobRow = z.output<typeof Job>

/** How a job counts in open mode (a job without a role is an ordinary one). */
export type JobRole = 'shadow' | 'spot-check'
const JobRoleRow = z.object({ job_id: z.number().int(), role: z.enum(['shadow', 'spot-check']) })

/** A merge row's number on the wire and the site: the initial commit is merge 0, its row seq 1. */
export const mergeIndex = (seq: number): number => seq - 1

const Merge = z.object({
  seq: z.number().int(),
  commit_oid: z.string(),
  parent_oid: z.string().nullable(),
  candidate_seq: z.number().int().nullable(),
  metric: z.number().nullable(),
  baseline_metric: z.number().nullable(),
  merged_at: z.number(),
  kind: z.enum(['initial', 'merge', 'revert', 'program']),
  reverted_at: z.number().nullable()
}).transform((m) => ({ ...m, index: mergeIndex(m.seq) }))
/** `index`: the merge's number on the wire and the site (0 is the initial commit); `seq` is the row's key. */
export type MergeRow = z.output<typeof Merge>

const Identity = z.object({
  public_key: z.string(),
  banned: z.number().int(),
  ban_reason: z.string().nullable(),
  accepted: z.number().int(),
  rejected: z.number().int(),
  contradicted: z.number().int(),
  verifier_agreed: z.number().int(),
  verifier_disagreed: z.number().int()
})
export type IdentityRow = z.output<typeof Identity>

const Attestation = z.object({ verifier: z.string(), body: json(AttestationBody), round: z.number().int(), job_id: z.number().int(), received_at: z.number() })
export type AttestationRow = z.output<typeof Attestation>

const Experiment = z.object({
  seq: z.number().int(),
  worker: z.string(),
  best_oid: z.string(),
  commit_oid: z.string(),
  status: ExperimentStatus,
  metric: z.number().nullable(),
  noise: z.number().nullable(),
  seed: z.number().int(),
  description: z.string(),
  diff: z.string(),
  diff_hash: z.string(),
  near_key: z.string().nullable(),
  hypothesis: z.number().int().nullable(),
  hardware: z.string().nullable(),
  reported_at: z.number(),
  received_at: z.number()
})
export type ExperimentRow = z.output<typeof Experiment>

const Hypothesis = z.object({ id: z.number().int(), best_oid: z.string(), text: z.string(), author: z.string(), posted_at: z.number() })
export type HypothesisRow = z.output<typeof Hypothesis>

const Digest = z.object({ seq: z.number().int(), written_at: z.number(), text: z.string() })
export type DigestRow = z.output<typeof Digest>

/** A row as read, or a CorruptRowError naming the table and what did not match. */
export function decoder<T extends z.ZodType> (table: string, schema: T): (row: unknown) => z.output<T> {
  return (row) => {
    const parsed = schema.safeParse(row)
    if (!parsed.success) throw new CorruptRowError(`a row of ${table} does not decode: ${z.prettifyError(parsed.error)}`)
    return parsed.data
  }
}

export const decodeCandidate = decoder('candidates', Candidate)
export const decodeJob = decoder('jobs', Job)
export const decodeJobRole = decoder('job_roles', JobRoleRow)
export const decodeMerge = decoder('merges', Merge)
export const decodeIdentity = decoder('identities', Identity)
export const decodeAttestation = decoder('attestations', Attestation)
export const decodeExperiment = decoder('experiments', Experiment)
export const decodeHypothesis = decoder('hypotheses', Hypothesis)
export const decodeDigest = decoder('digests', Digest)
export const decodeSeeds = decoder('seed_pools', json(z.array(z.number().int())))

/** Absent stays absent; a row present is decoded. */
export const maybe = <T>(decode: (row: unknown) => T) => (row: unknown): T | undefined => row === undefined ? undefined : decode(row)
