import { InvalidMessageError } from './errors.ts'

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, numbers as
 * ECMAScript prints them. The same value always gives the same bytes, so a
 * signature made on one machine verifies on another.
 */
export function canonicalJson (value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean': return value ? 'true' : 'false'
    case 'string': return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidMessageError('non-finite numbers cannot be signed')
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
    }
    default:
      throw new InvalidMessageError(`cannot encode a ${typeof value} canonically`)
  }
}

export function canonicalBytes (value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value))
}
