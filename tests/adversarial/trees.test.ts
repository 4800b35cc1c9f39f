/**
 * Candidate commits whose trees attack the cause: protected files edited directly, through
 * renames, deletions and additions; symlinks, submodules, unsafe names, malformed trees;
 * parents that do not fit; empty changes; oversized files; plagiarised trees.
 */
import * as fs from 'node:fs'
import git from 'isomorphic-git'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitTreeOn, commitWithChanges, Identity, readFileAt } from '@autoresearch/protocol'
import { expectRefused, snapshot, startArena, type Arena } from './arena.ts'
import { submitCommit, trainEdit } from './messages.ts'
import { craftedCandidate, rawPack, rootEntries, writeBlob, writeCommit, writeRawTree, type RawEntry } from './git-objects.ts'

describe('hostile trees', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena() })
  afterAll(async () => { await arena.stop() })

  const edit = async (changes: Record<string, string | null>): Promise<string> => commitWithChanges(arena.gitdir, arena.best, changes, 'hostile')
  const text = async (path: string): Promise<string> => await readFileAt(arena.gitdir, arena.best, path) as string
  const without = (entries: RawEntry[], name: string): RawEntry[] => entries.filter((e) => e.name !== name)
  const entry = (entries: RawEntry[], name: string): RawEntry => entries.find((e) => e.name === name) as RawEntry

  describe('protected files', () => {
    it('refuses an edit of evaluate.py', async () => {
      const commit = await edit({ 'evaluate.py': (await text('evaluate.py')).replace(/mse/g, 'mse * 0') })
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ProtectedPathError')
      expect(err.message).toContain('evaluate.py (modified)')
    })

    it('refuses evaluate.py renamed away with a new evaluate.py in its place', async () => {
      const original = await text('evaluate.py')
      const commit = await edit({ 'evaluate_orig.py': original, 'evaluate.py': 'import evaluate_orig  # wraps the real one, then lies\n' })
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ProtectedPathError')
      expect(err.message).toContain('evaluate_orig.py (added)')
      expect(err.message).toContain('evaluate.py (modified)')
    })

    it('refuses a pure rename of a protected file (same blob, new name)', async () => {
      const commit = await craftedCandidate(arena, (entries) => [...without(entries, 'prepare.py'), { ...entry(entries, 'prepare.py'), name: 'prepare_data.py' }])
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ProtectedPathError')
      expect(err.message).toMatch(/prepare\.py \(deleted\)/)
    })

    it('refuses the deletion of a protected file', async () => {
      const commit = await edit({ 'prepare.py': null })
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ProtectedPathError')
      expect(err.message).toContain('prepare.py (deleted)')
    })

    it('refuses a new file outside editable (sitecustomize.py, run by every python3)', async () => {
      const commit = await edit({ 'sitecustomize.py': 'import os; os.environ["X"] = "1"\n', 'train.py': (await text('train.py')) + '\n# with a helper\n' })
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ProtectedPathError')
      expect(err.message).toContain('sitecustomize.py (added)')
    })

    it('refuses a new file in a new directory', async () => {
      const commit = await edit({ 'lib/helpers.py': 'x = 1\n' })
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ProtectedPathError')
      expect(err.message).toContain('lib/helpers.py (added)')
    })

    it('refuses an edit of the manifest that would make evaluate.py editable', async () => {
      const manifest = JSON.parse(await text('autoresearch.json')) as { editable: string[] }
      manifest.editable.push('evaluate.py')
      const commit = await edit({ 'autoresearch.json': JSON.stringify(manifest) })
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ProtectedPathError')
      expect(err.message).toContain('autoresearch.json (modified)')
    })

    it('refuses a mode change of a protected file (evaluate.py made executable)', async () => {
      const commit = await craftedCandidate(arena, (entries) => [...without(entries, 'evaluate.py'), { ...entry(entries, 'evaluate.py'), mode: '100755' }])
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ProtectedPathError')
      expect(err.message).toContain('evaluate.py (mode)')
    })

    it('refuses train.py turned into a directory', async () => {
      const blob = await writeBlob(arena.gitdir, 'print("hi")\n')
      const sub = await writeRawTree(arena.gitdir, [{ mode: '100644', name: '__init__.py', oid: blob }])
      const commit = await craftedCandidate(arena, (entries) => [...without(entries, 'train.py'), { mode: '40000', name: 'train.py', oid: sub }])
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ProtectedPathError')
      expect(err.message).toContain('train.py/__init__.py (added)')
    })
  })

  describe('special entries', () => {
    it('refuses train.py as a symlink to a protected file', async () => {
      const target = await writeBlob(arena.gitdir, 'evaluate.py')
      const commit = await craftedCandidate(arena, (entries) => [...without(entries, 'train.py'), { mode: '120000', name: 'train.py', oid: target }])
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ForbiddenEntryError')
      expect(err.message).toContain('symlink')
    })

    it('refuses a symlink out of the checkout (/etc/passwd)', async () => {
      const target = await writeBlob(arena.gitdir, '/etc/passwd')
      const commit = await craftedCandidate(arena, (entries) => [...entries, { mode: '120000', name: 'passwd', oid: target }])
      await expectRefused(arena, async () => submitCommit(arena, commit), 'ForbiddenEntryError')
    })

    it('refuses a submodule (mode 160000 tree entry)', async () => {
      const commit = await craftedCandidate(arena, (entries) => [...entries, { mode: '160000', name: 'vendor', oid: arena.best }])
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'ForbiddenEntryError')
      expect(err.message).toContain('submodule')
    })

    it('refuses a tree entry with an empty name', async () => {
      const blob = await writeBlob(arena.gitdir, 'x')
      const commit = await craftedCandidate(arena, (entries) => [...entries, { mode: '100644', name: '', oid: blob }])
      await expectRefused(arena, async () => submitCommit(arena, commit), 'ForbiddenEntryError')
    })

    // Tree entries that isomorphic-git's tree parser used to throw on (UnsafeFilepathError,
    // ObjectTypeError, its InternalError), so the reply was the untyped `InternalError`
    // (B1 in docs/adversarial.md). Trees are parsed raw now: each pair checks that the
    // coordinator refuses them and changes nothing, and that the reply is typed.
    const extraEntry = (name: string, content: string, mode = '100644') => async (): Promise<string> => {
      const oid = await writeBlob(arena.gitdir, content)
      return craftedCandidate(arena, (e) => [...e, { mode, name, oid }])
    }
    const malformed: Array<{ attack: string, expected: string[], make: () => Promise<string> }> = [
      {
        attack: 'a ".." entry (path traversal)',
        expected: ['ForbiddenEntryError'],
        make: extraEntry('..', 'x')
      },
      {
        attack: 'an absolute path entry ("/etc/cron.d/evil")',
        expected: ['ForbiddenEntryError'],
        make: extraEntry('/etc/cron.d/evil', '* * * * * root sh\n')
      },
      {
        attack: 'a ".git" entry',
        expected: ['ForbiddenEntryError'],
        make: extraEntry('.git', '[core]\n\tfsmonitor = sh -c evil\n')
      },
      {
        attack: 'an entry whose name holds a slash ("train.py/../evaluate.py")',
        expected: ['ForbiddenEntryError'],
        make: extraEntry('train.py/../evaluate.py', 'x')
      },
      {
        attack: 'an unknown file mode (100600)',
        expected: ['ForbiddenEntryError'],
        make: async () => { const b = await writeBlob(arena.gitdir, 'x = 1\n'); return craftedCandidate(arena, (e) => [...without(e, 'train.py'), { mode: '100600', name: 'train.py', oid: b }]) }
      },
      {
        attack: 'a directory entry that points at a blob',
        expected: ['ForbiddenEntryError', 'CorruptPackError'],
        make: extraEntry('pkg', 'x', '40000')
      },
      {
        attack: 'a commit whose tree is a blob',
        expected: ['ForbiddenEntryError', 'CorruptPackError'],
        make: async () => writeCommit(arena.gitdir, await writeBlob(arena.gitdir, 'not a tree'), [arena.best])
      }
    ]
    for (const m of malformed) {
      it(`refuses ${m.attack} and changes nothing`, async () => {
        await expectRefused(arena, async () => submitCommit(arena, await m.make()), undefined)
      })
      // B1 (fixed): the reply was InternalError instead of a typed rejection.
      it(`refuses ${m.attack} with ${m.expected.join(' or ')} (B1, fixed)`, async () => {
        const err = await expectRefused(arena, async () => submitCommit(arena, await m.make()), undefined)
        expect(m.expected).toContain(err.name)
      })
    }

    // B2 (fixed): a tree holding the same name twice is accepted. Which entry a checkout uses
    // depends on the tool (isomorphic-git keeps the last, so here the original evaluate.py
    // hides the attacker's one from the protected-path check); `git fsck` calls such a tree
    // broken (duplicateEntries).
    it('refuses a tree that holds evaluate.py twice (attacker\'s first, original last) (B2, fixed)', async () => {
      const evil = await writeBlob(arena.gitdir, 'import json, os\njson.dump({"metric": 0.0}, open(os.environ["AUTORESEARCH_RESULT"], "w"))\n')
      const commit = await craftedCandidate(arena, async (entries) => {
        const train = { ...entry(entries, 'train.py'), oid: await writeBlob(arena.gitdir, (await text('train.py')) + '\n# twin\n') }
        return [{ mode: '100644', name: 'evaluate.py', oid: evil }, ...without(entries, 'train.py'), train]
      })
      await expectRefused(arena, async () => submitCommit(arena, commit), 'ForbiddenEntryError')
    })
  })

  describe('parents and changes', () => {
    it('refuses an unknown parent', async () => {
      const unpublished = await trainEdit(arena, 'never published')
      const commit = await trainEdit(arena, 'child of unpublished', unpublished)
      const pack = await rawPack(arena.gitdir, commit, arena.best)
      await expectRefused(arena, async () => submitCommit(arena, commit, { parent: unpublished, pack }), 'UnknownParentError')
    })

    it('refuses a parent that is another key\'s pending candidate (a find is no base for someone else\'s claim)', async () => {
      const owner = Identity.generate()
      const theirs = await trainEdit(arena, 'an honest pending find')
      await submitCommit(arena, theirs, { identity: owner })
      const onTop = await trainEdit(arena, 'on top of their find', theirs)
      const err = await expectRefused(arena, async () => submitCommit(arena, onTop, { parent: theirs }), 'UnknownParentError')
      expect(err.message).toContain('nor a candidate of yours')
    })

    it('refuses a candidate with two parents', async () => {
      const side = await trainEdit(arena, 'side branch')
      const tree = await rootEntries(arena.gitdir, await trainEdit(arena, 'two parents'))
      const commit = await writeCommit(arena.gitdir, await writeRawTree(arena.gitdir, tree), [arena.best, side])
      await expectRefused(arena, async () => submitCommit(arena, commit, { pack: await rawPack(arena.gitdir, commit, arena.best) }), 'UnknownParentError')
    })

    it('refuses a root commit (no parent) that names the best as its parent', async () => {
      const tree = await rootEntries(arena.gitdir, await trainEdit(arena, 'rootless'))
      const commit = await writeCommit(arena.gitdir, await writeRawTree(arena.gitdir, tree), [])
      await expectRefused(arena, async () => submitCommit(arena, commit), 'UnknownParentError')
    })

    it('refuses a candidate whose commit has another parent than the signed (published) one', async () => {
      const unpublished = await trainEdit(arena, 'hidden parent')
      const commit = await trainEdit(arena, 'on a hidden parent', unpublished)
      // The body names the best as parent (which passes the parent check); the commit does not.
      const pack = await rawPack(arena.gitdir, commit, arena.best)
      const err = await expectRefused(arena, async () => submitCommit(arena, commit, { pack }), 'UnknownParentError')
      expect(err.message).toContain('exactly one parent')
    })

    it('refuses an empty change (the best\'s own tree on the best)', async () => {
      const { commit: c } = await git.readCommit({ fs, gitdir: arena.gitdir, oid: arena.best })
      const commit = await commitTreeOn(arena.gitdir, c.tree, arena.best, 'nothing')
      await expectRefused(arena, async () => submitCommit(arena, commit), 'EmptyChangeError')
    })

    it('refuses a file over the cause\'s maxFileBytes (1 MiB)', async () => {
      const commit = await edit({ 'train.py': (await text('train.py')) + `\n# ${'x'.repeat(1024 * 1024 + 100)}\n` })
      const err = await expectRefused(arena, async () => submitCommit(arena, commit), 'PackTooLargeError')
      expect(err.message).toMatch(/train\.py|blob of \d+ bytes/)
    })
  })

  describe('plagiarism', () => {
    let original: { seq: number, tree: string, commit: string }
    const alice = Identity.generate()
    beforeAll(async () => {
      const commit = await trainEdit(arena, 'alice\'s idea')
      const { receipt } = await submitCommit(arena, commit, { identity: alice })
      original = { seq: receipt.candidateSeq, tree: receipt.tree, commit }
    })

    it('refuses another identity resubmitting the same tree under a new commit', async () => {
      const copy = await commitTreeOn(arena.gitdir, original.tree, arena.best, 'my own work', 'mallory')
      expect(copy).not.toBe(original.commit)
      const err = await expectRefused(arena, async () => submitCommit(arena, copy, { identity: Identity.generate() }), 'DuplicateTreeError')
      expect(err.message).toContain(`#${original.seq}`)
    })

    it('refuses the same tree from a third identity under yet another commit', async () => {
      const copy = await commitTreeOn(arena.gitdir, original.tree, arena.best, 'again')
      await expectRefused(arena, async () => submitCommit(arena, copy), 'DuplicateTreeError')
    })

    it('answers the owner sending the same tree again with its original receipt, storing nothing', async () => {
      // A worker whose connection broke before the receipt arrived retries with a new commit.
      const copy = await commitTreeOn(arena.gitdir, original.tree, arena.best, 'retry after a lost receipt')
      const before = await snapshot(arena.running)
      const { receipt } = await submitCommit(arena, copy, { identity: alice })
      expect(receipt).toMatchObject({ candidateSeq: original.seq, candidate: original.commit, tree: original.tree, submitter: alice.publicKey })
      expect(await snapshot(arena.running)).toEqual(before)
    })

    // B3 (fixed): the same files under a re-encoded tree (entries out of git's order) get a new
    // tree id, so a plagiarist passes the first-submitter check. Git calls such a tree
    // broken (treeNotSorted); intake should refuse non-canonical trees.
    it('refuses the same files in a re-encoded tree (entries reversed) (B3, fixed)', async () => {
      const { tree } = await git.readTree({ fs, gitdir: arena.gitdir, oid: original.tree })
      const reversed = tree.map((e) => ({ mode: e.mode === '040000' ? '40000' : e.mode, name: e.path, oid: e.oid })).reverse()
      const copy = await writeCommit(arena.gitdir, await writeRawTree(arena.gitdir, reversed), [arena.best])
      const err = await expectRefused(arena, async () => submitCommit(arena, copy, { identity: Identity.generate() }), undefined)
      expect(['DuplicateTreeError', 'ForbiddenEntryError']).toContain(err.name)
    })
  })
})
