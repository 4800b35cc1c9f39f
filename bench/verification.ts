import { rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { UsageError } from '@autoresearch/protocol'
import { race, simCostCause, type RaceResult } from './lib/sim-network.ts'
import { listFlag, namesFlag, numberFlag, traceFlag } from './lib/flags.ts'
import { ACCEPT, ACCEPT_IS, MAX_INERT, raceCopy, SEEDS, TIMEOUT, TRAIN_SECONDS, WORKERS } from './scaling.ts'

/** A flag of `npm run bench -- verification` that is not one of its values. */
export class VerificationUsageError extends UsageError { override name = 'VerificationUsageError' }

/** `--start near`: the constants close to the optimum (loss about 0.28 instead of 4.3), where gains are small and candidates often fail verification. */
const NEAR = { LEARNING_RATE: 0.03, WEIGHT_DECAY: 0.035, WIDTH_SCALE: 1.5 }

const round = (x: number, digits = 3): number => Number(x.toFixed(digits))

/** The sim-cost cause's constants that its score reads (a search finds on about 3 in 3 + inert experiments). */
const SCORED = 3

/**
 * The losers mix's inert constants under `--losers-from search`: its search finds `1 + losers`
 * times less often than the winners mix's, so that the honest find and the losers after it
 * take the experiments one find takes in the winners mix, and both mixes submit once in as
 * many experiments (the field's 20 kept of 700, about 80 % of them no real gain).
 */
export const searchInert = (inert: number, losers: number): number => (SCORED + inert) * (1 + losers) - SCORED

/** Sums over the races of one variant, and what verifying cost per merge. */
function summary (results: RaceResult[]): Record<string, number> {
  const sum = (f: (r: RaceResult) => number): number => results.reduce((a, r) => a + f(r), 0)
  const merges = Math.max(1, sum((r) => r.merges))
  const submissions = sum((r) => r.submissions + r.loserSubmissions)
  const [verifierRuns, verifierSeconds, workerSeconds, hits, savedSeconds] =
    [(r: RaceResult) => r.verifierSide.runs, (r: RaceResult) => r.verifierSide.seconds, (r: RaceResult) => r.workerSide.seconds, (r: RaceResult) => r.cache.hits, (r: RaceResult) => r.cache.savedSeconds].map(sum) as [number, number, number, number, number]
  return {
    merges: sum((r) => r.merges),
    /** Races that got their merges before the timeout (the others count what they had). */
    completed: results.filter((r) => r.reached).length,
    jobs: sum((r) => r.jobs),
    verifierRuns,
    verifierSeconds: round(verifierSeconds, 1),
    workerRuns: sum((r) => r.workerSide.runs),
    workerSeconds: round(workerSeconds, 1),
    /** The search's experiments for each submission, honest or loser: what `--losers-from` sets the losers mix's rate of. */
    experimentsPerSubmission: round(sum((r) => r.experiments) / Math.max(1, submissions), 1),
    cacheHits: hits,
    verifierRunsPerMerge: round(verifierRuns / merges, 2),
    /** Of those, baselines warmed ahead of any job. */
    warmRunsPerMerge: round(sum((r) => r.warmRuns) / merges, 2),
    verifyComputeFraction: round(verifierSeconds / (verifierSeconds + workerSeconds)),
    // The very same jobs with every cache hit run instead: the cache's effect without the runs' luck.
    sameJobsUncachedRunsPerMerge: round((verifierRuns + hits) / merges, 2),
    sameJobsUncachedFraction: round((verifierSeconds + savedSeconds) / (verifierSeconds + savedSeconds + workerSeconds)),
    stoppedEarly: sum((r) => r.stoppedEarly),
    /** Of those, the jobs that ended with an acceptance (early acceptance); the rest ended with a rejection. */
    acceptedEarly: sum((r) => r.acceptedEarly),
    loserSubmissions: sum((r) => r.loserSubmissions),
    losersRejected: sum((r) => r.losersRejected),
    // What the sequential rule is for: the verifier's trials and runs (cache hits not run) per rejected loser.
    trialsPerRejectedLoser: round(sum((r) => r.rejectedLosers.trials) / Math.max(1, sum((r) => r.rejectedLosers.count)), 2),
    verifierRunsPerRejectedLoser: round(sum((r) => r.rejectedLosers.runs) / Math.max(1, sum((r) => r.rejectedLosers.count)), 2),
    seconds: round(sum((r) => r.seconds), 1)
  }
}

/**
 * The candidate mixes: the search workers' own submissions (winners), and the same with
 * `--losers` no-gain submissions after each, on top of that search (`losers`, `--losers-from
 * extra`) or out of it (`searchLosers`, `--losers-from search`: the mix's search finds 1 + losers
 * times less often, `searchInert`).
 */
type Mix = 'winners' | 'losers' | 'searchLosers'
const LOSERS_FROM = { extra: 'losers', search: 'searchLosers' } as const
/** The cause's rules: the sequential rule on and off, on with `reuseCandidateRuns`, and that with early acceptance too (`sequential.accept`). */
type Sequential = 'sequentialOn' | 'sequentialOff' | 'reused' | 'accepting'
const RULES: Sequential[] = ['accepting', 'reused', 'sequentialOn', 'sequentialOff']
/** The top-level figure each rule's worst mix is given under. */
const WORST: Record<Sequential, string> = { accepting: 'verifyComputeFraction', reused: 'withoutAccept', sequentialOn: 'withoutReuse', sequentialOff: 'ruleOff' }

/** The bench's options (`npm run bench -- verification --help` lists them). */
export const options = {
  merges: { type: 'string', default: '3' }, workers: { type: 'string', default: '4' }, seeds: { type: 'string', default: '1,2' },
  'train-seconds': { type: 'string', default: '0.5' }, noise: { type: 'string', default: '0.02' }, start: { type: 'string', default: 'cause' },
  timeout: { type: 'string', default: '180' }, cache: { type: 'string', default: 'on' }, losers: { type: 'string', default: '4' },
  accept: { type: 'string', default: '0.02' }, inert: { type: 'string', default: '0' }, 'losers-from': { type: 'string', default: 'extra' },
  rules: { type: 'string', default: RULES.join(',') }, trace: { type: 'string' }
} as const

/**
 * What verification costs: sandbox runs the verifier does per merged improvement, and
 * the share of all sandbox time (the workers' experiments, confirmations and noise runs,
 * the losers' own runs, plus the verifier's trials) spent verifying, on two candidate
 * mixes — the search workers' own submissions, mostly winners, and the same with `losers`
 * no-gain submissions after each (4: 80 % of submissions) — each with the manifest's
 * sequential early-stop rule on and off, on with `verification.reuseCandidateRuns` (a merged
 * candidate's runs are the new best's first baselines), and that with early acceptance
 * (`sequential.accept`, `--accept`, which turns the cause's split rounds off), same seeds. The baseline cache is on in every
 * variant unless `--cache off`; the cache-on variants also report what their own jobs
 * would have cost uncached. `--inert N` adds N constants the score never reads, so that a
 * search finds on about 3 in 3 + N experiments (33: about 3 %, as in real autoresearch) and the
 * workers' side of the share is what a merge costs the search at that rate. The losers come on
 * top of that search (`--losers-from extra`, the default, mix `losers`: it submits 1 + losers
 * times as often per experiment) or out of it (`search`, mix `searchLosers`: its search finds
 * 1 + losers times less often, `searchInert`, so that it submits as often per experiment as
 * the winners mix and differs only in how many of its submissions gain nothing); `extra,search`
 * runs both. `--rules` runs fewer rules (their ratios and top-level figures only where they
 * ran); `--trace PREFIX` writes each race's events to `PREFIX-<mix>-<rule>-s<seed>.txt`.
 */
export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const E = VerificationUsageError
  const opts = {
    merges: numberFlag('merges', values.merges, { min: 1, max: 1000, whole: true }, E), workers: numberFlag('workers', values.workers, WORKERS, E), seeds: listFlag('seeds', values.seeds, SEEDS, E),
    trainSeconds: numberFlag('train-seconds', values['train-seconds'], TRAIN_SECONDS, E), noise: numberFlag('noise', values.noise, { min: 0, max: 10 }, E), start: values.start,
    timeoutSeconds: numberFlag('timeout', values.timeout, TIMEOUT, E), cache: values.cache, losers: numberFlag('losers', values.losers, { min: 0, max: 64, whole: true }, E), accept: numberFlag('accept', values.accept, ACCEPT, E, ACCEPT_IS),
    // As the scaling bench reads it: constants the score ignores, so that a find is as rare as in the field (--inert 33: 3 %).
    inert: raceCopy({ start: 'cause', knobs: '0', inert: values.inert }, VerificationUsageError).inert,
    losersFrom: namesFlag('losers-from', values['losers-from'], Object.keys(LOSERS_FROM) as Array<keyof typeof LOSERS_FROM>, E, 'extra (the losers come on top of the winners mix\'s search, the default), search (out of it: that mix\'s search finds 1 + --losers times less often) or both'),
    rules: namesFlag('rules', values.rules, RULES, E, `one or more of ${RULES.join(', ')} (the default: all four, side by side)`),
    trace: traceFlag(values.trace, E)
  }
  const mixes: Mix[] = ['winners', ...opts.losersFrom.map((f) => LOSERS_FROM[f])]
  const inertOf = (mix: Mix): number => mix === 'searchLosers' ? searchInert(opts.inert, opts.losers) : opts.inert
  if (mixes.includes('searchLosers') && inertOf('searchLosers') > MAX_INERT) throw new VerificationUsageError(`--losers-from search with --inert ${opts.inert} and --losers ${opts.losers} gives that mix (${SCORED} + ${opts.inert}) × (1 + ${opts.losers}) − ${SCORED} = ${inertOf('searchLosers')} constants the score ignores, over ${MAX_INERT}: take a smaller --inert or fewer --losers`)
  // The scaling and ceiling benches' `far` is loss 19.7, farther out than the cause: here no start is, so that name is refused rather than read as the cause's own.
  if (!['cause', 'near'].includes(opts.start)) throw new VerificationUsageError('--start is cause (the cause\'s own constants, loss about 4.3, the default) or near (close to the optimum, about 0.28)')
  if (!['on', 'off'].includes(opts.cache)) throw new VerificationUsageError('--cache is on (the verifier\'s baseline cache, the default) or off')
  // One copy of the cause per rule and inert count: mixes that search alike share it.
  const copies = new Map<number, Record<Sequential, string>>()
  const causesOf = (mix: Mix): Record<Sequential, string> => {
    const inert = inertOf(mix)
    const cause = (sequential: boolean, reuse: boolean, accept?: number): string => simCostCause(opts.trainSeconds, { noise: opts.noise, sequential, reuse, inert, ...(accept === undefined ? {} : { accept }), ...(opts.start === 'near' ? { start: NEAR } : {}) })
    const made = copies.get(inert) ?? { accepting: cause(true, true, opts.accept), reused: cause(true, true), sequentialOn: cause(true, false), sequentialOff: cause(false, false) }
    copies.set(inert, made)
    return made
  }
  const losersOf = (mix: Mix): number => mix === 'winners' ? 0 : opts.losers
  const log = (line: string): void => { process.stderr.write(`${line}\n`) }
  const results = Object.fromEntries(mixes.map((mix) => [mix, { accepting: [], reused: [], sequentialOn: [], sequentialOff: [] }])) as unknown as Record<Mix, Record<Sequential, RaceResult[]>>
  for (const seed of opts.seeds) {
    for (const mix of mixes) {
      for (const sequential of opts.rules) {
        log(`${mix} (${losersOf(mix)} losers per submission, ${inertOf(mix)} inert constants), ${sequential}, seed ${seed}: ${opts.workers} workers until ${opts.merges} merges`)
        const result = await race({
          cause: causesOf(mix)[sequential], workers: opts.workers, seed, merges: opts.merges, timeoutSeconds: opts.timeoutSeconds,
          baselineCache: opts.cache === 'on', losers: losersOf(mix), log,
          ...(opts.trace === undefined ? {} : { trace: `${opts.trace}-${mix}-${sequential}-s${seed}.txt` })
        })
        log(`  ${result.merges} merges in ${result.seconds} s; verifier ${result.jobs} jobs (${result.stoppedEarly} stopped early, ${result.acceptedEarly} of them accepted), ${result.verifierSide.runs} runs (${result.cache.hits} cache hits); ` +
          `workers ${result.workerSide.runs} runs; losers ${result.loserSubmissions} submitted, ${result.losersRejected} rejected ` +
          `(${result.rejectedLosers.trials} trials, ${result.rejectedLosers.runs} runs on ${result.rejectedLosers.count})`)
        results[mix][sequential].push(result)
      }
    }
  }
  for (const made of copies.values()) for (const dir of Object.values(made)) rmSync(dir, { recursive: true, force: true })
  const ran = (rule: Sequential): boolean => opts.rules.includes(rule)
  const variants = Object.fromEntries(mixes.map((mix) => [mix, Object.fromEntries(opts.rules.map((rule) => [rule, summary(results[mix][rule])]))])) as Record<Mix, Partial<Record<Sequential, Record<string, number>>>>
  // A ratio of two rules, where both ran (`--rules` may run fewer than four).
  const ratio = (mix: Mix, key: string, off: Sequential, on: Sequential): Record<string, number> => {
    const [a, b] = [variants[mix][off]?.[key], variants[mix][on]?.[key]]
    return a === undefined || b === undefined ? {} : { [key]: round(a / b, 2) }
  }
  // The sequential rule: off / on (neither reusing); reuse: the rule on without / with it.
  const ratios = (mix: Mix): Record<string, Record<string, number>> => ({
    sequential: {
      ...ratio(mix, 'verifierRunsPerMerge', 'sequentialOff', 'sequentialOn'),
      ...ratio(mix, 'verifyComputeFraction', 'sequentialOff', 'sequentialOn'),
      ...(mix !== 'winners' ? { ...ratio(mix, 'trialsPerRejectedLoser', 'sequentialOff', 'sequentialOn'), ...ratio(mix, 'verifierRunsPerRejectedLoser', 'sequentialOff', 'sequentialOn') } : {})
    },
    reuse: {
      ...ratio(mix, 'verifierRunsPerMerge', 'sequentialOn', 'reused'),
      ...ratio(mix, 'verifyComputeFraction', 'sequentialOn', 'reused')
    },
    // Early acceptance: reused without / with it.
    accept: {
      ...ratio(mix, 'verifierRunsPerMerge', 'reused', 'accepting'),
      ...ratio(mix, 'verifyComputeFraction', 'reused', 'accepting'),
      ...ratio(mix, 'seconds', 'reused', 'accepting')
    }
  })
  const worst = (rule: Sequential): Record<string, number> => ran(rule) ? { [WORST[rule]]: Math.max(...mixes.map((mix) => variants[mix][rule]?.verifyComputeFraction as number)) } : {}
  return {
    cause: 'sim-cost', ...opts, inertByMix: Object.fromEntries(mixes.map((mix) => [mix, inertOf(mix)])), sequentialNoise: Number((Math.SQRT2 * opts.noise).toPrecision(4)), verifiers: 1,
    variants,
    ratios: Object.fromEntries(mixes.map((mix) => [mix, ratios(mix)])),
    // The figure the goal (at most 10 %) is about: the worst mix with every saving declared (the rule with early acceptance, and reuse).
    ...worst('accepting'),
    ...worst('reused'),
    ...worst('sequentialOn'),
    ...worst('sequentialOff')
  }
}
