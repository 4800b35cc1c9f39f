import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseManifest, type SubmissionBody } from '@autoresearch/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { Store } from '../../store/index.ts'
import { causeStatus } from '../../status.ts'
import { CandidateSummaries, summaryOf, SubmitterExtras } from './candidates.ts'
import { SiteQueries } from './index.ts'

const oid = (n: number): string => n.toString(16).padStart(40, '0')
const key = (n: number): string => n.toString(16).padStart(64, '0')
const hardware = { class: 'cpu', cpus: 2, gpus: [] }
const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

function store (): { store: Store, path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ar-summaries-'))
  dirs.push(dir)
  const path = join(dir, 'coordinator.db')
  return { store: new Store(path), path }
}

function submit (s: Store, seq: number, submitter: number, extras: Partial<Pick<SubmissionBody, 'profile' | 'hardware'>> = {}, origin: number | null = null): void {
  const body: SubmissionBody = {
    type: 'submission', causeId: 'cause', parent: oid(0), candidate: oid(1000 + seq), packSha256: 'b'.repeat(64), claimedMetric: 0.4, logDigest: 'c'.repeat(64),
    description: `change ${seq}`, publicKey: key(submitter), nonce: seq.toString(16).padStart(32, '0'), time: seq, ...extras
  }
  s.insertCandidate({
    seq, commit_oid: oid(1000 + seq), tree_oid: oid(seq), parent_oid: oid(0), submitter: key(submitter), claimed_metric: 0.4, description: body.description, received_at: seq,
    state: 'queued', seeds: [[1, 2]], origin_seq: origin,
    receipt: { receipt: { type: 'receipt', causeId: 'cause', candidateSeq: seq, candidate: body.candidate, tree: oid(seq), submitter: key(submitter), receivedAt: seq }, signature: 'f'.repeat(128) },
    submission: { body, signature: 'f'.repeat(128) }
  }, origin === null ? body.nonce : null)
}

function attest (s: Store, seq: number, at: number): void {
  const job = s.insertJob({ candidate_seq: seq, baseline_oid: oid(0), seeds: [1, 2], verifier: key(99), leased_at: at - 1, lease_expires_at: at + 60, state: 'leased', round: 1 })
  const trials = [1, 2].map((seed) => ({ seed, baseline: 0.5, candidate: 0.4, baselineLogDigest: 'd'.repeat(64), candidateLogDigest: 'e'.repeat(64) }))
  s.recordAttestation({ jobId: job, candidateSeq: seq, verifier: key(99), body: { type: 'attestation', causeId: 'cause', jobId: job, candidate: oid(1000 + seq), baseline: oid(0), trials, hardware, publicKey: key(99), time: at }, signature: 'f'.repeat(128), at })
}

