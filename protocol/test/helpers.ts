import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import git from 'isomorphic-git'

export function tempDir (prefix = 'ar-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

const author = { name: 'test', email: 'test@example.invalid', timestamp: 1_700_000_000, timezoneOffset: 0 }

/** A real work-tree repository with one commit per entry of `versions` (file name -> content). */
export async function makeRepo (versions: Array<Record<string, string>>): Promise<{ dir: string, gitdir: string, commits: string[] }> {
  const dir = tempDir('ar-repo-')
  await git.init({ fs, dir, defaultBranch: 'main' })
  const commits: string[] = []
  for (const [i, files] of versions.entries()) {
    for (const [path, content] of Object.entries(files)) {
      fs.mkdirSync(join(dir, path, '..'), { recursive: true })
      fs.writeFileSync(join(dir, path), content)
      await git.add({ fs, dir, filepath: path })
    }
    commits.push(await git.commit({ fs, dir, message: `v${i}`, author: { ...author, timestamp: author.timestamp + i } }))
  }
  return { dir, gitdir: join(dir, '.git'), commits }
}
