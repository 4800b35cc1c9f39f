import { describe, expect, it } from 'vitest'
import { parseManifestText, type AttestationBody } from '@autoresearch/protocol'
import { describeHostStatus, hostStatus, STATUS_MERGES } from './host-status.ts'
import type { MergeRow } from './store/index.ts'

const manifest = parseManifestText(JSON.stringify({ name: 'toy', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'loss', direction: 'minimize' }, verification: { minImprovement: 0.01 } }))
const merge = (seq: number, kind: MergeRow['kind'], metric: number | null): MergeRow => ({
  seq, index: seq - 1, commit_oid: String(seq).repeat(40).slice(0, 40), parent_oid: null, candidate_seq: kind === 'merge' ? seq * 10 : null, metric, baseline_metric: metric === null ? null : metric + 0.1, merged_at: seq * 1000, kind, reverted_at: null
})
const attestation = (key: string, time: number): AttestationBody => ({
  type: 'attestation', causeId: 'toy/1', jobId: 1, candidate: 'c'.repeat(40), baseline: 'b'.repeat(40), trials: [], hardware: { class: 'cpu-2', cpus: 2, gpus: [] }, publicKey: key, time
})
const host = 'a'.repeat(64)
const stranger = 'b'.repeat(64)
const silent = 'c'.repeat(64)

describe('host status', () => {
  const merges = [merge(1, 'initial', null), ...Array.from({ length: STATUS_MERGES + 1 }, (_, i) => merge(i + 2, 'merge', 1 - i / 10))]
  const status = hostStatus({
    manifest, causeId: 'toy/1', allowlist: [host, silent], merges, counts: { queued: 2, merged: 6 },
    latestAttestations: [attestation(host, 5000), attestation(stranger, 9000)], runs: [{ verifier: host, runs: 12 }]
  })

  it('gives the best, the queue by state and the newest merges first', () => {
    expect(status.best).toEqual({ commit: merges[merges.length - 1]!.commit_oid, metric: merges[merges.length - 1]!.metric, seq: STATUS_MERGES + 1, kind: 'merge', at: merges[merges.length - 1]!.merged_at })
    expect(status.queue).toMatchObject({ queued: 2, verifying: 0, merged: 6 })
    expect(status.lastMerges).toHaveLength(STATUS_MERGES)
    expect(status.lastMerges[0]!.seq).toBe(STATUS_MERGES + 1)
  })

  it('lists the verifiers seen, the latest first, with their hardware and runs, and the allowlisted ones never seen', () => {
    expect(status.verifiers.map((v) => [v.key, v.hardware, v.runs, v.allowlisted])).toEqual([[stranger, 'cpu-2', 0, false], [host, 'cpu-2', 12, true]])
    expect(status.silentVerifiers).toEqual([silent])
  })

  it('says all of it in text', () => {
    const text = describeHostStatus(status, 10_000).join('\n')
    expect(text).toContain('candidates queued 2, verifying 0, merged 6')
    expect(text).toContain(`${host.slice(0, 16)}  cpu-2  last seen 5 s ago  12 runs`)
    expect(text).toContain('(not on the allowlist)')
    expect(text).toContain('allowlisted, never attested')
    expect(text).toMatch(/merge +6 +7{12}/)
  })
})
