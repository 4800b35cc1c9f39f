import { parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import { CarryPlanner, type CarryStore } from './carry-plan.ts'
import type { AttestationRow, CandidateRow, JobRow } from './store/index.ts'

const manifest = parseManifest({
  name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction: 'minimize', stdoutPattern: 'loss=(\\S+)' }, verification: { minImprovement: 0.05 }
})

const row = (seq: number, o: Partial<CandidateRow> = {}): CandidateRow =>
  ({ seq, state: 'queued', parent_oid: 'old', claimed_metric: 1, origin_seq: null, submitter: `author${seq}`, ...o }) as CandidateRow

const job = (seq: number, o: Partial<JobRow> = {}): JobRow =>
  ({ id: seq * 10, candidate_seq: seq, baseline_oid: 'best', seeds: [1, 2, 3], verifier: 'v', leased_at: 0, lease_expires_at: 0, state: 'leased', round: 1, ...o })

/** A store that answers from plain rows and counts the reads of candidates a turn makes. */
function storeOf (rows: CandidateRow[], leases: Map<number, number> = new Map()) {
  const reads = { off: 0 }
  let version = 0
  const store: CarryStore = {
    candidatesOff: (best) => { reads.off++; return rows.filter((c) => ['queued', 'verifying', 'passed'].includes(c.state) && c.parent_oid !== best) },
    candidatesOn: (best, states) => rows.filter((c) => c.parent_oid === best && states.includes(c.state)),
    leasedCandidates: (now) => new Map([...leases].filter(([, until]) => until >= now)),
    groupMembers: () => [],
    lastGroupOf: () => undefined,
    // One live job of three pairs per lease, leased at 0; no attestations (a pace unknown).
    jobsFor: (seq) => leases.has(seq) ? [job(seq, { lease_expires_at: leases.get(seq) as number })] : [],
    attestationsFor: () => [],
    candidateByCommit: (commit) => rows.find((c) => c.commit_oid === commit),
    candidate: (seq) => rows.find((c) => c.seq === seq),
    // A copy names its original (no groups here).
    latestRebase: (origin) => rows.filter((c) => c.origin_seq === origin).at(-1)?.seq,
    rejectedOnDeadBases: () => rows.filter((c) => c.state === 'rejected' && rows.some((p) => p.commit_oid === c.parent_oid && ['rejected', 'stale', 'rebased'].includes(p.state))),
    views: { version: () => String(version) } as CarryStore['views']
  }
  return { store, reads, write: () => { version++ } }
}

const speculative = parseManifest({ ...manifest, verification: { ...manifest.verification, speculation: { window: 2 } } })

