import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import * as fs from 'node:fs'
import git from 'isomorphic-git'
import { describe, expect, it } from 'vitest'
import { changedPaths, checkPack, commitTreeOn, commitWithChanges, exportPack, fetchRules, importPack, mergeTrees, readFileAt, objectsMissing, parseManifest, submissionRules, writeTreeTo, type PackRules } from '../src/index.ts'
import { makeRepo, tempDir } from './helpers.ts'

const rules = (o: Partial<PackRules> = {}): PackRules => ({ ...fetchRules(undefined, 1 << 20), ...o })
const looseCount = (gitdir: string): number => readdirSync(join(gitdir, 'objects')).filter((d) => /^[0-9a-f]{2}$/.test(d)).reduce((n, d) => n + readdirSync(join(gitdir, 'objects', d)).length, 0)

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
    const full = await importPack(receiver, await exportPack(gitdir, await objectsMissing(gitdir, first, [])), first, rules())
    expect(full.oids.length).toBe(24)
    expect(full.added.length).toBe(24)
    const inc = await importPack(receiver, await exportPack(gitdir, incremental), second, rules())
    expect(inc.oids.length).toBe(3)
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
    await expect(importPack(receiver, corrupted, commits[0] as string, rules())).rejects.toMatchObject({ name: 'CorruptPackError' })
    const packDir = join(receiver, 'objects', 'pack')
    expect(existsSync(packDir) ? readdirSync(packDir) : []).toEqual([])
    await expect(importPack(receiver, pack.subarray(0, 10), commits[0] as string, rules())).rejects.toMatchObject({ name: 'CorruptPackError' })
    await expect(importPack(receiver, pack, commits[0] as string, rules({ maxBytes: 16 }))).rejects.toMatchObject({ name: 'PackTooLargeError' })
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

  it('stores nothing from a pack carrying objects its commit does not use, or more than the cap', async () => {
    const { gitdir, commits } = await makeRepo([{ 'train.py': 'LR = 1\n' }, { 'train.py': 'LR = 2\n' }])
    const [first, second] = commits as [string, string]
    const junk = await Promise.all(Array.from({ length: 50 }, async (_, i) => git.writeBlob({ fs, gitdir, blob: new TextEncoder().encode(`junk ${i}`) })))
    const honest = await objectsMissing(gitdir, second, [])
    const receiver = tempDir()
    await git.init({ fs, dir: receiver, bare: true })
    const laden = await exportPack(gitdir, [...honest, ...junk])
    await expect(checkPack(receiver, laden, second, rules())).rejects.toMatchObject({ name: 'TooManyObjectsError', message: expect.stringContaining('50 object(s)') })
    await expect(importPack(receiver, laden, second, rules({ maxObjects: 10 }))).rejects.toMatchObject({ name: 'TooManyObjectsError', message: expect.stringContaining('announces 56 objects') })
    expect(looseCount(receiver)).toBe(0)
    // A submission carries no history: the first commit riding along is refused too.
    await expect(checkPack(receiver, await exportPack(gitdir, honest), second, rules({ history: false }))).rejects.toMatchObject({ name: 'TooManyObjectsError' })
    // Nothing the commit needs may be missing from both the pack and the repository.
    await expect(checkPack(receiver, await exportPack(gitdir, honest.filter((oid) => oid !== first)), second, rules())).rejects.toMatchObject({ name: 'CorruptPackError', message: expect.stringContaining(`parent ${first}`) })
    await expect(checkPack(receiver, await exportPack(gitdir, honest), junk[0] as string, rules())).rejects.toMatchObject({ name: 'UnknownCommitError' })
    const checked = await checkPack(receiver, await exportPack(gitdir, honest), second, rules())
    expect(checked.parents).toEqual([first])
    expect(checked.missing.length).toBe(honest.length)
    expect(looseCount(receiver)).toBe(0)
  })

  it('derives a submission\'s object cap from the editable paths', () => {
    const manifest = (editable: string[]) => parseManifest({ name: 'x', editable, train: { command: ['python3', 'train.py'] }, metric: { name: 'm', direction: 'minimize', stdoutPattern: 'm: ([0-9.]+)' }, verification: { minImprovement: 0 } })
    expect(submissionRules(manifest(['train.py']))).toMatchObject({ maxObjects: 64, history: false, maxObjectBytes: 1024 * 1024 })
    const deep = Array.from({ length: 8 }, (_, i) => `a/b/c/d/e/f/g/file${i}.py`)
    expect(submissionRules(manifest(deep)).maxObjects).toBe(4 * (1 + 8 * 9))
  })
})

