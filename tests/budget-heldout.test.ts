/**
 * Issue 16 point 4: the budget is the harness's, and held-out data stay out of train's
 * sandbox. A candidate that trains past the cause's declared work budget, and one whose
 * train reads the held-out split, are rejected with a typed reason, in both example causes:
 * toy-regression all the way through a coordinator and its verifier (bubblewrap), tiny-gpt
 * through the sandboxed runner as a verifier runs it.
 */
import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { Identity, parseManifestText, type Trial } from '@autoresearch/protocol'
import { runTrial, selectBackend, type TrialResult } from '@autoresearch/runner'
import { ROOT } from './processes.ts'
import { TestNetwork } from './network.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')
const TINY = join(ROOT, 'examples', 'tiny-gpt')

/** "Train longer": twice the steps the budget allows. */
const toyTrainsLonger = (t: string): string => t.replace('    steps = budget // bs\n', '    steps = 2 * budget // bs\n')
/** Trains on the validation split too, reading it where it used to be. */
const toyReadsHeldOut = (t: string): string => t.replace('    budget = training_budget()\n', `    with open(os.path.join(data_dir, "val.json")) as f:
        train += [(p["x"], p["y"]) for p in json.load(f)]
    budget = training_budget()
`)

describe('toy-regression through a coordinator and a verifier', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('rejects a candidate that trains past the work budget and one that reads the held-out split, each with its typed reason, and merges neither', async () => {
    const train = fs.readFileSync(join(TOY, 'train.py'), 'utf8')
    expect(toyTrainsLonger(train)).not.toBe(train)
    expect(toyReadsHeldOut(train)).not.toBe(train)
    net = await TestNetwork.start(TOY)
    const before = net.best
    const alice = Identity.generate()
    // Claimed gains, as a cheat would claim them.
    const longer = await net.submitEdit(alice, toyTrainsLonger, { claimedMetric: 0.05 })
    const peeks = await net.submitEdit(alice, toyReadsHeldOut, { claimedMetric: 0.05 })
    await net.verifyAll()

    const store = net.running.coordinator.store
    const expected = [
      [longer, 'over-work-budget', /candidate over-work-budget: train was stopped by the cause's frozen meter past its work budget of 160000 examples/],
      [peeks, 'held-out-access', /candidate held-out-access: train failed reaching for held-out data \(val\.json\), which only evaluate sees/]
    ] as const
    for (const [seq, kind, reason] of expected) {
      const row = store.candidate(seq)
      expect(row?.state, `${kind}: ${row?.reason ?? ''}`).toBe('rejected')
      expect(row?.reason).toMatch(reason)
      // The verifier's signed attestation says why each candidate run failed; the baseline ran.
      const trials = store.attestationsFor(seq).flatMap((a) => (a.body as { trials: Trial[] }).trials)
      expect(trials.length).toBeGreaterThan(0)
      for (const t of trials) {
        expect(t.candidate).toBeNull()
        expect(t.baseline).toEqual(expect.any(Number))
        expect(t.failure).toMatch(new RegExp(`^candidate ${kind}: `))
      }
    }
    expect(net.best).toBe(before)
  })
})

describe('tiny-gpt through the sandboxed runner', () => {
  const scratch: string[] = []
  const tempDir = (prefix: string): string => { const d = mkdtempSync(join(tmpdir(), prefix)); scratch.push(d); return d }
  afterAll(() => { for (const d of scratch.splice(0)) fs.rmSync(d, { recursive: true, force: true }) })

  /** A copy with 1/8 of the declared token budget (150 steps, about 10 s a run) and train.py changed. */
  const copyWith = (edit: (trainPy: string) => string): string => {
    const dir = tempDir('ar-tiny-budget-')
    fs.cpSync(TINY, dir, { recursive: true })
    const manifest = JSON.parse(fs.readFileSync(join(dir, 'autoresearch.json'), 'utf8')) as { train: { workBudget: { amount: number } } }
    manifest.train.workBudget.amount /= 8
    fs.writeFileSync(join(dir, 'autoresearch.json'), JSON.stringify(manifest))
    const train = fs.readFileSync(join(dir, 'train.py'), 'utf8')
    expect(edit(train)).not.toBe(train)
    fs.writeFileSync(join(dir, 'train.py'), edit(train))
    return dir
  }
  const trial = async (dir: string): Promise<TrialResult> =>
    await runTrial({ causeDir: dir, manifest: parseManifestText(fs.readFileSync(join(dir, 'autoresearch.json'), 'utf8')), seed: 1, dataRoot: tempDir('ar-tiny-budget-data-'), backend: selectBackend() })

  it('a train.py that trains longer than the token budget is stopped by the frozen meter: over-work-budget', async () => {
    const r = await trial(copyWith((t) => t.replace('    steps = training_budget() //', '    steps = 2 * training_budget() //')))
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.reason, r.logTail).toBe('over-work-budget')
    expect(r.message).toMatch(/stopped by the cause's frozen meter past its work budget of 307200 tokens/)
    expect(r.logTail).toMatch(/BudgetExceeded: training budget exceeded: 309248 tokens through the model with gradients, the budget is 307200/)
  })

  it('a train.py that reads the validation text finds it nowhere: held-out-access', async () => {
    const r = await trial(copyWith((t) => t.replace('        text = f.read()\n', `        text = f.read()
    with open(os.path.join(data_dir, "val.txt"), encoding="ascii") as f:
        text += f.read()
`)))
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.reason, r.logTail).toBe('held-out-access')
    expect(r.message).toMatch(/train failed reaching for held-out data \(val\.txt\), which only evaluate sees/)
  })
})
