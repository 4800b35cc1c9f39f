import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitWithChanges, ensureBareRepo, Identity, packForSubmission, readFileAt, sha256Hex } from '@autoresearch/protocol'
import { runTrial, selectBackend } from '@autoresearch/runner'
import { searchAgent, Worker, type WorkerEvent } from 'autoresearch-worker'
import { inspectCause, type CheckReport } from '../coordinator/src/check.ts'
import { TestNetwork } from './network.ts'
import { ROOT } from './processes.ts'

/** The third example: not training but a DEFLATE encoder (`"editable": ["compressor/"]`), deterministic, scored by zlib's decoding. */
const COMPRESSOR = join(ROOT, 'examples', 'compressor')
const coordinator = (args: string[]) => spawnSync(process.execPath, [resolve(ROOT, 'coordinator/bin/autoresearch-coordinator.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 })

describe('examples/compressor: a cause that is not model training', () => {
  it('passes autoresearch-coordinator check: deterministic (σ = 0, no seed warning), two trials pass any gain above the margin', () => {
    const check = coordinator(['check', COMPRESSOR, '--trials', '3', '--json'])
    expect(check.status, check.stderr).toBe(0)
    const report = JSON.parse(check.stdout) as CheckReport & { ok: boolean }
    expect(report).toMatchObject({ ok: true, cause: 'compressor', metricSource: 'evaluator', metric: { name: 'bits_per_byte', direction: 'minimize' } })
    const metrics = report.trials.map((t) => t.metric as number)
    expect(new Set(metrics).size).toBe(1)
    // Compression, not expansion: fewer than 8 bits per input byte.
    expect(metrics[0]).toBeGreaterThan(0)
    expect(metrics[0]).toBeLessThan(8)
    expect(report.noise?.sd).toBe(0)
    expect(report.warnings.join('\n')).not.toMatch(/AUTORESEARCH_SEED/)
    expect(report.tradeOff?.rows.every((r) => r.power === 1)).toBe(true)
    // It is one of init's templates.
    const init = coordinator(['init', '--home', join(fs.mkdtempSync(join(tmpdir(), 'ar-compressor-home-')), 'home'), '--template', 'compressor'])
    expect(init.status, init.stderr).toBe(0)
    expect(init.stdout).toMatch(/initialised compressor\/[0-9a-f]{12}/)
  })

  describe('over real libp2p, with the host\'s verifier', () => {
    let net: TestNetwork
    beforeAll(async () => { net = await TestNetwork.start(COMPRESSOR) })
    afterAll(async () => { await net.stop() })

    /** Submits the best's compressor/ with `edits` (path → transform of its text). */
    async function submit (edits: Record<string, (text: string) => string>, description: string): Promise<{ seq: number, commit: string }> {
      const identity = Identity.generate()
      const client = await net.client(identity)
      const gitdir = join(net.scratch, `submitter-${identity.publicKey.slice(0, 8)}.git`)
      await ensureBareRepo(gitdir)
      const parent = net.best
      await client.sync(gitdir, parent, [])
      const changes: Record<string, string> = {}
      for (const [path, edit] of Object.entries(edits)) changes[path] = edit(await readFileAt(gitdir, parent, path) as string)
      const commit = await commitWithChanges(gitdir, parent, changes, description)
      const { receipt } = await client.submit(identity, {
        causeId: net.running.coordinator.causeId, parent, candidate: commit, claimedMetric: 1.9, logDigest: sha256Hex(''), description
      }, await packForSubmission(gitdir, commit, parent))
      return { seq: receipt.candidateSeq, commit }
    }

    const set = (name: string, value: number) => (text: string): string => {
      expect(text).toMatch(new RegExp(`^${name} = `, 'm'))
      return text.replace(new RegExp(`^${name} = \\d+`, 'm'), `${name} = ${value}`)
    }

    it('a larger window and a new module in compressor/ are verified and merged, and the new best compresses better', async () => {
      const before = net.running.coordinator.store.lastMerge()
      const { seq, commit } = await submit({
        'compressor/matcher.py': (t) => set('WINDOW_SIZE', 32768)(t).replace('\n\ndef _longest', '\nfrom .tuning import CHAIN\n\n\ndef _longest').replace('chain = max(1, int(MAX_CHAIN))', 'chain = max(1, int(CHAIN))'),
        'compressor/tuning.py': () => '"""A module this candidate adds under compressor/."""\nCHAIN = 16\n'
      }, 'a 32 KiB window and a longer chain from a new module')
      expect(await net.verifyAll()).toBeGreaterThanOrEqual(1)
      expect(net.state(seq)).toBe('merged')
      expect(net.best).toBe(commit)
      const merge = net.running.coordinator.store.lastMerge()
      expect(merge?.commit_oid).toBe(commit)
      // Deterministic: the baseline the verifier measured is the example's own figure on any seed, and the gain is far past the margin.
      const baseline = await runTrial({ causeDir: COMPRESSOR, manifest: inspectCause(COMPRESSOR), seed: 99, dataRoot: join(net.scratch, 'data'), backend: selectBackend() })
      expect(baseline.ok && baseline.metric).toBe(merge?.baseline_metric)
      expect(before?.commit_oid).toBe(merge?.parent_oid)
      expect((merge?.baseline_metric as number) - (merge?.metric as number)).toBeGreaterThan(0.05)
    })

    it('a change that leaves the size as it is, an encoder whose output does not decode to the input, and the system zlib behind the candidate name are not merged', async () => {
      const best = net.best
      const same = await submit({ 'compressor/deflate.py': (t) => t.replace('"""Editable: turns', '"""Editable (reworded): turns') }, 'a comment')
      // Leaves out the last byte: valid DEFLATE and a smaller file, but not the input.
      const dropLast = (t: string): string => t.replace('    data = bytes(data)\n', '    data = bytes(data)[:-1]\n')
      const broken = await submit({ 'compressor/deflate.py': dropLast }, 'a smaller output that is wrong')
      // The system's zlib at level 9 behind the candidate's name: encode.py's audit hook refuses it.
      const zlib = await submit({ 'compressor/__init__.py': (t) => `${t}\n\ndef compress(data):\n    import zlib\n    c = zlib.compressobj(9, zlib.DEFLATED, -15)\n    return c.compress(bytes(data)) + c.flush()\n` }, 'zlib -9')
      await net.verifyAll()
      expect(net.state(same.seq)).toBe('rejected')
      expect(net.state(broken.seq)).toBe('rejected')
      expect(net.state(zlib.seq)).toBe('rejected')
      const reasons = [same.seq, broken.seq, zlib.seq].map((s) => net.running.coordinator.store.candidate(s)?.reason ?? '')
      expect(reasons[0]).toMatch(/^mean improvement 0\.000 over 2 paired trials does not beat minImprovement 0\.005/)
      expect(reasons[1]).toMatch(/candidate crash: evaluate exited with code 1/)
      expect(reasons[2]).toMatch(/candidate crash: train exited with code 1/)
      expect(net.best).toBe(best)
      // What evaluate said of the wrong output, in a trial of that encoder.
      const copy = fs.mkdtempSync(join(tmpdir(), 'ar-compressor-'))
      fs.cpSync(COMPRESSOR, copy, { recursive: true })
      const deflate = join(copy, 'compressor', 'deflate.py')
      fs.writeFileSync(deflate, dropLast(fs.readFileSync(deflate, 'utf8')))
      const trial = await runTrial({ causeDir: copy, manifest: inspectCause(copy), seed: 1, dataRoot: join(net.scratch, 'data'), backend: selectBackend() })
      expect(trial.ok).toBe(false)
      expect(trial.logTail).toMatch(/evaluate: events\.jsonl\.deflate does not decode to the input: \d+ bytes instead of \d+, first difference at byte \d+/)
      // And what encode.py said of the zlib candidate.
      fs.cpSync(COMPRESSOR, copy, { recursive: true })
      fs.appendFileSync(join(copy, 'compressor', '__init__.py'), '\n\ndef compress(data):\n    import zlib\n    return zlib.compress(bytes(data), 9)[2:-4]\n')
      const cheat = await runTrial({ causeDir: copy, manifest: inspectCause(copy), seed: 1, dataRoot: join(net.scratch, 'data'), backend: selectBackend() })
      expect(cheat.ok).toBe(false)
      expect(cheat.logTail).toMatch(/the compressor may not use zlib/)
    })
  })

  describe('the default search agent in a real worker', () => {
    let net: TestNetwork
    beforeAll(async () => { net = await TestNetwork.start(COMPRESSOR) })
    afterAll(async () => { await net.stop() })

    it('moves a top-level constant of a module under compressor/; the gain is confirmed, submitted, verified and merged', async () => {
      const identity = Identity.generate()
      const worker = new Worker({ client: await net.client(identity), identity, agent: searchAgent({ seed: 1 }), stateDir: join(net.scratch, 'worker'), seed: 1 })
      const events: WorkerEvent[] = []
      worker.on('event', (e) => events.push(e))
      // Bounded: about half the search agent's moves here shrink the output by more than the margin.
      for (let i = 0; i < 12 && !events.some((e) => e.type === 'submitted'); i++) await worker.step()
      const submitted = events.find((e) => e.type === 'submitted')
      expect(submitted, JSON.stringify(events.filter((e) => e.type !== 'phase'))).toBeDefined()
      if (submitted?.type !== 'submitted') return
      expect(await net.verifyAll()).toBeGreaterThanOrEqual(1)
      const seq = submitted.receipt.candidateSeq
      const row = net.running.coordinator.store.candidate(seq)
      expect(row?.state, row?.reason ?? '').toBe('merged')
      expect(row?.description).toMatch(/^[A-Z_]+ \d+ -> \d+$/)
      const merge = net.running.coordinator.store.lastMerge()
      expect(merge?.candidate_seq).toBe(seq)
      expect((merge?.baseline_metric as number) - (merge?.metric as number)).toBeGreaterThan(inspectCause(COMPRESSOR).verification.minImprovement)
    })
  })
})
