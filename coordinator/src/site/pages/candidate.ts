import type { Manifest } from '@autoresearch/protocol'
import type { CandidateDetail, ExtraFigure, FileDiff, MergeView, TriedView } from '../queries/index.ts'
import { outcomeOf } from '../outcome.ts'
import { fileHref } from './code.ts'
import { triedSection } from './experiments.ts'
import { candidateLink, commitLink, h, num, signed, stateBadge, table, when, who, type Html } from '../html.ts'

function diffBlock (f: FileDiff): Html {
  const head = h`<h3 class="path"><code>${f.path}</code> <small>${f.change}${f.diff === null ? '' : h` · +${f.diff.added} −${f.diff.removed}`}</small></h3>`
  if (f.binary) return h`${head}<p class="empty">Binary file; not shown.</p>`
  if (f.unavailable || f.diff === null) return h`${head}<p class="empty">The file's objects are not available on this coordinator.</p>`
  const hunks = f.diff.hunks.map((hk) => h`<span class="hunk">@@ -${hk.oldStart},${hk.oldLines} +${hk.newStart},${hk.newLines} @@</span>
${hk.lines.map((l) => h`<span class="${l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'ctx'}">${l.op}${l.text}</span>
`)}`)
  return h`${head}
${f.diff.approximate ? h`<p class="muted">Too large to align line by line: shown as removed, then added.</p>` : ''}
<pre class="diff">${hunks}</pre>
${f.diff.truncated ? h`<p class="muted">The diff is cut short here.</p>` : ''}`
}

/** The figures evaluate wrote beside the metric (params, ...): each side's mean, as verifiers reported them. */
function extrasSection (extras: ExtraFigure[]): Html {
  if (extras.length === 0) return h``
  const rows = extras.map((e) => h`<tr><td><code>${e.name}</code></td><td class="n">${num(e.baseline)}</td><td class="n">${num(e.candidate)}</td>
<td class="n">${e.baseline === null || e.candidate === null ? '—' : signed(e.candidate - e.baseline)}</td><td class="n">${e.baselineRuns} / ${e.candidateRuns}</td></tr>`)
  return h`<h2>Other figures from the evaluator</h2>
<p class="muted">What the cause's evaluate step wrote beside the metric, as the verifiers' runs reported it (mean of each side). Shown for information: only the metric decides.</p>
${table(['figure', 'baseline (mean)', 'candidate (mean)', 'difference', 'runs (baseline / candidate)'], rows, '')}`
}

