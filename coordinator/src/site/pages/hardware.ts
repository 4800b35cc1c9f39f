import type { HardwareView } from '../queries/index.ts'
import { candidateLink, commitLink, h, num, table, when, type Html } from '../html.ts'

/**
 * The best per hardware class: each class's figure is its own measurement of the newest best
 * it verified, so rows are read one by one, never ranked against each other.
 */
export function hardwareSection (v: HardwareView, metricName: string): Html {
  const rows = v.classes.map((c) => h`<tr data-class="${c.class}"><td class="text">${c.class}${c.class === v.reference ? h` <span class="chip">reference</span>` : ''}</td>
<td>${commitLink(c.commit)}</td><td>${candidateLink(c.candidateSeq)}</td><td class="n">${num(c.metric)}</td><td class="n">${c.runs}</td><td>${when(c.mergedAt)}</td></tr>`)
  const about = v.matters === 'class'
    ? h`<p>Results depend on the machine here, so candidates are verified only on the reference class: <strong id="reference-class">${v.reference ?? 'not set yet (the first verifier to ask for work sets it)'}</strong>. A verifier of another class is told so and gets no jobs.</p>`
    : h`<p>Results compare across machines here: verifiers of every class take jobs. Each row is the best as that class measured it.</p>`
  return h`<section id="hardware-classes"><h2>Best per hardware class</h2>${about}
${table(['class', 'best', 'candidate', metricName, 'runs', 'merged'], rows, 'No verified merges yet.')}
</section>`
}
