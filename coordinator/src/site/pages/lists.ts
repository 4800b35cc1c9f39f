import { roundConfidence, type Manifest } from '@autoresearch/protocol'
import { MAX_ROUNDS } from '../../policy.ts'
import type { CandidateSummary, ContributorView, QueueView, TeamView } from '../queries/index.ts'
import { CANDIDATE_STATES } from '../../store/index.ts'
import { lendLine } from './overview.ts'
import { candidateLink, h, num, signed, stateBadge, table, when, who, type Html } from '../html.ts'

/** Rows shown per table; the CSV exports hold everything. */
export const PAGE_ROWS = 200

const more = (n: number, shown = PAGE_ROWS): Html => n > shown ? h`<p class="muted">Showing ${shown} of ${n}; <a href="/api/candidates.csv">candidates.csv</a> has them all.</p>` : h``

/** A submitter's submissions by the state each is in now: "1 stale", "2 merged 1 queued"; nothing for none. */
const byState = (c: ContributorView): Html[] => CANDIDATE_STATES.filter((st) => c.states[st] > 0).map((st) => h`<span class="chip">${c.states[st]} ${st}</span>`)

export function contributorsPage (rows: ContributorView[], teams: TeamView[] | null, manifest: Manifest): Html {
  // Teams are optional free text from submissions: the column shows only once someone names one.
  const withTeams = teams !== null
  const body = rows.slice(0, PAGE_ROWS).map((c) => h`<tr><td>${c.rank}</td><td>${who(c.publicKey, c.name)}${c.banned ? h` <span class="badge s-rejected">banned</span>` : ''}</td>
<td class="n">${signed(c.verifiedGain)}</td><td class="n">${c.merges}</td><td class="n">${c.verificationRuns}</td>${withTeams ? h`<td class="name">${c.team ?? ''}</td>` : ''}<td class="n">${c.submitted}</td><td>${byState(c)}</td>
<td class="n">${c.accepted}</td><td class="n">${c.rejected}</td><td class="n">${c.contradicted}</td></tr>`)
  const head = ['rank', 'identity', 'verified gain', 'merges', 'verification runs', ...(withTeams ? ['team'] : []), 'submitted', 'by state now', 'accepted', 'rejected', 'contradicted claims']
  const teamRows = (teams ?? []).slice(0, PAGE_ROWS).map((t, i) => h`<tr><td>${i + 1}</td><td class="name">${t.team}</td><td class="n">${signed(t.verifiedGain)}</td><td class="n">${t.merges}</td><td class="n">${t.verificationRuns}</td><td class="n">${t.members}</td></tr>`)
  return h`<h1>Contributors</h1>
<p class="lead">Ranked by verified credit: the ${manifest.metric.name} gain verifiers measured for each standing merge, never the claim. Verifiers are credited two runs per trial they attested. Everyone who submitted is listed, with each submission's state now (a stale one was never verified). Names and teams are what submitters wrote; the key is the identity.</p>
${table(head, body, 'Nobody has contributed yet.')}
${rows.length > PAGE_ROWS ? h`<p class="muted">Showing ${PAGE_ROWS} of ${rows.length}; <a href="/api/contributors.csv">contributors.csv</a> has them all.</p>` : ''}
${withTeams ? h`<h2>Teams</h2>${table(['rank', 'team', 'verified gain', 'merges', 'verification runs', 'members'], teamRows, '')}` : ''}`
}

const candidateRow = (c: CandidateSummary, withReason: boolean, position?: number): Html => h`<tr>
${position === undefined ? '' : h`<td>${position}</td>`}<td>${candidateLink(c.seq)}</td><td>${stateBadge(c.state)}</td><td class="text">${c.description}</td><td>${who(c.submitter, c.submitterName)}</td>
<td class="n">${num(c.claimedMetric)}</td><td class="n">${num(c.verifiedMetric)}</td>${withReason ? h`<td class="text">${c.reason ?? ''}</td>` : h`<td>${when(c.receivedAt)}</td>`}</tr>`

