import { InvalidArgumentError } from 'commander'

/**
 * A commander option parser for a whole number in [min, max], so a typo (`--slots two`,
 * `--max-jobs 0`) is refused with the option's name before anything starts, instead of
 * becoming NaN or a limit that never ends.
 */
export function wholeNumber (min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const n = Number(text)
    if (text.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`)
    }
    return n
  }
}

/** A commander option parser for a number in [min, max] (`--temperature 0.7`), refused with the option's name otherwise. */
export function numberIn (min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text)
    if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`a number from ${min} to ${max}`)
    return n
  }
}
