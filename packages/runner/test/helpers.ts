import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseManifestText, type Manifest } from '@autoresearch/protocol'

export const TOY_DIR = fileURLToPath(new URL('../../../examples/toy-regression/', import.meta.url))
export const TOY_FILES = fs.readdirSync(TOY_DIR).filter((f) => fs.statSync(join(TOY_DIR, f)).isFile())

export function toyManifest (): Manifest {
  return parseManifestText(fs.readFileSync(join(TOY_DIR, 'autoresearch.json'), 'utf8'))
}

const made: string[] = []

export function tempDir (prefix = 'ar-runner-test-'): string {
  const dir = fs.mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

export function removeTempDirs (): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
}

/** A copy of the toy cause with some files replaced. */
export function toyVariant (overrides: Record<string, string> = {}): string {
  const dir = tempDir('ar-cause-')
  for (const f of TOY_FILES) fs.copyFileSync(join(TOY_DIR, f), join(dir, f))
  for (const [path, content] of Object.entries(overrides)) fs.writeFileSync(join(dir, path), content)
  return dir
}

export function toyTrain (): string {
  return fs.readFileSync(join(TOY_DIR, 'train.py'), 'utf8')
}

/** Alive and not a zombie: an orphan killed here may wait a while for init to reap it. */
export function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/**
 * Live processes started by a trial under `scratchRoot`: their environment names an out dir
 * there (none backend) or inside a sandbox (bwrap, docker). Tests here run one at a time,
 * so a sandboxed process alive after its trial returned is a leftover of that trial.
 */
export function trialProcesses (scratchRoot: string): Array<{ pid: number, cmdline: string }> {
  const found: Array<{ pid: number, cmdline: string }> = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name) || Number(name) === process.pid) continue
    let environ: string
    try {
      environ = fs.readFileSync(`/proc/${name}/environ`, 'utf8')
    } catch {
      continue
    }
    const out = environ.split('\0').find((v) => v.startsWith('AUTORESEARCH_OUT='))?.slice('AUTORESEARCH_OUT='.length)
    if (out === undefined) continue
    // Inside a sandbox every trial sees /autoresearch/out: count only those whose
    // sandbox (an ancestor's command line) names this test's scratch root, so
    // trials of other test runs on the same machine are not mistaken for leftovers.
    if (!out.startsWith(scratchRoot) && !(out.startsWith('/autoresearch/') && ancestorMentions(Number(name), scratchRoot))) continue
    if (!processAlive(Number(name))) continue
    const cmdline = (() => { try { return fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() } catch { return '?' } })()
    found.push({ pid: Number(name), cmdline })
  }
  return found
}

function ancestorMentions (pid: number, text: string): boolean {
  let current = pid
  for (let depth = 0; depth < 16 && current > 1; depth++) {
    try {
      if (fs.readFileSync(`/proc/${current}/cmdline`, 'utf8').includes(text)) return true
      const stat = fs.readFileSync(`/proc/${current}/stat`, 'utf8')
      current = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    } catch {
      return false
    }
  }
  return false
}

export function killProcesses (pids: number[]): void {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL') } catch {}
  }
}
