import type { Manifest } from '@autoresearch/protocol'
import { TrialError } from './errors.ts'
import type { StepOutcome } from './types.ts'

/**
 * The exit code by which a cause's frozen meter ends train at its work budget
 * (`train.workBudget`, docs/causes.md): the runner reports it as `over-work-budget`.
 * A candidate that exits with it itself only labels its own failure.
 */
export const WORK_BUDGET_EXIT_CODE = 86

/** Where prepare writes held-out data, and evaluate reads them; never set for train. */
export const HELD_OUT_ENV = 'AUTORESEARCH_HELDOUT'

/** What train and evaluate are told of the work budget. */
export function workBudgetEnv (manifest: Manifest): Record<string, string> {
  const budget = manifest.train.workBudget
  return budget === undefined ? {} : { AUTORESEARCH_WORK_BUDGET: String(budget.amount), AUTORESEARCH_WORK_UNIT: budget.unit }
}

/**
 * What a crash of train was, by the cause's rules: stopped by its meter at the work budget,
 * or failed reaching for held-out data it cannot see. Undefined: it stays what it was.
 * Like the other labels, it only names a failure, never makes one.
 */
export function trainFailure (manifest: Manifest, outcome: Pick<StepOutcome, 'exitCode' | 'output'>, failure: TrialError, heldOutNames: string[]): TrialError | undefined {
  if (failure.reason !== 'crash') return undefined
  const budget = manifest.train.workBudget
  if (budget !== undefined && outcome.exitCode === WORK_BUDGET_EXIT_CODE) {
    return new TrialError('over-work-budget', `train was stopped by the cause's frozen meter past its work budget of ${budget.amount} ${budget.unit} (train.workBudget; ${failure.message})`)
  }
  if (manifest.prepare?.heldOut !== true) return undefined
  const name = heldOutMention(outcome.output, heldOutNames)
  if (name === undefined) return undefined
  return new TrialError('held-out-access', `train failed reaching for held-out data (${name}), which only evaluate sees (prepare.heldOut): train may not use the held-out split (${failure.message})`)
}

const NAME_EDGE = '[^A-Za-z0-9_.-]'

/** The held-out variable or file name the end of a step's output names, if any. */
export function heldOutMention (output: string, names: string[]): string | undefined {
  const tail = output.slice(-8000)
  return [HELD_OUT_ENV, ...names].find((name) => new RegExp(`(^|${NAME_EDGE})${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|${NAME_EDGE})`).test(tail))
}

/**
 * Evaluate's count of train's work against the manifest's budget: a cause that declares
 * `train.workBudget` must report `trained` (in its unit), and a count over it fails the trial.
 */
export function checkTrained (manifest: Manifest, result: Record<string, unknown>): void {
  const budget = manifest.train.workBudget
  if (budget === undefined) return
  const trained = result.trained
  if (typeof trained !== 'number' || !Number.isFinite(trained) || trained < 0) {
    throw new TrialError('no-result', `the result holds no "trained" count: the manifest declares train.workBudget, so evaluate must report the ${budget.unit} train used, as the cause's frozen code counted them`)
  }
  if (trained > budget.amount) {
    throw new TrialError('over-work-budget', `train used ${trained} ${budget.unit}, over the work budget of ${budget.amount} ${budget.unit} (train.workBudget), as counted by the cause's frozen code and reported by evaluate`)
  }
}
