/** An axis whose ends and ticks are round numbers: steps of 1, 2 or 5 × 10^k. */
export interface NiceScale {
  min: number
  max: number
  step: number
  ticks: number[]
  /** Decimals that write every tick exactly (and distinctly) at this step. */
  decimals: number
}

/** The 1, 2, 5 × 10^k step closest above `rough`. */
export function niceStep (rough: number): number {
  const mag = 10 ** Math.floor(Math.log10(rough))
  const norm = rough / mag
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag
}

/**
 * A scale covering [lo, hi] with about `count` ticks (never more than count + 2): the ends
 * are widened to multiples of the step, so the first and last ticks sit on the axis's ends.
 */
export function niceScale (lo: number, hi: number, count = 5): NiceScale {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return niceScale(0, 1, count)
  if (hi < lo) [lo, hi] = [hi, lo]
  // A flat series still needs an axis: a span around its value.
  if (hi === lo) {
    const half = Math.abs(lo) * 0.05 || 0.5
    lo -= half
    hi += half
  }
  const step = niceStep((hi - lo) / Math.max(1, count - 1))
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9))
  const first = Math.floor(lo / step + 1e-9)
  const last = Math.ceil(hi / step - 1e-9)
  // Multiples of the step, rounded to its decimals: 0.1 × 3 is written 0.3, not 0.30000000000000004.
  const at = (i: number): number => Number((i * step).toFixed(Math.min(100, decimals)))
  const ticks = Array.from({ length: last - first + 1 }, (_, i) => at(first + i))
  return { min: at(first), max: at(last), step, ticks, decimals }
}

/** A tick's label: as many decimals as the step needs, no more. */
export const tickLabel = (v: number, s: Pick<NiceScale, 'decimals'>): string => (Object.is(v, -0) ? 0 : v).toFixed(Math.min(100, s.decimals))
