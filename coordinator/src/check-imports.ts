import { posix } from 'node:path'
import { isEditable, type Manifest } from '@autoresearch/protocol'

/** A frozen step's Python code importing an editable file: missing where that step runs. */
export interface FrozenImport {
  step: 'prepare' | 'evaluate'
  /** The protected file holding the import, and the 1-based line of the statement. */
  file: string
  line: number
  statement: string
  /** The editable path the import resolves to (a file, or a directory written with "/"). */
  target: string
  /** Protected files imported on the way from the step's script to `file` (empty when `file` is the script). */
  via: string[]
}

interface ImportStatement {
  line: number
  statement: string
  /** Dotted module, leading dots counted in `level` (`from ..a import b`: module "a", level 2). */
  module: string
  level: number
  /** Names after `from … import` (submodules, perhaps). */
  names: string[]
}

const IMPORT = /^\s*import\s+(.+)$/
const FROM = /^\s*from\s+(\.*)([\w.]*)\s+import\s+(.+)$/
/** Imports by name in a string: importlib.import_module("x"), __import__("x"), runpy.run_module("x"). */
const DYNAMIC = /\b(?:import_module|__import__|run_module)\(\s*['"]([\w.]+)['"]/g
/** A script run by path: runpy.run_path("x.py"), exec(open("x.py").read()). */
const BY_PATH = /\b(?:run_path|open)\(\s*['"]([\w./-]+\.py)['"]/g

/**
 * The import statements of Python source, by line. Statements spread over lines with
 * parentheses or backslashes are joined; triple-quoted strings and comments are skipped
 * (roughly: a line that opens or closes a docstring is skipped with it).
 */
export function pythonImports (source: string): ImportStatement[] {
  const lines = source.split('\n')
  const out: ImportStatement[] = []
  let inString: string | null = null
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string
    const quotes = [...raw.matchAll(/"""|'''/g)].map((m) => m[0])
    if (inString !== null) {
      if (quotes.includes(inString)) inString = null
      continue
    }
    if (quotes.length % 2 === 1) { inString = quotes[0] as string; continue }
    let text = raw.replace(/#.*$/, '')
    const start = i
    while ((/\\\s*$/.test(text) || (text.includes('(') && !text.includes(')'))) && i + 1 < lines.length) {
      text = text.replace(/\\\s*$/, ' ') + ' ' + (lines[++i] as string).replace(/#.*$/, '')
    }
    const statement = text.replace(/\s+/g, ' ').trim()
    for (const m of statement.matchAll(DYNAMIC)) out.push({ line: start + 1, statement, module: m[1] as string, level: 0, names: [] })
    const from = FROM.exec(statement)
    if (from !== null) {
      const names = (from[3] as string).replace(/[()]/g, '').split(',').map((n) => n.trim().split(/\s+as\s+/)[0]?.trim() ?? '').filter((n) => /^\w+$/.test(n))
      out.push({ line: start + 1, statement, module: from[2] as string, level: (from[1] as string).length, names })
      continue
    }
    const imp = IMPORT.exec(statement)
    if (imp !== null) {
      for (const part of (imp[1] as string).split(',')) {
        const module = part.trim().split(/\s+as\s+/)[0]?.trim() ?? ''
        if (/^[\w.]+$/.test(module)) out.push({ line: start + 1, statement, module, level: 0, names: [] })
      }
    }
  }
  return out
}

/** Paths a script names to run (`runpy.run_path`, `exec(open(…))`), by line. */
function scriptsByPath (source: string): Array<{ line: number, statement: string, path: string }> {
  return source.split('\n').flatMap((text, i) => [...text.matchAll(BY_PATH)].map((m) => ({ line: i + 1, statement: text.trim(), path: m[1] as string })))
}

/**
 * Every import in the Python code the prepare and evaluate steps run that resolves to an
 * editable file or directory, following imports of protected modules too. Those steps run
 * only the protected files, so such an import fails there after a whole train; and were
 * the file there, a candidate could change its own data or score. Resolution follows
 * Python's: absolute imports from the script's directory (the cause root for `-m`),
 * packages' `__init__.py`, namespace directories, `from pkg import submodule`, relative
 * imports from the importing file's package. Modules not in the cause (the standard
 * library, installed packages) are not followed.
 */
export function frozenStepImports (manifest: Pick<Manifest, 'editable' | 'prepare' | 'evaluate'>, files: readonly string[], read: (path: string) => string): FrozenImport[] {
  const all = new Set(files)
  const isDir = (dir: string): boolean => files.some((f) => f.startsWith(`${dir}/`))
  const editable = (path: string): boolean => isEditable(manifest, path)
  const found: FrozenImport[] = []
  for (const step of ['prepare', 'evaluate'] as const) {
    const command = manifest[step]?.command ?? []
    const entries: Array<{ file: string, root: string }> = []
    const m = command.indexOf('-m')
    if (m >= 0 && command[m + 1] !== undefined) {
      const last = resolveModule(command[m + 1] as string, '', all, isDir).paths.at(-1)
      if (last !== undefined && !last.endsWith('/')) entries.push({ file: last, root: '' })
    }
    for (const arg of command.slice(1)) {
      const file = posix.normalize(arg.replace(/^\.\//, ''))
      if (file.endsWith('.py') && all.has(file) && !editable(file)) entries.push({ file, root: posix.dirname(file) === '.' ? '' : posix.dirname(file) })
    }
    for (const entry of entries) {
      const seen = new Set<string>([entry.file])
      const queue: Array<{ file: string, via: string[] }> = [{ file: entry.file, via: [] }]
      while (queue.length > 0) {
        const { file, via } = queue.shift() as { file: string, via: string[] }
        const source = read(file)
        const report = (line: number, statement: string, target: string): void => {
          // One problem per statement: `from pkg import a, b` names the first editable path it reaches.
          if (!found.some((f) => f.step === step && f.file === file && f.line === line)) found.push({ step, file, line, statement, target, via })
        }
        for (const imp of pythonImports(source)) {
          const base = imp.level === 0 ? entry.root : packageOf(file, imp.level)
          if (base === null) continue
          const { paths, packageDir } = resolveModule(imp.module, base, all, isDir)
          // `from pkg import name`: name may be a submodule.
          if (packageDir !== null) for (const name of imp.names) paths.push(...resolveModule(name, packageDir, all, isDir).paths)
          for (const path of paths) {
            if (editable(path)) report(imp.line, imp.statement, path)
            else if (path.endsWith('.py') && !seen.has(path)) { seen.add(path); queue.push({ file: path, via: [...via, file] }) }
          }
        }
        for (const run of scriptsByPath(source)) {
          const path = posix.normalize(posix.join(entry.root, run.path))
          if (editable(path)) report(run.line, run.statement, path)
        }
      }
    }
  }
  return found
}

/** The directory a relative import of `level` dots in `file` starts from, or null above the root. */
function packageOf (file: string, level: number): string | null {
  let dir = posix.dirname(file)
  for (let i = 1; i < level; i++) {
    if (dir === '.') return null
    dir = posix.dirname(dir)
  }
  return dir === '.' ? '' : dir
}

/**
 * The cause's paths that importing dotted `module` from `root` touches: each package's
 * `__init__.py` (a namespace package as "dir/"), then the module's file. Stops where the
 * cause has nothing of that name (the rest is outside the cause, or an attribute).
 * `packageDir`: the directory whose submodules `from module import name` may load, when
 * the whole of `module` resolved to a package (`root` itself for `from . import name`).
 */
function resolveModule (module: string, root: string, files: Set<string>, isDir: (dir: string) => boolean): { paths: string[], packageDir: string | null } {
  const paths: string[] = []
  let dir = root
  for (const part of module.split('.').filter((p) => p !== '')) {
    const path = dir === '' ? part : `${dir}/${part}`
    if (files.has(`${path}.py`)) { paths.push(`${path}.py`); return { paths, packageDir: null } }
    if (files.has(`${path}/__init__.py`)) paths.push(`${path}/__init__.py`)
    else if (isDir(path)) paths.push(`${path}/`)
    else return { paths, packageDir: null }
    dir = path
  }
  return { paths, packageDir: dir }
}

/** One line for a person: where the import is, what it reaches, and the fix. */
export function describeFrozenImport (f: FrozenImport, manifest: Pick<Manifest, 'editable'>): string {
  const entry = manifest.editable.find((e) => isEditable({ editable: [e] }, f.target)) ?? f.target
  const chain = f.via.length === 0 ? '' : ` (imported by ${[...f.via].reverse().join(', imported by ')})`
  return `the ${f.step} step's ${f.file}${chain}, line ${f.line}: "${f.statement}" imports ${f.target}, which is editable ("${entry}"): the ${f.step} step runs only the protected files, so this fails there after a whole train (and could let a candidate change its own ${f.step === 'evaluate' ? 'score' : 'data'}); move what it needs into a protected file`
}
