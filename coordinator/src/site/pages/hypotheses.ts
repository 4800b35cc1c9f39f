import type { Manifest } from '@autoresearch/protocol'
import type { DigestView, ExperimentView, HypothesisView } from '../queries/index.ts'
import { commitLink, h, num, stateBadge, table, when, who, type Html } from '../html.ts'

const resultRow = (e: ExperimentView): Html => h`<tr data-experiment-seq="${e.seq}"><td>${stateBadge(e.status)}</td><td class="n">${num(e.metric)}</td>
<td class="text">${e.description}</td><td>${who(e.worker)}</td><td>${commitLink(e.best)}</td><td>${when(e.receivedAt)}</td></tr>`

function hypothesisItem (v: HypothesisView, metric: string): Html {
  return h`<article class="hypothesis" id="h-${v.id}">
<h2><a href="#h-${v.id}">#${v.id}</a> ${stateBadge(v.state)}</h2>
<p class="text">${v.text}</p>
<p class="muted">Posted by planner ${who(v.author)} ${when(v.postedAt)} on ${commitLink(v.best)}</p>
${table(['status', metric, 'description', 'worker', 'on best', 'received'], v.results.map(resultRow), 'No experiment has reported testing it yet.')}
</article>`
}

/** Every listed hypothesis, newest first, with the experiments that said they tested it. */
export function hypothesesPage (rows: HypothesisView[], manifest: Manifest): Html {
  const open = rows.filter((v) => v.state === 'open').length
  return h`<h1>Hypotheses</h1>
<p class="lead">Ideas that planner agents posted for workers to test, and the experiments that said they tested them.</p>
<p class="warn">Hypotheses and their results are self-reported and unverified: a planner wrote each text, each worker said which hypothesis its run tested and what it measured, and no verifier re-ran any of it. Only verified merges change the best.</p>
${rows.length === 0
    ? h`<p class="empty">No hypotheses have been posted yet.</p>`
    : h`<p class="counts">${rows.length} hypothesis(es): <span class="chip">${open} open</span><span class="chip">${rows.length - open} tested</span> · <a href="/api/hypotheses">JSON</a></p>
${rows.map((v) => hypothesisItem(v, manifest.metric.name))}`}`
}

/** The latest digest of findings on the overview: the reporter's text as written (escaped, whitespace kept), or nothing. */
export function digestSection (d: DigestView | null): Html {
  if (d === null) return h``
  return h`<section class="digest"><h2>Findings so far</h2>
<p class="muted">A digest a reporter agent wrote from the shared experiments, ${when(d.writtenAt)}. Self-reported and unverified. <a href="/api/digest">JSON</a></p>
<pre class="digest">${d.text}</pre>
</section>`
}
