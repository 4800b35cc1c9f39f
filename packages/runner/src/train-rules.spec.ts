import { describe, expect, it } from 'vitest'
import { InvalidManifestError, parseManifest } from '@autoresearch/protocol'
import { TrialError } from './errors.ts'
import { checkTrained, heldOutMention, trainFailure, WORK_BUDGET_EXIT_CODE, workBudgetEnv } from './train-rules.ts'

const base = { name: 't', editable: ['train.py'], evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'm', direction: 'minimize' }, verification: { minImprovement: 0.1 } }
const manifest = parseManifest({
  ...base,
  prepare: { command: ['python3', 'prepare.py'], heldOut: true },
  train: { command: ['python3', 'train.py'], workBudget: { unit: 'tokens', amount: 1000 } }
})
const plain = parseManifest({ ...base, train: { command: ['python3', 'train.py'] } })
const crash = new TrialError('crash', 'train exited with code 1')

describe('the manifest\'s work budget and held-out data', () => {
  const refused = (fields: Record<string, unknown>): string => {
    try {
      parseManifest({ ...base, train: { command: ['python3', 'train.py'] }, ...fields })
      return 'accepted'
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidManifestError)
      return (err as Error).message
    }
  }

  it('are accepted as declared, and absent by default', () => {
    expect(manifest.train.workBudget).toEqual({ unit: 'tokens', amount: 1000 })
    expect(manifest.prepare?.heldOut).toBe(true)
    expect(plain.train.workBudget).toBeUndefined()
  })

  it('are refused with a readable reason when malformed or when no evaluate step could use them', () => {
    expect(refused({ train: { command: ['x'], workBudget: { unit: 'Tokens!', amount: 5 } } })).toMatch(/train\.workBudget\.unit: a lowercase word/)
    expect(refused({ train: { command: ['x'], workBudget: { unit: 'tokens', amount: 2.5 } } })).toMatch(/train\.workBudget\.amount/)
    const noEvaluate = { evaluate: undefined, metric: { name: 'm', direction: 'minimize', stdoutPattern: 'm: ([0-9.]+)' } }
    expect(refused({ ...noEvaluate, train: { command: ['x'], workBudget: { unit: 'tokens', amount: 5 } } })).toMatch(/train\.workBudget: the evaluate step reports the work train did, and this cause has none/)
    expect(refused({ ...noEvaluate, prepare: { command: ['x'], heldOut: true } })).toMatch(/prepare\.heldOut: held-out data are for the evaluate step, and this cause has none/)
  })
})

describe('workBudgetEnv', () => {
  it('tells train and evaluate the budget and its unit, and nothing without one', () => {
    expect(workBudgetEnv(manifest)).toEqual({ AUTORESEARCH_WORK_BUDGET: '1000', AUTORESEARCH_WORK_UNIT: 'tokens' })
    expect(workBudgetEnv(plain)).toEqual({})
  })
})

describe('trainFailure', () => {
  it('names a train the meter stopped at the work budget', () => {
    const named = trainFailure(manifest, { exitCode: WORK_BUDGET_EXIT_CODE, output: 'BudgetExceeded: ...' }, crash, [])
    expect(named?.reason).toBe('over-work-budget')
    expect(named?.message).toMatch(/stopped by the cause's frozen meter past its work budget of 1000 tokens \(train\.workBudget/)
    // Without a declared budget the exit code means nothing.
    expect(trainFailure(plain, { exitCode: WORK_BUDGET_EXIT_CODE, output: '' }, crash, [])).toBeUndefined()
  })

  it('names a train that failed reaching for held-out data by their variable or a file name only they have', () => {
    const notFound = "FileNotFoundError: [Errno 2] No such file or directory: '/autoresearch/toy-1/val.json'"
    expect(trainFailure(manifest, { exitCode: 1, output: notFound }, crash, ['val.json'])?.reason).toBe('held-out-access')
    expect(trainFailure(manifest, { exitCode: 1, output: "KeyError: 'AUTORESEARCH_HELDOUT'" }, crash, [])?.message).toMatch(/held-out data \(AUTORESEARCH_HELDOUT\), which only evaluate sees/)
    // A name inside a longer one, or an unrelated crash, stays a crash.
    expect(trainFailure(manifest, { exitCode: 1, output: 'no such file: my_val.json.bak' }, crash, ['val.json'])).toBeUndefined()
    expect(trainFailure(manifest, { exitCode: 1, output: 'ZeroDivisionError' }, crash, ['val.json'])).toBeUndefined()
    // Only a crash is named: a timeout stays a timeout.
    expect(trainFailure(manifest, { exitCode: null, output: notFound }, new TrialError('timeout', 't'), ['val.json'])).toBeUndefined()
    expect(trainFailure(plain, { exitCode: 1, output: notFound }, crash, ['val.json'])).toBeUndefined()
  })

  it('matches names literally, not as patterns', () => {
    expect(heldOutMention('open(valXjson)', ['val.json'])).toBeUndefined()
    expect(heldOutMention('"val.json"', ['val.json'])).toBe('val.json')
  })
})

describe('checkTrained', () => {
  const failure = (result: Record<string, unknown>): TrialError | undefined => {
    try {
      checkTrained(manifest, result)
      return undefined
    } catch (err) {
      return err as TrialError
    }
  }

  it('passes a count within the budget and any result of a cause without one', () => {
    expect(failure({ metric: 1, trained: 1000 })).toBeUndefined()
    expect(() => { checkTrained(plain, { metric: 1 }) }).not.toThrow()
  })

  it('fails a count over the budget as over-work-budget, and a missing count as no-result', () => {
    expect(failure({ metric: 1, trained: 1001 })).toMatchObject({ reason: 'over-work-budget', message: expect.stringMatching(/train used 1001 tokens, over the work budget of 1000 tokens/) })
    for (const trained of [undefined, -1, '5', Number.NaN]) expect(failure({ metric: 1, trained })?.reason).toBe('no-result')
  })
})
