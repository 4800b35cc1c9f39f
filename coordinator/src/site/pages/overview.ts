import { chartSvg } from '../chart.ts'
import type { HardwareView, NetworkView, OverviewView } from '../queries/index.ts'
import { fileHref } from './code.ts'
import { triedSection } from './experiments.ts'
import { hardwareSection } from './hardware.ts'
import { digestSection } from './hypotheses.ts'
import { candidateLink, commitLink, h, num, signed, stateBadge, table, when, who, type Html } from '../html.ts'

const NOT_REPORTED = h`<span class="muted">not reported yet</span>`

/** The call to join, fitted to the cause: only a cause whose manifest says `requires.gpu` asks for a GPU. */
export const lendLine = (requiresGpu: boolean): string => requiresGpu ? 'Lend a spare GPU' : 'Lend a spare machine (a CPU is enough)'

export function networkList (n: NetworkView): Html {
  const hw = n.verifierHardware.length === 0
    ? h`<span class="muted">none yet</span>`
    : n.verifierHardware.map((c) => h`<span class="chip">${c.class} × ${c.verifiers}${c.gpus.length > 0 ? h` <small>(${c.gpus.join(', ')})</small>` : ''}</span> `)
  return h`<dl class="facts">
<dt>Workers (submitters)</dt><dd>${n.submitters.last24h} in the last 24 h · ${n.submitters.total} ever</dd>
<dt>Verifiers</dt><dd>${n.verifiers.last24h} in the last 24 h · ${n.verifiers.total} ever · ${n.openLeases} job(s) leased now</dd>
<dt>Candidates submitted</dt><dd>${n.candidatesLastHour} in the last hour · ${n.candidatesLast24h} in the last 24 h</dd>
<dt>Verification runs per hour</dt><dd>${n.verificationRunsLastHour}</dd>
<dt>Experiments per hour (workers)</dt><dd id="experiments-per-hour">${n.experimentsPerHour} in the last hour by ${n.activeWorkersLastHour} worker(s) · ${n.experimentsTotal} reported ever <small>(self-reported)</small></dd>
<dt>Verifier hardware</dt><dd>${hw}</dd>
<dt>Worker hardware</dt><dd>${n.workerHardware === null ? NOT_REPORTED : n.workerHardware.map((c) => h`<span class="chip">${c.class} × ${c.workers}${c.gpus.length > 0 ? h` <small>(${c.gpus.join(', ')})</small>` : ''}</span> `)}</dd>
</dl>`
}

export function overviewPage (v: OverviewView, hardware?: HardwareView): Html {
  const s = v.status
  const better = s.metric.direction === 'minimize' ? 'lower is better' : 'higher is better'
  const merges = v.recentMerges.map((m) => h`<tr data-merge-seq="${m.seq}">
<td>${m.seq}</td><td>${candidateLink(m.candidateSeq)}</td><td class="text">${m.description ?? ''}</td><td>${who(m.submitter, m.submitterName)}</td>
<td class="n">${signed(m.gain)}</td><td class="n">${num(m.metric)}</td><td>${when(m.mergedAt)}</td><td>${m.revertedAt === null ? '' : stateBadge('reverted')}</td></tr>`)
  return h`<section class="hero">
<h1>${s.cause}</h1>
${v.description === null ? '' : h`<p class="lead text">${v.description}</p>`}
<p class="program">What every agent is told: <a href="${fileHref(s.best.commit, v.program)}"><code>${v.program}</code></a> · <a href="/files">the cause's files</a> (editable and protected)</p>
<div class="cards">
<div class="card"><span class="label">Best ${s.metric.name} <small>(${better})</small></span><strong id="best-metric">${s.best.metric === null ? num(s.baselineMetric) : num(s.best.metric)}</strong><span>at ${commitLink(s.best.commit)}</span></div>
<div class="card"><span class="label">Verified merges</span><strong id="merge-count">${s.merges}</strong><span>${s.candidates.queued ?? 0} queued · ${s.candidates.verifying ?? 0} verifying</span></div>
<div class="card"><span class="label">Gain over the first baseline</span><strong>${signed(v.totalGain)}</strong><span>baseline ${num(s.baselineMetric)}</span></div>
</div>
${v.selfReported ? h`<p class="warn">This cause has no frozen evaluate step: its metric is read from the training output, re-run by verifiers but self-reported.</p>` : ''}
<p class="join">${lendLine(v.requiresGpu)}: <code>${v.join}</code> <a href="/about">how to join</a></p>
</section>
<section><h2>Progress</h2>${chartSvg(v.chart, s.metric)}</section>
<section><h2>Recent merges</h2>
${table(['#', 'candidate', 'change', 'who', 'gain', s.metric.name, 'when', ''], merges, 'No verified merges yet.')}
</section>
${digestSection(v.digest)}
${triedSection(v.tried, s.metric.name, 'Tried on this best')}
<section><h2>Network now</h2>${networkList(v.network)}</section>
${hardware === undefined ? '' : hardwareSection(hardware, s.metric.name)}`
}
