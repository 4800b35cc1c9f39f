import { afterAll, describe, expect, it } from 'vitest'
import { parseManifest, InvalidManifestError } from '@autoresearch/protocol'
import { runTrial, selectBackend, type SandboxBackend, type TrialResult } from '@autoresearch/runner'
import { removeTempDirs, tempDir, toyManifest, toyTrain, toyVariant, trialProcesses } from './helpers.ts'

/** Train's budget (`train.budgetSeconds`) is enforced by the runner, not by the cause's own code. */

afterAll(removeTempDirs)

describe('the manifest\'s train budget', () => {
  const base = { name: 't', editable: ['train.py'], evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'm', direction: 'minimize' }, verification: { minImprovement: 0.1 } }

  it('is accepted when budget and grace fit in the timeout', () => {
    const m = parseManifest({ ...base, train: { command: ['python3', 'train.py'], timeoutSeconds: 120, budgetSeconds: 60, graceSeconds: 30 } })
    expect(m.train.budgetSeconds).toBe(60)
  })

  it('is refused with a readable message when it does not fit, or grace comes without a budget', () => {
    const bad = (train: Record<string, unknown>): string => {
      try {
        parseManifest({ ...base, train: { command: ['python3', 'train.py'], ...train } })
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidManifestError)
        return (err as Error).message
      }
      return 'accepted'
    }
    expect(bad({ timeoutSeconds: 60, budgetSeconds: 55 })).toMatch(/train\.budgetSeconds: budgetSeconds \(55\) plus graceSeconds \(10\) must fit in train\.timeoutSeconds \(60\)/)
    expect(bad({ budgetSeconds: -1 })).toMatch(/train\.budgetSeconds/)
    expect(bad({ graceSeconds: 5 })).toMatch(/graceSeconds only means something with train\.budgetSeconds/)
  })
})

let bwrap: SandboxBackend | undefined
try {
  bwrap = selectBackend({ sandbox: 'bwrap' })
} catch {}

for (const kind of ['bwrap', 'none'] as const) {
  describe.skipIf(kind === 'bwrap' && bwrap === undefined)(`train's budget on the ${kind} backend`, () => {
    const trial = async (train: string, budgetSeconds: number, graceSeconds: number): Promise<{ r: TrialResult, lines: string[], scratchRoot: string }> => {
      const manifest = toyManifest()
      manifest.train = { ...manifest.train, timeoutSeconds: 60, budgetSeconds, graceSeconds }
      const lines: string[] = []
      const scratchRoot = tempDir('ar-scratch-')
      const backend = kind === 'bwrap' ? bwrap : selectBackend({ sandbox: 'none', warn: () => {} })
      const r = await runTrial({ causeDir: toyVariant({ 'train.py': train }), manifest, seed: 1, dataRoot: tempDir('ar-data-'), scratchRoot, backend, onLine: (_p, line) => lines.push(line) })
      return { r, lines, scratchRoot }
    }

    it('tells a train within its budget the budget and deadline, and it succeeds', async () => {
      const started = Date.now() / 1000
      const { r, lines } = await trial(`import os\nprint("BUDGET", os.environ["AUTORESEARCH_TRAIN_BUDGET_SECONDS"], os.environ["AUTORESEARCH_TRAIN_DEADLINE"], flush=True)\n${toyTrain()}`, 30, 2)
      expect(r.ok, r.logTail).toBe(true)
      const [, budget, deadline] = (lines.find((l) => l.startsWith('BUDGET ')) ?? '').split(' ')
      expect(budget).toBe('30')
      expect(Number(deadline)).toBeGreaterThanOrEqual(started + 30)
      expect(Number(deadline)).toBeLessThan(started + 40)
    })

    it('sends SIGTERM to a train still running at its budget, and the trial fails even if it then saves and exits 0', async () => {
      const train = `import signal, sys, time
def stop(signum, frame):
    print("got SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("training on", flush=True)
time.sleep(50)
`
      const started = Date.now()
      const { r, lines, scratchRoot } = await trial(train, 2, 3)
      expect(r.ok).toBe(false)
      expect(!r.ok && r.reason, r.logTail).toBe('over-budget')
      expect(!r.ok && r.message).toMatch(/budget of 2 s/)
      expect(lines).toContain('got SIGTERM')
      expect(Date.now() - started).toBeLessThan(20_000)
      expect(trialProcesses(scratchRoot)).toEqual([])
    })

    it('kills a train that ignores the SIGTERM at budget + grace', async () => {
      const train = 'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("deaf", flush=True)\ntime.sleep(50)\n'
      const started = Date.now()
      const { r, scratchRoot } = await trial(train, 1, 2)
      expect(!r.ok && r.reason, r.logTail).toBe('over-budget')
      expect(Date.now() - started).toBeLessThan(20_000)
      expect(trialProcesses(scratchRoot)).toEqual([])
    })
  })
}
