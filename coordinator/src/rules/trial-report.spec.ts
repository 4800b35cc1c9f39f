import { parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import { trialReport } from './trial-report.ts'

const input = {
  name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] },
  metric: { name: 'loss', direction: 'minimize' }
}
const manifest = parseManifest({ ...input, verification: { minImprovement: 0.05, sequential: { noise: 0.014 } } })
const trial = (seed: number, gain: number): { seed: number, baseline: number, candidate: number } => ({ seed, baseline: 1, candidate: 1 - gain })

describe('trialReport', () => {
  it('takes one trial per seed in the job order', () => {
    expect(trialReport(manifest, [7, 3, 9], [trial(7, 0.1), trial(3, 0.1), trial(9, 0.1)])).toEqual({ ok: true })
  })

  it('refuses trials out of order, repeated or on seeds the job did not name', () => {
    for (const trials of [[trial(3, 0.1), trial(7, 0.1), trial(9, 0.1)], [trial(7, -1), trial(7, -1)], [trial(8, -1)]]) {
      expect(trialReport(manifest, [7, 3, 9], trials)).toMatchObject({ ok: false, problem: expect.stringMatching(/in order \(7, 3, 9\)/) })
    }
  })

  it('takes a short report when the sequential rule ends the job on exactly those pairs', () => {
    const report = trialReport(manifest, [7, 3, 9], [trial(7, -0.2)])
    expect(report).toMatchObject({ ok: true, stopped: { verdict: 'rejected', reason: expect.stringMatching(/^after 1 of 3 pairs/) } })
    // Any pair may come first: slots finish in any order.
    expect(trialReport(manifest, [7, 3, 9], [trial(3, -0.2)]).ok).toBe(true)
  })

  it('refuses a short report the rule does not end: a verifier may not skip pairs of a promising candidate', () => {
    expect(trialReport(manifest, [7, 3, 9], [trial(7, 0.04)])).toMatchObject({ ok: false, problem: expect.stringMatching(/reports 1 of its job's 3 pairs/) })
  })

  it('takes a short report that accepts only from a job allowed to end so', () => {
    const accepting = parseManifest({ ...input, verification: { minImprovement: 0.05, sequential: { noise: 0.014, accept: 0.02 } } })
    // Varying with the seed as training does, 0.5 beyond doubt after two pairs.
    const clear = [{ seed: 7, baseline: 1, candidate: 0.5 }, { seed: 3, baseline: 1.01, candidate: 0.513 }]
    expect(trialReport(accepting, [7, 3, 9], clear, { accept: true })).toMatchObject({ ok: true, stopped: { verdict: 'accepted' } })
    expect(trialReport(accepting, [7, 3, 9], clear)).toMatchObject({ ok: false, problem: expect.stringMatching(/reports 2 of its job's 3 pairs/) })
    expect(trialReport(manifest, [7, 3, 9], clear, { accept: true }).ok).toBe(false)
  })
})
