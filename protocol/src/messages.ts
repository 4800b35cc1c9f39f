import { z } from 'zod'
import { PublicKeyHex, SignatureHex } from './identity.ts'
import { ManifestSchema } from './manifest.ts'

/** Protocol ids, one per request kind. */
export const PROTOCOL = {
  info: '/autoresearch/info/1.0.0',
  fetch: '/autoresearch/fetch/1.0.0',
  submit: '/autoresearch/submit/1.0.0',
  lease: '/autoresearch/lease/1.0.0',
  attest: '/autoresearch/attest/1.0.0',
  candidate: '/autoresearch/candidate/1.0.0',
  report: '/autoresearch/report/1.0.0',
  history: '/autoresearch/history/1.0.0',
  claim: '/autoresearch/claim/1.0.0',
  hypotheses: '/autoresearch/hypotheses/1.0.0'
} as const

/** The gossipsub topic on which a coordinator announces each new best of a cause. */
export const bestTopic = (causeId: string): string => `/autoresearch/best/1.0.0/${causeId}`

export const Oid = z.string().regex(/^[0-9a-f]{40}$/, 'a git object id (40 lowercase hex digits)')
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha-256 digest (64 lowercase hex digits)')
const Nonce = z.string().regex(/^[0-9a-f]{32,64}$/, '16 to 32 random bytes as lowercase hex')
const Metric = z.number().finite()
const Time = z.number().int().positive()
const CauseId = z.string().min(1).max(128)
const Text = (max: number) => z.string().max(max)
export const Seed = z.number().int().min(0).max(2 ** 31 - 1)

export const ErrorReply = z.object({ ok: z.literal(false), error: z.object({ name: Text(100), message: Text(4000) }) }).strict()

// info ---------------------------------------------------------------------
export const InfoRequest = z.object({ type: z.literal('info') }).strict()
/** `seq` is this best's place in the coordinator's history: 0 is the initial commit, each merge or revert adds one. */
export const Best = z.object({ commit: Oid, metric: Metric.nullable(), seq: z.number().int().min(0) }).strict()
/**
 * One verified run of the best: its metric on one seed as a verifier measured it when the
 * best was verified as a candidate, and the hardware class of that verifier's machine. A worker
 * on the same class takes these as its own runs of the best instead of measuring it again.
 */
export const BestRun = z.object({ seed: Seed, metric: Metric, hardware: Text(200) }).strict()
export type BestRun = z.infer<typeof BestRun>
/** The most verified runs an `info` reply carries. */
export const MAX_BEST_RUNS = 64
export const InfoReply = z.object({
  ok: z.literal(true),
  causeId: CauseId,
  coordinatorKey: PublicKeyHex,
  manifest: ManifestSchema,
  program: Text(256 * 1024),
  best: Best,
  /** The best's verified runs (none for the initial commit and after a revert); absent from older coordinators. */
  bestRuns: z.array(BestRun).max(MAX_BEST_RUNS).optional()
}).strict()

// fetch --------------------------------------------------------------------
export const FetchRequest = z.object({
  type: z.literal('fetch'),
  want: Oid,
  /** Commits the asker already has; the pack leaves out everything reachable from them. */
  have: z.array(Oid).max(256)
}).strict()
/** Followed by one binary frame holding the pack when `objects > 0`. */
export const FetchReply = z.object({ ok: z.literal(true), objects: z.number().int().min(0), bytes: z.number().int().min(0) }).strict()

// submit -------------------------------------------------------------------
export const Hardware = z.object({ class: Text(200), cpus: z.number().int().min(0), gpus: z.array(Text(200)).max(16) }).strict()
export type Hardware = z.infer<typeof Hardware>
/** How a volunteer wants to appear on the leaderboard (free text, shown escaped). */
export const Profile = z.object({ name: Text(64).optional(), team: Text(64).optional() }).strict()
export const SubmissionBody = z.object({
  type: z.literal('submission'),
  causeId: CauseId,
  parent: Oid,
  candidate: Oid,
  packSha256: Sha256Hex,
  claimedMetric: Metric,
  logDigest: Sha256Hex,
  description: Text(500),
  hardware: Hardware.optional(),
  profile: Profile.optional(),
  publicKey: PublicKeyHex,
  nonce: Nonce,
  time: Time
}).strict()
export type SubmissionBody = z.infer<typeof SubmissionBody>

