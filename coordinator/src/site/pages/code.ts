import type { CodeFile, CodeView, FileView } from '../queries/index.ts'
import { commitLink, h, shortOid, table, type Html } from '../html.ts'
import { MAX_FILE_CHARS } from '../queries/code.ts'

/** A link to a file of a published best: each path segment percent-encoded. */
export const fileHref = (commit: string, path: string): string => `/files/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`

const KIND: Record<CodeView['kind'], string> = { initial: 'the initial commit', best: 'the best now', past: 'a past best' }

const mark = (f: CodeFile): Html => f.editable ? h`<span class="badge s-merged">editable</span>` : h`<span class="badge">protected</span>`

/** A published best's files: what an agent may change, what is frozen, and the cause's program.md. */
export function codePage (v: CodeView): Html {
  const rows = v.files.map((f) => h`<tr><td><a href="${fileHref(v.commit, f.path)}"><code>${f.path}</code></a>${f.program ? h` <small>(the agent's instructions)</small>` : ''}</td><td>${mark(f)}</td></tr>`)
  const program = v.files.find((f) => f.program)
  const others = [
    v.kind === 'initial' ? '' : h`<a href="/files/${v.initial}">the initial commit's files</a>`,
    v.kind === 'best' ? '' : h`<a href="/files/${v.best}">the best's files now</a>`
  ].filter((x) => x !== '')
  return h`<h1>Files at <code>${shortOid(v.commit)}</code> <small>(${KIND[v.kind]})</small></h1>
<p class="lead">The cause's code at ${commitLink(v.commit)}. A volunteer's agent may change only the <strong>editable</strong> files; the <strong>protected</strong> ones (data preparation, the evaluator, the manifest, program.md) are frozen, and a candidate that changes one is refused.</p>
${program === undefined ? '' : h`<p>Start with <a href="${fileHref(v.commit, program.path)}"><code>${program.path}</code></a>: what every agent is told to try.</p>`}
${table(['file', 'may an agent change it?'], rows, 'No files could be read for this commit.')}
<p class="exports">${others.map((o, i) => h`${i > 0 ? ' · ' : ''}${o}`)}${others.length > 0 ? ' · ' : ''}<a href="/api/files/${v.commit}">JSON</a></p>`
}

/** One file as escaped text (binary files are not shown), cut at MAX_FILE_CHARS. */
export function filePage (v: FileView): Html {
  return h`<h1><code>${v.path}</code> ${mark(v)}</h1>
<p class="muted">At <a href="/files/${v.commit}"><code>${shortOid(v.commit)}</code></a> (${KIND[v.kind]}) · ${v.chars} characters · <a href="/api/files/${v.commit}/${v.path.split('/').map(encodeURIComponent).join('/')}">JSON</a></p>
${v.binary || v.text === null
    ? h`<p class="empty">Binary file; not shown.</p>`
    : h`<pre class="${/\.(md|txt)$/i.test(v.path) ? 'file prose' : 'file'}">${v.text}</pre>${v.truncated ? h`<p class="muted">Cut at ${MAX_FILE_CHARS} of its ${v.chars} characters.</p>` : ''}`}`
}
