import type { ExperimentView, TriedView } from '../queries/index.ts'
import { h, num, stateBadge, table, when, who, type Html } from '../html.ts'

const STATUS_LABELS: Array<[keyof TriedView['counts'], string]> = [['keep', 'kept'], ['discard', 'discarded'], ['crash', 'crashed'], ['unconfirmed', 'not confirmed']]

/** A link to the hypothesis an experiment said it tested, on the hypotheses page. */
export const hypothesisLink = (id: number | null): Html => id === null ? h`` : h`<a class="hypothesis" href="/hypotheses#h-${id}">hypothesis #${id}</a>`

const row = (e: ExperimentView): Html => h`<tr data-experiment-seq="${e.seq}"><td>${who(e.worker)}</td><td>${stateBadge(e.status)}</td>
<td class="n">${num(e.metric)}</td><td class="n">${e.noise === null ? '—' : h`±${num(e.noise, 3)}`}</td><td class="text">${e.description}</td><td>${hypothesisLink(e.hypothesis)}</td><td>${when(e.receivedAt)}</td></tr>`

/**
 * What workers reported trying on the best `v.best`: counts by status, the best run, the
 * latest reports, and links to the JSON and the TSV. Every report is self-reported.
 */
export function triedSection (v: TriedView, metric: string, title: string): Html {
  const q = `best=${v.best}`
  const counts = STATUS_LABELS.map(([s, label]) => h`<span class="chip">${v.counts[s]} ${label}</span>`)
  const b = v.bestRun
  return h`<section class="tried"><h2>${title}</h2>
<p class="muted">Runs that workers' agents made on this best and reported, whatever came of them. They are self-reported and unverified: no verifier re-ran them, and they never change the best.</p>
<p class="counts">${v.total} run(s): ${counts}</p>
${b === null ? '' : h`<p>Best reported ${metric}: <strong>${num(b.metric)}</strong> ${stateBadge(b.status)} by ${who(b.worker)} <span class="text">${b.description}</span></p>`}
${table(['worker', 'status', metric, 'noise', 'description', 'hypothesis', 'received'], v.latest.map(row), 'No experiments reported on this best yet.')}
<p class="exports"><a href="/api/experiments?${q}">JSON</a> · <a href="/api/experiments.tsv?${q}">results.tsv</a></p>
</section>`
}
