import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { buildPrompt } from './edits.ts'
import type { Agent, AgentContext, Proposal } from './types.ts'

export interface CommandAgentOptions {
  /** Shell command of a CLI coding agent, e.g. `claude -p`, `codex exec`, `opencode run`, or a script. */
  command: string
  timeoutMs?: number
  /** Called with the paths the agent changed outside the editable files (those changes are dropped). */
  onReverted?: (paths: string[]) => void
}

function listFiles (dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name)
      if (e.isDirectory()) walk(full)
      else if (e.isFile()) out.push(relative(dir, full).split(sep).join('/'))
    }
  }
  walk(dir)
  return out
}

/**
 * Runs a CLI coding agent in a fresh work tree of the local best. The prompt is the
 * last argument, on stdin and in AUTORESEARCH_PROMPT_FILE. Only changes to editable
 * files become the proposal; anything else it touched is reported and dropped.
 * The agent runs with the volunteer's environment (its API keys) but never sees the
 * worker's identity key, which lives outside the work tree.
 */
export function commandAgent (opts: CommandAgentOptions): Agent {
  return {
    name: 'command',
    async propose (ctx: AgentContext): Promise<Proposal | null> {
      const dir = fs.mkdtempSync(join(tmpdir(), 'autoresearch-agent-'))
      try {
        await ctx.checkout(dir)
        const before = new Map(listFiles(dir).map((p) => [p, fs.readFileSync(join(dir, p), 'utf8')]))
        const prompt = `${buildPrompt(ctx)}\nEdit the files in the current directory directly. Finish with one line "DESCRIPTION: <what you changed>".`
        const promptFile = join(tmpdir(), `autoresearch-prompt-${process.pid}-${Date.now()}.md`)
        fs.writeFileSync(promptFile, prompt)
        let output: string
        try {
          output = await run(opts.command, prompt, promptFile, dir, opts.timeoutMs ?? 30 * 60_000, ctx.signal)
        } finally {
          fs.rmSync(promptFile, { force: true })
        }
        const after = listFiles(dir)
        const changed = new Set([...after.filter((p) => before.get(p) !== fs.readFileSync(join(dir, p), 'utf8')), ...[...before.keys()].filter((p) => !after.includes(p))])
        const editable = new Set(ctx.manifest.editable)
        const reverted = [...changed].filter((p) => !editable.has(p))
        if (reverted.length > 0) opts.onReverted?.(reverted.sort())
        const edits: Record<string, string> = {}
        for (const p of changed) if (editable.has(p) && fs.existsSync(join(dir, p))) edits[p] = fs.readFileSync(join(dir, p), 'utf8')
        if (Object.keys(edits).length === 0) return null
        const description = output.match(/^DESCRIPTION:\s*(.+)$/m)?.[1]?.trim().slice(0, 300) ?? `${opts.command.split(' ')[0]} edited ${Object.keys(edits).join(', ')}`
        return { edits, description }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

async function run (command: string, prompt: string, promptFile: string, cwd: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${command} "$AUTORESEARCH_PROMPT"`], {
      cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, AUTORESEARCH_PROMPT: prompt, AUTORESEARCH_PROMPT_FILE: promptFile }
    })
    let output = ''
    const keep = (chunk: Buffer): void => { output = (output + chunk.toString('utf8')).slice(-64 * 1024) }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.stdin.on('error', () => {})
    child.stdin.end(prompt)
    const kill = (): void => { try { process.kill(-(child.pid as number), 'SIGKILL') } catch {} }
    const timer = setTimeout(kill, timeoutMs)
    signal?.addEventListener('abort', kill, { once: true })
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      kill()
      if (signal?.aborted === true) reject(new Error('aborted'))
      else if (sig !== null || code !== 0) reject(new Error(`agent command exited ${sig ?? code}: ${output.slice(-500)}`))
      else resolve(output)
    })
  })
}
