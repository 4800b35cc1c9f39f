import * as fs from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { runTrial, selectBackend, type SandboxBackend, type TrialResult } from '@autoresearch/runner'
import { removeTempDirs, tempDir, toyManifest, toyTrain, toyVariant, trialProcesses } from './helpers.ts'

/**
 * The disk bound holds at any depth: a train that nests directories past PATH_MAX (relative
 * mkdir and chdir) and writes there is stopped by the kernel at the limit, the trial fails
 * with a reason, clean-up removes everything, and runTrial does not throw.
 */

afterAll(removeTempDirs)

const MiB = 1024 * 1024
const DISK = 8 * MiB
const ARTIFACT = 4 * MiB

/** Goes 30 × 200 bytes deep (past PATH_MAX, 4096) below `start`, then writes up to 40 files of 1 MiB there (each under the one-file limit) and says how much it could. */
function deepWriter (start: string): string {
  return `import os
os.chdir(${start})
for i in range(30):
    os.mkdir("d" * 200)
    os.chdir("d" * 200)
wrote = 0
try:
    for i in range(40):
        with open(f"junk{i}", "wb") as f:
            f.write(b"x" * ${MiB})
        wrote += ${MiB}
except OSError as e:
    print(f"write refused: {e}", flush=True)
print(f"WROTE {wrote}", flush=True)
os.chdir("/")
`
}

let bwrap: SandboxBackend | undefined
try {
  bwrap = selectBackend({ sandbox: 'bwrap' })
} catch {}

for (const kind of ['bwrap', 'none'] as const) {
  describe.skipIf(kind === 'bwrap' && bwrap === undefined)(`a directory chain deeper than PATH_MAX on the ${kind} backend`, () => {
    for (const [where, start, limit] of [['its checkout', '"."', DISK], ['its out dir', 'os.environ["AUTORESEARCH_OUT"]', ARTIFACT]] as const) {
      it(`in ${where}: the writes stop at the limit, the trial fails, nothing is left`, async () => {
        const scratchRoot = tempDir('ar-scratch-')
        const lines: string[] = []
        const backend = kind === 'bwrap' ? bwrap : selectBackend({ sandbox: 'none', warn: () => {} })
        // The honest training after the attack: only the disk limit can fail this trial.
        const train = `${deepWriter(start)}\n${toyTrain()}`
        let r: TrialResult | undefined
        let thrown: unknown
        try {
          r = await runTrial({
            causeDir: toyVariant({ 'train.py': train }), manifest: toyManifest(), seed: 1, dataRoot: tempDir('ar-data-'), scratchRoot,
            backend, limits: { diskBytes: DISK, artifactBytes: ARTIFACT }, onLine: (_p, line) => lines.push(line)
          })
        } catch (err) {
          thrown = err
        }
        expect(thrown).toBeUndefined()
        const wrote = Number((lines.find((l) => l.startsWith('WROTE ')) ?? 'WROTE NaN').slice(6))
        expect(wrote).toBeLessThanOrEqual(limit)
        expect(lines.some((l) => l.includes('No space left on device'))).toBe(true)
        expect(r?.ok).toBe(false)
        expect(r !== undefined && !r.ok && r.reason, r?.logTail).toBe('artifact-too-large')
        expect(r !== undefined && !r.ok && r.message).toMatch(where === 'its out dir' ? /out dir reached the artifact limit/ : /checkout and \/tmp reached the disk limit/)
        expect(fs.readdirSync(scratchRoot)).toEqual([])
        expect(trialProcesses(scratchRoot)).toEqual([])
      })
    }

    it('an honest trial still runs, with the same limits', async () => {
      const backend = kind === 'bwrap' ? bwrap : selectBackend({ sandbox: 'none', warn: () => {} })
      const scratchRoot = tempDir('ar-scratch-')
      const r = await runTrial({ causeDir: toyVariant(), manifest: toyManifest(), seed: 1, dataRoot: tempDir('ar-data-'), scratchRoot, backend, limits: { diskBytes: DISK, artifactBytes: ARTIFACT } })
      expect(r.ok, r.ok ? '' : r.logTail).toBe(true)
      expect(fs.readdirSync(scratchRoot)).toEqual([])
    })
  })
}