/** `tried`: what workers reported trying on this candidate's commit, when it is or was the best (null otherwise). */
export function candidatePage (c: CandidateDetail, manifest: Manifest, tried: TriedView | null = null): Html {
  const metric = manifest.metric.name
  const t = c.test
  const o = outcomeOf(c.state, c.rounds, c.seeds, { provisional: c.provisional, heldFor: c.heldFor, waitsFor: c.waitsFor })
  const trials = c.trials.map((tr) => h`<tr><td>${tr.seed}</td><td class="n">${num(tr.baseline)}</td><td class="n">${num(tr.candidate)}</td>
<td class="n">${tr.baseline === null || tr.candidate === null ? '—' : signed(manifest.metric.direction === 'minimize' ? tr.baseline - tr.candidate : tr.candidate - tr.baseline)}</td>
<td>${who(tr.verifier)}</td><td class="text">${tr.failure ?? ''}</td></tr>`)
  const attestations = c.attestations.map((a) => h`<tr><td>${who(a.verifier)}</td><td>${a.round}</td><td>${a.trials}</td>
<td class="text">${a.hardware === null ? '—' : h`${a.hardware.class} · ${a.hardware.cpus} CPU${a.hardware.gpus.length > 0 ? h` · ${a.hardware.gpus.join(', ')}` : ''}`}</td><td>${when(a.receivedAt)}</td></tr>`)
  return h`<h1>Candidate #${c.seq} ${stateBadge(c.state)}</h1>
<p class="lead text description">${c.description === '' ? h`<span class="muted">(no description)</span>` : c.description}</p>
<div class="reason ${o.tone}" id="outcome"><strong>${o.title}.</strong> ${o.text}${c.reason === null ? '' : h`<br>Reason: <span class="text">${c.reason}</span>`}</div>
${c.claimContradicted ? h`<p class="warn">The claimed gain is far beyond what verification measured; the claim cost its submitter quota.</p>` : ''}
<dl class="facts">
<dt>Submitter</dt><dd>${who(c.submitter, c.submitterName)}${c.team === null ? '' : h` · team <span class="name">${c.team}</span>`}</dd>
${c.workerHardware === null ? '' : h`<dt>Worker hardware</dt><dd>${c.workerHardware.class} · ${c.workerHardware.cpus} CPU${c.workerHardware.gpus.length > 0 ? h` · ${c.workerHardware.gpus.join(', ')}` : ''} <small>(as reported)</small></dd>`}
<dt>Commit</dt><dd><code class="oid">${c.commit}</code></dd>
<dt>Parent</dt><dd>${commitLink(c.parent)}</dd>
<dt>Received</dt><dd>${when(c.receivedAt)}</dd>
${c.rebasedFrom === null ? '' : h`<dt>Rebased from</dt><dd>${candidateLink(c.rebasedFrom)} (a coordinator rebase; credit goes to the original submitter)</dd>`}
${c.rebasedAs.length === 0 ? '' : h`<dt>Rebased as</dt><dd>${c.rebasedAs.map((s) => h`${candidateLink(s)} `)}</dd>`}
${c.merge === null ? '' : h`<dt>Merge</dt><dd>${c.merge.seq} at ${when(c.merge.mergedAt)}${c.merge.revertedAt === null ? '' : h` · reverted ${when(c.merge.revertedAt)}`} · <a href="/files/${c.commit}">its files</a></dd>`}
</dl>
<h2>Claimed versus verified</h2>
<dl class="facts">
<dt>Claimed ${metric}</dt><dd>${num(c.claimedMetric)}</dd>
<dt>Verified ${metric} (mean)</dt><dd>${num(c.verifiedMetric)}</dd>
<dt>Baseline ${metric} (mean, same seeds)</dt><dd>${num(c.baselineMetric)}</dd>
<dt>Mean paired improvement</dt><dd>${signed(c.meanImprovement)}</dd>
</dl>
<h2>The test</h2>
${t === null
    ? h`<p class="empty">${o.noVerdict}</p>`
    : h`<dl class="facts"><dt>Paired trials</dt><dd>${t.n}</dd><dt>Mean improvement</dt><dd>${num(t.mean)}</dd><dt>Standard deviation</dt><dd>${num(t.sd)}</dd>
<dt>Margin (minImprovement)</dt><dd>${num(t.margin)}</dd><dt>t</dt><dd>${num(t.t, 4)}</dd><dt>p (one-sided)</dt><dd>${num(t.pValue, 3)}</dd>
<dt>Confidence</dt><dd>${t.confidence}</dd><dt>Passed</dt><dd>${t.passed ? 'yes' : 'no'}</dd><dt>Rounds</dt><dd>${c.rounds}</dd></dl>`}
${extrasSection(c.extras)}
<h2>Trials</h2>
${table(['seed', 'baseline', 'candidate', 'improvement', 'verifier', 'failure'], trials, o.pending ? 'No trials yet.' : 'No trials.')}
${c.disagreeing.length > 0 ? h`<p class="warn">Left out as outliers: ${c.disagreeing.map((k) => h`${who(k)} `)}</p>` : ''}
<h2>Attestations</h2>
${table(['verifier', 'round', 'trials', 'hardware', 'received'], attestations, o.pending ? 'No attestations yet.' : 'No attestations.')}
<h2>Change</h2>
${c.diff === null ? h`<p class="empty">${c.diffHidden ?? ''}</p>` : c.diff.length === 0 ? h`<p class="empty">No file changed.</p>` : c.diff.map(diffBlock)}
${tried === null ? '' : triedSection(tried, metric, 'What was tried on this best')}`
}

export function initialCommitPage (oid: string, merge: MergeView, metric: number | null, files: string[], manifest: Manifest, tried: TriedView): Html {
  return h`<h1>Commit <code>${oid.slice(0, 10)}</code></h1>
<p class="lead">The cause's initial commit: the first best, before any merge.</p>
<dl class="facts"><dt>Commit</dt><dd><code class="oid">${oid}</code></dd><dt>Published</dt><dd>${when(merge.mergedAt)}</dd>
<dt>First measured ${manifest.metric.name}</dt><dd>${num(metric)}</dd><dt>Editable</dt><dd>${manifest.editable.map((p) => h`<code>${p}</code> `)}</dd></dl>
<h2>Files</h2><ul class="files">${files.map((f) => h`<li><a href="${fileHref(oid, f)}"><code>${f}</code></a></li>`)}</ul>
<p><a href="/files/${oid}">Read the files</a> (which an agent may change, which are protected)</p>
${triedSection(tried, manifest.metric.name, 'What was tried on this best')}`
}
