/**
 * A speculative lease (rules/speculation.ts, docs/trust.md "Speculation"): a job on a
 * candidate carried onto one still being verified, measured against that one.
 */
import { OPEN_STATES, type LeaseRequestBody } from '@autoresearch/protocol'
import { authorsOf } from './group-members.ts'
import { queueOrder } from './rules/queue-order.ts'
import { mayExtend, nextWindow, speculationChain } from './rules/speculation.ts'
import { leaseOutcome, type LeaseOptions, type LeaseOutcome, type VerificationContext } from './verification.ts'
import type { CandidateRow, Store } from './store/index.ts'
import { countsNow } from './verifier-trust.ts'

/** Queued candidates tried per lease for a clean merge onto the chain's tip: each is a three-way merge in git, in the serial queue. */
export const FIT_TRIES = 4

/** Where the window is kept between runs of the coordinator (the store's meta table); the simulation keeps none. */
export type WindowStore = Pick<Store, 'speculationWindow' | 'setSpeculationWindow'>

/** The coordinator's window (it starts at 1, or where it was at the last stop), and which candidates did not fit onto which tip. */
export class Speculation {
  #window: number
  readonly #max: number
  readonly #store: WindowStore | undefined
  /** `seq>tip`: a conflict, an empty change or a tree taken; forgotten when the tip changes. */
  #unfit = new Set<string>()
  #tip = -1

  constructor (max: number, store?: WindowStore) {
    this.#max = max
    this.#store = store
    // A window kept from before a restart, within what the manifest declares now.
    this.#window = Math.min(store?.speculationWindow() ?? 1, max)
  }

  get window (): number {
    return this.#window
  }

  /** Whether candidates are carried onto the one in flight now: the window is above 0 (a run of rejections closes it). */
  get open (): boolean {
    return this.#window > 0
  }

  /** A verdict measured against the best: the window grows by one after a merge and halves after a rejection. */
  record (verdict: 'merged' | 'rejected'): void {
    this.#window = nextWindow(this.#window, verdict, this.#max)
    this.#store?.setSpeculationWindow(this.#window)
  }

  fits (seq: number, tip: number): boolean {
    if (tip !== this.#tip) {
      this.#tip = tip
      this.#unfit = new Set()
    }
    return !this.#unfit.has(`${seq}>${tip}`)
  }

  unfit (seq: number, tip: number): void {
    this.#unfit.add(`${seq}>${tip}`)
  }
}

export interface SpeculateDeps {
  ctx: VerificationContext & { store: VerificationContext['store'] & Pick<Store, 'leasedCandidates' | 'candidatesOff'> }
  speculation: Speculation
}

/** What the driver is asked to do: carry `candidate` (queued on the best) onto `tip` as a new candidate, leaving it as it is when it does not fit; the answer is whether it did. */
export interface CarryRequest { candidate: CandidateRow, tip: CandidateRow }

/**
 * For a verifier that counts (never a helper, never a key on probation): a queued candidate
 * already carried onto the chain in flight, else, while the chain is within the window, the
 * next candidate in the queue on the best whose change merges cleanly onto the chain's tip,
 * carried there. Returns null when there is no speculative job: the caller leases on the
 * best. A generator, so that one rule serves the coordinator (which carries with git,
 * `driveCarries`) and the simulation (which models the merge, bench/lib/sim).
 */
export function * speculativeLease (deps: SpeculateDeps, body: LeaseRequestBody, signature: string, opts: LeaseOptions): Generator<CarryRequest, LeaseOutcome | null, boolean> {
  const { ctx, speculation } = deps
  const { store, manifest } = ctx
  if (manifest.verification.speculation === undefined || body.help === true || !countsNow(ctx, body.publicKey)) return null
  const best = ctx.bestCommit()
  const leased = store.leasedCandidates(Date.now())
  const open = queueOrder(manifest, [...store.candidatesOn(best, [...OPEN_STATES]), ...store.candidatesOff(best)])
  const chain = speculationChain(best, open.map((c) => ({ seq: c.seq, commit: c.commit_oid, parent: c.parent_oid, inFlight: leased.has(c.seq) || c.state === 'passed' })))
  // leaseOutcome checks the request (signature, standing, hardware class) before anything is carried.
  for (const head of chain) {
    const outcome = leaseOutcome(ctx, body, signature, { ...opts, on: head.commit })
    if (outcome.job !== null) return outcome
  }
  const last = chain.at(-1)
  const tip = last === undefined ? undefined : open.find((c) => c.seq === last.seq)
  if (tip === undefined || !mayExtend(chain, speculation.window)) return null
  let tries = 0
  for (const c of open) {
    if (c.parent_oid !== best || c.state !== 'queued' || leased.has(c.seq) || !speculation.fits(c.seq, tip.seq)) continue
    // Its own authors may not verify it: it waits for another verifier on the best.
    if (authorsOf(store, c).includes(body.publicKey)) continue
    if (tries++ >= FIT_TRIES) break
    if (!(yield { candidate: c, tip })) {
      speculation.unfit(c.seq, tip.seq)
      continue
    }
    return leaseOutcome(ctx, body, signature, { ...opts, on: tip.commit_oid })
  }
  return null
}

/** Runs a generator of carry requests to its end, answering each with `carry`. */
export async function driveCarries<R> (steps: Generator<CarryRequest, R, boolean>, carry: (request: CarryRequest) => Promise<boolean>): Promise<R> {
  for (let step = steps.next(); ; step = steps.next(await carry(step.value))) {
    if (step.done === true) return step.value
  }
}
