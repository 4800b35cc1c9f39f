/**
 * Issue 12 §8: a candidate nests directories past PATH_MAX (relative mkdir and chdir) and
 * writes there. On main the runner's clean-up died with ENAMETOOLONG, files stayed behind
 * and the verifier crashed with its job unfinished. Now the trial's scratch is a capped
 * tmpfs that ends with its namespace: the verifier attests the job, and nothing is left.
 * (That the writes stop at the disk limit is packages/runner/test/disk.test.ts.)
 */
import * as fs from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Verdict } from '@autoresearch/protocol'
import { causeWith, startArena, TOY, type Arena } from './arena.ts'

const DEEP = `import os
_start = os.getcwd()
for _ in range(30):
    os.mkdir("d" * 200)
    os.chdir("d" * 200)
for i in range(8):
    with open(f"junk{i}", "wb") as f:
        f.write(b"x" * (1 << 20))
os.chdir(_start)
`

describe('a candidate that writes below PATH_MAX depth', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena({ cause: causeWith(TOY, (m) => { m.verification.trials = 1 }) }) })
  afterAll(async () => { await arena.stop() })

  it('is verified and attested, the verifier does not crash, and its scratch is empty afterwards', async () => {
    const seq = await arena.net.submitEdit(arena.attacker, (train) => `${DEEP}\n${train}`)
    const verifier = await arena.net.verifier()
    const verdicts: Verdict[] = []
    verifier.on('event', (e) => { if (e.type === 'attested') verdicts.push(e.verdict) })
    expect(await verifier.runOnce()).toBe(0)
    expect(verdicts).toHaveLength(1)
    expect(arena.net.state(seq)).not.toBe('verifying')
    const scratch = join(arena.net.scratch, `verifier-${arena.verifier.publicKey.slice(0, 8)}`, 'scratch')
    expect(fs.readdirSync(scratch)).toEqual([])
  })
})
