import * as fs from 'node:fs'

/** Whether a process with this id runs (EPERM: it does, under another user). */
export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Claims `path` for this process (a file holding its pid, made only if absent): two processes
 * on one directory of state would overwrite each other's. A lock whose process is gone
 * (killed with SIGKILL, the machine rebooted) is taken over; one held by a live process
 * throws `busy(pid)`. Returns the release.
 */
export function claimPidLock (path: string, busy: (pid: number) => Error): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 })
      return () => { fs.rmSync(path, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number(fs.readFileSync(path, 'utf8').trim())
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw busy(pid)
      fs.rmSync(path, { force: true })
    }
  }
  throw busy(0)
}
