import { parseManifest, type Manifest } from '@autoresearch/protocol'
import type { TrialResult } from '@autoresearch/runner'
import type { Trial, TrialRun } from '../src/components.ts'
import type { WorkerEvent } from '../src/events.ts'

/** A cause whose metric is minimized, with one editable file and an editable directory. */
export function manifestOf (overrides: { direction?: 'minimize' | 'maximize', minImprovement?: number, editable?: string[] } = {}): Manifest {
  return parseManifest({
    name: 't', editable: overrides.editable ?? ['train.py', 'src/'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] },
    metric: { name: 'loss', direction: overrides.direction ?? 'minimize' }, verification: { minImprovement: overrides.minImprovement ?? 0.01 }
  })
}

export const ok = (metric: number, logDigest = 'a'.repeat(64)): TrialResult => ({ ok: true, metric, result: {}, memoryGb: 0.5, logDigest, logTail: '', durationMs: 1 })
export const crash = (reason: 'crash' | 'aborted' = 'crash'): TrialResult => ({ ok: false, reason, message: 'boom', logDigest: 'b'.repeat(64), logTail: 'Traceback', durationMs: 1 })

/** A trial answering from `metricOf` and recording every run it was asked for. */
export function fakeTrial (metricOf: (run: TrialRun) => TrialResult): { trial: Trial, runs: TrialRun[] } {
  const runs: TrialRun[] = []
  return { runs, trial: async (run) => { runs.push(run); return metricOf(run) } }
}

/** An emit that keeps the events. */
export function recorder (): { emit: (e: WorkerEvent) => void, events: WorkerEvent[] } {
  const events: WorkerEvent[] = []
  return { events, emit: (e) => { events.push(e) } }
}
