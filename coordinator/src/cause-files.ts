import * as fs from 'node:fs'
import { join } from 'node:path'

/** What `check` and `init` skip in a cause directory: git's own files and build leftovers. */
const IGNORED = new Set(['.git', '__pycache__', 'node_modules', '.DS_Store'])

export interface CauseListing {
  /** Regular files, by relative path with forward slashes, sorted. */
  files: string[]
  /** Symbolic links (a cause may hold none). */
  links: string[]
}

/** The files of a cause directory as `init` commits them and `check` checks them. */
export function listCause (root: string): CauseListing {
  const out: CauseListing = { files: [], links: [] }
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(join(root, rel), { withFileTypes: true })) {
      if (IGNORED.has(e.name) || e.name.endsWith('.pyc')) continue
      const path = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isSymbolicLink()) out.links.push(path)
      else if (e.isDirectory()) walk(path)
      else if (e.isFile()) out.files.push(path)
    }
  }
  walk('')
  out.files.sort()
  return out
}
