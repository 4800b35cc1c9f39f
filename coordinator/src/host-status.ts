import type { AttestationBody, Manifest } from '@autoresearch/protocol'
import { figure } from './candidate-lines.ts'
import type { MergeRow, Store } from './store/index.ts'

/** Merges shown by `status` (the newest first). */
export const STATUS_MERGES = 5

export interface HostStatus {
  cause: string
  causeId: string
  metric: Manifest['metric']
  best: { commit: string, metric: number | null, seq: number, kind: MergeRow['kind'], at: number }
  /** Candidates by state. */
  queue: Record<string, number>
  verifiers: Array<{ key: string, allowlisted: boolean, hardware: string | null, lastSeen: number, runs: number }>
  /** Allowlisted keys that never attested. */
  silentVerifiers: string[]
  lastMerges: Array<{ seq: number, kind: MergeRow['kind'], commit: string, candidateSeq: number | null, metric: number | null, baselineMetric: number | null, at: number, reverted: boolean }>
}

export interface HostStatusInputs {
  manifest: Manifest
  causeId: string
  allowlist: string[]
  merges: MergeRow[]
  counts: Record<string, number>
  latestAttestations: AttestationBody[]
  runs: Array<{ verifier: string, runs: number }>
}

/** The cause at a glance for its host, from the home's database alone (no site, no running coordinator needed). */
export function hostStatus (i: HostStatusInputs): HostStatus {
  const best = i.merges[i.merges.length - 1] as MergeRow
  const runs = new Map(i.runs.map((r) => [r.verifier, r.runs]))
  const verifiers = i.latestAttestations
    .map((a) => ({ key: a.publicKey, allowlisted: i.allowlist.includes(a.publicKey), hardware: a.hardware.class, lastSeen: a.time, runs: runs.get(a.publicKey) ?? 0 }))
    .sort((a, b) => b.lastSeen - a.lastSeen)
  return {
    cause: i.manifest.name,
    causeId: i.causeId,
    metric: i.manifest.metric,
    best: { commit: best.commit_oid, metric: best.metric, seq: best.index, kind: best.kind, at: best.merged_at },
    queue: { queued: 0, verifying: 0, merged: 0, rejected: 0, stale: 0, ...i.counts },
    verifiers,
    silentVerifiers: i.allowlist.filter((k) => !verifiers.some((v) => v.key === k)),
    lastMerges: i.merges.slice(-STATUS_MERGES).reverse().map((m) => ({
      seq: m.index, kind: m.kind, commit: m.commit_oid, candidateSeq: m.candidate_seq, metric: m.metric, baselineMetric: m.baseline_metric, at: m.merged_at, reverted: m.reverted_at !== null
    }))
  }
}

/** Reads what `hostStatus` needs from a home's store (read-only). */
export function loadHostStatus (store: Pick<Store, 'merges' | 'countsByState' | 'verificationRuns' | 'views'>, manifest: Manifest, config: { causeId: string, verifiers: string[] }): HostStatus {
  return hostStatus({
    manifest, causeId: config.causeId, allowlist: config.verifiers, merges: store.merges(), counts: store.countsByState(),
    latestAttestations: store.views.latestAttestationPerVerifier(), runs: store.verificationRuns()
  })
}

const ago = (at: number, now: number): string => {
  const s = Math.max(0, Math.round((now - at) / 1000))
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : s < 172_800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86_400)} days ago`
}

/** The `status` command's text. */
export function describeHostStatus (s: HostStatus, now: number): string[] {
  const queue = Object.entries(s.queue).map(([state, n]) => `${state} ${n}`).join(', ')
  return [
    `${s.cause} (${s.causeId})`,
    `best       ${s.best.commit.slice(0, 12)} (${s.best.kind} ${s.best.seq}, ${ago(s.best.at, now)}): ${s.metric.name} ${figure(s.best.metric)} (${s.metric.direction})`,
    `candidates ${queue}`,
    `verifiers  ${s.verifiers.length === 0 ? 'none has attested yet' : `${s.verifiers.length} seen`}`,
    ...s.verifiers.map((v) => `  ${v.key.slice(0, 16)}  ${v.hardware ?? '?'}  last seen ${ago(v.lastSeen, now)}  ${v.runs} runs${v.allowlisted ? '' : '  (not on the allowlist)'}`),
    ...s.silentVerifiers.map((k) => `  ${k.slice(0, 16)}  allowlisted, never attested`),
    'last merges',
    ...s.lastMerges.map((m) => `  ${m.kind.padEnd(7)} ${String(m.seq).padStart(3)}  ${m.commit.slice(0, 12)}  ${ago(m.at, now)}${m.candidateSeq === null ? '' : `  candidate #${m.candidateSeq}`}${m.metric === null ? '' : `  ${figure(m.baselineMetric)} -> ${figure(m.metric)}`}${m.reverted ? '  (reverted)' : ''}`)
  ]
}
