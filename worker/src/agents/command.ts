import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { logger } from '@libp2p/logger'
import git from 'isomorphic-git'
import { isEditable } from '@autoresearch/protocol'
import { noneBackend, selectBackend, type SandboxBackend } from '@autoresearch/runner'
import { AgentCommandError } from '../errors.ts'
import { describeEdit } from './describe.ts'
import { buildPrompt } from './prompt.ts'
import type { Agent, AgentContext, Proposal } from './types.ts'

const log = logger('autoresearch:worker:command-agent')

export interface CommandAgentOptions {
  /** Shell command of a CLI coding agent, e.g. `claude -p`, `codex exec`, `opencode run`, or a script. */
  command: string
  timeoutMs?: number
  /** Called with the paths the agent changed outside the editable paths (those changes are dropped). */
  onReverted?: (paths: string[]) => void
  /** Variables of the volunteer's environment the agent gets (its API key, base URL); no other one passes. */
  passEnv?: string[]
  /** Host paths the agent sees read-only where they are (its installation outside the system directories). */
  expose?: string[]
  /** `bwrap`: in bubblewrap or refuse; `none`: the scrubbed environment only; default: bubblewrap where it works. */
  sandbox?: 'bwrap' | 'none'
  /** Told once, when the agent has to run without bubblewrap. */
  warn?: (message: string) => void
  /** Where `passEnv` is read from (default: process.env). */
  env?: Record<string, string | undefined>
  /** Whether the prompt also goes to the agent's stdin (default true; agents/templates.ts says per agent). */
  stdin?: boolean
  /**
   * Times an agent that ended without changing an editable file is run again in the same
   * work tree, told to go on (default 2), as autoresearch's launcher did with an agent that
   * stopped early.
   */
  reinvoke?: number
}

/** Added to the prompt when an agent is run again after it stopped without an edit. */
export const CONTINUE_PROMPT = 'Your previous run in this directory ended without changing any editable file. Continue from where you stopped and make the change now.'

/** What every agent gets: enough to find programs and print text; never HOME, keys, tokens or sockets. */
export const AGENT_BASE_ENV = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TERM', 'TZ'] as const

/** The agent's environment: the base allowlist and the variables the volunteer passes, nothing else. */
export function agentEnvironment (from: Record<string, string | undefined>, passEnv: string[] = []): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of [...AGENT_BASE_ENV, ...passEnv]) {
    const value = from[name]
    if (value !== undefined) env[name] = value
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin'
  return env
}

/** The agent program itself (and where its link points), so one installed outside /usr still starts. */
export function programPaths (command: string, path = process.env.PATH ?? ''): string[] {
  const word = command.trim().split(/\s+/)[0] ?? ''
  if (word === '') return []
  const candidates = word.includes('/') ? [resolve(word)] : path.split(delimiter).filter((d) => isAbsolute(d)).map((d) => join(d, word))
  const found = candidates.find((p) => {
    try {
      return fs.statSync(p).isFile()
    } catch (err) {
      log('agent program not at %s: %e', p, err)
      return false
    }
  })
  if (found === undefined) return []
  const real = fs.realpathSync(found)
  return real === found ? [found] : [found, real]
}

function sandboxFor (opts: CommandAgentOptions): SandboxBackend {
  const fallback = (why: string): SandboxBackend => {
    opts.warn?.(`the command agent runs WITHOUT bubblewrap (${why}): it gets only PATH, LANG and the variables of --agent-env, but it can read your files, ` +
      'including your identity key; candidates that contain your keys are still never sent')
    return noneBackend()
  }
  if (opts.sandbox === 'none') return fallback('--agent-sandbox none')
  try {
    return selectBackend({ sandbox: 'bwrap', expose: [...programPaths(opts.command), ...(opts.expose ?? [])] })
  } catch (err) {
    if (opts.sandbox === 'bwrap') throw err
    log.error('no bubblewrap for the command agent: %e', err)
    return fallback((err instanceof Error ? err.message : String(err)).split('. ')[0] ?? 'unavailable')
  }
}

/**
 * Every entry but directories, with its size; -1 for anything not a regular file, which is
 * never read: a link the agent planted must not make the worker read what the agent could not.
 */
function regularFiles (dir: string): Map<string, number> {
  const out = new Map<string, number>()
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      // The work tree's own repository (workTreeRepo) is the agent's to use, never part of a proposal.
      if (d === dir && e.name === '.git') continue
      const full = join(d, e.name)
      const rel = relative(dir, full).split(sep).join('/')
      if (e.isDirectory()) walk(full)
      else out.set(rel, e.isFile() ? fs.lstatSync(full).size : -1)
    }
  }
  walk(dir)
  return out
}

/** The agent's git identity, and leave to use a repository another uid made (bubblewrap as root runs the agent as another). */
const AGENT_GITCONFIG = '[user]\n\tname = autoresearch agent\n\temail = agent@autoresearch.invalid\n[safe]\n\tdirectory = *\n'

/**
 * Makes the work tree a git repository with the local best as its one commit, so that
 * `git diff` and `git status` inside it show the agent what it changed (CLI agents use them).
 */
async function workTreeRepo (work: string, home: string): Promise<void> {
  await git.init({ fs, dir: work, defaultBranch: 'main' })
  await git.add({ fs, dir: work, filepath: '.' })
  const author = { name: 'autoresearch', email: 'worker@autoresearch.invalid', timestamp: 0, timezoneOffset: 0 }
  await git.commit({ fs, dir: work, message: 'the local best\n', author, committer: author })
  fs.writeFileSync(join(home, '.gitconfig'), AGENT_GITCONFIG)
}

