import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import { AutoresearchError } from '@autoresearch/protocol'

/** A template was given a promise: ours render synchronously, so this is a bug in the site's code. */
export class AsyncTemplateError extends AutoresearchError { override name = 'AsyncTemplateError' }

/** Escaped HTML. Only `h` (and raw() on text this code wrote itself) makes one. */
export type Html = HtmlEscapedString

/**
 * hono's `html` tag: every interpolated string is escaped (& < > " '), arrays are
 * joined, and values that are already Html pass through. No promise is ever
 * interpolated here, so the result is synchronous.
 */
export function h (strings: TemplateStringsArray, ...values: unknown[]): Html {
  const out = html(strings, ...values)
  if (out instanceof Promise) throw new AsyncTemplateError('site templates must be synchronous')
  return out
}

export { raw }

/** Metric figures with 6 significant digits; a dash for none. */
export const num = (n: number | null | undefined, digits = 6): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '—' : String(Number.parseFloat(n.toPrecision(digits)))

export const signed = (n: number | null | undefined): string => n === null || n === undefined ? '—' : `${n > 0 ? '+' : ''}${num(n, 4)}`

export const when = (ms: number | null | undefined): Html => {
  if (ms === null || ms === undefined) return h`—`
  const iso = new Date(ms).toISOString()
  return h`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`
}

export const shortKey = (key: string): string => key.slice(0, 12)
export const shortOid = (oid: string): string => oid.slice(0, 10)

/**
 * A public key, shortened, with the whole key in its title; after the name its owner
 * gave, if any (free text: a name alone could impersonate, so the key always shows).
 */
export const who = (key: string | null, name: string | null = null): Html => key === null
  ? h`—`
  : h`${name === null ? '' : h`<span class="name">${name}</span> `}<code class="key" title="${key}">${shortKey(key)}</code>`

export const stateBadge = (state: string): Html => h`<span class="badge s-${state}">${state}</span>`

export const candidateLink = (seq: number | null): Html => seq === null ? h`—` : h`<a href="/candidates/${seq}">#${seq}</a>`
export const commitLink = (oid: string | null): Html => oid === null ? h`—` : h`<a href="/commits/${oid}"><code>${shortOid(oid)}</code></a>`

/** Wraps a table so a narrow screen scrolls it instead of breaking the layout. */
export const table = (head: string[], rows: Html[], empty: string): Html => rows.length === 0
  ? h`<p class="empty">${empty}</p>`
  : h`<div class="scroll"><table><thead><tr>${head.map((c) => h`<th>${c}</th>`)}</tr></thead><tbody>${rows}</tbody></table></div>`
