/**
 * Vitest's global setup: every test's temporary files go under one folder of its own, removed
 * when the run ends. Tests and the processes they start make their scratch folders with
 * os.tmpdir() (homes, repositories, sandboxes, demo networks: about 180 folders and 40 MB a
 * full run), and most never removed theirs; TMPDIR, set here before the test processes fork,
 * moves all of them at once, so a person who runs `npm test` again and again keeps a clean /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export default function setup (): () => void {
  const root = mkdtempSync(join(tmpdir(), 'ar-tests-'))
  process.env.TMPDIR = root
  return () => {
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3 })
    } catch (err) {
      // A file the run cannot remove (another user's, a mount) must not fail a passing run.
      process.stderr.write(`tests: could not remove ${root}: ${(err as Error).message}\n`)
    }
  }
}
