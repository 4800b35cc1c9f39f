/**
 * §3 of issue 12: a revert stays reverted. Candidates built on a merge the operator
 * reverted (queued before the revert, or sent after it by a worker that has not seen it)
 * are carried onto the restored best with their own change only, or marked stale with a
 * reason; the best's files never hold the reverted change again and its author is not
 * credited through them. Real coordinator, libp2p, git, sandboxed runs of the noisy cause.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ensureBareRepo, Identity, readFileAt } from '@autoresearch/protocol'
import { BEST_REF, credits, homePaths } from 'autoresearch-coordinator'
import { ROOT } from '../processes.ts'
import { setConstant, TestNetwork } from '../network.ts'
import { NOISY, sleep } from './arena.ts'

const coordinatorCli = (args: string[]) => spawnSync(process.execPath, [resolve(ROOT, 'coordinator/bin/autoresearch-coordinator.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })

/** The operator's `revert`, through the real command, while `serve` runs. */
function revert (net: TestNetwork, restored: string): void {
  const out = coordinatorCli(['revert', '--home', net.home])
  expect(out.status, out.stderr).toBe(0)
  expect(out.stdout).toContain(`the best is ${restored} again`)
  expect(net.best).toBe(restored)
}

/** A change of its own to noisy-cause's train.py, on lines no constant uses: a real gain. */
const lowerValue = (text: string): string => {
  const edited = text.replace('QUALITY + BONUS + shared + own}', 'QUALITY + BONUS + shared + own - 0.1}')
  expect(edited).not.toBe(text)
  return edited
}

/**
 * train.py as served: read with the real git client from the coordinator's best ref
 * (once serve has re-pointed it), and as a new volunteer fetches it over libp2p.
 */
async function servedTrainPy (net: TestNetwork): Promise<string> {
  const gitdir = homePaths(net.home).gitdir
  const ref = (): string => execFileSync('git', ['--git-dir', gitdir, 'rev-parse', BEST_REF], { encoding: 'utf8' }).trim()
  for (let i = 0; i < 100 && ref() !== net.best; i++) await sleep(100)
  expect(ref()).toBe(net.best)
  const onDisk = execFileSync('git', ['--git-dir', gitdir, 'show', `${BEST_REF}:train.py`], { encoding: 'utf8' })

  const volunteer = Identity.generate()
  const client = await net.client(volunteer)
  const info = await client.info()
  const repo = join(net.scratch, `volunteer-${volunteer.publicKey.slice(0, 8)}.git`)
  await ensureBareRepo(repo)
  await client.sync(repo, info.best.commit, [])
  expect(await readFileAt(repo, info.best.commit, 'train.py')).toBe(onDisk)
  return onDisk
}

const creditOf = (net: TestNetwork, who: Identity): { merges: number, verifiedGain: number } =>
  credits(net.running.coordinator.store, net.running.coordinator.manifest).find((c) => c.publicKey === who.publicKey) ?? { merges: 0, verifiedGain: 0 }

/** The candidate a rebased one became, which must have been merged on `parent`. */
function mergedRebaseOf (net: TestNetwork, seq: number, parent: string): void {
  const row = net.running.coordinator.store.candidate(seq)!
  expect(row.state, row.reason ?? '').toBe('rebased')
  const rebased = net.running.coordinator.store.candidate(net.running.coordinator.candidateStatus(seq).rebasedAs!)!
  expect(rebased.state, rebased.reason ?? '').toBe('merged')
  expect(rebased.parent_oid).toBe(parent)
  expect(rebased.submitter).toBe(row.submitter)
}

describe('a reverted merge stays reverted (real coordinator, libp2p, git and sandboxed runs)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('candidates queued on a merge that is then reverted: one is merged with its own change only, one that only undid the merge is stale', async () => {
    net = await TestNetwork.start(NOISY)
    const restored = net.best
    const original = (await readFileAt(homePaths(net.home).gitdir, restored, 'train.py'))!
    const [alice, bob, carol] = [Identity.generate(), Identity.generate(), Identity.generate()]
    const a = await net.submitEdit(alice, setConstant('QUALITY', 0.9), { claimedMetric: 1.4 })
    await net.verifyAll()
    expect(net.state(a)).toBe('merged')

    // Built on Alice's merge while it stood: Bob adds a change of his own, Carol only takes hers out.
    const b = await net.submitEdit(bob, setConstant('BONUS', 0.4), { claimedMetric: 1.3 })
    const c = await net.submitEdit(carol, setConstant('QUALITY', '1.0'), { claimedMetric: 1.45 })
    revert(net, restored)
    await net.verifyAll()

    expect(await servedTrainPy(net)).toBe(setConstant('BONUS', 0.4)(original))
    mergedRebaseOf(net, b, restored)
    expect(creditOf(net, alice)).toMatchObject({ merges: 0, verifiedGain: 0 })
    expect(creditOf(net, bob).merges).toBe(1)
    const staleRow = net.running.coordinator.store.candidate(c)!
    expect(staleRow.state).toBe('stale')
    expect(staleRow.reason).toMatch(/built on merge 1 \([0-9a-f]{10}\), which the operator reverted; .*its own change is empty/)
  })

  it('after two merges are reverted, a candidate on the newer one is merged with its own change only, one that edits a reverted line is stale, and the reverted trees are not taken again', async () => {
    net = await TestNetwork.start(NOISY)
    const restored = net.best
    const original = (await readFileAt(homePaths(net.home).gitdir, restored, 'train.py'))!
    const [alice, bob, dave, erin] = [Identity.generate(), Identity.generate(), Identity.generate(), Identity.generate()]
    const a1 = await net.submitEdit(alice, setConstant('QUALITY', 0.9), { claimedMetric: 1.4 })
    await net.verifyAll()
    const a2 = await net.submitEdit(bob, setConstant('BONUS', 0.4), { claimedMetric: 1.3 })
    await net.verifyAll()
    expect([net.state(a1), net.state(a2)]).toEqual(['merged', 'merged'])
    const tip = net.best
    const afterA1 = net.running.coordinator.store.candidate(a1)!.commit_oid
    revert(net, afterA1)
    revert(net, restored)

    // Dave's and Erin's workers have not seen the reverts: they build on Bob's merge.
    const d = await net.submitEdit(dave, lowerValue, { parent: tip, claimedMetric: 1.2 })
    const e = await net.submitEdit(erin, setConstant('QUALITY', 0.8), { parent: tip, claimedMetric: 1.1 })
    // Alice sending her reverted files again gets her old receipt; anyone else is refused.
    expect(await net.submitEdit(alice, setConstant('QUALITY', 0.9), { parent: restored })).toBe(a1)
    await expect(net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.9), { parent: restored })).rejects.toMatchObject({ name: 'DuplicateTreeError' })
    await net.verifyAll()

    expect(await servedTrainPy(net)).toBe(lowerValue(original))
    mergedRebaseOf(net, d, restored)
    expect([net.state(a1), net.state(a2)]).toEqual(['reverted', 'reverted'])
    expect(creditOf(net, alice)).toMatchObject({ merges: 0, verifiedGain: 0 })
    expect(creditOf(net, bob)).toMatchObject({ merges: 0, verifiedGain: 0 })
    expect(creditOf(net, dave).merges).toBe(1)
    const staleRow = net.running.coordinator.store.candidate(e)!
    expect(staleRow.state).toBe('stale')
    expect(staleRow.reason).toMatch(/built on merge 2 \([0-9a-f]{10}\), which the operator reverted; .*conflicts with the new best .* in train\.py/)
  })
})
