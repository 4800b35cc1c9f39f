import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import * as fs from 'node:fs'
import git from 'isomorphic-git'
import { describe, expect, it } from 'vitest'
import { changedPaths, exportPack, importPack, objectsMissing, writeTreeTo } from '../src/index.ts'
import { makeRepo, tempDir } from './helpers.ts'

const files = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`src/file${i}.txt`, `content ${i}\n`]))

describe('git packs', () => {
  it('sends only the objects the other side lacks', async () => {
    const base = files(20)
    const { gitdir, commits } = await makeRepo([{ ...base, 'train.py': 'LR = 1\n' }, { 'train.py': 'LR = 2\n' }])
    const [first, second] = commits as [string, string]
    const all = await objectsMissing(gitdir, second, [])
    const incremental = await objectsMissing(gitdir, second, [first])
    // first: 1 commit + root tree + src tree + 21 blobs; second adds 1 commit, 1 root tree, 1 blob.
    expect(all.length).toBe(24 + 3)
    expect(incremental.length).toBe(3)

    const receiver = tempDir()
    await git.init({ fs, dir: receiver, bare: true })
    const full = await importPack(receiver, await exportPack(gitdir, await objectsMissing(gitdir, first, [])), { maxBytes: 1 << 20 })
    expect(full.objects).toBe(24)
    const inc = await importPack(receiver, await exportPack(gitdir, incremental), { maxBytes: 1 << 20 })
    expect(inc.objects).toBe(3)
    expect(await changedPaths(receiver, first, second)).toEqual([{ path: 'train.py', change: 'modified' }])
    const out = tempDir()
    await writeTreeTo(receiver, second, out)
    expect(fs.readFileSync(join(out, 'train.py'), 'utf8')).toBe('LR = 2\n')
    expect(fs.readFileSync(join(out, 'src/file7.txt'), 'utf8')).toBe('content 7\n')
  })

  it('refuses a pack with a corrupted object and leaves no pack behind', async () => {
    const { gitdir, commits } = await makeRepo([{ 'train.py': 'LR = 1\n'.repeat(50) }])
    const pack = await exportPack(gitdir, await objectsMissing(gitdir, commits[0] as string, []))
    const receiver = tempDir()
    await git.init({ fs, dir: receiver, bare: true })
    const corrupted = Uint8Array.from(pack)
    corrupted[40] = (corrupted[40] as number) ^ 0xff
    await expect(importPack(receiver, corrupted, { maxBytes: 1 << 20 })).rejects.toMatchObject({ name: 'CorruptPackError' })
    const packDir = join(receiver, 'objects', 'pack')
    expect(existsSync(packDir) ? readdirSync(packDir) : []).toEqual([])
    await expect(importPack(receiver, pack.subarray(0, 10), { maxBytes: 1 << 20 })).rejects.toMatchObject({ name: 'CorruptPackError' })
    await expect(importPack(receiver, pack, { maxBytes: 16 })).rejects.toMatchObject({ name: 'PackTooLargeError' })
  })

  it('refuses symlinks in trees', async () => {
    const { dir, gitdir, commits } = await makeRepo([{ 'train.py': 'x = 1\n' }])
    const blob = await git.writeBlob({ fs, gitdir, blob: new TextEncoder().encode('/etc/passwd') })
    const base = await git.readTree({ fs, gitdir, oid: (await git.readCommit({ fs, gitdir, oid: commits[0] as string })).commit.tree })
    const tree = await git.writeTree({ fs, gitdir, tree: [...base.tree, { mode: '120000', path: 'link', oid: blob, type: 'blob' }] })
    const commit = await git.writeCommit({ fs, gitdir, commit: { tree, parent: [commits[0] as string], author: { name: 'a', email: 'a', timestamp: 1, timezoneOffset: 0 }, committer: { name: 'a', email: 'a', timestamp: 1, timezoneOffset: 0 }, message: 'x' } })
    expect(dir).toBeTruthy()
    await expect(changedPaths(gitdir, commits[0] as string, commit)).rejects.toMatchObject({ name: 'ForbiddenEntryError' })
  })
})
