import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity, parseManifestText, type Manifest } from '@autoresearch/protocol'
import { runTrial, selectBackend } from '@autoresearch/runner'
import { Worker, type Agent, type WorkerEvent } from 'autoresearch-worker'
import { checkCause } from '../coordinator/src/check.ts'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

// Needs PyTorch for /usr/bin/python3 (Debian: python3-torch) and bubblewrap: every run here is sandboxed.
const TINY = join(ROOT, 'examples', 'tiny-gpt')
const SHIPPED_BUDGET = 2_457_600
const manifestOf = (dir: string): Manifest => parseManifestText(fs.readFileSync(join(dir, 'autoresearch.json'), 'utf8'))

/**
 * A copy of tiny-gpt whose manifest grants 1/8 of the shipped token budget
 * (150 steps instead of 1200, about 10 s a run), optionally with fewer verification trials:
 * the tests that need many runs use it, and say so.
 */
function testBudgetCopy (opts: { trials?: number, trainPy?: (text: string) => string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ar-tiny-gpt-'))
  fs.cpSync(TINY, dir, { recursive: true })
  const m = JSON.parse(fs.readFileSync(join(dir, 'autoresearch.json'), 'utf8'))
  expect(m.train.workBudget).toEqual({ unit: 'tokens', amount: SHIPPED_BUDGET })
  m.train.workBudget.amount = SHIPPED_BUDGET / 8
  if (opts.trials !== undefined) m.verification.trials = opts.trials
  fs.writeFileSync(join(dir, 'autoresearch.json'), JSON.stringify(m))
  if (opts.trainPy !== undefined) fs.writeFileSync(join(dir, 'train.py'), opts.trainPy(fs.readFileSync(join(dir, 'train.py'), 'utf8')))
  return dir
}

async function trial (dir: string, seed = 1): ReturnType<typeof runTrial> {
  return await runTrial({ causeDir: dir, manifest: manifestOf(dir), seed, dataRoot: mkdtempSync(join(tmpdir(), 'ar-tiny-data-')), backend: selectBackend() })
}

/** A train.py that trains nothing: it saves a freshly initialised model (by `save`), after `tamper` ran on it. */
const untrained = (tamper: string, save = 'save_artifact(model, out)'): string => `import json, os, sys
import torch
from model import GPT, save_artifact
torch.manual_seed(int(os.environ["AUTORESEARCH_SEED"]))
meta = json.load(open(os.path.join(os.environ["AUTORESEARCH_DATA"], "meta.json")))
config = {"vocab_size": len(meta["vocab"]), "n_layer": 2, "n_head": 4, "n_embd": 64, "block_size": 64, "dropout": 0.0}
model = GPT(config)
out = os.environ["AUTORESEARCH_OUT"]
${tamper}
${save}
print(f"python {sys.executable} torch {torch.__version__}")
`

describe('tiny-gpt (PyTorch on the CPU, in the bubblewrap sandbox)', () => {
  it('one full experiment at the shipped budget (1200 steps) runs prepare, train and evaluate and yields val_bpb', async () => {
    const result = await trial(TINY, 1)
    expect(result.ok, result.ok ? '' : `${result.reason}: ${result.message}\n${result.logTail}`).toBe(true)
    if (!result.ok) return
    // Measured 0.49–0.51 over seeds 1–5 (README); an untrained model scores about log2(50) ≈ 5.6.
    expect(result.metric).toBeGreaterThan(0.3)
    expect(result.metric).toBeLessThan(0.8)
    expect(result.result).toMatchObject({ val_bpb: result.metric, params: 110642, n_val: 39999, train_tokens: SHIPPED_BUDGET })
    expect(result.logTail).toMatch(/trained 1200 steps of 32x64 tokens on (cpu|cuda), seed 1/)
    console.log(`tiny-gpt full run: val_bpb ${result.metric.toFixed(4)} in ${(result.durationMs / 1000).toFixed(1)} s`)
  })

  it('evaluate scores every model under model.py\'s own causal mask, reads weights only in model.py\'s format, and scores an honest model', async () => {
    // An untrained model, left causal: scored (badly).
    const honest = await trial(testBudgetCopy({ trainPy: () => untrained('') }))
    expect(honest.ok, honest.ok ? '' : honest.logTail).toBe(true)
    if (!honest.ok) return
    expect(honest.metric).toBeGreaterThan(5)
    expect(honest.logTail).toMatch(/python \/usr\/(local\/)?bin\/python3 torch \d/)

    // The same model with every attention mask opened: the mask is not in the artifact, so evaluate
    // computes exactly what it computed for the causal one (tests/adversarial/cause.test.ts: an artifact
    // that carries a mask is refused).
    const opened = await trial(testBudgetCopy({ trainPy: () => untrained('for block in model.blocks:\n    block.attn.mask.fill_(1.0)') }))
    expect(opened.ok, opened.ok ? '' : opened.logTail).toBe(true)
    if (!opened.ok) return
    expect(opened.metric).toBe(honest.metric)

    // A pickle that would run code when loaded is not even unpickled: model.bin is read as bytes.
    const pickled = await trial(testBudgetCopy({
      trainPy: () => untrained('class Payload:\n    def __reduce__(self):\n        return (print, ("PAYLOAD RAN",))', 'torch.save({"x": Payload()}, os.path.join(out, "model.bin"))\njson.dump({**config, "train_tokens": 0}, open(os.path.join(out, "model.json"), "w"))')
    }))
    expect(pickled.ok).toBe(false)
    if (pickled.ok) return
    expect(pickled.message).toMatch(/^evaluate exited with code 1/)
    expect(pickled.logTail).toMatch(/evaluate: model.bin: it is not in model.py's weight format/)
    expect(pickled.logTail).not.toContain('PAYLOAD RAN')
  })

  it('check reports the noise and a suggestion (test budget: 1/8 of the tokens)', async () => {
    const report = await checkCause({ causeDir: testBudgetCopy(), trials: 3 })
    expect(report.sandbox).toBe('bwrap')
    expect(report.metricSource).toBe('evaluator')
    expect(report.trials.every((t) => t.ok)).toBe(true)
    expect(report.noise?.sd).toBeGreaterThan(0)
    expect(report.noise?.minImprovement).toBeGreaterThan(0)
    expect(report.noise?.trials).toBeGreaterThanOrEqual(2)
    expect(report.runSeconds).toBeGreaterThan(1)
  })
})

describe('a tiny-gpt improvement goes through worker, verifier and merge (test budget: 1/8 of the tokens, 3 verification trials)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('a better learning rate is found, confirmed, submitted, verified on the coordinator\'s seeds and merged', async () => {
    net = await TestNetwork.start(testBudgetCopy({ trials: 3 }))
    const betterLr: Agent = {
      name: 'scripted',
      propose: async ({ files }) => ({ edits: { 'train.py': setConstant('LEARNING_RATE', '3e-3')(files['train.py'] as string) }, description: 'learning rate 1e-3 -> 3e-3' })
    }
    const identity = Identity.generate()
    const worker = new Worker({ client: await net.client(identity), identity, agent: betterLr, stateDir: join(net.scratch, 'worker') })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))
    await worker.step()
    const submitted = events.find((e) => e.type === 'submitted')
    expect(submitted, JSON.stringify(events.filter((e) => e.type !== 'phase'))).toBeDefined()
    if (submitted?.type !== 'submitted') return
    expect(await net.verifyAll()).toBe(1)
    const seq = submitted.receipt.candidateSeq
    const row = net.running.coordinator.store.candidate(seq)
    expect(row?.state, row?.reason ?? '').toBe('merged')
    const verdict = row!.verdict! as { seeds: number[], test: { mean: number, passed: boolean } }
    expect(verdict.seeds).toHaveLength(3)
    expect(verdict.test.passed).toBe(true)
    expect(verdict.test.mean).toBeGreaterThan(manifestOf(TINY).verification.minImprovement)
    const status = net.running.coordinator.status()
    expect(status.merges).toBe(1)
    expect(status.metricSource).toBe('evaluator')
    expect(status.best.metric).toBeLessThan(status.baselineMetric as number)
  })
})