/** Followed by one binary frame holding the pack of the candidate's new objects. */
export const SubmitRequest = z.object({ type: z.literal('submit'), body: SubmissionBody, signature: SignatureHex }).strict()

export const ReceiptBody = z.object({
  type: z.literal('receipt'),
  causeId: CauseId,
  candidateSeq: z.number().int().positive(),
  candidate: Oid,
  tree: Oid,
  submitter: PublicKeyHex,
  receivedAt: Time
}).strict()
export type ReceiptBody = z.infer<typeof ReceiptBody>
export const SubmitReply = z.object({ ok: z.literal(true), receipt: ReceiptBody, signature: SignatureHex }).strict()

// lease --------------------------------------------------------------------

export const LeaseRequestBody = z.object({
  type: z.literal('lease-request'),
  causeId: CauseId,
  publicKey: PublicKeyHex,
  hardware: Hardware,
  nonce: Nonce,
  time: Time,
  /**
   * Hold the request open until a job exists, up to this long (the coordinator caps it,
   * see docs/protocol.md); absent or 0: answer at once.
   */
  waitMs: z.number().int().min(0).max(60_000).optional(),
  /** The verifier keeps a baseline cache and asks for the seeds to warm it with (`LeaseReply.warm`). */
  warm: z.boolean().optional(),
  /** With `warm`: the best whose pool the verifier already has; a held request answers at once when the best is another. */
  warmBest: Oid.optional(),
  /**
   * A worker that also verifies (`autoresearch-worker --also-verify`): it gets a job only when
   * no verifier is waiting for one, and is never held.
   */
  help: z.literal(true).optional()
}).strict()
export type LeaseRequestBody = z.infer<typeof LeaseRequestBody>
export const LeaseRequest = z.object({ type: z.literal('lease'), body: LeaseRequestBody, signature: SignatureHex }).strict()

export const Job = z.object({
  jobId: z.number().int().positive(),
  candidateSeq: z.number().int().positive(),
  baseline: Oid,
  candidate: Oid,
  seeds: z.array(Seed).min(1).max(64),
  leaseExpiresAt: Time,
  /** The verifier may end this job early with an acceptance (sequential.ts `acceptEarly`); absent, only with a rejection. */
  acceptEarly: z.literal(true).optional()
}).strict()
export type Job = z.infer<typeof Job>
/**
 * The seeds of every candidate's first verification round on `best` that its job surely runs
 * (coordinator's seeds.ts `warmRound`), so a verifier can run their baselines before the jobs
 * come. Sent only to a key that counts as a verifier, and only when its request asked (`warm`):
 * the pool is never public (docs/trust.md, seeds).
 */
export const WarmSeeds = z.object({ best: Oid, seeds: z.array(Seed).max(256) }).strict()
export type WarmSeeds = z.infer<typeof WarmSeeds>
export const LeaseReply = z.object({ ok: z.literal(true), job: Job.nullable(), retryAfterMs: z.number().int().min(0), warm: WarmSeeds.optional() }).strict()

// attest -------------------------------------------------------------------
/** At most this many extra figures per run travel with a trial. */
export const MAX_RESULT_EXTRAS = 8
const ExtraName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,39}$/, 'a name of letters, digits, _ . - (at most 40)')
/**
 * Figures a cause's evaluate step wrote beside `metric` in its result (`params`,
 * `val_acc`, ...): a few finite numbers, shown on the site and never used in a decision.
 */
export const ResultExtras = z.record(ExtraName, Metric).refine((r) => Object.keys(r).length <= MAX_RESULT_EXTRAS, `at most ${MAX_RESULT_EXTRAS} extra figures`)
export type ResultExtras = z.infer<typeof ResultExtras>

/** The numeric fields of a run's result other than `metric`, that ResultExtras accepts: by name, the first MAX_RESULT_EXTRAS; undefined for none. */
export function resultExtras (result: Record<string, unknown>): ResultExtras | undefined {
  const picked = Object.entries(result)
    .filter((e): e is [string, number] => e[0] !== 'metric' && typeof e[1] === 'number' && Number.isFinite(e[1]) && ExtraName.safeParse(e[0]).success)
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .slice(0, MAX_RESULT_EXTRAS)
  return picked.length === 0 ? undefined : Object.fromEntries(picked)
}

