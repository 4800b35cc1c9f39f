import { describe, expect, it } from 'vitest'
import { wholeNumber } from './cli-options.ts'

describe('wholeNumber', () => {
  it('takes whole numbers in range and refuses the rest with commander\'s InvalidArgumentError', () => {
    const slots = wholeNumber(1, 64)
    expect(slots('1')).toBe(1)
    expect(slots('64')).toBe(64)
    for (const bad of ['0', '65', 'two', '', ' ', '1.5', '-1', '1e3']) {
      expect(() => slots(bad), bad).toThrow(expect.objectContaining({ code: 'commander.invalidArgument', message: 'a whole number from 1 to 64' }))
    }
    expect(() => wholeNumber(1)('0')).toThrow('a whole number of at least 1')
    expect(wholeNumber(0)('0')).toBe(0)
  })
})
