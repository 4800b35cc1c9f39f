import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { COLLABORATION, experimentDiff, Identity, nearKey, type ClaimBody, type ReportBatchBody } from '@autoresearch/protocol'
import { Claims } from './claims.ts'
import { history } from './handlers/history.ts'
import { acceptClaim, acceptHypotheses, acceptReports, HYPOTHESIS_RATE, ReportRate } from './shared-intake.ts'
import { REPORT_RATE } from './rules/report-rate.ts'
import { Store } from './store/index.ts'

const CAUSE = 'cause/1'
const INITIAL = '1'.repeat(40)
const NEXT = '2'.repeat(40)

function setup (limits = {}): { store: Store, ctx: Parameters<typeof acceptReports>[0] } {
  const store = new Store(join(mkdtempSync(join(tmpdir(), 'ar-reports-')), 'db.sqlite'))
  store.insertMerge({ commit_oid: INITIAL, parent_oid: null, candidate_seq: null, metric: 1, baseline_metric: null, merged_at: 1, kind: 'initial' })
  const rate = new ReportRate(limits)
  const claimRate = new ReportRate(REPORT_RATE, 'claims')
  const planRate = new ReportRate(HYPOTHESIS_RATE, 'hypotheses')
  return {
    store,
    ctx: {
      causeId: CAUSE, store, rate, claimRate, planRate, claims: new Claims(), manifest: { collaboration: COLLABORATION },
      address: '127.0.0.1', addressRate: rate.times(3, 'this address'), addressClaimRate: claimRate.times(3, 'this address'), addressPlanRate: planRate.times(3, 'this address')
    }
  }
}

let nonce = 0
function batch (identity: Identity, n: number, over: Partial<ReportBatchBody> = {}, best = INITIAL): { body: ReportBatchBody, signature: string } {
  const reports = Array.from({ length: n }, (_, i) => ({
    best, commit: 'c'.repeat(40), status: 'discard' as const, metric: 1 + i / 100, noise: 0.01, seed: 1, description: `idea ${i}`,
    ...experimentDiff({ 'train.py': 'A = 1\n' }, { 'train.py': `A = ${i + 2}\n` }), nearKey: 'train.py:A:up', time: Date.now()
  })).map(({ truncated: _t, ...r }) => r)
  const body: ReportBatchBody = { type: 'experiment-reports', causeId: CAUSE, publicKey: identity.publicKey, reports, nonce: (++nonce).toString(16).padStart(32, '0'), time: Date.now(), ...over }
  return { body, signature: identity.sign('experiment-reports', body) }
}

