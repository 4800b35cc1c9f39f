import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { commitWithChanges, readFileAt, type Manifest } from '@autoresearch/protocol'
import { initHome } from 'autoresearch-coordinator'
import { runCommit, selectBackend, stopSpawner, useSpawner, type SandboxBackend } from '@autoresearch/runner'
import { simCostCause } from './sim-network.ts'

/** The sim-cost cause hosted as a coordinator home would hold it, and a candidate one comment away: what a verifier checks out for a trial. */
export async function simCostRepo (trainSeconds: number): Promise<{ cause: string, gitdir: string, best: string, candidate: string, manifest: Manifest }> {
  const cause = simCostCause(trainSeconds)
  const { paths: { gitdir }, commit: best, manifest } = await initHome(join(cause, 'home'), cause)
  const train = await readFileAt(gitdir, best, 'train.py') ?? ''
  const candidate = await commitWithChanges(gitdir, best, { 'train.py': `${train}\n# candidate\n` }, 'candidate')
  return { cause, gitdir, best, candidate, manifest }
}

/** One sim-cost trial of the candidate on the best's protected files, as a verifier runs it; a failed trial throws. */
export type PaceTrial = (seed: number) => Promise<void>

export function paceTrial (repo: Awaited<ReturnType<typeof simCostRepo>>, backend: SandboxBackend, dataRoot: string): PaceTrial {
  return async (seed) => {
    const r = await runCommit({ gitdir: repo.gitdir, commit: repo.candidate, protectedFrom: { gitdir: repo.gitdir, commit: repo.best }, manifest: repo.manifest, seed, backend, dataRoot })
    if (!r.ok) throw new Error(`trial ${seed} failed: ${r.reason}: ${r.message}`)
  }
}

/**
 * Runs n trials `parallel` at a time, each slot starting its next as its last ends (so after
 * the first round they are not in step), and returns the wall-clock seconds.
 */
export async function pool (trial: PaceTrial, parallel: number, n: number): Promise<number> {
  const started = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) await trial(++next)
  }))
  return (performance.now() - started) / 1000
}

/**
 * This machine's own slowdown with no network: seconds per sim-cost trial with each of
 * `counts` trials at once (`rounds` trials a slot: the first round starts in step, the rest
 * do not), through the runner's spawner process when `spawner`, as the scaling bench's
 * participants run them. A worker running experiments back to back on a machine it shares
 * with N − 1 others cannot go faster than this.
 */
export async function machinePace (opts: { trainSeconds: number, counts: number[], rounds?: number, spawner?: boolean }): Promise<Map<number, number>> {
  const repo = await simCostRepo(opts.trainSeconds)
  const dataRoot = fs.mkdtempSync(join(tmpdir(), 'ar-bench-pace-data-'))
  const rounds = opts.rounds ?? 6
  if (opts.spawner === true) await useSpawner().ready()
  try {
    // The sandbox a race's participants get (selectBackend's choice), so that its trials cost what theirs do.
    const trial = paceTrial(repo, selectBackend(), dataRoot)
    await trial(0) // prepare's cache, which every later trial shares
    const perTrial = new Map<number, number>()
    // n slots of `rounds` trials each: the wall time over `rounds` is one slot's seconds a trial.
    for (const n of opts.counts) perTrial.set(n, await pool(trial, n, n * rounds) / rounds)
    return perTrial
  } finally {
    if (opts.spawner === true) stopSpawner()
    fs.rmSync(repo.cause, { recursive: true, force: true })
    fs.rmSync(dataRoot, { recursive: true, force: true })
  }
}
