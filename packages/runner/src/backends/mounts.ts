import { basename } from 'node:path'
import type { StepSpec } from '../types.ts'

/** Where a step's directories appear inside a sandbox: one fixed root, so no host path (a user name, the scratch layout) shows. */
export const INSIDE_ROOT = '/autoresearch'

export interface Mount { host: string, inside: string, writable: boolean }

export interface MountPlan {
  mounts: Mount[]
  /** A host path (or a path below one) as the step sees it; anything else unchanged. */
  inside: (value: string) => string
  /** The spec's cwd, command and environment with host paths replaced. */
  cwd: string
  command: string[]
  env: Record<string, string>
}

export function mountPlan (spec: StepSpec): MountPlan {
  const used = new Set<string>()
  const mounts: Mount[] = []
  const add = (host: string, writable: boolean): void => {
    const base = basename(host).replace(/[^A-Za-z0-9._-]/g, '_') || 'dir'
    let name = base
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`
    used.add(name)
    mounts.push({ host, inside: `${INSIDE_ROOT}/${name}`, writable })
  }
  for (const path of spec.readOnly) add(path, false)
  for (const path of spec.writable) add(path, true)
  const longestFirst = [...mounts].sort((a, b) => b.host.length - a.host.length)
  const inside = (value: string): string => {
    for (const m of longestFirst) {
      if (value === m.host) return m.inside
      if (value.startsWith(`${m.host}/`)) return m.inside + value.slice(m.host.length)
    }
    return value
  }
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(spec.env)) env[key] = inside(value)
  return { mounts, inside, cwd: inside(spec.cwd), command: spec.command.map(inside), env }
}
