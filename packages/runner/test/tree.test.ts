import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chownOwnTree, measureAndShare, removeOwnTree } from '../src/tree.ts'
import { removeTempDirs, tempDir } from './helpers.ts'

afterAll(removeTempDirs)

const root = process.getuid?.() === 0
// As root the trees go to a user nobody has; otherwise chown can only name the runner's own.
const owner = root ? { uid: 54_321, gid: 54_321 } : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }

/** 30 × 200-byte names (past PATH_MAX, 4096) below `start`, made by relative steps as a step could, with a file at the bottom. */
function deepChain (start: string): void {
  execFileSync('python3', ['-c', 'import os, sys\nos.chdir(sys.argv[1])\nfor i in range(30):\n    os.mkdir("d" * 200)\n    os.chdir("d" * 200)\nopen("f", "w").write("bottom")', start])
}

/** The owner of the file at the bottom of deepChain, read by a walk that goes by file descriptor. */
function bottomOwner (start: string): string {
  return execFileSync('find', [start, '-name', 'f', '-printf', '%U:%G'], { encoding: 'utf8' })
}

describe('trees the runner wrote itself', () => {
  it('chownOwnTree hands every entry over, a symlink itself and never what it points to', () => {
    const dir = tempDir()
    const outside = join(tempDir(), 'outside')
    fs.writeFileSync(outside, 'not the tree\'s')
    fs.mkdirSync(join(dir, 'a', 'b'), { recursive: true })
    fs.writeFileSync(join(dir, 'a', 'b', 'file'), 'x')
    fs.symlinkSync(outside, join(dir, 'a', 'link'))
    const before = fs.statSync(outside)
    return chownOwnTree([dir], owner.uid, owner.gid).then(() => {
      for (const p of [dir, join(dir, 'a'), join(dir, 'a', 'b'), join(dir, 'a', 'b', 'file'), join(dir, 'a', 'link')]) {
        expect([fs.lstatSync(p).uid, fs.lstatSync(p).gid], p).toEqual([owner.uid, owner.gid])
      }
      expect([fs.statSync(outside).uid, fs.statSync(outside).gid]).toEqual([before.uid, before.gid])
    })
  })

  it('a tree past PATH_MAX is left to chown(1) and rm(1), which reach its bottom', async () => {
    const dir = tempDir()
    deepChain(dir)
    await chownOwnTree([dir], owner.uid, owner.gid)
    expect(bottomOwner(dir)).toBe(`${owner.uid}:${owner.gid}`)
    expect(await removeOwnTree(dir)).toBeUndefined()
    expect(fs.existsSync(dir)).toBe(false)
  })

  it('removeOwnTree removes a tree in-process and says nothing', async () => {
    const dir = tempDir()
    fs.mkdirSync(join(dir, 'x', 'y'), { recursive: true })
    fs.writeFileSync(join(dir, 'x', 'y', 'z'), 'z')
    expect(await removeOwnTree(dir)).toBeUndefined()
    expect(fs.existsSync(dir)).toBe(false)
  })
})

describe('measureAndShare', () => {
  it('measures a step\'s output (a sparse file by its apparent size) and makes all of it readable, in one process', async () => {
    const dir = tempDir()
    fs.mkdirSync(join(dir, 'private'), { mode: 0o700 })
    fs.writeFileSync(join(dir, 'private', 'weights'), Buffer.alloc(5000), { mode: 0o600 })
    const sparse = fs.openSync(join(dir, 'sparse'), 'w', 0o600)
    fs.ftruncateSync(sparse, 64 * 1024 * 1024)
    fs.closeSync(sparse)
    const usage = await measureAndShare(dir)
    expect(usage.bytes).toBeGreaterThanOrEqual(64 * 1024 * 1024 + 5000)
    expect(usage.entries).toBe(3)
    expect(usage.unreadable).toBeUndefined()
    expect(fs.statSync(join(dir, 'private')).mode & 0o777).toBe(0o755)
    expect(fs.statSync(join(dir, 'private', 'weights')).mode & 0o777).toBe(0o644)
    expect(fs.statSync(join(dir, 'sparse')).mode & 0o777).toBe(0o644)
  })

  it('says why a tree cannot be made readable, with its size still measured', async () => {
    const dir = tempDir()
    fs.writeFileSync(join(dir, 'f'), 'abc')
    const usage = await measureAndShare(join(dir, 'missing'))
    expect(usage.unreadable).toMatch(/cannot make .*missing readable: .*No such file/)
    expect(usage.bytes).toBe(0)
  })
})