/** The agent's `DESCRIPTION:` line (its last), or else what the diff shows (never the command line: it may hold a local path). */
export function agentDescription (output: string, before: Record<string, string>, edits: Record<string, string>): string {
  const said = [...output.matchAll(/^DESCRIPTION:\s*(.+)$/gm)].at(-1)?.[1]?.trim()
  return said === undefined || said === '' ? describeEdit(before, edits) : said
}

/**
 * Runs a CLI coding agent in a fresh work tree of the local best (a git repository: `git diff`
 * shows what it changed). The prompt is the last argument, on stdin and in
 * AUTORESEARCH_PROMPT_FILE. Only changes to editable
 * paths become the proposal (new files under an editable directory included); anything
 * else it touched is reported and dropped.
 * The prompt carries the cause's own text, which may tell the agent to do anything, so
 * the agent runs in bubblewrap (network shared, for a hosted model) seeing only its work
 * tree, a scratch HOME and the system: not the volunteer's home, identity key or other
 * variables. Without bubblewrap only the environment is scrubbed; the worker's scan
 * before submitting is then what keeps keys the agent copies from leaving.
 */
export function commandAgent (opts: CommandAgentOptions): Agent {
  const backend = sandboxFor(opts)
  return {
    name: 'command',
    async propose (ctx: AgentContext): Promise<Proposal | null> {
      const root = fs.mkdtempSync(join(tmpdir(), 'autoresearch-agent-'))
      const [work, home, tmp, promptDir] = [join(root, 'work'), join(root, 'home'), join(root, 'tmp'), join(root, 'prompt')]
      try {
        for (const d of [work, home, tmp, promptDir]) fs.mkdirSync(d)
        await ctx.checkout(work)
        await workTreeRepo(work, home)
        const before = regularFiles(work)
        const prompt = `${buildPrompt(ctx)}\nEdit the files in the current directory directly. Finish with one line "DESCRIPTION: <what you changed>".`
        const promptFile = join(promptDir, 'prompt.md')
        fs.writeFileSync(promptFile, prompt)
        // Read-only mounts keep their host modes, and as root the agent runs as another uid.
        fs.chmodSync(promptDir, 0o755)
        fs.chmodSync(promptFile, 0o644)
        const contents = new Map([...before.keys()].map((p) => [p, fs.readFileSync(join(work, p), 'utf8')]))
        const timeoutMs = opts.timeoutMs ?? 30 * 60_000
        const input = opts.stdin === false ? '/dev/null' : '"$AUTORESEARCH_PROMPT_FILE"'
        const editable = (p: string): boolean => isEditable(ctx.manifest, p)
        const maxBytes = ctx.manifest.limits.maxFileBytes
        for (let run = 0; ; run++) {
          const text = run === 0 ? prompt : `${prompt}\n\n${CONTINUE_PROMPT}`
          if (run > 0) fs.writeFileSync(promptFile, text)
          const env = { ...agentEnvironment(opts.env ?? process.env, opts.passEnv), HOME: home, TMPDIR: tmp, AUTORESEARCH_PROMPT: text, AUTORESEARCH_PROMPT_FILE: promptFile }
          const outcome = await backend.run({
            command: ['/bin/sh', '-c', `${opts.command} "$AUTORESEARCH_PROMPT" < ${input}`],
            cwd: work, env, timeoutMs, writable: [work, home, tmp], readOnly: [promptDir], maxOutputBytes: 64 * 1024, network: true, devices: [], signal: ctx.signal
          })
          const tail = outcome.output.slice(-500)
          if (outcome.aborted || ctx.signal?.aborted === true) throw new AgentCommandError('aborted')
          if (outcome.sandboxError !== undefined) throw new AgentCommandError(`the agent's sandbox could not start: ${outcome.sandboxError}`)
          if (outcome.timedOut) throw new AgentCommandError(`agent command ran past ${timeoutMs / 1000} s: ${tail}`)
          if (outcome.signal !== null || outcome.exitCode !== 0) throw new AgentCommandError(`agent command exited ${outcome.signal ?? outcome.exitCode}: ${tail}`)

          const after = regularFiles(work)
          const changed = new Set([...before.keys()].filter((p) => !after.has(p)))
          for (const [p, size] of after) {
            if (size < 0 || before.get(p) !== size || contents.get(p) !== fs.readFileSync(join(work, p), 'utf8')) changed.add(p)
          }
          // A deleted, linked or oversized editable file is not a proposal the worker can commit.
          const usable = (p: string): boolean => { const size = after.get(p); return size !== undefined && size >= 0 && size <= maxBytes }
          const edits: Record<string, string> = {}
          for (const p of changed) if (editable(p) && usable(p)) edits[p] = fs.readFileSync(join(work, p), 'utf8')
          if (Object.keys(edits).length === 0 && run < (opts.reinvoke ?? 2)) {
            log('the agent stopped without an edit; running it again (%d)', run + 1)
            continue
          }
          const reverted = [...changed].filter((p) => !editable(p) || !usable(p))
          if (reverted.length > 0) opts.onReverted?.(reverted.sort())
          if (Object.keys(edits).length === 0) return null
          return { edits, description: agentDescription(outcome.output, Object.fromEntries(contents), edits) }
        }
      } finally {
        fs.rmSync(root, { recursive: true, force: true })
      }
    }
  }
}
