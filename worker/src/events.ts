import type { AnnouncementBody, CandidateStatusReply, ReceiptBody } from '@autoresearch/protocol'
import type { ResultRow } from './results.ts'

export type MeasuringWhat = 'best' | 'noise' | 'carried' | 'baseline' | 'candidate' | 'pending'

/** A `measuring` event in words: "measuring the best: seed 1/1". */
export function describeMeasuring (e: { what: MeasuringWhat, run: number, runs: number }): string {
  const what = { best: 'measuring the best', noise: 'measuring this machine\'s noise on the best, for a gain within its reach', carried: 'measuring local gains carried onto the best', baseline: 'confirming on a second seed: the best', candidate: 'confirming on a second seed: the local best', pending: 'measuring another worker\'s pending candidate to build on' }[e.what]
  return `${what}: ${e.what === 'best' || e.what === 'noise' ? 'seed ' : 'run '}${e.run}/${e.runs}`
}

export type WorkerPhase = 'syncing' | 'measuring' | 'proposing' | 'training' | 'confirming' | 'submitting'

export type WorkerEvent =
  /** `verifiedRuns`: verifiers' runs of the best on this hardware class taken instead of runs here (0: measured here, or our own). */
  /** `noiseDue`: this machine's noise on it is measured when a gain first needs it (operations/noise.ts `noiseNeeded`). */
  | { type: 'best', commit: string, networkMetric: number | null, localMetric: number, noise: number | null, noiseDue?: true, verifiedRuns: number }
  /** This machine's noise σ on the best, measured once a gain within its reach showed up (operations/noise.ts `measureNoise`). */
  | { type: 'noise', commit: string, noise: number | null }
  | { type: 'phase', phase: WorkerPhase, n: number }
  | { type: 'resumed', experiments: number, base: string, local: string }
  /**
   * A run starts that the loop waits for outside an experiment: `best` (the new best on this machine), `noise` (its noise here, once a gain needs it),
   * `carried` (local gains carried onto it), `baseline` and `candidate` (the confirmation on a second seed); `run` of `runs`.
   */
  | { type: 'measuring', what: MeasuringWhat, commit: string, seed: number, run: number, runs: number, n: number }
  | { type: 'rebased-local', commit: string, metric: number }
  /** Another worker's pending candidate measured here (operations/adopt.ts): `adopted` when the loop now builds on it. */
  | { type: 'pending-measured', seq: number, commit: string, claimedMetric: number, metric: number | null, adopted: boolean }
  /** The pending candidate the loop built on was rejected or went stale (`state`): the loop goes on from the network best. */
  | { type: 'adopted-dropped', seq: number, state: string }
  /** The network rejected our submission of the local best `commit` (measured here at `metric`): most likely luck, so the loop goes on from the network best. */
  | { type: 'local-dropped', commit: string, metric: number }
  /** `best`: the network best it ran on; `diffHash`: its edit's normalized hash (experimentDiff); `log`: the run's kept log (run-logs.ts). */
  | { type: 'experiment', n: number, row: ResultRow, localBest: number, best?: string, diffHash?: string, logTail?: string, log?: string }
  | { type: 'confirm', commit: string, baseline: number | null, candidate: number | null, passed: boolean }
  /** A local best whose gain over the best on the worker's seed is beyond doubt at the cause's declared spread (operations/submission.ts `beyondDoubtHere`): submitted without a confirmation run. */
  | { type: 'beyond-doubt', commit: string, baseline: number, candidate: number }
  /** `on`: the commit of our own pending candidate it went on top of (a find that needs that one), when it did. */
  | { type: 'submitted', receipt: ReceiptBody, claimedMetric: number, on?: string }
  | { type: 'submit-failed', error: string, message: string, willRetry: boolean }
  | { type: 'no-proposal', n: number }
  | { type: 'agent-error', n: number, error: string, message: string }
  | { type: 'verdict', status: CandidateStatusReply }
  | { type: 'announcement', body: AnnouncementBody }
  /** Nothing to do on `commit` (it does not run here, or the agent proposed nothing twice): waiting for a new best, `retryInMs` at the most. */
  | { type: 'waiting', commit: string, reason: string, retryInMs: number }
  /** The agent failed (`errors`) or proposed nothing (`empty`, on this best) that many times in a row: the loop asks it again in `retryInMs`, or at once on a new best when `untilNewBest` (operations/agent-backoff.ts). */
  | { type: 'agent-backoff', errors: number, empty: number, retryInMs: number, untilNewBest: boolean }
  /** Experiment reports the coordinator took (operations/reports.ts). */
  | { type: 'reports-sent', count: number, firstSeq: number }
  /** Reports not taken: kept and sent with the next flush, or `dropped` (that many) when the coordinator refused them for good. */
  | { type: 'report-failed', error: string, message: string, dropped: number }
  /** What the network tried could not be read: the agent works without it this time. */
  | { type: 'history-failed', error: string, message: string }
  /** A claim could not be made (the coordinator did not answer, or this identity's claims ran out): the edit runs unclaimed, so another worker may run it too. Said once until a claim is answered again. */
  | { type: 'claim-failed', error: string, message: string }
  /** The agent proposed an edit already tried on this best (by this worker or another) or claimed by another worker: it is asked for another. */
  | { type: 'duplicate', n: number, description: string, diffHash: string, by: 'network' | 'self' | 'claimed' }
  /** The proposal is close to `near` edits tried or claimed on this best (same constants, same direction): the agent is told and asked once more. */
  | { type: 'near-duplicate', n: number, description: string, near: number }
  /** This worker claimed a planner's hypothesis: its agent is asked to test it. */
  | { type: 'hypothesis', id: number, text: string }
  /** `experiments` in a row without a keep (across bests others moved): the agent is asked for bolder changes for the next `bold`, then for ordinary ones again (operations/plateau.ts). */
  | { type: 'plateau', experiments: number, bold: number }
  /** `--also-verify`: a verification job could not be taken or finished; `stopped`: the coordinator does not let this key verify, so the worker stops asking. */
  | { type: 'help-failed', error: string, message: string, stopped: boolean }

/** An error's name and message for an event, whatever was thrown. */
export function describeError (err: unknown): { error: string, message: string } {
  return err instanceof Error ? { error: err.name, message: err.message } : { error: 'Error', message: String(err) }
}