export const Trial = z.object({
  seed: z.number().int().min(0),
  baseline: Metric.nullable(),
  candidate: Metric.nullable(),
  baselineLogDigest: Sha256Hex,
  candidateLogDigest: Sha256Hex,
  /** Why a side produced no metric (timeout, no-result, …); absent when both did. */
  failure: Text(500).optional(),
  /** What each side's evaluate wrote beside the metric (resultExtras), when it wrote any. */
  baselineExtras: ResultExtras.optional(),
  candidateExtras: ResultExtras.optional()
}).strict()
export type Trial = z.infer<typeof Trial>

export const AttestationBody = z.object({
  type: z.literal('attestation'),
  causeId: CauseId,
  jobId: z.number().int().positive(),
  candidate: Oid,
  baseline: Oid,
  trials: z.array(Trial).min(1).max(64),
  hardware: Hardware,
  publicKey: PublicKeyHex,
  time: Time
}).strict()
export type AttestationBody = z.infer<typeof AttestationBody>
export const AttestRequest = z.object({ type: z.literal('attest'), body: AttestationBody, signature: SignatureHex }).strict()

export const Verdict = z.object({
  candidateSeq: z.number().int().positive(),
  state: z.enum(['accepted', 'rejected', 'pending']),
  meanImprovement: z.number().nullable(),
  reason: Text(2000)
}).strict()
export type Verdict = z.infer<typeof Verdict>
export const AttestReply = z.object({ ok: z.literal(true), verdict: Verdict }).strict()

// candidate status ------------------------------------------------------------
export const CandidateStatusRequest = z.object({ type: z.literal('candidate'), seq: z.number().int().positive() }).strict()
/** `passed`: passed against a best that has moved since; it is carried onto the best (alone or in a merge group) and verified there. */
export const CandidateState = z.enum(['queued', 'verifying', 'passed', 'merged', 'rejected', 'stale', 'rebased', 'reverted'])
/** A candidate still open: queued, under verification, or passed and waiting to go on. */
export const OPEN_STATES = ['queued', 'verifying', 'passed'] as const satisfies ReadonlyArray<z.infer<typeof CandidateState>>
export const isOpenState = (state: z.infer<typeof CandidateState>): boolean => (OPEN_STATES as readonly string[]).includes(state)
export const CandidateStatusReply = z.object({
  ok: z.literal(true),
  seq: z.number().int().positive(),
  state: CandidateState,
  reason: Text(2000).nullable(),
  /** When the coordinator carried the candidate onto a newer best: the new candidate's sequence number. */
  rebasedAs: z.number().int().positive().nullable(),
  meanImprovement: z.number().nullable(),
  /**
   * Present (true) on a rejection measured on top of another candidate that has not merged
   * (speculation, docs/trust.md): it stands only if that one merges; if not, the coordinator
   * carries the candidate back onto the best and verifies it there. Follow it until this goes.
   */
  provisional: z.literal(true).optional()
}).strict()
export type CandidateStatusReply = z.infer<typeof CandidateStatusReply>

// announcements -----------------------------------------------------------------
export const AnnouncementBody = z.object({
  type: z.literal('announcement'),
  causeId: CauseId,
  best: Best,
  /** `merge` for a verified merge, `revert` when an operator moved the best back, `program` when the host updated the cause's program.md. */
  kind: z.enum(['merge', 'revert', 'program']),
  time: Time
}).strict()
export type AnnouncementBody = z.infer<typeof AnnouncementBody>
export const Announcement = z.object({ body: AnnouncementBody, signature: SignatureHex }).strict()

// experiment reports -------------------------------------------------------------
/**
 * What became of one experiment a worker ran: kept on its local chain, discarded, crashed, or
 * kept and then not confirmed on the second seed.
 */
export const ExperimentStatus = z.enum(['keep', 'discard', 'crash', 'unconfirmed'])
export type ExperimentStatus = z.infer<typeof ExperimentStatus>
/** nearKey's text (protocol/src/near-key.ts). */
export const NearKey = Text(1000)
/** The most characters of an experiment's diff a report carries (a longer one is cut, its hash taken whole). */
export const MAX_REPORT_DIFF_CHARS = 8 * 1024
/** The most reports one signed batch carries. */
export const MAX_REPORTS_PER_BATCH = 64
/**
 * One experiment, self-reported by the worker that ran it: information for the network,
 * never a claim on the best (docs/protocol.md, report).
 */