describe('CarryPlanner', () => {
  it('holds a pass on the best while a larger merge group is in flight there, merges it once that lease ends, and plans again then', () => {
    const rows = [
      // #10 passed on the best while the group #20 (three members) was still being verified.
      row(10, { commit_oid: 'c10', parent_oid: 'best', state: 'passed', verdict: { passedOn: 'best', heldFor: 20 } as CandidateRow['verdict'] }),
      row(20, { commit_oid: 'c20', parent_oid: 'best', state: 'verifying' })
    ]
    const { store } = storeOf(rows, new Map([[20, 5000]]))
    const members = [row(21), row(22), row(23)]
    const withGroup: CarryStore = { ...store, groupMembers: (seq) => seq === 20 ? members : [] }
    const planner = new CarryPlanner({ store: withGroup, manifest })
    const held = planner.plan('best', 8, 1000)
    expect(held.promote).toEqual([])
    expect(held.groups).toEqual([])
    // The lease ran out with nothing written: the quiet turn ends with it, and the pass merges.
    expect(planner.plan('best', 8, 5001).promote.map((c) => c.seq)).toEqual([10])
    // A lone candidate in flight holds nothing.
    expect(new CarryPlanner({ store, manifest }).plan('best', 8, 1000).promote.map((c) => c.seq)).toEqual([10])
  })

  it('stops holding a pass once the larger group is overdue at the pace of the passer\'s own pairs, before its lease runs out', () => {
    const rows = [
      row(10, { commit_oid: 'c10', parent_oid: 'best', state: 'passed', verdict: { passedOn: 'best', heldFor: 20 } as CandidateRow['verdict'] }),
      row(20, { commit_oid: 'c20', parent_oid: 'best', state: 'verifying' })
    ]
    const { store } = storeOf(rows, new Map([[20, 100_000]]))
    // #10's one job: leased at 0, 3 pairs attested at 600 (200 ms a pair); the group's three pairs were leased at 100.
    const withPace: CarryStore = {
      ...store,
      groupMembers: (seq) => seq === 20 ? [row(21), row(22)] : [],
      jobsFor: (seq) => seq === 10 ? [job(10, { state: 'done' })] : seq === 20 ? [job(20, { leased_at: 100, lease_expires_at: 100_000 })] : [],
      attestationsFor: (seq) => seq === 10 ? [{ job_id: 100, round: 1, received_at: 600, verifier: 'v', body: { trials: [{}, {}, {}] } } as unknown as AttestationRow] : []
    }
    const planner = new CarryPlanner({ store: withPace, manifest })
    // Due at 100 + 3 × 200 ms × (3 pairs + 1) = 2500: held before, and the quiet turn ends there, not at the lease's 100 000.
    const held = planner.plan('best', 8, 2400)
    expect(held.promote).toEqual([])
    expect(held.heldUntil).toBe(2500)
    expect(planner.plan('best', 8, 2501).promote.map((c) => c.seq)).toEqual([10])
  })

  it('with speculation, leaves a candidate carried onto one still open waiting, merges one that passed on the new best, and carries back one rejected on a base that died', () => {
    const rows = [
      row(1, { commit_oid: 'c1', parent_oid: 'best', state: 'verifying' }),
      // #2 waits on #1 (open); #3 on #2 (open, through #1).
      row(2, { commit_oid: 'c2', parent_oid: 'c1', state: 'passed' }),
      row(3, { commit_oid: 'c3', parent_oid: 'c2' }),
      // #5 was carried onto #4, which was then rejected: both it and the rejection #6 measured on #4 go back.
      row(4, { commit_oid: 'c4', parent_oid: 'best', state: 'rejected' }),
      row(5, { commit_oid: 'c5', parent_oid: 'c4' }),
      row(6, { commit_oid: 'c6', parent_oid: 'c4', state: 'rejected' })
    ]
    const { store } = storeOf(rows)
    const plan = new CarryPlanner({ store, manifest: speculative }).plan('best', 8, 0)
    expect(plan.rebase.map((c) => c.seq)).toEqual([5, 6])
    expect(plan.groups).toEqual([])
    expect(plan.promote).toEqual([])
    // Without speculation declared, a candidate on an open one (there by its author's submission, intake.ts) still
    // waits, and nothing rejected comes back: without speculation none is verified on a base that is not the best.
    expect(new CarryPlanner({ store, manifest }).plan('best', 8, 0).rebase.map((c) => c.seq)).toEqual([5])

    // #1 merged: #2 passed against it, so it merges too; one that passed on it before a revert is verified again.
    const merged = [
      row(2, { commit_oid: 'c2', parent_oid: 'c1', state: 'passed', verdict: { passedOn: 'c1' } as CandidateRow['verdict'] }),
      row(7, { commit_oid: 'c7', parent_oid: 'c1', state: 'passed', verdict: {} as CandidateRow['verdict'] })
    ]
    const after = new CarryPlanner({ store: storeOf(merged).store, manifest: speculative }).plan('c1', 8, 0)
    expect(after.promote.map((c) => c.seq)).toEqual([2])
    expect(after.groups.map((g) => g.map((c) => c.seq))).toEqual([[7]])
  })


  it('leaves a candidate its author sent on top of its own candidate waiting while that one, or the copy it was carried as, is open', () => {
    const rows = [
      // #1 on an old best was carried onto the best as #2 (being verified); #3, #1's author's next find, is on #1.
      row(1, { commit_oid: 'c1', parent_oid: 'old', state: 'rebased' }),
      row(2, { commit_oid: 'c2', parent_oid: 'best', state: 'verifying', origin_seq: 1, submitter: 'author1' }),
      row(3, { commit_oid: 'c3', parent_oid: 'c1', submitter: 'author1' }),
      // #5 is on #4, queued on the best: it waits too, without speculation; so does #7 on #6, queued on an old best (to be carried).
      row(4, { commit_oid: 'c4', parent_oid: 'best' }),
      row(5, { commit_oid: 'c5', parent_oid: 'c4', submitter: 'author4' }),
      row(6, { commit_oid: 'c6', parent_oid: 'old', claimed_metric: 2 }),
      row(7, { commit_oid: 'c7', parent_oid: 'c6', submitter: 'author6' })
    ]
    expect(new CarryPlanner({ store: storeOf(rows).store, manifest }).plan('best', 8, 0).rebase.map((c) => c.seq)).toEqual([6])
    // #2 merged (the best is its commit now) and #4 was rejected: both are carried onto the best without their parent.
    const after = rows.filter((c) => c.seq < 6).map((c) => c.seq === 2 ? { ...c, state: 'merged' } : c.seq === 4 ? { ...c, state: 'rejected' } : c) as CandidateRow[]
    expect(new CarryPlanner({ store: storeOf(after).store, manifest }).plan('c2', 8, 0).rebase.map((c) => c.seq)).toEqual([3, 5])
  })

  it('rebases stale candidates best claim first, at most the limit, and says how many are left', () => {
    const { store } = storeOf([row(1, { claimed_metric: 1 }), row(2, { claimed_metric: 0.5 }), row(3, { claimed_metric: 0.9 }), row(4, { parent_oid: 'best' })])
    const plan = new CarryPlanner({ store, manifest }).plan('best', 2, 0)
    expect(plan.rebase.map((c) => c.seq)).toEqual([2, 3])
    expect(plan.remaining).toBe(1)
    expect(plan.groups).toEqual([])
  })

  it('groups passers on old bests together, and leaves one whose sibling is still leased waiting', () => {
    const rows = [row(1, { state: 'passed' }), row(2, { state: 'passed', parent_oid: 'older' }), row(3, { state: 'verifying', parent_oid: 'older' })]
    const { store } = storeOf(rows, new Map([[3, 100]]))
    const plan = new CarryPlanner({ store, manifest }).plan('best', 8, 0)
    expect(plan.groups.map((g) => g.map((c) => c.seq))).toEqual([[1]])
    expect(plan.rebase).toEqual([])
  })

  it('without groups every passer goes on alone at once (the network before merge groups)', () => {
    const rows = [row(1, { state: 'passed' }), row(2, { state: 'passed' }), row(3, { state: 'verifying' })]
    const { store } = storeOf(rows, new Map([[3, 100]]))
    const plan = new CarryPlanner({ store, manifest }, { groups: false }).plan('best', 8, 0)
    expect(plan.groups.map((g) => g.map((c) => c.seq))).toEqual([[1], [2]])
  })

  it('a turn that found nothing reads no candidate again until the database changes, the best moves or a lease on an old best runs out', () => {
    const rows = [row(1, { state: 'passed' }), row(2, { state: 'verifying' })]
    const { store, reads, write } = storeOf(rows, new Map([[2, 100]]))
    const planner = new CarryPlanner({ store, manifest })
    expect(planner.plan('best', 8, 0)).toEqual({ promote: [], groups: [], rebase: [], remaining: 0, heldUntil: Infinity })
    expect(reads.off).toBe(1)
    planner.plan('best', 8, 50)
    planner.plan('best', 8, 100)
    expect(reads.off).toBe(1)

    write()
    planner.plan('best', 8, 100)
    expect(reads.off).toBe(2)
    planner.plan('other', 8, 100)
    expect(reads.off).toBe(3)

    // The sibling's lease ran out: candidate 2 is stale now, and the passer no longer waits for it.
    const plan = planner.plan('other', 8, 101)
    expect(reads.off).toBe(4)
    expect(plan.groups.map((g) => g.map((c) => c.seq))).toEqual([[1]])
    expect(plan.rebase.map((c) => c.seq)).toEqual([2])
  })

  it('a turn that carries something is not remembered: the next turn reads again', () => {
    const { store, reads } = storeOf([row(1)])
    const planner = new CarryPlanner({ store, manifest })
    planner.plan('best', 8, 0)
    planner.plan('best', 8, 0)
    expect(reads.off).toBe(2)
  })
})
