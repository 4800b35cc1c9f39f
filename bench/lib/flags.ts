/**
 * Numbers typed on a bench's command line, read one way for every bench: a blank value
 * (`--timeout ''`, which Number('') reads as 0), a word, or a number out of range is a typo,
 * refused with the bench's own UsageError naming the flag and what it takes (bench/run.ts
 * prints it with the usage line and exits 2).
 */

import { accessSync, constants, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

type UsageErrorClass = new (message: string) => Error

export interface Bounds {
  /** The least value; with `above`, values must exceed it. */
  min: number
  /** The largest value; none: no upper bound. */
  max?: number
  above?: boolean
  /** Only whole numbers. */
  whole?: boolean
}

/** A flag's value as a number; NaN for a blank one, which is a typo and never 0. */
const readNumber = (value: string): number => value.trim() === '' ? NaN : Number(value)

const fits = (x: number, b: Bounds): boolean =>
  Number.isFinite(x) && (b.whole !== true || Number.isInteger(x)) && (b.above === true ? x > b.min : x >= b.min) && (b.max === undefined || x <= b.max)

/** "a whole number from 1 to 64", "numbers above 0", ... */
function takes (b: Bounds, many: boolean): string {
  const what = b.whole === true ? (many ? 'whole numbers' : 'a whole number') : (many ? 'numbers' : 'a number')
  const low = b.above === true ? `above ${b.min}` : `from ${b.min}`
  const high = b.max === undefined ? '' : b.above === true ? ` and at most ${b.max}` : ` to ${b.max}`
  return b.max === undefined && b.above !== true ? `${what} of at least ${b.min}` : `${what} ${low}${high}`
}

/**
 * `--name`'s number, within `bounds`; else the bench's UsageError. `is` says what the flag is,
 * its range included, where the bare range would not tell the person enough ("--inert is how
 * many constants ...").
 */
export function numberFlag (name: string, value: string, bounds: Bounds, Err: UsageErrorClass, is?: string): number {
  const x = readNumber(value)
  if (!fits(x, bounds)) throw new Err(`--${name} ${is === undefined ? `takes ${takes(bounds, false)}` : `is ${is}`}, not ${JSON.stringify(value)}`)
  return x
}

/** `--name`'s comma-separated numbers, each within `bounds` (an empty item is a typo too); else the bench's UsageError. */
export function listFlag (name: string, value: string, bounds: Bounds, Err: UsageErrorClass): number[] {
  const xs = value.split(',').map(readNumber)
  if (!xs.every((x) => fits(x, bounds))) throw new Err(`--${name} takes ${takes(bounds, true)}, comma-separated, not ${JSON.stringify(value)}`)
  return xs
}

/**
 * `--name`'s comma-separated names, each one of `allowed` and none twice (an object's own keys
 * only: `toString` is not a name); else the bench's UsageError, `is` saying what the flag takes.
 */
export function namesFlag<T extends string> (name: string, value: string, allowed: readonly T[], Err: UsageErrorClass, is: string): T[] {
  const names = value.split(',')
  if (!names.every((n) => (allowed as readonly string[]).includes(n)) || new Set(names).size !== names.length) throw new Err(`--${name} is ${is}, comma-separated, not ${JSON.stringify(value)}`)
  return names as T[]
}

/**
 * `--trace PREFIX`: where a bench writes each race's event file (`PREFIX-…txt`). Its folder is
 * made here, so that a prefix that is blank or cannot be written is refused before any race
 * runs, with the bench's UsageError.
 */
export function traceFlag (value: string | undefined, Err: UsageErrorClass): string | undefined {
  if (value === undefined) return undefined
  if (value.trim() === '') throw new Err(`--trace is the path prefix of the races' event files (PREFIX-<race>.txt), not ${JSON.stringify(value)}`)
  const folder = dirname(value)
  try {
    mkdirSync(folder, { recursive: true })
    accessSync(folder, constants.W_OK)
  } catch (err) {
    throw new Err(`--trace ${JSON.stringify(value)}: its folder ${folder} cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  return value
}
