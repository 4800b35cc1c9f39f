import type { Hardware } from '@autoresearch/protocol'
import type { Extras } from './candidates.ts'
import type { SiteDeps } from './deps.ts'

export interface NetworkView {
  submitters: { total: number, last24h: number }
  verifiers: { total: number, last24h: number }
  candidatesLastHour: number
  candidatesLast24h: number
  verificationRunsLastHour: number
  openLeases: number
  verifierHardware: Array<{ class: string, verifiers: number, gpus: string[] }>
  /** Experiment reports received in the last hour (self-reported runs, kept or not). */
  experimentsPerHour: number
  /** Workers that reported an experiment in the last hour: who is busy now, even with nothing to submit. */
  activeWorkersLastHour: number
  /** Experiment reports received ever. */
  experimentsTotal: number
  /** From each submitter's latest submission that carried it; null when none did. */
  workerHardware: Array<{ class: string, workers: number, gpus: string[] }> | null
}

const HOUR = 3600_000
const DAY = 24 * HOUR

function hardwareClasses (list: Hardware[]): Array<{ class: string, count: number, gpus: string[] }> {
  const classes = new Map<string, { count: number, gpus: Set<string> }>()
  for (const hw of list) {
    const entry = classes.get(hw.class) ?? { count: 0, gpus: new Set<string>() }
    entry.count++
    for (const g of hw.gpus) entry.gpus.add(g)
    classes.set(hw.class, entry)
  }
  return [...classes].map(([cls, e]) => ({ class: cls, count: e.count, gpus: [...e.gpus].sort() })).sort((a, b) => b.count - a.count)
}

/** Who is taking part, how much is happening, on what hardware. */
export function network (deps: Pick<SiteDeps, 'store'>, extras: ReadonlyMap<string, Extras>, now = Date.now()): NetworkView {
  const views = deps.store.views
  const verifierHw = views.latestAttestationPerVerifier().map((a) => a.hardware)
  const workerHw = [...extras.values()].flatMap((e) => e.hardware ?? [])
  const lastHour = views.experimentsSince(now - HOUR)
  return {
    submitters: { total: views.submitters(), last24h: views.submittersSince(now - DAY) },
    verifiers: { total: views.verifiers(), last24h: views.verifiersSince(now - DAY) },
    candidatesLastHour: views.submissionsSince(now - HOUR),
    candidatesLast24h: views.submissionsSince(now - DAY),
    // Two runs per trial: baseline and candidate.
    verificationRunsLastHour: views.attestationsSince(now - HOUR).reduce((n, a) => n + 2 * a.trials.length, 0),
    openLeases: views.openLeases(now),
    verifierHardware: hardwareClasses(verifierHw).map((c) => ({ class: c.class, verifiers: c.count, gpus: c.gpus })),
    experimentsPerHour: lastHour.experiments,
    activeWorkersLastHour: lastHour.workers,
    experimentsTotal: deps.store.experimentCount(),
    workerHardware: workerHw.length === 0 ? null : hardwareClasses(workerHw).map((c) => ({ class: c.class, workers: c.count, gpus: c.gpus }))
  }
}