describe('mergeTrees', () => {
  it('with a base carries only the change from that base, even onto an older commit (a reverted merge stays out)', async () => {
    // P, then merge A (a = 2) on it, then a candidate C on A (b = 2); the operator restored P.
    const { gitdir, commits } = await makeRepo([{ 'a.py': 'A = 1\n', 'b.py': 'B = 1\n' }, { 'a.py': 'A = 2\n' }, { 'b.py': 'B = 2\n' }])
    const [p, a, c] = commits as [string, string, string]
    const read = async (tree: string, path: string): Promise<string> => {
      const commit = await git.writeCommit({ fs, gitdir, commit: { tree, parent: [], author: { name: 'x', email: 'x', timestamp: 1, timezoneOffset: 0 }, committer: { name: 'x', email: 'x', timestamp: 1, timezoneOffset: 0 }, message: 'x' } })
      return new TextDecoder().decode((await git.readBlob({ fs, gitdir, oid: commit, filepath: path })).blob)
    }
    const byHistory = await mergeTrees(gitdir, c, p)
    const own = await mergeTrees(gitdir, c, p, { base: a })
    if (!('tree' in byHistory) || !('tree' in own)) throw new Error('expected clean merges')
    // History's merge base is P itself: A's reverted change rides back in.
    expect(await read(byHistory.tree, 'a.py')).toBe('A = 2\n')
    expect(await read(own.tree, 'a.py')).toBe('A = 1\n')
    expect(await read(own.tree, 'b.py')).toBe('B = 2\n')
    // Forward moves are unchanged by the base: onto a descendant of the base, same tree.
    const forward = await mergeTrees(gitdir, c, a, { base: a })
    expect(forward).toEqual(await mergeTrees(gitdir, c, a))
  })

  it('favoring the commit settles a conflicting hunk with its lines and keeps every clean one', async () => {
    // P; the best moved A (1 -> 2) and B; a candidate on P moved A (1 -> 4) and C.
    const p0 = { 'train.py': 'A = 1\n\n# b\nB = 1\n\n# c\nC = 1\n', 'other.py': 'X = 1\n' }
    const { gitdir, commits } = await makeRepo([p0, { 'train.py': 'A = 2\n\n# b\nB = 2\n\n# c\nC = 1\n' }])
    const [p, best] = commits as [string, string]
    const candidate = await commitWithChanges(gitdir, p, { 'train.py': 'A = 4\n\n# b\nB = 1\n\n# c\nC = 3\n' }, 'candidate')
    expect(await mergeTrees(gitdir, candidate, best, { base: p })).toEqual({ conflicts: ['train.py'] })
    const favored = await mergeTrees(gitdir, candidate, best, { base: p, favor: 'commit' })
    if (!('tree' in favored)) throw new Error('expected a tree')
    expect(favored.favored).toEqual(['train.py'])
    const at = await commitTreeOn(gitdir, favored.tree, best, 'carried', 'test')
    expect(await readFileAt(gitdir, at, 'train.py')).toBe('A = 4\n\n# b\nB = 2\n\n# c\nC = 3\n')
    expect(await readFileAt(gitdir, at, 'other.py')).toBe('X = 1\n')
    // Without a conflict nothing is favored, and the tree is the plain merge's.
    const clean = await commitWithChanges(gitdir, p, { 'train.py': 'A = 1\n\n# b\nB = 1\n\n# c\nC = 3\n' }, 'clean')
    const plain = await mergeTrees(gitdir, clean, best, { base: p })
    expect(await mergeTrees(gitdir, clean, best, { base: p, favor: 'commit' })).toEqual({ ...plain, favored: [] })
  })

  it('favoring the commit still conflicts where lines cannot settle it (a file one side deleted)', async () => {
    const { gitdir, commits } = await makeRepo([{ 'train.py': 'A = 1\n', 'data.py': 'D = 1\n' }, { 'data.py': 'D = 2\n' }])
    const [p, best] = commits as [string, string]
    const candidate = await commitWithChanges(gitdir, p, { 'data.py': null }, 'delete')
    const merged = await mergeTrees(gitdir, candidate, best, { base: p, favor: 'commit' })
    expect('conflicts' in merged).toBe(true)
  })

  it('favoring the commit leaves a file that is not text conflicting', async () => {
    const { gitdir, commits } = await makeRepo([{ 'weights.bin': 'W\u0000 1\n' }, { 'weights.bin': 'W\u0000 2\n' }])
    const [p, best] = commits as [string, string]
    const candidate = await commitWithChanges(gitdir, p, { 'weights.bin': 'W\u0000 3\n' }, 'binary')
    expect(await mergeTrees(gitdir, candidate, best, { base: p, favor: 'commit' })).toEqual({ conflicts: ['weights.bin'] })
    // Where such a file merges without a conflict, favoring changes nothing.
    const { gitdir: g2, commits: c2 } = await makeRepo([{ 'weights.bin': 'W\u0000 1\n\nX 1\n' }, { 'weights.bin': 'W\u0000 2\n\nX 1\n' }])
    const [p2, best2] = c2 as [string, string]
    const apart = await commitWithChanges(g2, p2, { 'weights.bin': 'W\u0000 1\n\nX 3\n' }, 'apart')
    expect(await mergeTrees(g2, apart, best2, { base: p2, favor: 'commit' })).toEqual({ ...await mergeTrees(g2, apart, best2, { base: p2 }), favored: [] })
  })
})
