import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { editableProblems, InvalidManifestError, MANIFEST_FILE, metricSource, parseManifestText, roundConfidence, UsageError, type Manifest } from '@autoresearch/protocol'
import { gpuDevices, runTrial, selectBackend, type SandboxBackend, type SelectBackendOptions, type TrialResult } from '@autoresearch/runner'
import { listCause } from './cause-files.ts'
import { describeFrozenImport, frozenStepImports } from './check-imports.ts'
import { trialTradeOff, type TradeOff } from './rules/trial-power.ts'
import { tQuantile } from './stats.ts'
import { MAX_ROUNDS } from './policy.ts'

export { tQuantile } from './stats.ts'

/** A cause that cannot be hosted as it stands; `problems` says every reason found. */
export class CauseCheckError extends UsageError {
  override name = 'CauseCheckError'
  constructor (readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] as string : `the cause has ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

/** Reads and checks a cause directory without running it: the manifest, and the files it names. */
export function inspectCause (dir: string): Manifest {
  const manifestPath = join(dir, MANIFEST_FILE)
  if (!fs.existsSync(dir)) throw new CauseCheckError([`${dir} does not exist`])
  if (!fs.existsSync(manifestPath)) throw new CauseCheckError([`${dir} has no ${MANIFEST_FILE} (see docs/causes.md)`])
  let manifest: Manifest
  try {
    manifest = parseManifestText(fs.readFileSync(manifestPath, 'utf8'))
  } catch (err) {
    if (err instanceof InvalidManifestError) throw new CauseCheckError([err.message])
    throw err
  }
  const listing = listCause(dir)
  const files = new Set(listing.files)
  const has = (p: string): boolean => files.has(p) || listing.files.some((f) => f.startsWith(`${p}/`))
  const problems: string[] = []
  if (!files.has(manifest.program)) problems.push(`program "${manifest.program}" (the agent's instructions) is not in ${dir}`)
  problems.push(...editableProblems(manifest, listing.files, dir))
  for (const step of ['prepare', 'train', 'evaluate'] as const) {
    // Arguments that look like the cause's own scripts must be there (the interpreter is not).
    for (const arg of manifest[step]?.command.slice(1) ?? []) {
      if (/^[\w./-]+\.(py|sh|js|ts|rb|pl)$/.test(arg) && !arg.startsWith('/') && !has(arg.replace(/^\.\//, ''))) problems.push(`the ${step} step runs "${arg}", which is not in ${dir}`)
    }
  }
  // Prepare and evaluate run only the protected files: an import of an editable one fails there.
  const read = (p: string): string => fs.readFileSync(join(dir, p), 'utf8')
  for (const found of frozenStepImports(manifest, listing.files, read)) problems.push(describeFrozenImport(found, manifest))
  for (const link of listing.links) problems.push(`"${link}" is a symbolic link; a cause may hold only regular files and directories`)
  if (problems.length > 0) throw new CauseCheckError(problems)
  return manifest
}

const roundSig = (x: number, digits: number): number => Number(x.toPrecision(digits))

export interface NoiseSuggestion {
  n: number
  mean: number
  /** Sample standard deviation over seeds. */
  sd: number
  /** Suggested margin (≈ σ), or null when the runs did not vary. */
  minImprovement: number | null
  /** Suggested `verification.sequential.noise` (√2 σ, what a paired gain varies by at most when seeds help nothing), or null when the runs did not vary. */
  pairNoise: number | null
  trials: number
  confidence: number
  /** With the manifest's own margin and trials: the true gain whose expected t statistic just passes (null with one trial). */
  manifestPassingGain: number | null
  rule: string
}

/**
 * From unpaired baseline runs: minImprovement ≈ σ, and the fewest trials n for which a true
 * gain of 2 × minImprovement passes the verifier's one-sided paired t-test at `confidence`
 * on average. Paired seeds are assumed no better than independent runs (σ of a paired
 * difference = √2 σ), which only ever asks for more trials than needed.
 */
export function suggestVerification (metrics: number[], confidence: number, current: { trials: number, minImprovement: number }): NoiseSuggestion {
  const n = metrics.length
  const mean = metrics.reduce((a, b) => a + b, 0) / Math.max(1, n)
  const sd = n > 1 ? Math.sqrt(metrics.reduce((a, m) => a + (m - mean) ** 2, 0) / (n - 1)) : 0
  const pairedSd = Math.SQRT2 * sd
  const passingGain = (margin: number, trials: number): number | null => trials < 2 ? null : margin + tQuantile(confidence, trials - 1) * pairedSd / Math.sqrt(trials)
  const rule = 'minImprovement ≈ σ over seeds; trials: the fewest for which a gain of 2 × minImprovement passes the one-sided paired t-test on average, taking a paired difference to vary like two independent runs (√2 σ)'
  if (n < 2 || sd === 0) {
    return { n, mean, sd, minImprovement: null, pairNoise: null, trials: 2, confidence, manifestPassingGain: passingGain(current.minImprovement, current.trials), rule }
  }
  const margin = roundSig(sd, 2)
  let trials = 2
  while (trials < 32 && margin * Math.sqrt(trials) / pairedSd < tQuantile(confidence, trials - 1)) trials++
  return { n, mean, sd, minImprovement: margin, pairNoise: roundSig(pairedSd, 2), trials, confidence, manifestPassingGain: passingGain(current.minImprovement, current.trials), rule }
}

export interface CheckTrial { seed: number, result: TrialResult }

export interface CheckReport {
  cause: string
  metric: Manifest['metric']
  metricSource: 'evaluator' | 'stdout'
  sandbox: string
  verification: Manifest['verification']
  /** `prepared`: this trial ran prepare (the data cache appeared during it), so its time includes prepare's. */
  trials: Array<{ seed: number, ok: boolean, metric: number | null, seconds: number, prepared: boolean, reason?: string, message?: string }>
  /** Seconds of one run (train + evaluate): the median of the trials that did not run prepare (all trials when each did). */
  runSeconds: number
  /** The trial that ran prepare, if one did, and how much longer it took than one run. */
  prepare: { seed: number, extraSeconds: number } | null
  /** The slowest trial. */
  slowest: { seed: number, seconds: number } | null
  noise: NoiseSuggestion | null
  /** What each trial count buys: power against a gain worth having, and the time of one verification. */
  tradeOff: TradeOff | null
  /** A failed trial's log tail, for the author. */
  failureLog?: string
  warnings: string[]
}

export interface CheckOptions {
  causeDir: string
  trials?: number
  seedBase?: number
  /** Default: selectBackend(sandbox) — the sandbox workers and verifiers use. */
  backend?: SandboxBackend
  sandbox?: SelectBackendOptions
  /** Default: a fresh temporary directory, so that prepare runs; removed afterwards. */
  dataRoot?: string
  scratchRoot?: string
  onTrial?: (trial: CheckTrial, index: number, total: number) => void
  signal?: AbortSignal
}

/** Checks a cause and runs prepare and a few baseline trials on different seeds; stops at the first failure. */
export async function checkCause (opts: CheckOptions): Promise<CheckReport> {
  const manifest = inspectCause(opts.causeDir)
  const warnings: string[] = []
  if (manifest.requires.gpu && gpuDevices().length === 0) throw new CauseCheckError([`${manifest.name} requires a GPU ("requires": {"gpu": true}) and this machine has none`])
  if (manifest.evaluate === undefined) warnings.push('no evaluate step: the metric is read from train\'s own output, so the site shows it as self-reported (see docs/causes.md)')
  const backend = opts.backend ?? selectBackend(opts.sandbox)
  const n = Math.max(1, opts.trials ?? 3)
  const seedBase = opts.seedBase ?? 1
  const dataRoot = opts.dataRoot ?? fs.mkdtempSync(join(tmpdir(), 'autoresearch-check-'))
  const trials: CheckReport['trials'] = []
  let failureLog: string | undefined
  // Prepared data land in a new directory of the data root: a trial after which one appeared ran prepare.
  const cached = (): string[] => fs.existsSync(dataRoot) ? fs.readdirSync(dataRoot).filter((e) => !e.startsWith('.')) : []
  try {
    for (let i = 0; i < n; i++) {
      const seed = seedBase + i
      const before = new Set(cached())
      const result = await runTrial({ causeDir: opts.causeDir, manifest, seed, dataRoot, scratchRoot: opts.scratchRoot, backend, signal: opts.signal })
      const prepared = manifest.prepare !== undefined && cached().some((e) => !before.has(e))
      opts.onTrial?.({ seed, result }, i, n)
      trials.push(result.ok
        ? { seed, ok: true, metric: result.metric, seconds: result.durationMs / 1000, prepared }
        : { seed, ok: false, metric: null, seconds: result.durationMs / 1000, prepared, reason: result.reason, message: result.message })
      if (!result.ok) { failureLog = result.logTail; break }
    }
  } finally {
    if (opts.dataRoot === undefined) fs.rmSync(dataRoot, { recursive: true, force: true })
  }
  const plain = trials.filter((t) => !t.prepared)
  const runSeconds = median((plain.length > 0 ? plain : trials).map((t) => t.seconds))
  const preparing = trials.find((t) => t.prepared)
  const slowest = trials.reduce<CheckReport['trials'][number] | undefined>((a, t) => a === undefined || t.seconds > a.seconds ? t : a, undefined)
  const ok = trials.every((t) => t.ok)
  const metrics = trials.filter((t) => t.ok).map((t) => t.metric as number)
  // The first round's test, at its share of the false-acceptance rate (a near-tie's further rounds only add to the power).
  const noise = ok ? suggestVerification(metrics, roundConfidence(manifest, 1, MAX_ROUNDS), manifest.verification) : null
  const tradeOff = noise === null || noise.n < 2
    ? null
    : trialTradeOff({ sd: noise.sd, runs: noise.n, runSeconds, minImprovement: manifest.verification.minImprovement, confidence: noise.confidence, extraTrials: [manifest.verification.trials, ...(noise.minImprovement === null ? [] : [noise.trials])] })
  // A cause that declares itself deterministic (the seed rule off) is expected not to vary.
  const deterministic = manifest.verification.seedInsensitivity.varianceRatio === 0
  if (noise !== null && noise.n >= 2 && noise.sd === 0 && !deterministic) warnings.push('the metric was identical on every seed: does the cause use AUTORESEARCH_SEED? Without seed noise the verifier\'s test cannot tell luck from a gain; a deterministic cause says so with "seedInsensitivity": { "varianceRatio": 0 } (docs/causes.md)')
  if (noise !== null && noise.n >= 2 && noise.sd > 0 && deterministic) warnings.push('the manifest turns the seed rule off ("varianceRatio": 0), as for a deterministic cause, but the metric varied across seeds')
  if (noise !== null && noise.n < 5 && noise.sd > 0) warnings.push(`σ from ${noise.n} runs is rough (see its range above); --trials 8 or more gives a firmer figure`)
  return {
    cause: manifest.name,
    metric: manifest.metric,
    metricSource: metricSource(manifest),
    sandbox: backend.name,
    verification: manifest.verification,
    trials,
    runSeconds,
    prepare: preparing === undefined || plain.length === 0 ? null : { seed: preparing.seed, extraSeconds: Math.max(0, preparing.seconds - runSeconds) },
    slowest: slowest === undefined ? null : { seed: slowest.seed, seconds: slowest.seconds },
    noise,
    tradeOff,
    ...(failureLog === undefined ? {} : { failureLog }),
    warnings
  }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

const minutes = (seconds: number): string => seconds < 90 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`

/** The trade-off table: for each trial count, the time of one verification and the power. */
function describeTradeOff (t: TradeOff, v: CheckReport['verification'], confidence: number): string[] {
  const pct = (p: number): string => `${Math.round(p * 100)} %`
  const lines = [`trials against time: power = the chance a candidate truly gaining ${fmt(t.gain)} (${v.minImprovement > 0 ? `the margin ${v.minImprovement} and as much again` : 'no margin: one σ'}) passes its first round, tested at confidence ${confidence}${t.sd > 0 ? `; in brackets, at the ends of σ's range` : '; σ = 0, so any gain above the margin passes'}`]
  lines.push('  trials  one verification  power               gain passing 80 %')
  for (const row of t.rows) {
    const power = t.sd > 0 ? `${pct(row.power)} (${pct(row.powerRange[0])}–${pct(row.powerRange[1])})` : pct(row.power)
    lines.push(`  ${String(row.trials).padStart(6)}  ${minutes(row.seconds).padStart(16)}  ${power.padEnd(18)}  ${t.sd > 0 ? fmt(row.gainFor80) : `> ${v.minImprovement}`}${row.trials === v.trials ? '   ← the manifest' : ''}`)
  }
  lines.push(`  rule: ${t.rule}`)
  return lines
}

const fmt = (x: number): string => (Math.abs(x) >= 1e-3 || x === 0 ? x.toPrecision(4) : x.toExponential(2))

/** The report as lines for a terminal. */
export function describeCheck (r: CheckReport): string[] {
  const v = r.verification
  const lines = [`cause ${r.cause}: manifest ok; metric ${r.metric.name} (${r.metric.direction}, from ${r.metricSource === 'evaluator' ? 'the evaluate step' : 'train\'s stdout, self-reported'}); sandbox ${r.sandbox}`]
  for (const t of r.trials) {
    const took = `(${t.seconds.toFixed(1)} s${t.prepared ? ', prepare included' : ''})`
    lines.push(t.ok ? `  seed ${t.seed}: ${r.metric.name} = ${fmt(t.metric as number)}  ${took}` : `  seed ${t.seed}: FAILED ${t.reason}: ${t.message}  ${took}`)
  }
  const noise = r.noise
  if (noise !== null) {
    const range = r.tradeOff?.sdRange
    const plain = r.trials.filter((t) => !t.prepared).length
    lines.push(`noise: mean ${fmt(noise.mean)}, σ ${fmt(noise.sd)} over ${noise.n} seeds${range !== undefined && range !== null && noise.sd > 0 ? ` (${Math.round(r.tradeOff!.coverage * 100)} % range of σ from ${noise.n} runs: ${fmt(range[0])} to ${fmt(range[1])})` : ''}; one run takes ${r.runSeconds.toFixed(1)} s${plain > 0 ? ` (median of the ${plain} run${plain === 1 ? '' : 's'} that found the data prepared)` : ' (prepare included: no run without it)'}`)
    const slow = r.slowest
    const preparedBy = r.trials.find((t) => t.prepared)
    const prep = r.prepare !== null
      ? `seed ${r.prepare.seed} also ran prepare: about ${r.prepare.extraSeconds.toFixed(1)} s more`
      : preparedBy !== undefined ? `seed ${preparedBy.seed} also ran prepare (no run without it to compare with)` : 'no trial ran prepare (the data were prepared already)'
    lines.push(`  ${prep}${slow === null ? '' : `; slowest run: seed ${slow.seed}, ${slow.seconds.toFixed(1)} s`}`)
    if (noise.minImprovement === null && v.seedInsensitivity.varianceRatio === 0) lines.push('suggestion: the metric does not vary (a deterministic cause): "trials": 2 suffice, and minImprovement is the smallest gain worth a merge')
    else if (noise.minImprovement === null) lines.push(`suggestion: no seed noise measured; choose minImprovement as the smallest gain worth a merge, with trials 2`)
    else {
      lines.push(`suggestion: "minImprovement": ${noise.minImprovement}, "trials": ${noise.trials} (a first round at confidence ${noise.confidence})`)
      lines.push(`  rule: ${noise.rule}`)
      if (noise.pairNoise !== null) lines.push(`suggestion: "sequential": { "noise": ${noise.pairNoise} } lets verifiers reject a clear loser before its last pair (docs/trust.md, "Stopping early")`)
    }
    if (noise.manifestPassingGain !== null) lines.push(`manifest now: minImprovement ${v.minImprovement}, ${v.trials} trials: a true gain of about ${fmt(noise.manifestPassingGain)} is needed to pass half the time`)
    if (r.tradeOff !== null) lines.push(...describeTradeOff(r.tradeOff, v, noise.confidence))
    lines.push(`verifying one candidate costs about ${v.trials} × 2 runs ≈ ${minutes(v.trials * 2 * r.runSeconds)} on this machine (half with a warm baseline cache)`)
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`)
  if (r.failureLog !== undefined) lines.push('log of the failed trial (end):', ...r.failureLog.trimEnd().split('\n').map((l) => `  | ${l}`))
  return lines
}
