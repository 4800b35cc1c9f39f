/**
 * Which verifier a job waits for (docs/trust.md, "Reusing a merged candidate's runs"). With
 * `reuseCandidateRuns` the verifier that verified a candidate keeps its runs as that commit's
 * baselines on the seeds every job on it runs first, so a job measured against that commit
 * (on top of it while it is verified, speculation; or on it once it merged) costs that verifier
 * only the candidate's runs, and any other verifier both. Two one-slot verifiers handed such
 * jobs back and forth, each running the other's baselines again (docs/benchmarks.md, "A job
 * waits for the verifier that holds its baselines"). So while the holder is still verifying
 * that commit, or has just attested it and not yet asked for work, a job against it waits for
 * the holder; once the holder has looked (and taken a job or not), or after `HOLDER_GRACE_MS`
 * without a look (a verifier gone away), any verifier takes it.
 *
 * A holder still measuring the commit is waited for only where that costs the chain no time
 * and saves runs that are needed: at the chain's head (measured against the best, whose
 * baselines its verifier has, so its job is its candidate runs, and the job waiting then is
 * too: done when it would have been beside it, with its baselines run again), and only while
 * no other verifier waits for work (the requester is the one machine free: its runs are what
 * the network lacks). Deeper in a speculative chain each level would wait for the one below and
 * the chain would run one job after another on one machine; with other verifiers idle, waiting
 * leaves the work undone while machines stand by (docs/benchmarks.md, "Requests held for one
 * holder": the simulation at 100 volunteers merged less an hour either way).
 */

/** How long after its attestation a job waits for the holder's next look: a verifier asks again at once when it attests, so this bounds only one that went away. */
export const HOLDER_GRACE_MS = 5000

/** One counting job on the commit a job would be measured against, as the rule reads it. */
export interface HolderJob {
  verifier: string
  /** Its lease is live: the verifier is still measuring the commit, and holds its runs when done. */
  live: boolean
  /** When it attested (undefined while leased or when it ran out). */
  attestedAt?: number
}

/** What the rule reads of a lease request: who asks, and when each verifier last asked for work. */
export interface HolderAsk {
  requester: string
  now: number
  /** The requester warmed this commit's baselines already (it is the best it warmed): it has them too. */
  warm: boolean
  /** The commit is a candidate measured on top of another still in flight, not the best nor the chain's head: a live holder is not waited for. */
  deep: boolean
  /** Another counting verifier waits for work now: verifiers are not short, so a live holder is not waited for. */
  othersIdle: boolean
  lookedAt: (verifier: string) => number | undefined
}

/** A wait for a holder: until when a job waits (Infinity: the live holder's verdict), and the holders whose next look ends it. */
export interface HolderWait {
  until: number
  /**
   * The holders it waits for (still measuring the commit, or attested and not asked for work
   * since): once one of them looks, the request held back looks again. A look by anyone else
   * frees nothing, so it must not wake held requests: two of them waking each other looked again
   * without end.
   */
  awaits: string[]
}

/**
 * Until when a job against a commit waits for another verifier that holds its runs, and whose
 * look ends that; undefined when the requester may take it now (it holds them too, is warm, or
 * no holder is coming). A holder still measuring the commit holds it back until its verdict
 * and its next look after it, so the time is Infinity; one that attested holds it back until its
 * next look or `HOLDER_GRACE_MS`.
 */
export function heldForHolder (jobs: readonly HolderJob[], ask: HolderAsk): HolderWait | undefined {
  if (ask.warm || jobs.some((j) => j.verifier === ask.requester && (j.live || j.attestedAt !== undefined))) return undefined
  let until: number | undefined
  const awaits = new Set<string>()
  for (const j of jobs) {
    if (j.live && (ask.deep || ask.othersIdle)) continue
    const end = j.live
      ? Infinity
      : j.attestedAt !== undefined && (ask.lookedAt(j.verifier) ?? -Infinity) < j.attestedAt ? j.attestedAt + HOLDER_GRACE_MS : undefined
    if (end === undefined || end <= ask.now) continue
    until = Math.max(until ?? end, end)
    awaits.add(j.verifier)
  }
  return until === undefined ? undefined : { until, awaits: [...awaits] }
}
