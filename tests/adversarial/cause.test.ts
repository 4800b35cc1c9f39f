/**
 * Candidates that attack a cause's frozen evaluation rather than the coordinator: tiny-gpt
 * train.py files that look ahead where the old causality check did not look, save weights
 * that run code when loaded, or train past the budget. Each runs as a verifier runs it
 * (runTrial in the bubblewrap sandbox); a refused run is a failed trial, which no verifier
 * can attest as an improvement.
 */
import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseManifestText } from '@autoresearch/protocol'
import { runTrial, selectBackend, type TrialResult } from '@autoresearch/runner'
import { ROOT } from '../processes.ts'

// Needs PyTorch for /usr/bin/python3 (Debian: python3-torch) and bubblewrap, like tests/tiny-gpt.test.ts.
const TINY = join(ROOT, 'examples', 'tiny-gpt')
const LOOKAHEAD = join(import.meta.dirname, 'cause-lookahead.py')

const scratch: string[] = []
const tempDir = (prefix: string): string => { const d = mkdtempSync(join(tmpdir(), prefix)); scratch.push(d); return d }
afterAll(() => { for (const d of scratch.splice(0)) fs.rmSync(d, { recursive: true, force: true }) })

/** A copy of tiny-gpt with 1/8 of its token budget (150 steps, as in tests/tiny-gpt.test.ts) and the given train.py. */
function copyWith (trainPy: (shipped: string) => string): string {
  const dir = tempDir('ar-adv-cause-')
  fs.cpSync(TINY, dir, { recursive: true })
  const manifest = JSON.parse(fs.readFileSync(join(dir, 'autoresearch.json'), 'utf8')) as { train: { workBudget: { amount: number } } }
  expect(manifest.train.workBudget.amount % 8).toBe(0)
  manifest.train.workBudget.amount /= 8
  fs.writeFileSync(join(dir, 'autoresearch.json'), JSON.stringify(manifest))
  fs.writeFileSync(join(dir, 'train.py'), trainPy(fs.readFileSync(join(dir, 'train.py'), 'utf8')))
  return dir
}

async function trial (dir: string, seed = 1): Promise<TrialResult> {
  const manifest = parseManifestText(fs.readFileSync(join(dir, 'autoresearch.json'), 'utf8'))
  return await runTrial({ causeDir: dir, manifest, seed, dataRoot: tempDir('ar-adv-cause-data-'), backend: selectBackend() })
}

function expectRefused (result: TrialResult, phase: 'train' | 'evaluate', log: RegExp): void {
  expect(result.ok, result.ok ? `scored ${result.metric}` : '').toBe(false)
  if (result.ok) return
  expect(result.message).toMatch(new RegExp(`^${phase} exited with code 1`))
  expect(result.logTail).toMatch(log)
}

describe('tiny-gpt: causality is enforced by frozen code, not sampled', () => {
  it('refuses a model that looks ahead on every window but the one the old check used, and scores its weights under model.py\'s mask as what they are', async () => {
    // On the first validation window the model is causal to the last bit, so perturbing it shows nothing;
    // everywhere else it reads the character it predicts (scored 0.31 on the old evaluator, honest ≈ 0.5).
    const smuggled = await trial(copyWith(() => fs.readFileSync(LOOKAHEAD, 'utf8')))
    expectRefused(smuggled, 'evaluate', /evaluate: model\.bin: .*it has blocks\.0\.attn\.mask, blocks\.1\.attn\.mask, which GPT\(config\) does not save; the attention mask is model\.py's/)

    // Without the mask in the artifact the same weights are scored under model.py's lower-triangular
    // mask: what is left is a bigram model (≈ 3.6 bits, character frequencies alone give 4.3).
    const maskless = await trial(copyWith(() => fs.readFileSync(LOOKAHEAD, 'utf8').replace(/^SMUGGLE_MASK = True$/m, 'SMUGGLE_MASK = False')))
    expect(maskless.ok, maskless.ok ? '' : maskless.logTail).toBe(true)
    if (!maskless.ok) return
    expect(maskless.metric).toBeGreaterThan(2)
  })
})

describe('tiny-gpt: weights are data in a format without code', () => {
  it('refuses a TorchScript archive saved as the weights before any of its code runs', async () => {
    // torch.load(..., weights_only=True) hands a TorchScript zip to torch.jit.load, which runs __setstate__.
    const payload = `import json, os
from typing import List
import torch

class Payload(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.zeros(1)

    @torch.jit.export
    def __getstate__(self) -> List[int]:
        return [0]

    @torch.jit.export
    def __setstate__(self, state: List[int]) -> None:
        # Split, so that a traceback quoting this line cannot pass for the payload's output.
        print("PAYLOAD" + " RAN in the loading process")
        self.w = torch.zeros(1)
        self.training = False

out = os.environ["AUTORESEARCH_OUT"]
archive = torch.jit.script(Payload())
for name in ("model.pt", "model.bin"):
    torch.jit.save(archive, os.path.join(out, name))
vocab = json.load(open(os.path.join(os.environ["AUTORESEARCH_DATA"], "meta.json")))["vocab"]
json.dump({"vocab_size": len(vocab), "n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 8, "train_tokens": 0}, open(os.path.join(out, "model.json"), "w"))
`
    const result = await trial(copyWith(() => payload))
    expectRefused(result, 'evaluate', /evaluate: model\.bin: it is not in model\.py's weight format \(a zip: a torch\.save or TorchScript archive\?\)/)
    if (result.ok) return
    expect(result.logTail).not.toContain('PAYLOAD RAN')
  })
})

describe('tiny-gpt: the token budget is counted by frozen code', () => {
  it('stops a train.py that runs four times the steps, at the budget', async () => {
    const result = await trial(copyWith((t) => t.replace('    steps = training_budget()', '    steps = 4 * training_budget()')))
    expect(!result.ok && result.reason, result.logTail).toBe('over-work-budget')
    expect(result.logTail).toMatch(/BudgetExceeded: training budget exceeded: \d+ tokens through the model with gradients, the budget is \d+/)
  })

  it('refuses an artifact whose meter went past the budget even when train.py swallowed the stop', async () => {
    const swallowed = `import json, os
import torch
from model import GPT, BudgetExceeded, save_artifact, training_budget

meta = json.load(open(os.path.join(os.environ["AUTORESEARCH_DATA"], "meta.json")))
model = GPT({"vocab_size": len(meta["vocab"]), "n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 8, "dropout": 0.0})
try:
    model(torch.zeros((training_budget() // 8 + 1, 8), dtype=torch.long))  # one batch past the budget
except BudgetExceeded as err:
    print(f"carrying on after: {err}")
save_artifact(model, os.environ["AUTORESEARCH_OUT"])
`
    const result = await trial(copyWith(() => swallowed))
    expect(!result.ok && result.reason, result.logTail).toBe('over-work-budget')
    expect(!result.ok && result.message).toMatch(/train used \d+ tokens, over the work budget of \d+ tokens \(train\.workBudget\)/)
  })
})
