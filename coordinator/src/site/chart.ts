import type { ChartView } from './queries/index.ts'
import { h, num, type Html } from './html.ts'
import { niceScale, tickLabel } from './ticks.ts'

const W = 760
const H = 300
const M = { left: 70, right: 18, top: 14, bottom: 34 }

const fmtTime = (ms: number, span: number): string => {
  const iso = new Date(ms).toISOString()
  if (span > 2 * 24 * 3600_000) return iso.slice(0, 10)
  return span > 2 * 3600_000 ? iso.slice(5, 16).replace('T', ' ') : iso.slice(11, span > 600_000 ? 16 : 19)
}

/**
 * The best metric over time as a step line, and every verified candidate as a
 * point (linking to its page). Server-rendered SVG, styled by classes only, so it
 * reads without JavaScript and needs no inline style under the CSP.
 */
export function chartSvg (chart: ChartView, metric: { name: string, direction: string }): Html {
  const { points, best } = chart
  if (points.length === 0 && best.length === 0) {
    return h`<p class="empty">No verified candidates yet: the chart fills in as verifiers measure candidates.</p>`
  }
  const times = [...points.map((p) => p.time), ...best.map((b) => b.time)]
  const values = [...points.map((p) => p.metric), ...best.map((b) => b.metric)]
  // Reduced, not spread into Math.min: a long cause's merges alone may be more arguments than a call takes.
  let t0 = times.reduce((a, b) => Math.min(a, b))
  // Not `now`: the same data must render the same bytes (the ETag depends on it).
  let t1 = times.reduce((a, b) => Math.max(a, b))
  if (t1 - t0 < 60_000) { t0 -= 30_000; t1 += 30_000 }
  const lo = values.reduce((a, b) => Math.min(a, b))
  const hi = values.reduce((a, b) => Math.max(a, b))
  // A little room so no point sits on the frame, then round ends and ticks (1, 2, 5 × 10^k).
  const pad = (hi - lo) * 0.04
  const scale = niceScale(lo - pad, hi + pad)
  const v0 = scale.min
  const v1 = scale.max
  const x = (t: number): number => M.left + (t - t0) / (t1 - t0) * (W - M.left - M.right)
  const y = (v: number): number => M.top + (v1 - v) / (v1 - v0) * (H - M.top - M.bottom)
  const f = (n: number): string => n.toFixed(1)

  const yTicks = scale.ticks
  const xTicks = Array.from({ length: 4 }, (_, i) => t0 + (t1 - t0) * i / 3)
  let path = ''
  best.forEach((b, i) => { path += i === 0 ? `M${f(x(b.time))},${f(y(b.metric))}` : `H${f(x(b.time))}V${f(y(b.metric))}` })
  if (best.length > 0) path += `H${f(x(t1))}`
  const cls = (state: string): string => state === 'merged' ? 'pt pt-merged' : state === 'rejected' ? 'pt pt-rejected' : 'pt pt-other'
  const better = metric.direction === 'minimize' ? 'lower is better' : 'higher is better'
  const shown = points.length === chart.pointsTotal ? `${points.length} verified candidate(s)` : `the latest verified candidates and earlier merged ones, ${points.length} of ${chart.pointsTotal} verified`

  return h`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title" preserveAspectRatio="xMidYMid meet">
<title id="chart-title">Best ${metric.name} over time (${better}) with ${shown}</title>
<g class="grid">${yTicks.map((v) => h`<line x1="${M.left}" x2="${W - M.right}" y1="${f(y(v))}" y2="${f(y(v))}"/>`)}</g>
<g class="axis">${yTicks.map((v) => h`<text class="y-tick" x="${M.left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${tickLabel(v, scale)}</text>`)}
${xTicks.map((t, i) => h`<text x="${f(x(t))}" y="${H - 10}" text-anchor="${i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle'}">${fmtTime(t, t1 - t0)}</text>`)}</g>
${path === '' ? '' : h`<path class="best" d="${path}"/>`}
<g class="points">${points.map((p) => h`<a href="/candidates/${p.seq}"><circle class="${cls(p.state)}" cx="${f(x(p.time))}" cy="${f(y(p.metric))}" r="5"><title>#${p.seq} ${p.state}: ${metric.name} ${num(p.metric)}</title></circle></a>`)}</g>
</svg>
<figcaption><span class="key-best">best ${metric.name}</span> <span class="key-merged">merged</span> <span class="key-rejected">rejected</span> <span class="key-other">other verified</span> · ${better} · ${shown}</figcaption>
</figure>`
}