export function queuePage (q: QueueView, manifest: Manifest): Html {
  const m = manifest.metric.name
  return h`<h1>Queue</h1>
<p class="lead">Pending candidates wait in the order verifiers lease them: the best claim first, but a later claim jumps an earlier one only when it is better by more than ${num(manifest.verification.minImprovement)}.</p>
<h2>Pending <small>(${q.pending.length})</small></h2>
${table(['#', 'candidate', 'state', 'change', 'who', `claimed ${m}`, `verified ${m}`, 'received'], q.pending.slice(0, PAGE_ROWS).map((c, i) => candidateRow(c, false, i + 1)), 'Nothing is waiting for verification.')}
${more(q.pending.length)}
<h2>Accepted <small>(${q.mergedTotal})</small></h2>
${table(['candidate', 'state', 'change', 'who', `claimed ${m}`, `verified ${m}`, 'received'], q.merged.map((c) => candidateRow(c, false)), 'No candidate has been merged yet.')}
${more(q.mergedTotal, q.merged.length)}
<h2>Rejected, stale, rebased and reverted <small>(${q.closedTotal})</small></h2>
${table(['candidate', 'state', 'change', 'who', `claimed ${m}`, `verified ${m}`, 'reason'], q.closed.map((c) => candidateRow(c, true)), 'None yet.')}
${more(q.closedTotal, q.closed.length)}`
}

export function aboutPage (v: { cause: string, join: string, multiaddrs: string[], manifest: Manifest }): Html {
  const ver = v.manifest.verification
  return h`<h1>Join ${v.cause}</h1>
<p class="lead">${lendLine(v.manifest.requires.gpu)}${v.manifest.requires.gpu ? ' (this cause needs one)' : ''}: your agent proposes edits, runs short fixed-budget experiments, and submits what helps. Verified improvements are merged and credited to you on the <a href="/contributors">leaderboard</a>.</p>
<h2>Run a worker</h2>
<pre class="cmd">${v.join}</pre>
${v.multiaddrs.length > 1 ? h`<p>This coordinator listens on:</p><ul class="files">${v.multiaddrs.map((a) => h`<li><code>${a}</code></li>`)}</ul>` : ''}
<p>The worker needs Node 20 or newer and a little disk space for the cause. Candidate code runs in a sandbox on your machine; your agent's API keys never reach it. See <code>docs/volunteers.md</code>.</p>
<h2>How verification works</h2>
<ol>
<li>A submission is checked at once: signature, replay, only editable files (${v.manifest.editable.map((p) => h`<code>${p}</code> `)}) changed, sizes, quota.</li>
<li>Verifiers re-run baseline and candidate with the same ${ver.trials} seed(s), chosen by the coordinator after the receipt; ${ver.quorum} verifier(s), never the submitter, attest each round.</li>
<li>The candidate is accepted when a one-sided paired t-test says its mean improvement beats ${num(ver.minImprovement)} at confidence ${roundConfidence(v.manifest, 1, MAX_ROUNDS)}${ver.sequential?.accept === undefined ? '' : h`, or, before the last pair, when the pairs so far show it beyond doubt (early acceptance spends ${ver.sequential.accept} of the ${num(1 - ver.confidence)} false-acceptance rate)`}. Near-ties and disagreements get up to ${MAX_ROUNDS - 1} more rounds on fresh seeds, each testing every pair so far at confidence ${roundConfidence(v.manifest, 2, MAX_ROUNDS)}: over all its rounds, a candidate without that gain is accepted at most ${num(1 - ver.confidence)} of the time.</li>
<li>An accepted candidate is merged into the best and announced to every worker. Credit is the verified gain, never the claim; contradicted claims cost quota.</li>
</ol>
<p>Details: <code>docs/trust.md</code> (trust model), <code>docs/protocol.md</code> (wire protocol), <code>docs/api.md</code> (this site's JSON, CSV and TSV).</p>`
}

export function notFoundPage (what: string): Html {
  return h`<h1>Not found</h1><p class="lead">${what}</p><p><a href="/">Back to the overview</a> · <a href="/queue">the queue</a></p>`
}
