/** How long a view may be served unchanged even when the database did not change: some figures are per hour. */
const MAX_AGE_MS = 10_000
const MAX_ENTRIES = 500

/** Memoises the site's views until the store's version changes, and at most MAX_AGE_MS. */
export class ViewCache {
  readonly #version: () => string
  readonly #entries = new Map<string, { version: string, at: number, value: unknown }>()

  constructor (version: () => string) {
    this.#version = version
  }

  get<T> (key: string, fn: () => T): T {
    const version = this.#version()
    const hit = this.#entries.get(key)
    // The entry under `key` was made by the same `fn`, so it holds a T.
    if (hit !== undefined && hit.version === version && Date.now() - hit.at < MAX_AGE_MS) return hit.value as T
    if (this.#entries.size > MAX_ENTRIES) this.#entries.clear()
    const value = fn()
    this.#entries.set(key, { version, at: Date.now(), value })
    return value
  }
}