describe('experiment report intake', () => {
  it('stores a signed batch in order and answers the first number', () => {
    const { store, ctx } = setup()
    const worker = Identity.generate()
    const { body, signature } = batch(worker, 3)
    expect(acceptReports(ctx, body, signature)).toEqual({ accepted: 3, firstSeq: 1 })
    const rows = store.experiments({ limit: 10 })
    expect(rows.map((r) => [r.seq, r.worker, r.best_oid, r.description])).toEqual([1, 2, 3].map((seq) => [seq, worker.publicKey, INITIAL, `idea ${seq - 1}`]))
  })

  it('refuses a forged signature, a replay, another cause and an unknown best, and stores nothing', () => {
    const { store, ctx } = setup()
    const worker = Identity.generate()
    const good = batch(worker, 1)
    expect(() => acceptReports(ctx, good.body, Identity.generate().sign('experiment-reports', good.body))).toThrow(expect.objectContaining({ name: 'InvalidSignatureError' }))
    const wrong = batch(worker, 1, { causeId: 'other' })
    expect(() => acceptReports(ctx, wrong.body, wrong.signature)).toThrow(expect.objectContaining({ name: 'WrongCauseError' }))
    const unknown = batch(worker, 1, {}, NEXT)
    expect(() => acceptReports(ctx, unknown.body, unknown.signature)).toThrow(expect.objectContaining({ name: 'UnknownParentError' }))
    const old = batch(worker, 1, { time: Date.now() - 3600_000 })
    expect(() => acceptReports(ctx, old.body, old.signature)).toThrow(expect.objectContaining({ name: 'StaleMessageError' }))
    expect(store.experimentCount()).toBe(0)
    acceptReports(ctx, good.body, good.signature)
    expect(() => acceptReports(ctx, good.body, good.signature)).toThrow(expect.objectContaining({ name: 'ReplayedNonceError' }))
    expect(store.experimentCount()).toBe(1)
  })

  it('limits each identity, not the others, and says when to send again', () => {
    const { store, ctx } = setup({ perMinute: 60, burst: 5 })
    const busy = Identity.generate()
    const first = batch(busy, 5)
    acceptReports(ctx, first.body, first.signature)
    const more = batch(busy, 1)
    expect(() => acceptReports(ctx, more.body, more.signature)).toThrow(/60 experiments per minute.*send them again in 1 s/)
    const other = batch(Identity.generate(), 5)
    acceptReports(ctx, other.body, other.signature)
    expect(store.experimentCount()).toBe(10)
  })

  it('bounds an address however many identities it makes', () => {
    const { store, ctx } = setup({ perMinute: 60, burst: 5 })
    for (let i = 0; i < 3; i++) {
      const full = batch(Identity.generate(), 5)
      acceptReports(ctx, full.body, full.signature)
    }
    const fourth = batch(Identity.generate(), 1)
    expect(() => acceptReports(ctx, fourth.body, fourth.signature)).toThrow(/this address may send 180 experiments per minute \(15 at once\)/)
    expect(store.experimentCount()).toBe(15)
    // Another address is not held back by it.
    acceptReports({ ...ctx, address: '10.0.0.1' }, fourth.body, fourth.signature)
    expect(store.experimentCount()).toBe(16)
  })

  it('refuses a banned identity', () => {
    const { store, ctx } = setup()
    const banned = Identity.generate()
    store.setBanned(banned.publicKey, true, 'cheating')
    const b = batch(banned, 1)
    expect(() => acceptReports(ctx, b.body, b.signature)).toThrow(expect.objectContaining({ name: 'BannedError' }))
  })
})

describe('history', () => {
  it('answers what was tried on a best and the best before it, and every hash tried on the best', () => {
    const { store, ctx } = setup()
    const worker = Identity.generate()
    const before = batch(worker, 4)
    acceptReports(ctx, before.body, before.signature)
    store.insertMerge({ commit_oid: NEXT, parent_oid: INITIAL, candidate_seq: null, metric: 0.9, baseline_metric: 1, merged_at: 2, kind: 'merge' })
    const now = batch(worker, 2, {}, NEXT)
    acceptReports(ctx, now.body, now.signature)
    const manifest = { metric: { name: 'loss', direction: 'minimize' as const }, collaboration: COLLABORATION } as unknown as Parameters<typeof history>[0]['manifest']
    const reply = history({ manifest, store, claims: ctx.claims }, NEXT)
    expect(reply.experiments.map((e) => [e.bestsBack, e.description])).toEqual([[0, 'idea 0'], [0, 'idea 1'], [1, 'idea 0'], [1, 'idea 1'], [1, 'idea 2'], [1, 'idea 3']])
    expect(new Set(reply.tried)).toEqual(new Set(now.body.reports.map((r) => r.diffHash)))
    expect(() => history({ manifest, store, claims: ctx.claims }, '3'.repeat(40))).toThrow(expect.objectContaining({ name: 'UnknownCommitError' }))

    // Kept until the database changes, and read again after a write.
    const memo = new Map()
    const first = history({ manifest, store, claims: ctx.claims }, NEXT, 100, Date.now(), memo)
    expect(history({ manifest, store, claims: ctx.claims }, NEXT, 100, Date.now(), memo).experiments).toBe(first.experiments)
    const more = batch(worker, 1, {}, NEXT)
    more.body.reports[0]!.description = 'after'
    acceptReports(ctx, more.body, worker.sign('experiment-reports', more.body))
    expect(history({ manifest, store, claims: ctx.claims }, NEXT, 100, Date.now(), memo).experiments.map((e) => e.description)).toContain('after')
  })
})

