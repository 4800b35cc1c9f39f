/**
 * When the demo network can no longer make progress because processes it started died:
 * a pure decision, so the demo stops with a reason instead of waiting forever.
 */

export type Role = 'coordinator' | 'verifier' | 'worker'

export interface Member {
  name: string
  role: Role
  /** How it ended (`code 1`, `SIGKILL`), or undefined while it runs. */
  exit?: string
  /** The last lines it printed, oldest first. */
  lastLines: readonly string[]
}

const WHY: Record<Role, string> = {
  coordinator: 'the coordinator stopped, so the network is gone',
  verifier: 'no verifier is left, so no candidate can be verified',
  worker: 'no worker is left, so no experiment runs'
}

/** The roles with nobody left running, in the order that matters most. */
function deadRoles (members: readonly Member[]): Role[] {
  return (['coordinator', 'verifier', 'worker'] as const).filter((role) => {
    const of = members.filter((m) => m.role === role)
    return of.length > 0 && of.every((m) => m.exit !== undefined)
  })
}

/**
 * Undefined while the network can still work (a single worker of several may die);
 * otherwise what to tell the user: why it stopped, then each dead process with its last lines.
 */
export function deathReport (members: readonly Member[], linesEach = 10): string | undefined {
  const roles = deadRoles(members)
  if (roles.length === 0) return undefined
  const dead = members.filter((m) => m.exit !== undefined)
  const parts = [`the demo stops: ${roles.map((r) => WHY[r]).join('; ')}.`]
  for (const m of dead) {
    const lines = m.lastLines.slice(-linesEach)
    parts.push(`${m.name} exited (${m.exit as string})${lines.length === 0 ? ' without printing anything' : `; its last lines:\n${lines.map((l) => `  ${l}`).join('\n')}`}`)
  }
  return parts.join('\n')
}