export const ExperimentReport = z.object({
  /** The network best the worker was on. */
  best: Oid,
  /** The experiment's commit in the worker's own repository (never sent; an id, as in results.tsv). */
  commit: Oid,
  status: ExperimentStatus,
  /** The run's metric; null for a crash. For `unconfirmed`: the confirmation run's. */
  metric: Metric.nullable(),
  /** The worker's estimate of its own run-to-run noise on this best, when it has one. */
  noise: z.number().finite().min(0).nullable(),
  seed: Seed,
  description: Text(300),
  /** The agent's edit as a unified diff against the commit it was made on, cut at MAX_REPORT_DIFF_CHARS. */
  diff: Text(MAX_REPORT_DIFF_CHARS),
  /** The edit's normalized hash (experimentDiff): the same change made by anyone has the same hash. */
  diffHash: Sha256Hex,
  /** Which constants the edit moves and which way (nearKey); absent when it moves none. */
  nearKey: NearKey.optional(),
  /** The planner's hypothesis the experiment tested, when it tested one. */
  hypothesis: z.number().int().positive().optional(),
  time: Time
}).strict()
export type ExperimentReport = z.infer<typeof ExperimentReport>
export const ReportBatchBody = z.object({
  type: z.literal('experiment-reports'),
  causeId: CauseId,
  publicKey: PublicKeyHex,
  hardware: Hardware.optional(),
  reports: z.array(ExperimentReport).min(1).max(MAX_REPORTS_PER_BATCH),
  nonce: Nonce,
  time: Time
}).strict()
export type ReportBatchBody = z.infer<typeof ReportBatchBody>
export const ReportRequest = z.object({ type: z.literal('report'), body: ReportBatchBody, signature: SignatureHex }).strict()
/** `firstSeq`: the first report's number in the coordinator's log; the batch's are consecutive. */
export const ReportReply = z.object({ ok: z.literal(true), accepted: z.number().int().min(0), firstSeq: z.number().int().positive() }).strict()
export type ReportReply = z.infer<typeof ReportReply>

// history -----------------------------------------------------------------------
/** The most open hypotheses a `history` reply carries, and the longest digest. */
export const MAX_OPEN_HYPOTHESES = 50
export const MAX_DIGEST_CHARS = 8000
/** A planner's hypothesis: a short idea for workers to test, self-reported like everything shared. */
export const Hypothesis = z.object({
  id: z.number().int().positive(),
  best: Oid,
  text: Text(500),
  author: PublicKeyHex,
  postedAt: Time,
  /** A worker holds an unexpired claim on it. */
  claimed: z.boolean()
}).strict()
export type Hypothesis = z.infer<typeof Hypothesis>
/** The most experiments a `history` reply carries, and the most tried hashes. */
export const MAX_HISTORY = 100
export const MAX_TRIED_HASHES = 4096
/** The most characters of each diff a `history` reply carries. */
export const MAX_HISTORY_DIFF_CHARS = 2000
export const HistoryRequest = z.object({ type: z.literal('history'), best: Oid, limit: z.number().int().min(1).max(MAX_HISTORY).optional() }).strict()
/** An experiment as the network shares it: a report, with who sent it and where it stands. */
export const SharedExperiment = z.object({
  seq: z.number().int().positive(),
  best: Oid,
  /** 0: tried on the asked best; 1: on the best before it; and so on. */
  bestsBack: z.number().int().min(0),
  worker: PublicKeyHex,
  status: ExperimentStatus,
  metric: Metric.nullable(),
  noise: z.number().finite().min(0).nullable(),
  description: Text(300),
  diff: Text(MAX_HISTORY_DIFF_CHARS),
  diffHash: Sha256Hex,
  nearKey: NearKey.nullable(),
  hypothesis: z.number().int().positive().nullable(),
  hardware: Text(200).nullable(),
  receivedAt: Time
}).strict()
export type SharedExperiment = z.infer<typeof SharedExperiment>
/** The most candidates on a best a `history` reply lists as `pending`. */
export const MAX_PENDING = 8
/** A candidate queued on the asked best that others may build on (`collaboration.buildOnPending`). */
export const PendingCandidate = z.object({
  seq: z.number().int().positive(),
  commit: Oid,
  submitter: PublicKeyHex,
  claimedMetric: Metric,
  description: Text(500)
}).strict()
export type PendingCandidate = z.infer<typeof PendingCandidate>
export const HistoryReply = z.object({
  ok: z.literal(true),
  best: Oid,
  /**
   * Open candidates on the asked best, in the order they will be verified, at most MAX_PENDING:
   * present only where the cause declares `collaboration.buildOnPending`.
   */
  pending: z.array(PendingCandidate).max(MAX_PENDING).optional(),
  /** A selection (the best and the worst runs of each best, newest bests first), at most MAX_HISTORY. */
  experiments: z.array(SharedExperiment).max(MAX_HISTORY),
  /** The normalized diff hashes of every edit tried on the asked best (the newest MAX_TRIED_HASHES). */
  tried: z.array(Sha256Hex).max(MAX_TRIED_HASHES),
  /** The planners' hypotheses nobody has tested yet, oldest first, with whether a worker holds a claim on each. */
  hypotheses: z.array(Hypothesis).max(MAX_OPEN_HYPOTHESES),
  /** The latest digest of findings (`autoresearch-coordinator report`), when one was written. */
  digest: Text(MAX_DIGEST_CHARS).nullable()
}).strict()
export type HistoryReply = z.infer<typeof HistoryReply>

