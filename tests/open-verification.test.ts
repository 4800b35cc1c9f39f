import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity, sha256Hex, type Job } from '@autoresearch/protocol'
import { homePaths } from 'autoresearch-coordinator'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

const hardware = { class: 'test', cpus: 1, gpus: [] }

/** The noisy cause with a quorum of two verifiers per round. */
function quorumTwoCause (): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ar-q2-')), 'cause')
  cpSync(join(ROOT, 'tests', 'fixtures', 'noisy-cause'), dir, { recursive: true })
  const manifest = JSON.parse(readFileSync(join(dir, 'autoresearch.json'), 'utf8'))
  manifest.verification.quorum = 2
  writeFileSync(join(dir, 'autoresearch.json'), JSON.stringify(manifest))
  return dir
}

/**
 * Puts `keys` on the operator's allowlist, the trust root of open mode: a fresh key's jobs
 * are only shadow jobs until it has agreed with trusted verifiers on a run of jobs.
 */
async function trustFromStart (net: TestNetwork, keys: Identity[]): Promise<void> {
  const path = homePaths(net.home).config
  const config = JSON.parse(readFileSync(path, 'utf8')) as { verifiers: string[] }
  config.verifiers.push(...keys.map((k) => k.publicKey))
  writeFileSync(path, JSON.stringify(config))
  await net.restart()
}

describe('open verification with reputation', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('a verifier that lies is outvoted, loses reputation, and stops counting', async () => {
    net = await TestNetwork.start(quorumTwoCause(), { verifierMode: 'open' })
    const liar = Identity.generate()
    const keyB = Identity.generate()
    await trustFromStart(net, [liar, keyB])
    const honestA = await net.verifier()
    const honestB = await net.verifier(keyB)
    const causeId = net.running.coordinator.causeId

    const lie = async (): Promise<void> => {
      const client = await net!.client(liar)
      const { job } = await client.lease(liar, causeId, hardware)
      const j = job as Job
      // Claims the candidate is much worse than the baseline on every seed.
      await client.attest(liar, { causeId, jobId: j.jobId, candidate: j.candidate, baseline: j.baseline, hardware, trials: j.seeds.map((seed) => ({ seed, baseline: 1.5, candidate: 2.5, baselineLogDigest: sha256Hex('x'), candidateLogDigest: sha256Hex('y') })) })
    }

    for (const [round, edit] of [[1, setConstant('QUALITY', 0.8)], [2, setConstant('BONUS', 0.3)]] as const) {
      const seq = await net.submitEdit(Identity.generate(), edit, { claimedMetric: 1.3 })
      await lie()
      expect(await honestA.runOnce()).toBe(0)
      // Liar and A disagree: a second round goes to B (and A again).
      expect(net.running.coordinator.store.candidate(seq)!.rounds).toBe(2)
      expect(await honestB.runOnce()).toBe(0)
      expect(await honestA.runOnce()).toBe(0)
      const row = net.running.coordinator.store.candidate(seq)!
      expect(row.state, `candidate ${round}: ${row.reason}`).toBe('merged')
      expect(row.verdict!.disagreeing).toEqual([liar.publicKey])
    }
    const rep = net.running.coordinator.store.identity(liar.publicKey)
    expect(rep.verifier_disagreed).toBe(2)
    await expect((await net.client(liar)).lease(liar, causeId, hardware)).rejects.toMatchObject({ name: 'NotAuthorizedError' })
    expect(net.running.coordinator.store.identity(net.verifierIdentity.publicKey).verifier_agreed).toBe(2)
  })
})
