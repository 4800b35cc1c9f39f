import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { SandboxSetupError } from './errors.ts'
import { findProgram } from './backends/bwrap.ts'
import { startHolder, type Holder } from './holder.ts'
import { removeTree } from './tree.ts'

const log = logger('autoresearch:runner:disk')

/**
 * A trial's scratch space: size- and inode-capped tmpfs mounts in a mount namespace of
 * their own, held by a small process. The kernel enforces the caps on every write, however
 * deep the path (a watch that walks the tree can be escaped by nesting past PATH_MAX), and
 * ending the holder frees everything at once: nothing is walked to clean up.
 *
 * The trial root is an empty directory on the host; the mounts exist only inside the
 * namespace. Steps run inside it (`enter`), and the runner reaches the files through the
 * holder's root (`/proc/<pid>/root`), the same way at any depth.
 */
export interface TrialDisk {
  root: string
  /** A path inside the namespace, as the runner's own process reaches it. */
  view: (path: string) => string
  /** Prefix that runs a program inside the namespace (empty: the steps use the host's paths). */
  enter: string[]
  /** Whether the area's mount ran out of bytes or inodes: a step that fills its disk has hit the limit. */
  full: (area: string) => Promise<boolean>
  /** False for the fallback on the host's disk, whose size only a watch can check. */
  capped: boolean
  /** Ends the holder and removes the root; never throws, says what it could not remove. */
  close: () => Promise<string | undefined>
}

/** One tmpfs below the trial root; `bytes` 0: no cap, a plain directory. */
export interface DiskArea { name: string, bytes: number, inodes: number }

/** Less free room than this on an area counts as full: writes there have failed or are about to. */
const FULL_SLACK_BYTES = 64 * 1024

const MOUNT = `set -e
root=$1; shift
while [ $# -gt 0 ]; do
  mount -t tmpfs -o "size=$2,nr_inodes=$3,mode=0755" tmpfs "$root/$1"
  shift 3
done`

/** The host's directory, unbounded but for the runner's watch: for backends that cannot run inside the namespace (a container engine). */
export async function hostDisk (root: string): Promise<TrialDisk> {
  return { root, view: (p) => p, enter: [], full: async () => false, capped: false, close: async () => await removeTree(root) }
}

/**
 * Makes the areas under `root` (an empty directory) in a new mount namespace. bubblewrap
 * makes it (in a user namespace when the runner is not root, like the steps' own sandbox);
 * `sh`, `mount` and `sleep` from the system do the rest.
 */
export async function cappedDisk (root: string, areas: DiskArea[], bwrap = findProgram('bwrap')): Promise<TrialDisk> {
  for (const a of areas) await fs.mkdir(join(root, a.name), { recursive: true })
  const nsenter = findProgram('nsenter')
  if (bwrap === undefined || nsenter === undefined) throw new SandboxSetupError(`the capped trial disk needs ${bwrap === undefined ? 'bwrap (package bubblewrap)' : 'nsenter (package util-linux)'}`)
  let holder: Holder
  try {
    // The mounts need CAP_SYS_ADMIN, in the holder's user namespace when the runner is not root.
    holder = await startHolder(bwrap, ['--cap-add', 'CAP_SYS_ADMIN'], MOUNT, [root, ...areas.filter((a) => a.bytes > 0).flatMap((a) => [a.name, String(a.bytes), String(Math.max(16, a.inodes))])])
  } catch (err) {
    throw new SandboxSetupError(`could not make the trial's capped disk: ${(err as Error).message}`)
  }
  const pid = holder.pid
  const view = (path: string): string => `/proc/${pid}/root${path}`
  return {
    root,
    view,
    enter: [nsenter, `--target=${pid}`, ...holder.userns, '--mount', '--'],
    capped: true,
    full: async (area) => {
      const s = await fs.statfs(view(join(root, area))).catch((err: unknown) => { log.error('cannot read the %s area: %e', area, err); return undefined })
      return s !== undefined && s.type === TMPFS_MAGIC && (s.bavail * s.bsize < FULL_SLACK_BYTES || s.ffree < 2)
    },
    close: async () => {
      // The mounts die with the namespace, with whatever a step left in them: on the host only
      // their empty mount points remain, which rmdir removes without spawning rm. Anything
      // else there (an uncapped area a step wrote) is removeTree's.
      await holder.end()
      try {
        for (const a of areas) await fs.rmdir(join(root, a.name))
        await fs.rmdir(root)
        return undefined
      } catch (err) {
        log('%s is not just empty mount points: %e', root, err)
        return await removeTree(root)
      }
    }
  }
}

const TMPFS_MAGIC = 0x01021994