// claims ------------------------------------------------------------------------
/**
 * A worker says it is about to run an edit (its normalized hash) on a best, or to test a
 * hypothesis: for the claim's time (the manifest's `collaboration.claimMinutes`) no one else
 * is granted the same. Signed, so a claim cannot be made in another's name.
 */
export const ClaimBody = z.object({
  type: z.literal('claim'),
  causeId: CauseId,
  publicKey: PublicKeyHex,
  best: Oid,
  diffHash: Sha256Hex.optional(),
  nearKey: NearKey.optional(),
  hypothesis: z.number().int().positive().optional(),
  description: Text(300),
  /**
   * Gives the signer's own claim on `diffHash` back (a proposal it will not run after all), so
   * the edit is free for others at once instead of when the claim runs out. Best-effort: a
   * coordinator that does not know the field refuses the message, and the claim then runs out.
   */
  release: z.literal(true).optional(),
  nonce: Nonce,
  time: Time
}).strict()
export type ClaimBody = z.infer<typeof ClaimBody>
export const ClaimRequest = z.object({ type: z.literal('claim'), body: ClaimBody, signature: SignatureHex }).strict()
/** An edit like the claimed one (same files, same constants, same direction): tried already, or claimed by another. */
export const NearExperiment = z.object({ description: Text(300), status: z.union([ExperimentStatus, z.literal('claimed')]), metric: Metric.nullable(), worker: PublicKeyHex }).strict()
export type NearExperiment = z.infer<typeof NearExperiment>
export const ClaimReply = z.object({
  ok: z.literal(true),
  granted: z.boolean(),
  /** Until when the claim (ours, or the other worker's that was not granted) holds. */
  expiresAt: Time,
  /** Why not: tried already, or claimed by another worker. */
  reason: Text(500).nullable(),
  near: z.array(NearExperiment).max(20)
}).strict()
export type ClaimReply = z.infer<typeof ClaimReply>

// hypotheses --------------------------------------------------------------------
export const MAX_HYPOTHESES_PER_POST = 16
export const HypothesesBody = z.object({
  type: z.literal('hypotheses'),
  causeId: CauseId,
  publicKey: PublicKeyHex,
  /** The best the planner read when it wrote them. */
  best: Oid,
  hypotheses: z.array(Text(500).min(1)).min(1).max(MAX_HYPOTHESES_PER_POST),
  nonce: Nonce,
  time: Time
}).strict()
export type HypothesesBody = z.infer<typeof HypothesesBody>
export const HypothesesRequest = z.object({ type: z.literal('hypotheses'), body: HypothesesBody, signature: SignatureHex }).strict()
/** The new hypotheses' numbers, in order (a text already open is not posted again: its number is returned). */
export const HypothesesReply = z.object({ ok: z.literal(true), ids: z.array(z.number().int().positive()).max(MAX_HYPOTHESES_PER_POST) }).strict()
export type HypothesesReply = z.infer<typeof HypothesesReply>

export type InfoReply = z.infer<typeof InfoReply>
export type SubmitReply = z.infer<typeof SubmitReply>
export type LeaseReply = z.infer<typeof LeaseReply>
export type AttestReply = z.infer<typeof AttestReply>
export type FetchReply = z.infer<typeof FetchReply>

/** Any request a coordinator accepts, discriminated by `type`. */
export const AnyRequest = z.discriminatedUnion('type', [InfoRequest, FetchRequest, SubmitRequest, LeaseRequest, AttestRequest, CandidateStatusRequest, ReportRequest, HistoryRequest, ClaimRequest, HypothesesRequest])