describe('claims and hypotheses', () => {
  const claimBy = (identity: Identity, over: Partial<ClaimBody>): { body: ClaimBody, signature: string } => {
    const body: ClaimBody = { type: 'claim', causeId: CAUSE, publicKey: identity.publicKey, best: INITIAL, description: 'A up', nonce: (++nonce).toString(16).padStart(32, '0'), time: Date.now(), ...over }
    return { body, signature: identity.sign('claim', body) }
  }
  const edit = experimentDiff({ 'train.py': 'A = 1\n' }, { 'train.py': 'A = 50\n' })
  const near = nearKey({ 'train.py': 'A = 1\n' }, { 'train.py': 'A = 50\n' }) as string

  it('grants an edit to the first worker, tells a second to choose another, and flags near-duplicates', () => {
    const { ctx } = setup()
    const [a, b] = [Identity.generate(), Identity.generate()]
    const t = Date.now()
    const first = claimBy(a, { diffHash: edit.diffHash, nearKey: near })
    expect(acceptClaim(ctx, first.body, first.signature, t)).toMatchObject({ granted: true, expiresAt: t + 15 * 60_000, reason: null, near: [] })
    const second = claimBy(b, { diffHash: edit.diffHash, nearKey: near })
    expect(acceptClaim(ctx, second.body, second.signature, t + 1000)).toMatchObject({ granted: false, reason: expect.stringMatching(/another worker .* choose another/) })
    // A different value of the same constant, the same way: near the claimed one.
    const other = experimentDiff({ 'train.py': 'A = 1\n' }, { 'train.py': 'A = 60\n' })
    const third = claimBy(b, { diffHash: other.diffHash, nearKey: near, description: 'A up more' })
    expect(acceptClaim(ctx, third.body, third.signature, t + 2000)).toMatchObject({ granted: true, near: [{ description: 'A up', status: 'claimed', worker: a.publicKey }] })
    // After the claim time the edit is free again (a fresh claim: the clock check bounds a message's age at 10 minutes).
    const later = claimBy(b, { diffHash: edit.diffHash, time: t + 15 * 60_000 })
    expect(acceptClaim(ctx, later.body, later.signature, t + 15 * 60_000)).toMatchObject({ granted: true })
  })

  it('gives a worker\'s own claim back when it asks (a proposal it did not run), never another\'s', () => {
    const { ctx } = setup()
    const [a, b] = [Identity.generate(), Identity.generate()]
    const t = Date.now()
    const mine = claimBy(a, { diffHash: edit.diffHash, nearKey: near })
    expect(acceptClaim(ctx, mine.body, mine.signature, t)).toMatchObject({ granted: true })
    // B cannot free A's claim by asking for it back.
    const theirs = claimBy(b, { diffHash: edit.diffHash, release: true })
    expect(acceptClaim(ctx, theirs.body, theirs.signature, t + 1)).toEqual({ granted: false, expiresAt: t + 1, reason: 'released', near: [] })
    const refused = claimBy(b, { diffHash: edit.diffHash })
    expect(acceptClaim(ctx, refused.body, refused.signature, t + 2)).toMatchObject({ granted: false, reason: expect.stringMatching(/another worker/) })
    // A gives it back: B is granted it at once, and its near-duplicates no longer list A's.
    const back = claimBy(a, { diffHash: edit.diffHash, release: true })
    expect(acceptClaim(ctx, back.body, back.signature, t + 3)).toMatchObject({ granted: false, reason: 'released' })
    const other = experimentDiff({ 'train.py': 'A = 1\n' }, { 'train.py': 'A = 60\n' })
    const close = claimBy(b, { diffHash: other.diffHash, nearKey: near })
    expect(acceptClaim(ctx, close.body, close.signature, t + 4)).toMatchObject({ granted: true, near: [] })
    expect(acceptClaim(ctx, refused.body, refused.signature, t + 5)).toMatchObject({ granted: true })
    // A release names the edit it gives back.
    const bare = claimBy(a, { release: true, hypothesis: 1 })
    expect(() => acceptClaim(ctx, bare.body, bare.signature, t + 6)).toThrow(expect.objectContaining({ name: 'InvalidMessageError' }))
  })

  it('refuses a claim that names neither an edit nor a hypothesis', () => {
    const { ctx } = setup()
    const empty = claimBy(Identity.generate(), {})
    expect(() => acceptClaim(ctx, empty.body, empty.signature)).toThrow(expect.objectContaining({ name: 'InvalidMessageError' }))
  })

  it('refuses an edit tried on the best, and a report releases the claim it tested', () => {
    const { ctx } = setup()
    const worker = Identity.generate()
    const reported = batch(worker, 1)
    const hash = reported.body.reports[0]!.diffHash
    const claim = claimBy(worker, { diffHash: hash })
    expect(acceptClaim(ctx, claim.body, claim.signature)).toMatchObject({ granted: true })
    acceptReports(ctx, reported.body, reported.signature)
    const again = claimBy(Identity.generate(), { diffHash: hash, nearKey: 'train.py:A:up' })
    expect(acceptClaim(ctx, again.body, again.signature)).toMatchObject({ granted: false, reason: expect.stringMatching(/already tried/), near: [] })
  })

  it('gives claims the reports\' allowance, one a proposal for a worker whose runs take a second, and keeps the hypotheses\' smaller one', () => {
    const { ctx } = setup()
    const worker = Identity.generate()
    const t = Date.now()
    // Two minutes of a worker proposing every half second (each claim signed at its own time, as a worker would).
    for (let i = 0; i < 240; i++) {
      const c = claimBy(worker, { diffHash: experimentDiff({ 'train.py': 'A = 1\n' }, { 'train.py': `A = ${i + 2}\n` }).diffHash, time: t + i * 500 })
      expect(acceptClaim(ctx, c.body, c.signature, t + i * 500)).toMatchObject({ granted: true })
    }
    // A key that floods claims meets its allowance, and is told when to claim again.
    const flood = Identity.generate()
    const claims = Array.from({ length: REPORT_RATE.burst + 1 }, (_, i) => claimBy(flood, { diffHash: experimentDiff({ 'train.py': 'B = 1\n' }, { 'train.py': `B = ${i + 2}\n` }).diffHash }))
    for (const c of claims.slice(0, -1)) acceptClaim(ctx, c.body, c.signature, t)
    const last = claims.at(-1)!
    expect(() => acceptClaim(ctx, last.body, last.signature, t)).toThrow(expect.objectContaining({ name: 'QuotaExceededError', message: expect.stringMatching(/240 claims per minute/) }))
    // Hypotheses keep theirs: 60 at once.
    const planner = Identity.generate()
    const post = (n: number) => {
      const body = { type: 'hypotheses' as const, causeId: CAUSE, publicKey: planner.publicKey, best: INITIAL, hypotheses: Array.from({ length: n }, (_, i) => `idea ${nonce}-${i}`), nonce: (++nonce).toString(16).padStart(32, '0'), time: t }
      return acceptHypotheses(ctx, body, planner.sign('hypotheses', body), t)
    }
    for (let i = 0; i < 3; i++) post(16)
    post(HYPOTHESIS_RATE.burst - 48)
    expect(() => post(1)).toThrow(expect.objectContaining({ name: 'QuotaExceededError', message: expect.stringMatching(/30 hypotheses per minute/) }))
  })

  it('stores a planner\'s hypotheses once while open; one is claimed once, and closed by a report that tested it', () => {
    const { store, ctx } = setup()
    const planner = Identity.generate()
    const post = (texts: string[]) => {
      const body = { type: 'hypotheses' as const, causeId: CAUSE, publicKey: planner.publicKey, best: INITIAL, hypotheses: texts, nonce: (++nonce).toString(16).padStart(32, '0'), time: Date.now() }
      return acceptHypotheses(ctx, body, planner.sign('hypotheses', body))
    }
    expect(post(['raise A', 'lower A'])).toEqual([1, 2])
    expect(post(['raise A', 'raise B'])).toEqual([1, 3])
    const [a, b] = [Identity.generate(), Identity.generate()]
    const ca = claimBy(a, { hypothesis: 1 })
    expect(acceptClaim(ctx, ca.body, ca.signature)).toMatchObject({ granted: true })
    const cb = claimBy(b, { hypothesis: 1 })
    expect(acceptClaim(ctx, cb.body, cb.signature)).toMatchObject({ granted: false })
    const tested = batch(a, 1)
    tested.body.reports[0]!.hypothesis = 1
    acceptReports(ctx, tested.body, a.sign('experiment-reports', tested.body))
    expect(store.openHypotheses(10).map((h) => h.id)).toEqual([2, 3])
    expect(acceptClaim(ctx, cb.body, cb.signature)).toMatchObject({ granted: false, reason: 'hypothesis #1 was tested already' })
  })
})