describe("the site's candidates and submitters, kept between looks", () => {
  it('after every kind of change read only what changed and equal a first look at the whole history', () => {
    const { store: s, path } = store()
    const summaries = new CandidateSummaries()
    const extras = new SubmitterExtras()
    const same = (): void => {
      expect(summaries.read(s)).toEqual(new CandidateSummaries().read(s))
      // The list's narrow read shows what a whole row gives a candidate's own page.
      const times = s.views.verifiedTimes()
      expect(summaries.read(s)).toEqual(s.candidates().map((c) => summaryOf(c, times.get(c.seq) ?? null)))
      expect(extras.read(s)).toEqual(new SubmitterExtras().read(s))
    }
    same()
    submit(s, 1, 1, { profile: { name: 'ada', team: 'x' } })
    submit(s, 2, 2, { hardware })
    same()
    attest(s, 1, 50) // an attestation without a state change still shows as the candidate's verifiedAt
    expect(summaries.read(s).find((c) => c.seq === 1)?.verifiedAt).toBe(50)
    s.setCandidateState(1, 'merged', null, {
      candidateSeq: 1, state: 'accepted', meanImprovement: 0.1, reason: 'ok', seeds: [1, 2], trials: [], test: null,
      baselineMetric: 0.5, candidateMetric: 0.4, rounds: 1, claimContradicted: true, disagreeing: []
    })
    submit(s, 3, 1, { hardware }) // a later submission without a profile keeps the name, adds the hardware
    submit(s, 4, 2, {}, 2) // a coordinator rebase: listed, not a submission of its own
    submit(s, 5, 3, { profile: { name: '  ', team: 'y' } }) // a blank name is no name
    s.setCandidateState(2, 'rebased')
    same()
    expect(extras.read(s).get(key(1))).toMatchObject({ name: 'ada', team: 'x', hardware })
    // A revert by another process (the admin CLI).
    const admin = new Store(path)
    admin.setCandidateState(1, 'reverted', 'reverted by the operator')
    admin.close()
    same()
    expect(summaries.read(s).map((c) => [c.seq, c.state])).toEqual([[1, 'reverted'], [2, 'rebased'], [3, 'queued'], [4, 'queued'], [5, 'queued']])
    expect(summaries.read(s).find((c) => c.seq === 5)).toMatchObject({ submitterName: null, team: 'y' })
    expect(summaries.read(s).find((c) => c.seq === 1)).toMatchObject({ verifiedMetric: 0.4, baselineMetric: 0.5, meanImprovement: 0.1, claimContradicted: true, submitterName: 'ada' })
    s.close()
  })

  it('a look with nothing changed gives the same list back without reading a candidate', () => {
    const { store: s } = store()
    submit(s, 1, 1)
    const summaries = new CandidateSummaries()
    const first = summaries.read(s)
    expect(summaries.read(s)).toBe(first)
    s.close()
  })

  it('a first look taken in slices equals one taken at once, with what changed between slices read by the next look', async () => {
    const { store: s } = store()
    const many = 2500 // three slices
    s.transaction(() => {
      for (let seq = 1; seq <= many; seq++) submit(s, seq, seq % 7, seq % 100 === 0 ? { profile: { name: `n${seq}` }, hardware } : {})
    })
    attest(s, 10, 70)
    const summaries = new CandidateSummaries()
    const extras = new SubmitterExtras()
    const warming = Promise.all([summaries.warm(s), extras.warm(s)])
    // The first slices are read; change one read already, one not read yet, and add one.
    s.setCandidateState(5, 'rejected', 'between slices')
    s.setCandidateState(2000, 'stale', 'not read yet')
    submit(s, many + 1, 3, { profile: { name: 'late' } })
    await warming
    const list = summaries.read(s)
    expect(list).toEqual(new CandidateSummaries().read(s))
    expect(list.map((c) => c.seq)).toEqual(Array.from({ length: many + 1 }, (_, i) => i + 1))
    expect([list[4]?.state, list[1999]?.state, list[9]?.verifiedAt]).toEqual(['rejected', 'stale', 70])
    expect(extras.read(s)).toEqual(new SubmitterExtras().read(s))
    expect(extras.read(s).get(key(3))?.name).toBe('late')

    // A look that comes between slices reads the rest itself, and the slices stop.
    const other = new CandidateSummaries()
    const stopped = other.warm(s)
    expect(other.read(s)).toEqual(list)
    await stopped
    expect(other.read(s)).toBe(other.read(s))
    expect(other.read(s)).toEqual(list)

    // Aborted, it stops with the abort's reason; a look after it still reads everything.
    const aborted = new CandidateSummaries()
    const controller = new AbortController()
    const pending = aborted.warm(s, { signal: controller.signal })
    controller.abort()
    await expect(pending).rejects.toThrow(/abort/i)
    expect(aborted.read(s)).toEqual(list)
    s.close()
  })

  it('the queue and the chart are made again when a candidate changed, not after a write that changed none', () => {
    const { store: s, path } = store()
    const manifest = parseManifest({ name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction: 'minimize', stdoutPattern: 'loss=(\\S+)' }, verification: { minImprovement: 0.01 } })
    s.insertMerge({ commit_oid: oid(0), parent_oid: null, candidate_seq: null, metric: null, baseline_metric: null, merged_at: 0, kind: 'initial' })
    const site = new SiteQueries({ manifest, causeId: 'cause', store: s, paths: { gitdir: join(path, '..', 'missing.git') }, status: () => causeStatus({ causeId: 'cause', manifest, node: undefined, store: s }) })
    submit(s, 1, 1)
    const [queue, chart] = [site.queue(), site.chart()]
    // An experiment report: the database changed, no candidate did.
    s.insertReports({ worker: key(1), hardware: null, nonce: 'a'.repeat(32), receivedAt: 5, reports: [{ best: oid(0), commit: oid(7), status: 'discard', metric: 1, noise: null, seed: 1, description: 'a try', diff: '', diffHash: 'd'.repeat(64), time: 4 }] })
    expect(site.queue()).toBe(queue)
    expect(site.chart().points).toBe(chart.points)
    submit(s, 2, 2)
    expect(site.queue()).not.toBe(queue)
    expect(site.queue().pending.map((c) => c.seq)).toEqual([1, 2])
    s.close()
  })
})
