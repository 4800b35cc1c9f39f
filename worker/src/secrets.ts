import { AutoresearchError } from '@autoresearch/protocol'

/**
 * A candidate that carries the volunteer's own secrets is never sent: an agent that obeys
 * text found in a cause (program.md, code comments) can be told to copy them into a file.
 */
export class SecretLeakError extends AutoresearchError {
  override name = 'SecretLeakError'
}

/** One secret as it may appear in a file; `label` names it in messages, the value never is. */
export interface Secret { label: string, value: string, anyCase?: boolean }

/** One changed file of a candidate: its text before (absent when new) and after. */
export interface FileChange { path: string, before?: string, after: string }

export interface Leak { label: string, path: string }

/** Values shorter than this are too common to call secret (and too short to matter). */
export const MIN_SECRET_CHARS = 8
const NOT_SECRET = new Set(['true', 'false', 'null', 'none', 'undefined', 'disabled', 'enabled'])
/** A name part that marks a variable as secret: OPENAI_API_KEY, HF_TOKEN, AWS_SECRET_ACCESS_KEY, DB_PASSWORD. */
const SECRET_PART = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)S?$/

export function looksSecretName (name: string): boolean {
  return name.toUpperCase().split(/[^A-Z0-9]+/).some((part) => SECRET_PART.test(part))
}

function worthScanning (value: string): boolean {
  const v = value.trim()
  return v.length >= MIN_SECRET_CHARS && !NOT_SECRET.has(v.toLowerCase()) && new Set(v).size > 2
}

/**
 * The identity key in every form it is stored or easily re-encoded in: hex (the key
 * file's JSON holds the 64-byte secret key as hex, whose first half is the seed), and
 * base64/base64url at each of the three byte alignments a longer encoding could put it.
 */
export function identitySecrets (seed: Uint8Array): Secret[] {
  const bytes = Buffer.from(seed)
  const out: Secret[] = [{ label: 'your identity key', value: bytes.toString('hex'), anyCase: true }]
  for (let skip = 0; skip < 3; skip++) {
    const whole = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3)
    for (const encoding of ['base64', 'base64url'] as const) out.push({ label: 'your identity key', value: whole.toString(encoding) })
  }
  return out
}

/** The environment values that look secret: by name, or named by the volunteer (an agent's API key variable). */
export function environmentSecrets (env: Record<string, string | undefined>, alsoSecret: string[] = []): Secret[] {
  const named = new Set(alsoSecret)
  const out: Secret[] = []
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !(named.has(name) || looksSecretName(name)) || !worthScanning(value)) continue
    out.push({ label: `$${name}`, value: value.trim() })
  }
  return out
}

function count (text: string, needle: string): number {
  let n = 0
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) n++
  return n
}

/**
 * Which secrets a candidate adds: a secret counts when a changed file holds it more often
 * than the parent's version did, so a value the cause already contained is not a leak.
 */
export function findLeaks (changes: FileChange[], secrets: Secret[]): Leak[] {
  const leaks: Leak[] = []
  for (const change of changes) {
    const lower = { before: change.before?.toLowerCase() ?? '', after: change.after.toLowerCase() }
    const seen = new Set<string>()
    for (const s of secrets) {
      if (seen.has(s.label)) continue
      const added = s.anyCase === true
        ? count(lower.after, s.value.toLowerCase()) > count(lower.before, s.value.toLowerCase())
        : count(change.after, s.value) > count(change.before ?? '', s.value)
      if (added) {
        seen.add(s.label)
        leaks.push({ label: s.label, path: change.path })
      }
    }
  }
  return leaks
}

/** Throws SecretLeakError naming each secret and where it is, never its value. */
export function assertNoLeaks (candidate: string, changes: FileChange[], secrets: Secret[]): void {
  const leaks = findLeaks(changes, secrets)
  if (leaks.length === 0) return
  const where = leaks.map((l) => `${l.label} in ${l.path}`).join(', ')
  throw new SecretLeakError(`candidate ${candidate.slice(0, 10)} contains ${where}; it is not sent, and the local work built on it is dropped. ` +
    'An agent copied a secret into the code, perhaps on instructions in the cause\'s text; check what your agent can read')
}

/**
 * A path on this machine: absolute, in the home (`~/`) or on a drive (`C:\`), or a file URL,
 * standing where a word starts. A relative path (`src/model.py`) is the cause's and stays.
 */
const LOCAL_PATH = /(?<=^|[\s'"`(=:,[])(?:file:\/\/)?(?:~|[A-Za-z]:)?(?:[\\/][^\s\\/'"`:;,()[\]<>]+)+[\\/]?/g
/** Last components that may stand alone: a file name with its extension, or a program deep in a tree (`/usr/bin/python3`). */
const keepLast = (parts: string[]): boolean => parts.length >= 3 || /\.[A-Za-z0-9]{1,8}$/.test(parts.at(-1) ?? '')

/**
 * The one form in which a description leaves the machine (results shared with the network, claims,
 * submissions): one line, at most `max` characters, and no path of this machine in it (a
 * volunteer's home, user name or tree layout), each cut to its file name (`/home/ann/tweak.sh`:
 * `tweak.sh`) or, when that would be a directory such as the home, to `<path>`.
 */
export function publicText (text: string, max = 300): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  const scrubbed = oneLine.replace(LOCAL_PATH, (path) => {
    const parts = path.replace(/^file:\/\//, '').split(/[\\/]+/).filter((p) => p !== '' && p !== '~' && !/^[A-Za-z]:$/.test(p))
    return keepLast(parts) ? parts.at(-1) as string : '<path>'
  })
  return scrubbed.slice(0, max)
}
