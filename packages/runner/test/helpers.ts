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
