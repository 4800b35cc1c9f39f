import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { ROOT } from './processes.ts'
import { causeWith, setConstant, TestNetwork } from './network.ts'

/**
 * The figures a cause's evaluate writes beside `metric` (issue 16, point 8): a real verifier
 * runs both sides in the sandbox, the attestation carries them, and the candidate's page
 * shows them, over the coordinator's real HTTP server.
 */
describe('extra result figures from evaluate, end to end', () => {
  let cause: string
  let net: TestNetwork | undefined
  beforeAll(() => {
    cause = causeWith(join(ROOT, 'tests', 'fixtures', 'noisy-cause'), {})
    // Besides the metric: a figure that is the same for both sides, one that differs, one that is not a number.
    const evaluate = join(cause, 'evaluate.py')
    writeFileSync(evaluate, readFileSync(evaluate, 'utf8').replace(
      'json.dump({"metric": float(value), "memory_gb": 0.0}, f)',
      'json.dump({"metric": float(value), "memory_gb": 0.0, "params": 4096, "value_milli": round(value * 1000), "note": "text is dropped"}, f)'))
  })
  afterAll(async () => {
    await net?.stop()
    rmSync(cause, { recursive: true, force: true })
  })

  it('carries them in each trial and shows each side\'s mean on the candidate page', async () => {
    net = await TestNetwork.start(cause)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    await net.verifyAll()
    expect(net.state(seq)).toBe('merged')
    const trials = net.running.coordinator.store.attestationsFor(seq).flatMap((a) => a.body.trials)
    expect(trials.length).toBeGreaterThan(0)
    for (const t of trials) {
      expect(Object.keys(t.candidateExtras ?? {})).toEqual(['memory_gb', 'params', 'value_milli'])
      expect(t.candidateExtras?.params).toBe(4096)
      // The candidate's loss is lower, so its figure is too: each side's own run wrote it.
      expect(t.candidateExtras?.value_milli).toBeLessThan(t.baselineExtras?.value_milli ?? -Infinity)
    }
    const page = await (await fetch(`${net.running.httpUrl}/candidates/${seq}`)).text()
    expect(page).toContain('Other figures from the evaluator')
    expect(page).toMatch(/<code>params<\/code><\/td><td class="n">4096<\/td><td class="n">4096<\/td>/)
    expect(page).toContain('<code>value_milli</code>')
    expect(page).not.toContain('text is dropped')
  })
})
