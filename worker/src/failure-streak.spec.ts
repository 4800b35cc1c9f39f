import { describe, expect, it } from 'vitest'
import { FailureStreak } from './failure-streak.ts'

describe('a failure said once per streak', () => {
  it('says the first failure, not its repeats, and again after a success', () => {
    const streak = new FailureStreak()
    expect([streak.failed(), streak.failed(), streak.failed()]).toEqual([true, false, false])
    streak.succeeded()
    expect([streak.failed(), streak.failed()]).toEqual([true, false])
  })
})
