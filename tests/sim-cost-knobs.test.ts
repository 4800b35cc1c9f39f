import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_BATCH_SIZE, parseManifestText } from '@autoresearch/protocol'
import { simCostCause } from '../bench/lib/sim-network.ts'
import { MAX_INERT, MAX_KNOBS, run } from '../bench/scaling.ts'
import { setConstant } from './network.ts'

const made: string[] = []
afterEach(() => { for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true }) })

/** The cause's train step (train.py only: the harness's sleep adds nothing) and evaluation, as the runner runs them, without the sandbox. */
function score (cause: string, seed = 1): number {
  const out = mkdtempSync(join(tmpdir(), 'ar-knobs-out-'))
  made.push(out)
  const env = { ...process.env, AUTORESEARCH_OUT: out, AUTORESEARCH_SEED: String(seed), AUTORESEARCH_RESULT: join(out, 'result.json') }
  for (const file of ['train.py', 'evaluate.py']) {
    const r = spawnSync('python3', [file], { cwd: cause, env, encoding: 'utf8', timeout: 30_000 })
    expect(r.status, r.stderr).toBe(0)
  }
  return (JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { loss: number }).loss
}

const cause = (knobs?: number): string => {
  const dir = simCostCause(0, { ...(knobs === undefined ? {} : { knobs }) })
  made.push(dir)
  return dir
}

describe('the sim-cost cause with knobs (npm run bench -- scaling --knobs N)', () => {
  // ln(2)² per knob a factor of 2 off; the cause's own three constants score 2·ln(4)² + ln(2)².
  const own = 2 * Math.log(4) ** 2 + Math.log(2) ** 2
  const knob = Math.log(2) ** 2

  it('without knobs scores as the cause always has', () => {
    expect(score(cause())).toBeCloseTo(own, 1)
  })

  it('scores each added knob, and setting one to its optimum removes its share of the loss', () => {
    const dir = cause(5)
    expect(score(dir)).toBeCloseTo(own + 5 * knob, 1)
    const train = join(dir, 'train.py')
    writeFileSync(train, setConstant('KNOB_3', 1.0)(readFileSync(train, 'utf8')))
    expect(score(dir)).toBeCloseTo(own + 4 * knob, 1)
  })

  it('--inert: constants the score never reads, so that an edit to one leaves the loss exactly as it was', () => {
    const dir = simCostCause(0, { knobs: 1, inert: 4 })
    made.push(dir)
    const train = join(dir, 'train.py')
    const text = readFileSync(train, 'utf8')
    expect(text).toMatch(/^INERT_4 = 1\.0$/m)
    const before = [score(dir, 1), score(dir, 2)]
    expect(before[0]).toBeCloseTo(own + knob, 1)
    writeFileSync(train, setConstant('INERT_2', 7.5)(text))
    // The seed noise is drawn from the scored constants only: bit for bit the same loss.
    expect([score(dir, 1), score(dir, 2)]).toEqual(before)
    writeFileSync(train, setConstant('KNOB_1', 1.0)(text))
    expect(score(dir, 1)).toBeCloseTo(own, 1)
  })

  it('refuses a knob count out of range before any race starts, naming the range', async () => {
    for (const knobs of ['-1', '2.5', 'many', String(MAX_KNOBS + 1)]) {
      await expect(run([`--knobs=${knobs}`])).rejects.toMatchObject({ name: 'ScalingUsageError', message: expect.stringContaining(`0 to ${MAX_KNOBS}`) })
    }
    await expect(run(['--inert=401'])).rejects.toMatchObject({ name: 'ScalingUsageError', message: expect.stringContaining(`0 to ${MAX_INERT}`) })
  })

  it('leaves the inert constants out of params.json, so that the most knobs and inert constants together still score', () => {
    const dir = simCostCause(0, { knobs: MAX_KNOBS, inert: MAX_INERT })
    made.push(dir)
    expect(score(dir)).toBeCloseTo(own + MAX_KNOBS * knob, 1)
  })

  it('--batch: the copy declares verification.batch with the size given, and a size out of range is refused before any race', async () => {
    const dir = simCostCause(0, { batch: 8 })
    made.push(dir)
    expect(parseManifestText(readFileSync(join(dir, 'autoresearch.json'), 'utf8')).verification.batch).toEqual({ size: 8 })
    for (const size of ['1', '2.5', 'all', String(MAX_BATCH_SIZE + 1)]) {
      await expect(run([`--batch=${size}`])).rejects.toMatchObject({ name: 'ScalingUsageError', message: expect.stringContaining(`2 to ${MAX_BATCH_SIZE}`) })
    }
  })

  it('puts each knob on a line of its own between comments, so that edits to two knobs merge cleanly', () => {
    const text = readFileSync(join(cause(3), 'train.py'), 'utf8')
    const at = (name: string): number => text.split('\n').findIndex((line) => line.startsWith(`${name} = `))
    expect(at('KNOB_2') - at('KNOB_1')).toBeGreaterThanOrEqual(3)
    expect(at('KNOB_3') - at('KNOB_2')).toBeGreaterThanOrEqual(3)
    expect(at('KNOB_3')).toBeLessThan(text.split('\n').findIndex((line) => line.startsWith('if __name__')))
  })
})
